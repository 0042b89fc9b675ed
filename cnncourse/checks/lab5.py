"""Checks for Lab 5: regularisation, augmentation, ``tf.data`` and training practice.

* :func:`check_build_augmenter`: the lecture's five random layers; identity
  when not training; shape and value range kept when training.
* :func:`check_make_dataset`: the student's ``tf.data`` pipeline, read
  through its element spec, its batches and its graph of transformations
  (:func:`cnncourse.data.transformation_names`).
* :func:`check_early_stopping`: the student's callback replayed on scripted
  validation-loss sequences and compared with an independent rule (no training).
* :func:`check_random_search` / :func:`check_grid_search`: candidates, bounds,
  reproducibility and the log-uniform distribution (a Kolmogorov-Smirnov test).
* :func:`check_regularized_cnn` / :func:`check_regularized_training`: the
  student's regularised CNN, structurally, then trained by the check under
  ``lab5.regularized`` (:mod:`cnncourse.checks.training`).
* :func:`check_ablation_configs` / :func:`check_build_ablation_cnn` /
  :func:`check_most_important`: the ablation (each regulariser removed in
  turn), its runs' settings, the model with switches, and the question read
  off the student's own runs.
"""

from __future__ import annotations

import numpy as np

from . import training
from .by_hand import OWN_WORK, by_hand
from .core import CheckFailed, call, expect_equal, passed
from .hidden import hidden_for

LAB = "lab5-regularization"
AUGMENT_LAYERS = ("RandomFlip", "RandomRotation", "RandomTranslation", "RandomBrightness", "RandomContrast")
LECTURE_FACTORS = {
    "RandomRotation": {"factor": 0.05},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomBrightness": {"factor": 0.1},
    "RandomContrast": {"factor": 0.1},
}
"""How far each random layer of the lecture's table may go (largest factor, either direction)."""


EXERCISES = {
    "build_augmenter": "Exercise 1 (build_augmenter)",
    "make_dataset": "Exercise 2 (make_dataset)",
    "early_stopping": "Exercise 3 (make_early_stopping)",
    "random_search": "Exercise 4 (random_search)",
    "grid_search": "Exercise 5 (grid_search)",
    "regularized_cnn": "Exercise 6 (build_regularized_cnn)",
    "refine_space": "Exercise 5b (refine_space)",
    "best_learning_rate": "Question 1 (best_learning_rate)",
    "ablation_configs": "Exercise 7 (ablation_configs)",
    "ablation_cnn": "Exercise 8 (build_ablation_cnn)",
    "most_important": "Question 2 (most_important)",
}
hidden = hidden_for(EXERCISES, {"refine_space": OWN_WORK})  # the check's own box of trials is no answer


def _all_layers(obj):
    """Every layer inside a model or layer, nested models included."""
    out = []
    for layer in getattr(obj, "layers", []) or []:
        out.append(layer)
        out += _all_layers(layer)
    return out


# --------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------
def check_build_augmenter(build_augmenter, seed=5):
    """Check ``build_augmenter``: the lecture's five random layers, identity at inference, range kept.

    The augmenter must hold ``RandomFlip`` (horizontal only),
    ``RandomRotation``, ``RandomTranslation``, ``RandomBrightness`` and
    ``RandomContrast`` with the lecture's factors (:data:`LECTURE_FACTORS`);
    ``build_augmenter(seed=7)`` must augment the same way twice and
    differently from ``seed=8``; with ``training=False`` it must return its
    input unchanged; with ``training=True`` it must change the images, keep
    their shape, and keep values in [0, 1], each layer on its own too.

    Args:
        build_augmenter: the student's ``build_augmenter(seed=None)``,
            returning a callable Keras model (e.g. ``keras.Sequential``).
        seed: the seed of the random probe images (the hidden tests use
            others).

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: a layer or factor is missing or wrong, or a property
            does not hold.
    """
    ex = "Exercise 1 (build_augmenter)"
    aug = call(ex, build_augmenter)
    if aug is None or not callable(aug):
        raise CheckFailed(
            ex,
            "build_augmenter should return a callable Keras model (e.g. keras.Sequential).",
            found=type(aug).__name__,
        )
    kinds = [type(layer).__name__ for layer in _all_layers(aug)] or [type(aug).__name__]
    missing = [k for k in AUGMENT_LAYERS if k not in kinds]
    if missing:
        raise CheckFailed(
            ex,
            f"the augmenter lacks {', '.join(missing)}.",
            expected=list(AUGMENT_LAYERS),
            found=kinds,
            hint="Use the lecture's five layers, in a keras.Sequential.",
        )
    for layer in _all_layers(aug):  # the settings of the lecture's table, as Keras holds them
        kind, config = type(layer).__name__, layer.get_config()
        if kind == "RandomFlip" and config.get("mode") != "horizontal":
            raise CheckFailed(
                ex,
                "RandomFlip should mirror left to right only: an upside-down face is not one the model will meet.",
                expected="horizontal",
                found=config.get("mode"),
            )
        for key in LECTURE_FACTORS.get(kind, {}):
            size = max(abs(float(v)) for v in np.atleast_1d(np.asarray(config.get(key), dtype=float)))
            if not np.isclose(size, LECTURE_FACTORS[kind][key]):
                raise CheckFailed(
                    ex,
                    f"{kind}'s {key} should be the lecture's {LECTURE_FACTORS[kind][key]:g}.",
                    expected=LECTURE_FACTORS[kind][key],
                    found=size,
                    hint="Too little changes nothing; too much makes images the task never shows.",
                )
    rng = np.random.default_rng(seed)
    probe = rng.random((4, 16, 16, 1)).astype("float32")
    first, again, other = (np.asarray(call(ex, build_augmenter, seed=s)(probe, training=True)) for s in (7, 7, 8))
    if not np.allclose(first, again, atol=1e-6) or np.allclose(first, other, atol=1e-6):
        raise CheckFailed(
            ex,
            "build_augmenter(seed=7) should augment the same way every time it is built, and differently from seed=8.",
            hint="Pass seed=seed to each of the five layers.",
        )
    for shape in ((16, 24, 24, 1), (8, 32, 32, 3)):
        x = rng.random(shape).astype("float32")
        same = np.asarray(call(ex, aug, x, training=False))
        if same.shape != x.shape or not np.allclose(same, x, atol=1e-6):
            raise CheckFailed(
                ex,
                "with training=False the augmenter must return its input unchanged "
                "(augmentation is for training only).",
                found=f"largest change {np.max(np.abs(same - x)) if same.shape == x.shape else same.shape}",
            )
        out = np.asarray(call(ex, aug, x, training=True))
        if out.shape != x.shape:
            raise CheckFailed(ex, "augmentation must keep the batch's shape.", expected=x.shape, found=out.shape)
        lo, hi = float(out.min()), float(out.max())
        if lo < -1e-5 or hi > 1 + 1e-5:
            raise CheckFailed(
                ex,
                "augmented images left the value range [0, 1].",
                expected="values in [0, 1]",
                found=f"values in [{lo:.3f}, {hi:.3f}]",
                hint="Our images are in [0, 1], not [0, 255]: pass value_range=(0.0, 1.0) to "
                "RandomBrightness and RandomContrast.",
            )
        if np.allclose(out, x, atol=1e-4):
            raise CheckFailed(ex, "with training=True the images should change.", hint="Are all the factors 0?")
    # Each layer on its own: a later layer may clip away an earlier one's damage.
    x = np.full((4, 16, 16, 1), 0.5, dtype="float32") + rng.uniform(-0.2, 0.2, (4, 16, 16, 1)).astype("float32")
    for layer in _all_layers(aug):
        kind = type(layer).__name__
        if kind not in AUGMENT_LAYERS:
            continue
        out = np.asarray(layer(x, training=True))
        if out.min() < -1e-5 or out.max() > 1 + 1e-5 or (kind == "RandomBrightness" and np.abs(out - x).max() > 0.3):
            raise CheckFailed(
                ex,
                f"{kind} on its own takes images in [0, 1] far out of range.",
                found=f"values in [{out.min():.3f}, {out.max():.3f}] from [{x.min():.3f}, {x.max():.3f}]",
                hint="Pass value_range=(0.0, 1.0): Keras assumes [0, 255] by default.",
            )
    passed(ex, "all five layers; identity at inference; shape and [0, 1] range kept when training")


# --------------------------------------------------------------------------
# tf.data pipeline
# --------------------------------------------------------------------------
def _invert(images, training=False):
    """A recognisable stand-in augmenter: 1 - image when training."""
    return 1.0 - images if training else images


def _take_all(ds):
    xs, ys = [], []
    for xb, yb in ds:
        xs.append(np.asarray(xb))
        ys.append(np.asarray(yb))
    return xs, ys


def _fake_images(n=50, size=6, channels=1, seed=6):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
    x[0] = 255  # make sure the full range is present
    x[1] = 0
    y = (np.arange(n) % 3).astype(np.int64)
    return x, y


def _shuffle_buffer(dataset):
    """The buffer size of the last shuffle in a ``tf.data`` pipeline, ``None`` when there is none (or it cannot be read)."""
    from cnncourse.data.pipeline import transformations

    for node in reversed(transformations(dataset)):
        if type(node).__name__.lstrip("_") == "ShuffleDataset":
            try:
                return int(node._buffer_size)
            except (AttributeError, TypeError, ValueError):
                return None
    return None


def check_make_dataset(make_dataset):
    """Check the student's ``tf.data`` pipeline through its element spec, its batches and its graph.

    On 50 random ``uint8`` images: float32 images scaled to [0, 1], integer
    labels, batches of ``batch_size`` (the last one smaller); with
    ``training=False`` the order and the images kept, no shuffle, a cache and
    a final prefetch; with ``training=True`` every example once per epoch,
    shuffled with the seed over the whole dataset, reshuffled every epoch,
    cached before the shuffle; the augmenter applied to whole batches after
    the cache and the batching, only when training (read with
    :func:`cnncourse.data.transformation_names`).

    Args:
        make_dataset: the student's ``make_dataset(x, y, batch_size,
            training, seed, augmenter=None)``, returning a
            ``tf.data.Dataset``.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a property does not hold.
    """
    import tensorflow as tf

    from cnncourse.data import transformation_names

    ex = "Exercise 2 (make_dataset)"
    x, y = _fake_images()
    n, bs = len(y), 8

    ds = call(ex, make_dataset, x, y, bs, False, 0)
    if not isinstance(ds, tf.data.Dataset):
        raise CheckFailed(ex, "make_dataset should return a tf.data.Dataset.", found=type(ds).__name__)
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise CheckFailed(ex, "each element should be an (images, labels) pair.", found=spec)
    img_spec, lbl_spec = spec
    if img_spec.dtype != tf.float32:
        raise CheckFailed(
            ex,
            "images should come out as float32.",
            expected="float32",
            found=img_spec.dtype.name,
            hint="Cast with tf.cast(image, tf.float32) before dividing by 255.",
        )
    if tuple(img_spec.shape)[1:] != x.shape[1:] or len(img_spec.shape) != 4:
        raise CheckFailed(
            ex,
            "images should be batched (batch, height, width, channels).",
            expected=(None,) + x.shape[1:],
            found=tuple(img_spec.shape),
        )
    if not lbl_spec.dtype.is_integer or len(lbl_spec.shape) != 1:
        raise CheckFailed(ex, "labels should be batched integers, shape (batch,).", found=lbl_spec)

    xs, ys = _take_all(ds)
    sizes = [len(b) for b in ys]
    want_sizes = [bs] * (n // bs) + ([n % bs] if n % bs else [])
    expect_equal(
        ex,
        sizes,
        want_sizes,
        what=f"batch sizes for {n} examples and batch_size={bs}",
        hint="Batch with dataset.batch(batch_size) (keep the last, smaller batch).",
    )
    images = np.concatenate(xs)
    if images.min() < 0 or images.max() > 1 + 1e-6 or images.max() < 0.99:
        raise CheckFailed(
            ex,
            "images should be scaled from [0, 255] to [0, 1].",
            found=f"values in [{images.min():.3f}, {images.max():.3f}]",
        )
    if not np.array_equal(np.concatenate(ys), y):
        raise CheckFailed(
            ex, "with training=False the order must stay as given (no shuffling).", hint="Shuffle only when training."
        )
    if not np.allclose(images, x.astype("float32") / 255.0, atol=1e-6):
        raise CheckFailed(ex, "with training=False the images must be x / 255, unchanged otherwise.")

    names = transformation_names(ds)
    for needed in ("CacheDataset", "PrefetchDataset"):
        if needed not in names:
            raise CheckFailed(
                ex,
                f"the pipeline has no {needed[:-7].lower()} step.",
                found=names,
                hint="cache() after the deterministic steps, prefetch(tf.data.AUTOTUNE) at the end.",
            )
    if names[-1] != "PrefetchDataset":
        raise CheckFailed(ex, "prefetch should be the last step.", found=names)
    if "ShuffleDataset" in names:
        raise CheckFailed(ex, "an evaluation pipeline (training=False) must not shuffle.", found=names)

    # Training: shuffled, seeded, reshuffled every epoch, augmented after the cache.
    def labels_of(d):
        return np.concatenate(_take_all(d)[1])

    x2 = np.repeat(x, 1, axis=0)
    y2 = np.arange(n, dtype=np.int64)  # distinct labels make the order visible
    train_a = call(ex, make_dataset, x2, y2, bs, True, 1)
    first, second = labels_of(train_a), labels_of(train_a)
    if sorted(first.tolist()) != list(range(n)):
        raise CheckFailed(ex, "one pass over the training dataset should hold every example exactly once.")
    if np.array_equal(first, y2):
        raise CheckFailed(
            ex,
            "with training=True the examples should be shuffled.",
            hint="dataset.shuffle(buffer_size=len(x), seed=seed).",
        )
    if np.array_equal(first, second):
        raise CheckFailed(
            ex, "every epoch should see a new order.", hint="shuffle(..., reshuffle_each_iteration=True) (the default)."
        )
    again = labels_of(call(ex, make_dataset, x2, y2, bs, True, 1))
    if not np.array_equal(first, again):
        raise CheckFailed(
            ex, "the same seed should give the same order (repeatable runs).", hint="Pass seed=seed to shuffle."
        )
    other = labels_of(call(ex, make_dataset, x2, y2, bs, True, 2))
    if np.array_equal(first, other):
        raise CheckFailed(ex, "a different seed should give a different order.")
    # A buffer of the whole dataset: any example may come first (with a buffer of b, only the first b can).
    firsts = [int(np.asarray(next(iter(call(ex, make_dataset, x2, y2, bs, True, s)))[1])[0]) for s in range(20)]
    if max(firsts) < n // 2:
        raise CheckFailed(
            ex,
            f"over 20 seeds the first training example always came from the first {max(firsts) + 1} "
            f"of {n}: the shuffle buffer is too small to mix the whole dataset.",
            hint="dataset.shuffle(buffer_size=len(x), seed=seed).",
        )
    # A bigger dataset than any hard-coded buffer (1000, 10000, ...) is likely to cover: read the buffer asked for.
    big = 60_000
    buffer = _shuffle_buffer(
        call(ex, make_dataset, np.zeros((big, 1, 1, 1), np.uint8), np.zeros(big, np.int64), bs, True, 4)
    )
    if buffer is not None and 0 < buffer < big:
        raise CheckFailed(
            ex,
            f"on {big:,} examples the shuffle buffer holds {buffer:,}: a buffer smaller than the dataset "
            "only mixes neighbours, so the first batches come from the start of the data.",
            expected=f"buffer_size >= {big:,}",
            found=buffer,
            hint="Size the buffer from the data: dataset.shuffle(buffer_size=len(x), seed=seed).",
        )
    names_t = transformation_names(train_a)
    if names_t.index("CacheDataset") > names_t.index("ShuffleDataset"):
        raise CheckFailed(ex, "cache before shuffling, or every epoch replays the first epoch's order.", found=names_t)

    # Augmentation: only when training, on batches after the cache.
    aug_train = call(ex, make_dataset, x, y, bs, True, 3, augmenter=_invert)
    imgs = np.concatenate(_take_all(aug_train)[0])
    if not np.isclose(imgs.mean(), 1.0 - x.mean() / 255.0, atol=1e-4):
        raise CheckFailed(
            ex,
            "with training=True and an augmenter, every batch should go through augmenter(images, training=True).",
            hint="dataset.map(lambda im, lb: (augmenter(im, training=True), lb)) after batch().",
        )
    aug_eval = call(ex, make_dataset, x, y, bs, False, 3, augmenter=_invert)
    if not np.allclose(np.concatenate(_take_all(aug_eval)[0]), x / 255.0, atol=1e-6):
        raise CheckFailed(ex, "an evaluation pipeline (training=False) must not augment.")
    names_a = transformation_names(aug_train)
    maps_after_batch = [i for i, nm in enumerate(names_a) if "Map" in nm and i > names_a.index("BatchDataset")]
    if not maps_after_batch or names_a.index("CacheDataset") > maps_after_batch[0]:
        raise CheckFailed(
            ex,
            "augment after cache() and batch(), so every epoch sees new variations "
            "and a whole batch is augmented at once.",
            found=names_a,
        )
    passed(
        ex, "float32 in [0, 1], right batches, seeded shuffling, cache and prefetch, augmentation only when training"
    )


# --------------------------------------------------------------------------
# Early stopping
# --------------------------------------------------------------------------
SEQUENCES = [  # (validation losses, patience)
    ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69, 0.75, 0.8, 0.9, 1.0, 1.1], 3),
    ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69, 0.75, 0.8, 0.9, 1.0, 1.1], 2),
    ([0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55], 2),
    ([0.5, 0.6, 0.6, 0.5, 0.55, 0.58, 0.49, 0.6, 0.7, 0.8, 0.9], 4),
]


def early_stopping_oracle(val_losses, patience):
    """Return what early stopping does on a run: stop after ``patience`` epochs without a new minimum.

    An independent rule for :func:`check_early_stopping` (no Keras): an
    epoch counts as an improvement only when its loss is strictly below the
    best so far.

    Args:
        val_losses: the validation loss of each epoch, in order.
        patience: how many epochs in a row without improvement stop training.

    Returns:
        ``(last epoch run, best epoch)``, both counted from 0.

    Example:
        >>> early_stopping_oracle([1.0, 0.8, 0.9, 0.85, 0.95], patience=2)
        (3, 1)
        >>> early_stopping_oracle([0.9, 0.8, 0.7], patience=5)
        (2, 2)
    """
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, v in enumerate(val_losses):
        if v < best:
            best, best_epoch, wait = v, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def replay(callback, val_losses):
    """Replay a scripted run through a callback; return (last epoch run, epoch of the weights at the end).

    The model's single weight is set to the epoch number at every epoch, so
    the weight left at the end says which epoch's weights were kept. The
    training loss keeps falling, so a callback watching it never stops.

    Args:
        callback: a ``keras.callbacks.Callback``, e.g. an ``EarlyStopping``.
        val_losses: the ``val_loss`` each epoch reports, in order.

    Returns:
        ``(last epoch run, epoch whose weights the model holds at the end)``,
        both counted from 0.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> replay(keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True),
        ...        [0.3, 0.2, 0.25, 0.1])  # doctest: +SKIP
        (2, 1)
    """
    import keras

    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1, use_bias=False)])
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin({})
    last = len(val_losses) - 1
    for epoch, v in enumerate(val_losses):
        model.set_weights([np.array([[float(epoch)]], dtype="float32")])
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(
            epoch, {"loss": 1.0 / (epoch + 1), "val_loss": float(v), "accuracy": 0.5, "val_accuracy": 0.5}
        )
        if model.stop_training:
            last = epoch
            break
    callback.on_train_end({})
    return last, int(round(float(model.get_weights()[0][0, 0])))


def check_early_stopping(make_early_stopping):
    """Check ``make_early_stopping`` by replaying scripted validation losses through its callback.

    For each run of :data:`SEQUENCES` the callback must stop at the epoch
    :func:`early_stopping_oracle` gives and leave the best epoch's weights
    (see :func:`replay`); nothing is trained.

    Args:
        make_early_stopping: the student's ``make_early_stopping(patience)``,
            returning a ``keras.callbacks.Callback``.

    Returns:
        None; prints a ✔ line when every run is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it returns no callback, the callback crashes, stops at
            another epoch, or keeps other weights.
    """
    import keras

    ex = "Exercise 3 (make_early_stopping)"
    for losses, patience in SEQUENCES:
        cb = call(ex, make_early_stopping, patience)
        if not isinstance(cb, keras.callbacks.Callback):
            raise CheckFailed(ex, "make_early_stopping should return a keras callback.", found=type(cb).__name__)
        try:
            last, kept = replay(cb, losses)
        except Exception as exc:
            raise CheckFailed(ex, f"replaying a run through your callback raised {type(exc).__name__}: {exc}") from exc
        want_last, want_best = early_stopping_oracle(losses, patience)
        shown = ", ".join(f"{v:g}" for v in losses)
        if last != want_last:
            hint = (
                "Watch 'val_loss' (the training loss keeps falling)."
                if last == len(losses) - 1
                else "Stop once `patience` epochs in a row bring no new minimum of val_loss."
            )
            raise CheckFailed(
                ex,
                f"with patience={patience} and validation losses [{shown}] training "
                f"should stop after epoch {want_last} (counting from 0).",
                expected=want_last,
                found=last,
                hint=hint,
            )
        if kept != want_best:
            raise CheckFailed(
                ex,
                f"after stopping, the weights of the best epoch ({want_best}) should be "
                f"restored (validation losses [{shown}], patience={patience}).",
                expected=want_best,
                found=kept,
                hint="restore_best_weights=True.",
            )
    passed(ex, f"stops at the right epoch and restores the best weights on {len(SEQUENCES)} scripted runs")


# --------------------------------------------------------------------------
# Hyper-parameter search
# --------------------------------------------------------------------------
SPACE = {
    "learning_rate": ("log", 1e-5, 1e-1),
    "dropout": ("uniform", 0.0, 0.6),
    "batch_size": ("choice", [16, 32, 64, 128]),
}


def _check_candidate(ex, cand, space, where):
    if not isinstance(cand, dict) or set(cand) != set(space):
        raise CheckFailed(
            ex,
            f"{where} should be a dict with one value per hyper-parameter.",
            expected=sorted(space),
            found=cand if not isinstance(cand, dict) else sorted(cand),
        )
    for name, (kind, *args) in space.items():
        v = cand[name]
        if kind == "choice":
            if v not in args[0]:
                raise CheckFailed(ex, f"{where}: {name}={v!r} is not one of the choices.", expected=args[0], found=v)
        else:
            lo, hi = args
            if not (lo - 1e-12 <= float(v) <= hi + 1e-12):
                raise CheckFailed(ex, f"{where}: {name}={v!r} is outside its bounds.", expected=(lo, hi), found=v)


def check_random_search(random_search):
    """Check ``random_search``: candidates in bounds, reproducible, log-uniform where asked.

    On :data:`SPACE`: 12 candidates, each a dict with one value per
    hyper-parameter inside its bounds or choices; the same seed gives the
    same list and another seed another; over 2,000 draws the learning rate is
    log-uniform and the dropout uniform (Kolmogorov-Smirnov tests, p at
    least 1e-4) and every batch size is drawn at least 15% of the time.

    Args:
        random_search: the student's ``random_search(space, n_trials, seed)``,
            returning a list of ``n_trials`` dicts.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a property does not hold.
    """
    from scipy import stats

    ex = "Exercise 4 (random_search)"
    trials = call(ex, random_search, SPACE, 12, 0)
    if trials is None or len(trials) != 12:
        raise CheckFailed(
            ex,
            "random_search should return a list of n_trials candidates.",
            expected=12,
            found=None if trials is None else len(trials),
        )
    for i, cand in enumerate(trials):
        _check_candidate(ex, cand, SPACE, f"candidate {i}")
    if call(ex, random_search, SPACE, 12, 0) != trials:
        raise CheckFailed(
            ex, "the same seed should give the same candidates.", hint="Draw from rng = np.random.default_rng(seed)."
        )
    if call(ex, random_search, SPACE, 12, 1) == trials:
        raise CheckFailed(ex, "different seeds should give different candidates.")
    many = call(ex, random_search, SPACE, 2000, 7)
    lr = np.array([c["learning_rate"] for c in many], dtype=float)
    dr = np.array([c["dropout"] for c in many], dtype=float)
    below = float(np.mean(lr < 1e-3))  # 1e-3 is the middle of [1e-5, 1e-1] on a log scale
    if stats.kstest((np.log10(lr) + 5) / 4, "uniform").pvalue < 1e-4:
        raise CheckFailed(
            ex,
            "the learning rate should be log-uniform: as many draws between 1e-5 and 1e-3 as between 1e-3 and 1e-1.",
            expected="about 50% below 1e-3",
            found=f"{below:.1%} below 1e-3",
            hint="Draw the exponent uniformly: 10 ** rng.uniform(log10(low), log10(high)).",
        )
    if stats.kstest(dr / 0.6, "uniform").pvalue < 1e-4:
        raise CheckFailed(
            ex,
            "a 'uniform' hyper-parameter should be uniform on its bounds.",
            found=f"{np.mean(dr < 0.3):.1%} of dropout draws below 0.3 (expected about 50%)",
        )
    counts = {v: sum(c["batch_size"] == v for c in many) for v in SPACE["batch_size"][1]}
    if min(counts.values()) < 0.15 * len(many):
        raise CheckFailed(ex, "every choice should be drawn about equally often.", found=counts)
    passed(ex, f"in bounds, repeatable, log-uniform learning rates ({below:.0%} below 1e-3)")


def check_grid_search(grid_search):
    """Check ``grid_search``: every combination, log-spaced where asked.

    On :data:`SPACE` with 3 points per axis: 3 x 3 x 4 candidates in bounds;
    the ``"log"`` axis takes evenly spaced exponents and the ``"uniform"``
    axis evenly spaced values, ends included; no combination is repeated or
    missing.

    Args:
        grid_search: the student's ``grid_search(space, points_per_axis)``,
            returning a list of dicts.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a property does not hold.
    """
    import itertools

    ex = "Exercise 5 (grid_search)"
    k = 3
    grid = call(ex, grid_search, SPACE, k)
    n_choices = len(SPACE["batch_size"][1])
    if grid is None or len(grid) != k * k * n_choices:
        raise CheckFailed(
            ex,
            "a grid holds every combination of the axes' values.",
            expected=k * k * n_choices,
            found=None if grid is None else len(grid),
            hint="points_per_axis values for each numeric axis, every option of a 'choice'.",
        )
    for i, cand in enumerate(grid):
        _check_candidate(ex, cand, SPACE, f"grid point {i}")
    lrs = sorted({float(c["learning_rate"]) for c in grid})
    drs = sorted({float(c["dropout"]) for c in grid})
    if len(lrs) != k or not np.allclose(np.log10(lrs), np.linspace(-5, -1, k)):
        raise CheckFailed(
            ex,
            "a 'log' axis takes evenly spaced exponents, ends included.",
            expected=list(np.logspace(-5, -1, k)),
            found=lrs,
            hint="np.logspace or np.geomspace.",
        )
    if len(drs) != k or not np.allclose(drs, np.linspace(0.0, 0.6, k)):
        raise CheckFailed(
            ex,
            "a 'uniform' axis takes evenly spaced values, ends included.",
            expected=list(np.linspace(0.0, 0.6, k)),
            found=drs,
        )
    combos = {(round(np.log10(c["learning_rate"]), 6), round(c["dropout"], 6), c["batch_size"]) for c in grid}
    want = set(
        itertools.product(
            [round(v, 6) for v in np.linspace(-5, -1, k)],
            [round(v, 6) for v in np.linspace(0, 0.6, k)],
            SPACE["batch_size"][1],
        )
    )
    if combos != want:
        raise CheckFailed(ex, "some combinations are repeated or missing.", expected=len(want), found=len(combos))
    passed(ex, f"all {len(grid)} combinations, log-spaced learning rates")


# --------------------------------------------------------------------------
# The regularised CNN
# --------------------------------------------------------------------------
MIN_DROPOUT = 0.1
MIN_L2 = 1e-5
MIN_AUGMENT = 0.01
"""The least regularisation that counts as regularisation (the lab asks for far more)."""


def _augment_factors(layer):
    """The non-zero size factors of a random augmentation layer's config (flips have none)."""
    cfg = layer.get_config()
    out = []
    for key in ("factor", "height_factor", "width_factor"):
        value = cfg.get(key)
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0:
                out.append(float(v))
    return out


def regularization_report(model):
    """Return what regularisation a model has: dropout rates, L2 factors, augmentation layers.

    Nested models are searched too.

    Args:
        model: a ``keras.Model``.

    Returns:
        ``{"dropout": [rate per Dropout layer], "l2": [L2 factor per layer
        with an L2 kernel regulariser], "augment": [class name per random
        augmentation layer]}``.
    """
    dropout, l2, augment = [], [], []
    for layer in _all_layers(model):
        kind = type(layer).__name__
        if kind == "Dropout":
            dropout.append(float(layer.rate))
        if kind in AUGMENT_LAYERS:
            augment.append(kind)
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is not None:
            factor = reg.get_config().get("l2")
            if factor:
                l2.append(float(factor))
    return {"dropout": dropout, "l2": l2, "augment": augment}


def load_regularization_data():
    """Return the lab's task: faces vs non-faces (scikit-image's LFW subset).

    Returns:
        ``(images, labels)``: 200 images of shape ``(25, 25, 1)`` in [0, 1]
        and labels 1 (face) or 0 (non-face); see
        :func:`cnncourse.data.load_faces`.
    """
    from cnncourse.data import load_faces

    return load_faces(return_X_y=True)


def check_regularized_cnn(build_regularized_cnn):
    """Check the structure of ``build_regularized_cnn``: augmentation, dropout, L2, class probabilities.

    Built for the faces task (25x25x1, 2 classes): the model must output two
    scores, hold the five augmentation layers, at least one ``Dropout``
    with a rate between 0 and 1, an L2 penalty on some layer, and a
    ``Conv2D``. Nothing is trained.

    Args:
        build_regularized_cnn: the student's
            ``build_regularized_cnn(input_shape, num_classes)``, returning a
            ``keras.Model``.

    Returns:
        None; prints a ✔ line when the structure is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or the model lacks what is asked.
    """
    ex = "Exercise 6 (build_regularized_cnn)"
    x, y = load_regularization_data()
    model = training.build(ex, build_regularized_cnn, x.shape[1:], 2, input_shape=x.shape[1:], num_classes=2)
    rep = regularization_report(model)
    if set(rep["augment"]) != set(AUGMENT_LAYERS):
        raise CheckFailed(
            ex,
            "put your augmenter (Exercise 1) at the start of the model.",
            expected=list(AUGMENT_LAYERS),
            found=rep["augment"],
        )
    if not rep["dropout"] or not all(0.0 < r < 1.0 for r in rep["dropout"]):
        raise CheckFailed(
            ex, "the model needs at least one Dropout layer with a rate between 0 and 1.", found=rep["dropout"]
        )
    if max(rep["dropout"]) < MIN_DROPOUT:
        raise CheckFailed(
            ex, f"dropout drops almost nothing: use a rate of at least {MIN_DROPOUT} somewhere.", found=rep["dropout"]
        )
    if not rep["l2"]:
        raise CheckFailed(
            ex,
            "use an L2 penalty on the weights of some layers.",
            hint="kernel_regularizer=keras.regularizers.l2(...) on Conv2D / Dense layers.",
        )
    if max(rep["l2"]) < MIN_L2:
        raise CheckFailed(
            ex, f"an L2 factor this small changes nothing: use at least {MIN_L2:g} somewhere.", found=rep["l2"]
        )
    model(x[:2], training=False)
    if not model.losses:
        raise CheckFailed(
            ex,
            "the model has L2 regularisers but adds no penalty to the loss: set "
            "kernel_regularizer when you create each layer (setting it afterwards does nothing).",
            found="model.losses is empty",
        )
    weak = [
        (layer.name, f)
        for layer in _all_layers(model)
        if type(layer).__name__ in AUGMENT_LAYERS
        for f in _augment_factors(layer)
        if abs(f) < MIN_AUGMENT
    ]
    if weak:
        raise CheckFailed(
            ex,
            f"an augmentation this small changes nothing: every factor should be at least {MIN_AUGMENT}.",
            found=weak,
            hint="Use your augmenter from Exercise 1.",
        )
    if not any(type(layer).__name__ == "Conv2D" for layer in _all_layers(model)):
        raise CheckFailed(ex, "a CNN needs Conv2D layers.")
    passed(
        ex,
        f"augmentation ({len(rep['augment'])} layers), dropout {rep['dropout']}, "
        f"L2 on {len(rep['l2'])} layers, {model.count_params():,} parameters",
    )


def measure_regularized(
    build_regularized_cnn, seed=training.CHECK_SEED, profile=None, exercise="Exercise 6 (regularised CNN trained)"
):
    """Train the student's CNN with the check's recipe under ``lab5.regularized``.

    The validation curves are measured on the held-out quarter of the images.
    With 50 validation images, one image is 2 points of accuracy, so the
    split is the same for every seed: seeds change the initialisation, the
    shuffling and the augmentation, not the exam.

    Args:
        build_regularized_cnn: the student's
            ``build_regularized_cnn(input_shape, num_classes)``.
        seed: the training seed (calibration uses several).
        profile: the profile whose budget applies (``None``: the active one).
        exercise: the exercise's name as feedback shows it.

    Returns:
        A :class:`~cnncourse.checks.training.TrainResult` whose history has
        validation curves.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the model is not right (see
            :func:`~cnncourse.checks.training.build`).
    """
    from cnncourse.runtime import budget

    x, y = load_regularization_data()
    return training.retrain(
        exercise,
        build_regularized_cnn,
        x,
        y,
        budget("lab5.regularized", profile),
        builder_args=(x.shape[1:], 2),
        seed=seed,
        validation=True,
        split_seed=training.CHECK_SEED,
    )


def check_regularized_training(build_regularized_cnn):
    """Train the student's CNN; report the validation accuracy and the train/validation gap against their bars.

    Both numbers are printed next to their calibrated bars
    (:func:`~cnncourse.checks.training.report`); missing a bar does not
    raise. The gap is :func:`~cnncourse.checks.training.generalisation_gap`
    over the last 3 epochs.

    Args:
        build_regularized_cnn: the student's
            ``build_regularized_cnn(input_shape, num_classes)``.

    Returns:
        ``(validation accuracy, gap)``, floats the graded cell turns into
        points.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the model is not right.
    """
    ex = "Exercise 6 (regularised CNN trained)"
    res = measure_regularized(build_regularized_cnn, exercise=ex)
    training.report(ex, "validation accuracy", res.accuracy, LAB, "regularized", seconds=res.seconds)
    gap = training.generalisation_gap(res.history)
    learns = training.bar(LAB, "regularized")
    floor = learns[1] if learns and learns[1] is not None else (learns[0] if learns else None)
    if floor is not None and res.accuracy <= floor:
        # A network that learns nothing has no gap either: the gap counts for one that learns.
        print(
            f"  the gap ({gap:.3f}) counts only for a network that learns: validation accuracy {res.accuracy:.3f} "
            f"is not above {floor:.3f}, so the gap earns nothing."
        )
        return res.accuracy, float("inf")
    training.report(ex, "train-minus-validation accuracy over the last 3 epochs", gap, LAB, "gap")
    return res.accuracy, gap


# --------------------------------------------------------------------------
# Exercise 5b: coarse to fine; Question 1
# --------------------------------------------------------------------------
def _space_of(ex, refine_space, trials, scores, keep):
    got = call(ex, refine_space, trials, scores, keep)  # the lists themselves: the caller compares them after
    if not isinstance(got, dict):
        raise CheckFailed(
            ex,
            "return a search space: a dict from each hyper-parameter to ('log', low, high).",
            found=type(got).__name__,
        )
    return got


def _box(trials, indices):
    """The log-uniform box around the trials at ``indices``."""
    return {k: ("log", min(trials[i][k] for i in indices), max(trials[i][k] for i in indices)) for k in trials[0]}


def check_refine_space(refine_space, seed=5):
    """Check ``refine_space``: the log-uniform box around the ``keep`` best trials of a coarse search.

    Random trials over two log axes with random scores: for every name, the
    new axis must be ``("log", low, high)`` with ``low`` and ``high`` the
    smallest and largest value among the ``keep`` best-scoring trials. Keeping
    the worst trials, all of them, or the best one only, and losing the log
    scale, are told as such. The trials and scores given must not change.

    Args:
        refine_space: the student's ``refine_space(trials, scores, keep)``.
        seed: the seed of the trials (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a space is wrong.
    """
    ex = EXERCISES["refine_space"]
    refine_space = by_hand(ex, refine_space, OWN_WORK)
    rng = np.random.default_rng(seed)
    for n, keep in ((8, 3), (12, 4), (5, 1)):
        trials = [
            {"learning_rate": float(10 ** rng.uniform(-5, 0)), "l2": float(10 ** rng.uniform(-6, -1))} for _ in range(n)
        ]
        scores = [float(v) for v in rng.permutation(n) / n]
        given = ([dict(t) for t in trials], list(scores))
        got = _space_of(ex, refine_space, trials, scores, keep)
        if (trials, scores) != given:
            raise CheckFailed(ex, "your function changed the trials or the scores it was given.")

        order = sorted(range(n), key=lambda i: -scores[i])
        want = _box(trials, order[:keep])
        if set(got) != set(want):
            raise CheckFailed(
                ex,
                "the new space should have the same hyper-parameters as the trials.",
                expected=sorted(want),
                found=sorted(got),
            )
        for name, axis in got.items():
            if not (isinstance(axis, tuple) and len(axis) == 3 and axis[0] == "log"):
                raise CheckFailed(
                    ex,
                    f"the axis of {name!r} should stay log-uniform: ('log', low, high).",
                    found=axis,
                    hint="Learning rates and L2 factors are searched on a log scale, in both rounds.",
                )
        if got == want:
            continue
        for wrong, why in (
            (_box(trials, order[-keep:]), "your box surrounds the WORST trials: the best have the highest scores."),
            (_box(trials, range(n)), f"your box surrounds all {n} trials, not the {keep} best."),
            (_box(trials, order[:1]), f"your box is the best trial alone, not the {keep} best."),
        ):
            if got == wrong:
                raise CheckFailed(ex, why)
        raise CheckFailed(
            ex,
            f"with {n} trials and keep={keep}, the box of the best trials is not right.",
            hint="Sort the trials by score (highest first), keep the first `keep`, and take each "
            "hyper-parameter's smallest and largest value among them.",
        )
    passed(ex, "the box of the best trials on 3 coarse searches, log scale kept")


def check_best_learning_rate(best_learning_rate, trials):
    """Check the form of Question 1's answer (the hidden test reads the student's own search).

    Args:
        best_learning_rate: the student's answer.
        trials: every trial of the student's two rounds.

    Returns:
        None; prints a ✔ line when the answer is the learning rate of one of the trials.

    Raises:
        CheckFailed: it is not one of the trials' learning rates.
    """
    ex = EXERCISES["best_learning_rate"]
    rates = [t["learning_rate"] for t in trials]
    if isinstance(best_learning_rate, bool) or not any(np.isclose(best_learning_rate, r, rtol=1e-12) for r in rates):
        raise CheckFailed(
            ex, "best_learning_rate should be the learning rate of one of your trials.", found=best_learning_rate
        )
    passed(ex, "a learning rate you tried (the hidden test reads your scores)")


ABLATED = ("augment", "dropout", "l2")
"""The switches of the ablation, in the order of ``build_ablation_cnn``'s arguments."""
COMPONENT_NAMES = {"augment": "augmentation", "dropout": "dropout", "l2": "L2"}
"""The name of each switch's regulariser, as Question 2 takes it."""


def check_ablation_configs(ablation_configs):
    """Check the ablation's runs: everything on, then each regulariser removed on its own.

    Args:
        ablation_configs: the student's ``ablation_configs()``, returning
            ``{run name: {"augment": bool, "dropout": bool, "l2": bool}}``.

    Returns:
        None; prints a ✔ line when the runs make an ablation.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: a run is malformed, removes two things at once, or one
            regulariser is never removed.
    """
    ex = EXERCISES["ablation_configs"]
    configs = call(ex, ablation_configs)
    if not isinstance(configs, dict) or not configs:
        raise CheckFailed(ex, "return a dict {run name: {'augment': ..., 'dropout': ..., 'l2': ...}}.", found=configs)
    for name, cfg in configs.items():
        if not isinstance(cfg, dict) or set(cfg) != set(ABLATED) or not all(isinstance(cfg[k], bool) for k in ABLATED):
            raise CheckFailed(ex, f"run {name!r} should map each of {list(ABLATED)} to True or False.", found=cfg)
    full = [name for name, cfg in configs.items() if all(cfg.values())]
    if len(full) != 1:
        raise CheckFailed(ex, "exactly one run keeps everything on (the baseline).", found=full)
    removed = []
    for name, cfg in configs.items():
        off = [k for k in ABLATED if not cfg[k]]
        if len(off) > 1:
            raise CheckFailed(
                ex,
                f"run {name!r} removes {' and '.join(off)} at once: then you cannot tell which one made the difference.",
                hint="an ablation removes one component per run and keeps the rest as in the baseline.",
            )
        removed += off
    expect_equal(
        ex,
        sorted(removed),
        sorted(ABLATED),
        what="the regularisers your runs remove, one run each",
        hint="one run per regulariser: without augmentation, without dropout, without L2.",
    )
    passed(ex, f"{len(configs)} runs: the baseline and each regulariser removed on its own")


def check_build_ablation_cnn(build_ablation_cnn):
    """Check that each switch of ``build_ablation_cnn`` removes its regulariser and nothing else.

    All eight settings are built for the faces task (25x25x1, 2 classes) and
    read with :func:`regularization_report`; nothing is trained.

    Args:
        build_ablation_cnn: the student's
            ``build_ablation_cnn(input_shape, num_classes, augment, dropout, l2)``.

    Returns:
        None; prints a ✔ line when every switch works.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: a switch leaves its regulariser in, takes another out, or
            the model changes in more than its regulariser.
    """
    import itertools

    ex = EXERCISES["ablation_cnn"]
    shape = (25, 25, 1)
    dense_sizes = None
    for flags in itertools.product((True, False), repeat=3):
        kwargs = dict(zip(ABLATED, flags))
        model = training.build(ex, build_ablation_cnn, shape, 2, input_shape=shape, num_classes=2, **kwargs)
        if tuple(model.output_shape) != (None, 2):
            raise CheckFailed(ex, "the model should output 2 class probabilities.", found=model.output_shape)
        rep = regularization_report(model)
        has = {
            "augment": set(rep["augment"]) == set(AUGMENT_LAYERS),
            "dropout": bool(rep["dropout"]) and max(rep["dropout"]) >= MIN_DROPOUT,
            "l2": bool(rep["l2"]) and max(rep["l2"]) >= MIN_L2,
        }
        some = {"augment": bool(rep["augment"]), "dropout": bool(rep["dropout"]), "l2": bool(rep["l2"])}
        for key in ABLATED:
            if kwargs[key] and not has[key]:
                raise CheckFailed(ex, f"with {key}=True the model should have {COMPONENT_NAMES[key]}.", found=kwargs)
            if not kwargs[key] and some[key]:
                raise CheckFailed(
                    ex, f"with {key}=False the model should have no {COMPONENT_NAMES[key]}.", found=kwargs
                )
        # everything else stays as it is: the same weighted layers, the same sizes
        sizes = [
            (type(layer).__name__, tuple(w.shape))
            for layer in _all_layers(model)
            for w in getattr(layer, "trainable_weights", [])[:1]
            if type(layer).__name__ not in AUGMENT_LAYERS
        ]
        if dense_sizes is None:
            dense_sizes = sizes
        elif sizes != dense_sizes:
            raise CheckFailed(
                ex,
                "the switches should remove a regulariser only: the other layers stay as they are.",
                expected=dense_sizes,
                found=sizes,
                hint=f"the settings that differ: {kwargs}",
            )
    passed(ex, "each switch removes its regulariser, and only it")


def ablation_costs(results, baseline="all"):
    """What removing each regulariser cost: the baseline's validation accuracy minus the run's.

    Args:
        results: ``{run name: {"val_accuracy": float, "gap": float, "removed": component or None}}``.
        baseline: the name of the run with everything on.

    Returns:
        ``{component: cost}``, in the runs' order (positive: removing it lost accuracy).
    """
    base = float(results[baseline]["val_accuracy"])
    return {r["removed"]: base - float(r["val_accuracy"]) for r in results.values() if r.get("removed")}


def check_most_important(most_important, results):
    """Check the form of Question 2's answer (the hidden test reads the student's own runs).

    Args:
        most_important: the student's answer, one of ``"augmentation"``,
            ``"dropout"``, ``"L2"``.
        results: the student's ablation results (see :func:`ablation_costs`).

    Returns:
        None; prints a ✔ line when the answer is one of the regularisers ablated.

    Raises:
        CheckFailed: it is not the name of a regulariser the runs removed.
    """
    ex = EXERCISES["most_important"]
    names = [r["removed"] for r in results.values() if r.get("removed")]
    if not isinstance(most_important, str) or most_important not in names:
        raise CheckFailed(ex, f"most_important should be one of {names}.", found=most_important)
    passed(ex, "one of the regularisers you removed (the hidden test reads your runs)")
