"""Checks for Lab 4, a first CNN: LeNet-5 and evaluating a classifier.

* :func:`check_build_lenet5` compares the student's model with the lecture's
  description of LeNet-5 (layer kinds, output shapes, kernel sizes, widths,
  activations), for two different inputs.
* :func:`check_train_model` runs the student's training function for one
  short epoch and looks at what it returns.
* :func:`check_lenet_accuracy` and :func:`check_overfit_tiny` *train* the
  student's model with the student's training function under the profile's
  budget (:mod:`cnncourse.checks.training`) and report the number reached
  against the calibrated bar.
* :func:`check_most_confused_pair` compares with an independent NumPy oracle.
* :func:`check_gradient_norms` compares the student's per-layer gradient
  norms with backpropagation written out in NumPy, on small networks whose
  gradients are known; :func:`check_vanishing_answers` and
  :func:`check_best_epoch` check that the answers to the lab's questions are
  read from the student's own numbers.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from . import training
from .architecture import LayerSpec, check_architecture, layer_kind, standalone_activation
from .by_hand import OWN_WORK, by_hand, by_source, recording_fits
from .core import CheckFailed, call, expect_array, expect_equal, passed
from .hidden import hidden_for

EXERCISES = {
    "build_lenet5": "Exercise 1 (build_lenet5)",
    "train_model": "Exercise 2 (train_model)",
    "most_confused_pair": "Exercise 3 (most_confused_pair)",
    "my_pair": "Exercise 3 (my_pair)",
    "gradient_norms": "Exercise 4 (gradient_norms)",
    "best_epoch": "Question 1 (best_epoch)",
    "vanishing": "Question 2 (sigmoid_shrink, relu_shrink)",
}
BY_HAND = {
    "build_lenet5": OWN_WORK,
    "most_confused_pair": OWN_WORK,
    "my_pair": OWN_WORK,
    "gradient_norms": OWN_WORK,
    "vanishing": OWN_WORK,
    "best_epoch": OWN_WORK,
}
"""The course's own code (its LeNet specification, its confusion oracle) is no answer; training functions are
held to the same rule by their source alone (:func:`~cnncourse.checks.by_hand.by_source`)."""
hidden = hidden_for(EXERCISES, BY_HAND)

LAB = "lab4-first-cnn"
DIGIT_SIZE = 28
VAL_SIZE = 64  # held-out digits in the per-epoch curves (the graded accuracy uses all of them)


def _out(n, k, pad):
    return n - k + 1 if pad == "valid" else n


def lenet_spec(input_shape, num_classes, activation):
    """Return LeNet-5 as the lecture describes it, as a list of :class:`LayerSpec`.

    Built from the description (5x5 kernels, 6 then 16 maps, the first
    ``"same"``, the second ``"valid"``, 2x2 average pooling, Dense 120, 84,
    then ``num_classes`` with softmax), not from a model, so it can check any
    input size.

    Args:
        input_shape: the model's input shape, ``(height, width, channels)``.
        num_classes: the number of classes (units of the last Dense layer).
        activation: the activation of every hidden layer, e.g. ``"relu"``.

    Returns:
        A list of 8 :class:`LayerSpec`, for
        :func:`~cnncourse.checks.architecture.check_architecture`.

    Example:
        >>> [spec.kind for spec in lenet_spec((28, 28, 1), 10, "relu")][:3]
        ['Conv2D', 'AveragePooling2D', 'Conv2D']
        >>> lenet_spec((28, 28, 1), 10, "relu")[4].output_shape
        (400,)
    """
    h, w = input_shape[:2]
    h1, w1 = _out(h, 5, "same"), _out(w, 5, "same")
    h2, w2 = h1 // 2, w1 // 2
    h3, w3 = _out(h2, 5, "valid"), _out(w2, 5, "valid")
    h4, w4 = h3 // 2, w3 // 2
    return [
        LayerSpec(
            "Conv2D",
            (h1, w1, 6),
            config={"filters": 6, "kernel_size": (5, 5), "padding": "same"},
            activation=activation,
        ),
        LayerSpec("AveragePooling2D", (h2, w2, 6), config={"pool_size": (2, 2), "strides": (2, 2)}),
        LayerSpec(
            "Conv2D",
            (h3, w3, 16),
            config={"filters": 16, "kernel_size": (5, 5), "padding": "valid"},
            activation=activation,
        ),
        LayerSpec("AveragePooling2D", (h4, w4, 16), config={"pool_size": (2, 2), "strides": (2, 2)}),
        LayerSpec("Flatten", (h4 * w4 * 16,)),
        LayerSpec("Dense", (120,), config={"units": 120}, activation=activation),
        LayerSpec("Dense", (84,), config={"units": 84}, activation=activation),
        LayerSpec("Dense", (num_classes,), config={"units": num_classes}, activation="softmax"),
    ]


def check_build_lenet5(build_lenet5):
    """Check ``build_lenet5`` against the lecture's LeNet-5 for three inputs.

    The model is built for 28x28x1 with 10 classes (sigmoid, then ReLU) and
    for 32x32x3 with 5 classes (tanh), and compared layer by layer with
    :func:`lenet_spec`: kinds, output shapes, kernel sizes, widths, padding
    and activations.

    Args:
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation="sigmoid")``, returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line when all three models match.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, returns something that is not a Keras model,
            or a model that differs from LeNet-5.
    """
    ex = EXERCISES["build_lenet5"]
    build_lenet5 = by_hand(ex, build_lenet5, OWN_WORK)
    cases = [((28, 28, 1), 10, "sigmoid"), ((28, 28, 1), 10, "relu"), ((32, 32, 3), 5, "tanh")]
    for input_shape, num_classes, activation in cases:
        model = training.build(
            ex, build_lenet5, input_shape, num_classes, activation, input_shape=input_shape, num_classes=num_classes
        )
        check_architecture(
            model,
            lenet_spec(input_shape, num_classes, activation),
            exercise=f"{ex} with input_shape={input_shape}, num_classes={num_classes}, activation={activation!r}",
            hint="conv 5x5 (6 maps, 'same') -> 2x2 average pool -> conv 5x5 (16 maps, "
            "'valid') -> 2x2 average pool -> Flatten -> Dense 120 -> Dense 84 -> "
            "Dense num_classes with softmax; `activation` on every hidden layer.",
        )
    passed(
        ex,
        f"layers, shapes and activations match LeNet-5 for {len(cases)} inputs "
        f"({model.count_params():,} parameters for the last one)",
    )


def check_train_model(train_model, build_lenet5, epochs=2, batch_size=16):
    """Check one short run of ``train_model``: it must compile, fit and return a History.

    A ReLU LeNet-5 from the student's ``build_lenet5`` is trained on 64 digits
    (28x28) and validated on 32 others. The check reads what the training
    did: the history's curves (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``) over ``epochs`` epochs, Adam with learning rate 0.001,
    the optimiser's step count (the batch size used), a loss that is the
    cross-entropy of the softmax outputs (not ``from_logits=True``), and a
    validation curve measured on ``(x_val, y_val)``. The batch size is not
    Keras' default of 32, so a hard-coded or forgotten one shows.

    Args:
        train_model: the student's ``train_model(model, x_train, y_train,
            x_val, y_val, epochs, batch_size)``, returning the ``History``
            that ``model.fit`` returns.
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation)``.
        epochs: the epochs to ask for.
        batch_size: the batch size to ask for.

    Returns:
        None; prints a ✔ line when the run is right.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        CheckFailed: a function crashes, or the run is not the one asked for.
    """
    import keras

    ex = EXERCISES["train_model"]
    from cnncourse.data import load_digits

    x, y = load_digits(size=DIGIT_SIZE, return_X_y=True)
    x_tr, y_tr, x_va, y_va = x[:64], y[:64], x[64:96], y[64:96]
    train_model = by_source(ex, train_model, OWN_WORK)
    model = training.build(ex, build_lenet5, (DIGIT_SIZE, DIGIT_SIZE, 1), 10, "relu")
    with recording_fits() as fits:
        h = call(ex, train_model, model, x_tr, y_tr, x_va, y_va, epochs, batch_size)
    if not isinstance(h, keras.callbacks.History):
        raise CheckFailed(
            ex,
            "train_model should return what model.fit returns.",
            expected="keras.callbacks.History",
            found=type(h).__name__,
        )
    hist = h.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key not in hist:
            raise CheckFailed(
                ex,
                f"the history has no '{key}'.",
                expected="loss, accuracy, val_loss, val_accuracy",
                found=sorted(hist),
                hint="compile with metrics=['accuracy'] and fit with validation_data=(x_val, y_val).",
            )
    expect_equal(
        ex,
        len(hist["loss"]),
        epochs,
        what=f"number of epochs trained (asked for {epochs})",
        hint="Pass epochs=epochs to model.fit.",
    )
    opt = model.optimizer
    if type(opt).__name__ != "Adam":
        raise CheckFailed(ex, "the lab trains with Adam.", expected="Adam", found=type(opt).__name__)
    lr = float(np.asarray(opt.learning_rate))
    if not np.isclose(lr, 1e-3):
        raise CheckFailed(ex, "use Adam's learning rate of 0.001.", expected=1e-3, found=lr)
    # What the training did, not how it was written: steps taken, the loss minimised, the data validated on.
    steps = int(np.asarray(opt.iterations))
    want_steps = epochs * -(-len(x_tr) // batch_size)
    if steps != want_steps:
        per_epoch = steps / epochs
        hint = "Pass batch_size=batch_size to model.fit, and train on x_train only."
        if per_epoch and abs(len(x_tr) / per_epoch - 32) < 1:
            hint = "Your fit used Keras' default batch size (32): pass batch_size=batch_size to model.fit."
        raise CheckFailed(
            ex,
            f"with {len(x_tr)} training images, batch_size={batch_size} and epochs={epochs} the "
            f"optimiser should take {want_steps} steps.",
            expected=want_steps,
            found=steps,
            hint=hint,
        )
    for args, kwargs in fits:
        try:
            shuffle = inspect.signature(keras.Model.fit).bind(*args, **kwargs).arguments.get("shuffle", True)
        except TypeError:
            shuffle = kwargs.get("shuffle", True)
        if shuffle is False:
            raise CheckFailed(
                ex,
                "model.fit was called with shuffle=False: every epoch sees the images in the same order, "
                "so each batch's gradient is no longer a fair sample of the whole training set.",
                hint="Leave shuffle out (Keras shuffles the arrays every epoch by default).",
            )
    training.refuse_logits_on_softmax(ex, model)
    probabilities = np.asarray(model.predict(x_va, verbose=0), dtype=float)
    cross_entropy = float(np.mean(-np.log(np.clip(probabilities[np.arange(len(y_va)), y_va], 1e-7, 1.0))))
    # Integer labels with the sparse loss, or one-hot labels with the categorical one: the same cross-entropy.
    measured = training.evaluate_with_labels(model, x_va, y_va, probabilities.shape[-1])
    if not np.isclose(measured["loss"], cross_entropy, rtol=1e-3, atol=1e-4):
        raise CheckFailed(
            ex,
            "the loss the model was compiled with is not the cross-entropy of its predicted probabilities.",
            expected=round(cross_entropy, 5),
            found=round(float(measured["loss"]), 5),
            hint="The network ends in a softmax: use loss='sparse_categorical_crossentropy' "
            "(from_logits=False, the default) with integer labels.",
        )
    if not np.isclose(hist["val_loss"][-1], measured["loss"], rtol=1e-3, atol=1e-4):
        raise CheckFailed(
            ex,
            "the validation curve is not measured on (x_val, y_val).",
            expected=round(float(measured["loss"]), 5),
            found=round(float(hist["val_loss"][-1]), 5),
            hint="Pass validation_data=(x_val, y_val) to model.fit (not validation_split).",
        )
    passed(
        ex,
        "compiles with Adam and the cross-entropy of its softmax, trains on x_train for the epochs and "
        "batch size asked, and returns a History with validation curves on (x_val, y_val)",
    )


# --------------------------------------------------------------------------
# Training checks (shared with autograder/calibrations/lab4_first_cnn.py)
# --------------------------------------------------------------------------
def measure_lenet_accuracy(
    build_lenet5, train_model, seed=training.CHECK_SEED, profile=None, exercise="Exercise 2 (LeNet-5 trained)"
):
    """Train a ReLU LeNet-5 with the student's functions under ``lab4.lenet``; measure held-out accuracy.

    The 28x28 digits are split by
    :func:`~cnncourse.checks.training.retrain`; the student's
    ``train_model`` gets the first 64 held-out digits as validation data.

    Args:
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation)``.
        train_model: the student's ``train_model(model, x_train, y_train,
            x_val, y_val, epochs, batch_size)``.
        seed: the training seed (calibration uses several).
        profile: the profile whose budget applies (``None``: the active one).
        exercise: the exercise's name as feedback shows it.

    Returns:
        A :class:`~cnncourse.checks.training.TrainResult`.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        CheckFailed: the model or the training run is not right (see
            :func:`~cnncourse.checks.training.retrain`).
    """
    from cnncourse.data import load_digits
    from cnncourse.runtime import budget

    x, y = load_digits(size=DIGIT_SIZE, return_X_y=True)
    return training.retrain(
        exercise,
        build_lenet5,
        x,
        y,
        budget("lab4.lenet", profile),
        builder_args=((DIGIT_SIZE, DIGIT_SIZE, 1), 10, "relu"),
        train_fn=train_model,
        seed=seed,
        validation=True,
        val_size=VAL_SIZE,
    )


LENET_KINDS = ("Conv2D", "pool", "Conv2D", "pool", "Flatten", "Dense", "Dense", "Dense")
"""LeNet-5's layers, as the graded runs require them: two convolutions each pooled, then three dense layers."""


def _graded_pair(ex, build_lenet5, train_model):
    """The student's builder and training function for a graded run: a LeNet, and no course code inside.

    The accuracy a graded run measures is LeNet-5's: a builder whose network is not a LeNet (a
    dense network reaches the same accuracy on the digits) earns nothing here, whatever exercise 1
    gave it. Details (padding, widths, activations) are exercise 1's to judge.
    """
    build_lenet5 = by_hand(ex, build_lenet5, OWN_WORK)
    train_model = by_source(ex, train_model, OWN_WORK)
    model = training.build(ex, build_lenet5, (DIGIT_SIZE, DIGIT_SIZE, 1), 10, "relu")
    kinds = tuple(
        "pool" if k in ("AveragePooling2D", "MaxPooling2D") else k
        for k in (layer_kind(layer) for layer in model.layers if standalone_activation(layer) is None)
        if k not in ("InputLayer", "Dropout")
    )
    if kinds != LENET_KINDS:
        raise CheckFailed(
            ex,
            "the graded run trains LeNet-5, and build_lenet5 builds another network.",
            expected=" -> ".join(LENET_KINDS),
            found=" -> ".join(kinds),
            hint="Make exercise 1's check pass first.",
        )
    return build_lenet5, train_model


def check_lenet_accuracy(build_lenet5, train_model):
    """Retrain the student's LeNet-5 (ReLU) with their ``train_model``; report held-out accuracy.

    Prints the accuracy next to the calibrated bar
    (:func:`~cnncourse.checks.training.report`); missing the bar does not
    raise.

    Args:
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation)``.
        train_model: the student's ``train_model(model, x_train, y_train,
            x_val, y_val, epochs, batch_size)``.

    Returns:
        The held-out accuracy, a float, which the graded cell turns into
        points.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        CheckFailed: the model or the training run is not right.
    """
    ex = "Exercise 2 (LeNet-5 trained)"
    build_lenet5, train_model = _graded_pair(ex, build_lenet5, train_model)
    res = measure_lenet_accuracy(build_lenet5, train_model, exercise=ex)
    return training.report(
        ex, f"held-out accuracy after {res.n_train} training digits", res.accuracy, LAB, "lenet", seconds=res.seconds
    )


def measure_overfit(
    build_lenet5,
    train_model,
    seed=training.CHECK_SEED,
    profile=None,
    exercise="Sanity check (overfit a tiny subset)",
    activation="relu",
):
    """Train on ``lab4.overfit``'s few examples only; return the accuracy on those same examples.

    The budget's ``samples`` digits (stratified, chosen with ``seed``) are
    both the training set and the validation data's source (its first 8).

    Args:
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation)``.
        train_model: the student's ``train_model(model, x_train, y_train,
            x_val, y_val, epochs, batch_size)``.
        seed: the seed of the examples and the weights.
        profile: the profile whose budget applies (``None``: the active one).
        exercise: the exercise's name as feedback shows it.
        activation: the LeNet's activation.

    Returns:
        The training accuracy, a float in [0, 1].

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        CheckFailed: the model is not right, or training crashes.
    """
    from cnncourse.data import load_digits, stratified_subsample
    from cnncourse.runtime import budget

    b = budget("lab4.overfit", profile)
    x, y = load_digits(size=DIGIT_SIZE, return_X_y=True)
    xs, ys = stratified_subsample(x, y, b.samples, seed=seed)
    model = training.build(
        exercise,
        build_lenet5,
        (DIGIT_SIZE, DIGIT_SIZE, 1),
        10,
        activation,
        seed=seed,
        input_shape=(DIGIT_SIZE, DIGIT_SIZE, 1),
        num_classes=10,
    )
    call(exercise, train_model, model, xs, ys, xs[:8], ys[:8], b.epochs, b.batch_size)
    return training.accuracy(model, xs, ys)


def check_overfit_tiny(build_lenet5, train_model):
    """Run the sanity check: a correct model and training loop memorise a few examples.

    Prints the training accuracy on the ``lab4.overfit`` digits next to the
    calibrated bar; missing the bar does not raise.

    Args:
        build_lenet5: the student's ``build_lenet5(input_shape, num_classes,
            activation)``.
        train_model: the student's ``train_model(model, x_train, y_train,
            x_val, y_val, epochs, batch_size)``.

    Returns:
        The training accuracy, a float, which the graded cell turns into
        points.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        CheckFailed: the model is not right, or training crashes.
    """
    from cnncourse.runtime import budget

    ex = "Sanity check (overfit a tiny subset)"
    build_lenet5, train_model = _graded_pair(ex, build_lenet5, train_model)
    acc = measure_overfit(build_lenet5, train_model, exercise=ex)
    n = budget("lab4.overfit").samples
    return training.report(ex, f"training accuracy on {n} memorised digits", acc, LAB, "overfit")


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------
def _oracle_pair(cm):
    m = np.array(cm, dtype=float)
    np.fill_diagonal(m, -np.inf)
    flat = int(np.argmax(m))
    return divmod(flat, m.shape[1])


def _pair(ex, most_confused_pair, cm):
    got = call(ex, most_confused_pair, cm)
    try:
        return tuple(int(v) for v in got)
    except (TypeError, ValueError):
        return None


def check_most_confused_pair(most_confused_pair, seed=4):
    """Check that ``most_confused_pair`` finds ``(true, predicted)`` of the largest off-diagonal entry.

    Five random row-normalised matrices (2x2 to 10x10, diagonal dominant)
    and one hand-made matrix, compared with an independent NumPy oracle. A
    pair the wrong way round, one found on one side of the diagonal only, a
    diagonal entry, and a function that changes the matrix it is given are
    told as such.

    Args:
        most_confused_pair: the student's ``most_confused_pair(cm)``, with
            rows of ``cm`` the true classes and columns the predicted ones.
        seed: the seed of the random matrices (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every matrix is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: a pair is wrong, the matrix was changed, or the function
            crashes or returns something that is not a pair of indices.
    """
    ex = EXERCISES["most_confused_pair"]
    most_confused_pair = by_hand(ex, most_confused_pair, OWN_WORK)
    rng = np.random.default_rng(seed)
    for n in (2, 3, 5, 10, 10):
        cm = rng.random((n, n))
        cm[np.diag_indices(n)] += n  # a plausible classifier: the diagonal dominates
        cm = cm / cm.sum(axis=1, keepdims=True)
        given = cm.copy()
        got = call(ex, most_confused_pair, given)
        want = _oracle_pair(cm)
        if not np.array_equal(given, cm):
            raise CheckFailed(
                ex,
                "your function changed the confusion matrix it was given (the notebook plots "
                "and reads that matrix afterwards).",
                hint="Work on a copy: off = np.array(cm, dtype=float), then fill its diagonal.",
            )
        if got is None:
            raise CheckFailed(ex, "the function returned None: return a pair (true, predicted).")
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(ex, "return a pair of two class indices (true, predicted).", found=got) from None
        if got == (want[1], want[0]) and _pair(ex, most_confused_pair, cm.T.copy()) == want:
            raise CheckFailed(
                ex,
                "your pair is the wrong way round.",
                expected=want,
                found=got,
                hint="Rows of the matrix are true classes, columns predicted classes.",
            )
        if got != want and got[0] != got[1] and got in (_oracle_pair(np.triu(cm)), _oracle_pair(np.tril(cm))):
            raise CheckFailed(
                ex,
                f"for a {n}x{n} matrix your pair is the largest entry on one side of the diagonal only.",
                expected=want,
                found=got,
                hint="Confusions lie both above and below the diagonal: search every entry but the diagonal.",
            )
        if got[0] == got[1]:
            raise CheckFailed(
                ex,
                "that is a diagonal entry: those are correct predictions, not confusions.",
                expected=want,
                found=got,
                hint="Ignore the diagonal.",
            )
        expect_equal(
            ex,
            got,
            want,
            what=f"pair for a {n}x{n} matrix",
            hint="Take the largest entry off the diagonal; return (row, column).",
        )
    cm = np.eye(3) * 0.5 + np.array([[0.0, 0.2, 0.3], [0.1, 0.0, 0.4], [0.45, 0.05, 0.0]])
    cm[np.diag_indices(3)] = [0.5, 0.5, 0.5]
    expect_equal(
        ex,
        tuple(int(v) for v in call(ex, most_confused_pair, cm)),
        _oracle_pair(cm),
        what="pair for a hand-made matrix",
    )
    passed(ex, "finds the most confused (true, predicted) pair on 6 matrices")


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _known_gradient_norms(weights, x, y):
    """Norms of the mean cross-entropy's gradient for each kernel of a Dense stack, by NumPy backpropagation.

    ``weights`` is ``[(W1, b1), ..., (Wn, bn)]``: sigmoid hidden layers, a
    softmax output.
    """
    acts = [x]
    for i, (w, b) in enumerate(weights):
        z = acts[-1] @ w + b
        acts.append(_softmax(z) if i == len(weights) - 1 else _sigmoid(z))
    delta = acts[-1].copy()
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)  # the mean over the batch
    norms = []
    for i in range(len(weights) - 1, -1, -1):
        norms.append(float(np.linalg.norm(acts[i].T @ delta)))
        if i:
            delta = (delta @ weights[i][0].T) * acts[i] * (1.0 - acts[i])
    return norms[::-1]


def _dense_stack(sizes, seed):
    """A Dense network (sigmoid hidden layers, softmax output) with seeded weights, and those weights."""
    import keras

    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [keras.Input(shape=(sizes[0],))]
        + [keras.layers.Dense(n, activation="sigmoid") for n in sizes[1:-1]]
        + [keras.layers.Dense(sizes[-1], activation="softmax")]
    )
    weights = [(rng.normal(0.0, 1.0, (a, b)), rng.normal(0.0, 0.5, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    for layer, (w, b) in zip(model.layers, weights):
        layer.set_weights([w.astype("float32"), b.astype("float32")])
    return model, weights


def _norms_of(ex, gradient_norms, model, x, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = call(ex, gradient_norms, model, x, y)
    training.refuse_logits_on_softmax(ex, caught=caught)
    try:
        return np.asarray(got, dtype=float).ravel()
    except (TypeError, ValueError):
        raise CheckFailed(
            ex, "return one number per layer that has a kernel (a list or an array).", found=got
        ) from None


def check_gradient_norms(gradient_norms, seed=5):
    """Check ``gradient_norms`` against backpropagation written out in NumPy.

    On three small Dense networks (no hidden layer, one and two sigmoid
    hidden layers; softmax outputs; seeded weights) the norms of the mean
    loss's gradient with respect to each kernel are known exactly. The usual
    mistakes are told as such: the summed loss instead of the mean, squared
    norms, the biases counted as layers of their own. Last, the function must
    give five positive, finite norms for a LeNet-5 (the networks of this lab).

    Args:
        gradient_norms: the student's ``gradient_norms(model, x, y)``,
            returning one norm per layer that has a kernel, in layer order.
        seed: the seed of the networks and data (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every network's norms are right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or a norm is wrong.
    """
    import keras

    ex = EXERCISES["gradient_norms"]
    gradient_norms = by_hand(ex, gradient_norms, OWN_WORK)
    rng = np.random.default_rng(seed)
    for sizes in ((6, 3), (5, 7, 4), (8, 6, 5, 3)):
        n = 12
        model, weights = _dense_stack(sizes, int(rng.integers(1 << 30)))
        x = rng.normal(0.0, 1.0, (n, sizes[0])).astype("float32")
        y = rng.integers(0, sizes[-1], n)
        want = np.array(_known_gradient_norms(weights, x.astype(float), y))
        got = _norms_of(ex, gradient_norms, model, x, y)
        layers_ = " -> ".join(str(s) for s in sizes)
        if got.shape == (2 * len(want),):
            raise CheckFailed(
                ex,
                f"for a network of {len(want)} Dense layer(s) ({layers_}) you returned {len(got)} norms: "
                "one per weight tensor, biases included.",
                hint="Keep only the kernels: the layers that have a `kernel` attribute, one norm each.",
            )
        if got.shape != want.shape:
            raise CheckFailed(
                ex,
                f"return one norm per layer that has a kernel ({len(want)} for a {layers_} network).",
                expected=len(want),
                found=len(got),
            )
        if np.allclose(got, want * n, rtol=1e-3):
            raise CheckFailed(
                ex,
                f"your norms are {n} times too large for a batch of {n}: the loss was summed over the batch.",
                hint="Take the mean of the per-example losses (keras.ops.mean), as fit does.",
            )
        if np.allclose(got, want**2, rtol=1e-3):
            raise CheckFailed(
                ex,
                "your norms are the squares of the right ones.",
                hint="The norm is the square root of the sum of squares (np.linalg.norm of the gradient).",
            )
        expect_array(
            ex,
            got,
            want,
            rtol=2e-3,
            atol=1e-7,
            what=f"gradient norms of a {layers_} network (sigmoid hidden layers, softmax output)",
            hint="Differentiate the mean sparse categorical cross-entropy of model(x) against y with a "
            "tf.GradientTape, with respect to each layer's kernel.",
        )
    lenet = keras.Sequential(
        [
            keras.Input(shape=(DIGIT_SIZE, DIGIT_SIZE, 1)),
            keras.layers.Conv2D(6, 5, padding="same", activation="relu"),
            keras.layers.AveragePooling2D(2),
            keras.layers.Conv2D(16, 5, activation="relu"),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="relu"),
            keras.layers.Dense(84, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    x = rng.random((8, DIGIT_SIZE, DIGIT_SIZE, 1)).astype("float32")
    got = _norms_of(ex, gradient_norms, lenet, x, np.arange(8))
    if got.shape != (5,) or not np.all(np.isfinite(got)) or not np.all(got > 0):
        raise CheckFailed(
            ex,
            "for a LeNet-5 (two Conv2D and three Dense layers) expect five positive, finite norms.",
            found=np.round(got, 6).tolist(),
            hint="Convolutional layers have a kernel too: keep every layer with a `kernel` attribute.",
        )
    passed(ex, "matches backpropagation on 3 small networks and gives LeNet-5's 5 norms")


def check_vanishing_answers(norms, sigmoid_shrink, relu_shrink):
    """Check that the two answers are read from ``norms``, as the question asks, without telling them.

    Args:
        norms: ``{"sigmoid": [...], "relu": [...]}``, the student's per-layer
            gradient norms of the two LeNets.
        sigmoid_shrink: the answer for the sigmoid network: how many times
            larger the last layer's gradient norm is than the first's.
        relu_shrink: the same for the ReLU network.

    Returns:
        None; prints a ✔ line when both answers are numbers consistent with
        ``norms``.

    Raises:
        CheckFailed: an answer is missing, not a number, or not what
            ``norms`` gives.
    """
    ex = EXERCISES["vanishing"]
    for name, answer in (("sigmoid", sigmoid_shrink), ("relu", relu_shrink)):
        if not isinstance(answer, (int, float, np.floating, np.integer)) or isinstance(answer, bool):
            raise CheckFailed(ex, f"{name}_shrink should be a number.", found=type(answer).__name__)
        try:
            own = np.asarray(norms[name], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise CheckFailed(
                ex, f'norms should hold the "{name}" network\'s list of norms (run the cell above).'
            ) from None
        if own.size < 2 or not np.isclose(float(answer), own[-1] / own[0], rtol=1e-6):
            raise CheckFailed(
                ex,
                f"{name}_shrink is not what your own norms[{name!r}] give.",
                hint="Divide the last layer's norm by the first layer's: how many times smaller is the gradient "
                "that reaches the first layer?",
            )
    passed(ex, "both answers are read from your own gradient norms")


def check_best_epoch(best_epoch, history):
    """Check the form of ``best_epoch`` (the hidden test checks it against the student's own curve).

    Args:
        best_epoch: the student's answer, an epoch number counted from 1.
        history: the ``History`` of the student's ReLU run.

    Returns:
        None; prints a ✔ line when the answer is an epoch of the run.

    Raises:
        CheckFailed: the answer is not a whole number between 1 and the
            number of epochs run.
    """
    ex = EXERCISES["best_epoch"]
    epochs = len(getattr(history, "history", {}).get("val_accuracy", []))
    if not isinstance(best_epoch, (int, np.integer)) or isinstance(best_epoch, bool):
        raise CheckFailed(ex, "best_epoch should be a whole number (an epoch, counted from 1).", found=best_epoch)
    if not 1 <= int(best_epoch) <= epochs:
        raise CheckFailed(
            ex,
            f"your run has epochs 1 to {epochs}; best_epoch is outside them.",
            found=int(best_epoch),
            hint="np.argmax gives an index counted from 0: add 1.",
        )
    passed(ex, f"an epoch of your {epochs}-epoch run (the hidden test reads your curve)")
