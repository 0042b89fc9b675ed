"""Checks for Lab 7, transfer learning.

The oracles are Keras itself (which weights are trainable, what a layer
outputs in training and in inference mode, what the optimizer's learning
rate variable holds) and properties every right answer has. The small
networks the checks build are made on the spot with a fixed seed; the
shipped source network (:mod:`cnncourse.models.source`) is used as well.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from . import training
from .by_hand import OWN_WORK, by_hand, by_source, recording_fits
from .core import CheckFailed, call, expect_raises, passed
from .hidden import hidden_for

EXERCISES = {
    "build_transfer_model": "Exercise 1 (build_transfer_model)",
    "unfreeze_top": "Exercise 2 (unfreeze_top)",
    "compile_for_finetuning": "Exercise 3 (compile_for_finetuning)",
    "choose_strategy": "Exercise 4 (choose_strategy)",
    "train_transfer": "Exercise 5 (train_transfer)",
    "experiment": "Exercise 6 (experiment)",
    "fine_tune": "Exercise 7 (fine_tune)",
    "beat_scratch": "Question 1 (epochs_to_beat_scratch)",
    "best_n_layers": "Question 2 (best_n_layers)",
    "features_from": "Exercise 8 (features_from)",
    "best_layer": "Question 3 (best_layer)",
}
BY_HAND = {
    name: OWN_WORK
    for name in (
        "build_transfer_model",
        "unfreeze_top",
        "compile_for_finetuning",
        "choose_strategy",
        "train_transfer",
        "fine_tune",
        "best_n_layers",
        "beat_scratch",
        "features_from",
        "best_layer",
    )
}
"""The course's own code (the flags a check expects, its toy networks) is no answer in any exercise."""
hidden = hidden_for(EXERCISES, BY_HAND)

STRATEGIES = ("classifier_on_top", "classifier_from_earlier_layers", "finetune_a_few_layers", "finetune_many_layers")
"""The four answers of the lecture's decision matrix (which goes where is the exercise)."""
SIZES = ("small", "large")
SIMILARITIES = ("similar", "different")


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def toy_base(input_shape=(12, 12, 1), with_dropout=True, seed=0):
    """Build a tiny stand-in for a pretrained base: conv, batch norm, conv, batch norm, conv, pooling.

    Its batch-norm statistics are set far from what a batch gives and it can
    end with a Dropout layer, so running it in training mode visibly changes
    its output. Layers: ``c1``, ``b1``, ``c2``, ``b2``, ``c3``, ``gap`` and
    ``drop``.

    Args:
        input_shape: the base's input shape.
        with_dropout: whether to end with ``Dropout(0.5)``.
        seed: the seed of the weights (Keras' global seed is set to it).

    Returns:
        A ``keras.Model`` named ``toy_base``.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(4, 3, activation="relu", name="c1")(inputs)
    x = layers.BatchNormalization(name="b1")(x)
    x = layers.Conv2D(6, 3, activation="relu", name="c2")(x)
    x = layers.BatchNormalization(name="b2")(x)
    x = layers.Conv2D(8, 3, activation="relu", name="c3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if with_dropout:
        x = layers.Dropout(0.5, name="drop")(x)
    base = keras.Model(inputs, x, name="toy_base")
    for name in ("b1", "b2"):
        bn = base.get_layer(name)
        gamma, beta, mean, var = bn.get_weights()
        bn.set_weights([gamma, beta, mean + 3.0, var * 9.0])
    return base


# --------------------------------------------------------------------------
# Exercise 1: build_transfer_model
# --------------------------------------------------------------------------
def _training_flags(model, base):
    """The ``training`` argument of every call of ``base`` that belongs to ``model``'s graph."""
    flags = []
    for node in getattr(base, "_inbound_nodes", []):
        arguments = getattr(node, "arguments", None)
        kwargs = getattr(arguments, "kwargs", {}) if arguments is not None else {}
        flags.append(kwargs.get("training", None))
    return flags


def check_build_transfer_model(build_transfer_model):
    """Check ``build_transfer_model``: a frozen base called in inference mode, and a new head.

    For 3 and 5 classes on :func:`toy_base`: a ``keras.Model`` that holds the
    given base, the base frozen, the trainable parameters exactly the new
    head's, outputs of shape ``(batch, num_classes)`` that are
    probabilities, and the base called with ``training=False``.

    Args:
        build_transfer_model: the student's ``build_transfer_model(base,
            num_classes)``, returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a property does not hold.
    """
    import keras

    ex = "Exercise 1 (build_transfer_model)"
    build_transfer_model = by_hand(ex, build_transfer_model, OWN_WORK)
    rng = np.random.default_rng(0)
    for num_classes in (3, 5):
        base = toy_base()
        model = call(ex, build_transfer_model, base, num_classes)
        if not isinstance(model, keras.Model):
            raise CheckFailed(ex, "return a keras.Model.", found=type(model).__name__)
        if base not in model.layers:
            raise CheckFailed(
                ex,
                "the base you were given is not a layer of your model.",
                hint="Call the base on a new keras.Input: x = base(inputs, training=False).",
            )
        if base.trainable or _count(base.trainable_weights):
            raise CheckFailed(
                ex,
                "the base still has trainable weights: it is not frozen.",
                expected=0,
                found=_count(base.trainable_weights),
                hint="Set base.trainable = False before you build the model.",
            )
        head = [layer for layer in model.layers if layer is not base]
        head_params = sum(layer.count_params() for layer in head)
        trainable = _count(model.trainable_weights)
        if head_params == 0:
            raise CheckFailed(ex, "your model has no new layers: add a classification head on top of the base.")
        if trainable != head_params:
            raise CheckFailed(
                ex, "the trainable parameters should be exactly the new head's.", expected=head_params, found=trainable
            )
        x = rng.random((6,) + tuple(base.input_shape[1:])).astype("float32")
        out = np.asarray(model(x, training=False))
        if out.shape != (6, num_classes):
            raise CheckFailed(
                ex,
                f"the output for 6 images and num_classes={num_classes} has the wrong shape.",
                expected=(6, num_classes),
                found=out.shape,
            )
        if not (np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4)):
            raise CheckFailed(
                ex,
                "the outputs are not class probabilities (rows should sum to 1).",
                hint="End the head with a Dense layer with a softmax activation.",
            )
        flags = _training_flags(model, base)
        if not flags or any(f is not False for f in flags):
            raise CheckFailed(
                ex,
                "the base is not called with training=False.",
                expected="training=False",
                found=f"training={flags[-1] if flags else None}",
                hint="Build the model with the functional API and call the base as "
                "x = base(inputs, training=False) (a Sequential model cannot pass it).",
            )
    passed(ex, "the base is frozen and called with training=False; only the new head trains")


# --------------------------------------------------------------------------
# Exercise 2: unfreeze_top
# --------------------------------------------------------------------------
def _expected_flags(base, n_layers):
    import keras

    layers = base.layers
    cut = len(layers) - n_layers
    return {
        layer.name: (i >= cut and not isinstance(layer, keras.layers.BatchNormalization))
        for i, layer in enumerate(layers)
        if layer.weights
    }


def check_unfreeze_top(unfreeze_top):
    """Check ``unfreeze_top``: only the top ``n_layers`` layers train; batch-norm layers stay frozen.

    For ``n_layers`` 0, 1, 2, 3, 5 and 8 on a frozen :func:`toy_base`
    (without dropout), changed in place: of the layers with weights, exactly
    those among the last ``n_layers`` of ``base.layers`` train, never a
    ``BatchNormalization`` layer, and the base's trainable weights are those
    layers' weights.

    Args:
        unfreeze_top: the student's ``unfreeze_top(base, n_layers)``,
            returning the base or ``None``.

    Returns:
        None; prints a ✔ line when every case is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, returns another object, or the wrong layers
            train.
    """
    ex = "Exercise 2 (unfreeze_top)"
    unfreeze_top = by_hand(ex, unfreeze_top, OWN_WORK)
    for n in (0, 1, 2, 3, 5, 8):
        base = toy_base(with_dropout=False)
        base.trainable = False
        result = call(ex, unfreeze_top, base, n)
        if result is not None and result is not base:
            raise CheckFailed(ex, "return the base you were given (or nothing); change it in place.")
        want = _expected_flags(base, n)
        got = {
            layer.name: bool(layer.trainable) and bool(layer.trainable_weights)
            for layer in base.layers
            if layer.weights
        }
        if got != want:
            bn_wrong = [k for k in want if k.startswith("b") and got[k]]
            if bn_wrong:
                raise CheckFailed(
                    ex,
                    f"with n_layers={n}, batch-norm layer(s) {bn_wrong} became trainable.",
                    hint="Keep every BatchNormalization layer frozen: its statistics were "
                    "learned on the big dataset and a few labels would wreck them.",
                )
            layer_names = [layer.name for layer in base.layers]
            raise CheckFailed(
                ex,
                f"with n_layers={n} of the base's {len(layer_names)} layers "
                f"({', '.join(layer_names)}), the wrong layers are trainable.",
                expected={k: v for k, v in want.items()},
                found=got,
                hint="Make the base trainable, then freeze every layer except the last "
                "n_layers of base.layers (and every BatchNormalization layer).",
            )
        expected_count = sum(_count(base.get_layer(k).weights) for k, v in want.items() if v)
        if _count(base.trainable_weights) != expected_count:
            raise CheckFailed(
                ex,
                f"with n_layers={n}, the base's trainable weights do not match its layers' flags.",
                expected=expected_count,
                found=_count(base.trainable_weights),
                hint="Is base.trainable True? A frozen model freezes all its layers.",
            )
    passed(ex, "the top layers train, everything below and every batch-norm layer stays frozen")


# --------------------------------------------------------------------------
# Exercise 3: compile_for_finetuning
# --------------------------------------------------------------------------
def learning_rate_of(model):
    """Return the learning rate a compiled Keras 3 model's optimizer holds, as a float.

    Args:
        model: a compiled ``keras.Model``.

    Returns:
        The learning rate, a float.

    Example:
        >>> learning_rate_of(model)  # doctest: +SKIP
        0.0001
    """
    # float() reads the variable itself: NumPy 2 warns when asked to convert it (its __array__ takes no copy).
    return float(model.optimizer.learning_rate)


def _toy_classifier():
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    return model


def check_compile_for_finetuning(compile_for_finetuning):
    """Check ``compile_for_finetuning``: a new optimizer at a tenth of the learning rate, compiled for classification.

    Two models compiled with Adam (0.001, then 0.03) are passed alone, and
    an uncompiled one with ``base_lr=0.005``: each must be compiled again,
    with a new optimizer whose learning rate is a tenth of the original (or
    of ``base_lr``), and a loss and metrics that train on integer labels.

    Args:
        compile_for_finetuning: the student's
            ``compile_for_finetuning(model, base_lr=None)``.

    Returns:
        None; prints a ✔ line when every case is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, does not compile again, sets another
            learning rate, or the model cannot train on integer labels.
    """
    import keras

    ex = "Exercise 3 (compile_for_finetuning)"
    compile_for_finetuning = by_hand(ex, compile_for_finetuning, OWN_WORK)
    cases = []
    for original in (1e-3, 3e-2):
        model = _toy_classifier()
        model.compile(
            optimizer=keras.optimizers.Adam(original), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        cases.append((model, None, original))
    model = _toy_classifier()
    cases.append((model, 5e-3, 5e-3))
    for model, base_lr, original in cases:
        before = getattr(model, "optimizer", None)
        args = (model,) if base_lr is None else (model, base_lr)
        call(ex, compile_for_finetuning, *args)
        how = "the model compiled with Adam(learning_rate=%g)" % original if base_lr is None else f"base_lr={base_lr:g}"
        if getattr(model, "optimizer", None) is None or model.optimizer is before:
            raise CheckFailed(
                ex,
                f"for {how}, the model was not compiled again with a new optimizer.",
                hint="After changing which layers train, Keras needs model.compile(...) again.",
            )
        found = learning_rate_of(model)
        if not np.isclose(found, original / 10, rtol=1e-4):
            ratio = found / original if original else float("nan")
            raise CheckFailed(
                ex,
                f"for {how}, the new learning rate is {ratio:g} times the original.",
                expected=round(original / 10, 8),
                found=round(found, 8),
                hint="The lecture's starting point for fine-tuning is 1/10 of the original "
                "learning rate. In Keras 3, read it with "
                "float(model.optimizer.learning_rate).",
            )
        x = np.zeros((2, 4), "float32")
        y = np.array([0, 2])
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.train_on_batch(x, y)
        except Exception as exc:  # noqa: BLE001 - loss or metrics unusable with integer labels
            raise CheckFailed(
                ex,
                f"the compiled model cannot train on integer labels: {type(exc).__name__}: {exc}",
                hint="Use loss='sparse_categorical_crossentropy' and metrics=['accuracy'].",
            ) from None
        training.refuse_logits_on_softmax(ex, model, caught)
    passed(ex, "a tenth of the learning rate, read from the optimizer or given")


# --------------------------------------------------------------------------
# Exercise 4: choose_strategy
# --------------------------------------------------------------------------
def check_choose_strategy(choose_strategy):
    """Check ``choose_strategy``: four valid, different answers for the four cells of the matrix.

    Every combination of :data:`SIZES` and :data:`SIMILARITIES` must give one
    of :data:`STRATEGIES`, no two the same; an unknown size or similarity
    must raise ``ValueError``. Which answer goes where is left to the hidden
    tests.

    Args:
        choose_strategy: the student's ``choose_strategy(dataset_size,
            similarity)``, returning a strategy's name.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, gives an answer outside
            :data:`STRATEGIES`, repeats one, or accepts an unknown input.
    """
    ex = "Exercise 4 (choose_strategy)"
    choose_strategy = by_hand(ex, choose_strategy, OWN_WORK)
    answers = {}
    for size in SIZES:
        for sim in SIMILARITIES:
            got = call(ex, choose_strategy, size, sim)
            if got not in STRATEGIES:
                raise CheckFailed(
                    ex,
                    f"choose_strategy({size!r}, {sim!r}) is not one of the four strategies.",
                    expected=STRATEGIES,
                    found=got,
                )
            answers[(size, sim)] = got
    if len(set(answers.values())) != 4:
        raise CheckFailed(
            ex,
            "the four cells of the decision matrix each have their own strategy; some of yours repeat.",
            found=answers,
        )
    expect_raises(
        ex,
        ValueError,
        choose_strategy,
        "medium",
        "similar",
        what="dataset_size='medium'",
        hint="Raise ValueError for a dataset_size other than 'small' or 'large'.",
    )
    expect_raises(
        ex,
        ValueError,
        choose_strategy,
        "small",
        "somewhat",
        what="similarity='somewhat'",
        hint="Raise ValueError for a similarity other than 'similar' or 'different'.",
    )
    passed(ex, "four different strategies, unknown inputs refused (the hidden tests check which is which)")


# --------------------------------------------------------------------------
# Exercise 5: train_transfer
# --------------------------------------------------------------------------
def check_train_transfer(train_transfer, x, y, num_classes=5, epochs=1, batch_size=16, watch=True):
    """Check one short run of ``train_transfer``: it returns (model, history), only the head trained.

    The run is called as ``train_transfer(x, y, epochs=epochs,
    batch_size=batch_size)`` under the
    :data:`~cnncourse.checks.by_hand.OWN_WORK` rules. The check reads what
    the training did: ``model.fit`` was called on the images given only,
    for ``epochs`` epochs of ``batch_size`` (the optimiser's step count);
    the history has ``epochs`` entries; the model outputs ``num_classes``
    scores; it holds the shipped source base
    (:func:`cnncourse.models.source.load_base`), frozen, with its weights
    unchanged.

    Args:
        train_transfer: the student's ``train_transfer(x, y, epochs,
            batch_size, validation_data=None)``, returning ``(model,
            history)``.
        x: the labelled images to train on.
        y: their labels.
        num_classes: the number of classes the model must output.
        epochs: the epochs to ask for.
        batch_size: the batch size to ask for.
        watch: watch every call the function makes (``False``: read its
            source only, as the graded measurement does; a watch slows
            training several times over, and one watched run suffices).

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    import keras

    from cnncourse.models import source

    ex = "Exercise 5 (train_transfer)"
    train_transfer = (by_hand if watch else by_source)(ex, train_transfer, OWN_WORK)
    with recording_fits() as fits:
        out = call(ex, train_transfer, x, y, epochs=epochs, batch_size=batch_size)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(ex, "return a pair (model, history).", found=type(out).__name__)
    model, history = out
    if not isinstance(model, keras.Model):
        raise CheckFailed(ex, "the first item should be the trained keras.Model.", found=type(model).__name__)
    hist = getattr(history, "history", history)
    if not isinstance(hist, dict) or len(hist.get("loss", [])) != epochs:
        raise CheckFailed(
            ex,
            f"the second item should be the History that fit returned ({epochs} epoch(s) here).",
            found=type(history).__name__,
        )
    _expect_fitted_on(ex, fits, x)
    _expect_trained_on(ex, model, len(x), epochs=epochs, batch_size=batch_size)
    pred = np.asarray(model(x[:4], training=False))
    if pred.shape != (4, num_classes):
        raise CheckFailed(ex, "the model's output has the wrong shape.", expected=(4, num_classes), found=pred.shape)
    reference = source.load_base()
    bases = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not bases:
        raise CheckFailed(ex, "the model does not contain the source base (source.load_base()).")
    base = bases[0]
    if _count(base.trainable_weights):
        raise CheckFailed(ex, "the base is not frozen.", hint="Use your build_transfer_model.")
    for w_ref, w in zip(reference.get_weights(), base.get_weights()):
        if w_ref.shape != w.shape or not np.allclose(w_ref, w, atol=1e-6):
            raise CheckFailed(
                ex,
                "the base's weights changed during training (or it is not the shipped source network).",
                hint="Start from source.load_base() and freeze it.",
            )
    passed(ex, "a frozen source base with a trained head; the hidden test measures its accuracy")


def check_experiment(results, seeds):
    """Check the shape of the experiment's results: "transfer" and "scratch", one run per seed.

    Args:
        results: the student's ``{"transfer": [run per seed], "scratch":
            [run per seed]}``, each run a ``History`` or its dict with a
            ``val_accuracy`` curve.
        seeds: the seeds the experiment ran (only their number is used).

    Returns:
        None; prints a ✔ line when the results are complete.

    Raises:
        CheckFailed: a key, a run or a validation curve is missing.
    """
    ex = "Exercise 6 (experiment)"
    if not isinstance(results, dict) or set(results) != {"transfer", "scratch"}:
        raise CheckFailed(
            ex,
            "results should be a dict with the keys 'transfer' and 'scratch'.",
            found=type(results).__name__ if not isinstance(results, dict) else sorted(results),
        )
    for key, runs in results.items():
        if len(runs) != len(seeds):
            raise CheckFailed(
                ex, f"results[{key!r}] should hold one run per seed.", expected=len(seeds), found=len(runs)
            )
        for h in runs:
            hist = getattr(h, "history", h)
            if "val_accuracy" not in hist:
                raise CheckFailed(
                    ex,
                    f"a {key} run has no validation accuracy per epoch.",
                    hint="Pass validation_data=(x_test, y_test) to fit.",
                )
    passed(ex, f"{len(seeds)} seeds of both runs, with learning curves")


# --------------------------------------------------------------------------
# The graded experiment: what the hidden test and the calibration measure
# --------------------------------------------------------------------------
TARGET_CLASSES = (5, 6, 7, 8, 9)
TARGET_SEED = 1
TEST_FRACTION = 0.4
"""The share of the target digits held out: half of them shown as the test set, half kept for grading."""


def _target_parts():
    """Pool, shown test part and graded part of the target task (60%, 20%, 20%), stratified."""
    from cnncourse import data
    from cnncourse.models import source

    target = source.digits_on_canvas(TARGET_CLASSES, seed=TARGET_SEED)
    pool, (x_held, y_held) = data.train_val_split(target.images, target.target, val_fraction=TEST_FRACTION, seed=0)
    shown, graded = data.train_val_split(x_held, y_held, val_fraction=0.5, seed=0)
    return pool, shown, graded


def target_task():
    """Return the target task: digits 5-9 on the canvas, split into a label pool and a test set.

    Few-label training sets are drawn from the pool with
    :func:`cnncourse.data.per_class_subset`. The graded accuracy
    (:func:`measure_transfer`) is measured on other digits still, which no
    training set of the notebook holds.

    Returns:
        ``(x_pool, y_pool), (x_test, y_test)``: 60% and 20% of the target
        digits (stratified), images of shape ``(32, 32, 1)`` and labels 0-4
        for the digits 5-9.
    """
    pool, shown, _ = _target_parts()
    return pool, shown


def _rows(data, limit):
    """The examples a ``fit`` call was given (arrays, or a ``tf.data`` dataset of batches), as bytes."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        rows = []
        for element in data.take(limit):
            batch = element[0] if isinstance(element, (tuple, list)) else element
            rows.extend(np.asarray(batch, dtype=np.float32))
            if len(rows) > limit:
                break
        return [r.tobytes() for r in rows]
    return [r.tobytes() for r in np.asarray(data, dtype=np.float32)] if data is not None else []


def _expect_fitted_on(ex, fits, x):
    """Every image a ``fit`` call trained on is one of the labelled images ``x`` given."""
    if not fits:
        raise CheckFailed(
            ex,
            "your function did not train with model.fit.",
            hint="Compile the model, then model.fit(x, y, epochs=epochs, batch_size=batch_size).",
        )
    given = {r.tobytes() for r in np.asarray(x, dtype=np.float32)}
    for args, kwargs in fits:
        data = kwargs.get("x", args[1] if len(args) > 1 else None)
        rows = _rows(data, limit=20 * len(given))
        if not rows or any(r not in given for r in rows):
            raise CheckFailed(
                ex,
                "model.fit trained on images that are not the labelled images given.",
                hint="Fit on exactly the (x, y) your function receives: the point is how well "
                "transfer does with few labels.",
            )


def _expect_trained_on(ex, model, n, epochs, batch_size):
    """The data a training function used, read off its optimiser: ``epochs`` passes over ``n`` examples."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "iterations"):
        raise CheckFailed(ex, "the model was never compiled and trained.", hint="compile, then fit on (x, y).")
    steps, want = int(np.asarray(optimizer.iterations)), epochs * -(-n // batch_size)
    if steps != want:
        raise CheckFailed(
            ex,
            f"training on the {n} labelled images given, {epochs} epoch(s) with batch_size="
            f"{batch_size} take {want} optimiser steps; yours took {steps}.",
            expected=want,
            found=steps,
            hint="Fit on exactly the (x, y) you are given, with the epochs and "
            "batch_size you are given: no other images, no other labels.",
        )


def measure_transfer(train_fn, seed, profile=None):
    """Return the held-out accuracy of the model ``train_fn`` trains on the few-label target task.

    Draws ``budget.samples`` labels (equally many per class) with ``seed``,
    seeds everything with :func:`cnncourse.runtime.set_seed`, trains for the
    budget's epochs and returns the accuracy on the graded part of the
    target task: digits that neither the pool nor the test set
    :func:`target_task` gives the notebook holds. The training function must
    fit on exactly the labels it is given (its optimiser's step count says
    so), and its source may not name these checks.

    Args:
        train_fn: the student's ``train_transfer(x, y, epochs, batch_size)``
            (called with ``epochs`` and ``batch_size`` by keyword), returning
            ``(model, history)`` or the model.
        seed: the seed of the labels drawn and of the training.
        profile: the profile whose ``lab7.transfer`` budget applies
            (``None``: the active one).

    Returns:
        The accuracy on the graded digits, a float in [0, 1].

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or did not fit on exactly the labelled
            images given for the epochs and batch size given.
    """
    from cnncourse import data
    from cnncourse.runtime import budget, set_seed

    ex = "Exercise 5 (train_transfer, graded run)"
    b = budget("lab7.transfer", profile)
    (x_pool, y_pool), _, (x_graded, y_graded) = _target_parts()
    per_class = b.samples // len(TARGET_CLASSES)
    x_few, y_few = data.per_class_subset(x_pool, y_pool, per_class, seed=seed)
    set_seed(seed)

    # Its source is read, not every call watched (as fine_tune's): a watch slows training about five
    # times over, and the visible check has already watched the same function train.
    train_fn = by_source(ex, train_fn, OWN_WORK)
    with recording_fits() as fits:
        out = call(ex, train_fn, x_few, y_few, epochs=b.epochs, batch_size=b.batch_size)
    model = out[0] if isinstance(out, tuple) else out
    _expect_fitted_on(ex, fits, x_few)
    _expect_trained_on(ex, model, len(x_few), b.epochs, b.batch_size)
    pred = np.asarray(model(x_graded, training=False))
    return float(np.mean(pred.argmax(axis=1) == y_graded))


# --------------------------------------------------------------------------
# Fine-tuning, measured: the digits in dark ink on white paper
# --------------------------------------------------------------------------
HEAD_LEARNING_RATE = 0.03
"""The head's learning rate in ``train_transfer`` and in the first phase of ``fine_tune``."""


def ink_task():
    """Return the target task drawn in dark ink on white paper (``1 - image``), split as :func:`target_task`.

    The same digits 5-9, with the opposite pixel statistics: the source
    network only ever saw bright strokes on a dark canvas, so its features
    fit these images badly, and fine-tuning has something to fix.

    Returns:
        ``(x_pool, y_pool), (x_test, y_test)``, as :func:`target_task`, with
        every image ``1 - image``.

    Example:
        >>> (x_pool, y_pool), (x_test, y_test) = ink_task()  # doctest: +SKIP
        >>> float(x_pool[0, 0, 0, 0])  # doctest: +SKIP
        1.0
    """
    (x_pool, y_pool), (x_test, y_test) = target_task()
    return (1.0 - x_pool, y_pool), (1.0 - x_test, y_test)


def _base_of(ex, model):
    import keras

    bases = [layer for layer in getattr(model, "layers", []) if isinstance(layer, keras.Model)]
    if not bases:
        raise CheckFailed(ex, "the model does not contain the source base (source.load_base()).")
    return bases[0]


def check_fine_tune(fine_tune, x, y, head_epochs=1, tune_epochs=1, batch_size=16):
    """Check short runs of ``fine_tune``: the head first, then the top layers at a tenth of the learning rate.

    Called with ``n_layers`` 0, 3 and all the base's layers, the check reads
    what training did: two ``fit`` calls on the images given (the head's
    ``head_epochs``, then ``tune_epochs``), the optimiser recompiled at a
    tenth of 0.03 with ``tune_epochs`` of steps, the base's batch-norm
    statistics unchanged, and the base's weights changed exactly in the
    layers that were opened (none for ``n_layers=0``; only ``conv3`` for 3;
    every convolution for all).

    Args:
        fine_tune: the student's ``fine_tune(x, y, n_layers, head_epochs,
            tune_epochs, batch_size, validation_data=None)``, returning
            ``(model, history)``.
        x: the labelled images to train on.
        y: their labels.
        head_epochs: the head's epochs to ask for.
        tune_epochs: the fine-tuning epochs to ask for.
        batch_size: the batch size to ask for.

    Returns:
        None; prints a ✔ line when every run is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a run is not the one asked for.
    """
    import keras

    from cnncourse.models import source

    ex = EXERCISES["fine_tune"]
    fine_tune = by_source(ex, fine_tune, OWN_WORK)  # a watch on every call would slow its training many times
    shipped = {layer.name: layer.get_weights() for layer in source.load_base().layers}
    n_all = len(shipped)
    for n_layers, opened in ((0, set()), (3, {"conv3"}), (n_all, {"conv1", "conv2", "conv3"})):
        # The first run is traced into graphs, as the graded run is, so code that works only eagerly
        # fails here too; the other two run eagerly (tracing costs more than their few steps).
        steps = training.eagerly() if n_layers else contextlib.nullcontext()
        with recording_fits() as fits, training.quiet_retracing(), steps:
            out = call(ex, fine_tune, x, y, n_layers, head_epochs, tune_epochs, batch_size)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], keras.Model)):
            raise CheckFailed(ex, "return a pair (model, history).", found=type(out).__name__)
        model = out[0]
        _expect_fitted_on(ex, fits, x)
        epochs = [kwargs.get("epochs", args[4] if len(args) > 4 else 1) for args, kwargs in fits]
        if epochs != [head_epochs, tune_epochs]:
            raise CheckFailed(
                ex,
                f"expected two trainings, the head's ({head_epochs} epoch(s)) then the fine-tuning's "
                f"({tune_epochs}); model.fit was called with these epochs.",
                expected=[head_epochs, tune_epochs],
                found=epochs,
                hint="Train the head on the frozen base first; then unfreeze, compile again and fit again.",
            )
        rate = learning_rate_of(model)
        if not np.isclose(rate, HEAD_LEARNING_RATE / 10, rtol=1e-4):
            raise CheckFailed(
                ex,
                "after unfreezing, the model should be compiled again at a tenth of the head's learning rate.",
                expected=HEAD_LEARNING_RATE / 10,
                found=rate,
                hint="Use your compile_for_finetuning(model) after unfreeze_top.",
            )
        _expect_trained_on(ex, model, len(x), tune_epochs, batch_size)
        base = _base_of(ex, model)
        changed = set()
        for layer in base.layers:
            before = shipped.get(layer.name)
            after = layer.get_weights()
            if before is None or len(before) != len(after):
                raise CheckFailed(ex, "the model's base is not the shipped source base (source.load_base()).")
            if any(not np.allclose(b, a, atol=1e-7) for b, a in zip(before, after)):
                changed.add(layer.name)
        if source.FEATURES in changed:
            raise CheckFailed(
                ex,
                "the base's batch-norm layer changed while fine-tuning: its statistics from the source data "
                "were overwritten by a few small batches.",
                hint="Use your unfreeze_top, which keeps batch-norm layers frozen.",
            )
        if changed != opened:
            raise CheckFailed(
                ex,
                f"with n_layers={n_layers}, the base's weights should change in exactly these layers.",
                expected=sorted(opened),
                found=sorted(changed),
                hint="Unfreeze with your unfreeze_top(base, n_layers) after training the head, on the base "
                "that is inside the model, then compile again and fit.",
            )
    passed(ex, "head first, then the opened layers at a tenth of the rate (0, 3 and all the base's layers)")


def measure_finetuning(fine_tune, seed, profile=None):
    """Return how much fine-tuning the whole base gains over the frozen base, on the digits in ink.

    Draws ``budget.samples`` labels of :func:`ink_task`'s pool (equally many
    per class) with ``seed``; trains the student's ``fine_tune`` twice from
    the same seed, with ``n_layers=0`` (the frozen base, trained as long)
    and with every layer of the base; returns the difference of their
    accuracies on the graded ink digits (in neither the pool nor the test
    set the notebook is given). The head trains ``lab7.finetune_head``'s
    epochs, the fine-tuning ``lab7.finetune``'s.

    Args:
        fine_tune: the student's ``fine_tune``.
        seed: the seed of the labels drawn and of both trainings.
        profile: the profile whose budgets apply (``None``: the active one).

    Returns:
        The gain in accuracy, a float in [-1, 1].

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or did not train on exactly the labels given.
    """
    from cnncourse import data
    from cnncourse.models import source
    from cnncourse.runtime import budget, set_seed

    ex = "Exercise 7 (fine_tune, graded run)"
    b, head = budget("lab7.finetune", profile), budget("lab7.finetune_head", profile)
    (x_pool, y_pool), _, (x_graded, y_graded) = _target_parts()
    x_pool, x_graded = 1.0 - x_pool, 1.0 - x_graded
    x_few, y_few = data.per_class_subset(x_pool, y_pool, b.samples // len(TARGET_CLASSES), seed=seed)
    given, fine_tune = fine_tune, by_source(ex, fine_tune, OWN_WORK)
    accuracy, models = {}, {}
    for n_layers in (0, len(source.load_base().layers)):
        set_seed(seed)
        with recording_fits() as fits, training.quiet_retracing():
            out = call(ex, fine_tune, x_few, y_few, n_layers, head.epochs, b.epochs, b.batch_size)
        model = out[0] if isinstance(out, tuple) else out
        _expect_fitted_on(ex, fits, x_few)
        _expect_trained_on(ex, model, len(x_few), b.epochs, b.batch_size)
        pred = np.asarray(model(x_graded, training=False))
        accuracy[n_layers] = float(np.mean(pred.argmax(axis=1) == y_graded))
        models[n_layers] = model
    if _MEASURED_INK_MODELS.get("key") != (given, b, head):
        _MEASURED_INK_MODELS.clear()
        _MEASURED_INK_MODELS["key"] = (given, b, head)
    _MEASURED_INK_MODELS[seed] = models
    frozen, tuned = accuracy.values()
    return tuned - frozen


_MEASURED_INK_MODELS: dict = {}
"""The models the last :func:`measure_finetuning` runs trained, by seed, and what they ran (``"key"``)."""


def measured_ink_models(fine_tune, seed):
    """Return the models the graded fine-tuning measurement already trained, to reuse instead of training again.

    :func:`measure_finetuning` trains ``fine_tune`` on :func:`ink_task`'s
    pool, ``lab7.finetune``'s ``samples`` labels drawn with ``seed``, after
    ``set_seed(seed)``: once with ``n_layers=0`` and once with every layer
    of the base. Those are the very runs the notebook's experiment makes
    with that seed, so it reads them here.

    Args:
        fine_tune: the function the measurement trained (the very object).
        seed: the seed of the labels and of the training.

    Returns:
        ``{n_layers: keras.Model}``; an empty dict when no measurement
        trained this function with this seed under the active budgets.
    """
    from cnncourse.runtime import budget

    key = (fine_tune, budget("lab7.finetune"), budget("lab7.finetune_head"))
    if _MEASURED_INK_MODELS.get("key") != key:
        return {}
    return dict(_MEASURED_INK_MODELS.get(seed, {}))


def check_best_n_layers(best_n_layers, ink_results):
    """Check the form of ``best_n_layers`` (the hidden test checks it against the student's own results).

    Args:
        best_n_layers: the student's answer, one of the keys of ``ink_results``.
        ink_results: the student's ``{n_layers: test accuracy}``.

    Returns:
        None; prints a ✔ line when the answer is one of the runs.

    Raises:
        CheckFailed: the results are missing, or the answer is not one of their keys.
    """
    ex = EXERCISES["best_n_layers"]
    if not isinstance(ink_results, dict) or len(ink_results) < 2:
        raise CheckFailed(ex, "ink_results should map each n_layers you tried to its accuracy (run the cell above).")
    if isinstance(best_n_layers, bool) or best_n_layers not in ink_results:
        raise CheckFailed(
            ex,
            "best_n_layers should be one of the n_layers you tried.",
            expected=sorted(ink_results),
            found=best_n_layers,
        )
    passed(ex, "one of your runs (the hidden test reads your results)")


def check_epochs_to_beat_scratch(epochs_to_beat_scratch, epochs):
    """Check the form of ``epochs_to_beat_scratch`` (the hidden test reads the student's own results).

    Args:
        epochs_to_beat_scratch: the student's answer, an epoch counted from 1,
            or ``None``.
        epochs: the number of epochs every run trained.

    Returns:
        None; prints a ✔ line when the answer is an epoch of the runs or ``None``.

    Raises:
        CheckFailed: the answer is neither ``None`` nor a whole number from 1
            to ``epochs``.
    """
    ex = EXERCISES["beat_scratch"]
    if epochs_to_beat_scratch is None:
        passed(ex, "None: never (the hidden test reads your results)")
        return
    if isinstance(epochs_to_beat_scratch, bool) or not isinstance(epochs_to_beat_scratch, (int, np.integer)):
        raise CheckFailed(
            ex, "the answer should be an epoch (a whole number, counted from 1) or None.", found=epochs_to_beat_scratch
        )
    if not 1 <= int(epochs_to_beat_scratch) <= epochs:
        raise CheckFailed(
            ex,
            f"the runs have epochs 1 to {epochs}.",
            found=int(epochs_to_beat_scratch),
            hint="np.flatnonzero gives indices counted from 0: add 1.",
        )
    passed(ex, "an epoch of your runs (the hidden test reads your results)")


# --------------------------------------------------------------------------
# Exercise 8: a classifier on features from earlier layers
# --------------------------------------------------------------------------
TOY_LAYERS = ("c1", "b1", "c2", "c3", "gap")
"""The layers of :func:`toy_base` the visible check cuts at (maps of three depths, and flat features)."""


def _layer_outputs(base, x, training):
    """Every layer's output of ``base`` on ``x`` (a dict by layer name), one pass, in the mode asked for."""
    import keras

    names = [layer.name for layer in base.layers[1:]]
    probe = keras.Model(base.input, [base.get_layer(name).output for name in names])
    return {name: np.asarray(out) for name, out in zip(names, probe(x, training=training))}


def _pooled(maps, how="mean"):
    maps = np.asarray(maps)
    if maps.ndim != 4:
        return maps
    return maps.mean(axis=(1, 2)) if how == "mean" else maps.max(axis=(1, 2))


def check_features_from(features_from, base=None, x=None, layer_names=TOY_LAYERS):
    """Check ``features_from``: the base cut at a layer, run in inference mode, its maps averaged to one vector.

    For every layer name: an array of shape ``(len(x), channels)``, equal to
    that layer's output in inference mode averaged over height and width
    (a layer whose output is already flat is returned as it is), and the
    base's weights unchanged.

    Args:
        features_from: the student's ``features_from(base, layer_name, x)``.
        base: the base to cut (``None``: :func:`toy_base`, which has batch
            normalisation and dropout, so training mode shows).
        x: the images (``None``: 5 random ones of the base's input shape).
        layer_names: the layers to cut at.

    Returns:
        None; prints a ✔ line when every layer's features are right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks.
        CheckFailed: it crashes, or the features of a layer are wrong.
    """
    ex = EXERCISES["features_from"]
    features_from = by_hand(ex, features_from, OWN_WORK)
    base = toy_base() if base is None else base
    if x is None:
        x = np.random.default_rng(1).random((5,) + tuple(base.input_shape[1:])).astype("float32")
    before = [w.copy() for w in base.get_weights()]
    inference = _layer_outputs(base, x, training=False)
    in_training = _layer_outputs(base, x, training=True)
    base.set_weights(before)  # a pass in training mode moves the batch-norm statistics: put them back
    for name in layer_names:
        want = _pooled(inference[name])
        got = call(ex, features_from, base, name, x)
        got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
        if got.ndim == 4:
            raise CheckFailed(
                ex,
                f"the features of {name!r} are still feature maps, one (height, width, channels) block per image; "
                "a classifier on top expects one flat vector per image.",
                expected=want.shape,
                found=got.shape,
                hint="Average every map over its height and width (global average pooling).",
            )
        if got.shape != want.shape:
            raise CheckFailed(
                ex,
                f"the features of {name!r} for {len(x)} images have the wrong shape: one number per channel and image.",
                expected=want.shape,
                found=got.shape,
                hint="Average over height and width; flattening keeps every position."
                if got.ndim == 2 and got.shape[1] == np.asarray(inference[name])[0].size
                else f"Cut the base at the layer called {name!r}, and average over height and width only.",
            )
        if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            hint = "Cut the base with a keras.Model from base.input to base.get_layer(layer_name).output."
            if np.allclose(got, _pooled(in_training[name]), rtol=1e-4, atol=1e-5):
                hint = "Run the cut base in inference mode (training=False): the base is frozen."
            elif np.allclose(got, _pooled(inference[name], "max"), rtol=1e-4, atol=1e-5):
                hint = "Average over height and width; the maximum is another feature."
            raise CheckFailed(
                ex, f"the features of {name!r} are not that layer's output, averaged over height and width.", hint=hint
            )
    if any(not np.array_equal(b, a) for b, a in zip(before, base.get_weights())):
        raise CheckFailed(ex, "the base's weights changed: reading features must not train or edit the base.")
    passed(ex, f"the features of {len(layer_names)} layers, in inference mode, one vector per image")


def check_best_layer(best_layer, early_results):
    """Check the form of ``best_layer`` (the hidden test checks it against the student's own results).

    Args:
        best_layer: the student's answer, one of the keys of ``early_results``.
        early_results: the student's ``{layer name: mean held-out accuracy}``.

    Returns:
        None; prints a ✔ line when the answer is one of the layers tried.

    Raises:
        CheckFailed: the results are missing, or the answer is not one of their keys.
    """
    ex = EXERCISES["best_layer"]
    if not isinstance(early_results, dict) or len(early_results) < 2:
        raise CheckFailed(ex, "early_results should map each layer you tried to its accuracy (run the cell above).")
    if type(best_layer) is not str or best_layer not in early_results:  # a plain str: no == of its own
        raise CheckFailed(
            ex,
            "best_layer should be the name of one of the layers you tried.",
            expected=sorted(early_results),
            found=best_layer,
        )
    passed(ex, "one of your layers (the hidden test reads your results)")
