"""Checks for Lab 3, initialisation, backpropagation and dropout.

The oracles:

* initialisers are judged by statistics of many samples: the sample
  variance must be within 5 standard errors of the formula's variance (the
  standard error of a sample variance of N values is
  ``sigma^2 * sqrt((kurtosis - 1) / N)``: ``sqrt(0.8 / N)`` relative for a
  uniform, ``sqrt(2 / N)`` for a normal distribution), the shape of the
  distribution by its kurtosis, and the signal through a deep stack of
  layers by its mean square staying within a factor of 4;
* backward passes are compared with ``tf.GradientTape`` on TensorFlow's own
  convolution and pooling in float64 (relative error below 1e-7) and with
  centred finite differences through the forward pass the notebook supplies
  (relative error below 1e-6);
* dropout is judged by its properties: the fraction dropped (within 5
  standard errors of p), the inverted scaling, the identity at test time;
* the overfitting gap is checked on made-up histories whose gap is known by
  construction, and the answer to "which overfits?" must follow from it.

No check contains a solution: the forward passes come from the notebook.
The initialisers, the backward passes and dropout are done by hand
(:mod:`~cnncourse.checks.by_hand`): no Keras initialiser or layer, no
``tf.GradientTape``, inside the student's functions.
"""

from __future__ import annotations

import math

import numpy as np

from .by_hand import GRADIENTS, NUMPY_ONLY, OWN_WORK, by_hand
from .core import CheckFailed, NotAttempted, call, expect_raises, passed, plain
from .hidden import hidden_for

EXERCISES = {"initialisers": "Exercise 1 (xavier_uniform, he_normal)",
             "conv2d_backward": "Exercise 2 (conv2d_backward)", "pool2d_backward": "Exercise 3 (pool2d_backward)",
             "selftest": "Exercise 4 (self-test)", "dropout_forward": "Exercise 5 (dropout_forward)",
             "build_net": "Exercise 6 (build_net)", "overfit_gap": "Exercise 7 (overfit_gap, which_overfits)"}
BY_HAND = {"initialisers": NUMPY_ONLY, "conv2d_backward": GRADIENTS, "pool2d_backward": GRADIENTS,
           "dropout_forward": NUMPY_ONLY, "overfit_gap": OWN_WORK}
hidden = hidden_for(EXERCISES, BY_HAND)

TF_TOL = 1e-7
NUMERIC_TOL = 1e-6
N_SIGMA = 5.0


def _rng(seed):
    return np.random.default_rng(seed)


def rel_error(a, b):
    """Largest elementwise relative error ``|a - b| / max(1e-12, |a| + |b|)``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b)))) if a.size else 0.0


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
    return float(np.mean(w ** 4) / np.mean(w ** 2) ** 2)


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
        out.append(float(np.mean(x ** 2)))
        x = act(x)
    out = np.array(out)
    return out / out[0] if out[0] > 0 else out


def _check_initialiser(ex, init, name, variance, kurtosis, kind, activation, bound=None, seed=0):
    rng = _rng(seed)
    for n_in, n_out in [(300, 100), (64, 512), (256, 256), (1000, 50), (20, 1500)]:
        w = call(ex, init, n_in, n_out, np.random.default_rng(rng.integers(1 << 31)))
        w = _array(ex, w, (n_in, n_out), f"weight matrix of {name}({n_in}, {n_out}, rng)",
                   hint="Return an array of shape (n_in, n_out).")
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
            raise CheckFailed(ex, f"the sample variance of {name}({n_in}, {n_out}) is off by more than "
                                  f"{N_SIGMA:g} standard errors ({N_SIGMA * se:.2e}) of the formula's.",
                              expected=target, found=var,
                              hint=hint or ("For U(-a, a) the variance is a^2 / 3." if kind == "uniform"
                                            else "numpy's normal takes the standard deviation, not the variance."))
        k = _kurtosis(w)
        if abs(k - kurtosis) > 0.4:
            raise CheckFailed(ex, f"the values of {name} do not look {kind} (kurtosis {k:.2f}, a {kind} "
                                  f"distribution has {kurtosis:.1f}).",
                              hint="rng.uniform(low, high, size=...)" if kind == "uniform"
                              else "rng.normal(0, std, size=...)")
        if bound is not None and np.abs(w).max() > bound(n_in, n_out) + 1e-12:
            raise CheckFailed(ex, f"{name}({n_in}, {n_out}) has values outside [-a, a].",
                              expected=bound(n_in, n_out), found=float(np.abs(w).max()))
    a = call(ex, init, 40, 30, np.random.default_rng(123))
    b = call(ex, init, 40, 30, np.random.default_rng(123))
    c = call(ex, init, 40, 30, np.random.default_rng(124))
    if not np.array_equal(np.asarray(a), np.asarray(b)) or np.array_equal(np.asarray(a), np.asarray(c)):
        raise CheckFailed(ex, f"{name} should draw its numbers from the `rng` it is given.",
                          hint="Use rng.uniform / rng.normal, not np.random.*: the same rng state must "
                               "give the same weights.")
    ratios = signal_through_stack(init, activation)
    if not (0.25 <= ratios.min() and ratios.max() <= 4.0):
        raise CheckFailed(ex, f"through 20 layers ({activation}) with {name}, the signal's mean square should stay "
                              "within a factor of 4 of the first layer's.",
                          expected="between 0.25 and 4", found=f"from {ratios.min():.3g} to {ratios.max():.3g}")
    return ratios


def check_initialisers(xavier_uniform, he_normal, seed=30):
    """``xavier_uniform(n_in, n_out, rng)`` and ``he_normal(n_in, n_out, rng)`` by their statistics."""
    ex = EXERCISES["initialisers"]
    xavier_uniform, he_normal = (by_hand(ex, fn, NUMPY_ONLY) for fn in (xavier_uniform, he_normal))
    _check_initialiser(ex, xavier_uniform, "xavier_uniform", lambda i, o: 2.0 / (i + o), 1.8, "uniform",
                       "linear", bound=lambda i, o: math.sqrt(6.0 / (i + o)), seed=seed)
    _check_initialiser(ex, he_normal, "he_normal", lambda i, o: 2.0 / i, 3.0, "normal", "relu", seed=seed + 1)
    passed(ex, f"sample variances within {N_SIGMA:g} standard errors of the formulas, the right "
                      "distributions, and a steady signal through 20 layers")


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
    for name, g, e in zip(names, got, expected):
        err = rel_error(g, e)
        if err > tol:
            raise CheckFailed(ex, f"{name} differs from {oracle} for {case}: relative error {err:.2e} "
                                  f"(the limit is {tol:g}).", expected=e, found=g, hint=hints.get(name))


def check_conv2d_backward(conv2d_backward, conv2d_forward, seed=31):
    """``conv2d_backward(dout, cache) -> (dx, dw, db)`` against ``tf.GradientTape`` and finite differences."""
    ex = EXERCISES["conv2d_backward"]
    conv2d_backward = by_hand(ex, conv2d_backward, GRADIENTS)
    rng = _rng(seed)
    hints = {"dx": "dx is a full convolution of dout with the filters: add w * dout into every window the "
                   "forward pass read, then cut the padding off.",
             "dw": "dw[a, b, c, k] sums x_pad[n, i*S + a, j*S + b, c] * dout[n, i, j, k] over n, i, j: "
                   "mind the stride.",
             "db": "db[k] sums dout over the batch and both spatial axes."}
    cases = [((2, 5, 5, 1), (3, 2), 1, 0), ((2, 6, 6, 3), (3, 4), 1, 1), ((1, 7, 7, 2), (3, 3), 2, 0),
             ((2, 8, 7, 2), (2, 3), 2, 1), ((1, 9, 9, 3), (5, 2), 2, 2), ((3, 4, 4, 2), (1, 3), 1, 0),
             ((2, 6, 5, 2), (2, 2), 3, 0)]  # the last row is read by no window: its gradient is 0
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
        _compare_grads(ex, ["dx", "dw", "db"], [dx, dw, db], _tf_conv_grads(x, w, b, stride, pad, dout),
                       TF_TOL, "tf.GradientTape (float64)", case, hints)
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
    _compare_grads(ex, ["dx", "dw", "db"], [dx, dw, db], numeric, NUMERIC_TOL,
                   "finite differences", "x(2, 5, 5, 2), w(3, 3, 2, 2), stride=2, pad=1", hints)
    passed(ex, f"dx, dw, db match tf.GradientTape (relative error < {TF_TOL:g}) on {len(cases)} cases "
                      f"and finite differences (< {NUMERIC_TOL:g})")


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
    hints = {"max": "Only the largest input of each window gets that window's gradient; windows that "
                    "overlap add up (use +=, not =).",
             "avg": "Every input of a window gets dout / (size * size); overlapping windows add up."}
    cases = [((2, 4, 4, 1), 2, 2), ((1, 6, 6, 3), 2, 2), ((2, 7, 7, 2), 3, 2), ((1, 5, 8, 2), 3, 1),
             ((2, 6, 5, 1), 2, 1), ((1, 5, 5, 2), 2, 2)]  # the last leaves a row and a column unread
    for mode in ("max", "avg"):
        for shape, size, stride in cases:
            x = rng.normal(size=shape)
            out, cache = _forward(ex, pool2d_forward, x, size, stride, mode)
            dout = rng.normal(size=out.shape)
            dx = _array(ex, call(ex, pool2d_backward, dout, cache), x.shape, "dx",
                        hint="dx has the shape of the pooling layer's input.")
            case = f"{mode} pooling of x{shape}, size={size}, stride={stride}"
            _compare_grads(ex, ["dx"], [dx], [_tf_pool_grad(x, size, stride, mode, dout)], TF_TOL,
                           "tf.GradientTape (float64)", case, {"dx": hints[mode]})
    x = rng.normal(size=(1, 5, 5, 2))
    for mode in ("max", "avg"):
        out, cache = _forward(ex, pool2d_forward, x, 3, 2, mode)
        dout = rng.normal(size=out.shape)
        dx = call(ex, pool2d_backward, dout, cache)

        def loss(mode=mode, dout=dout):
            return float(np.sum(_forward(ex, pool2d_forward, x, 3, 2, mode)[0] * dout))

        _compare_grads(ex, ["dx"], [dx], [_numeric_grad(loss, x)], NUMERIC_TOL, "finite differences",
                       f"{mode} pooling of x(1, 5, 5, 2), size=3, stride=2", {"dx": hints[mode]})
    passed(ex, f"max and average pooling gradients match tf.GradientTape (< {TF_TOL:g}) and finite "
                      f"differences (< {NUMERIC_TOL:g}), overlapping windows included")


# --------------------------------------------------------------------------
# Exercise 5: dropout
# --------------------------------------------------------------------------
def check_dropout_forward(dropout_forward, seed=33):
    """``dropout_forward(h, p, training, rng)`` with p the drop probability and inverted scaling."""
    ex = EXERCISES["dropout_forward"]
    dropout_forward = by_hand(ex, dropout_forward, NUMPY_ONLY)
    rng = _rng(seed)
    h = rng.uniform(0.5, 2.0, size=(200, 300))
    h_copy = h.copy()
    for p in (0.0, 0.3, 0.5, 0.9):
        out = call(ex, dropout_forward, h, p, False, np.random.default_rng(1))
        out = _array(ex, out, h.shape, f"output at test time (p={p})")
        if not np.array_equal(out, h):
            hint = "Inverted dropout scales during training, so nothing changes at test time."
            if np.allclose(out, h * (1 - p)):
                hint = "That is the old, non-inverted dropout. " + hint
            raise CheckFailed(ex, f"at test time (training=False, p={p}) dropout must return h unchanged.",
                              hint=hint)
    out = _array(ex, call(ex, dropout_forward, h, 0.0, True, np.random.default_rng(2)), h.shape,
                 "output for p=0")
    if not np.allclose(out, h):
        raise CheckFailed(ex, "with p=0 nothing is dropped: the output must equal h.",
                          found=f"{np.mean(out == 0):.3f} of the values set to 0")
    for p in (0.1, 0.5, 0.8, 0.99):
        out = _array(ex, call(ex, dropout_forward, h, p, True, np.random.default_rng(int(p * 100))), h.shape,
                     f"output for p={p}")
        dropped = out == 0
        if np.all(dropped == dropped[0]):
            raise CheckFailed(ex, "every example (row) should get its own random mask: all rows were dropped "
                                  "alike.", hint="Draw a mask of h's full shape.")
        frac = float(dropped.mean())
        se = math.sqrt(p * (1 - p) / h.size)
        if abs(frac - p) > N_SIGMA * se:
            hint = "p is the probability of DROPPING a unit." if abs(frac - (1 - p)) < N_SIGMA * se else None
            raise CheckFailed(ex, f"with p={p} the fraction of zeros should be p (within {N_SIGMA:g} standard "
                                  f"errors, {N_SIGMA * se:.4f}).", expected=p, found=frac, hint=hint)
        kept = ~dropped
        if not np.allclose(out[kept], h[kept] / (1 - p)):
            hint = "Scale the kept units by 1 / (1 - p) so that the expectation stays h."
            if np.allclose(out[kept], h[kept]):
                hint = "The kept units are not rescaled. " + hint
            raise CheckFailed(ex, f"with p={p} the units that are kept must be h / (1 - p).", hint=hint)
        if p <= 0.8 and not np.isclose(out.mean(), h.mean(), rtol=0.02):
            raise CheckFailed(ex, f"with p={p} the mean of the output should stay close to h's mean.",
                              expected=float(h.mean()), found=float(out.mean()))
    if not np.array_equal(h, h_copy):
        raise CheckFailed(ex, "dropout_forward changed its input h in place.", hint="Return a new array.")
    a = call(ex, dropout_forward, h, 0.5, True, np.random.default_rng(5))
    b = call(ex, dropout_forward, h, 0.5, True, np.random.default_rng(5))
    if not np.array_equal(a, b):
        raise CheckFailed(ex, "the same rng state should give the same mask.",
                          hint="Draw the mask with the `rng` argument, not np.random.*.")
    for p in (1.0, 1.5, -0.1):
        expect_raises(ex, ValueError, dropout_forward, h, p, True, np.random.default_rng(0), what=f"p={p}",
                      hint="p must be in [0, 1): with p = 1 everything is dropped and 1 / (1 - p) is infinite.")
    passed(ex, "identity at test time and for p=0, drops a fraction p (up to p=0.99), keeps the "
                      "expectation, refuses p outside [0, 1)")


# --------------------------------------------------------------------------
# Exercises 6 and 7: the dropout experiment
# --------------------------------------------------------------------------
def expected_net(dropout_rate, n_in=64, hidden=256, n_classes=10):
    """The layer specification the experiment's network must have."""
    from .architecture import LayerSpec

    return [LayerSpec("Dense", (hidden,), (n_in + 1) * hidden, {"units": hidden}, "relu"),
            LayerSpec("Dropout", (hidden,), 0, {"rate": dropout_rate}),
            LayerSpec("Dense", (hidden,), (hidden + 1) * hidden, {"units": hidden}, "relu"),
            LayerSpec("Dropout", (hidden,), 0, {"rate": dropout_rate}),
            LayerSpec("Dense", (n_classes,), (hidden + 1) * n_classes, {"units": n_classes}, "softmax")]


def check_build_net(build_net):
    """``build_net(dropout_rate)``: the experiment's network, layer by layer."""
    from .architecture import check_architecture

    ex = EXERCISES["build_net"]
    for rate in (0.0, 0.5, 0.3):
        model = call(ex, build_net, rate)
        if model is None:
            raise CheckFailed(ex, "build_net returned None: did you forget to `return` the model?")
        check_architecture(model, expected_net(rate), exercise=f"{ex} with dropout_rate={rate}",
                           hint="Input(shape=(64,)), then Dense(256, relu), Dropout, Dense(256, relu), Dropout, "
                                "Dense(10, softmax).")
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
    return {"loss": list(loss), "val_loss": list(loss + gaps), "accuracy": list(rng.uniform(0, 1, epochs)),
            "val_accuracy": list(rng.uniform(0, 1, epochs))}


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
                raise CheckFailed(ex, f"overfit_gap is wrong on a made-up history of {epochs} epochs (last={last}"
                                      f"{', given as a keras.callbacks.History' if given is not fake else ''}).",
                                  expected=gap, found=got, hint=hint)
    for gaps in ({"a": 0.1, "b": 0.6, "c": 0.35}, {"a": 0.5, "b": -0.2, "c": 0.05}, {"a": 0.2, "b": 0.3, "c": 0.9}):
        # the earlier epochs rank the runs the other way round, so only the last 5 epochs give the right name
        fakes = {name: _made_up_history(rng, 10, 5, g, before=3 * (1 - g)) for name, g in gaps.items()}
        got = call(ex, which_overfits, fakes)
        best = max(gaps, key=gaps.get)
        if got != best:
            raise CheckFailed(ex, "which_overfits should return the name (key) of the history with the largest "
                                  f"gap over the last 5 epochs (made-up gaps {gaps}).", expected=best, found=got)
    detail = "made-up histories"
    if histories is not None:
        gaps = {name: float(call(ex, overfit_gap, h)) for name, h in histories.items()}
        best = max(gaps, key=gaps.get)
        got = call(ex, which_overfits, histories)
        shown = {name: round(g, 3) for name, g in gaps.items()}
        if got != best:
            raise CheckFailed(ex, f"on your own training histories your overfit_gap finds the largest gap in "
                                  f"{best!r} (gaps {shown}).", expected=best, found=got)
        detail += f" and your own training runs (gaps {shown})"
    passed(ex, f"correct on {detail}")


# --------------------------------------------------------------------------
# Exercise 4: the self-test
# --------------------------------------------------------------------------
def check_choice(answer, choices="ABCD", exercise="Exercise 4 (self-test)"):
    """Only the format: one of the letters. The answer itself is graded by a hidden test."""
    answer = plain(answer)
    if not isinstance(answer, str) or answer.strip().upper() not in choices:
        raise CheckFailed(exercise, f"the answer should be one of the letters {', '.join(choices)}.", found=answer)
    passed(exercise, f"answer {answer.strip().upper()!r} recorded (graded when the lab is collected)")
