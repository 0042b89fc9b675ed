"""Shared machinery for checks that train what a student built.

A training check never trusts a number the student reports. It takes the
student's *model builder* (and, where the lab asks for one, their training
function), and then, under the active profile's budget
(:func:`cnncourse.runtime.budget`):

1. seeds everything with :func:`cnncourse.runtime.set_seed` (deterministic ops);
2. builds a fresh model with the student's builder and checks it is a Keras
   model with the right input and output;
3. trains it on the check's own data split, with the student's training
   function or with a fixed recipe (Adam, cross-entropy) when the lab grades
   only the model;
4. measures the metric on examples the model never trained on.

The same functions are used by the calibration of the thresholds
(``autograder/calibrations``), so the calibrated bar and the check measure
exactly the same thing. :func:`report` prints the number reached and the bar.

Everything here is generic; each lab's module (``lab4``, ``lab5``, ...) only
chooses the data, the builder arguments and the budget name.

Most of a short training run's time is TensorFlow tracing the training step,
so :func:`fit` creates the model's training variables first
(:func:`cnncourse.runtime.build_for_fit`: the step is traced once, the numbers
are the same), and a check that only looks at what a student's training
function does, for a few steps, runs it under :func:`eagerly`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time

import numpy as np

from .core import CheckFailed, call

DEFAULT_LEARNING_RATE = 1e-3
CHECK_SEED = 0
"""The seed a check trains with. Calibration covers it (seeds 0, 1, 2, ...)."""


@dataclasses.dataclass
class TrainResult:
    """What one check run trained and measured.

    Args:
        model: the trained ``keras.Model``.
        history: the per-epoch curves, ``{name: [value per epoch]}``.
        accuracy: the accuracy on the held-out examples.
        train_accuracy: the accuracy on the examples it trained on,
            evaluated after training.
        seconds: how long the training took (building and evaluating left out).
        seed: the seed it trained with.
        n_train: how many examples it trained on.
        n_test: how many held-out examples the accuracy is measured on.
    """

    model: object
    history: dict
    accuracy: float  # on the held-out examples
    train_accuracy: float  # on the examples it trained on (evaluated after training)
    seconds: float
    seed: int
    n_train: int
    n_test: int

    def curve(self, name):
        """Return one curve of the history as a list.

        Args:
            name: the curve's key, e.g. ``"val_accuracy"``.

        Returns:
            The values per epoch; an empty list when the history has no such
            curve.
        """
        return list(self.history.get(name, []))


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_retracing():
    """Keep TensorFlow's Python warnings (tf.function retracing) off stderr while a check trains many models.

    A check that trains several fresh models in a row makes TensorFlow warn
    that ``tf.function`` retraces; nbgrader gives no points to a test cell
    that writes to stderr, so such a warning would cost a right answer its
    points. Errors still show.

    Returns:
        A context manager.

    Example:
        >>> with quiet_retracing():  # doctest: +SKIP
        ...     model, history = fine_tune(x, y, 3, 1, 1, 16)
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


_EAGER_DATA_WARNING = "Even though the `tf.config.experimental_run_functions_eagerly` option is set"


@contextlib.contextmanager
def eagerly():
    """Run Keras's training and test steps eagerly while a check makes a few tiny runs.

    Tracing a training step into a graph costs a second or more for each
    model; a check of what a function does (which layers train, which data it
    fits on, how often it compiles) runs it for a few steps only, and eagerly
    those take a fraction of that. Never for a measured run: eager numbers
    differ from the graph's in the last bits, and long runs are slower. A
    check runs the function once in graphs first, as the graded run does, so
    code that works only eagerly still fails it.
    TensorFlow's warning that ``tf.data`` functions stay in graphs is kept
    off stderr, where nbgrader would count it against the test cell.

    Returns:
        A context manager.

    Example:
        >>> with eagerly():  # doctest: +SKIP
        ...     model, history = fine_tune(x[:40], y[:40], 3, 1, 1, 16)
    """
    import warnings

    import tensorflow as tf

    was = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_EAGER_DATA_WARNING)
            yield
    finally:
        tf.config.run_functions_eagerly(was)


def split_for_check(x, y, budget, seed=CHECK_SEED, test_fraction=0.25, split_seed=None):
    """Split off the held-out examples, then keep the budget's number of training examples.

    Both steps are stratified. The held-out part depends only on
    ``split_seed`` (default: ``seed``) so that what is graded is always
    examples the model never saw; ``seed`` chooses which training examples
    are kept.

    Args:
        x: the images.
        y: the integer labels.
        budget: a :class:`cnncourse.runtime.Budget`; its ``samples`` is how
            many training examples to keep (``None``: all).
        seed: the seed of the subsample (and of the split when
            ``split_seed`` is ``None``).
        test_fraction: the share of the examples held out.
        split_seed: the seed of the held-out split (``None``: ``seed``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    Raises:
        ValueError: ``test_fraction`` is not between 0 and 1, or
            ``budget.samples`` is fewer than the number of classes.
    """
    from cnncourse.data import stratified_subsample, train_val_split

    split_seed = seed if split_seed is None else split_seed
    (x_tr, y_tr), (x_te, y_te) = train_val_split(x, y, val_fraction=test_fraction, seed=split_seed)
    x_tr, y_tr = stratified_subsample(x_tr, y_tr, budget.samples, seed=seed)
    return (x_tr, y_tr), (x_te, y_te)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
def build(exercise, builder, *args, seed=CHECK_SEED, input_shape=None, num_classes=None, **kwargs):
    """Seed, call the student's ``builder(*args, **kwargs)`` and check what comes back.

    Args:
        exercise: the exercise's name as feedback shows it.
        builder: the student's model builder, e.g. ``build_lenet5``.
        *args: the builder's positional arguments.
        seed: the seed set (:func:`cnncourse.runtime.set_seed`) before the
            builder runs, so the initial weights are repeatable.
        input_shape: the input shape the model must have, without the batch
            axis (``None``: not checked). Not passed to the builder.
        num_classes: the model must output ``(num_classes,)`` per example
            (``None``: not checked). Not passed to the builder.
        **kwargs: the builder's keyword arguments.

    Returns:
        The ``keras.Model`` the builder returned.

    Raises:
        NotAttempted: the builder still raises ``NotImplementedError``.
        CheckFailed: the builder crashes, or returns something that is not a
            Keras model, or a model whose input or output does not fit
            ``input_shape`` / ``num_classes``.
    """
    import keras

    from cnncourse.runtime import set_seed

    set_seed(seed)
    model = call(exercise, builder, *args, **kwargs)
    if model is None:
        raise CheckFailed(exercise, "the builder returned None: did you forget to `return` the model?")
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            exercise,
            "the builder should return a keras.Model.",
            expected="keras.Model (e.g. keras.Sequential)",
            found=type(model).__name__,
        )
    if input_shape is not None:
        try:
            got_in = tuple(model.inputs[0].shape)[1:]
        except (AttributeError, IndexError, ValueError):
            got_in = None
        if got_in != tuple(input_shape):
            raise CheckFailed(
                exercise,
                "the model's input shape is not the one asked for.",
                expected=tuple(input_shape),
                found=got_in,
                hint="Start the model with keras.Input(shape=input_shape).",
            )
    if num_classes is not None:
        try:
            got_out = tuple(model.outputs[0].shape)[1:]
        except (AttributeError, IndexError, ValueError):
            got_out = None
        if got_out != (num_classes,):
            raise CheckFailed(
                exercise,
                "the model should output one score per class.",
                expected=(num_classes,),
                found=got_out,
                hint="End with Dense(num_classes, activation='softmax').",
            )
    return model


def outputs_probabilities(model, x):
    """Return whether the model's outputs on ``x`` look like probabilities (softmax).

    Only the first 8 examples are run, in inference mode.

    Args:
        model: a ``keras.Model``.
        x: a batch of inputs.

    Returns:
        True when every output is non-negative (to 1e-6) and every row sums
        to 1 (to 1e-3).
    """
    p = np.asarray(model(x[:8], training=False))
    return bool(np.all(p >= -1e-6) and np.allclose(p.sum(axis=-1), 1.0, atol=1e-3))


def compile_classifier(model, x_example, learning_rate=DEFAULT_LEARNING_RATE):
    """Compile a model with the fixed recipe a check uses when it trains a model itself.

    Adam with ``learning_rate`` and sparse categorical cross-entropy, on
    probabilities or on logits, whichever the model outputs (judged by
    :func:`outputs_probabilities` on ``x_example``), with the ``accuracy``
    metric.

    Args:
        model: a ``keras.Model``.
        x_example: inputs the model can run on (its first 8 are used).
        learning_rate: Adam's learning rate.

    Returns:
        The same model, compiled.
    """
    import keras

    from_logits = not outputs_probabilities(model, x_example)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )
    return model


def refuse_logits_on_softmax(exercise, model=None, caught=()):
    """Fail when a loss is told it gets logits although the network ends in a softmax.

    Keras's TensorFlow backend quietly reads the logits back from the softmax
    (with a warning), so such a run trains; on other backends, and in the
    student's understanding, it does not. Two signs are read: the compiled
    model's ``loss`` (a ``keras.losses.Loss`` with ``from_logits`` in its
    config), and Keras's warning, for a loss computed by hand.

    Args:
        exercise: the exercise's name, as feedback shows it.
        model: a compiled ``keras.Model`` whose outputs are probabilities
            (``None``: only the warnings are read).
        caught: the warnings recorded around the student's code by
            ``warnings.catch_warnings(record=True)`` with
            ``warnings.simplefilter("always")``.

    Returns:
        None.

    Raises:
        CheckFailed: the compiled loss has ``from_logits=True``, or Keras
            warned that a loss got ``from_logits=True`` on a softmax's output.

    Example:
        >>> with warnings.catch_warnings(record=True) as caught:  # doctest: +SKIP
        ...     warnings.simplefilter("always")
        ...     fgsm(model, image, label, 0.1)
        >>> refuse_logits_on_softmax("Exercise 5", caught=caught)  # doctest: +SKIP
    """
    loss = getattr(model, "loss", None)
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    warned = any("from_logits=True" in str(w.message) and "Softmax" in str(w.message) for w in caught)
    if config.get("from_logits") or warned:
        raise CheckFailed(
            exercise,
            "the loss is told its inputs are logits (from_logits=True), but the network ends in "
            "a softmax: its outputs are probabilities.",
            hint="Use the cross-entropy with from_logits=False (the default), e.g. "
            "loss='sparse_categorical_crossentropy'.",
        )


def evaluate_with_labels(model, x, y, num_classes):
    """Evaluate a compiled classifier on integer labels, or on one-hot labels if its loss wants those.

    ``sparse_categorical_crossentropy`` on integer labels and
    ``categorical_crossentropy`` on one-hot labels are the same loss; a
    student may choose either.

    Args:
        model: a compiled ``keras.Model``.
        x: the inputs.
        y: the integer labels.
        num_classes: the number of classes (for the one-hot labels).

    Returns:
        ``model.evaluate(..., return_dict=True)``.

    Raises:
        Whatever ``model.evaluate`` raises on one-hot labels when it
        refused the integer ones too.
    """
    import keras

    try:
        return model.evaluate(x, y, verbose=0, return_dict=True)
    except Exception:  # noqa: BLE001 - Keras raises several types for labels of the wrong shape
        one_hot = keras.utils.to_categorical(np.asarray(y), num_classes)
        return model.evaluate(x, one_hot, verbose=0, return_dict=True)


def accuracy(model, x, y, batch_size=256):
    """Return the share of ``x`` the model classifies as ``y`` (argmax of its outputs).

    The model is called in inference mode, ``batch_size`` examples at a time.

    Args:
        model: a ``keras.Model`` with one score per class.
        x: the inputs.
        y: the integer labels.
        batch_size: how many examples to run at once.

    Returns:
        The accuracy, a float in [0, 1].
    """
    # Plain calls in inference mode: no predict function to trace for one use.
    pred = np.concatenate(
        [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    )
    return float(np.mean(pred.argmax(axis=-1) == np.asarray(y)))


def _history_dict(h):
    if h is None:
        return None
    if hasattr(h, "history"):
        return dict(h.history)
    if isinstance(h, dict):
        return dict(h)
    return None


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------
def fit(model, x, y, budget, validation_data=None, seed=CHECK_SEED, learning_rate=DEFAULT_LEARNING_RATE):
    """Train with the check's recipe: compile (Adam), shuffle with ``seed``, ``verbose=0``.

    The model is compiled with :func:`compile_classifier` and trained for
    ``budget.epochs`` on a :func:`cnncourse.data.build_pipeline` of
    ``budget.batch_size`` batches, shuffled with ``seed``.

    Args:
        model: the ``keras.Model`` to train (changed in place).
        x: the training images.
        y: the training labels.
        budget: a :class:`cnncourse.runtime.Budget` (its ``epochs`` and
            ``batch_size`` are used).
        validation_data: ``(x_val, y_val)`` for validation curves, or
            ``None``.
        seed: the seed of the shuffle order.
        learning_rate: Adam's learning rate.

    Returns:
        The history dict, ``{name: [value per epoch]}``.
    """
    from cnncourse.data import build_pipeline
    from cnncourse.runtime import build_for_fit

    compile_classifier(model, x, learning_rate)
    train = build_pipeline(x, y, batch_size=budget.batch_size, training=True, seed=seed)
    build_for_fit(model, train)  # the training step is traced once, not twice; the same numbers
    val = None
    if validation_data is not None:
        val = build_pipeline(validation_data[0], validation_data[1], batch_size=256)
    # The pipeline shuffles (seeded); shuffle=False only tells Keras not to try.
    h = model.fit(train, validation_data=val, epochs=budget.epochs, verbose=0, shuffle=False)
    return dict(h.history)


def retrain(
    exercise,
    builder,
    x,
    y,
    budget,
    builder_args=(),
    builder_kwargs=None,
    train_fn=None,
    seed=CHECK_SEED,
    validation=False,
    test_fraction=0.25,
    learning_rate=DEFAULT_LEARNING_RATE,
    val_size=None,
    split_seed=None,
):
    """Build the student's model, train it under ``budget`` and measure held-out accuracy.

    The examples are split by :func:`split_for_check`; the model is built by
    :func:`build` (input shape from ``x``, one output per class of ``y``);
    it is trained with the student's ``train_fn`` or with :func:`fit`; the
    graded accuracy always uses all the held-out examples.

    Args:
        exercise: the exercise's name as feedback shows it.
        builder: the student's model builder.
        x: all the images of the task.
        y: all their integer labels.
        budget: a :class:`cnncourse.runtime.Budget`.
        builder_args: the builder's positional arguments.
        builder_kwargs: the builder's keyword arguments (``None``: none).
        train_fn: the student's ``train_fn(model, x_train, y_train, x_val,
            y_val, epochs, batch_size)`` returning a ``History`` (or its
            dict); ``None``: the check trains with :func:`fit`.
        seed: the seed of the weights, the shuffling and the kept training
            examples.
        validation: whether to pass the held-out examples as validation data,
            so the history has validation curves (they are still never
            trained on).
        test_fraction: the share of the examples held out.
        learning_rate: Adam's learning rate, for :func:`fit` only.
        val_size: keep only the first ``val_size`` held-out examples for the
            per-epoch curves (cheaper); ``None``: all of them.
        split_seed: fixes the held-out split whatever the training seed
            (``None``: the split follows ``seed``).

    Returns:
        A :class:`TrainResult`.

    Raises:
        NotAttempted: the builder or the training function still raises
            ``NotImplementedError``.
        CheckFailed: the model is not right (see :func:`build`), the
            training function crashes, returns no history, or trains for
            another number of epochs than it was given.
    """
    builder_kwargs = dict(builder_kwargs or {})
    (x_tr, y_tr), (x_te, y_te) = split_for_check(
        x, y, budget, seed=seed, test_fraction=test_fraction, split_seed=split_seed
    )
    num_classes = int(len(np.unique(y)))
    model = build(
        exercise, builder, *builder_args, seed=seed, input_shape=x.shape[1:], num_classes=num_classes, **builder_kwargs
    )
    x_va, y_va = (x_te, y_te) if val_size is None else (x_te[:val_size], y_te[:val_size])
    start = time.perf_counter()
    if train_fn is None:
        history = fit(
            model,
            x_tr,
            y_tr,
            budget,
            validation_data=(x_va, y_va) if validation else None,
            seed=seed,
            learning_rate=learning_rate,
        )
    else:
        from cnncourse.runtime import set_seed

        set_seed(seed)
        vx, vy = (x_va, y_va) if validation else (None, None)
        h = call(exercise, train_fn, model, x_tr, y_tr, vx, vy, budget.epochs, budget.batch_size)
        history = _history_dict(h)
        if history is None:
            raise CheckFailed(
                exercise,
                "the training function should return what model.fit returns (a keras History).",
                found=type(h).__name__,
            )
        epochs_run = len(next(iter(history.values()), []))
        if epochs_run != budget.epochs:
            raise CheckFailed(
                exercise,
                "the training function did not train for the number of epochs it was given.",
                expected=budget.epochs,
                found=epochs_run,
                hint="Pass epochs=epochs and batch_size=batch_size to model.fit.",
            )
    seconds = time.perf_counter() - start
    return TrainResult(
        model=model,
        history=history,
        accuracy=accuracy(model, x_te, y_te),
        train_accuracy=accuracy(model, x_tr, y_tr),
        seconds=seconds,
        seed=seed,
        n_train=len(y_tr),
        n_test=len(y_te),
    )


# --------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------
def generalisation_gap(history, last=3, metric="accuracy"):
    """Return the mean of ``metric - val_metric`` over the last ``last`` epochs.

    Args:
        history: a Keras ``History`` or its dict.
        last: how many final epochs to average over.
        metric: the training metric; its validation twin is ``val_<metric>``.

    Returns:
        A float; 0 or less means no overfitting.

    Raises:
        ValueError: the history lacks ``metric`` or ``val_<metric>``.

    Example:
        >>> gap = generalisation_gap({"accuracy": [0.5, 0.9, 1.0, 1.0],
        ...                           "val_accuracy": [0.5, 0.8, 0.8, 0.7]})
        >>> round(gap, 3)
        0.2
    """
    h = _history_dict(history)
    if not h or metric not in h or f"val_{metric}" not in h:
        raise ValueError(f"the history needs both '{metric}' and 'val_{metric}'.")
    tr = np.asarray(h[metric][-last:], dtype=float)
    va = np.asarray(h[f"val_{metric}"][-last:], dtype=float)
    return float(np.mean(tr - va))


# --------------------------------------------------------------------------
# Feedback
# --------------------------------------------------------------------------
def bar(lab, check, profile=None):
    """Return the calibrated bar ``(threshold, partial, higher_is_better)`` of a check, or None.

    The bars ship with the course (:mod:`cnncourse.calibration`); a check
    not calibrated yet still reports the number reached.

    Args:
        lab: the lab id, e.g. ``"lab4-first-cnn"``.
        check: the check's name in the calibration, e.g. ``"lenet"``.
        profile: the profile whose bar applies (``None``: the active one).

    Returns:
        The tuple, or ``None`` when there is no usable record.
    """
    from cnncourse.calibration import record

    try:
        rec = record(lab, check, profile)
    except (KeyError, OSError, ValueError):
        return None
    return rec.threshold, rec.partial, rec.higher_is_better


def report(exercise, what, value, lab, check, seconds=None, unit=""):
    """Print the number a check measured next to the calibrated bar; return the value.

    Does not raise when the bar is missed: the graded cell turns the number
    into points (full, partial or none), so the message says how far off it is.
    The bar is the active profile's (:func:`bar`).

    Args:
        exercise: the exercise's name as feedback shows it.
        what: what the number is, e.g. ``"held-out accuracy"``.
        value: the number measured.
        lab: the lab id of the calibration.
        check: the check's name in the calibration.
        seconds: how long the training took, shown when given.
        unit: printed after the number.

    Returns:
        ``value``, unchanged.
    """
    from cnncourse.runtime import profile

    from .core import FAIL_MARK, PASS_MARK

    b = bar(lab, check)
    took = f" ({seconds:.1f} s of training)" if seconds is not None else ""
    if b is None:
        print(f"{PASS_MARK} {exercise}: {what} = {value:.3f}{unit}{took}. (No calibrated bar on this machine.)")
        return value
    threshold, partial, higher = b
    ok = value >= threshold if higher else value <= threshold
    word = "at least" if higher else "at most"
    mark = PASS_MARK if ok else FAIL_MARK
    line = (
        f"{mark} {exercise}: {what} = {value:.3f}{unit}{took}; the bar ({profile()} profile) is {word} {threshold:.3f}"
    )
    if ok:
        print(line + ".")
    else:
        part = ""
        if partial is not None:
            part = f" {'Above' if higher else 'Below'} {partial:.3f} (and short of the bar) earns half the points."
        print(line + f": not reached yet.{part}")
    return value
