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

from .core import CheckFailed

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
    """What one layer should be. ``None`` fields are not compared."""

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


def describe(model, with_params=True):
    """Return the :class:`LayerSpec` list of a built Keras model."""
    specs = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in IGNORED:
            continue
        try:
            shape = tuple(layer.output.shape)[1:]
        except (AttributeError, ValueError):
            shape = None
        cfg = layer.get_config()
        fields = {k: _norm(cfg[k]) for k in KEY_FIELDS.get(kind, ()) if k in cfg}
        specs.append(LayerSpec(kind, shape, layer.count_params() if with_params else None, fields,
                               _activation_name(layer) if "activation" in cfg else None))
    return specs


def _as_spec(s):
    return s if isinstance(s, LayerSpec) else LayerSpec(**s)


def compare(model, expected, exercise="Architecture", check_activation=True):
    """Return a list of human-readable differences between ``model`` and ``expected``.

    An empty list means the model matches. Layers are aligned by class name
    (a diff of the two sequences), so one missing layer is reported as
    "missing", not as a cascade of mismatches.
    """
    found = describe(model)
    expected = [_as_spec(s) for s in expected]
    problems = []
    for exp_idx, exp, got_idx, got in _align(expected, found):
        if got is None:
            problems.append(f"missing layer #{exp_idx + 1}: {exp}")
        elif exp is None:
            problems.append(f"extra layer #{got_idx + 1}: {got}")
        else:
            problems += _compare_layer(exp, got, position=got_idx + 1)
    if not check_activation:
        problems = [p for p in problems if "activation" not in p]
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
    outer = difflib.SequenceMatcher(a=[_signature(s) for s in expected], b=[_signature(s) for s in found],
                                    autojunk=False)
    for op, i1, i2, j1, j2 in outer.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                yield i1 + k, expected[i1 + k], j1 + k, found[j1 + k]
            continue
        inner = difflib.SequenceMatcher(a=[s.kind for s in expected[i1:i2]], b=[s.kind for s in found[j1:j2]],
                                        autojunk=False)
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
    """Raise :class:`CheckFailed` listing every difference; return ``None`` when there is none."""
    problems = compare(model, expected, exercise, check_activation=check_activation)
    if problems:
        shown = "\n    ".join(problems[:12])
        more = f"\n    ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise CheckFailed(exercise, f"the model differs from the specification in {len(problems)} place(s):\n    "
                          + shown + more, hint=hint)


def summary_table(model):
    """The model's layers as rows ``(kind, output shape, params)``, for printing."""
    return [(s.kind, s.output_shape, s.params) for s in describe(model)]
