"""Checks for Lab 2, the arithmetic of convolutional layers.

The oracle is Keras itself: the checks build the real layers the student's
formula describes (on a symbolic ``keras.Input``, so nothing is trained or
even run) and read what Keras built: ``layer.output.shape`` and
``count_params()``. Multiplications are counted by TensorFlow's profiler on
the traced graph. A model table is checked one row at a time, each layer
built by Keras on the output shape of the row before it. Receptive fields
are checked by the properties that define them (one layer sees its filter;
a layer under a stack spreads the stack's view by its stride); the grader
also measures them with ``tf.GradientTape``. Cases come from tables with the
lecture's examples plus random cases drawn with a fixed seed, so a student
sees the same cases every time they run a check cell.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from .by_hand import ARITHMETIC, by_hand
from .core import CheckFailed, call, expect_equal, expect_raises, passed
from .hidden import hidden_for

EXERCISES = {
    "conv_output_size": "Exercise 1 (conv_output_size)",
    "layer_params": "Exercise 2 (conv_params, dense_params)",
    "model_table": "Exercise 3 (model_table)",
    "bottleneck_params": "Exercise 4 (bottleneck_params)",
    "inception": "Exercise 5 (inception_output_shape, inception_multiplies)",
    "separable": "Exercise 6 (separable_params, separable_ratio)",
    "receptive_field": "Exercise 7 (receptive_field)",
    "fire": "Exercise 8 (fire_filters, fire_params)",
    "branch_share": "Question 1 (five_by_five_share)",
    "stack_of_3x3": "Question 2 (layers_for_11, stack_weight_fraction)",
}
BY_HAND = dict.fromkeys(EXERCISES, ARITHMETIC)  # every count from its formula: no Keras model to read it from
hidden = hidden_for(EXERCISES, BY_HAND)


def _by_hand(key, *fns):
    """The exercise's name and the student's functions held to its rules."""
    ex = EXERCISES[key]
    return (ex,) + tuple(by_hand(ex, fn, BY_HAND[key]) for fn in fns)


def _rng(seed):
    return np.random.default_rng(seed)


def _keras():
    import keras

    return keras


def _as_int(ex, value, what):
    """Accept Python and NumPy integers; a float, even ``55.0``, fails with the lab's rule (never floats)."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise CheckFailed(
            ex,
            f"the {what} should be a whole number.",
            found=value,
            hint="Did you forget to `return` it?" if value is None else None,
        )
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        raise CheckFailed(
            ex,
            f"the {what} is a float ({value!r}); sizes and counts are ints.",
            found=value,
            hint="`/` always gives a float in Python 3: use `//` once you know the division is exact "
            "(a float size breaks np.zeros and Keras shapes).",
        )
    raise CheckFailed(
        ex,
        f"the {what} should be a whole number.",
        found=value,
        hint="Use integer arithmetic (//) once you know the division is exact.",
    )


# --------------------------------------------------------------------------
# Oracles: what Keras builds, what TensorFlow counts
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_conv_output(n, f, stride=1, pad=0, dilation=1):
    """Spatial output size of a Keras ``Conv2D`` on an n x n input.

    Args:
        n: input height (and width).
        f: filter size.
        stride: the convolution's stride.
        pad: ``"valid"``, ``"same"`` or a number of zero rows/columns added on every
            side (a ``ZeroPadding2D`` before a valid convolution).
        dilation: the dilation rate.

    Returns:
        The output height Keras builds.
    """
    keras = _keras()
    inp = keras.Input(shape=(n, n, 1))
    x = inp
    padding = pad if isinstance(pad, str) else "valid"
    if not isinstance(pad, str) and pad:
        x = keras.layers.ZeroPadding2D(pad)(x)
    y = keras.layers.Conv2D(1, f, strides=stride, padding=padding, dilation_rate=dilation)(x)
    return int(y.shape[1])


@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_conv_params(f, d_in, k, bias=True):
    keras = _keras()
    layer = keras.layers.Conv2D(k, f, use_bias=bias)
    layer.build((None, 2 * f, 2 * f, d_in))
    return int(layer.count_params())


@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_dense_params(n_in, n_out, bias=True):
    keras = _keras()
    layer = keras.layers.Dense(n_out, use_bias=bias)
    layer.build((None, n_in))
    return int(layer.count_params())


@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_separable_params(f, d_in, k, depth_multiplier=1, bias=True):
    keras = _keras()
    layer = keras.layers.SeparableConv2D(k, f, depth_multiplier=depth_multiplier, use_bias=bias)
    layer.build((None, 2 * f, 2 * f, d_in))
    return int(layer.count_params())


def _keras_layers_of(layer):
    """The Keras layers one entry of a lab-2 specification stands for (see :func:`check_model_table`).

    Args:
        layer: a tuple such as ``("conv", k, f, stride, pad)`` or ``("dense", units)``.

    Returns:
        A list of Keras layers, applied one after the other.
    """
    L = _keras().layers

    def conv(k, f, stride, pad):
        if isinstance(pad, str):
            return [L.Conv2D(k, f, strides=stride, padding=pad)]
        return ([L.ZeroPadding2D(pad)] if pad else []) + [L.Conv2D(k, f, strides=stride)]

    makers = {
        "conv": conv,
        "pool": lambda size, stride: [L.MaxPooling2D(size, strides=stride)],
        "flatten": lambda: [L.Flatten()],
        "dense": lambda units: [L.Dense(units)],
    }
    if layer[0] not in makers:
        raise ValueError(f"unknown layer kind {layer[0]!r}")
    return makers[layer[0]](*layer[1:])


def _keras_inception(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
    """A GoogLeNet inception module in Keras (all branches 'same', stride 1, no biases)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input(shape=(size, size, d_in))
    b1 = L.Conv2D(n1x1, 1, padding="same", use_bias=False)(inp)
    b3 = L.Conv2D(reduce3, 1, padding="same", use_bias=False)(inp) if reduce3 else inp
    b3 = L.Conv2D(n3x3, 3, padding="same", use_bias=False)(b3)
    b5 = L.Conv2D(reduce5, 1, padding="same", use_bias=False)(inp) if reduce5 else inp
    b5 = L.Conv2D(n5x5, 5, padding="same", use_bias=False)(b5)
    bp = L.MaxPooling2D(3, strides=1, padding="same")(inp)
    if pool_proj:
        bp = L.Conv2D(pool_proj, 1, padding="same", use_bias=False)(bp)
    out = L.Concatenate()([b1, b3, b5, bp])
    return keras.Model(inp, out)


@functools.lru_cache(maxsize=1024)
def _inception_reference(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
    """``(output shape, multiplications)`` of :func:`_keras_inception`'s module, as Keras and TensorFlow count them."""
    model = _keras_inception(size, d_in, n1x1, n3x3, n5x5, reduce3, reduce5, pool_proj)
    return tuple(int(d) for d in model.output.shape[1:]), _profiled_multiplies(model)


def _profiled_multiplies(model):
    """Multiplications of a Keras model's convolutions, counted by TensorFlow's profiler.

    TensorFlow traces the model for one input and counts the floating-point
    operations of every ``Conv2D`` op in the graph: a multiply and an add for
    each product, so half of that count is the number of multiplications.

    Args:
        model: a Keras model with one input of fixed shape.

    Returns:
        The number of multiplications its convolutions do for one input.
    """
    import tensorflow as tf

    shape = (1,) + tuple(int(d) for d in model.input.shape[1:])
    graph = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec(shape, tf.float32)).graph
    options = dict(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation(), account_type_regexes=["Conv2D"], output="none"
    )
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the profiler is a v1 API and says so
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flops = tf.compat.v1.profiler.profile(graph, options=options).total_float_ops
    finally:
        logger.setLevel(level)
    return int(flops) // 2


# --------------------------------------------------------------------------
# Exercise 1: output size
# --------------------------------------------------------------------------
def _fits(n, f, stride, pad, dilation):
    eff = dilation * (f - 1) + 1
    return n + 2 * pad - eff >= 0 and (n + 2 * pad - eff) % stride == 0


def check_conv_output_size(conv_output_size, seed=20):
    """Check ``conv_output_size`` against the output sizes Keras builds.

    Fifteen lecture cases and fifteen random ones with a numeric padding
    (dilation included) are compared with a ``Conv2D`` (after a
    ``ZeroPadding2D``) on a symbolic input; sizes where the filter does not
    fit evenly, or not at all, must raise ``ValueError``; ``pad="same"`` and
    ``pad="valid"`` must give what Keras gives for those paddings.

    Args:
        conv_output_size: the student's ``conv_output_size(n, f, stride=1,
            pad=0, dilation=1)``, held to the
            :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.
        seed: the seed of the random cases (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, conv_output_size = _by_hand("conv_output_size", conv_output_size)
    rng = _rng(seed)
    table = [  # n, f, stride, pad, dilation: the lecture's cases first
        (7, 3, 1, 0, 1),
        (7, 3, 2, 0, 1),
        (7, 3, 1, 1, 1),
        (227, 11, 4, 0, 1),
        (32, 5, 1, 2, 1),
        (28, 5, 1, 0, 1),
        (28, 5, 1, 2, 1),
        (27, 3, 2, 0, 1),
        (13, 3, 1, 1, 1),
        (9, 3, 1, 0, 2),
        (10, 3, 1, 2, 2),
        (15, 5, 1, 1, 3),
        (5, 1, 1, 0, 1),
        (11, 4, 1, 0, 1),
        (224, 4, 4, 0, 1),
    ]
    cases = list(table)
    while len(cases) < len(table) + 15:
        f = int(rng.choice([1, 2, 3, 5, 7]))
        d = int(rng.choice([1, 1, 1, 2]))
        s = 1 if d > 1 else int(rng.integers(1, 4))
        p = int(rng.integers(0, 4))
        n = int(rng.integers(d * (f - 1) + 1, 40))
        if _fits(n, f, s, p, d):
            cases.append((n, f, s, p, d))
    for n, f, s, p, d in cases:
        got = call(ex, conv_output_size, n, f, stride=s, pad=p, dilation=d)
        expected = _keras_conv_output(n, f, s, p, d)
        got = _as_int(ex, got, f"output size for n={n}, f={f}, stride={s}, pad={p}, dilation={d}")
        hint = None
        if d > 1 and got == _keras_conv_output(n, f, s, p, 1):
            hint = "A dilated f x f filter spans dilation * (f - 1) + 1 pixels."
        elif p and got == (n - f + p) // s + 1:
            hint = "Padding is added on both sides: 2P, not P."
        expect_equal(
            ex,
            got,
            expected,
            what=f"output size for n={n}, f={f}, stride={s}, pad={p}, dilation={d}",
            hint=hint or "(N - F + 2P) / S + 1, with F the filter's effective size.",
        )
    for n, f, s, p in [(7, 3, 3, 0), (10, 3, 2, 0), (227, 11, 5, 0), (8, 5, 2, 1)]:
        expect_raises(
            ex,
            ValueError,
            conv_output_size,
            n,
            f,
            stride=s,
            pad=p,
            what=f"n={n}, f={f}, stride={s}, pad={p} (the filter does not fit evenly)",
            hint="When (N - F + 2P) is not a multiple of S, raise ValueError.",
        )
    expect_raises(
        ex,
        ValueError,
        conv_output_size,
        4,
        7,
        what="a 7x7 filter on a 4x4 input with no padding",
        hint="The filter must fit in the (padded) input.",
    )
    for n, f, d in [(3, 5, 1), (6, 4, 2)]:
        expect_raises(
            ex,
            ValueError,
            conv_output_size,
            n,
            f,
            pad="valid",
            dilation=d,
            what=f"pad='valid' with a {f}x{f} filter (dilation {d}) on a {n}x{n} input",
            hint="With 'valid' padding the filter's span, dilation * (f - 1) + 1, must fit in n.",
        )
    n_str = 0
    for n, f, s, d in [
        (7, 3, 3, 1),
        (7, 3, 2, 1),
        (28, 5, 1, 1),
        (227, 11, 4, 1),
        (10, 3, 3, 1),
        (9, 3, 1, 2),
        (13, 2, 2, 1),
        (16, 5, 3, 1),
    ]:
        for mode in ("same", "valid"):
            got = call(ex, conv_output_size, n, f, stride=s, pad=mode, dilation=d)
            got = _as_int(ex, got, f"output size for pad={mode!r}")
            expected = _keras_conv_output(n, f, s, mode, d)
            hint = (
                "Keras 'same' gives ceil(N / S) whatever the filter size."
                if mode == "same"
                else "Keras 'valid' uses no padding and rounds down: floor((N - F) / S) + 1."
            )
            expect_equal(
                ex,
                got,
                expected,
                what=f"output size for n={n}, f={f}, stride={s}, dilation={d}, pad={mode!r}",
                hint=hint,
            )
            n_str += 1
    passed(
        ex, f"matches Keras on {len(cases)} numeric cases and {n_str} 'same'/'valid' cases; uneven strides are refused"
    )


# --------------------------------------------------------------------------
# Exercise 2: parameters of one layer
# --------------------------------------------------------------------------
def check_layer_params(conv_params, dense_params, seed=21):
    """Check ``conv_params`` and ``dense_params`` against Keras' ``count_params()``.

    Fifteen convolutions and ten dense layers (the lecture's among them),
    each with and without biases.

    Args:
        conv_params: the student's ``conv_params(f, d_in, k, bias=True)``.
        dense_params: the student's ``dense_params(n_in, n_out, bias=True)``.
            Both are held to the :data:`~cnncourse.checks.by_hand.ARITHMETIC`
            rules.
        seed: the seed of the random layers (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every count matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, conv_params, dense_params = _by_hand("layer_params", conv_params, dense_params)
    rng = _rng(seed)
    convs = [(5, 3, 10), (11, 3, 96), (3, 64, 128), (1, 256, 64), (5, 1, 6), (5, 6, 16), (3, 1, 1)]
    convs += [(int(rng.choice([1, 3, 5, 7])), int(rng.integers(1, 65)), int(rng.integers(1, 129))) for _ in range(8)]
    for f, d, k in convs:
        for bias in (True, False):
            got = _as_int(ex, call(ex, conv_params, f, d, k, bias=bias), "parameter count")
            expected = _keras_conv_params(f, d, k, bias)
            hint = None
            if bias and got == f * f * d * k:
                hint = "Every filter has one bias: add K."
            elif bias and got == f * f * d * k + 1:
                hint = "There is one bias per filter, K in all, not one for the layer."
            elif got == f * f * k + (k if bias else 0):
                hint = "Each filter spans the whole input depth: F * F * D1 weights."
            expect_equal(
                ex,
                got,
                expected,
                what=f"conv_params(f={f}, d_in={d}, k={k}, bias={bias})",
                hint=hint or "(F * F * D1 + 1) * K with biases, F * F * D1 * K without.",
            )
    denses = [(400, 120), (120, 84), (84, 10), (9216, 4096), (1, 1)]
    denses += [(int(rng.integers(1, 500)), int(rng.integers(1, 300))) for _ in range(5)]
    for n_in, n_out in denses:
        for bias in (True, False):
            got = _as_int(ex, call(ex, dense_params, n_in, n_out, bias=bias), "parameter count")
            expected = _keras_dense_params(n_in, n_out, bias)
            expect_equal(
                ex,
                got,
                expected,
                what=f"dense_params({n_in}, {n_out}, bias={bias})",
                hint="A dense layer has n_in * n_out weights and one bias per output.",
            )
    passed(ex, f"matches Keras' count_params() on {2 * len(convs)} conv and {2 * len(denses)} dense layers")


# --------------------------------------------------------------------------
# Exercise 3: a whole model, layer by layer
# --------------------------------------------------------------------------
LENET5 = [
    ("conv", 6, 5, 1, 2),
    ("pool", 2, 2),
    ("conv", 16, 5, 1, 0),
    ("pool", 2, 2),
    ("flatten",),
    ("dense", 120),
    ("dense", 84),
    ("dense", 10),
]
MINI_ALEXNET = [
    ("conv", 48, 11, 4, 0),
    ("pool", 3, 2),
    ("conv", 128, 5, 1, 2),
    ("pool", 3, 2),
    ("conv", 192, 3, 1, 1),
    ("conv", 192, 3, 1, 1),
    ("conv", 128, 3, 1, 1),
    ("pool", 3, 2),
    ("flatten",),
    ("dense", 512),
    ("dense", 512),
    ("dense", 10),
]


UNEVEN = [("conv", 8, 3, 1, 0), ("pool", 3, 2), ("conv", 6, 3, 2, "same"), ("pool", 2, 2), ("flatten",), ("dense", 5)]
"""Pools whose windows do not divide the size (18 -> 8, not 9) and a 'same' convolution with a stride."""


def _random_spec(rng):
    spec, n = [], int(rng.integers(20, 64))
    size = n
    for _ in range(int(rng.integers(1, 4))):
        f = int(rng.choice([1, 3, 5]))
        p = int(rng.choice([0, (f - 1) // 2]))
        s = int(rng.choice([1, 1, 2]))
        if not _fits(size, f, s, p, 1):
            s = 1
        if size + 2 * p < f:  # the pooling left less than the filter: pad so that it fits (no draw changes)
            p = (f - 1) // 2
        spec.append(("conv", int(rng.integers(2, 33)), f, s, p))
        size = (size - f + 2 * p) // s + 1
        if size >= 4 and rng.random() < 0.6:  # a window that may not divide the size: Keras drops the rest
            pool = (2, 2) if rng.random() < 0.5 else (3, 2)
            spec.append(("pool",) + pool)
            size = (size - pool[0]) // pool[1] + 1
    spec += [("flatten",), ("dense", int(rng.integers(5, 60))), ("dense", int(rng.integers(2, 11)))]
    return spec, (n, n, int(rng.integers(1, 4)))


def check_model_table(model_table, seed=22):
    """Check ``model_table`` row by row against the layer Keras builds.

    Each row is compared with the Keras layer of that entry of ``spec``, built
    on the output shape of the row before it (the first on ``input_shape``):
    the rows are checked in order, so when all of them match, the whole table
    is what Keras builds for the model. The models are LeNet-5, a
    mini-AlexNet, a model with uneven pools and a strided ``"same"``
    convolution, and four random models.

    Args:
        model_table: the student's ``model_table(spec, input_shape)``,
            returning one ``(output_shape, params)`` row per entry of
            ``spec``; held to the :data:`~cnncourse.checks.by_hand.ARITHMETIC`
            rules.
        seed: the seed of the random models (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every row matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, model_table = _by_hand("model_table", model_table)
    keras = _keras()
    rng = _rng(seed)
    cases = [
        ("LeNet-5", LENET5, (28, 28, 1)),
        ("mini-AlexNet", MINI_ALEXNET, (227, 227, 3)),
        ("an uneven model", UNEVEN, (20, 20, 3)),
    ]
    cases += [(f"random model {i + 1}",) + _random_spec(rng) for i in range(4)]
    for name, spec, shape in cases:
        rows = call(ex, model_table, spec, shape)
        if rows is None:
            raise CheckFailed(ex, "model_table returned None: did you forget to `return` the rows?")
        rows = list(rows)
        if len(rows) != len(spec):
            raise CheckFailed(
                ex, f"for {name} the table should have one row per layer.", expected=len(spec), found=len(rows)
            )
        seen = tuple(shape)  # what the layer of this row receives
        for i, (layer, row) in enumerate(zip(spec, rows)):
            try:
                got_shape, got_params = tuple(int(v) for v in row[0]), row[1]
            except (TypeError, ValueError, IndexError):
                raise CheckFailed(ex, f"row {i + 1} of {name} should be (output_shape, params).", found=row) from None
            x = keras.Input(shape=seen)
            built = _keras_layers_of(layer)
            for keras_layer in built:
                x = keras_layer(x)
            exp_shape = tuple(int(d) for d in x.shape[1:])
            exp_params = sum(int(keras_layer.count_params()) for keras_layer in built)
            where = f"{name}, layer {i + 1} {layer} on input {seen}"
            if got_shape != exp_shape:
                raise CheckFailed(
                    ex,
                    f"wrong output shape at {where}.",
                    expected=exp_shape,
                    found=got_shape,
                    hint="Pooling keeps the depth; flatten multiplies all three sizes.",
                )
            got_params = _as_int(ex, got_params, f"parameter count at {where}")
            expect_equal(
                ex,
                got_params,
                exp_params,
                what=f"parameter count at {where}",
                hint="Pooling and flatten have no parameters; a layer's weights span the depth of the layer before it.",
            )
            seen = got_shape
    passed(
        ex,
        f"every row matches the layer Keras builds, for LeNet-5, a mini-AlexNet, a model with uneven "
        f"pools and {len(cases) - 3} random models",
    )


# --------------------------------------------------------------------------
# Exercise 4: 1x1 bottlenecks
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_bottleneck(d_in, k, f, reduce):
    keras = _keras()
    inp = keras.Input(shape=(2 * f + 2, 2 * f + 2, d_in))
    x = keras.layers.Conv2D(reduce, 1, use_bias=False)(inp) if reduce else inp
    x = keras.layers.Conv2D(k, f, use_bias=False)(x)
    return int(keras.Model(inp, x).count_params())


def check_bottleneck_params(bottleneck_params, seed=23):
    """Check ``bottleneck_params`` (no biases) against Keras.

    The count of an optional 1x1 reduction followed by an FxF convolution,
    compared with ``count_params()`` of the Keras model, on the lecture's
    cases and six random ones.

    Args:
        bottleneck_params: the student's ``bottleneck_params(d_in, k, f=3,
            reduce=None)``, held to the
            :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.
        seed: the seed of the random cases (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every count matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, bottleneck_params = _by_hand("bottleneck_params", bottleneck_params)
    rng = _rng(seed)
    cases = [(256, 32, 3, None), (256, 32, 3, 128), (256, 32, 3, 64), (192, 128, 3, 96), (192, 32, 5, 16)]
    cases += [
        (
            int(rng.integers(16, 512)),
            int(rng.integers(8, 256)),
            int(rng.choice([3, 5, 7])),
            rng.choice([None, int(rng.integers(4, 128))]),
        )
        for _ in range(6)
    ]
    for d_in, k, f, reduce in cases:
        got = _as_int(ex, call(ex, bottleneck_params, d_in, k, f=f, reduce=reduce), "parameter count")
        expected = _keras_bottleneck(d_in, k, f, reduce)
        hint = None
        if reduce and got == reduce * d_in + f * f * d_in * k:
            hint = "After the 1x1 layer the FxF filters see only `reduce` channels, not d_in."
        expect_equal(
            ex,
            got,
            expected,
            what=f"bottleneck_params(d_in={d_in}, k={k}, f={f}, reduce={reduce})",
            hint=hint or "1x1 layer: reduce * 1 * 1 * d_in weights; then k * f * f * reduce.",
        )
    passed(ex, f"matches Keras on {len(cases)} cases, the lecture's 73,728 / 69,632 / 34,816 included")


# --------------------------------------------------------------------------
# Exercise 5: the inception module
# --------------------------------------------------------------------------
INCEPTION_CASES = [  # size, d_in, n1x1, n3x3, n5x5, reduce3, reduce5, pool_proj
    (28, 256, 128, 192, 96, None, None, None),
    (28, 256, 128, 192, 96, 64, 64, 64),
    (28, 192, 64, 128, 32, 96, 16, 32),
    (14, 480, 192, 208, 48, 96, 16, 64),
    (7, 832, 384, 384, 128, 192, 48, 128),
    (12, 40, 16, 24, 8, None, 6, None),
]


def check_inception(inception_output_shape, inception_multiplies, seed=24):
    """Check an inception module's output shape (read from Keras) and multiplications (counted by TensorFlow).

    The module (1x1, 3x3 and 5x5 branches with optional 1x1 reductions, a
    3x3 max-pool branch with an optional projection; all ``"same"``, no
    biases) is built in Keras for six table cases and three random ones; its
    multiplications are counted by TensorFlow's profiler on the traced graph.

    Args:
        inception_output_shape: the student's ``inception_output_shape(size,
            d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None,
            pool_proj=None)``, returning ``(height, width, depth)``.
        inception_multiplies: the student's ``inception_multiplies`` (same
            arguments), returning the number of multiplications. Both are
            held to the :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.
        seed: the seed of the random modules (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, inception_output_shape, inception_multiplies = _by_hand(
        "inception", inception_output_shape, inception_multiplies
    )
    rng = _rng(seed)
    cases = list(INCEPTION_CASES)
    for _ in range(3):
        cases.append(
            (
                int(rng.integers(4, 30)),
                int(rng.integers(8, 300)),
                int(rng.integers(4, 64)),
                int(rng.integers(4, 64)),
                int(rng.integers(4, 64)),
                rng.choice([None, int(rng.integers(4, 64))]),
                rng.choice([None, int(rng.integers(4, 32))]),
                rng.choice([None, int(rng.integers(4, 64))]),
            )
        )
    for size, d_in, n1, n3, n5, r3, r5, pp in cases:
        kwargs = dict(reduce3=r3, reduce5=r5, pool_proj=pp)
        desc = f"size={size}, d_in={d_in}, n1x1={n1}, n3x3={n3}, n5x5={n5}, reduce3={r3}, reduce5={r5}, pool_proj={pp}"
        expected_shape, expected_multiplies = _inception_reference(size, d_in, n1, n3, n5, r3, r5, pp)
        got = call(ex, inception_output_shape, size, d_in, n1, n3, n5, **kwargs)
        try:
            got = tuple(int(v) for v in got)
        except TypeError:
            raise CheckFailed(ex, "inception_output_shape should return (height, width, depth).", found=got) from None
        expected = expected_shape
        hint = None
        if not pp and len(got) == 3 and got[2] == n1 + n3 + n5:
            hint = "The max-pooling branch keeps all d_in channels, and they are concatenated too."
        expect_equal(
            ex,
            got,
            expected,
            what=f"output shape for {desc}",
            hint=hint or "Every branch keeps the spatial size; depths add up.",
        )
        got = _as_int(ex, call(ex, inception_multiplies, size, d_in, n1, n3, n5, **kwargs), "multiplication count")
        expected = expected_multiplies
        hint = None
        if got != expected and r3 and got == expected + size * size * n3 * 9 * r3:
            hint = "You count the 3x3 branch twice."
        elif got != expected and (r3 or r5 or pp) and got == _inception_reference(size, d_in, n1, n3, n5)[1]:
            hint = "With 1x1 reductions the big filters see only the reduced depth, and the 1x1 layers cost too."
        expect_equal(
            ex,
            got,
            expected,
            what=f"multiplications for {desc}",
            hint=hint or "A conv layer does H_out * W_out * K * (F * F * D_in) multiplications; pooling does none.",
        )
    passed(
        ex,
        f"output shapes match Keras and multiplication counts match TensorFlow's profiler on "
        f"{len(cases)} inception modules",
    )


# --------------------------------------------------------------------------
# Exercise 6: separable convolutions
# --------------------------------------------------------------------------
def check_separable(separable_params, separable_ratio, seed=25):
    """Check ``separable_params`` against Keras' ``SeparableConv2D`` and ``separable_ratio`` against both layers.

    Twelve layers (depth multipliers 1 to 3 among them), each count with and
    without biases; the ratio is the separable count over the standard
    count, both without biases (a ratio upside down is told as such).

    Args:
        separable_params: the student's ``separable_params(f, d_in, k,
            depth_multiplier=1, bias=True)``.
        separable_ratio: the student's ``separable_ratio(f, d_in, k)``. Both
            are held to the :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.
        seed: the seed of the random layers (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, separable_params, separable_ratio = _by_hand("separable", separable_params, separable_ratio)
    rng = _rng(seed)
    cases = [(3, 32, 64, 1), (3, 256, 256, 1), (5, 3, 16, 1), (3, 728, 728, 1), (3, 16, 32, 2), (1, 8, 8, 1)]
    cases += [
        (
            int(rng.choice([3, 5, 7])),
            int(rng.integers(1, 300)),
            int(rng.integers(1, 300)),
            int(rng.choice([1, 1, 2, 3])),
        )
        for _ in range(6)
    ]
    for f, d, k, m in cases:
        for bias in (True, False):
            got = _as_int(ex, call(ex, separable_params, f, d, k, depth_multiplier=m, bias=bias), "parameter count")
            expected = _keras_separable_params(f, d, k, m, bias)
            hint = None
            if bias and got == expected + d * m:
                hint = "Keras' SeparableConv2D has biases only after the pointwise step: K of them."
            elif got == _keras_conv_params(f, d, k, bias):
                hint = "That is a standard convolution. Depthwise: one FxF filter per input channel."
            expect_equal(
                ex,
                got,
                expected,
                what=f"separable_params(f={f}, d_in={d}, k={k}, depth_multiplier={m}, bias={bias})",
                hint=hint or "depthwise F*F*D1*M, then pointwise 1*1*(D1*M)*K, then K biases.",
            )
        ratio = call(ex, separable_ratio, f, d, k)
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            raise CheckFailed(ex, "separable_ratio should return a number.", found=ratio) from None
        expected = _keras_separable_params(f, d, k, 1, False) / _keras_conv_params(f, d, k, False)
        if abs(ratio - 1 / expected) < 1e-9 and abs(expected - 1) > 1e-9:
            raise CheckFailed(
                ex,
                f"separable_ratio({f}, {d}, {k}) is upside down.",
                expected=expected,
                found=ratio,
                hint="separable parameters divided by standard parameters (no biases): below 1.",
            )
        if not np.isclose(ratio, expected, rtol=1e-9):
            raise CheckFailed(
                ex,
                f"separable_ratio({f}, {d}, {k}) is wrong.",
                expected=expected,
                found=ratio,
                hint="Divide the separable count by the standard count, both without biases.",
            )
    passed(ex, f"matches Keras' SeparableConv2D and Conv2D on {len(cases)} layers")


# --------------------------------------------------------------------------
# Exercise 7: receptive field
# --------------------------------------------------------------------------
def check_receptive_field(receptive_field, seed=26):
    """Check ``receptive_field`` by the properties that define it.

    One layer sees its own filter: ``f`` pixels, whatever its stride. A layer
    ``(f, s)`` under a stack that sees ``r`` of its outputs sees
    ``f + (r - 1) * s`` input pixels: those outputs are ``s`` pixels apart and
    each sees ``f``. Every stack is checked after all the stacks above its
    first layer, so the two properties pin down every answer.

    Args:
        receptive_field: the student's ``receptive_field(layers)``, with
            ``layers`` a list of ``(f, stride)`` from the input up; held to
            the :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.
        seed: the seed of the random stacks (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every stack is right.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, receptive_field = _by_hand("receptive_field", receptive_field)
    rng = _rng(seed)
    cases = [
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(3, 1), (3, 1), (3, 1)],
        [(5, 1)],
        [(7, 1)],
        [(3, 2), (3, 1)],
        [(11, 4), (5, 1)],
        [(2, 2), (2, 2), (3, 1)],
        [(1, 1), (1, 1)],
        [(3, 2), (3, 2), (3, 2), (3, 1)],
    ]
    for _ in range(5):
        depth = int(rng.integers(2, 5))
        cases.append([(int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 1, 2]))) for _ in range(depth)])
    known = {}
    for f in (1, 2, 3, 5, 7, 11):
        for s in (1, 2, 4):
            got = _as_int(ex, call(ex, receptive_field, [(f, s)]), f"receptive field of [({f}, {s})]")
            expect_equal(
                ex,
                got,
                f,
                what=f"receptive field of the single layer [({f}, {s})]",
                hint="One layer sees its f x f filter: f pixels, whatever its stride.",
            )
            known[((f, s),)] = got
    n_stacks = 0
    for case in cases:
        for start in range(len(case) - 1, -1, -1):  # the top layer first, then one more below each time
            layers = tuple(case[start:])
            if layers in known:
                continue
            (f, s), what = layers[0], f"receptive field of {list(layers)}"
            got = _as_int(ex, call(ex, receptive_field, list(layers)), what)
            if len(layers) == 1:
                expect_equal(ex, got, f, what=what, hint="One layer sees its f x f filter: f pixels.")
            else:
                above = known[layers[1:]]
                hint = (
                    f"The layers above the first see {above} of its outputs, {s} input pixel(s) apart, "
                    f"and each of those sees {f} pixels."
                )
                if got == 1 + sum(g - 1 for g, _ in layers) and s > 1:
                    hint = "A stride multiplies how far the next layers' filters reach in the input."
                expect_equal(ex, got, f + (above - 1) * s, what=what, hint=hint)
                n_stacks += 1
            known[layers] = got
    passed(
        ex,
        f"a single layer sees its filter (18 layers), and in {n_stacks} stacks the bottom layer spreads "
        "what the layers above it see by its stride",
    )


# --------------------------------------------------------------------------
# Exercise 8: SqueezeNet's fire module
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)  # a pure function of its numbers; checks ask again and again
def _keras_fire(d_in, s1, e1, e3):
    keras = _keras()
    inp = keras.Input(shape=(8, 8, d_in))
    s = keras.layers.Conv2D(s1, 1)(inp)
    a = keras.layers.Conv2D(e1, 1)(s)
    b = keras.layers.Conv2D(e3, 3, padding="same")(s)
    return int(keras.Model(inp, keras.layers.Concatenate()([a, b])).count_params())


def check_fire(fire_filters, fire_params, seed=27):
    """Check ``fire_filters`` by its defining ratios and ``fire_params`` against Keras.

    The filter counts must give all ``expand`` filters, the squeeze ratio
    ``s1x1 / expand`` and the 3x3 share ``e3x3 / expand`` (to half a
    filter); a squeeze ratio outside (0, 1] or a 3x3 share outside [0, 1]
    must raise ``ValueError``. The parameters of a fire module (all
    convolutions with biases) are compared with ``count_params()``.

    Args:
        fire_filters: the student's ``fire_filters(expand, sr, pct3x3)``,
            returning ``(s1x1, e1x1, e3x3)``.
        fire_params: the student's ``fire_params(d_in, s1x1, e1x1, e3x3)``.
            Both are held to the :data:`~cnncourse.checks.by_hand.ARITHMETIC`
            rules.
        seed: the seed of the random cases (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case is right.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: a case gives a wrong answer or an answer that is not a
            whole number, a case that must raise ``ValueError`` does not, or
            a function crashes.
    """
    ex, fire_filters, fire_params = _by_hand("fire", fire_filters, fire_params)
    rng = _rng(seed)
    cases = [
        (128, 0.125, 0.5),
        (256, 0.125, 0.5),
        (512, 0.125, 0.5),
        (128, 0.25, 0.75),
        (64, 1.0, 0.25),
        (200, 0.5, 0.0),
        (96, 0.75, 1.0),
        (70, 0.21, 0.67),  # 14.7 squeeze and 46.9 3x3 filters: rounding, not truncation
    ]
    for _ in range(5):
        e = int(rng.choice([64, 128, 256, 512]))
        cases.append((e, float(rng.choice([0.125, 0.25, 0.5, 0.75, 1.0])), float(rng.choice([0.25, 0.5, 0.75]))))
    while len(cases) < 16:  # ratios that do not divide evenly, away from halves (where either rounding is fair)
        e, sr, pct = (
            int(rng.integers(40, 300)),
            round(float(rng.uniform(0.05, 1.0)), 2),
            round(float(rng.uniform(0, 1)), 2),
        )
        if all(0.1 < (r * e) % 1 < 0.4 or 0.6 < (r * e) % 1 < 0.9 for r in (sr, pct)):
            cases.append((e, sr, pct))
    for e, sr, pct in cases:
        got = call(ex, fire_filters, e, sr, pct)
        try:
            s1, e1, e3 = (_as_int(ex, v, "filter count") for v in got)
        except TypeError:
            raise CheckFailed(ex, "fire_filters should return (s1x1, e1x1, e3x3).", found=got) from None
        what = f"fire_filters(expand={e}, sr={sr}, pct3x3={pct})"
        if e1 + e3 != e:
            raise CheckFailed(ex, f"{what}: e1x1 + e3x3 should be all {e} expand filters.", found=(s1, e1, e3))
        truncated = "Round to the nearest whole filter: int() cuts 14.7 down to 14; round() gives 15."
        if not math.isclose(s1 / e, sr, abs_tol=0.5 / e):
            raise CheckFailed(
                ex,
                f"{what}: SR = s1x1 / (e1x1 + e3x3) should be {sr}, to the nearest whole filter.",
                expected=sr,
                found=s1 / e,
                hint=truncated
                if s1 == math.floor(sr * e)
                else "The squeeze ratio compares the squeeze filters with ALL expand filters.",
            )
        if not math.isclose(e3 / e, pct, abs_tol=0.5 / e):
            raise CheckFailed(
                ex,
                f"{what}: PCT_3x3 = e3x3 / (e1x1 + e3x3) should be {pct}, to the nearest whole filter.",
                expected=pct,
                found=e3 / e,
                hint=truncated
                if e3 == math.floor(pct * e)
                else "pct3x3 is the share of 3x3 filters among the expand filters.",
            )
    for bad in [(128, 0.0, 0.5), (128, 1.5, 0.5), (128, 0.5, -0.1), (128, 0.5, 1.2)]:
        expect_raises(
            ex,
            ValueError,
            fire_filters,
            *bad,
            what=f"fire_filters{bad}",
            hint="SR must be in (0, 1] and PCT_3x3 in [0, 1].",
        )
    fires = [(96, 16, 64, 64), (128, 16, 64, 64), (256, 48, 192, 192), (512, 64, 256, 256), (3, 2, 1, 1)]
    fires += [
        (int(rng.integers(1, 300)), int(rng.integers(1, 80)), int(rng.integers(1, 200)), int(rng.integers(1, 200)))
        for _ in range(4)
    ]
    for d_in, s1, e1, e3 in fires:
        got = _as_int(ex, call(ex, fire_params, d_in, s1, e1, e3), "parameter count")
        expected = _keras_fire(d_in, s1, e1, e3)
        hint = None
        if got == expected - s1 - e1 - e3:
            hint = "Every convolution of the module has biases."
        elif got == d_in * s1 + s1 + d_in * e1 + e1 + 9 * d_in * e3 + e3:
            hint = "The expand layers see the s1x1 squeezed channels, not d_in."
        expect_equal(
            ex,
            got,
            expected,
            what=f"fire_params(d_in={d_in}, s1x1={s1}, e1x1={e1}, e3x3={e3})",
            hint=hint or "squeeze 1x1 layer, then a 1x1 and a 3x3 expand layer, all with biases.",
        )
    passed(
        ex,
        f"filter counts keep SR and PCT_3x3 on {len(cases)} cases; parameters match Keras on {len(fires)} fire modules",
    )


# --------------------------------------------------------------------------
# Questions: numbers the student finds with their own functions
# --------------------------------------------------------------------------
def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_branch_share(five_by_five_share):
    """Check the form of Question 1's answer (the hidden test checks its value).

    Args:
        five_by_five_share: the student's share of the naive inception
            module's multiplications done by its 5x5 branch.

    Returns:
        None; prints a ✔ line when the answer is a fraction.

    Raises:
        CheckFailed: it is not a number strictly between 0 and 1.
    """
    ex = EXERCISES["branch_share"]
    if not _is_number(five_by_five_share) or not 0.0 < float(five_by_five_share) < 1.0:
        raise CheckFailed(
            ex,
            "five_by_five_share should be a fraction between 0 and 1 (a share of all the multiplications).",
            found=five_by_five_share,
            hint="Call your inception_multiplies with only the 5x5 branch (0 filters in the others), and "
            "divide by the whole naive module's count.",
        )
    passed(ex, "a fraction (the hidden test checks its value)")


def check_stack_answers(layers_for_11, stack_weight_fraction):
    """Check the form of Question 2's answers (the hidden test checks their values).

    Args:
        layers_for_11: the student's number of stacked 3x3 layers (stride 1)
            that see as much as one 11x11 layer.
        stack_weight_fraction: the weights of that stack as a fraction of the
            11x11 layer's, same channels in and out, no biases.

    Returns:
        None; prints a ✔ line when both answers have the right form.

    Raises:
        CheckFailed: ``layers_for_11`` is not a whole number of layers, or
            ``stack_weight_fraction`` is not a positive number.
    """
    ex = EXERCISES["stack_of_3x3"]
    if not isinstance(layers_for_11, (int, np.integer)) or isinstance(layers_for_11, bool) or layers_for_11 < 1:
        raise CheckFailed(
            ex,
            "layers_for_11 should be a whole number of layers.",
            found=layers_for_11,
            hint="Try your receptive_field on [(3, 1)] * n for growing n.",
        )
    if not _is_number(stack_weight_fraction) or float(stack_weight_fraction) <= 0:
        raise CheckFailed(
            ex,
            "stack_weight_fraction should be a positive number (the stack's weights over the 11x11 layer's).",
            found=stack_weight_fraction,
            hint="Use your conv_params with bias=False, the same number of channels in and out.",
        )
    passed(ex, "a number of layers and a fraction (the hidden test checks their values)")
