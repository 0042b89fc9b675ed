"""Checks for Lab 6, modern CNN architectures as blocks.

Every block is checked three ways, none of which holds the answer:

* **structure**: the layers Keras actually built (kind, kernel, filters,
  padding, strides, activation), compared with what the exercise text asks
  for, as a list or, for blocks with parallel paths, as a multiset;
* **parameters**: ``count_params()`` against the closed-form count of the
  block (weights plus biases);
* **behaviour**: a property the block must have, measured on random inputs:
  which output positions a one-pixel change reaches (the receptive field of
  each path), what the block computes with its main path's weights set to
  zero (a residual block becomes ReLU(x)), translation equivariance, or a
  comparison with Keras' own layer (``SeparableConv2D``).

The two small networks students assemble are retrained under the profile's
budget by :func:`train_mini_net` (through :mod:`cnncourse.checks.training`),
on 16x16 texture patches (brick, grass, gravel).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .architecture import (
    LayerSpec,
    _consumers,
    activation_of,
    as_pair,
    block_model,
    check_architecture,
    check_path_reach,
    compare_conv_inventory,
    conv_signature,
    expect_layer_count,
    expect_params,
    forward,
    layers_of_kind,
    output_shape,
    reach,
)
from .by_hand import ARITHMETIC, by_hand
from .core import CheckFailed, call, passed, plain
from .hidden import hidden_for

LAB = "lab6-architectures"
BUDGET = "lab6.mini_nets"
MINI_INPUT = (16, 16, 1)
MINI_CLASSES = 3
LEARNING_RATE = 3e-3
"""Adam's learning rate when a check trains a mini network (calibrated with it)."""


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------
# Exercise 1: VGG block
# --------------------------------------------------------------------------
def check_vgg_block(vgg_block):
    """Check ``vgg_block``: 3x3 same convolutions (ReLU), then a 2x2 max pool.

    Three inputs (odd sizes among them): the output shape, the layers
    (kernel, strides, padding, activation, output shapes), the parameter
    count, and the behaviour: non-negative outputs, and moving the input 2
    pixels moves the output 1 pixel.

    Args:
        vgg_block: the student's ``vgg_block(x, num_convs, filters)``,
            returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    ex = "Exercise 1 (vgg_block)"
    cases = [((16, 16, 3), 2, 8), ((15, 15, 4), 1, 6), ((8, 12, 2), 3, 5)]
    for shape, n, f in cases:
        h, w, cin = shape
        what = f"vgg_block(x, num_convs={n}, filters={f}) on x of shape {shape}"
        model = block_model(ex, vgg_block, shape, n, f)
        got, want = output_shape(model), (h // 2, w // 2, f)
        if got != want:
            hint = "Each convolution keeps the size (padding='same'); only the 2x2 pooling halves it."
            if len(got) == 3 and got[-1] == f and got[0] < want[0]:
                hint = (
                    "Your output is too small: with padding='valid' every 3x3 convolution trims 2 pixels. "
                    "VGG pads by 1 (padding='same') so that only the pooling changes the size."
                )
            elif len(got) == 3 and got[:2] == (h, w):
                hint = "The spatial size did not halve: end the block with MaxPooling2D(pool_size=2)."
            raise CheckFailed(ex, f"{what}: wrong output shape.", expected=want, found=got, hint=hint)
        spec, c = [], cin
        for _ in range(n):
            spec.append(
                LayerSpec(
                    "Conv2D",
                    (h, w, f),
                    9 * c * f + f,
                    {"kernel_size": (3, 3), "strides": (1, 1), "padding": "same"},
                    "relu",
                )
            )
            c = f
        spec.append(LayerSpec("MaxPooling2D", want, 0, {"pool_size": (2, 2), "strides": (2, 2)}))
        check_architecture(
            model,
            spec,
            f"{ex}, {what}",
            check_activation=True,
            hint="num_convs Conv2D(filters, 3, padding='same', activation='relu'), then MaxPooling2D(pool_size=2).",
        )
        expected = sum(9 * c_in * f + f for c_in in [cin] + [f] * (n - 1))
        expect_params(ex, model, expected, what, hint="A 3x3 convolution has 3*3*C_in*C_out weights and C_out biases.")
    # Behaviour: the block commutes with a translation by an even number of pixels.
    model = block_model(ex, vgg_block, (16, 16, 2), 2, 4)
    rng = _rng(7)
    x = np.zeros((1, 16, 16, 2), "float32")
    x[0, 5:9, 4:8] = rng.uniform(0.2, 1.0, size=(4, 4, 2))
    moved = np.roll(x, 2, axis=2)
    y, y_moved = forward(model, x), forward(model, moved)
    if (y < -1e-6).any():
        raise CheckFailed(ex, "the block outputs negative values.", hint="Use activation='relu' in the convolutions.")
    if not np.allclose(np.roll(y, 1, axis=2), y_moved, atol=1e-5):
        raise CheckFailed(
            ex,
            "moving the input 2 pixels to the right should move the output 1 pixel "
            "(after the 2x2 pooling); yours changes in another way.",
            hint="Use only same-padded 3x3 convolutions and one 2x2 max pool with stride 2.",
        )
    passed(ex, f"structure, parameter counts and translation behaviour right on {len(cases)} inputs")


# --------------------------------------------------------------------------
# Exercise 2: Inception block
# --------------------------------------------------------------------------
def inception_params(cin, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
    """Return the parameters of a GoogLeNet inception block (biases included) by formula.

    Args:
        cin: the input's channels.
        c1: the filters of the 1x1 path.
        c3_reduce: the filters of the 1x1 reduction before the 3x3.
        c3: the filters of the 3x3 convolution.
        c5_reduce: the filters of the 1x1 reduction before the 5x5.
        c5: the filters of the 5x5 convolution.
        pool_proj: the filters of the 1x1 projection after the max pool.

    Returns:
        The number of parameters, an int.

    Example:
        >>> inception_params(192, 64, 96, 128, 16, 32, 32)
        163696
    """
    return (
        (cin * c1 + c1)
        + (cin * c3_reduce + c3_reduce)
        + (9 * c3_reduce * c3 + c3)
        + (cin * c5_reduce + c5_reduce)
        + (25 * c5_reduce * c5 + c5)
        + (cin * pool_proj + pool_proj)
    )


def check_inception_block(inception_block):
    """Check ``inception_block``: four paths, concatenated along the channels.

    Three inputs: the output shape, one ``Concatenate(axis=-1)``, one 3x3
    max pool with stride 1 and ``"same"`` padding, the convolutions as a
    multiset (1x1; 1x1 then 3x3; 1x1 then 5x5; pool then 1x1; all ReLU and
    ``"same"``), the parameter count, and how far a one-pixel change spreads
    through each path's channels (which also tells the order 1x1, 3x3, 5x5,
    pool).

    Args:
        inception_block: the student's ``inception_block(x, c1, c3_reduce,
            c3, c5_reduce, c5, pool_proj)``, returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    ex = "Exercise 2 (inception_block)"
    cases = [((12, 12, 12), (8, 6, 10, 2, 4, 5)), ((10, 10, 8), (4, 2, 4, 2, 4, 4)), ((7, 9, 3), (2, 3, 5, 1, 2, 3))]
    for shape, sizes in cases:
        h, w, cin = shape
        c1, c3r, c3, c5r, c5, pp = sizes
        what = f"inception_block(x, {', '.join(map(str, sizes))}) on x of shape {shape}"
        model = block_model(
            ex,
            inception_block,
            shape,
            *sizes,
            hint="Concatenate joins tensors that differ only along the concatenation axis: "
            "use axis=-1 (channels) and padding='same' everywhere.",
        )
        got, want = output_shape(model), (h, w, c1 + c3 + c5 + pp)
        if got != want:
            hint = "Every path keeps the spatial size; the output channels are c1 + c3 + c5 + pool_proj."
            if len(got) == 3 and (got[0] != h or got[1] != w) and got[-1] != want[-1]:
                hint = (
                    "Your paths were stacked along a spatial axis: concatenate along the channels, "
                    "Concatenate(axis=-1)."
                )
            raise CheckFailed(ex, f"{what}: wrong output shape.", expected=want, found=got, hint=hint)
        concats = layers_of_kind(model, "Concatenate")
        if len(concats) != 1 or concats[0].get_config()["axis"] not in (-1, 3):
            raise CheckFailed(
                ex,
                f"{what}: join the four paths with one Concatenate(axis=-1).",
                found=[c.get_config()["axis"] for c in concats],
            )
        pools = layers_of_kind(model, "MaxPooling2D")
        if len(pools) != 1 or (
            as_pair(pools[0].get_config()["pool_size"]),
            as_pair(pools[0].get_config()["strides"]),
            pools[0].get_config()["padding"],
        ) != ((3, 3), (1, 1), "same"):
            raise CheckFailed(
                ex,
                f"{what}: the fourth path starts with a 3x3 max pool, stride 1, padding 'same'.",
                found=[
                    (p.get_config()["pool_size"], p.get_config()["strides"], p.get_config()["padding"]) for p in pools
                ],
            )
        expected = [
            (1, c1, cin, 1, "same", "relu", 1),
            (1, c3r, cin, 1, "same", "relu", 1),
            (3, c3, c3r, 1, "same", "relu", 1),
            (1, c5r, cin, 1, "same", "relu", 1),
            (5, c5, c5r, 1, "same", "relu", 1),
            (1, pp, cin, 1, "same", "relu", 1),
        ]
        compare_conv_inventory(
            ex,
            what,
            [conv_signature(layer) for layer in layers_of_kind(model, "Conv2D")],
            expected,
            hint="Path 1: 1x1. Path 2: 1x1 reduce, then 3x3. Path 3: 1x1 reduce, then 5x5. "
            "Path 4: 3x3 max pool, then 1x1. All with ReLU and padding='same'.",
        )
        expect_params(ex, model, inception_params(cin, *sizes), what)
    shape, sizes = cases[0]
    model = block_model(ex, inception_block, shape, *sizes)
    c1, c3r, c3, c5r, c5, pp = sizes
    check_path_reach(
        ex,
        model,
        shape,
        (c1, c3, c5, pp),
        (0, 1, 2, 1),
        ("1x1", "3x3", "5x5", "pool"),
        order_hint="Concatenate the paths in the order 1x1, 3x3, 5x5, pool.",
    )
    passed(ex, f"four paths, channels and parameters right on {len(cases)} inputs; each path sees as far as its kernel")


# --------------------------------------------------------------------------
# Exercise 3: residual block
# --------------------------------------------------------------------------
def residual_params(cin, filters, stride):
    """Return the parameters of the lab's residual block by formula.

    Two 3x3 convolutions with biases, plus a 1x1 projection (with bias) when
    ``stride`` is not 1 or the channels change.

    Args:
        cin: the input's channels.
        filters: the block's output channels.
        stride: the stride of the first convolution (and of the projection).

    Returns:
        The number of parameters, an int.

    Example:
        >>> residual_params(16, 16, 1)
        4640
        >>> residual_params(16, 32, 2)
        14432
    """
    projection = stride != 1 or cin != filters
    return (
        (9 * cin * filters + filters)
        + (9 * filters * filters + filters)
        + ((cin * filters + filters) if projection else 0)
    )


def _zero_main_path(model, kernel=3):
    """Set the weights of every ``kernel`` x ``kernel`` convolution to zero (the main path)."""
    for layer in layers_of_kind(model, "Conv2D"):
        if as_pair(layer.get_config()["kernel_size"]) == (kernel, kernel):
            layer.set_weights([np.zeros_like(v) for v in layer.get_weights()])


def _conv1x1(x, layer, stride):
    """A 1x1 convolution written as a matrix product (the oracle of a projection shortcut)."""
    weights = layer.get_weights()
    kernel = weights[0][0, 0]
    bias = weights[1] if len(weights) > 1 else 0.0
    return x[:, ::stride, ::stride, :] @ kernel + bias


def check_residual_block(residual_block):
    """Check ``residual_block``: two 3x3 convolutions plus a shortcut, then ReLU.

    Four cases (with and without a projection shortcut): the output shape,
    one ``Add``, the convolutions as a multiset (3x3 strided with ReLU, 3x3
    linear, and a 1x1 strided projection only where the shapes differ), the
    parameter count, non-negative outputs, and the behaviour with the main
    path's weights at zero (the block must then be ReLU of its shortcut);
    a one-pixel change must reach 2 pixels away.

    Args:
        residual_block: the student's ``residual_block(x, filters,
            stride=1)``, returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    ex = "Exercise 3 (residual_block)"
    cases = [((8, 8, 16), 16, 1), ((8, 8, 8), 16, 1), ((8, 8, 16), 16, 2), ((9, 9, 8), 12, 2)]
    for shape, f, s in cases:
        h, w, cin = shape
        projection = s != 1 or cin != f
        what = f"residual_block(x, filters={f}, stride={s}) on x of shape {shape}"
        model = block_model(
            ex,
            residual_block,
            shape,
            f,
            s,
            hint="Add needs two tensors of the same shape. When the stride is not 1 or "
            "the channels change, pass x through a 1x1 Conv2D(filters, strides=stride) "
            "first (a projection shortcut).",
        )
        got, want = output_shape(model), (math.ceil(h / s), math.ceil(w / s), f)
        if got != want:
            raise CheckFailed(
                ex,
                f"{what}: wrong output shape.",
                expected=want,
                found=got,
                hint="The first 3x3 convolution has strides=stride, both use padding='same'.",
            )
        expect_layer_count(ex, model, "Add", 1, what, hint="Join the main path and the shortcut with Add().")
        expected = [(3, f, cin, s, "same", "relu", 1), (3, f, f, 1, "same", "linear", 1)]
        if projection:
            expected.append((1, f, cin, s, "same", "linear", 1))
        hint = (
            "Main path: Conv2D(filters, 3, strides=stride, padding='same', activation='relu'), then "
            "Conv2D(filters, 3, padding='same') with no activation. Shortcut: x itself, or "
            "Conv2D(filters, 1, strides=stride) when the shapes differ. ReLU after the Add."
        )
        if not projection and len(layers_of_kind(model, "Conv2D")) == 3:
            hint = "Here the shapes already match: the shortcut is x itself, with no 1x1 convolution."
        compare_conv_inventory(
            ex, what, [conv_signature(layer) for layer in layers_of_kind(model, "Conv2D")], expected, hint=hint
        )
        expect_params(ex, model, residual_params(cin, f, s), what)
        # Behaviour: with the main path's weights at zero the block is ReLU(shortcut(x)).
        x = _rng(11).normal(size=(2,) + shape).astype("float32")
        y = forward(model, x)
        if (y < -1e-6).any():
            raise CheckFailed(ex, f"{what}: the block outputs negative values.", hint="Apply a ReLU after the Add.")
        _zero_main_path(model)
        y0 = forward(model, x)
        if projection:
            proj = [
                layer
                for layer in layers_of_kind(model, "Conv2D")
                if as_pair(layer.get_config()["kernel_size"]) == (1, 1)
            ]
            target = np.maximum(_conv1x1(x, proj[0], s), 0.0)
        else:
            target = np.maximum(x, 0.0)
        if not np.allclose(y0, target, atol=1e-5):
            if np.allclose(y0, 0.0, atol=1e-6):
                problem = (
                    "with the main path's weights set to zero your block outputs zeros: the shortcut "
                    "is missing (a residual block adds its input back)."
                )
            elif np.allclose(y0, x if not projection else _conv1x1(x, proj[0], s), atol=1e-5):
                problem = "with the main path at zero your block returns the shortcut unchanged: the ReLU after the Add is missing."
            else:
                problem = (
                    "with the main path's weights set to zero the block should output ReLU(shortcut(x)); "
                    "yours outputs something else."
                )
            raise CheckFailed(ex, f"{what}: {problem}", hint="y = ReLU(main(x) + shortcut(x)).")
    # Behaviour: two stacked 3x3 convolutions see 2 pixels around.
    model = block_model(ex, residual_block, (9, 9, 4), 4, 1)
    spread = int(reach(model, (9, 9, 4)).max())
    if spread != 2:
        raise CheckFailed(
            ex, "a one-pixel change should reach 2 pixels away through two 3x3 convolutions.", expected=2, found=spread
        )
    passed(
        ex,
        f"structure, parameters and shortcut right on {len(cases)} inputs; with the main path "
        "zeroed the block is ReLU(x)",
    )


# --------------------------------------------------------------------------
# Exercise 3b: the residual block with batch normalisation
# --------------------------------------------------------------------------
def residual_bn_params(cin, filters, stride):
    """Return the parameters of the lab's batch-normalised residual block by formula.

    Two 3x3 convolutions without biases, each followed by batch normalisation
    (4 numbers per channel: gamma, beta and the two moving statistics), plus
    a normalised 1x1 projection when ``stride`` is not 1 or the channels
    change.

    Args:
        cin: the input's channels.
        filters: the block's output channels.
        stride: the stride of the first convolution (and of the projection).

    Returns:
        The number of parameters, an int.

    Example:
        >>> residual_bn_params(16, 16, 1)
        4736
        >>> residual_bn_params(16, 32, 2)
        14720
    """
    projection = stride != 1 or cin != filters
    return (
        9 * cin * filters + 9 * filters * filters + 8 * filters + ((cin * filters + 4 * filters) if projection else 0)
    )


def _single_consumer_kind(layer):
    """The class name of the one layer that takes ``layer``'s output, else ``None``."""
    consumers = _consumers(layer)
    return type(consumers[0]).__name__ if consumers and len(consumers) == 1 else None


def _source_layer(tensor):
    """The layer that computed a Keras tensor."""
    return tensor._keras_history[0]


def check_residual_block_bn(residual_block_bn):
    """Check ``residual_block_bn``: the residual block with batch normalisation after each convolution.

    Four cases (with and without a projection shortcut): the output shape,
    one ``Add``, a ``BatchNormalization`` right after every convolution,
    convolutions without biases or activations (the ReLU comes after the
    normalisation), the parameter count, and the behaviour with the main
    path's last ``gamma`` and ``beta`` at zero (the block must then be ReLU
    of its shortcut); a one-pixel change must reach 2 pixels away.

    Args:
        residual_block_bn: the student's ``residual_block_bn(x, filters,
            stride=1)``, returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build, or its shape, layers,
            parameters or behaviour are wrong.
    """
    import keras

    ex = EXERCISES["residual_block_bn"]
    cases = [((8, 8, 16), 16, 1), ((8, 8, 8), 16, 1), ((8, 8, 16), 16, 2), ((9, 9, 8), 12, 2)]
    hint = (
        "Main path: Conv2D(filters, 3, strides=stride, padding='same', use_bias=False), BatchNormalization(), "
        "ReLU(), Conv2D(filters, 3, padding='same', use_bias=False), BatchNormalization(). Shortcut: x, or "
        "Conv2D(filters, 1, strides=stride, use_bias=False) then BatchNormalization() when the shapes differ. "
        "Add(), then ReLU()."
    )
    for shape, f, s in cases:
        h, w, cin = shape
        projection = s != 1 or cin != f
        what = f"residual_block_bn(x, filters={f}, stride={s}) on x of shape {shape}"
        model = block_model(ex, residual_block_bn, shape, f, s, hint=hint)
        got, want = output_shape(model), (math.ceil(h / s), math.ceil(w / s), f)
        if got != want:
            raise CheckFailed(ex, f"{what}: wrong output shape.", expected=want, found=got, hint=hint)
        expect_layer_count(ex, model, "Add", 1, what, hint="Join the main path and the shortcut with Add().")
        convs = layers_of_kind(model, "Conv2D")
        with_bias = [layer for layer in convs if layer.get_config().get("use_bias")]
        if with_bias:
            raise CheckFailed(
                ex,
                f"{what}: {len(with_bias)} convolution(s) still have a bias.",
                hint="Batch normalisation subtracts the batch mean, which cancels any bias the convolution adds, "
                "and its beta adds a shift back: give every convolution use_bias=False.",
            )
        activated = [layer for layer in convs if activation_of(layer) != "linear"]
        if activated:
            raise CheckFailed(
                ex,
                f"{what}: a ReLU acts straight on a convolution's output (activation="
                f"{activation_of(activated[0])!r}), before any normalisation.",
                hint="The ReLU comes after the normalisation (convolution, BatchNormalization, ReLU): "
                "with activation='relu' inside the convolution it would come before it.",
            )
        unnormalised = [layer for layer in convs if _single_consumer_kind(layer) != "BatchNormalization"]
        if unnormalised:
            raise CheckFailed(
                ex,
                f"{what}: every convolution's output should go straight into a BatchNormalization; "
                f"{len(unnormalised)} of {len(convs)} do not.",
                hint=hint,
            )
        expect_layer_count(ex, model, "BatchNormalization", len(convs), what, hint=hint)
        expected = [(3, f, cin, s, "same", "linear", 1), (3, f, f, 1, "same", "linear", 1)]
        if projection:
            expected.append((1, f, cin, s, "same", "linear", 1))
        conv_hint = hint
        if not projection and len(convs) == 3:
            conv_hint = "Here the shapes already match: the shortcut is x itself, with no 1x1 convolution."
        compare_conv_inventory(ex, what, [conv_signature(layer) for layer in convs], expected, hint=conv_hint)
        expect_params(ex, model, residual_bn_params(cin, f, s), what, hint=hint)
        # Behaviour: with the main path's last gamma and beta at zero the block is ReLU(shortcut(x)).
        x = _rng(12).normal(size=(2,) + shape).astype("float32")
        if (forward(model, x) < -1e-6).any():
            raise CheckFailed(ex, f"{what}: the block outputs negative values.", hint="Apply a ReLU after the Add.")
        add = layers_of_kind(model, "Add")[0]
        sources = [_source_layer(t) for t in add.input]
        main_bn = [
            b
            for b in sources
            if type(b).__name__ == "BatchNormalization"
            and as_pair(_source_layer(b.input).get_config().get("kernel_size", (1, 1))) == (3, 3)
        ]
        if len(main_bn) != 1:
            raise CheckFailed(
                ex,
                f"{what}: the Add should join the main path's last BatchNormalization and the shortcut.",
                hint=hint,
            )
        gamma_beta = main_bn[0].get_weights()
        main_bn[0].set_weights([np.zeros_like(gamma_beta[0]), np.zeros_like(gamma_beta[1])] + gamma_beta[2:])
        other = [t for t, b in zip(add.input, sources) if b is not main_bn[0]][0]
        shortcut = forward(keras.Model(model.input, other), x)
        if not np.allclose(forward(model, x), np.maximum(shortcut, 0.0), atol=1e-5):
            raise CheckFailed(
                ex,
                f"{what}: with the last normalisation's gamma and beta at zero the block should output "
                "ReLU(shortcut(x)); yours outputs something else.",
                hint="y = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x)): nothing after the Add but the ReLU.",
            )
        if not projection and not np.allclose(shortcut, x, atol=1e-6):
            raise CheckFailed(ex, f"{what}: the shapes match, so the shortcut should be x itself.", hint=conv_hint)
    model = block_model(ex, residual_block_bn, (9, 9, 4), 4, 1)
    spread = int(reach(model, (9, 9, 4)).max())
    if spread != 2:
        raise CheckFailed(
            ex, "a one-pixel change should reach 2 pixels away through two 3x3 convolutions.", expected=2, found=spread
        )
    passed(
        ex,
        f"a normalisation after each convolution, no biases, parameters right on {len(cases)} inputs; "
        "with the last gamma at zero the block is ReLU(shortcut)",
    )


# --------------------------------------------------------------------------
# Exercise 4: ResNeXt block
# --------------------------------------------------------------------------
def resnext_params(cin, filters, groups):
    """Return the parameters of the lab's ResNeXt block by formula.

    A 1x1 convolution, a grouped 3x3 convolution and a 1x1 convolution, all
    ``filters`` wide with biases, plus a 1x1 projection (with bias) when the
    channels change.

    Args:
        cin: the input's channels.
        filters: the width of every convolution of the block.
        groups: the groups of the 3x3 convolution (it must divide
            ``filters``).

    Returns:
        The number of parameters, an int.

    Example:
        >>> resnext_params(16, 16, 4)
        1136
    """
    projection = cin != filters
    return (
        (cin * filters + filters)
        + (9 * (filters // groups) * filters + filters)
        + (filters * filters + filters)
        + ((cin * filters + filters) if projection else 0)
    )


def check_resnext_block(resnext_block):
    """Check ``resnext_block``: 1x1, grouped 3x3, 1x1, plus a shortcut, then ReLU.

    Three cases: the output shape, one ``Add``, one grouped 3x3 convolution
    with ``groups`` groups and its parameter count, the convolutions as a
    multiset, the block's parameter count; then that 8 groups cut the 3x3
    layer's parameters about 8 times, and that with every convolution at
    zero the block is ReLU(x).

    Args:
        resnext_block: the student's ``resnext_block(x, filters, groups)``,
            returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    ex = "Exercise 4 (resnext_block)"
    cases = [((8, 8, 16), 16, 4), ((8, 8, 8), 16, 8), ((6, 6, 32), 32, 1)]
    for shape, f, g in cases:
        h, w, cin = shape
        what = f"resnext_block(x, filters={f}, groups={g}) on x of shape {shape}"
        model = block_model(
            ex, resnext_block, shape, f, g, hint="When the channels change, the shortcut needs a 1x1 Conv2D(filters)."
        )
        got, want = output_shape(model), (h, w, f)
        if got != want:
            raise CheckFailed(
                ex,
                f"{what}: wrong output shape.",
                expected=want,
                found=got,
                hint="All convolutions use stride 1 and padding='same'.",
            )
        expect_layer_count(ex, model, "Add", 1, what, hint="Add the shortcut to the main path.")
        grouped = [
            layer for layer in layers_of_kind(model, "Conv2D") if as_pair(layer.get_config()["kernel_size"]) == (3, 3)
        ]
        if len(grouped) != 1 or grouped[0].get_config().get("groups", 1) != g:
            raise CheckFailed(
                ex,
                f"{what}: the 3x3 convolution should be grouped.",
                expected=f"one Conv2D(filters, 3, groups={g})",
                found=[layer.get_config().get("groups", 1) for layer in grouped],
                hint="Conv2D(filters, 3, padding='same', groups=groups, activation='relu').",
            )
        expected = [
            (1, f, cin, 1, "same", "relu", 1),
            (3, f, f, 1, "same", "relu", g),
            (1, f, f, 1, "same", "linear", 1),
        ]
        if cin != f:
            expected.append((1, f, cin, 1, "same", "linear", 1))
        compare_conv_inventory(
            ex,
            what,
            [conv_signature(layer) for layer in layers_of_kind(model, "Conv2D")],
            expected,
            hint="1x1 (ReLU) -> grouped 3x3 (ReLU) -> 1x1 (no activation), + shortcut, then ReLU.",
        )
        grouped_params = grouped[0].count_params()
        if grouped_params != 9 * (f // g) * f + f:
            raise CheckFailed(
                ex,
                f"{what}: the grouped convolution has the wrong number of parameters.",
                expected=9 * (f // g) * f + f,
                found=grouped_params,
            )
        expect_params(ex, model, resnext_params(cin, f, g), what)
    # Parameters shrink by about the number of groups.
    f, g = 32, 8
    dense_model = block_model(ex, resnext_block, (6, 6, f), f, 1)
    grouped_model = block_model(ex, resnext_block, (6, 6, f), f, g)
    p1 = [
        layer.count_params()
        for layer in layers_of_kind(dense_model, "Conv2D")
        if layer.get_config().get("groups", 1) == 1 and as_pair(layer.get_config()["kernel_size"]) == (3, 3)
    ]
    pg = [
        layer.count_params()
        for layer in layers_of_kind(grouped_model, "Conv2D")
        if as_pair(layer.get_config()["kernel_size"]) == (3, 3)
    ]
    ratio = p1[0] / pg[0]
    if not 0.9 * g <= ratio <= g:
        raise CheckFailed(
            ex,
            f"{g} groups should cut the 3x3 layer's parameters about {g} times.",
            expected=f"about {g}",
            found=round(ratio, 2),
        )
    # Behaviour: with every convolution at zero the identity block is ReLU(x).
    x = _rng(12).normal(size=(2, 8, 8, 16)).astype("float32")
    model = block_model(ex, resnext_block, (8, 8, 16), 16, 4)
    for layer in layers_of_kind(model, "Conv2D"):
        layer.set_weights([np.zeros_like(v) for v in layer.get_weights()])
    y0 = forward(model, x)
    if not np.allclose(y0, np.maximum(x, 0.0), atol=1e-5):
        problem = "outputs zeros: the shortcut is missing" if np.allclose(y0, 0.0) else "does not output ReLU(x)"
        raise CheckFailed(
            ex,
            f"with its convolutions at zero, the block on 16 channels {problem}.",
            hint="y = ReLU(main(x) + x) when the channels match.",
        )
    passed(
        ex,
        f"grouped 3x3 convolution, shortcut and parameters right on {len(cases)} inputs; "
        f"{g} groups make the 3x3 layer {ratio:.2f} times smaller",
    )


# --------------------------------------------------------------------------
# Exercise 5: separable convolutions
# --------------------------------------------------------------------------
EXERCISES = {
    "residual_block_bn": "Exercise 3b (residual_block_bn)",
    "compound_scale": "Exercise 7 (compound_scale)",
    "se_params": "Question 1 (se_params)",
    "deep_net": "Exercise 12 (deep_net)",
    "lower_training_loss": "Question 2 (lower_training_loss)",
    "head_params": "Question 3 (head_params)",
    "budget_net": "Exercise 13 (budget_net)",
    "mini_nets": "Exercise 8 (mini_vgg, mini_resnet)",
}
BY_HAND = {
    "compound_scale": ARITHMETIC,
    "se_params": ARITHMETIC,
    "head_params": ARITHMETIC,
}
hidden = hidden_for(EXERCISES, BY_HAND)


def check_separable_block(separable_block):
    """Check ``separable_block``: a depthwise 3x3 (no bias), then a pointwise 1x1 with ReLU.

    Three inputs: the output shape and the two layers (kind, shapes,
    settings, parameters, activation); then, with the same weights, the block
    must compute what Keras' ``SeparableConv2D`` (ReLU) computes.

    Args:
        separable_block: the student's ``separable_block(x, filters)``,
            returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    import keras

    ex = "Exercise 5 (separable_block)"
    cases = [((8, 8, 3), 8), ((10, 6, 16), 32), ((5, 5, 4), 4)]
    for shape, f in cases:
        h, w, cin = shape
        what = f"separable_block(x, filters={f}) on x of shape {shape}"
        model = block_model(ex, separable_block, shape, f)
        got = output_shape(model)
        if got != (h, w, f):
            hint = (
                "padding='same' keeps the size."
                if len(got) == 3 and got[0] < h
                else "The pointwise 1x1 Conv2D sets the number of output channels."
            )
            raise CheckFailed(ex, f"{what}: wrong output shape.", expected=(h, w, f), found=got, hint=hint)
        spec = [
            LayerSpec(
                "DepthwiseConv2D",
                (h, w, cin),
                9 * cin,
                {"kernel_size": (3, 3), "strides": (1, 1), "padding": "same", "depth_multiplier": 1, "use_bias": False},
            ),
            LayerSpec(
                "Conv2D", (h, w, f), cin * f + f, {"kernel_size": (1, 1), "strides": (1, 1), "use_bias": True}, "relu"
            ),
        ]
        check_architecture(
            model,
            spec,
            f"{ex}, {what}",
            hint="DepthwiseConv2D(3, padding='same', use_bias=False), then Conv2D(filters, 1, activation='relu').",
        )
    # Behaviour: the same function as Keras' SeparableConv2D with the same weights.
    shape, f = (10, 6, 16), 32
    model = block_model(ex, separable_block, shape, f)
    depthwise = layers_of_kind(model, "DepthwiseConv2D")[0].get_weights()[0]
    pointwise = layers_of_kind(model, "Conv2D")[0].get_weights()
    rng = _rng(13)
    pointwise = [rng.normal(size=v.shape).astype("float32") for v in pointwise]
    layers_of_kind(model, "Conv2D")[0].set_weights(pointwise)
    oracle = keras.layers.SeparableConv2D(f, 3, padding="same", activation="relu")
    inp = keras.Input(shape=shape)
    ref = keras.Model(inp, oracle(inp))
    oracle.set_weights([depthwise, pointwise[0], pointwise[1]])
    x = rng.normal(size=(2,) + shape).astype("float32")
    if not np.allclose(forward(model, x), forward(ref, x), atol=1e-4):
        raise CheckFailed(
            ex,
            "with the same weights, your block and Keras' SeparableConv2D (ReLU) disagree.",
            hint="Depthwise first, pointwise second, ReLU at the end only.",
        )
    passed(ex, f"structure right on {len(cases)} inputs; computes what SeparableConv2D computes")


# --------------------------------------------------------------------------
# Exercise 6: SqueezeNet fire module
# --------------------------------------------------------------------------
def fire_params(cin, squeeze, expand1x1, expand3x3):
    """Return the parameters of a fire module by formula.

    A 1x1 squeeze convolution, then a 1x1 and a 3x3 expand convolution on
    its output, all with biases.

    Args:
        cin: the input's channels.
        squeeze: the squeeze layer's filters.
        expand1x1: the 1x1 expand layer's filters.
        expand3x3: the 3x3 expand layer's filters.

    Returns:
        The number of parameters, an int.

    Example:
        >>> fire_params(96, 16, 64, 64)
        11920
    """
    return (cin * squeeze + squeeze) + (squeeze * expand1x1 + expand1x1) + (9 * squeeze * expand3x3 + expand3x3)


def check_fire_module(fire_module):
    """Check ``fire_module``: a 1x1 squeeze, then 1x1 and 3x3 expands, concatenated.

    Three inputs: the output shape, one ``Concatenate(axis=-1)``, the
    convolutions as a multiset (all ReLU and ``"same"``, both expands on the
    squeezed tensor), the parameter count, and how far a one-pixel change
    spreads through each expand's channels (1x1 first, then 3x3).

    Args:
        fire_module: the student's ``fire_module(x, squeeze, expand1x1,
            expand3x3)``, returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build (see
            :func:`~cnncourse.checks.architecture.block_model`), or its
            shape, layers, parameters or behaviour are wrong.
    """
    ex = "Exercise 6 (fire_module)"
    cases = [((10, 10, 12), (4, 8, 6)), ((8, 8, 6), (3, 5, 5)), ((7, 9, 16), (2, 3, 9))]
    for shape, sizes in cases:
        h, w, cin = shape
        s, e1, e3 = sizes
        what = f"fire_module(x, {s}, {e1}, {e3}) on x of shape {shape}"
        model = block_model(
            ex,
            fire_module,
            shape,
            *sizes,
            hint="Concatenate the two expand layers along the channels (axis=-1); the 3x3 expand needs padding='same'.",
        )
        got, want = output_shape(model), (h, w, e1 + e3)
        if got != want:
            hint = "The output has expand1x1 + expand3x3 channels and the input's height and width."
            if len(got) == 3 and (got[0] != h or got[1] != w):
                hint = "Concatenate along the channels (axis=-1), with padding='same' in the 3x3 expand."
            raise CheckFailed(ex, f"{what}: wrong output shape.", expected=want, found=got, hint=hint)
        concats = layers_of_kind(model, "Concatenate")
        if len(concats) != 1 or concats[0].get_config()["axis"] not in (-1, 3):
            raise CheckFailed(ex, f"{what}: join the two expand layers with Concatenate(axis=-1).")
        expected = [
            (1, s, cin, 1, "same", "relu", 1),
            (1, e1, s, 1, "same", "relu", 1),
            (3, e3, s, 1, "same", "relu", 1),
        ]
        compare_conv_inventory(
            ex,
            what,
            [conv_signature(layer) for layer in layers_of_kind(model, "Conv2D")],
            expected,
            hint="Squeeze: Conv2D(squeeze, 1). Both expands read the squeezed tensor. "
            "All with ReLU and padding='same'.",
        )
        expect_params(ex, model, fire_params(cin, *sizes), what)
    shape, (s, e1, e3) = cases[0]
    model = block_model(ex, fire_module, shape, s, e1, e3)
    check_path_reach(
        ex,
        model,
        shape,
        (e1, e3),
        (0, 1),
        ("expand1x1", "expand3x3"),
        order_hint="Concatenate the 1x1 expand first, then the 3x3 expand.",
    )
    passed(ex, f"squeeze, expand paths, channels and parameters right on {len(cases)} inputs")


# --------------------------------------------------------------------------
# Exercise 7: compound scaling
# --------------------------------------------------------------------------
def check_compound_scale(compound_scale):
    """Check ``compound_scale``: the multipliers ``(alpha ** phi, beta ** phi, gamma ** phi)``.

    The multipliers are ``(depth, width, resolution)``, checked by
    properties: all 1 at ``phi = 0``; ``(alpha, beta, gamma)`` at
    ``phi = 1``; scaling by ``a`` then ``b`` equals scaling by ``a + b``;
    with the default constants ``depth * width**2 * resolution**2`` is about
    2 at ``phi = 1`` and grows as its power of ``phi``.

    Args:
        compound_scale: the student's ``compound_scale(phi, alpha=1.2,
            beta=1.1, gamma=1.15)``, returning three numbers; held to the
            :data:`~cnncourse.checks.by_hand.ARITHMETIC` rules.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it reads its answer from Keras or TensorFlow
            (:data:`~cnncourse.checks.by_hand.ARITHMETIC`).
        CheckFailed: an answer is wrong, or the function crashes.
    """
    ex = EXERCISES["compound_scale"]
    compound_scale = by_hand(ex, compound_scale, ARITHMETIC)

    def run(*args, **kwargs):
        out = call(ex, compound_scale, *args, **kwargs)
        try:
            vals = tuple(float(v) for v in out)
        except (TypeError, ValueError):
            raise CheckFailed(
                ex, "compound_scale should return three numbers (depth, width, resolution).", found=out
            ) from None
        if len(vals) != 3:
            raise CheckFailed(ex, "compound_scale should return three numbers (depth, width, resolution).", found=out)
        return np.array(vals)

    if not np.allclose(run(0), 1.0):
        raise CheckFailed(
            ex, "phi = 0 is the base network: every multiplier should be 1.", expected=(1, 1, 1), found=tuple(run(0))
        )
    one = run(1, alpha=1.3, beta=1.2, gamma=1.05)
    if not np.allclose(one, (1.3, 1.2, 1.05)):
        raise CheckFailed(
            ex,
            "with phi = 1 the multipliers are alpha, beta, gamma, in the order (depth, width, resolution).",
            expected=(1.3, 1.2, 1.05),
            found=tuple(one),
        )
    for a, b in [(1, 2), (0.5, 1.5), (2, 3)]:
        if not np.allclose(run(a + b), run(a) * run(b), rtol=1e-6):
            raise CheckFailed(
                ex,
                f"scaling by phi={a} and then by phi={b} should equal scaling by phi={a + b}.",
                expected=tuple(np.round(run(a) * run(b), 5)),
                found=tuple(np.round(run(a + b), 5)),
                hint="Each multiplier is a power of its constant: alpha ** phi, ...",
            )
    d, w, r = run(1)
    flops = d * w**2 * r**2
    if not 1.8 <= flops <= 2.2:
        raise CheckFailed(
            ex,
            "with the default constants, depth * width^2 * resolution^2 at phi = 1 should be "
            "about 2 (FLOPs double per step of phi).",
            expected="about 2",
            found=round(flops, 4),
        )
    d3, w3, r3 = run(3)
    if not np.isclose(d3 * w3**2 * r3**2, flops**3):
        raise CheckFailed(ex, "FLOPs should grow as (alpha * beta^2 * gamma^2) ** phi.")
    passed(ex, f"multipliers right; FLOPs grow {flops:.3f}x per step of phi (about 2)")


# --------------------------------------------------------------------------
# The two small networks
# --------------------------------------------------------------------------
def mini_vgg_params(cin=MINI_INPUT[-1], num_classes=MINI_CLASSES, size=MINI_INPUT[0]):
    """Return the parameters of the lab's mini-VGG by formula.

    ``vgg_block(x, 1, 16)``, ``vgg_block(x, 2, 32)``, ``Flatten`` and a
    ``Dense(num_classes)``, all with biases.

    Args:
        cin: the input's channels.
        num_classes: the number of classes.
        size: the input's height and width.

    Returns:
        The number of parameters, an int.

    Example:
        >>> mini_vgg_params()
        15587
    """
    flat = (size // 4) ** 2 * 32
    return (9 * cin * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 32 + 32) + (flat * num_classes + num_classes)


def mini_resnet_params(cin=MINI_INPUT[-1], num_classes=MINI_CLASSES):
    """Return the parameters of the lab's mini-ResNet by formula.

    A 3x3 stem of 16 filters, ``residual_block(x, 16, 1)``,
    ``residual_block(x, 32, 2)``, global average pooling and a
    ``Dense(num_classes)``, all with biases.

    Args:
        cin: the input's channels.
        num_classes: the number of classes.

    Returns:
        The number of parameters, an int.

    Example:
        >>> mini_resnet_params()
        19331
    """
    return (
        (9 * cin * 16 + 16) + residual_params(16, 16, 1) + residual_params(16, 32, 2) + (32 * num_classes + num_classes)
    )


def _build_mini(ex, builder):
    from .training import build

    return build(ex, builder, MINI_INPUT, MINI_CLASSES, input_shape=MINI_INPUT, num_classes=MINI_CLASSES)


def check_mini_vgg(mini_vgg):
    """Check ``mini_vgg``: two VGG blocks (1x16, 2x32), Flatten, a Dense softmax.

    Built for :data:`MINI_INPUT` and :data:`MINI_CLASSES`; compared layer by
    layer and by its parameter count. Nothing is trained.

    Args:
        mini_vgg: the student's ``mini_vgg(input_shape, num_classes)``,
            returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line when the model is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or the model differs.
    """
    ex = "Exercise 8a (mini_vgg)"
    model = _build_mini(ex, mini_vgg)
    s = MINI_INPUT[0]
    conv = {"kernel_size": (3, 3), "strides": (1, 1), "padding": "same"}
    spec = [
        LayerSpec("Conv2D", (s, s, 16), None, conv, "relu"),
        LayerSpec("MaxPooling2D", (s // 2, s // 2, 16)),
        LayerSpec("Conv2D", (s // 2, s // 2, 32), None, conv, "relu"),
        LayerSpec("Conv2D", (s // 2, s // 2, 32), None, conv, "relu"),
        LayerSpec("MaxPooling2D", (s // 4, s // 4, 32)),
        LayerSpec("Flatten", ((s // 4) ** 2 * 32,)),
        LayerSpec("Dense", (MINI_CLASSES,), None, {}, "softmax"),
    ]
    check_architecture(
        model,
        spec,
        ex,
        hint="vgg_block(x, 1, 16), vgg_block(x, 2, 32), Flatten(), Dense(num_classes, activation='softmax').",
    )
    expect_params(ex, model, mini_vgg_params(), f"mini_vgg({MINI_INPUT}, {MINI_CLASSES})")
    passed(ex, f"{model.count_params():,} parameters, layers as specified")


def check_mini_resnet(mini_resnet):
    """Check ``mini_resnet``: stem, pool, two residual blocks, global pooling, a Dense softmax.

    Built for :data:`MINI_INPUT` and :data:`MINI_CLASSES`; checked by its
    layer counts (2 ``Add``, 1 ``MaxPooling2D``, 1
    ``GlobalAveragePooling2D``, 6 ``Conv2D``, one softmax ``Dense``), its
    parameter count, and the 4x4x32 map the global pooling must see.
    Nothing is trained.

    Args:
        mini_resnet: the student's ``mini_resnet(input_shape, num_classes)``,
            returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line when the model is right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, or the model differs.
    """
    ex = "Exercise 8b (mini_resnet)"
    model = _build_mini(ex, mini_resnet)
    what = f"mini_resnet({MINI_INPUT}, {MINI_CLASSES})"
    hint = (
        "Conv2D(16, 3, padding='same', activation='relu'), MaxPooling2D(2), residual_block(x, 16, 1), "
        "residual_block(x, 32, 2), GlobalAveragePooling2D(), Dense(num_classes, activation='softmax')."
    )
    expect_layer_count(ex, model, "Add", 2, what, hint=hint)
    expect_layer_count(ex, model, "MaxPooling2D", 1, what, hint=hint)
    expect_layer_count(ex, model, "GlobalAveragePooling2D", 1, what, hint=hint)
    expect_layer_count(ex, model, "Conv2D", 6, what, hint=hint)
    dense = layers_of_kind(model, "Dense")
    if len(dense) != 1 or activation_of(dense[0]) != "softmax":
        raise CheckFailed(ex, f"{what}: end with a single Dense(num_classes, activation='softmax').", hint=hint)
    expect_params(ex, model, mini_resnet_params(), what, hint=hint)
    seen = tuple(int(d) for d in layers_of_kind(model, "GlobalAveragePooling2D")[0].input.shape[1:])
    want = (MINI_INPUT[0] // 4, MINI_INPUT[1] // 4, 32)
    if seen != want:  # a block without its stride has the same parameters: only the shape tells
        raise CheckFailed(
            ex,
            f"{what}: the global pooling should see a {want} feature map.",
            expected=want,
            found=seen,
            hint="The stem's pooling halves the size and the second residual block (stride 2) halves it again.",
        )
    passed(
        ex, f"{model.count_params():,} parameters, two residual blocks as specified, downsampled to {want[0]}x{want[1]}"
    )


def mini_net_data():
    """Return the data the mini networks train on: 16x16 texture patches, 3 classes.

    Returns:
        ``(images, labels)`` from :func:`cnncourse.data.load_textures` with
        16x16 patches: brick 0, grass 1, gravel 2.
    """
    from cnncourse.data import load_textures

    return load_textures(patch_size=MINI_INPUT[0], return_X_y=True)


def train_mini_net(builder, seed=0, exercise="Mini network", validation=True):
    """Retrain ``builder(input_shape, num_classes)`` under the ``lab6.mini_nets`` budget.

    The check's recipe (Adam at :data:`LEARNING_RATE`) on
    :func:`mini_net_data`, through
    :func:`~cnncourse.checks.training.retrain`.

    Args:
        builder: the student's ``mini_vgg`` or ``mini_resnet``.
        seed: the training seed.
        exercise: the name feedback gives the run.
        validation: whether the history gets validation curves on the
            held-out patches.

    Returns:
        A :class:`~cnncourse.checks.training.TrainResult` (``accuracy`` is
        measured on held-out patches) with ``params``, the model's parameter
        count, added.

    Raises:
        NotAttempted: the builder still raises ``NotImplementedError``.
        CheckFailed: the model is not right (see
            :func:`~cnncourse.checks.training.build`).
    """
    from cnncourse.runtime import budget

    from .training import retrain

    x, y = mini_net_data()
    with warnings.catch_warnings():
        # Keras notes that fit's default shuffle does not apply to a tf.data pipeline (which shuffles itself).
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        result = retrain(
            exercise,
            builder,
            x,
            y,
            budget(BUDGET),
            builder_args=(MINI_INPUT, MINI_CLASSES),
            seed=seed,
            validation=validation,
            learning_rate=LEARNING_RATE,
        )
    result.params = int(result.model.count_params())
    return result


def report_mini_net(results, label, check):
    """Print the accuracy the training cell measured for ``label`` next to the calibrated bar.

    Gives feedback before grading; the graded number comes from a fresh run
    of the same training. Missing the bar does not raise.

    Args:
        results: the notebook's ``{label: {"accuracy": ..., ...}}``.
        label: the network's label in ``results``, e.g. ``"mini-VGG"``.
        check: the check's name in the calibration, e.g. ``"mini_vgg"``.

    Returns:
        None.

    Raises:
        CheckFailed: ``results`` is not a dict or has no ``label``.
    """
    from .training import report

    ex = f"Training ({label})"
    if not isinstance(results, dict) or label not in results:
        raise CheckFailed(
            ex,
            f"no result for {label!r}: run the training cell above first.",
            found=sorted(results) if isinstance(results, dict) else type(results).__name__,
        )
    report(ex, "held-out accuracy", float(results[label]["accuracy"]), LAB, check)


def check_efficiency(results, acc_per_kparam, more_efficient):
    """Check the answers read off the student's own results: accuracy per 1,000 parameters, and which is higher.

    Args:
        results: the student's ``{name: {"accuracy": ..., "params": ...}}``
            of the two trained networks.
        acc_per_kparam: the student's ``{name: accuracy / (params / 1000)}``.
        more_efficient: the student's answer, the name in ``results`` with
            the most accuracy per parameter.

    Returns:
        None; prints a ✔ line when both answers follow from ``results``.

    Raises:
        CheckFailed: ``results`` lacks a network, a value of
            ``acc_per_kparam`` is wrong, or ``more_efficient`` is not the
            better network's name.
    """
    ex = "Exercise 9 (accuracy per parameter)"
    if not isinstance(results, dict) or len(results) < 2:
        raise CheckFailed(ex, "`results` should hold both trained networks; run the training cell first.")
    if not isinstance(acc_per_kparam, dict) or set(acc_per_kparam) != set(results):
        raise CheckFailed(
            ex,
            "acc_per_kparam should have one entry per network in `results`.",
            expected=sorted(results),
            found=sorted(acc_per_kparam) if isinstance(acc_per_kparam, dict) else type(acc_per_kparam).__name__,
        )
    for name, r in results.items():
        want = r["accuracy"] / (r["params"] / 1000.0)
        if not np.isclose(float(acc_per_kparam[name]), want, rtol=1e-6):
            raise CheckFailed(
                ex,
                f"acc_per_kparam[{name!r}] does not follow from your results.",
                expected=round(want, 6),
                found=acc_per_kparam[name],
                hint="accuracy / (parameters / 1000).",
            )
    best = max(results, key=lambda k: results[k]["accuracy"] / results[k]["params"])
    more_efficient = plain(more_efficient)  # a str whose == is always true answers for nothing
    if more_efficient not in results:
        raise CheckFailed(
            ex,
            "more_efficient should be one of the names in `results`.",
            expected=sorted(results),
            found=more_efficient,
        )
    if more_efficient != best:
        raise CheckFailed(
            ex,
            "by your own numbers, the other network reached more accuracy per parameter.",
            found=more_efficient,
            hint="Compare the two values of acc_per_kparam.",
        )
    passed(ex, f"{more_efficient} gets the most accuracy per parameter in your runs")


# --------------------------------------------------------------------------
# Exercise 10: DenseNet's dense block; Exercise 11: squeeze-and-excitation
# --------------------------------------------------------------------------
def check_dense_block(dense_block):
    """Check ``dense_block``: each layer (BN, ReLU, 3x3 convolution) sees every earlier output, concatenated.

    For three cases: the output has ``c_in + layers * growth_rate`` channels
    and the input's height and width; there are ``num_layers`` 3x3 same-padded
    convolutions of ``growth_rate`` filters, and the i-th of them reads
    ``c_in + i * growth_rate`` channels (so it sees the block's input and
    every earlier layer's output); ``layers`` batch normalisations and
    ``layers`` concatenations.

    Args:
        dense_block: the student's ``dense_block(x, num_layers, growth_rate)``,
            returning the output tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build, or its shape or layers are wrong.
    """
    ex = "Exercise 10 (dense_block)"
    for shape, n, g in (((8, 8, 16), 3, 12), ((6, 6, 5), 2, 4), ((5, 7, 8), 4, 6)):
        h, w, cin = shape
        what = f"dense_block(x, num_layers={n}, growth_rate={g}) on x of shape {shape}"
        model = block_model(ex, dense_block, shape, n, g)
        got = output_shape(model)
        if got == shape:
            raise CheckFailed(
                ex,
                f"{what}: the output has the input's channels: the layers' outputs were added, not concatenated.",
                hint="keras.layers.Concatenate()([x, y]): the channels grow by growth_rate at every layer.",
            )
        if got != (h, w, cin + n * g):
            raise CheckFailed(
                ex,
                f"{what}: wrong output shape.",
                expected=(h, w, cin + n * g),
                found=got,
                hint="Each layer adds growth_rate channels to everything before it.",
            )
        convs = layers_of_kind(model, "Conv2D")
        reads = [int(layer.kernel.shape[2]) for layer in convs]
        want_reads = [cin + i * g for i in range(n)]
        if len(convs) != n or any(
            as_pair(c.get_config()["kernel_size"]) != (3, 3) or c.get_config()["filters"] != g for c in convs
        ):
            raise CheckFailed(
                ex,
                f"{what}: expected {n} Conv2D(growth_rate, 3) layers.",
                found=[conv_signature(c) for c in convs],
            )
        if reads != want_reads:
            raise CheckFailed(
                ex,
                f"{what}: each convolution should read the block's input and every earlier layer's output.",
                expected=want_reads,
                found=reads,
                hint="Concatenate each new output onto x, and feed the growing x to the next layer.",
            )
        expect_layer_count(ex, model, "BatchNormalization", n, what, hint="BN, then ReLU, then the convolution.")
        expect_layer_count(ex, model, "Concatenate", n, what)
    passed(ex, "every layer reads all earlier outputs; channels grow by growth_rate (3 cases)")


def check_se_block(se_block):
    """Check ``se_block``: squeeze (global average), excite (two Dense layers), rescale each channel.

    For three cases: the output has the input's shape; there is one global
    average pooling, two Dense layers of ``channels // ratio`` units (ReLU)
    and ``channels`` units (sigmoid), and one ``Multiply``; and, run on a
    random input, the output divided by the input is one number per channel,
    the same at every pixel and between 0 and 1.

    Args:
        se_block: the student's ``se_block(x, ratio)``, returning the output
            tensor.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: the block does not build, or its layers or behaviour are wrong.
    """
    ex = "Exercise 11 (se_block)"
    for shape, r in (((6, 6, 16), 4), ((5, 4, 32), 8), ((3, 3, 12), 3)):
        c = shape[-1]
        what = f"se_block(x, ratio={r}) on x of shape {shape}"
        model = block_model(ex, se_block, shape, r)
        if output_shape(model) != shape:
            raise CheckFailed(
                ex,
                f"{what}: the output should have the input's shape.",
                expected=shape,
                found=output_shape(model),
                hint="Multiply x by the channel weights, reshaped to (1, 1, C).",
            )
        expect_layer_count(ex, model, "GlobalAveragePooling2D", 1, what, hint="Squeeze: one number per channel.")
        dense = layers_of_kind(model, "Dense")
        units = [d.get_config()["units"] for d in dense]
        if units != [c // r, c]:
            raise CheckFailed(
                ex,
                f"{what}: the excitation is a bottleneck of two Dense layers.",
                expected=[c // r, c],
                found=units,
                hint="Dense(channels // ratio, relu), then Dense(channels, sigmoid).",
            )
        if [activation_of(d) for d in dense] != ["relu", "sigmoid"]:
            raise CheckFailed(
                ex,
                f"{what}: the first Dense layer uses ReLU, the second a sigmoid (a weight between 0 and 1 per channel).",
                found=[activation_of(d) for d in dense],
            )
        expect_layer_count(ex, model, "Multiply", 1, what, hint="keras.layers.Multiply()([x, weights]).")
        x = _rng(7).uniform(0.5, 1.5, (2,) + shape).astype("float32")
        scale = np.asarray(model(x)) / x
        per_channel = scale[:, :1, :1, :]
        if not np.allclose(scale, per_channel, rtol=1e-4) or per_channel.min() <= 0 or per_channel.max() >= 1:
            raise CheckFailed(
                ex,
                f"{what}: the output should be the input times one weight in (0, 1) per channel, the same at every pixel.",
            )
    passed(ex, "squeeze, a bottleneck excitation and a per-channel rescaling (3 cases)")


def check_se_params(se_params, se_block):
    """Check the student's ``se_params`` formula against the parameters of their own ``se_block`` (predict, then verify).

    Args:
        se_params: the student's ``se_params(channels, ratio)``.
        se_block: the student's ``se_block(x, ratio)`` (checked on its own by
            :func:`check_se_block`).

    Returns:
        None; prints a ✔ line when the formula gives Keras's count on four sizes.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: ``se_params`` builds a model instead of using a formula.
        CheckFailed: the formula differs from Keras's count.
    """
    ex = EXERCISES["se_params"]
    se_params = by_hand(ex, se_params, ARITHMETIC)
    for c, r in ((16, 4), (64, 16), (256, 16), (30, 3)):
        counted = block_model(ex, se_block, (4, 4, c), r).count_params()
        got = call(ex, se_params, c, r)
        if got != counted:
            raise CheckFailed(
                ex,
                f"se_params({c}, {r}) is not what Keras counts in your se_block on {c} channels.",
                found=got,
                hint="Two Dense layers: each has a weight per (input, output) pair and a bias per output; "
                "pooling, reshaping and multiplying have none.",
            )
    passed(ex, "your formula gives Keras's count of your block on 4 sizes")


# --------------------------------------------------------------------------
# Exercise 12 and Question 2: depth with and without shortcuts
# --------------------------------------------------------------------------
DEEP_BUDGET = "lab6.degradation"
DEEP_BLOCKS = 6
DEEP_WIDTH = 16


def deep_net_params(cin, num_classes, num_blocks, width=DEEP_WIDTH):
    """Return the parameters of the lab's ``deep_net`` by formula (the same with and without shortcuts).

    Args:
        cin: the input's channels.
        num_classes: the softmax's outputs.
        num_blocks: the blocks of two normalised 3x3 convolutions.
        width: the filters of every convolution.

    Returns:
        The number of parameters, an int.

    Example:
        >>> deep_net_params(1, 3, 6)
        28675
    """
    bn = 4 * width
    stem = 9 * cin * width + bn
    block = 2 * (9 * width * width + bn)
    return stem + num_blocks * block + width * num_classes + num_classes


def check_deep_net(deep_net):
    """Check ``deep_net``: a stem, plain or residual blocks, global pooling and a softmax.

    Built with and without shortcuts for two depths; checked by the output,
    the parameter count (equal in both kinds), the layers (``Add`` only in
    the residual kind, one per block; a normalisation after every
    convolution; one ``MaxPooling2D``, one ``GlobalAveragePooling2D``) and
    the feature map the pooling sees. Nothing is trained.

    Args:
        deep_net: the student's ``deep_net(input_shape, num_classes,
            num_blocks, residual)``, returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line when both kinds are right.

    Raises:
        NotAttempted: the function (or ``residual_block_bn``) still raises
            ``NotImplementedError``.
        CheckFailed: it crashes, or a model differs.
    """
    from .training import build

    ex = EXERCISES["deep_net"]
    hint = (
        "Stem: Conv2D(16, 3, padding='same', use_bias=False), BatchNormalization(), ReLU(), MaxPooling2D(2). "
        "Then num_blocks blocks: residual_block_bn(x, 16), or without shortcuts Conv2D, BN, ReLU, Conv2D, "
        "BN, ReLU (16 filters, 3x3, 'same', no bias). GlobalAveragePooling2D(), Dense(num_classes, "
        "activation='softmax')."
    )
    for num_blocks in (2, 3):
        for residual in (False, True):
            what = f"deep_net({MINI_INPUT}, {MINI_CLASSES}, num_blocks={num_blocks}, residual={residual})"
            model = build(
                ex,
                deep_net,
                MINI_INPUT,
                MINI_CLASSES,
                num_blocks,
                residual,
                input_shape=MINI_INPUT,
                num_classes=MINI_CLASSES,
            )
            adds = len(layers_of_kind(model, "Add"))
            if residual and adds != num_blocks:
                raise CheckFailed(
                    ex,
                    f"{what}: a residual network has one shortcut (one Add) per block.",
                    expected=num_blocks,
                    found=adds,
                    hint="Use residual_block_bn(x, 16) for each block when residual is true.",
                )
            if not residual and adds:
                raise CheckFailed(
                    ex,
                    f"{what}: the plain network should have no shortcut, but it has {adds} Add layer(s).",
                    hint="When residual is false, write the block's layers yourself, without the Add.",
                )
            convs = layers_of_kind(model, "Conv2D")
            if len(convs) != 1 + 2 * num_blocks:
                raise CheckFailed(
                    ex,
                    f"{what}: the stem's convolution and two per block.",
                    expected=1 + 2 * num_blocks,
                    found=len(convs),
                    hint=hint,
                )
            if any(_single_consumer_kind(layer) != "BatchNormalization" for layer in convs):
                raise CheckFailed(
                    ex, f"{what}: every convolution's output should go straight into a BatchNormalization.", hint=hint
                )
            expect_layer_count(ex, model, "MaxPooling2D", 1, what, hint=hint)
            expect_layer_count(ex, model, "GlobalAveragePooling2D", 1, what, hint=hint)
            dense = layers_of_kind(model, "Dense")
            if len(dense) != 1 or activation_of(dense[0]) != "softmax":
                raise CheckFailed(ex, f"{what}: end with a single Dense(num_classes, activation='softmax').", hint=hint)
            expect_params(
                ex,
                model,
                deep_net_params(MINI_INPUT[-1], MINI_CLASSES, num_blocks),
                what,
                hint="Both kinds have the same layers and parameters; only the Add differs. " + hint,
            )
            seen = tuple(int(d) for d in layers_of_kind(model, "GlobalAveragePooling2D")[0].input.shape[1:])
            want = (MINI_INPUT[0] // 2, MINI_INPUT[1] // 2, DEEP_WIDTH)
            if seen != want:
                raise CheckFailed(
                    ex,
                    f"{what}: the global pooling should see a {want} feature map.",
                    expected=want,
                    found=seen,
                    hint="Only the stem's pooling halves the size; every block keeps it (stride 1).",
                )
    passed(ex, "plain and residual networks of the same depth and parameters, shortcuts only in the residual one")


def train_deep_net(deep_net, residual, seed=0, exercise=None):
    """Train ``deep_net(..., num_blocks=DEEP_BLOCKS, residual)`` on the texture patches under ``lab6.degradation``.

    The same data, seed and recipe for both kinds (Adam at
    :data:`LEARNING_RATE`); only the training loss is recorded, since the
    question is about optimisation.

    Args:
        deep_net: the student's ``deep_net``.
        residual: build the network with shortcuts.
        seed: the seed of the weights, the shuffling and the kept examples.
        exercise: the name feedback gives the run (``None``: Exercise 12's).

    Returns:
        A :class:`~cnncourse.checks.training.TrainResult`: ``history`` has the
        per-epoch ``loss``; ``params`` is added.

    Raises:
        NotAttempted: the builder still raises ``NotImplementedError``.
        CheckFailed: the model is not right (see
            :func:`~cnncourse.checks.training.build`).
    """
    from cnncourse.runtime import budget

    from .training import TrainResult, build, fit, split_for_check

    ex = exercise or EXERCISES["deep_net"]
    spec = budget(DEEP_BUDGET)
    x, y = mini_net_data()
    (x_tr, y_tr), _ = split_for_check(x, y, spec, seed=seed, split_seed=0)
    model = build(
        ex,
        deep_net,
        MINI_INPUT,
        MINI_CLASSES,
        DEEP_BLOCKS,
        bool(residual),
        seed=seed,
        input_shape=MINI_INPUT,
        num_classes=MINI_CLASSES,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
        history = fit(model, x_tr, y_tr, spec, seed=seed, learning_rate=LEARNING_RATE)
    result = TrainResult(
        model=model,
        history=history,
        accuracy=float("nan"),
        train_accuracy=float(history["accuracy"][-1]),
        seconds=time.perf_counter() - start,
        seed=seed,
        n_train=len(y_tr),
        n_test=0,
    )
    result.params = int(model.count_params())
    return result


def check_lower_training_loss(lower_training_loss, deep_histories):
    """Check that Question 2's answer is a name of the student's runs (the hidden test checks which).

    Args:
        lower_training_loss: the student's answer, ``"plain"`` or
            ``"residual"``.
        deep_histories: the student's ``{"plain": history, "residual":
            history}`` from the training cell.

    Returns:
        None; prints a ✔ line when the answer is well-formed.

    Raises:
        CheckFailed: the training cell has not run, or the answer is not one
            of the two names.
    """
    ex = EXERCISES["lower_training_loss"]
    names = ("plain", "residual")
    if not isinstance(deep_histories, dict) or set(deep_histories) != set(names):
        raise CheckFailed(
            ex,
            "deep_histories should hold both runs: run the training cell above first.",
            expected=list(names),
            found=sorted(deep_histories) if isinstance(deep_histories, dict) else type(deep_histories).__name__,
        )
    for name in names:
        h = deep_histories[name]
        h = getattr(h, "history", h)
        if not isinstance(h, dict) or not h.get("loss"):
            raise CheckFailed(ex, f"deep_histories[{name!r}] has no training loss: run the training cell again.")
    answer = plain(lower_training_loss)
    if answer not in names:
        raise CheckFailed(
            ex,
            "lower_training_loss should be one of the two run names.",
            expected=list(names),
            found=answer,
            hint="Compare the last value of deep_histories[name]['loss'] for each name.",
        )
    passed(ex, f"{answer!r} is one of your runs; the hidden test compares it with your two training losses")


# --------------------------------------------------------------------------
# Question 3 and Exercise 13: a classifier's head, and a network under a budget
# --------------------------------------------------------------------------
PARAM_LIMIT = 4000


def _head_count(h, w, c, k, pooling):
    """Keras's count of a Flatten or GlobalAveragePooling2D head with Dense(k) on an h x w x c map."""
    import keras

    inp = keras.Input(shape=(h, w, c))
    pooled = keras.layers.Flatten()(inp) if pooling == "flatten" else keras.layers.GlobalAveragePooling2D()(inp)
    return int(keras.Model(inp, keras.layers.Dense(k)(pooled)).count_params())


def check_head_params(head_params):
    """Check the student's ``head_params`` formula against Keras's count of both heads (predict, then verify).

    Args:
        head_params: the student's ``head_params(height, width, channels,
            num_classes, pooling)``.

    Returns:
        None; prints a ✔ line when the formula gives Keras's count of both
        heads on three maps.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it builds a model instead of using a formula.
        CheckFailed: the formula differs from Keras's count.
    """
    ex = EXERCISES["head_params"]
    head_params = by_hand(ex, head_params, ARITHMETIC)
    for h, w, c, k in ((4, 4, 32, 3), (6, 2, 10, 5), (3, 3, 64, 10)):
        for pooling in ("flatten", "gap"):
            want = _head_count(h, w, c, k, pooling)
            got = call(ex, head_params, h, w, c, k, pooling)
            if got == want:
                continue
            if pooling == "flatten":
                hint = "Flatten keeps every number of the map: height * width * channels inputs to the Dense layer."
            else:
                hint = "Global average pooling leaves one number per channel, whatever the map's height and width."
            if got == want - k:
                hint = "Each of the Dense layer's outputs has a bias too."
            raise CheckFailed(
                ex,
                f"head_params({h}, {w}, {c}, {k}, {pooling!r}) is not what Keras counts.",
                found=got,
                hint=hint,
            )
    passed(ex, "your formula gives Keras's count of both heads on 3 maps")


def check_budget_net(budget_net):
    """Check ``budget_net`` before it trains: a classifier of the texture patches within :data:`PARAM_LIMIT`.

    Args:
        budget_net: the student's ``budget_net(input_shape, num_classes)``,
            returning a ``keras.Model``.

    Returns:
        None; prints a ✔ line with the parameter count.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: it crashes, does not output one probability per class,
            or has more than :data:`PARAM_LIMIT` parameters.
    """
    from .training import outputs_probabilities

    ex = EXERCISES["budget_net"]
    model = _build_mini(ex, budget_net)
    n = int(model.count_params())
    if n > PARAM_LIMIT:
        raise CheckFailed(
            ex,
            f"the network has {n:,} parameters, over the budget of {PARAM_LIMIT:,}.",
            hint="Look at model.summary(): a Flatten before a Dense layer is often where they go; global average "
            "pooling needs height x width times fewer. Narrower convolutions cost quadratically less.",
        )
    x = _rng(13).random((4,) + MINI_INPUT).astype("float32")
    if not outputs_probabilities(model, x):
        raise CheckFailed(
            ex,
            "the network should output probabilities (each row non-negative, summing to 1).",
            hint="End with Dense(num_classes, activation='softmax').",
        )
    passed(ex, f"{n:,} parameters, within the budget of {PARAM_LIMIT:,}")
