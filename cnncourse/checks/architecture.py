"""Compare a student's Keras model with a specification, layer by layer.

The specification is a list of :class:`LayerSpec` (or of plain dicts with the
same keys); a reference ``keras.Model`` can be turned into one with
:func:`describe`. The comparison reads what Keras 3 actually built: the
layer class, ``layer.output.shape``, ``count_params()`` and a few key
``get_config()`` fields. Missing and extra layers are reported as such: the
comparison aligns the two lists by layer class and never silently stops at
the shorter one.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from collections import Counter

import numpy as np

from .core import CheckFailed, NotAttempted, call

# The get_config() fields worth comparing, by layer class.
KEY_FIELDS = {
    "Conv1D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "use_bias"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "use_bias"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "depth_multiplier", "use_bias"),
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "depth_multiplier", "use_bias"),
    "Dense": ("units", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Dropout": ("rate",),
    "Concatenate": ("axis",),
}
# Layers that carry no structure worth comparing on their own.
IGNORED = ("InputLayer",)


@dataclasses.dataclass
class LayerSpec:
    """What one layer should be; ``None`` fields (and config keys not given) are not compared.

    Args:
        kind: the layer's class name, e.g. ``"Conv2D"``.
        output_shape: the layer's output shape without the batch axis.
        params: the layer's ``count_params()``.
        config: ``get_config()`` fields and their values, e.g.
            ``{"filters": 6, "padding": "same"}`` (lists and tuples compare
            alike).
        activation: the name of the layer's activation, e.g. ``"relu"``.

    Example:
        >>> str(LayerSpec("Conv2D", (28, 28, 6), config={"filters": 6}, activation="relu"))
        '(Conv2D, out=(28, 28, 6), filters=6, activation=relu)'
    """

    kind: str
    output_shape: tuple | None = None
    params: int | None = None
    config: dict = dataclasses.field(default_factory=dict)
    activation: str | None = None

    def __str__(self):
        bits = [self.kind]
        if self.output_shape is not None:
            bits.append(f"out={tuple(self.output_shape)}")
        if self.params is not None:
            bits.append(f"params={self.params}")
        bits += [f"{k}={v}" for k, v in self.config.items()]
        if self.activation:
            bits.append(f"activation={self.activation}")
        return "(" + ", ".join(bits) + ")" if len(bits) > 1 else bits[0]


def _norm(value):
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def _activation_name(layer):
    cfg = layer.get_config()
    act = cfg.get("activation")
    if isinstance(act, dict):  # serialised activation
        act = act.get("config", {}).get("name") or act.get("class_name")
    if act is None and type(layer).__name__ == "Activation":
        act = cfg.get("activation")
    return act


def standalone_activation(layer):
    """Return the activation a layer of its own applies, ``None`` for any other layer.

    ``Activation("relu")``, ``ReLU()`` with its defaults and ``Softmax()``
    over the last axis are the same function as ``activation="relu"`` (or
    ``"softmax"``) on the layer before them, so the comparisons treat them
    alike.

    Args:
        layer: a Keras layer.

    Returns:
        ``"relu"``, ``"softmax"``, the name an ``Activation`` layer holds, or
        ``None``.

    Example:
        >>> import keras
        >>> standalone_activation(keras.layers.ReLU())
        'relu'
        >>> standalone_activation(keras.layers.ReLU(max_value=6.0)) is None
        True
    """
    kind = type(layer).__name__
    cfg = layer.get_config()
    if kind == "Activation":
        return _activation_name(layer)
    if kind == "ReLU" and not cfg.get("max_value") and not cfg.get("negative_slope") and not cfg.get("threshold"):
        return "relu"
    if kind == "Softmax" and cfg.get("axis", -1) in (-1, [-1], (-1,)):
        return "softmax"
    return None


def _consumers(layer):
    """The distinct layers that take this layer's output (``None`` when Keras does not say).

    A ``Sequential`` model grown with ``add`` builds its graph again after each
    layer, so one consumer may appear in several nodes.
    """
    try:
        operations = [node.operation for node in layer._outbound_nodes]
    except AttributeError:
        return None
    return list({id(op): op for op in operations}.values())


def _activation_layer_after(layer):
    """The standalone activation layer that alone consumes a linear layer's output, else ``None``."""
    if _activation_name(layer) not in (None, "linear") or "activation" not in layer.get_config():
        return None
    consumers = _consumers(layer)
    if consumers and len(consumers) == 1 and standalone_activation(consumers[0]) is not None:
        return consumers[0]
    return None


def describe(model, with_params=True):
    """Return the :class:`LayerSpec` list of a built Keras model.

    One spec per entry of ``model.layers``, in order, input layers left out:
    the class name, the output shape without the batch axis (``None`` where
    it cannot be read), the parameter count, the :data:`KEY_FIELDS` of the
    layer's class found in its ``get_config()`` (lists turned into tuples),
    and the activation's name for a layer whose config has one.

    Args:
        model: a built ``keras.Model``.
        with_params: whether to record each layer's ``count_params()``
            (``False``: ``params`` is ``None``, so it is not compared).

    Returns:
        A list of :class:`LayerSpec`, usable as the ``expected`` of
        :func:`compare`.

    Example:
        >>> expected = describe(reference_model)  # doctest: +SKIP
    """
    specs = []
    folded = set()  # standalone activation layers already counted as their producer's activation
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in IGNORED or id(layer) in folded:
            continue
        try:
            shape = tuple(layer.output.shape)[1:]
        except (AttributeError, ValueError):
            shape = None
        cfg = layer.get_config()
        fields = {k: _norm(cfg[k]) for k in KEY_FIELDS.get(kind, ()) if k in cfg}
        params = layer.count_params() if with_params else None
        after = _activation_layer_after(layer)
        if after is not None:
            folded.add(id(after))
            specs.append(LayerSpec(kind, shape, params, fields, standalone_activation(after)))
        elif standalone_activation(layer) is not None:
            specs.append(LayerSpec("Activation", shape, params, {}, standalone_activation(layer)))
        else:
            specs.append(
                LayerSpec(kind, shape, params, fields, _activation_name(layer) if "activation" in cfg else None)
            )
    return specs


def canonical(specs):
    """Return a specification with each standalone activation folded into the linear layer before it.

    ``Conv2D(activation=None)`` then ``Activation("relu")`` is the same
    network as ``Conv2D(activation="relu")``; both read as the latter, in a
    written specification as in :func:`describe`'s reading of a model.

    Args:
        specs: a list of :class:`LayerSpec` (or dicts with its keys), in order.

    Returns:
        A new list of :class:`LayerSpec`.

    Example:
        >>> canonical([LayerSpec("Dense", (4,), 20, {}, "linear"), LayerSpec("Activation", (4,), 0, {}, "relu")])
        [LayerSpec(kind='Dense', output_shape=(4,), params=20, config={}, activation='relu')]
    """
    out = []
    for spec in map(_as_spec, specs):
        prev = out[-1] if out else None
        if (
            spec.kind == "Activation"
            and prev is not None
            and prev.activation == "linear"
            and (spec.output_shape is None or prev.output_shape is None or spec.output_shape == prev.output_shape)
        ):
            out[-1] = dataclasses.replace(prev, activation=spec.activation)
        else:
            out.append(spec)
    return out


def _as_spec(s):
    return s if isinstance(s, LayerSpec) else LayerSpec(**s)


def compare(model, expected, exercise="Architecture", check_activation=True):
    """Return a list of human-readable differences between ``model`` and ``expected``.

    An empty list means the model matches. Layers are aligned by class name
    (a diff of the two sequences), so one missing layer is reported as
    "missing", not as a cascade of mismatches.

    Args:
        model: the student's built ``keras.Model``.
        expected: the specification, a list of :class:`LayerSpec` or of
            dicts with its keys.
        exercise: not used; accepted so that the call reads like
            :func:`check_architecture`'s.
        check_activation: ``False`` leaves out the comparison of activations
            (missing and extra layers are still reported).

    Returns:
        A list of strings such as ``"missing layer #2: (Dense, ...)"``,
        ``"extra layer #3: ..."`` or ``"layer #1 (Conv2D): output shape (26,
        26, 6), expected (28, 28, 6)"``.

    Example:
        >>> compare(model, [LayerSpec("Dense", (10,), activation="softmax")])  # doctest: +SKIP
        []
    """
    found = describe(model)
    expected = canonical(expected)
    problems = []
    for exp_idx, exp, got_idx, got in _align(expected, found):
        if got is None:
            problems.append(f"missing layer #{exp_idx + 1}: {exp}")
        elif exp is None:
            problems.append(f"extra layer #{got_idx + 1}: {got}")
        else:
            problems += _compare_layer(
                exp if check_activation else dataclasses.replace(exp, activation=None), got, position=got_idx + 1
            )
    return problems


def _signature(spec):
    return (spec.kind, tuple(sorted((k, repr(_norm(v))) for k, v in spec.config.items())))


def _align(expected, found):
    """Pair expected and found layers: ``(exp_index, exp, found_index, found)``, None where unpaired.

    Layers are first aligned on class and key settings (so an inserted Dense
    is "extra" rather than shifting every later Dense), then, inside blocks
    that differ, on class alone (so a changed setting is reported on the
    layer that has it).
    """
    outer = difflib.SequenceMatcher(
        a=[_signature(s) for s in expected], b=[_signature(s) for s in found], autojunk=False
    )
    for op, i1, i2, j1, j2 in outer.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                yield i1 + k, expected[i1 + k], j1 + k, found[j1 + k]
            continue
        inner = difflib.SequenceMatcher(
            a=[s.kind for s in expected[i1:i2]], b=[s.kind for s in found[j1:j2]], autojunk=False
        )
        for op2, a1, a2, b1, b2 in inner.get_opcodes():
            if op2 == "equal":
                for k in range(a2 - a1):
                    yield i1 + a1 + k, expected[i1 + a1 + k], j1 + b1 + k, found[j1 + b1 + k]
                continue
            for idx in range(i1 + a1, i1 + a2):
                yield idx, expected[idx], None, None
            for idx in range(j1 + b1, j1 + b2):
                yield None, None, idx, found[idx]


def _compare_layer(exp, got, position):
    out = []
    where = f"layer #{position} ({got.kind})"
    if exp.output_shape is not None and tuple(exp.output_shape) != tuple(got.output_shape or ()):
        out.append(f"{where}: output shape {tuple(got.output_shape or ())}, expected {tuple(exp.output_shape)}")
    if exp.params is not None and exp.params != got.params:
        out.append(f"{where}: {got.params} parameters, expected {exp.params}")
    for key, value in exp.config.items():
        if _norm(got.config.get(key)) != _norm(value):
            out.append(f"{where}: {key}={got.config.get(key)!r}, expected {value!r}")
    if exp.activation is not None and got.activation != exp.activation:
        out.append(f"{where}: activation {got.activation!r}, expected {exp.activation!r}")
    return out


def check_architecture(model, expected, exercise="Architecture", hint=None, check_activation=True):
    """Check a model against a specification, listing every difference at once.

    Args:
        model: the student's built ``keras.Model``.
        expected: the specification, a list of :class:`LayerSpec` or of
            dicts with its keys.
        exercise: the exercise's name as feedback shows it.
        hint: how to fix it, shown on failure (``None``: no hint).
        check_activation: ``False`` leaves activations out of the comparison
            (see :func:`compare`).

    Returns:
        None when the model matches.

    Raises:
        CheckFailed: the model differs; the message lists the first 12
            differences (and how many more there are).

    Example:
        >>> check_architecture(model, lenet_spec((28, 28, 1), 10, "relu"), "Exercise 1")  # doctest: +SKIP
    """
    problems = compare(model, expected, exercise, check_activation=check_activation)
    if problems:
        shown = "\n    ".join(problems[:12])
        more = f"\n    ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise CheckFailed(
            exercise,
            f"the model differs from the specification in {len(problems)} place(s):\n    " + shown + more,
            hint=hint,
        )


def summary_table(model):
    """Return the model's layers as rows ``(kind, output shape, params)``, for printing.

    Args:
        model: a built ``keras.Model``.

    Returns:
        A list of tuples, one per layer of :func:`describe` (input layers
        left out).
    """
    return [(s.kind, s.output_shape, s.params) for s in describe(model)]


# --------------------------------------------------------------------------
# Blocks: what Keras built and how it behaves
# --------------------------------------------------------------------------
def block_model(ex, block, input_shape, *args, hint=None):
    """Build a student's functional block on a fresh input and wrap it in a model.

    Args:
        ex: the exercise's name, as feedback shows it.
        block: the student's ``block(x, *args)``, returning the output tensor.
        input_shape: the input's shape without the batch axis.
        *args: the block's other arguments.
        hint: the hint to give when the block fails to build (``None``: the
            hint of the failure itself).

    Returns:
        ``keras.Model(x, block(x, *args))``.

    Raises:
        NotAttempted: the block still raises ``NotImplementedError``.
        CheckFailed: the block crashes, or returns ``None``, a model, or a
            tensor not computed from ``x``.

    Example:
        >>> model = block_model("Ex 1", vgg_block, (16, 16, 3), 2, 8)  # doctest: +SKIP
    """
    import keras

    inp = keras.Input(shape=input_shape)
    try:
        out = call(ex, block, inp, *args)
    except NotAttempted:
        raise
    except CheckFailed as exc:
        raise CheckFailed(ex, exc.problem, hint=hint or exc.hint) from None
    if out is None:
        raise CheckFailed(ex, "the block returned None: did you forget to `return` the output tensor?")
    if isinstance(out, keras.Model) or not hasattr(out, "shape"):
        raise CheckFailed(
            ex,
            "the block should return the output *tensor* of its last layer (functional API).",
            found=type(out).__name__,
            hint="Write `y = SomeLayer(...)(x)` layer after layer and `return y`.",
        )
    try:
        return keras.Model(inp, out)
    except Exception as exc:  # noqa: BLE001 - the output does not come from the input
        raise CheckFailed(
            ex,
            f"the output tensor is not computed from the input x ({type(exc).__name__}).",
            hint="Apply every layer to x, or to a tensor computed from x.",
        ) from None


def output_shape(model):
    """Return the shape of the model's (first) output, without the batch axis.

    Args:
        model: a built ``keras.Model``.

    Returns:
        A tuple, e.g. ``(8, 8, 16)``.
    """
    return tuple(model.outputs[0].shape)[1:]


def layer_kind(layer):
    """Return the layer's class name (``"Conv2D"``).

    Args:
        layer: a Keras layer.

    Returns:
        ``type(layer).__name__``.
    """
    return type(layer).__name__


def layers_of_kind(model, kind):
    """Return the model's layers of class name ``kind``, in order.

    Only ``model.layers`` is searched: layers inside a nested model are not.

    Args:
        model: a built ``keras.Model``.
        kind: a class name, e.g. ``"Conv2D"`` (a subclass does not count).

    Returns:
        A list of layers.
    """
    return [layer for layer in model.layers if layer_kind(layer) == kind]


def activation_of(layer):
    """Return the name of the layer's activation, ``"linear"`` when it has none.

    A linear layer whose output goes only to a standalone activation layer
    (:func:`standalone_activation`) has that layer's activation.

    Args:
        layer: a Keras layer.

    Returns:
        The activation's name, e.g. ``"relu"``; ``"linear"`` also for a
        layer without an activation setting.
    """
    after = _activation_layer_after(layer)
    act = standalone_activation(after) if after is not None else _activation_name(layer)
    return "linear" if act in (None, "linear") else act


def as_pair(v):
    """Return ``(v, v)`` for a single size, the pair itself for a pair.

    For config fields that Keras may hold either way (``kernel_size``,
    ``strides``, ``pool_size``).

    Args:
        v: an int, or a list or tuple of two.

    Returns:
        A tuple.

    Example:
        >>> as_pair(3)
        (3, 3)
        >>> as_pair([2, 1])
        (2, 1)
    """
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def conv_signature(layer):
    """Return what makes a ``Conv2D`` the layer it is, as a hashable tuple.

    Args:
        layer: a built ``keras.layers.Conv2D``.

    Returns:
        ``(kernel, filters, input channels, strides, padding, activation,
        groups)``, with the kernel's and the strides' first side only; a 1x1
        convolution's padding reads ``"same"`` (it never pads).
    """
    cfg = layer.get_config()
    k = as_pair(cfg["kernel_size"])
    padding = cfg["padding"]
    if k == (1, 1):
        padding = "same"  # a 1x1 convolution never pads: 'same' and 'valid' are the same layer
    return (
        k[0],
        cfg["filters"],
        int(layer.input.shape[-1]),
        as_pair(cfg["strides"])[0],
        padding,
        activation_of(layer),
        cfg.get("groups", 1),
    )


def describe_conv_signature(d):
    """Return a :func:`conv_signature` in words, for feedback.

    Args:
        d: a tuple as :func:`conv_signature` returns it.

    Returns:
        A string; ``groups`` is named only when it is not 1.

    Example:
        >>> describe_conv_signature((3, 16, 8, 1, "same", "relu", 1))
        "Conv2D 3x3, 16 filters on 8 input channels, strides=1, padding='same', activation=relu"
    """
    k, f, cin, s, pad, act, g = d
    extra = f", groups={g}" if g != 1 else ""
    return f"Conv2D {k}x{k}, {f} filters on {cin} input channels, strides={s}, padding='{pad}', activation={act}{extra}"


def compare_conv_inventory(ex, what, found, expected, hint=None):
    """Fail unless two multisets of :func:`conv_signature` are equal, listing what is missing and extra.

    Blocks with parallel paths may build their layers in any order; comparing
    multisets accepts every order and still names each wrong layer.

    Args:
        ex: the exercise's name as feedback shows it.
        what: the call being checked, for the message.
        found: the signatures of the student's convolutions.
        expected: the signatures the exercise asks for.
        hint: how to fix it, shown on failure (``None``: no hint).

    Returns:
        None.

    Raises:
        CheckFailed: the multisets differ.
    """
    found_c, expected_c = Counter(found), Counter(expected)
    if found_c == expected_c:
        return
    missing = list((expected_c - found_c).elements())
    extra = list((found_c - expected_c).elements())
    lines = [f"missing: {describe_conv_signature(d)}" for d in missing] + [
        f"unexpected: {describe_conv_signature(d)}" for d in extra
    ]
    raise CheckFailed(
        ex, f"{what}: the convolutions differ from the specification:\n    " + "\n    ".join(lines), hint=hint
    )


def expect_params(ex, model, expected, what, hint=None):
    """Fail unless ``model.count_params()`` is ``expected`` (a closed-form count).

    Args:
        ex: the exercise's name as feedback shows it.
        model: the student's built ``keras.Model``.
        expected: the right number of parameters.
        what: the call being checked, for the message.
        hint: how to fix it, shown on failure (``None``: no hint).

    Returns:
        None.

    Raises:
        CheckFailed: the count differs.
    """
    got = int(model.count_params())
    if got != expected:
        raise CheckFailed(ex, f"{what}: wrong number of parameters.", expected=expected, found=got, hint=hint)


def expect_layer_count(ex, model, kind, expected, what, hint=None):
    """Fail unless the model has ``expected`` layers of class name ``kind``.

    Args:
        ex: the exercise's name as feedback shows it.
        model: the student's built ``keras.Model``.
        kind: a class name, e.g. ``"Add"`` (see :func:`layers_of_kind`).
        expected: how many such layers there must be.
        what: the call being checked, for the message.
        hint: how to fix it, shown on failure (``None``: no hint).

    Returns:
        None.

    Raises:
        CheckFailed: the count differs.
    """
    n = len(layers_of_kind(model, kind))
    if n != expected:
        raise CheckFailed(ex, f"{what}: expected {expected} {kind} layer(s), found {n}.", hint=hint)


def forward(model, x):
    """Return the model's output on ``x`` in inference mode, as a NumPy array.

    Args:
        model: a ``keras.Model``.
        x: a batch of inputs.

    Returns:
        ``np.asarray(model(x, training=False))``.
    """
    return np.asarray(model(x, training=False))


def open_paths(model):
    """Set a block's weights so that no path is closed by chance: kernels positive, biases zero, batch norm the identity.

    With random weights a ReLU path of few channels can be dead (negative
    before the ReLU wherever a change reaches), and a change would seem not to
    pass; with positive kernels and a positive change, it passes wherever the
    path's structure lets it.

    Args:
        model: a block wrapped by :func:`block_model` (built for the check: its weights are overwritten).

    Returns:
        The same model.
    """
    for variable in model.weights:
        name = variable.path.rsplit("/", 1)[-1] if hasattr(variable, "path") else variable.name
        value = np.asarray(variable)
        if name.endswith("kernel"):
            variable.assign(np.abs(value) + 0.05)
        elif name in ("bias", "beta", "moving_mean"):
            variable.assign(np.zeros_like(value))
        elif name in ("gamma", "moving_variance"):
            variable.assign(np.ones_like(value))
    return model


def reach(model, shape, bump=8.0):
    """How far a one-pixel change of the input spreads through a block, per output channel.

    The block's paths are opened first (:func:`open_paths`); then the centre
    pixel of an all-zero input (all its channels) is raised by ``bump``, and a
    position of the output counts as changed when it moves by more than 1e-5.
    A 3x3 'same' convolution spreads a change by 1 pixel, two of them by 2, a
    1x1 by 0: the behaviour of each path of a block, whatever layers it was
    built from, and whatever its random weights.

    Args:
        model: a block wrapped by :func:`block_model` (same height and width in and out; its weights are set).
        shape: the input's shape, ``(height, width, channels)``.
        bump: how much the centre pixel is raised.

    Returns:
        An int array with one value per output channel: the Chebyshev distance
        from the centre to the farthest changed position (-1: never changed).
    """
    open_paths(model)
    h, w, _ = shape
    ci, cj = h // 2, w // 2
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    dist = np.maximum(abs(rows - ci), abs(cols - cj))
    x = np.zeros((1,) + tuple(shape), "float32")
    x2 = x.copy()
    x2[0, ci, cj, :] += bump
    changed = np.abs(forward(model, x2) - forward(model, x))[0] > 1e-5  # (h, w, c)
    return np.where(changed, dist[..., None], -1).max(axis=(0, 1))


def _slices(sizes):
    out, start = [], 0
    for s in sizes:
        out.append(slice(start, start + s))
        start += s
    return out


def check_path_reach(ex, model, shape, sizes, radii, names, order_hint):
    """Fail unless each path of a block (a slice of its output channels) spreads a change exactly its radius.

    Args:
        ex: the exercise's name.
        model: the block as a model (:func:`block_model`).
        shape: the input's shape.
        sizes: each path's number of output channels, in concatenation order.
        radii: each path's expected :func:`reach` (a 3x3 path 1, a 5x5 path 2...).
        names: each path's name, for feedback.
        order_hint: the hint when the paths are all there but concatenated in another order.

    Returns:
        None.

    Raises:
        CheckFailed: the paths are concatenated in another order, or some
            path's reach is wrong.
    """
    far = reach(model, shape)

    def per_path(order):
        return [int(far[sl].max()) if sl.stop > sl.start else -1 for sl in _slices([sizes[i] for i in order])]

    got = per_path(range(len(sizes)))
    if got == list(radii):
        return
    for order in itertools.permutations(range(len(sizes))):
        if per_path(order) == [radii[i] for i in order]:
            raise CheckFailed(
                ex,
                "the paths are concatenated in the wrong order.",
                expected=list(names),
                found=[names[i] for i in order],
                hint=order_hint,
            )
    raise CheckFailed(
        ex,
        "a one-pixel change of the input spreads wrongly through your paths "
        "(how many pixels away each path's channels change).",
        expected=dict(zip(names, radii)),
        found=dict(zip(names, got)),
        hint="A 1x1 convolution looks at one pixel, a 3x3 at 1 pixel around it, a 5x5 at 2; "
        "check each path's kernel sizes and what it is applied to.",
    )
