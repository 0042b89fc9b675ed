"""Lab 5's checks pass the source's solutions and fail plausible wrong answers."""

import itertools

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, lab5

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
layers = keras.layers


@pytest.fixture(scope="module")
def ref():
    import sources

    return sources.solutions("lab5-regularization")


def test_reference_solutions_pass(ref):
    assert lab5.check_build_augmenter(ref["build_augmenter"]) is None
    assert lab5.check_make_dataset(ref["make_dataset"]) is None
    assert lab5.check_early_stopping(ref["make_early_stopping"]) is None
    assert lab5.check_random_search(ref["random_search"]) is None
    assert lab5.check_grid_search(ref["grid_search"]) is None
    assert lab5.check_regularized_cnn(ref["build_regularized_cnn"]) is None


# ---------------------------------------------------------------- augmenter
def _augmenter(drop=None, brightness_range=(0.0, 1.0), contrast_range=(0.0, 1.0), factor=0.1):
    def build_augmenter(seed=None):
        stack = {
            "RandomFlip": layers.RandomFlip("horizontal", seed=seed),
            "RandomRotation": layers.RandomRotation(0.05, fill_mode="reflect", seed=seed),
            "RandomTranslation": layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
            "RandomBrightness": layers.RandomBrightness(factor, value_range=brightness_range, seed=seed),
            "RandomContrast": layers.RandomContrast(factor, value_range=contrast_range, seed=seed),
        }
        return keras.Sequential([v for k, v in stack.items() if k != drop])
    return build_augmenter


@pytest.mark.parametrize("wrong", [
    _augmenter(drop="RandomContrast"),
    _augmenter(drop="RandomFlip"),
    _augmenter(brightness_range=(0, 255), factor=0.5),
    _augmenter(contrast_range=(0, 255), factor=0.5),
    lambda seed=None: None,
], ids=["no-contrast", "no-flip", "brightness-0-255", "contrast-0-255", "none"])
def test_wrong_augmenters_fail(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_build_augmenter(wrong)


def test_an_augmenter_that_changes_images_at_inference_fails():
    class Noisy(keras.layers.Layer):
        def call(self, x, training=None):
            return tf.clip_by_value(x + 0.01, 0.0, 1.0)

    def build_augmenter(seed=None):
        return keras.Sequential([_augmenter()(seed), Noisy()])

    with pytest.raises(CheckFailed, match="training=False"):
        lab5.check_build_augmenter(build_augmenter)


# ---------------------------------------------------------------- pipeline
def _dataset(scale=True, cache=True, shuffle_in_eval=False, seed_shuffle=True, reshuffle=True,
             augment_in_eval=False, prefetch=True, augment_before_cache=False, cast=True, drop_remainder=False):
    def make_dataset(x, y, batch_size, training, seed, augmenter=None):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if cast:
            ds = ds.map(lambda im, lb: (tf.cast(im, tf.float32) / (255.0 if scale else 1.0), lb))
        use_aug = augmenter is not None and (training or augment_in_eval)
        if use_aug and augment_before_cache:
            ds = ds.batch(batch_size).map(lambda im, lb: (augmenter(im, training=True), lb)).unbatch()
        if cache:
            ds = ds.cache()
        if training or shuffle_in_eval:
            ds = ds.shuffle(len(x), seed=seed if seed_shuffle else None, reshuffle_each_iteration=reshuffle)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if use_aug and not augment_before_cache:
            ds = ds.map(lambda im, lb: (augmenter(im, training=True), lb))
        return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds
    return make_dataset


WRONG_DATASETS = {
    "not scaled": _dataset(scale=False),
    "not cast": _dataset(cast=False),
    "no cache": _dataset(cache=False),
    "no prefetch": _dataset(prefetch=False),
    "shuffles the evaluation data": _dataset(shuffle_in_eval=True),
    "ignores the seed": _dataset(seed_shuffle=False),
    "same order every epoch": _dataset(reshuffle=False),
    "augments the evaluation data": _dataset(augment_in_eval=True),
    "augments before the cache": _dataset(augment_before_cache=True),
    "drops the last batch": _dataset(drop_remainder=True),
}


@pytest.mark.parametrize("name", sorted(WRONG_DATASETS))
def test_wrong_pipelines_fail(name):
    with pytest.raises(CheckFailed):
        lab5.check_make_dataset(WRONG_DATASETS[name])


def test_a_pipeline_that_ignores_the_augmenter_fails():
    right = _dataset()

    def make_dataset(x, y, batch_size, training, seed, augmenter=None):
        return right(x, y, batch_size, training, seed)

    with pytest.raises(CheckFailed, match="augmenter"):
        lab5.check_make_dataset(make_dataset)


# ---------------------------------------------------------------- early stopping
class _Stopper(keras.callbacks.Callback):
    """A hand-written early stopper with knobs for the usual mistakes."""

    def __init__(self, patience, monitor="val_loss", restore=True, off_by_one=0, improve_if_equal=False):
        super().__init__()
        self.patience, self.monitor, self.restore = patience, monitor, restore
        self.off_by_one, self.improve_if_equal = off_by_one, improve_if_equal

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights = np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        v = logs[self.monitor]
        if v < self.best or (self.improve_if_equal and v == self.best):
            self.best, self.wait, self.best_weights = v, 0, self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience + self.off_by_one:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def test_a_hand_written_callback_passes():
    assert lab5.check_early_stopping(lambda patience: _Stopper(patience)) is None


@pytest.mark.parametrize("wrong", [
    lambda p: _Stopper(p, monitor="loss"),
    lambda p: _Stopper(p, restore=False),
    lambda p: _Stopper(p, off_by_one=1),
    lambda p: _Stopper(p, off_by_one=-1),
    lambda p: _Stopper(p, improve_if_equal=True),
    lambda p: keras.callbacks.EarlyStopping(monitor="val_loss", patience=p),
    lambda p: keras.callbacks.EarlyStopping(monitor="loss", patience=p, restore_best_weights=True),
    lambda p: None,
], ids=["watches-loss", "no-restore", "patience+1", "patience-1", "equal-counts-as-better",
        "keras-no-restore", "keras-watches-loss", "none"])
def test_wrong_early_stopping_fails(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_early_stopping(wrong)


def test_oracle_agrees_with_keras_on_the_scripted_runs():
    for losses, patience in lab5.SEQUENCES:
        cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        assert lab5.replay(cb, losses) == lab5.early_stopping_oracle(losses, patience)


# ---------------------------------------------------------------- search
def _random(lr_kind="log", global_rng=False, dropout_log=False):
    def random_search(space, n_trials, seed):
        rng = np.random if global_rng else np.random.default_rng(seed)
        out = []
        for _ in range(n_trials):
            cand = {}
            for name, (kind, *args) in space.items():
                if kind == "log" and lr_kind == "log":
                    cand[name] = float(10 ** rng.uniform(np.log10(args[0]), np.log10(args[1])))
                elif kind in ("log", "uniform"):
                    if dropout_log and kind == "uniform":
                        cand[name] = float(args[1] * 10 ** rng.uniform(-3, 0))
                    else:
                        cand[name] = float(rng.uniform(args[0], args[1]))
                else:
                    cand[name] = args[0][int(rng.integers(len(args[0])))] if not global_rng else \
                        args[0][rng.randint(len(args[0]))]
            out.append(cand)
        return out
    return random_search


def _out_of_bounds(space, n_trials, seed):
    rng = np.random.default_rng(seed)
    return [{"learning_rate": float(10 ** rng.uniform(-6, -1)), "dropout": float(rng.uniform(0, 0.6)),
             "batch_size": int(rng.choice([16, 32, 64, 128]))} for _ in range(n_trials)]


@pytest.mark.parametrize("wrong", [_random(lr_kind="uniform"), _random(global_rng=True),
                                   _random(dropout_log=True), _out_of_bounds, lambda s, n, seed: None],
                         ids=["uniform-lr", "ignores-seed", "log-dropout", "out-of-bounds", "none"])
def test_wrong_random_search_fails(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_random_search(wrong)


def _grid(log_as_linear=False, skip_choice=False, exclude_ends=False):
    def grid_search(space, k):
        axes = []
        for _name, (kind, *args) in space.items():
            if kind == "choice":
                axes.append(args[0][:1] if skip_choice else list(args[0]))
                continue
            lo, hi = args
            if kind == "log" and not log_as_linear:
                vals = np.geomspace(lo, hi, k + 2)[1:-1] if exclude_ends else np.geomspace(lo, hi, k)
            else:
                vals = np.linspace(lo, hi, k + 2)[1:-1] if exclude_ends else np.linspace(lo, hi, k)
            axes.append([float(v) for v in vals])
        return [dict(zip(space, combo)) for combo in itertools.product(*axes)]
    return grid_search


def test_a_right_grid_passes():
    assert lab5.check_grid_search(_grid()) is None


@pytest.mark.parametrize("wrong", [_grid(log_as_linear=True), _grid(skip_choice=True), _grid(exclude_ends=True)],
                         ids=["linear-lr", "one-choice", "no-ends"])
def test_wrong_grid_search_fails(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_grid_search(wrong)


# ---------------------------------------------------------------- regularised CNN
def _cnn(augment=True, dropout=0.5, l2=1e-3):
    def build(input_shape, num_classes):
        reg = keras.regularizers.l2(l2) if l2 else None
        stack = [keras.Input(shape=input_shape)]
        if augment:
            stack.append(_augmenter()())
        stack += [layers.Conv2D(8, 3, activation="relu", kernel_regularizer=reg), layers.MaxPooling2D(2),
                  layers.Flatten()]
        if dropout:
            stack.append(layers.Dropout(dropout))
        stack.append(layers.Dense(num_classes, activation="softmax"))
        return keras.Sequential(stack)
    return build


@pytest.mark.parametrize("wrong", [_cnn(augment=False), _cnn(dropout=0), _cnn(l2=0)],
                         ids=["no-augmentation", "no-dropout", "no-l2"])
def test_unregularised_cnns_fail_the_structure_check(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_regularized_cnn(wrong)


def test_calibration_records_cover_every_training_check():
    from cnncourse import calibration
    from autograder.calibration import problems
    from autograder.calibrations import lab5_regularization

    records = calibration.load_records("lab5-regularization")
    for check in lab5_regularization.CHECKS:
        rec = records[(check, "fast")]
        assert len(rec.reference) >= calibration.MIN_SEEDS
        assert problems(rec) == [], rec.summary()


@pytest.mark.slow
def test_training_check_reproduces_the_calibrated_seed_and_earns_full_marks(ref):
    """Seed 0 gives exactly the recorded values, and both clear their bars."""
    from cnncourse import calibration

    acc, gap = lab5.check_regularized_training(ref["build_regularized_cnn"])
    for check, value, points in (("regularized", acc, 3), ("gap", gap, 2)):
        rec = calibration.record("lab5-regularization", check, "fast")
        assert value == pytest.approx(rec.reference[rec.seeds.index(0)], abs=1e-9)
        assert calibration.grade("lab5-regularization", check, value, points, profile="fast") == points


def test_an_untrainable_cnn_gets_no_accuracy_credit():
    """A model whose output ignores the image (a constant) stays at chance: no points."""
    from cnncourse import calibration

    def constant(input_shape, num_classes):
        return keras.Sequential([keras.Input(shape=input_shape), layers.Flatten(),
                                 layers.Lambda(lambda t: t * 0.0), layers.Dense(num_classes, activation="softmax")])

    res = lab5.measure_regularized(constant, profile="fast")
    assert calibration.grade("lab5-regularization", "regularized", res.accuracy, 3, profile="fast") == 0
