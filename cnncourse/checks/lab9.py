"""Checks for Lab 9, how deep networks are trained: inputs, optimisers, schedules, label smoothing.

The oracles are Keras itself, which cannot drift from what the course teaches:

* ``standardize`` against ``keras.layers.Normalization(axis=-1)`` adapted on the
  training set (in float64), with training and test sets drawn from different
  distributions, so statistics taken from the wrong set show;
* the three optimiser steps against ``keras.optimizers.SGD(momentum=...)``,
  ``keras.optimizers.RMSprop`` and ``keras.optimizers.Adam`` applied to a float64
  ``keras.Variable`` with the same gradients, step after step, two runs
  interleaved (so state kept anywhere but the returned dict shows);
* the race on the valley: made-up paths whose answers are known by
  construction, then the student's own paths read with the student's own
  (checked) helpers;
* ``cosine_decay`` against ``keras.optimizers.schedules.CosineDecay`` with
  ``warmup_target`` and ``warmup_steps``;
* label smoothing against ``keras.losses.CategoricalCrossentropy(label_smoothing=...)``:
  the smoothed labels are read back out of Keras's per-example losses, which
  are linear in them;
* ``make_optimizer`` by the learning rate its optimiser gives at each step,
  and a training check: a small CNN on digits trained with it under the
  budget ``lab9.optimizer``, graded against a calibrated bar.

No check contains a solution. Every function the student writes by hand runs
under :mod:`~cnncourse.checks.by_hand`: no Keras, TensorFlow or scikit-learn
inside it.
"""

from __future__ import annotations

import math

import numpy as np

from . import training
from .by_hand import NUMPY_ONLY, OWN_WORK, Forbidden, by_hand
from .core import CheckFailed, call, passed
from .hidden import hidden_for

LAB = "lab9-optimization"
EXERCISES = {
    "standardize": "Exercise 1 (standardize)",
    "sgd_momentum_step": "Exercise 2 (sgd_momentum_step)",
    "rmsprop_step": "Exercise 3 (rmsprop_step)",
    "adam_step": "Exercise 4 (adam_step)",
    "race": "Exercise 5 (steps_to_reach, valley_crossings, race)",
    "cosine_decay": "Exercise 6 (cosine_decay)",
    "label_smoothing": "Exercise 7 (smooth_labels, smoothed_cross_entropy)",
    "make_optimizer": "Exercise 8 (make_optimizer)",
    "momentum_gain": "Question 1 (momentum_gain)",
}
TRAINED = "Exercise 8 (a CNN trained with your optimiser)"

STATISTICS = Forbidden(
    "compute the statistics yourself with NumPy",
    modules=("tensorflow", "keras", "torch", "jax", "sklearn"),
    strict=True,
)
"""Standardisation: NumPy's mean and std, no Keras ``Normalization`` and no scikit-learn scaler."""

BY_HAND = {
    "standardize": STATISTICS,
    "sgd_momentum_step": NUMPY_ONLY,
    "rmsprop_step": NUMPY_ONLY,
    "adam_step": NUMPY_ONLY,
    "race": NUMPY_ONLY,
    "cosine_decay": NUMPY_ONLY,
    "label_smoothing": NUMPY_ONLY,
    "make_optimizer": OWN_WORK,
}
hidden = hidden_for(EXERCISES, BY_HAND)

DIGIT_SIZE = 16
KERAS_EPSILON = 1e-7
"""Keras's fuzz factor: the floor of a standard deviation, the clip of a probability."""


def _rng(seed):
    return np.random.default_rng(seed)


def _as_array(ex, value, shape, what, hint=None):
    if value is None:
        raise CheckFailed(ex, f"the {what} is None: did you forget to `return` it?")
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(ex, f"the {what} should be an array of numbers.", found=type(value).__name__) from None
    if value.shape != tuple(shape):
        raise CheckFailed(ex, f"the {what} has the wrong shape.", expected=tuple(shape), found=value.shape, hint=hint)
    return value


def _pair(ex, result, what):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(ex, f"the function should return a pair {what}.", found=type(result).__name__)
    return result


# --------------------------------------------------------------------------
# Exercise 1: standardisation
# --------------------------------------------------------------------------
def keras_standardized(x_train, x_test):
    """What ``keras.layers.Normalization(axis=-1)``, adapted on ``x_train``, makes of both sets.

    Args:
        x_train: the training set, shape ``(n, ..., channels)``.
        x_test: the test set, the same shape but for ``n``.

    Returns:
        ``(train, test)`` as float64 arrays.

    Example:
        >>> train, test = keras_standardized(np.arange(6.0).reshape(3, 2), np.ones((1, 2)))  # doctest: +SKIP
    """
    import keras

    layer = keras.layers.Normalization(axis=-1, dtype="float64")
    layer.adapt(np.asarray(x_train, dtype="float64"))
    return tuple(np.asarray(layer(np.asarray(x, dtype="float64")), dtype=float) for x in (x_train, x_test))


def _channel_stats(x):
    axes = tuple(range(x.ndim - 1))
    return x.mean(axis=axes), x.std(axis=axes)


def _standardised(x, axes=None):
    """Whether every channel of ``x`` (statistics over ``axes``, default all but the last) has mean 0 and std 1."""
    axes = tuple(range(x.ndim - 1)) if axes is None else axes
    mean, std = x.mean(axis=axes), x.std(axis=axes)
    varies = std > 1e-9
    return bool(np.allclose(mean, 0, atol=1e-6) and np.allclose(std[varies], 1, atol=1e-6))


def _standardize_hint(x_train, x_test, train, test, want_train):
    axes = tuple(range(train.ndim - 1))
    constant = np.all(np.abs(want_train) < 1e-6, axis=axes)  # features that never change: Keras makes them 0
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))) or (
        np.any(constant) and not np.allclose(train[..., constant], 0, atol=1e-6)
    ):
        return (
            "A feature that never changes in the training set has std 0 (or a rounding error's worth): divide "
            "by max(std, 1e-7), as Keras's Normalization layer does, so it becomes 0 (not nan, not noise)."
        )
    if _standardised(test):
        return (
            "Your test set has mean 0 and std 1 in every channel: its statistics came from the test set. "
            "Take the mean and std of x_train only, and apply those same numbers to both sets."
        )
    if _standardised(np.concatenate([train, test])):
        return (
            "Your two sets together have mean 0 and std 1: the statistics came from both sets. Take them from "
            "x_train only: the test set stands for data you have not seen yet."
        )
    if train.ndim > 2 and _standardised(train, axes=(0,)):
        return (
            "Every pixel was standardised on its own. Standardise each channel: average over every axis but "
            "the last (for images (n, h, w, c): axis=(0, 1, 2))."
        )
    if _standardised(train, axes=tuple(range(train.ndim))):
        return "One mean and std for the whole array: take one per channel (every axis but the last)."
    n, spread = len(x_train), _channel_stats(train)[1]
    if n > 1 and np.allclose(spread[spread > 1e-9], math.sqrt((n - 1) / n), rtol=1e-6):
        return "Use the population standard deviation (np.std's default, ddof=0), as Keras does."
    return "Subtract the training set's per-channel mean, then divide by its per-channel standard deviation."


def _standardize_cases(rng):
    cases = []
    # features on very different scales; the test set is drawn a little off (other offsets and spreads)
    d = int(rng.integers(4, 7))
    loc, scale = rng.uniform(-20, 50, d), 10 ** rng.uniform(-1, 1.5, d)
    x_tr = loc + scale * rng.normal(size=(int(rng.integers(150, 250)), d))
    x_te = loc + scale * (0.7 + rng.uniform(0.2, 0.8, d)) * (rng.normal(size=(int(rng.integers(40, 90)), d)) + 0.6)
    cases.append(("features (n, d)", x_tr, x_te))
    # colour images whose pixels differ in brightness across the image, so per-pixel statistics differ
    h, w, c = int(rng.integers(4, 8)), int(rng.integers(4, 8)), 3
    ramp = np.linspace(0, 1, h * w).reshape(h, w, 1)
    shift, spread = rng.uniform(0.2, 0.8, c), rng.uniform(0.05, 0.3, c)
    x_tr = shift + spread * rng.normal(size=(int(rng.integers(40, 70)), h, w, c)) + ramp
    x_te = 1.2 * shift + 1.5 * spread * rng.normal(size=(int(rng.integers(10, 30)), h, w, c)) + ramp
    cases.append(("colour images (n, h, w, 3)", x_tr, x_te))
    # a feature that never changes: std 0
    d = int(rng.integers(3, 6))
    x_tr = rng.normal(2.0, 3.0, size=(int(rng.integers(30, 60)), d))
    x_te = rng.normal(4.0, 1.0, size=(int(rng.integers(10, 20)), d))
    k = int(rng.integers(d))
    x_tr[:, k] = x_te[:, k] = float(rng.uniform(-3, 3))
    cases.append((f"features with a constant column ({k})", x_tr, x_te))
    # grey images, like the digits
    x_tr = rng.uniform(0, 1, size=(int(rng.integers(30, 60)), 8, 8, 1)) ** 2
    x_te = rng.uniform(0, 1, size=(int(rng.integers(10, 20)), 8, 8, 1)) ** 3
    cases.append(("grey images (n, 8, 8, 1)", x_tr, x_te))
    return cases


def check_standardize(standardize, seed=91):
    """Check ``standardize(x_train, x_test)`` against Keras's ``Normalization`` adapted on the training set.

    Args:
        standardize: the student's function, returning ``(x_train_std, x_test_std)``.
        seed: seed of the made-up data sets.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_standardize(standardize)  # doctest: +SKIP
        ✔ Exercise 1 (standardize): ...
    """
    ex = EXERCISES["standardize"]
    standardize = by_hand(ex, standardize, STATISTICS)
    cases = _standardize_cases(_rng(seed))
    for what, x_tr, x_te in cases:
        given = (x_tr.copy(), x_te.copy())
        result = _pair(ex, call(ex, standardize, *given), "(x_train_std, x_test_std)")
        if not (np.array_equal(given[0], x_tr) and np.array_equal(given[1], x_te)):
            raise CheckFailed(
                ex,
                "standardize changed the arrays it was given.",
                hint="Return new arrays: (x - mean) / std makes one.",
            )
        train = _as_array(ex, result[0], x_tr.shape, f"standardised training set ({what})")
        test = _as_array(ex, result[1], x_te.shape, f"standardised test set ({what})")
        want_train, want_test = keras_standardized(x_tr, x_te)
        for name, found, want in (("training", train, want_train), ("test", test, want_test)):
            if not np.allclose(found, want, rtol=1e-6, atol=1e-6):
                raise CheckFailed(
                    ex,
                    f"the standardised {name} set differs from Keras's Normalization layer "
                    f"adapted on the training set ({what}).",
                    expected=f"per-channel mean {np.round(_channel_stats(want)[0], 3)}, "
                    f"std {np.round(_channel_stats(want)[1], 3)}",
                    found=f"per-channel mean {np.round(_channel_stats(found)[0], 3)}, "
                    f"std {np.round(_channel_stats(found)[1], 3)}",
                    hint=_standardize_hint(x_tr, x_te, train, test, want_train),
                )
    passed(
        ex,
        f"matches keras.layers.Normalization adapted on the training set, on {len(cases)} data sets "
        "(features, colour and grey images, a constant feature)",
    )


# --------------------------------------------------------------------------
# Exercises 2 to 4: one optimiser step
# --------------------------------------------------------------------------
def keras_path(optimizer, w0, grads):
    """The weights after each step of a Keras optimiser fed ``grads``, from ``w0`` (float64).

    Args:
        optimizer: a fresh ``keras.optimizers.Optimizer``.
        w0: the starting weights (any shape).
        grads: a list of gradients, each of ``w0``'s shape.

    Returns:
        A list of arrays: the weights after step 1, 2, ...

    Example:
        >>> import keras  # doctest: +SKIP
        >>> keras_path(keras.optimizers.SGD(0.1), np.zeros(2), [np.ones(2)])[0]  # doctest: +SKIP
        array([-0.1, -0.1])
    """
    import keras

    var = keras.Variable(np.array(w0, dtype="float64"), dtype="float64")
    out = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(g, dtype="float64")), var)])
        out.append(np.array(var.numpy(), dtype=float))
    return out


def _keras_optimizer(kind, args):
    import keras

    if kind == "momentum":
        lr, momentum = args
        return keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
    if kind == "rmsprop":
        lr, rho, epsilon = args
        return keras.optimizers.RMSprop(learning_rate=lr, rho=rho, epsilon=epsilon)
    lr, beta_1, beta_2, epsilon = args
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


def _shape(rng):
    return tuple(int(v) for v in rng.integers(1, 5, size=int(rng.integers(1, 4))))


def _gradients(rng, shape, steps, zero=False):
    """Gradients whose coordinates differ in scale by a factor of up to 1000, with a sign flip halfway."""
    scale = 10 ** rng.uniform(-2, 1, size=shape)
    grads = [scale * rng.normal(size=shape) for _ in range(steps)]
    grads[steps // 2] = -3 * grads[steps // 2]
    if zero:  # a coordinate whose gradient is 0 for the first steps
        for g in grads[:3]:
            g.reshape(-1)[0] = 0.0
    return grads


def _optimizer_cases(kind, rng):
    """``(what, args, shape, steps, zero_gradient)`` cases; the last one has a large epsilon."""
    lr = float(rng.choice([0.01, 0.05, 0.1, 0.2])) * float(rng.uniform(0.5, 1.5))
    if kind == "momentum":
        args = [
            (lr, 0.9),
            (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.3, 0.8))),
            (float(rng.uniform(0.05, 0.5)), 0.0),
            (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.8, 0.99))),
        ]
    elif kind == "rmsprop":
        args = [
            (lr, 0.9, 1e-7),
            (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.3, 0.8)), 1e-7),
            (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.8, 0.99)), 1e-7),
            (float(rng.uniform(0.01, 0.3)), 0.9, float(rng.uniform(0.2, 1.0))),
        ]
    else:
        args = [
            (lr, 0.9, 0.999, 1e-7),
            (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.8, 0.95)), 1e-7),
            (float(rng.uniform(0.01, 0.3)), 0.9, 0.999, 1e-7),
            (float(rng.uniform(0.01, 0.3)), 0.9, 0.999, float(rng.uniform(0.2, 1.0))),
        ]
    cases = []
    for i, a in enumerate(args):
        cases.append((a, _shape(rng), int(rng.integers(6, 10)), kind != "momentum" and i == 2))
    return cases


def _momentum_hint(k, g, step, args):
    lr, momentum = args
    if k == 0:
        return "At the first step the velocity starts at 0, so w moves by exactly -lr * g."
    if momentum > 0 and np.allclose(step, -lr * g, rtol=1e-6, atol=1e-12):
        return (
            "Your step is plain SGD's (-lr * g): the velocity is missing. Keep it in the state you return "
            "and use it at the next step."
        )
    return (
        "The velocity decays by `momentum` and takes in -lr * g; the weights move by the velocity. "
        "Start it at 0 and keep it in the state you return."
    )


def _rmsprop_hint(k, g, step, args):
    if not np.all(np.isfinite(step)):
        return "A coordinate whose gradient has been 0 so far divides 0 by 0 unless epsilon is added first."
    return (
        "The running average s of the squared gradient starts at 0 and takes in (1 - rho) * g**2 each step; "
        "the step is -lr * g divided by the square root of (s + epsilon): Keras adds epsilon BEFORE the square "
        "root, not after it (which matters for tiny gradients and for a large epsilon)."
    )


def _adam_hint(k, g, step, args):
    lr, beta_1, beta_2, epsilon = args
    if not np.all(np.isfinite(step)):
        return "t counts the steps from 1: at the first step 1 - beta_1**t is 1 - beta_1, not 0."
    big = np.abs(g) > 1e-3
    if k == 0 and epsilon < 1e-3 and np.any(big):
        ratio = float(np.median(np.abs(step[big]) / lr))
        if abs(ratio - (1 - beta_1) / math.sqrt(1 - beta_2)) < 0.05 * ratio:
            return (
                "Your first step moves each coordinate by about (1 - beta_1) / sqrt(1 - beta_2) times lr: "
                "the bias correction is missing. With it, Adam's first step moves each coordinate by about lr."
            )
    return (
        "m and v start at 0 and are running averages of g and g**2 (weights beta_1 and beta_2); t counts the "
        "steps from 1. Keras folds both bias corrections into the step size alpha_t and adds epsilon to the "
        "square root of the UNCORRECTED v; adding it to the square root of the corrected v gives another step "
        "for tiny gradients or a large epsilon (see the lab's formula)."
    )


_KINDS = {
    "momentum": (
        "sgd_momentum_step",
        "keras.optimizers.SGD(learning_rate, momentum)",
        ("lr", "momentum"),
        _momentum_hint,
    ),
    "rmsprop": (
        "rmsprop_step",
        "keras.optimizers.RMSprop(learning_rate, rho, epsilon)",
        ("lr", "rho", "epsilon"),
        _rmsprop_hint,
    ),
    "adam": (
        "adam_step",
        "keras.optimizers.Adam(learning_rate, beta_1, beta_2, epsilon)",
        ("lr", "beta_1", "beta_2", "epsilon"),
        _adam_hint,
    ),
}


def _check_steps(kind, step_fn, seed):
    name, oracle, arg_names, hint = _KINDS[kind]
    ex = EXERCISES[name]
    step_fn = by_hand(ex, step_fn, NUMPY_ONLY)
    rng = _rng(seed)
    cases = _optimizer_cases(kind, rng)
    runs = []
    for args, shape, steps, zero in cases:
        w0 = rng.normal(size=shape)
        grads = _gradients(rng, shape, steps, zero)
        runs.append(
            {
                "args": args,
                "w": w0.copy(),
                "state": {},
                "grads": grads,
                "k": 0,
                "want": keras_path(_keras_optimizer(kind, args), w0, grads),
            }
        )
    # Two runs at a time, their steps interleaved: each run's state lives in its own dict.
    for first in range(0, len(runs), 2):
        pair = runs[first : first + 2]
        while any(r["k"] < len(r["grads"]) for r in pair):
            for r in pair:
                k = r["k"]
                if k >= len(r["grads"]):
                    continue
                args, g = r["args"], r["grads"][k]
                shown = ", ".join(f"{n}={v:.4g}" for n, v in zip(arg_names, args))
                case = f"step {k + 1} of a run with w of shape {np.shape(r['w'])}, {shown}"
                w_given, g_given = r["w"].copy(), g.copy()
                result = _pair(ex, call(ex, step_fn, w_given, g_given, r["state"], *args), "(w, state)")
                if not (np.array_equal(w_given, r["w"]) and np.array_equal(g_given, g)):
                    raise CheckFailed(
                        ex,
                        f"{name} changed the w or g it was given ({case}).",
                        hint="Return a new array (w - something makes one); do not use -= on w.",
                    )
                w_new = _as_array(ex, result[0], np.shape(r["w"]), f"new w ({case})")
                if not isinstance(result[1], dict):
                    raise CheckFailed(
                        ex, "the state should be a dict (the next step gets it back).", found=type(result[1]).__name__
                    )
                want = r["want"][k]
                if not np.allclose(w_new, want, rtol=1e-6, atol=1e-4 * args[0]):
                    gap = float(np.max(np.abs(w_new - want)))
                    raise CheckFailed(
                        ex,
                        f"the new w differs from {oracle}'s after {case} (by up to {gap:.2e}; "
                        f"the tolerance is {1e-4 * args[0]:.1e}).",
                        expected=want,
                        found=w_new,
                        hint=hint(k, g, w_new - r["w"], args),
                    )
                r["w"], r["state"], r["k"] = w_new, result[1], k + 1
    return ex, oracle, len(runs), sum(len(r["grads"]) for r in runs)


def check_sgd_momentum_step(sgd_momentum_step, seed=92):
    """Check ``sgd_momentum_step(w, g, state, lr, momentum)`` against ``keras.optimizers.SGD(momentum=...)``.

    Args:
        sgd_momentum_step: the student's function, returning ``(new_w, new_state)``.
        seed: seed of the starting points, gradients, shapes and hyperparameters.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_sgd_momentum_step(sgd_momentum_step)  # doctest: +SKIP
        ✔ Exercise 2 (sgd_momentum_step): ...
    """
    ex, oracle, runs, steps = _check_steps("momentum", sgd_momentum_step, seed)
    passed(ex, f"matches {oracle} step by step ({runs} runs, {steps} steps, momentum 0 included)")


def check_rmsprop_step(rmsprop_step, seed=93):
    """Check ``rmsprop_step(w, g, state, lr, rho, epsilon)`` against ``keras.optimizers.RMSprop``.

    Args:
        rmsprop_step: the student's function, returning ``(new_w, new_state)``.
        seed: seed of the starting points, gradients, shapes and hyperparameters.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_rmsprop_step(rmsprop_step)  # doctest: +SKIP
        ✔ Exercise 3 (rmsprop_step): ...
    """
    ex, oracle, runs, steps = _check_steps("rmsprop", rmsprop_step, seed)
    passed(
        ex, f"matches {oracle} step by step ({runs} runs, {steps} steps, a zero gradient and a large epsilon included)"
    )


def check_adam_step(adam_step, seed=94):
    """Check ``adam_step(w, g, state, lr, beta_1, beta_2, epsilon)`` against ``keras.optimizers.Adam``.

    Args:
        adam_step: the student's function, returning ``(new_w, new_state)``.
        seed: seed of the starting points, gradients, shapes and hyperparameters.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_adam_step(adam_step)  # doctest: +SKIP
        ✔ Exercise 4 (adam_step): ...
    """
    ex, oracle, runs, steps = _check_steps("adam", adam_step, seed)
    passed(
        ex, f"matches {oracle} step by step ({runs} runs, {steps} steps, a zero gradient and a large epsilon included)"
    )


# --------------------------------------------------------------------------
# Exercise 5: the race on the valley
# --------------------------------------------------------------------------
def made_up_path(rng, n, reach, crossings, tol, crossings_w1=None):
    """A path of ``n + 1`` points in 2-D whose answers are known by construction.

    Args:
        rng: a NumPy random generator.
        n: the number of steps (the path has ``n + 1`` rows, row 0 the start).
        reach: the first row within ``tol`` of the origin, or None for a path that never gets there.
        crossings: how many times the second coordinate changes sign from one row to the next.
        tol: the distance that counts as reaching the minimum.
        crossings_w1: how many times the first coordinate changes sign (default: another number).

    Returns:
        ``(path, last)``: an array of shape ``(n + 1, 2)`` and the last row within ``tol`` (None
        when there is none). Before ``reach`` some rows have one coordinate (or the quadratic loss)
        below ``tol`` while their distance is not; after it the path leaves and comes back.

    Example:
        >>> path, last = made_up_path(np.random.default_rng(0), 30, 12, 5, 0.1)
        >>> path.shape
        (31, 2)
    """
    rows = n + 1
    r = rng.uniform(1.3 * tol, 4.0, rows)
    last = None
    if reach is not None:
        r[reach] = rng.uniform(0.3, 0.9) * tol
        later = np.arange(reach + 1, rows)
        back = rng.random(len(later)) < 0.5
        r[later[back]] = rng.uniform(0.1, 0.9, int(back.sum())) * tol
        r[later[~back]] = rng.uniform(1.3 * tol, 2.0, int((~back).sum()))
        last = int(later[back][-1]) if back.any() else reach
    if crossings_w1 is None:
        crossings_w1 = (crossings + 1 + int(rng.integers(0, n // 2))) % n
    signs = []
    for count in (crossings_w1, crossings):
        flips = np.zeros(rows, dtype=bool)
        flips[1 + rng.choice(rows - 1, size=count, replace=False)] = True
        signs.append(np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0) * rng.choice([-1.0, 1.0]))
    angle = rng.uniform(0.15, np.pi / 2 - 0.15, rows)  # neither coordinate is 0
    early = [t for t in range(rows) if reach is None or t < reach]
    if len(early) >= 2:
        a, b = rng.choice(early, size=2, replace=False)
        angle[a] = np.pi / 2 - 0.005  # |w1| tiny, w far from the minimum along w2
        r[a] = max(r[a], 2 * tol)
        angle[b] = 0.02  # on the valley floor, where the loss is small
        r[b] = rng.uniform(1.3 * tol, 1.6 * tol)
    return np.stack([signs[0] * r * np.cos(angle), signs[1] * r * np.sin(angle)], axis=1), last


def _count(ex, value, name):
    """An int (or None) a helper returned, as a plain int for feedback."""
    if value is None:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise CheckFailed(ex, f"{name} should return an int.", found=type(value).__name__)
    return int(value)


def _reach_hint(found, want, last):
    if want is None:
        return "This path never gets within tol: return None."
    if found is None:
        return "This path does get within tol: return the row index where it first does."
    if found == want + 1:
        return "Count the rows from 0 (row 0 is the starting point)."
    if found == last:
        return "That is the LAST row within tol: return the first."
    if found < want:
        return (
            "Measure the Euclidean distance to the minimum (0, 0), both coordinates at once (not one "
            "coordinate, not the loss)."
        )
    return "Return the first row index t whose distance to the minimum at the origin is at most tol."


def check_race(steps_to_reach, valley_crossings, race, paths=None, tol=None, seed=95):
    """Check the three helpers of the race on made-up paths, then ``race`` on the student's own paths.

    Args:
        steps_to_reach: the student's ``steps_to_reach(path, tol)``: the first row within ``tol`` of the
            minimum at the origin, or None.
        valley_crossings: the student's ``valley_crossings(path)``: how often the second coordinate changes
            sign from one row to the next.
        race: the student's ``race(paths, tol)``: ``(fastest, most_oscillating)``, two keys of ``paths``.
        paths: the student's own ``{name: path}`` of the lab, or None.
        tol: the tolerance the lab uses on its own paths.
        seed: seed of the made-up paths.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_race(steps_to_reach, valley_crossings, race, paths, TOL)  # doctest: +SKIP
        ✔ Exercise 5 (steps_to_reach, valley_crossings, race): ...
    """
    ex = EXERCISES["race"]
    steps_to_reach, valley_crossings, race = (
        by_hand(ex, fn, NUMPY_ONLY) for fn in (steps_to_reach, valley_crossings, race)
    )
    rng = _rng(seed)
    for i in range(8):
        n, t = int(rng.integers(20, 60)), float(rng.uniform(0.05, 0.3))
        reach = None if i in (2, 6) else int(rng.integers(3, n - 2))
        crossings, crossings_w1 = (int(v) for v in rng.permutation(n // 2)[:2])
        path, last = made_up_path(rng, n, reach, crossings, t, crossings_w1)
        found = _count(ex, call(ex, steps_to_reach, path.copy(), t), "steps_to_reach (a row index) or None")
        if found != reach:
            raise CheckFailed(
                ex,
                f"steps_to_reach is wrong on a made-up path of {n} steps (tol={t:.3f}).",
                expected=reach,
                found=found,
                hint=_reach_hint(found, reach, last),
            )
        got = _count(ex, call(ex, valley_crossings, path.copy()), "valley_crossings")
        if got != crossings:
            hint = "Count the rows t where path[t, 1] and path[t + 1, 1] have opposite signs."
            if got == crossings_w1:
                hint = "The valley is narrow across the SECOND coordinate (w2): count its sign changes."
            raise CheckFailed(
                ex,
                f"valley_crossings is wrong on a made-up path of {n} steps.",
                expected=crossings,
                found=got,
                hint=hint,
            )
    for trial in range(4):
        t = float(rng.uniform(0.05, 0.3))
        names = [str(s) for s in rng.permutation(["alpha", "beta", "gamma", "delta"])]
        reaches = [None, int(rng.integers(5, 12)), int(rng.integers(14, 22)), int(rng.integers(24, 30))]
        cross = [int(c) for c in rng.permutation([2, 7, 12, 30])]
        if trial == 3:  # the path that zigzags most never arrives
            cross = [30, 7, 12, 2]
        fake = {name: made_up_path(rng, 40, reach, c, t)[0] for name, reach, c in zip(names, reaches, cross)}
        want = (names[1], names[int(np.argmax(cross))])
        got = call(ex, race, fake, t)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(ex, "race should return a pair (fastest, most_oscillating).", found=got)
        if tuple(got) != want:
            shown = {name: (reach, c) for name, reach, c in zip(names, reaches, cross)}
            hint = None
            if got[0] == names[0]:
                hint = "A path that never reaches the minimum (None) cannot be the fastest."
            raise CheckFailed(
                ex,
                f"race is wrong on made-up paths whose (steps to reach, crossings) are {shown} (tol={t:.3f}).",
                expected=want,
                found=tuple(got),
                hint=hint,
            )
    detail = "made-up paths"
    if paths:
        reach = {
            name: _count(ex, call(ex, steps_to_reach, np.asarray(p, dtype=float), tol), "steps_to_reach")
            for name, p in paths.items()
        }
        cross = {
            name: _count(ex, call(ex, valley_crossings, np.asarray(p, dtype=float)), "valley_crossings")
            for name, p in paths.items()
        }
        arrived = {name: s for name, s in reach.items() if s is not None}
        want = (min(arrived, key=arrived.get) if arrived else None, max(cross, key=cross.get))
        got = call(ex, race, dict(paths), tol)
        if not isinstance(got, (tuple, list)) or tuple(got) != want:
            raise CheckFailed(
                ex,
                f"on your own paths your helpers find steps to reach {reach} and crossings {cross}.",
                expected=want,
                found=got,
            )
        detail += f" and your own paths (steps to reach {reach}, crossings {cross})"
    passed(ex, f"correct on {detail}")


# --------------------------------------------------------------------------
# Exercise 6: a learning-rate schedule
# --------------------------------------------------------------------------
def keras_cosine_decay(step, peak_lr, warmup_steps, decay_steps, start_lr=0.0, alpha=0.0):
    """The rate ``keras.optimizers.schedules.CosineDecay`` gives at ``step`` (float64), with linear warm-up.

    Args:
        step: the optimiser step (0 first).
        peak_lr: the rate reached at the end of the warm-up (Keras's ``warmup_target``).
        warmup_steps: the length of the warm-up.
        decay_steps: the length of the cosine decay that follows it.
        start_lr: the rate at step 0 (Keras's ``initial_learning_rate``).
        alpha: the end of the decay, as a fraction of ``peak_lr``.

    Returns:
        A float.

    Example:
        >>> keras_cosine_decay(5, 0.1, 10, 90)  # doctest: +SKIP
        0.05
    """
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        np.float64(start_lr), decay_steps, alpha=alpha, warmup_target=np.float64(peak_lr), warmup_steps=warmup_steps
    )
    return float(schedule(step))


def check_cosine_decay(cosine_decay, seed=96):
    """Check ``cosine_decay(step, peak_lr, warmup_steps, decay_steps, start_lr, alpha)`` against Keras's ``CosineDecay``.

    Args:
        cosine_decay: the student's function of one step (an int), returning a float.
        seed: seed of the schedules' settings.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_cosine_decay(cosine_decay)  # doctest: +SKIP
        ✔ Exercise 6 (cosine_decay): ...
    """
    import keras

    ex = EXERCISES["cosine_decay"]
    cosine_decay = by_hand(ex, cosine_decay, NUMPY_ONLY)
    rng = _rng(seed)
    settings = [
        (0.1, 10, 90, 0.0, 0.0),
        (
            float(rng.uniform(1e-3, 1e-2)),
            int(rng.integers(3, 8)),
            int(rng.integers(15, 30)),
            float(rng.uniform(1e-5, 1e-4)),
            float(rng.uniform(0.05, 0.3)),
        ),
        (float(rng.uniform(0.1, 1.0)), 0, int(rng.integers(20, 40)), 0.0, 0.0),
        (
            float(rng.uniform(0.01, 0.1)),
            int(rng.integers(10, 20)),
            int(rng.integers(5, 12)),
            0.0,
            float(rng.uniform(0.0, 0.2)),
        ),
    ]
    for peak, warm, decay, start, alpha in settings:
        schedule = keras.optimizers.schedules.CosineDecay(
            np.float64(start), decay, alpha=alpha, warmup_target=np.float64(peak), warmup_steps=warm
        )
        shown = f"peak_lr={peak:.4g}, warmup_steps={warm}, decay_steps={decay}, start_lr={start:.3g}, alpha={alpha:.3g}"
        for step in range(warm + decay + 6):
            want = float(schedule(step))
            got = call(ex, cosine_decay, step, peak, warm, decay, start, alpha)
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise CheckFailed(ex, "cosine_decay should return a number.", found=got) from None
            if not math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-12):
                if step < warm:
                    hint = (
                        "During the warm-up the rate grows in a straight line from start_lr at step 0 to peak_lr "
                        "at step warmup_steps."
                    )
                    if math.isclose(got, peak, rel_tol=1e-6):
                        hint = "The warm-up is missing: " + hint[0].lower() + hint[1:]
                elif step <= warm + decay:
                    hint = (
                        "After the warm-up, the cosine goes from peak_lr (at step warmup_steps) down to "
                        "alpha * peak_lr over decay_steps: count its steps from the end of the warm-up."
                    )
                else:
                    hint = "After warmup_steps + decay_steps the rate stays at alpha * peak_lr."
                raise CheckFailed(
                    ex,
                    f"the rate at step {step} differs from keras.optimizers.schedules.CosineDecay's ({shown}).",
                    expected=want,
                    found=got,
                    hint=hint,
                )
    passed(
        ex,
        f"matches keras.optimizers.schedules.CosineDecay at every step of {len(settings)} schedules (with "
        "and without warm-up, past the end of the decay)",
    )


# --------------------------------------------------------------------------
# Exercise 7: label smoothing
# --------------------------------------------------------------------------
def _keras_per_example(y, p, epsilon):
    import keras

    loss = keras.losses.CategoricalCrossentropy(label_smoothing=epsilon, reduction=None, dtype="float64")
    return np.asarray(loss(np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")), dtype=float)


def keras_smoothed_labels(y, epsilon, seed=0):
    """The smoothed targets ``keras.losses.CategoricalCrossentropy(label_smoothing=epsilon)`` compares with.

    The loss of one example is linear in its target, ``-sum_k target_k log p_k``: measured for as many
    random predictions as there are classes, the target is the solution of a linear system.

    Args:
        y: one-hot labels, shape ``(n, k)``.
        epsilon: the label smoothing.
        seed: seed of the random predictions.

    Returns:
        An array of shape ``(n, k)``.

    Example:
        >>> keras_smoothed_labels(np.eye(3)[[0]], 0.3).round(3)  # doctest: +SKIP
        array([[0.8, 0.1, 0.1]])
    """
    y = np.asarray(y, dtype=float)
    n, k = y.shape
    rng = _rng(seed)
    probs = [rng.dirichlet(np.ones(k), size=n) * 0.98 + 0.02 / k for _ in range(k)]
    losses = np.stack([_keras_per_example(y, p, epsilon) for p in probs], axis=1)  # (n, k trials)
    logs = -np.log(np.stack(probs, axis=1))  # (n, trials, classes)
    return np.stack([np.linalg.solve(logs[i], losses[i]) for i in range(n)])


def _label_cases(rng):
    cases = []
    for k, eps in (
        (10, 0.1),
        (int(rng.integers(3, 6)), float(rng.uniform(0.2, 0.5))),
        (4, 0.0),
        (int(rng.integers(6, 12)), 1.0),
    ):
        n = int(rng.integers(4, 9))
        y = np.eye(k)[rng.integers(0, k, n)]
        cases.append((k, eps, y))
    return cases


def check_label_smoothing(smooth_labels, smoothed_cross_entropy, seed=97):
    """Check ``smooth_labels(y, epsilon)`` and ``smoothed_cross_entropy(y, p, epsilon)`` against Keras.

    Args:
        smooth_labels: the student's function: one-hot ``y`` of shape ``(n, k)`` to smoothed targets.
        smoothed_cross_entropy: the student's function: the mean over examples of the cross-entropy
            between the smoothed targets and the predicted probabilities ``p``.
        seed: seed of the labels, predictions and settings.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_label_smoothing(smooth_labels, smoothed_cross_entropy)  # doctest: +SKIP
        ✔ Exercise 7 (smooth_labels, smoothed_cross_entropy): ...
    """
    ex = EXERCISES["label_smoothing"]
    smooth_labels, smoothed_cross_entropy = (
        by_hand(ex, fn, NUMPY_ONLY) for fn in (smooth_labels, smoothed_cross_entropy)
    )
    rng = _rng(seed)
    cases = _label_cases(rng)
    for k, eps, y in cases:
        given = y.copy()
        found = _as_array(ex, call(ex, smooth_labels, given, eps), y.shape, f"smoothed labels (k={k}, epsilon={eps:g})")
        if not np.array_equal(given, y):
            raise CheckFailed(ex, "smooth_labels changed the labels it was given.", hint="Return a new array.")
        want = keras_smoothed_labels(y, eps, seed=int(rng.integers(1 << 30)))
        if not np.allclose(found, want, atol=1e-7):
            hint = "Keras takes 1 - epsilon of the one-hot label and spreads epsilon evenly over all k classes."
            true = found[y == 1]
            if eps > 0 and np.allclose(true, 1 - eps) and np.allclose(found[y == 0], eps / (k - 1)):
                hint = (
                    "You spread epsilon over the k - 1 wrong classes. Keras spreads it over all k classes, "
                    "the true one included: the true class gets 1 - epsilon + epsilon / k."
                )
            elif not np.allclose(found.sum(axis=1), 1.0):
                hint = "Each row of smoothed labels must still sum to 1. " + hint
            raise CheckFailed(
                ex,
                f"the smoothed labels differ from the targets keras.losses.CategoricalCrossentropy"
                f"(label_smoothing={eps:g}) uses, for {k} classes.",
                expected=want[:2].round(6),
                found=found[:2].round(6),
                hint=hint,
            )
    for i, (k, eps, y) in enumerate(cases):
        p = rng.dirichlet(np.ones(k) * 0.7, size=len(y))
        if i == 1:  # a prediction that is exactly 0 for one class: finite loss after Keras's clipping
            p[0] = np.eye(k)[int(np.argmax(y[0]))]
        if i == 2:
            p[-1] = np.full(k, 1.0 / k)
        want = float(np.mean(_keras_per_example(y, p, eps)))
        got = call(ex, smoothed_cross_entropy, y.copy(), p.copy(), eps)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(
                ex, "smoothed_cross_entropy should return one number (the mean over examples).", found=got
            ) from None
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            hint = "Average over the examples -sum_k target_k * log(p_k), with the smoothed targets."
            if not math.isfinite(got):
                hint = (
                    "A predicted probability of exactly 0 meets a smoothed target above 0: clip p to "
                    f"[{KERAS_EPSILON:g}, 1 - {KERAS_EPSILON:g}] before the log, as Keras does."
                )
            elif math.isclose(got, want * len(y), rel_tol=1e-6):
                hint = "That is the sum over the examples: return their mean."
            elif eps > 0 and math.isclose(got, float(np.mean(_keras_per_example(y, p, 0.0))), rel_tol=1e-6):
                hint = "That is the cross-entropy of the one-hot labels: use the smoothed labels."
            raise CheckFailed(
                ex,
                f"the loss differs from keras.losses.CategoricalCrossentropy(label_smoothing={eps:g}) "
                f"for {len(y)} examples of {k} classes"
                f"{' (one prediction is exactly 0 for some classes)' if i == 1 else ''}.",
                expected=want,
                found=got,
                hint=hint,
            )
    passed(
        ex,
        f"smoothed labels and loss match keras.losses.CategoricalCrossentropy on {len(cases)} cases "
        "(epsilon 0 and 1 included, a probability of exactly 0 included)",
    )


# --------------------------------------------------------------------------
# Exercise 8: an optimiser with a schedule, and a CNN trained with it
# --------------------------------------------------------------------------
def learning_rates(optimizer, steps):
    """The learning rate a Keras optimiser uses at each of ``steps`` (read by setting its step counter).

    Args:
        optimizer: a ``keras.optimizers.Optimizer``, with a constant rate or a schedule.
        steps: the steps to read, a sequence of ints.

    Returns:
        An array of floats; the optimiser's step counter is put back as it was.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> learning_rates(keras.optimizers.SGD(0.1), [0, 10])  # doctest: +SKIP
        array([0.1, 0.1])
    """
    before = int(np.asarray(optimizer.iterations))
    out = []
    try:
        for step in steps:
            optimizer.iterations.assign(int(step))
            out.append(float(np.asarray(optimizer.learning_rate)))
    finally:
        optimizer.iterations.assign(before)
    return np.array(out)


def _optimizer(ex, make_optimizer, steps):
    import keras

    opt = call(ex, make_optimizer, steps)
    if opt is None:
        raise CheckFailed(ex, "make_optimizer returned None: did you forget to `return` the optimiser?")
    if not isinstance(opt, keras.optimizers.Optimizer):
        raise CheckFailed(
            ex,
            "make_optimizer should return a Keras optimiser.",
            expected="keras.optimizers.Optimizer (Adam, SGD...)",
            found=type(opt).__name__,
        )
    if int(np.asarray(opt.iterations)) != 0:
        raise CheckFailed(
            ex,
            "the optimiser has taken steps already: make a new one on every call.",
            found=f"{int(np.asarray(opt.iterations))} steps taken",
        )
    return opt


def check_make_optimizer(make_optimizer, steps=(100, 1000)):
    """Check that ``make_optimizer(steps)`` returns a fresh Keras optimiser whose rate warms up, then decays over ``steps``.

    Args:
        make_optimizer: the student's function.
        steps: the run lengths to try.

    Returns:
        None; prints a ✔ line, or raises :class:`~cnncourse.checks.CheckFailed`.

    Example:
        >>> check_make_optimizer(make_optimizer)  # doctest: +SKIP
        ✔ Exercise 8 (make_optimizer): ...
    """
    ex = EXERCISES["make_optimizer"]
    make_optimizer = by_hand(ex, make_optimizer, OWN_WORK)
    shown = []
    for n in steps:
        opt = _optimizer(ex, make_optimizer, n)
        if _optimizer(ex, make_optimizer, n) is opt:
            raise CheckFailed(ex, "two calls returned the same optimiser: make a new one on every call.")
        grid = np.unique(np.linspace(0, n, 41).astype(int))
        rates = learning_rates(opt, grid)
        peak = float(rates.max())
        if not np.all(np.isfinite(rates)) or peak <= 0:
            raise CheckFailed(ex, f"the learning rate should be positive (steps={n}).", found=rates[:5])
        at = dict(zip(grid.tolist(), rates.tolist()))
        if at[0] > 0.5 * peak:
            raise CheckFailed(
                ex,
                f"the rate should warm up: at step 0 it is {at[0]:.3g}, its peak is {peak:.3g} (steps={n}).",
                expected="at most half the peak at step 0",
                found=at[0],
                hint="Give the optimiser a schedule with a warm-up (warmup_target, warmup_steps).",
            )
        half = grid[np.argmin(np.abs(grid - n // 2))]
        if at[half] < 0.2 * peak:
            raise CheckFailed(
                ex,
                f"half-way through a run of {n} steps the rate has almost decayed already.",
                expected=f"at least {0.2 * peak:.3g}",
                found=at[half],
                hint="Decay over the steps you are given: warm-up and decay together last `steps`.",
            )
        if at[n] > 0.1 * peak:
            raise CheckFailed(
                ex,
                f"at the end of a run of {n} steps the rate should have decayed.",
                expected=f"at most {0.1 * peak:.3g}",
                found=at[n],
                hint="Warm-up plus decay should last exactly the `steps` you are given.",
            )
        shown.append(f"{n} steps: peak {peak:.3g} at step {int(grid[np.argmax(rates)])}")
    passed(ex, f"a fresh {type(opt).__name__} whose rate warms up and decays over the run ({'; '.join(shown)})")


def digits(size=DIGIT_SIZE):
    """The digits the training check uses: scikit-learn's 8x8 digits resized to ``size``.

    Args:
        size: the side of the resized images.

    Returns:
        ``(images, labels)``: ``(1797, size, size, 1)`` floats in [0, 1] and ints.

    Example:
        >>> x, y = digits()  # doctest: +SKIP
    """
    from cnncourse.data import load_digits

    return load_digits(size=size, return_X_y=True)


def measure_optimizer(make_optimizer, seed=training.CHECK_SEED, profile=None, exercise=TRAINED):
    """Train the course's small CNN with ``make_optimizer(steps)`` under ``lab9.optimizer``; held-out accuracy.

    The network (:func:`cnncourse.models.small.small_cnn`), the loss (sparse categorical
    cross-entropy) and the data are fixed: only the optimiser and its schedule are the student's.

    Args:
        make_optimizer: the student's function; it is given the run's number of optimiser steps.
        seed: the seed of the split, the weights and the shuffle.
        profile: the profile whose budget applies (default: the active one).
        exercise: the exercise's name in feedback.

    Returns:
        A :class:`~cnncourse.checks.training.TrainResult`.

    Example:
        >>> measure_optimizer(make_optimizer).accuracy  # doctest: +SKIP
        0.95
    """
    import time

    from cnncourse.data import build_pipeline
    from cnncourse.models.small import small_cnn
    from cnncourse.runtime import budget, build_for_fit, set_seed

    b = budget("lab9.optimizer", profile)
    x, y = digits()
    (x_tr, y_tr), (x_te, y_te) = training.split_for_check(x, y, b, seed=seed)
    model = training.build(
        exercise,
        small_cnn,
        (DIGIT_SIZE, DIGIT_SIZE, 1),
        10,
        seed=seed,
        input_shape=(DIGIT_SIZE, DIGIT_SIZE, 1),
        num_classes=10,
    )
    steps = b.epochs * -(-len(x_tr) // b.batch_size)
    set_seed(seed)
    opt = _optimizer(exercise, by_hand(exercise, make_optimizer, OWN_WORK), steps)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = build_pipeline(x_tr, y_tr, batch_size=b.batch_size, training=True, seed=seed)
    build_for_fit(model, data)  # the training step is traced once, not twice; the same numbers
    start = time.perf_counter()
    history = model.fit(data, epochs=b.epochs, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return training.TrainResult(
        model=model,
        history=dict(history.history),
        accuracy=training.accuracy(model, x_te, y_te),
        train_accuracy=training.accuracy(model, x_tr, y_tr),
        seconds=seconds,
        seed=seed,
        n_train=len(y_tr),
        n_test=len(y_te),
    )


def check_optimizer_training(make_optimizer):
    """Train the small CNN with the student's optimiser (seed 0) and report held-out accuracy against the bar.

    Args:
        make_optimizer: the student's function.

    Returns:
        The held-out accuracy, which the graded cell turns into points.

    Example:
        >>> accuracy = check_optimizer_training(make_optimizer)  # doctest: +SKIP
    """
    from cnncourse.runtime import budget

    res = measure_optimizer(make_optimizer)
    steps = budget("lab9.optimizer").epochs * -(-res.n_train // budget("lab9.optimizer").batch_size)
    return training.report(
        TRAINED,
        f"held-out accuracy after {res.n_train} training digits ({steps} steps)",
        res.accuracy,
        LAB,
        "optimizer",
        seconds=res.seconds,
    )


def check_momentum_gain(momentum_gain):
    """Check the form of Question 1's answer (the hidden test checks its value).

    Args:
        momentum_gain: the student's last step over first step, for 200
            steps of ``sgd_momentum_step`` with a constant gradient.

    Returns:
        None; prints a ✔ line when the answer is a ratio of step sizes.

    Raises:
        CheckFailed: it is not a number, or is below 1 (with a gradient that
            keeps its sign, momentum never makes a step smaller).
    """
    ex = EXERCISES["momentum_gain"]
    if isinstance(momentum_gain, bool) or not isinstance(momentum_gain, (int, float, np.integer, np.floating)):
        raise CheckFailed(ex, "momentum_gain should be a number (a ratio of two step sizes).", found=momentum_gain)
    if not float(momentum_gain) >= 1.0 - 1e-6:  # rounding: a gain of exactly 1 may come out a hair below
        raise CheckFailed(
            ex,
            "with a gradient that keeps its sign, the velocity only grows: the last step cannot be smaller "
            "than the first.",
            found=momentum_gain,
            hint="Divide the size of the last step (|new w - w|) by the size of the first, not the other way.",
        )
    passed(ex, "a ratio of step sizes (the hidden test checks its value)")
