"""Checks for Lab 3, initialisation, backpropagation, dropout and batch normalisation.

The oracles:

* initialisers are judged by statistics of many samples: the sample
  variance must be within 5 standard errors of the formula's variance (the
  standard error of a sample variance of N values is
  ``sigma^2 * sqrt((kurtosis - 1) / N)``: ``sqrt(0.8 / N)`` relative for a
  uniform, ``sqrt(2 / N)`` for a normal distribution), the shape of the
  distribution by its kurtosis, and the signal through a deep stack of
  layers by its mean square staying within a factor of 8;
* backward passes are compared with ``tf.GradientTape`` on TensorFlow's own
  convolution and pooling in float64 (relative error below 1e-7) and with
  centred finite differences through the forward pass the notebook supplies
  (relative error below 1e-6);
* the count of a convolution's backward products (exercise 4) is a
  prediction: the visible check wants a positive whole number, the hidden
  test the count itself, on layers the check never shows;
* dropout is judged by its properties: the fraction dropped (within 5
  standard errors of p), the inverted scaling, the identity at test time;
  its backward pass by the mask its own forward pass drew and by finite
  differences through that forward pass (the same random state gives the
  same mask);
* the overfitting gap is checked on made-up histories whose gap is known by
  construction, and the answer to "which overfits?" must follow from it;
* batch normalisation's forward pass is compared, step after step, with
  ``keras.layers.BatchNormalization`` in float64 holding the same weights,
  momentum and epsilon: the outputs in training and in inference mode and
  the running averages (within 1e-7 relative, 1e-9 absolute); its backward pass with ``tf.GradientTape``
  on ``tf.nn.batch_normalization`` in float64 (relative error below 1e-7)
  and with centred finite differences through the student's forward pass
  (below 1e-5: the layer is not linear, so the difference quotient is
  itself off by about h^2);
* the batch-norm experiment's builder is compared layer by layer with its
  specification, and "which network trains?" is checked on made-up
  histories whose answer is known by construction, then on the student's
  own runs.

No check contains a solution: the forward passes of exercises 2 and 3 come
from the notebook, and wrong answers are recognised by what they produce (a
property of the output, or what Keras gives with a setting turned the wrong
way), not by re-computing them. The initialisers, the backward passes, dropout and batch
normalisation are done by hand (:mod:`~cnncourse.checks.by_hand`): no Keras
initialiser or layer, no ``tf.GradientTape``, inside the student's functions.
"""

from __future__ import annotations

import math

import numpy as np

from .by_hand import GRADIENTS, NUMPY_ONLY, OWN_WORK, by_hand
from .core import CheckFailed, NotAttempted, call, expect_raises, passed
from .hidden import hidden_for

EXERCISES = {
    "initialisers": "Exercise 1 (xavier_uniform, he_normal)",
    "conv2d_backward": "Exercise 2 (conv2d_backward)",
    "pool2d_backward": "Exercise 3 (pool2d_backward)",
    "backward_products": "Exercise 4 (backward_products)",
    "dropout_forward": "Exercise 5 (dropout_forward)",
    "dropout_backward": "Exercise 6 (dropout_backward)",
    "build_net": "Exercise 7 (build_net)",
    "overfit_gap": "Exercise 8 (overfit_gap, which_overfits)",
    "batchnorm_forward": "Exercise 9 (batchnorm_forward)",
    "batchnorm_backward": "Exercise 10 (batchnorm_backward)",
    "build_deep_cnn": "Exercise 11 (build_deep_cnn)",
    "which_trains": "Exercise 12 (epochs_to_reach, which_trains)",
}
BY_HAND = {
    "initialisers": NUMPY_ONLY,
    "conv2d_backward": GRADIENTS,
    "pool2d_backward": GRADIENTS,
    "dropout_forward": NUMPY_ONLY,
    "dropout_backward": GRADIENTS,
    "overfit_gap": OWN_WORK,
    "batchnorm_forward": NUMPY_ONLY,
    "batchnorm_backward": GRADIENTS,
    "which_trains": OWN_WORK,
}
hidden = hidden_for(EXERCISES, BY_HAND)

TF_TOL = 1e-7
NUMERIC_TOL = 1e-6
BN_NUMERIC_TOL = 1e-5
"""Batch normalisation is not linear: the centred difference is off by about h^2 (1e-10) times its third
derivative, which the relative error of small entries magnifies (a right answer stays below 1e-6)."""
KERAS_ATOL = 1e-9
"""Batch normalisation against Keras in float64: both compute the same formulas in another order."""
N_SIGMA = 5.0


def _rng(seed):
    return np.random.default_rng(seed)


def rel_error(a, b, floor=1e-12):
    """Largest elementwise relative error ``|a - b| / max(floor, |a| + |b|)``.

    Args:
        a: an array.
        b: the array it should equal.
        floor: the smallest denominator. Finite differences carry a rounding
            error of about 1e-10 on every entry, so an entry near zero would
            show a large relative error: compared with them, the floor is a
            thousandth of the gradient's scale.

    Returns:
        A float.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b)))) if a.size else 0.0


def _array(ex, value, shape, what, hint=None):
    if value is None:
        raise CheckFailed(ex, f"the {what} is None: did you forget to `return` it?")
    value = np.asarray(value, dtype=float)
    if value.shape != tuple(shape):
        raise CheckFailed(ex, f"the {what} has the wrong shape.", expected=tuple(shape), found=value.shape, hint=hint)
    return value


# --------------------------------------------------------------------------
# Exercise 1: initialisation
# --------------------------------------------------------------------------
def _kurtosis(w):
    w = w - w.mean()
    return float(np.mean(w**4) / np.mean(w**2) ** 2)


def signal_through_stack(init, activation, layers=20, width=256, n=500, seed=0):
    """Mean square of the pre-activations of each layer of a deep stack, relative to the first layer.

    ``init(n_in, n_out, rng)`` gives each weight matrix; ``activation`` is
    ``"linear"``, ``"relu"`` or ``"tanh"``.
    """
    act = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh}[activation]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width))
    out = []
    for _ in range(layers):
        x = x @ np.asarray(init(width, width, rng), dtype=float)
        out.append(float(np.mean(x**2)))
        x = act(x)
    out = np.array(out)
    return out / out[0] if out[0] > 0 else out


def _check_initialiser(ex, init, name, variance, kurtosis, kind, activation, bound=None, seed=0):
    rng = _rng(seed)
    for n_in, n_out in [(300, 100), (64, 512), (256, 256), (1000, 50), (20, 1500)]:
        w = call(ex, init, n_in, n_out, np.random.default_rng(rng.integers(1 << 31)))
        w = _array(
            ex,
            w,
            (n_in, n_out),
            f"weight matrix of {name}({n_in}, {n_out}, rng)",
            hint="Return an array of shape (n_in, n_out).",
        )
        n = w.size
        target = variance(n_in, n_out)
        se = target * math.sqrt((kurtosis - 1) / n)
        mean_se = math.sqrt(target / n)
        if abs(w.mean()) > N_SIGMA * mean_se:
            raise CheckFailed(ex, f"{name}({n_in}, {n_out}) should have mean 0.", expected=0.0, found=float(w.mean()))
        var = float(w.var())
        if abs(var - target) > N_SIGMA * se:
            hint = None
            if math.isclose(var, variance(n_in, n_in), rel_tol=0.05) or math.isclose(var, 2 / n_in, rel_tol=0.05):
                hint = "Check which of n_in and n_out the formula uses."
            raise CheckFailed(
                ex,
                f"the sample variance of {name}({n_in}, {n_out}) is off by more than "
                f"{N_SIGMA:g} standard errors ({N_SIGMA * se:.2e}) of the formula's.",
                expected=target,
                found=var,
                hint=hint
                or (
                    "For U(-a, a) the variance is a^2 / 3."
                    if kind == "uniform"
                    else "numpy's normal takes the standard deviation, not the variance."
                ),
            )
        k = _kurtosis(w)
        if abs(k - kurtosis) > 0.4:
            raise CheckFailed(
                ex,
                f"the values of {name} do not look {kind} (kurtosis {k:.2f}, a {kind} "
                f"distribution has {kurtosis:.1f}).",
                hint="rng.uniform(low, high, size=...)" if kind == "uniform" else "rng.normal(0, std, size=...)",
            )
        if bound is not None and np.abs(w).max() > bound(n_in, n_out) + 1e-12:
            raise CheckFailed(
                ex,
                f"{name}({n_in}, {n_out}) has values outside [-a, a].",
                expected=bound(n_in, n_out),
                found=float(np.abs(w).max()),
            )
    a = call(ex, init, 40, 30, np.random.default_rng(123))
    b = call(ex, init, 40, 30, np.random.default_rng(123))
    c = call(ex, init, 40, 30, np.random.default_rng(124))
    if not np.array_equal(np.asarray(a), np.asarray(b)) or np.array_equal(np.asarray(a), np.asarray(c)):
        raise CheckFailed(
            ex,
            f"{name} should draw its numbers from the `rng` it is given.",
            hint="Use rng.uniform / rng.normal, not np.random.*: the same rng state must give the same weights.",
        )
    ratios = signal_through_stack(init, activation)
    # A right scale wanders by chance (a random walk of 20 layer gains: ratios from 0.18 to 5.2 over 600
    # draws); a wrong one (Xavier's or LeCun's variance under ReLU) is off by orders of magnitude.
    if not (1 / 8 <= ratios.min() and ratios.max() <= 8.0):
        raise CheckFailed(
            ex,
            f"through 20 layers ({activation}) with {name}, the signal's mean square should stay "
            "within a factor of 8 of the first layer's.",
            expected="between 1/8 and 8",
            found=f"from {ratios.min():.3g} to {ratios.max():.3g}",
        )
    return ratios


def check_initialisers(xavier_uniform, he_normal, seed=30):
    """``xavier_uniform(n_in, n_out, rng)`` and ``he_normal(n_in, n_out, rng)`` by their statistics."""
    ex = EXERCISES["initialisers"]
    xavier_uniform, he_normal = (by_hand(ex, fn, NUMPY_ONLY) for fn in (xavier_uniform, he_normal))
    _check_initialiser(
        ex,
        xavier_uniform,
        "xavier_uniform",
        lambda i, o: 2.0 / (i + o),
        1.8,
        "uniform",
        "linear",
        bound=lambda i, o: math.sqrt(6.0 / (i + o)),
        seed=seed,
    )
    _check_initialiser(ex, he_normal, "he_normal", lambda i, o: 2.0 / i, 3.0, "normal", "relu", seed=seed + 1)
    passed(
        ex,
        f"sample variances within {N_SIGMA:g} standard errors of the formulas, the right "
        "distributions, and a steady signal through 20 layers",
    )


# --------------------------------------------------------------------------
# Exercises 2 and 3: backward passes
# --------------------------------------------------------------------------
def _numeric_grad(f, x, h=1e-5):
    """Centred finite differences of the scalar function f at x (x is modified and restored)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _tf_conv_grads(x, w, b, stride, pad, dout):
    import tensorflow as tf

    tx, tw, tb = (tf.Variable(v, dtype=tf.float64) for v in (x, w, b))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(tx, tw, strides=stride, padding=[[0, 0], [pad, pad], [pad, pad], [0, 0]]) + tb
        loss = tf.reduce_sum(y * tf.constant(dout))
    return [g.numpy() for g in tape.gradient(loss, [tx, tw, tb])]


def _forward(ex, forward, *args):
    try:
        out, cache = forward(*args)
    except NotImplementedError:
        raise NotAttempted(ex, "the forward pass cell was changed: run the locked cell that defines it.") from None
    return np.asarray(out, dtype=float), cache


def _compare_grads(ex, names, got, expected, tol, oracle, case, hints):
    numeric = oracle.startswith("finite differences")
    for name, g, e in zip(names, got, expected):
        scale = float(np.max(np.abs(e))) if np.size(e) else 0.0
        err = rel_error(g, e, floor=max(1e-12, 1e-3 * scale) if numeric else 1e-12)
        if err > tol:
            raise CheckFailed(
                ex,
                f"{name} differs from {oracle} for {case}: relative error {err:.2e} (the limit is {tol:g}).",
                expected=e,
                found=g,
                hint=hints.get(name),
            )


def check_conv2d_backward(conv2d_backward, conv2d_forward, seed=31):
    """``conv2d_backward(dout, cache) -> (dx, dw, db)`` against ``tf.GradientTape`` and finite differences."""
    ex = EXERCISES["conv2d_backward"]
    conv2d_backward = by_hand(ex, conv2d_backward, GRADIENTS)
    rng = _rng(seed)
    hints = {
        "dx": "dx is a full convolution of dout with the filters: add w * dout into every window the "
        "forward pass read, then cut the padding off.",
        "dw": "dw[a, b, c, k] sums x_pad[n, i*S + a, j*S + b, c] * dout[n, i, j, k] over n, i, j: mind the stride.",
        "db": "db[k] sums dout over the batch and both spatial axes.",
    }
    cases = [
        ((2, 5, 5, 1), (3, 2), 1, 0),
        ((2, 6, 6, 3), (3, 4), 1, 1),
        ((1, 7, 7, 2), (3, 3), 2, 0),
        ((2, 8, 7, 2), (2, 3), 2, 1),
        ((1, 9, 9, 3), (5, 2), 2, 2),
        ((3, 4, 4, 2), (1, 3), 1, 0),
        ((2, 6, 5, 2), (2, 2), 3, 0),
    ]  # the last row is read by no window: its gradient is 0
    for (n, h, w_, c), (f, k), stride, pad in cases:
        x = rng.normal(size=(n, h, w_, c))
        w = rng.normal(size=(f, f, c, k))
        b = rng.normal(size=(k,))
        out, cache = _forward(ex, conv2d_forward, x, w, b, stride, pad)
        dout = rng.normal(size=out.shape)
        res = call(ex, conv2d_backward, dout, cache)
        if res is None or len(res) != 3:
            raise CheckFailed(ex, "conv2d_backward should return the tuple (dx, dw, db).", found=res)
        dx = _array(ex, res[0], x.shape, "dx", hint="dx has the shape of x (without the padding).")
        dw = _array(ex, res[1], w.shape, "dw", hint="dw has the shape of w.")
        db = _array(ex, res[2], b.shape, "db", hint="db has one value per filter: sum over N, H and W.")
        case = f"x{x.shape}, w{w.shape}, stride={stride}, pad={pad}"
        _compare_grads(
            ex,
            ["dx", "dw", "db"],
            [dx, dw, db],
            _tf_conv_grads(x, w, b, stride, pad, dout),
            TF_TOL,
            "tf.GradientTape (float64)",
            case,
            hints,
        )
    # Finite differences through the notebook's own forward pass, on a small case.
    x = rng.normal(size=(2, 5, 5, 2))
    w = rng.normal(size=(3, 3, 2, 2))
    b = rng.normal(size=(2,))
    out, cache = _forward(ex, conv2d_forward, x, w, b, 2, 1)
    dout = rng.normal(size=out.shape)
    dx, dw, db = call(ex, conv2d_backward, dout, cache)

    def loss():
        return float(np.sum(_forward(ex, conv2d_forward, x, w, b, 2, 1)[0] * dout))

    numeric = [_numeric_grad(loss, v) for v in (x, w, b)]
    _compare_grads(
        ex,
        ["dx", "dw", "db"],
        [dx, dw, db],
        numeric,
        NUMERIC_TOL,
        "finite differences",
        "x(2, 5, 5, 2), w(3, 3, 2, 2), stride=2, pad=1",
        hints,
    )
    passed(
        ex,
        f"dx, dw, db match tf.GradientTape (relative error < {TF_TOL:g}) on {len(cases)} cases "
        f"and finite differences (< {NUMERIC_TOL:g})",
    )


def _tf_pool_grad(x, size, stride, mode, dout):
    import tensorflow as tf

    tx = tf.Variable(x, dtype=tf.float64)
    op = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(op(tx, ksize=size, strides=stride, padding="VALID") * tf.constant(dout))
    return tape.gradient(loss, tx).numpy()


def check_pool2d_backward(pool2d_backward, pool2d_forward, seed=32):
    """``pool2d_backward(dout, cache) -> dx`` for max and average pooling, against ``tf.GradientTape``."""
    ex = EXERCISES["pool2d_backward"]
    pool2d_backward = by_hand(ex, pool2d_backward, GRADIENTS)
    rng = _rng(seed)
    hints = {
        "max": "Only the largest input of each window gets that window's gradient; windows that "
        "overlap add up (use +=, not =).",
        "avg": "Every input of a window gets dout / (size * size); overlapping windows add up.",
    }
    cases = [
        ((2, 4, 4, 1), 2, 2),
        ((1, 6, 6, 3), 2, 2),
        ((2, 7, 7, 2), 3, 2),
        ((1, 5, 8, 2), 3, 1),
        ((2, 6, 5, 1), 2, 1),
        ((1, 5, 5, 2), 2, 2),
    ]  # the last leaves a row and a column unread
    for mode in ("max", "avg"):
        for shape, size, stride in cases:
            x = rng.normal(size=shape)
            out, cache = _forward(ex, pool2d_forward, x, size, stride, mode)
            dout = rng.normal(size=out.shape)
            dx = _array(
                ex,
                call(ex, pool2d_backward, dout, cache),
                x.shape,
                "dx",
                hint="dx has the shape of the pooling layer's input.",
            )
            case = f"{mode} pooling of x{shape}, size={size}, stride={stride}"
            _compare_grads(
                ex,
                ["dx"],
                [dx],
                [_tf_pool_grad(x, size, stride, mode, dout)],
                TF_TOL,
                "tf.GradientTape (float64)",
                case,
                {"dx": hints[mode]},
            )
    x = rng.normal(size=(1, 5, 5, 2))
    for mode in ("max", "avg"):
        out, cache = _forward(ex, pool2d_forward, x, 3, 2, mode)
        dout = rng.normal(size=out.shape)
        dx = call(ex, pool2d_backward, dout, cache)

        def loss(mode=mode, dout=dout):
            return float(np.sum(_forward(ex, pool2d_forward, x, 3, 2, mode)[0] * dout))

        _compare_grads(
            ex,
            ["dx"],
            [dx],
            [_numeric_grad(loss, x)],
            NUMERIC_TOL,
            "finite differences",
            f"{mode} pooling of x(1, 5, 5, 2), size=3, stride=2",
            {"dx": hints[mode]},
        )
    passed(
        ex,
        f"max and average pooling gradients match tf.GradientTape (< {TF_TOL:g}) and finite "
        f"differences (< {NUMERIC_TOL:g}), overlapping windows included",
    )


# --------------------------------------------------------------------------
# Exercises 5 and 6: dropout
# --------------------------------------------------------------------------
def _dropout_output(ex, res, shape, what):
    """The ``out`` of what ``dropout_forward`` returned, ``(out, cache)``."""
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailed(
            ex,
            "dropout_forward should return the tuple (out, cache).",
            found=type(res).__name__,
            hint="End with `return out, cache`, where the cache holds what dropout_backward needs (the mask, p...).",
        )
    return _array(ex, res[0], shape, what)


def check_dropout_forward(dropout_forward, seed=33):
    """``dropout_forward(h, p, training, rng) -> (out, cache)``: p the drop probability, inverted scaling.

    Args:
        dropout_forward: the student's function.
        seed: seed of the activations the check drops.
    """
    ex = EXERCISES["dropout_forward"]
    dropout_forward = by_hand(ex, dropout_forward, NUMPY_ONLY)
    rng = _rng(seed)
    h = rng.uniform(0.5, 2.0, size=(200, 300))
    h_copy = h.copy()
    for p in (0.0, 0.3, 0.5, 0.9):
        res = call(ex, dropout_forward, h, p, False, np.random.default_rng(1))
        out = _dropout_output(ex, res, h.shape, f"output at test time (p={p})")
        if not np.array_equal(out, h):
            hint = "Inverted dropout scales during training, so nothing changes at test time."
            if np.allclose(out, h * (1 - p)):
                hint = "That is the old, non-inverted dropout. " + hint
            raise CheckFailed(ex, f"at test time (training=False, p={p}) dropout must return h unchanged.", hint=hint)
    out = _dropout_output(
        ex, call(ex, dropout_forward, h, 0.0, True, np.random.default_rng(2)), h.shape, "output for p=0"
    )
    if not np.allclose(out, h):
        raise CheckFailed(
            ex,
            "with p=0 nothing is dropped: the output must equal h.",
            found=f"{np.mean(out == 0):.3f} of the values set to 0",
        )
    for p in (0.1, 0.5, 0.8, 0.99):
        out = _dropout_output(
            ex,
            call(ex, dropout_forward, h, p, True, np.random.default_rng((seed, int(p * 100)))),
            h.shape,
            f"output for p={p}",
        )
        dropped = out == 0
        if np.all(dropped == dropped[0]):
            raise CheckFailed(
                ex,
                "every example (row) should get its own random mask: all rows were dropped alike.",
                hint="Draw a mask of h's full shape.",
            )
        frac = float(dropped.mean())
        se = math.sqrt(p * (1 - p) / h.size)
        if abs(frac - p) > N_SIGMA * se:
            hint = "p is the probability of DROPPING a unit." if abs(frac - (1 - p)) < N_SIGMA * se else None
            raise CheckFailed(
                ex,
                f"with p={p} the fraction of zeros should be p (within {N_SIGMA:g} standard "
                f"errors, {N_SIGMA * se:.4f}).",
                expected=p,
                found=frac,
                hint=hint,
            )
        kept = ~dropped
        if not np.allclose(out[kept], h[kept] / (1 - p)):
            hint = "Scale the kept units by 1 / (1 - p) so that the expectation stays h."
            if np.allclose(out[kept], h[kept]):
                hint = "The kept units are not rescaled. " + hint
            raise CheckFailed(ex, f"with p={p} the units that are kept must be h / (1 - p).", hint=hint)
        # The output's mean is h's mean up to chance: each unit varies by h_i^2 p / (1 - p) around h_i.
        spread = math.sqrt(float(np.sum(h**2)) * p / (1 - p)) / h.size
        if p <= 0.8 and abs(out.mean() - h.mean()) > 5 * spread:
            raise CheckFailed(
                ex,
                f"with p={p} the mean of the output should stay close to h's mean "
                f"(within {5 * spread:.3g}, five standard errors of a fair mask).",
                expected=float(h.mean()),
                found=float(out.mean()),
                hint="Keep each unit with probability 1 - p, independently of its value.",
            )
    if not np.array_equal(h, h_copy):
        raise CheckFailed(ex, "dropout_forward changed its input h in place.", hint="Return a new array.")
    a = _dropout_output(ex, call(ex, dropout_forward, h, 0.5, True, np.random.default_rng(5)), h.shape, "output")
    b = _dropout_output(ex, call(ex, dropout_forward, h, 0.5, True, np.random.default_rng(5)), h.shape, "output")
    if not np.array_equal(a, b):
        raise CheckFailed(
            ex,
            "the same rng state should give the same mask.",
            hint="Draw the mask with the `rng` argument, not np.random.*.",
        )
    for p in (1.0, 1.5, -0.1):
        expect_raises(
            ex,
            ValueError,
            dropout_forward,
            h,
            p,
            True,
            np.random.default_rng(0),
            what=f"p={p}",
            hint="p must be in [0, 1): with p = 1 everything is dropped and 1 / (1 - p) is infinite.",
        )
    passed(
        ex,
        "identity at test time and for p=0, drops a fraction p (up to p=0.99), keeps the "
        "expectation, refuses p outside [0, 1)",
    )


def _dropout_forward_output(ex, dropout_forward, h, p, training, seed):
    """Run the notebook's ``dropout_forward`` for the backward check: ``(out, cache)``, out as floats."""
    try:
        res = dropout_forward(h, p, training, np.random.default_rng(seed))
    except NotImplementedError:
        raise NotAttempted(
            ex, "dropout_backward is checked through your dropout_forward: write exercise 5 first."
        ) from None
    except Exception as exc:
        raise CheckFailed(
            ex,
            f"your dropout_forward raised {type(exc).__name__}: {exc}",
            hint="Make exercise 5 pass first: the backward pass gets its cache from it.",
        ) from exc
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailed(
            ex,
            "dropout_forward should return the tuple (out, cache): the backward pass needs the cache.",
            hint="Make exercise 5 pass first.",
        )
    return np.asarray(res[0], dtype=float), res[1]


def check_dropout_backward(dropout_backward, dropout_forward, seed=39):
    """``dropout_backward(dout, cache) -> dx`` against the mask the forward pass drew and finite differences.

    The caches come from the notebook's own ``dropout_forward``; its
    activations are never 0, so a unit was dropped exactly where the output
    is 0.

    Args:
        dropout_backward: the student's function.
        dropout_forward: the student's forward pass (exercise 5), which makes the caches.
        seed: seed of the activations and gradients.
    """
    ex = EXERCISES["dropout_backward"]
    dropout_backward = by_hand(ex, dropout_backward, GRADIENTS)
    rng = _rng(seed)
    hints = {
        "dropped": "A dropped unit did not reach the output, so it gets no gradient: multiply by the mask "
        "the forward pass drew (keep it in the cache).",
        "kept": "A kept unit was multiplied by 1 / (1 - p) on the way forward, so its gradient is too.",
    }
    cases = [((64, 50), 0.5), ((8, 5, 5, 6), 0.2), ((30, 40), 0.8), ((4, 3, 7, 2), 0.65)]
    for k, (shape, p) in enumerate(cases):
        h = rng.uniform(0.5, 2.0, size=shape)
        out, cache = _dropout_forward_output(ex, dropout_forward, h, p, True, 100 + k)
        dout = rng.normal(size=shape)
        dout_copy = dout.copy()
        dx = _array(
            ex, call(ex, dropout_backward, dout, cache), shape, "dx", hint="dx has the shape of h (and of dout)."
        )
        kept = out != 0
        case = f"h{shape}, p={p}"
        if np.any(dx[~kept] != 0):
            raise CheckFailed(
                ex,
                f"dx should be 0 for the units the forward pass dropped ({case}).",
                expected=0.0,
                found=float(np.abs(dx[~kept]).max()),
                hint=hints["dropped"],
            )
        if not np.allclose(dx[kept], dout[kept] / (1 - p), rtol=1e-6, atol=0):  # a float32 mask is right too
            hint = hints["kept"]
            if np.allclose(dx[kept], dout[kept]):
                hint = "The gradient of the kept units is not rescaled. " + hint
            raise CheckFailed(ex, f"dx of the kept units should be dout / (1 - p) ({case}).", hint=hint)
        if not np.array_equal(dout, dout_copy):
            raise CheckFailed(ex, "dropout_backward changed its input dout in place.", hint="Return a new array.")
    for training, p, what in ((False, 0.5, "at test time (training=False)"), (True, 0.0, "with p=0")):
        h = rng.uniform(0.5, 2.0, size=(20, 30))
        _, cache = _dropout_forward_output(ex, dropout_forward, h, p, training, 7)
        dout = rng.normal(size=h.shape)
        dx = _array(ex, call(ex, dropout_backward, dout, cache), h.shape, "dx")
        if not np.allclose(dx, dout, rtol=1e-6, atol=0):
            raise CheckFailed(
                ex,
                f"{what} dropout is the identity, so dx must equal dout.",
                hint="Keep in the cache what the forward pass did: at test time (and for p=0) it "
                "dropped nothing and scaled nothing.",
            )
    # Finite differences through the notebook's dropout_forward: the same seed draws the same mask.
    h = rng.uniform(0.5, 2.0, size=(3, 4, 4, 2))
    out, cache = _dropout_forward_output(ex, dropout_forward, h, 0.4, True, 11)
    dout = rng.normal(size=h.shape)
    dx = _array(ex, call(ex, dropout_backward, dout, cache), h.shape, "dx")

    def loss():
        return float(np.sum(_dropout_forward_output(ex, dropout_forward, h, 0.4, True, 11)[0] * dout))

    _compare_grads(
        ex,
        ["dx"],
        [dx],
        [_numeric_grad(loss, h)],
        NUMERIC_TOL,
        "finite differences through your dropout_forward",
        "h(3, 4, 4, 2), p=0.4",
        {"dx": hints["kept"]},
    )
    passed(
        ex,
        f"dx is 0 where the mask dropped and dout / (1 - p) where it kept (p from 0.2 to 0.8), dout at "
        f"test time, and it matches finite differences (< {NUMERIC_TOL:g})",
    )


# --------------------------------------------------------------------------
# Exercises 7 and 8: the dropout experiment
# --------------------------------------------------------------------------
def expected_net(dropout_rate, n_in=64, hidden=256, n_classes=10):
    """The layer specification the experiment's network must have."""
    from .architecture import LayerSpec

    return [
        LayerSpec("Dense", (hidden,), (n_in + 1) * hidden, {"units": hidden}, "relu"),
        LayerSpec("Dropout", (hidden,), 0, {"rate": dropout_rate}),
        LayerSpec("Dense", (hidden,), (hidden + 1) * hidden, {"units": hidden}, "relu"),
        LayerSpec("Dropout", (hidden,), 0, {"rate": dropout_rate}),
        LayerSpec("Dense", (n_classes,), (hidden + 1) * n_classes, {"units": n_classes}, "softmax"),
    ]


def check_build_net(build_net):
    """``build_net(dropout_rate)``: the experiment's network, layer by layer."""
    from .architecture import check_architecture

    ex = EXERCISES["build_net"]
    for rate in (0.0, 0.5, 0.3):
        model = call(ex, build_net, rate)
        if model is None:
            raise CheckFailed(ex, "build_net returned None: did you forget to `return` the model?")
        check_architecture(
            model,
            expected_net(rate),
            exercise=f"{ex} with dropout_rate={rate}",
            hint="Input(shape=(64,)), then Dense(256, relu), Dropout, Dense(256, relu), Dropout, Dense(10, softmax).",
        )
    passed(ex, "the network matches the specification for dropout rates 0, 0.5 and 0.3")


def _made_up_history(rng, epochs, last, gap, before):
    """A history whose ``val_loss - loss`` averages ``gap`` over its last ``last`` epochs, by construction.

    Args:
        rng: a NumPy random generator.
        epochs: the number of epochs.
        last: how many final epochs average to ``gap``.
        gap: the mean of ``val_loss - loss`` over the last ``last`` epochs.
        before: the gap of every earlier epoch (so that a wrong window gives a wrong mean).

    Returns:
        A dict like Keras' ``History.history``, with ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``.
    """
    spread = rng.uniform(-0.3, 0.3, last)
    spread -= spread.mean()  # the last epochs differ from one another but average to exactly `gap`
    gaps = np.concatenate([np.full(epochs - last, before), gap + spread])
    loss = rng.uniform(0.05, 1.5, epochs)
    return {
        "loss": list(loss),
        "val_loss": list(loss + gaps),
        "accuracy": list(rng.uniform(0, 1, epochs)),
        "val_accuracy": list(rng.uniform(0, 1, epochs)),
    }


def check_overfit_gap(overfit_gap, which_overfits, histories=None, seed=34):
    """``overfit_gap(history, last=5)`` and ``which_overfits(histories)`` on made-up and on real histories.

    The made-up histories have a known gap by construction; on the student's
    own training runs ``which_overfits`` must name the run whose gap
    ``overfit_gap`` (checked first) finds largest.

    Args:
        overfit_gap: the student's function.
        which_overfits: the student's function.
        histories: the student's ``{name: History}`` of the experiment, or None.
        seed: seed of the made-up histories.
    """
    import keras

    ex = EXERCISES["overfit_gap"]
    overfit_gap, which_overfits = (by_hand(ex, fn, OWN_WORK) for fn in (overfit_gap, which_overfits))
    rng = _rng(seed)
    for trial in range(6):
        epochs = int(rng.integers(7, 30))
        for last in (5, 3, 1):
            gap = float(rng.uniform(0.05, 1.0) * (-1 if trial == 4 else 1))
            fake = _made_up_history(rng, epochs, last, gap, before=gap + float(rng.uniform(0.5, 1.5)))
            given = fake
            if trial == 2:  # a Keras History, as model.fit returns it
                given = keras.callbacks.History()
                given.history = fake
            got = call(ex, overfit_gap, given, last=last)
            try:
                got = float(got)
            except (TypeError, ValueError):
                raise CheckFailed(ex, "overfit_gap should return a number.", found=got) from None
            if not math.isclose(got, gap, rel_tol=1e-9, abs_tol=1e-12):
                hint = "Average val_loss - loss over the LAST `last` epochs only."
                if math.isclose(got, -gap, rel_tol=1e-9, abs_tol=1e-12):
                    hint = "The sign is reversed: validation loss minus training loss."
                raise CheckFailed(
                    ex,
                    f"overfit_gap is wrong on a made-up history of {epochs} epochs (last={last}"
                    f"{', given as a keras.callbacks.History' if given is not fake else ''}).",
                    expected=gap,
                    found=got,
                    hint=hint,
                )
    for gaps in ({"a": 0.1, "b": 0.6, "c": 0.35}, {"a": 0.5, "b": -0.2, "c": 0.05}, {"a": 0.2, "b": 0.3, "c": 0.9}):
        # the earlier epochs rank the runs the other way round, so only the last 5 epochs give the right name
        fakes = {name: _made_up_history(rng, 10, 5, g, before=3 * (1 - g)) for name, g in gaps.items()}
        got = call(ex, which_overfits, fakes)
        best = max(gaps, key=gaps.get)
        if got != best:
            raise CheckFailed(
                ex,
                "which_overfits should return the name (key) of the history with the largest "
                f"gap over the last 5 epochs (made-up gaps {gaps}).",
                expected=best,
                found=got,
            )
    detail = "made-up histories"
    if histories is not None:
        gaps = {name: float(call(ex, overfit_gap, h)) for name, h in histories.items()}
        best = max(gaps, key=gaps.get)
        got = call(ex, which_overfits, histories)
        shown = {name: round(g, 3) for name, g in gaps.items()}
        if got != best:
            raise CheckFailed(
                ex,
                f"on your own training histories your overfit_gap finds the largest gap in {best!r} (gaps {shown}).",
                expected=best,
                found=got,
            )
        detail += f" and your own training runs (gaps {shown})"
    passed(ex, f"correct on {detail}")


# --------------------------------------------------------------------------
# Exercises 9 and 10: batch normalisation
# --------------------------------------------------------------------------
KERAS_MOMENTUM, KERAS_EPSILON = 0.99, 1e-3
"""``keras.layers.BatchNormalization``'s defaults, which ``batchnorm_forward`` takes when ``bn_param`` omits them."""


def _bn_batch(rng, shape):
    """Values whose channels have their own means and scales, some so small that eps matters."""
    c = shape[-1]
    return rng.normal(rng.uniform(-3, 3, c), rng.uniform(0.05, 3, c), size=shape)


def _bn_weights(rng, c):
    """gamma (either sign, never near 0) and beta for ``c`` channels."""
    return rng.uniform(0.5, 2.0, c) * rng.choice([-1.0, 1.0], c), rng.normal(size=c)


def _keras_bn(shape, momentum, eps, gamma, beta, running=None):
    """A float64 ``keras.layers.BatchNormalization`` holding gamma, beta and, if given, the running averages."""
    import keras

    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=eps, dtype="float64")
    layer.build(shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    if running is not None:
        layer.moving_mean.assign(running[0])
        layer.moving_variance.assign(running[1])
    return layer


def _bn_output(ex, res, shape):
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailed(
            ex,
            "batchnorm_forward should return the tuple (out, cache).",
            found=type(res).__name__,
            hint="End with `return out, cache`; the cache holds what batchnorm_backward needs.",
        )
    return _array(ex, res[0], shape, "output", hint="The output has the shape of x.")


def _train_output_hint(x, out, want, gamma, beta, eps):
    """What the training-mode output of a wrong answer suggests, read from the output itself."""
    axes = tuple(range(x.ndim - 1))
    z, z_want = (out - beta) / gamma, (want - beta) / gamma  # the normalised values
    if x.ndim > 2 and np.allclose(z.mean(axis=0), 0, atol=1e-7):
        return (
            "Your statistics are per position (over the batch axis only). In a feature map (N, H, W, C) every "
            "position is one more sample of its channel: average over every axis but the last."
        )
    if x.ndim > 2 and np.allclose(z.mean(axis=tuple(range(1, x.ndim - 1))), 0, atol=1e-7):
        return "Your statistics are per example; batch normalisation averages over the batch and every position."
    if not np.allclose(z.mean(axis=axes), 0, atol=1e-7):
        if abs(float(z.mean())) < 1e-7:
            return "One mean and one variance per channel (the last axis), not one for the whole array."
        return "Subtract each channel's batch mean, then divide by sqrt(var + eps); then scale by gamma, add beta."
    m = x.size // x.shape[-1]
    v = x.var(axis=axes)
    if np.allclose(z.var(axis=axes) / z_want.var(axis=axes), (v + eps) / (v * m / (m - 1) + eps), rtol=1e-6):
        return (
            "Keras normalises with the biased batch variance: divide by the number of values m, not m - 1 "
            "(np.var's default ddof=0)."
        )
    return "x_hat = (x - mean) / sqrt(var + eps), with eps inside the square root; out = gamma * x_hat + beta."


def _running_hint(key, got, before, keras_value, shadow, momentum, x):
    """What a wrong running average suggests.

    Args:
        key: ``"running_mean"`` or ``"running_var"``.
        got: the student's running average after the step.
        before: the student's running average before the step (None: the first step, none given).
        keras_value: the Keras layer's average after the step.
        shadow: what a Keras layer with momentum ``1 - momentum`` holds after the step.
        momentum: the momentum of the step.
        x: the step's batch.
    """
    start = before if before is not None else (np.zeros_like(got) if key == "running_mean" else np.ones_like(got))
    if np.allclose(got, start, rtol=1e-9, atol=1e-12):
        return "The running averages were not updated: store the new values in bn_param in training mode."
    if np.allclose(got, shadow, rtol=1e-7, atol=KERAS_ATOL):
        return (
            "Your running averages are what Keras keeps with momentum = 1 - momentum. The momentum weighs the "
            "OLD average: moving = moving * momentum + batch * (1 - momentum)."
        )
    if key == "running_var":
        axes = tuple(range(x.ndim - 1))
        m = x.size // x.shape[-1]
        unbiased = momentum * start + (1 - momentum) * x.var(axis=axes) * m / (m - 1)
        if np.allclose(got, unbiased, rtol=1e-7, atol=KERAS_ATOL):
            return "Keras updates the running variance with the biased batch variance, the one it normalises with."
        if before is None and np.allclose(got, keras_value - momentum, rtol=1e-7, atol=KERAS_ATOL):
            return (
                "Keras starts the running variance at 1 (and the running mean at 0): a bn_param without them "
                "means those."
            )
    return "moving = moving * momentum + batch * (1 - momentum), with this step's batch mean and (biased) variance."


def check_batchnorm_forward(batchnorm_forward, seed=35):
    """``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` against ``keras.layers.BatchNormalization``.

    For dense (N, D) and convolutional (N, H, W, C) inputs, a float64 Keras
    layer with the same gamma, beta, momentum, epsilon and starting averages
    runs three training steps next to the student's function (outputs and
    running averages compared after each), then one step in inference mode.

    Args:
        batchnorm_forward: the student's function.
        seed: seed of the batches and weights.
    """
    ex = EXERCISES["batchnorm_forward"]
    batchnorm_forward = by_hand(ex, batchnorm_forward, NUMPY_ONLY)
    rng = _rng(seed)
    # (training batch shape, test batch shape, bn_param settings, running averages given?)
    cases = [
        ((32, 5), (7, 5), {}, False),
        ((4, 3), (1, 3), {"momentum": 0.9, "eps": 1e-5}, True),
        ((6, 4, 5, 3), (2, 4, 5, 3), {"momentum": 0.8, "eps": 1e-3}, False),
        ((3, 5, 7, 2), (1, 5, 7, 2), {"momentum": 0.95, "eps": 0.1}, True),
    ]
    for shape, test_shape, settings, given in cases:
        c = shape[-1]
        momentum, eps = settings.get("momentum", KERAS_MOMENTUM), settings.get("eps", KERAS_EPSILON)
        gamma, beta = _bn_weights(rng, c)
        bn_param = dict(mode="train", **settings)
        running = None
        if given:
            running = (rng.normal(size=c), rng.uniform(0.5, 2.0, c))
            bn_param.update(running_mean=running[0].copy(), running_var=running[1].copy())
        layer = _keras_bn(shape, momentum, eps, gamma, beta, running)
        shadow = _keras_bn(shape, 1 - momentum, eps, gamma, beta, running)  # momentum the wrong way round
        shown = ", ".join(f"{k}={v:g}" for k, v in settings.items()) or "eps and momentum not given"
        shown += ", running averages given" if given else ", no running averages given"
        for step in range(1, 4):
            x = _bn_batch(rng, shape)
            x_copy = x.copy()
            before = {k: np.array(bn_param[k], dtype=float) for k in ("running_mean", "running_var") if k in bn_param}
            want = np.asarray(layer(x, training=True))
            shadow(x, training=True)
            out = _bn_output(ex, call(ex, batchnorm_forward, x, gamma, beta, bn_param), shape)
            case = f"x{shape}, {shown}, training step {step}"
            if not np.allclose(out, want, rtol=1e-7, atol=KERAS_ATOL):
                raise CheckFailed(
                    ex,
                    f"in training mode ({case}) the output differs from keras.layers.BatchNormalization's.",
                    expected=want,
                    found=out,
                    hint=_train_output_hint(x, out, want, gamma, beta, eps),
                )
            if not np.array_equal(x, x_copy):
                raise CheckFailed(ex, "batchnorm_forward changed its input x in place.", hint="Return a new array.")
            for key, keras_name in (("running_mean", "moving_mean"), ("running_var", "moving_variance")):
                if key not in bn_param:
                    raise CheckFailed(
                        ex,
                        f"after a training step ({case}) bn_param has no {key!r}.",
                        hint=f"Store the updated running averages in bn_param: bn_param[{key!r}] = ...",
                    )
                got = _array(ex, bn_param[key], (c,), f"bn_param[{key!r}]", hint="One running average per channel.")
                keras_value = np.asarray(getattr(layer, keras_name))
                if not np.allclose(got, keras_value, rtol=1e-7, atol=KERAS_ATOL):
                    raise CheckFailed(
                        ex,
                        f"after {case}, bn_param[{key!r}] differs from the Keras layer's {keras_name}.",
                        expected=keras_value,
                        found=got,
                        hint=_running_hint(
                            key, got, before.get(key), keras_value, np.asarray(getattr(shadow, keras_name)), momentum, x
                        ),
                    )
        bn_param["mode"] = "test"
        frozen = {k: np.array(bn_param[k], dtype=float) for k in ("running_mean", "running_var")}
        x = _bn_batch(rng, test_shape)
        want = np.asarray(layer(x, training=False))
        out = _bn_output(ex, call(ex, batchnorm_forward, x, gamma, beta, bn_param), test_shape)
        case = f"x{test_shape} after three training steps on x{shape}, {shown}"
        if not np.allclose(out, want, rtol=1e-7, atol=KERAS_ATOL):
            z = (out - beta) / gamma
            hint = "At test time normalise with the running averages: (x - running_mean) / sqrt(running_var + eps)."
            if np.allclose(z.mean(axis=tuple(range(x.ndim - 1))), 0, atol=1e-7):
                hint = (
                    "Your test-time output is normalised with the test batch's own statistics. At test time "
                    "an example's output must not depend on the rest of its batch (or a batch of one): use "
                    "the running averages."
                )
            raise CheckFailed(
                ex,
                f"in test mode ({case}) the output differs from keras.layers.BatchNormalization's with training=False.",
                expected=want,
                found=out,
                hint=hint,
            )
        for key in frozen:
            if not np.array_equal(np.asarray(bn_param[key], dtype=float), frozen[key]):
                raise CheckFailed(
                    ex,
                    f"in test mode bn_param[{key!r}] changed.",
                    hint="Only training updates the running averages; test mode only reads them.",
                )
    x = _bn_batch(rng, (5, 2))
    expect_raises(
        ex,
        ValueError,
        batchnorm_forward,
        x,
        np.ones(2),
        np.zeros(2),
        {"mode": "inference"},
        what="bn_param['mode'] = 'inference'",
        hint="Raise ValueError unless the mode is 'train' or 'test'.",
    )
    passed(
        ex,
        f"the same outputs and running averages as keras.layers.BatchNormalization (within {KERAS_ATOL:g}) "
        "for dense and NHWC inputs, over three training steps and at test time",
    )


def _tf_bn_grads(x, gamma, beta, eps, dout):
    """TensorFlow's batch normalisation (training mode) in float64: its output and its gradients."""
    import tensorflow as tf

    tx, tg, tb = (tf.Variable(v, dtype=tf.float64) for v in (x, gamma, beta))
    with tf.GradientTape() as tape:
        mean, var = tf.nn.moments(tx, axes=list(range(x.ndim - 1)))
        y = tf.nn.batch_normalization(tx, mean, var, tb, tg, eps)
        loss = tf.reduce_sum(y * tf.constant(dout))
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, [tx, tg, tb])]


def _bn_train_forward(ex, batchnorm_forward, x, gamma, beta, eps):
    """The notebook's ``batchnorm_forward`` in training mode, for the backward check: ``(out, cache)``."""
    try:
        res = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    except NotImplementedError:
        raise NotAttempted(
            ex, "batchnorm_backward is checked through your batchnorm_forward: write exercise 9 first."
        ) from None
    except Exception as exc:
        raise CheckFailed(
            ex,
            f"your batchnorm_forward raised {type(exc).__name__}: {exc}",
            hint="Make exercise 9 pass first: the backward pass gets its cache from it.",
        ) from exc
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailed(
            ex, "batchnorm_forward should return the tuple (out, cache).", hint="Make exercise 9 pass first."
        )
    return np.asarray(res[0], dtype=float), res[1]


def _bn_grads(ex, batchnorm_backward, dout, cache, x_shape):
    res = call(ex, batchnorm_backward, dout, cache)
    if not isinstance(res, (tuple, list)) or len(res) != 3:
        raise CheckFailed(
            ex, "batchnorm_backward should return the tuple (dx, dgamma, dbeta).", found=type(res).__name__
        )
    c = x_shape[-1]
    return [
        _array(ex, res[0], x_shape, "dx", hint="dx has the shape of x."),
        _array(ex, res[1], (c,), "dgamma", hint="One value per channel: sum over every axis but the last."),
        _array(ex, res[2], (c,), "dbeta", hint="One value per channel: sum over every axis but the last."),
    ]


def check_batchnorm_backward(batchnorm_backward, batchnorm_forward, seed=36):
    """``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` against ``tf.GradientTape`` and finite differences.

    The caches come from the notebook's own ``batchnorm_forward`` in training
    mode, whose output is compared with TensorFlow's first.

    Args:
        batchnorm_backward: the student's function.
        batchnorm_forward: the student's forward pass (exercise 9), which makes the caches.
        seed: seed of the inputs, weights and gradients.
    """
    ex = EXERCISES["batchnorm_backward"]
    batchnorm_backward = by_hand(ex, batchnorm_backward, GRADIENTS)
    rng = _rng(seed)
    hints = {
        "dx": "x reaches the loss three ways: through x_hat directly, and through the mean and the variance "
        "that normalise every value of its channel. Add the three paths of the chain rule.",
        "dgamma": "dgamma sums dout * x_hat over every axis but the last.",
        "dbeta": "dbeta sums dout over every axis but the last.",
    }
    # dout constant over each channel: the normalised values of a channel always sum to 0, so dx must be 0.
    x = _bn_batch(rng, (5, 3, 3, 2))
    gamma, beta = _bn_weights(rng, 2)
    _, cache = _bn_train_forward(ex, batchnorm_forward, x, gamma, beta, KERAS_EPSILON)
    dout = np.ones(x.shape) * rng.normal(size=2)
    dx = _bn_grads(ex, batchnorm_backward, dout, cache, x.shape)[0]
    scale = float(np.max(np.abs(gamma)) * np.max(np.abs(dout)) / np.sqrt(np.min(x.var(axis=(0, 1, 2)))))
    if np.max(np.abs(dx)) > 1e-9 * scale:
        raise CheckFailed(
            ex,
            "for a dout that is the same for every value of a channel, dx must be 0: the "
            "normalised values of a channel always sum to 0, so their sum does not depend on x.",
            expected=0.0,
            found=float(np.max(np.abs(dx))),
            hint="Your dx misses the path through the mean: moving one x moves the mean that is "
            "subtracted from every value of its channel.",
        )
    cases = [((10, 4), 1e-3), ((4, 3, 5, 2), 1e-3), ((2, 6, 6, 3), 1e-5), ((6, 1), 0.1), ((3, 2, 4, 5), 1e-3)]
    for shape, eps in cases:
        x = _bn_batch(rng, shape)
        gamma, beta = _bn_weights(rng, shape[-1])
        out, cache = _bn_train_forward(ex, batchnorm_forward, x, gamma, beta, eps)
        dout = rng.normal(size=shape)
        y, expected = _tf_bn_grads(x, gamma, beta, eps, dout)
        case = f"x{shape}, eps={eps:g}"
        if out.shape != y.shape or not np.allclose(out, y, rtol=1e-7, atol=KERAS_ATOL):
            raise CheckFailed(
                ex,
                f"batchnorm_backward is checked through your batchnorm_forward, whose "
                f"training-mode output differs from TensorFlow's for {case}.",
                hint="Make exercise 9 pass first: the backward pass gets its cache from it.",
            )
        got = _bn_grads(ex, batchnorm_backward, dout, cache, shape)
        _compare_grads(ex, ["dx", "dgamma", "dbeta"], got, expected, TF_TOL, "tf.GradientTape (float64)", case, hints)
    # Finite differences through the notebook's own forward pass, on a small case.
    x = _bn_batch(rng, (3, 2, 2, 2))
    gamma, beta = _bn_weights(rng, 2)
    _, cache = _bn_train_forward(ex, batchnorm_forward, x, gamma, beta, KERAS_EPSILON)
    dout = rng.normal(size=x.shape)
    got = _bn_grads(ex, batchnorm_backward, dout, cache, x.shape)

    def loss():
        return float(np.sum(_bn_train_forward(ex, batchnorm_forward, x, gamma, beta, KERAS_EPSILON)[0] * dout))

    numeric = [_numeric_grad(loss, v) for v in (x, gamma, beta)]
    _compare_grads(
        ex,
        ["dx", "dgamma", "dbeta"],
        got,
        numeric,
        BN_NUMERIC_TOL,
        "finite differences through your batchnorm_forward",
        "x(3, 2, 2, 2)",
        hints,
    )
    passed(
        ex,
        f"dx, dgamma, dbeta match tf.GradientTape (relative error < {TF_TOL:g}) on {len(cases)} dense and "
        f"NHWC cases and finite differences (< {BN_NUMERIC_TOL:g})",
    )


# --------------------------------------------------------------------------
# Exercises 11 and 12: the batch-norm experiment
# --------------------------------------------------------------------------
DEEP_DEPTH, DEEP_WIDTH, DEEP_MOMENTUM = 8, 16, 0.9


def expected_deep_cnn(batchnorm, depth=DEEP_DEPTH, width=DEEP_WIDTH, input_shape=(8, 8, 1), n_classes=10):
    """The layer specification of the batch-norm experiment's network.

    Args:
        batchnorm: whether every convolution is followed by batch normalisation.
        depth: the number of convolutions.
        width: the filters of every convolution.
        input_shape: the images' shape.
        n_classes: the number of classes.

    Returns:
        A list of :class:`~cnncourse.checks.architecture.LayerSpec`.
    """
    from .architecture import LayerSpec

    h, w, c = input_shape
    specs = []
    for i in range(depth):
        c_in = c if i == 0 else width
        specs.append(
            LayerSpec(
                "Conv2D",
                (h, w, width),
                9 * c_in * width + (0 if batchnorm else width),
                {
                    "filters": width,
                    "kernel_size": (3, 3),
                    "strides": (1, 1),
                    "padding": "same",
                    "use_bias": not batchnorm,
                },
                "linear",
            )
        )
        if batchnorm:
            specs.append(LayerSpec("BatchNormalization", (h, w, width), 4 * width))
        specs.append(LayerSpec("Activation", (h, w, width), 0, activation="relu"))
    specs += [
        LayerSpec("GlobalAveragePooling2D", (width,), 0),
        LayerSpec("Dense", (n_classes,), (width + 1) * n_classes, {"units": n_classes}, "softmax"),
    ]
    return specs


def check_build_deep_cnn(build_deep_cnn):
    """``build_deep_cnn(batchnorm)``: the experiment's 8-convolution network, with and without batch norm.

    Args:
        build_deep_cnn: the student's builder, called with ``False`` and ``True``.
    """
    import keras

    from .architecture import check_architecture, layers_of_kind

    ex = EXERCISES["build_deep_cnn"]
    hint = (
        "keras.Input(shape=(8, 8, 1)); then 8 times Conv2D(16, 3, padding='same', kernel_initializer='he_normal', "
        "use_bias=not batchnorm), BatchNormalization(momentum=0.9) only when batchnorm is True, "
        "Activation('relu'); then GlobalAveragePooling2D() and Dense(10, activation='softmax')."
    )
    for flag in (False, True):
        model = call(ex, build_deep_cnn, flag)
        if model is None:
            raise CheckFailed(ex, "build_deep_cnn returned None: did you forget to `return` the model?")
        if not isinstance(model, keras.Model):
            raise CheckFailed(ex, "build_deep_cnn should return a keras.Model.", found=type(model).__name__)
        check_architecture(model, expected_deep_cnn(flag), exercise=f"{ex} with batchnorm={flag}", hint=hint)
        for i, conv in enumerate(layers_of_kind(model, "Conv2D")):
            init = type(conv.kernel_initializer).__name__
            if init != "HeNormal":
                raise CheckFailed(
                    ex,
                    f"with batchnorm={flag}, convolution #{i + 1} starts from {init} weights.",
                    expected="HeNormal",
                    found=init,
                    hint="kernel_initializer='he_normal': exercise 1's initialiser for ReLU layers.",
                )
        for bn in layers_of_kind(model, "BatchNormalization"):
            if not math.isclose(bn.momentum, DEEP_MOMENTUM):
                raise CheckFailed(
                    ex,
                    "the batch normalisation layers' momentum is not the one asked for.",
                    expected=DEEP_MOMENTUM,
                    found=bn.momentum,
                    hint="BatchNormalization(momentum=0.9): Keras's default 0.99 suits thousands of "
                    "steps, and these runs have under a hundred.",
                )
            if not math.isclose(bn.epsilon, KERAS_EPSILON):
                raise CheckFailed(ex, "keep Keras's default epsilon.", expected=KERAS_EPSILON, found=bn.epsilon)
            if bn.axis not in (-1, 3):
                raise CheckFailed(
                    ex,
                    "batch normalisation should normalise each channel (the last axis).",
                    expected=-1,
                    found=bn.axis,
                    hint="Keep Keras's default axis=-1.",
                )
    passed(
        ex,
        "both networks match the specification: 8 He-initialised convolutions, each followed by batch "
        "normalisation (momentum 0.9) when asked, then a ReLU",
    )


def _made_up_run(rng, epochs, target, first, exact=False):
    """A history whose training accuracy first reaches ``target`` at epoch ``first`` (from 1; None: never).

    Args:
        rng: a NumPy random generator.
        epochs: the number of epochs.
        target: the accuracy to reach.
        first: the first epoch whose accuracy is at least ``target``, or None.
        exact: whether that epoch's accuracy is exactly ``target`` (reaching means >=).

    Returns:
        A dict like Keras' ``History.history``. Its validation accuracy reaches
        ``target`` at an epoch where the training accuracy does not (and not at
        ``first - 1``), so an answer read off the wrong curve is a wrong answer.
    """
    acc = rng.uniform(0.0, 0.95 * target, epochs)
    if first is not None:
        acc[first - 1] = target if exact else rng.uniform(target, 1.0)
        acc[first:] = rng.uniform(0.5 * target, 1.0, epochs - first)  # later epochs may dip below again
    val = rng.uniform(0.0, 0.95 * target, epochs)
    # an epoch the training accuracy does not reach, nor the one before it reaches: no answer fits two mistakes
    others = [e for e in range(1, epochs + 1) if acc[e - 1] < target and first not in (e, e + 1)]
    if others:
        val[int(rng.choice(others)) - 1] = rng.uniform(target, 1.0)
    loss = rng.uniform(0.1, 2.5, epochs)
    return {"loss": list(loss), "accuracy": list(acc), "val_loss": list(loss + 0.1), "val_accuracy": list(val)}


def _epoch_hint(got, first, fake, target):
    val = fake["val_accuracy"]
    val_first = next((i + 1 for i, a in enumerate(val) if a >= target), None)
    if first is not None and got == first - 1:
        return "Count epochs from 1: the first epoch is epoch 1."
    if got == val_first:
        return "Read the training accuracy, history['accuracy'], not the validation accuracy."
    if first is None:
        return "Return None when no epoch reaches the target."
    if fake["accuracy"][first - 1] == target:
        return "An accuracy equal to the target reaches it (>=)."
    return "The FIRST epoch whose accuracy is at least the target, even if a later epoch dips below it again."


def check_which_trains(epochs_to_reach, which_trains, histories=None, seed=37):
    """``epochs_to_reach(history, target=0.5)`` and ``which_trains(histories, target=0.5)``, made-up and real.

    The made-up histories reach their target at a known epoch by
    construction; on the student's own runs ``which_trains`` must name the
    run that ``epochs_to_reach`` (checked first) finds soonest.

    Args:
        epochs_to_reach: the student's function.
        which_trains: the student's function.
        histories: the student's ``{name: History}`` of the experiment, or None.
        seed: seed of the made-up histories.
    """
    import keras

    ex = EXERCISES["which_trains"]
    epochs_to_reach, which_trains = (by_hand(ex, fn, OWN_WORK) for fn in (epochs_to_reach, which_trains))
    rng = _rng(seed)
    for trial in range(10):
        epochs = int(rng.integers(3, 12))
        target = 0.5 if trial < 4 else float(rng.uniform(0.3, 0.9))
        first = None if trial in (2, 7) else (1 if trial == 5 else int(rng.integers(1, epochs + 1)))
        fake = _made_up_run(rng, epochs, target, first, exact=trial in (1, 6))
        given = fake
        if trial == 3:  # a Keras History, as model.fit returns it
            given = keras.callbacks.History()
            given.history = fake
        got = call(ex, epochs_to_reach, given) if trial < 4 else call(ex, epochs_to_reach, given, target=target)
        if isinstance(got, (bool, np.bool_)) or not (
            got is None or isinstance(got, (int, np.integer)) or (isinstance(got, float) and got.is_integer())
        ):
            raise CheckFailed(ex, "epochs_to_reach should return an epoch number (an int) or None.", found=got)
        if got != first or (got is None) != (first is None):
            shown = [round(a, 3) for a in fake["accuracy"]]
            raise CheckFailed(
                ex,
                f"epochs_to_reach is wrong on a made-up history whose training accuracy is "
                f"{shown} (target={target:.3f}"
                f"{', given as a keras.callbacks.History' if given is not fake else ''}).",
                expected=first,
                found=got,
                hint=_epoch_hint(got, first, fake, target),
            )
    target = 0.5
    for reach, kwargs in (
        ({"a": 3, "b": 1, "c": None}, {}),
        ({"a": None, "b": 4, "c": 2}, {}),
        ({"a": None, "b": None}, {}),
        ({"a": 2, "b": 5, "c": 2}, {}),
        ({"x": 4, "y": 2}, {"target": 0.8}),
    ):
        t = kwargs.get("target", target)
        fakes = {name: _made_up_run(rng, 6, t, r) for name, r in reach.items()}
        best = min((n for n in reach if reach[n] is not None), key=lambda n: reach[n], default=None)
        for name, run in fakes.items():  # the run that trains first is not the one that ends highest
            if reach[name] is not None:
                run["accuracy"][-1] = t if name == best else 0.99
        if kwargs:  # the run that reaches 0.8 first is not the one that reaches 0.5 first
            fakes["x"]["accuracy"][0], fakes["y"]["accuracy"][0] = 0.6, 0.1
        got = call(ex, which_trains, fakes, **kwargs)
        if got != best:
            hint = "The name (key) of the run that reaches the target in the fewest epochs."
            if best is None:
                hint = "When no run reaches the target, return None."
            elif None in reach.values():
                hint += " Runs that never reach it (epochs_to_reach gives None) do not count."
            raise CheckFailed(
                ex,
                f"which_trains is wrong on made-up runs that reach "
                f"{'the target ' + str(t) if kwargs else 'an accuracy of 0.5'} at epochs {reach} "
                "(None: never).",
                expected=best,
                found=got,
                hint=hint,
            )
    detail = "made-up histories"
    if histories is not None:
        reach = {name: call(ex, epochs_to_reach, h) for name, h in histories.items()}
        best = min((n for n in reach if reach[n] is not None), key=lambda n: reach[n], default=None)
        got = call(ex, which_trains, histories)
        if got != best:
            raise CheckFailed(
                ex, f"on your own training histories your epochs_to_reach gives {reach}.", expected=best, found=got
            )
        detail += f" and your own training runs (epochs to reach 0.5: {reach})"
    passed(ex, f"correct on {detail}")


# --------------------------------------------------------------------------
# Exercise 4: the products of a convolution's backward pass, predicted
# --------------------------------------------------------------------------
BACKWARD_PRODUCTS_SHAPES = (((2, 9, 9, 3), (3, 3, 3, 4), 1), ((1, 12, 10, 2), (4, 4, 2, 5), 2))
"""The layers the visible check asks about (the hidden test asks about others)."""


def _whole_number(value):
    """Whether ``value`` is a whole number (an int, a NumPy integer, or a float with nothing after the point)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer()


def check_backward_products(backward_products):
    """Check the form of Exercise 4's prediction (the hidden test checks its values).

    ``backward_products(x_shape, w_shape, stride, first_layer)`` predicts how
    many multiplications a convolution's backward pass needs; the check only
    asks it for a few layers and wants a positive whole number each time, so
    the feedback gives nothing of the answer away. The next cell counts the
    products with the student's own ``conv2d_backward``.

    Args:
        backward_products: the student's function.

    Returns:
        None; prints a ✔ line when every answer is a positive whole number.

    Raises:
        CheckFailed: an answer is not a positive whole number, or the function raises.
        NotAttempted: the function is still the notebook's stub.
    """
    ex = EXERCISES["backward_products"]
    for x_shape, w_shape, stride in BACKWARD_PRODUCTS_SHAPES:
        for first_layer in (True, False):
            got = call(ex, backward_products, x_shape, w_shape, stride, first_layer)
            if got is None:
                raise CheckFailed(ex, "the function returned None: did you forget to `return` the count?")
            if not _whole_number(got) or got <= 0:
                raise CheckFailed(
                    ex,
                    f"backward_products({x_shape}, {w_shape}, stride={stride}, first_layer={first_layer}) "
                    "should be a positive whole number (a count of multiplications).",
                    found=got,
                )
    passed(
        ex,
        "a count for every layer asked (the next cell counts them with your conv2d_backward; "
        "the hidden test checks them)",
    )
