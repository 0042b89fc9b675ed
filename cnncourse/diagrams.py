"""Architecture diagrams: boxes for layers, arrows for the tensors between them.

* :func:`layout_graph`: where each box of a small layered graph goes (rank and column).
* :func:`draw_graph`: draw a graph given as a declarative list of nodes and edges.
* :func:`draw_model`: the same drawing for a built Keras model, read from its layers.
* :func:`lenet5`, :func:`inception_module`, :func:`resnet_block`: the lectures' figures.

A graph flows from top to bottom. Each box sits on the rank of the longest path that reaches it
from an input, so parallel branches sit side by side; an edge that would cross a box on its way
(a skip connection) is drawn as a curve around the block.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Geometry, in inches (the axes' data units are inches, so text and boxes keep their size).
_COL = 2.15  # distance between the centres of two columns
_ROW = 0.98  # distance between the centres of two ranks
_BOX_W = 1.85
_BOX_H = 0.66
_FONT = 8.5

_COLOURS = (  # first keyword found in a box's label (lower case) -> its fill
    ("input", "#ffffff"),
    ("concat", "#e0e0e0"),
    ("add", "#e0e0e0"),
    ("pool", "#fde2c4"),
    ("conv", "#cfe2f7"),
    ("dense", "#d6efd0"),
    ("norm", "#efe0f7"),
    ("relu", "#fff4bf"),
    ("activation", "#fff4bf"),
    ("softmax", "#fff4bf"),
)


@dataclass
class Node:
    """One box: a name the edges use, a label, and optional detail and output-shape lines."""

    name: str
    label: str
    detail: str | None = None
    shape: str | None = None


@dataclass
class Layout:
    """Where :func:`layout_graph` puts each box.

    Attributes:
        ranks: node name -> rank (0 for the inputs, growing downwards).
        columns: node name -> horizontal position, in columns (0 is the middle).
        edges: the ``(source, target, label)`` edges, in the order given.
        curved: the edges drawn as a curve around the boxes they would cross.
    """

    ranks: dict[str, int]
    columns: dict[str, float]
    edges: list[tuple[str, str, str | None]]
    curved: list[tuple[str, str]] = field(default_factory=list)

    def rank_of(self, rank):
        """The names of the boxes on ``rank``, left to right."""
        names = [n for n, r in self.ranks.items() if r == rank]
        return sorted(names, key=self.columns.__getitem__)


def _as_node(spec):
    if isinstance(spec, Node):
        return spec
    if isinstance(spec, str):
        return Node(spec, spec)
    if isinstance(spec, dict):
        return Node(**spec)
    if isinstance(spec, (tuple, list)) and 1 <= len(spec) <= 4:
        return Node(*spec) if len(spec) > 1 else Node(spec[0], spec[0])
    raise ValueError(f"a node is a name, a (name, label[, detail[, shape]]) tuple or a dict; got {spec!r}")


def _as_edge(spec):
    if isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        return (spec[0], spec[1], spec[2] if len(spec) == 3 else None)
    raise ValueError(f"an edge is a (source, target[, label]) tuple; got {spec!r}")


def layout_graph(nodes: Iterable[Any], edges: Iterable[Any]) -> Layout:
    """Place the boxes of a directed acyclic graph on ranks and columns.

    Args:
        nodes: the boxes: names, ``(name, label[, detail[, shape]])`` tuples, dicts with those
            keys, or :class:`Node` objects.
        edges: ``(source, target)`` or ``(source, target, label)`` tuples naming the nodes.

    Returns:
        A :class:`Layout`: each node's rank (the longest path from an input) and column (the mean
        of its parents' columns, pushed apart so that boxes on a rank never overlap).

    Raises:
        ValueError: a node is named twice, an edge names an unknown node, or the graph has a cycle.

    Example:
        >>> lay = layout_graph(["x", "a", "b", "y"], [("x", "a"), ("x", "b"), ("a", "y"), ("b", "y")])
        >>> lay.rank_of(1)
        ['a', 'b']
    """
    nodes = [_as_node(n) for n in nodes]
    edges = [_as_edge(e) for e in edges]
    order: dict[str, int] = {}
    for node in nodes:
        if node.name in order:
            raise ValueError(f"the node {node.name!r} is named twice")
        order[node.name] = len(order)
    parents: dict[str, list[str]] = {n: [] for n in order}
    for src, dst, _ in edges:
        for end in (src, dst):
            if end not in order:
                raise ValueError(f"the edge {src!r} -> {dst!r} names {end!r}, which is not a node")
        parents[dst].append(src)

    ranks: dict[str, int] = {}
    visiting: set[str] = set()

    def rank(name):
        if name not in ranks:
            if name in visiting:
                raise ValueError(f"the graph has a cycle through {name!r}")
            visiting.add(name)
            ranks[name] = 1 + max((rank(p) for p in parents[name]), default=-1)
            visiting.discard(name)
        return ranks[name]

    for name in order:
        rank(name)

    columns: dict[str, float] = {}
    for r in range(max(ranks.values(), default=-1) + 1):
        names = [n for n in order if ranks[n] == r]
        wanted = {n: sum(columns[p] for p in parents[n]) / len(parents[n]) if parents[n] else 0.0 for n in names}
        names.sort(key=lambda n: (wanted[n], order[n]))
        placed: list[float] = []
        for n in names:  # left to right, at least one column apart
            placed.append(wanted[n] if not placed else max(wanted[n], placed[-1] + 1.0))
        shift = sum(wanted.values()) / len(names) - sum(placed) / len(names) if names else 0.0
        for n, x in zip(names, placed):
            columns[n] = x + shift
    return Layout(ranks=ranks, columns=columns, edges=edges)


def _colour(label):
    low = label.lower()
    return next((c for key, c in _COLOURS if key in low), "#f4f4f4")


def _blocked(lay, src, dst, drop=False):
    """Whether the line from src to dst crosses a box on a rank in between.

    The line is straight, or with ``drop`` goes straight down from src to the rank above dst.
    """
    r0, r1 = lay.ranks[src], lay.ranks[dst]
    x0, x1 = lay.columns[src], lay.columns[dst]
    for name, r in lay.ranks.items():
        if r0 < r < r1:
            x = x0 if drop else x0 + (x1 - x0) * (r - r0) / (r1 - r0)
            if abs(x - lay.columns[name]) * _COL < _BOX_W / 2 + 0.1:
                return True
    return False


def draw_graph(nodes: Iterable[Any], edges: Iterable[Any], title: str | None = None, ax: Any = None) -> Any:
    """Draw a layered graph: a box per node, an arrow per edge, top to bottom.

    Args:
        nodes: the boxes: names, ``(name, label[, detail[, shape]])`` tuples, dicts with those
            keys, or :class:`Node` objects; ``detail`` is a second line such as ``"3x3, 64"`` and
            ``shape`` a third, the output shape.
        edges: ``(source, target)`` or ``(source, target, label)`` tuples naming the nodes. An
            edge that would cross a box (a skip connection) is drawn as a curve beside the block.
        title: the figure's title (``None``: none).
        ax: the axes to draw in (``None``: a new figure sized to the graph).

    Returns:
        The ``matplotlib`` figure; its ``graph_layout`` attribute is the :class:`Layout` drawn.

    Raises:
        ValueError: a node is named twice, an edge names an unknown node, or the graph has a cycle.

    Example:
        >>> fig = draw_graph([("x", "Input", None, "28x28x1"), ("c", "Conv2D", "5x5, 6")], [("x", "c")])
        >>> fig.graph_layout.ranks
        {'x': 0, 'c': 1}
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    nodes = [_as_node(n) for n in nodes]
    lay = layout_graph(nodes, edges)
    pos = {n: (lay.columns[n] * _COL, -lay.ranks[n] * _ROW) for n in lay.ranks}

    curves, drops = [], set()
    for src, dst, label in lay.edges:
        if lay.ranks[dst] - lay.ranks[src] > 1 and _blocked(lay, src, dst):
            if _blocked(lay, src, dst, drop=True):  # no free way down: around the block
                lay.curved.append((src, dst))
                curves.append((src, dst, label))
            else:  # down its own column, then across to the target
                drops.add((src, dst))
    xs = [x for x, _ in pos.values()] or [0.0]
    right = max(xs) + _BOX_W / 2
    bulges = {}
    for i, (src, dst, _) in enumerate(curves):
        between = [pos[n][0] for n, r in lay.ranks.items() if lay.ranks[src] < r < lay.ranks[dst]]
        clear = max(between) + _BOX_W / 2 + 0.3 + 0.35 * i
        x0, x1 = pos[src][0] + _BOX_W / 2, pos[dst][0] + _BOX_W / 2
        bulges[(src, dst)] = (clear - 0.125 * (x0 + x1)) / 0.75  # the cubic's widest point is at clear
        right = max(right, clear + 0.9)

    left, right = min(xs) - _BOX_W / 2 - 0.15, right + 0.15
    if right - left < 2.6:  # room for the title, the graph in the middle
        left, right = (left + right) / 2 - 1.3, (left + right) / 2 + 1.3
    top = _BOX_H / 2 + 0.15 + (0.35 if title else 0)
    bottom = -max(lay.ranks.values(), default=0) * _ROW - _BOX_H / 2 - 0.15
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(right - left, top - bottom))
        ax = fig.add_axes((0, 0, 1, 1))
    fig = ax.figure
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)

    for node in nodes:
        x, y = pos[node.name]
        ax.add_patch(
            FancyBboxPatch(
                (x - _BOX_W / 2, y - _BOX_H / 2),
                _BOX_W,
                _BOX_H,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=_colour(node.label),
                edgecolor="#404040",
                linewidth=0.9,
                zorder=2,
            )
        )
        lines = [node.label] + [s for s in (node.detail, node.shape) if s]
        offsets = {1: [0.0], 2: [0.11, -0.11], 3: [0.19, 0.0, -0.19]}[len(lines)]
        for i, (text, dy) in enumerate(zip(lines, offsets)):
            style = {"fontweight": "bold"} if i == 0 else {"color": "#555555" if text == node.shape else "black"}
            ax.text(x, y + dy, text, ha="center", va="center", fontsize=_FONT, zorder=3, **style)

    arrow: dict[str, Any] = {
        "arrowstyle": "-|>",
        "mutation_scale": 11,
        "color": "#303030",
        "linewidth": 1.0,
        "zorder": 1,
    }
    for src, dst, label in lay.edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        if (src, dst) in bulges:
            xa, xb, bx = x0 + _BOX_W / 2, x1 + _BOX_W / 2, bulges[(src, dst)]
            path = Path([(xa, y0), (bx, y0), (bx, y1), (xb, y1)], [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
            ax.add_patch(FancyArrowPatch(path=path, **arrow))
            mid = (0.125 * (xa + xb) + 0.75 * bx, (y0 + y1) / 2)
        elif (src, dst) in drops:
            y_low = y1 + _ROW - _BOX_H / 2
            path = Path(
                [(x0, y0 - _BOX_H / 2), (x0, y_low), (x1, y1 + _BOX_H / 2)], [Path.MOVETO, Path.LINETO, Path.LINETO]
            )
            ax.add_patch(FancyArrowPatch(path=path, **arrow))
            mid = (x0, (y0 + y_low) / 2)
        else:
            start, end = (x0, y0 - _BOX_H / 2), (x1, y1 + _BOX_H / 2)
            ax.add_patch(FancyArrowPatch(start, end, shrinkA=0, shrinkB=0, **arrow))
            mid = ((x0 + x1) / 2, (start[1] + end[1]) / 2)
        if label:
            ax.text(mid[0] + 0.06, mid[1], label, ha="left", va="center", fontsize=_FONT - 0.5, style="italic")
    if title:
        ax.text((ax.get_xlim()[0] + ax.get_xlim()[1]) / 2, top - 0.18, title, ha="center", va="center", fontsize=10.5)
    fig.graph_layout = lay
    return fig


def _shape(shape):
    dims = [d for d in tuple(shape)[1:]]
    return "x".join("?" if d is None else str(d) for d in dims)


def _pair(v):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    return f"{v[0]}x{v[1]}" if len(v) == 2 else "x".join(map(str, v))


def _describe(layer):
    """A layer's key settings in a few words: kernel and filters, units, pool size, rate."""
    cfg = layer.get_config()
    parts = []
    if "kernel_size" in cfg:
        parts.append(_pair(cfg["kernel_size"]))
    if "filters" in cfg:
        parts.append(str(cfg["filters"]))
    if "pool_size" in cfg:
        parts.append(_pair(cfg["pool_size"]))
    if "units" in cfg:
        parts.append(f"{cfg['units']} units")
    if "rate" in cfg:
        parts.append(f"rate {cfg['rate']}")
    strides = cfg.get("strides")
    strides = tuple(strides) if isinstance(strides, (tuple, list)) else (strides,)
    if strides[0] is not None and set(strides) != {1}:
        parts.append("/" + "x".join(str(v) for v in sorted(set(strides))))
    act = cfg.get("activation")
    if isinstance(act, str) and act != "linear":
        parts.append(act)
    return ", ".join(parts) or None


def _output_shape(layer):
    try:
        return _shape(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):
        return None


def draw_model(model, ax=None):
    """Draw a built Keras model (Sequential or functional) as :func:`draw_graph` draws a graph.

    Each layer is a box with its class, its key settings (kernel size and filters, units, pool
    size, strides, activation) and its output shape; each arrow is a tensor from one layer to the
    next, read from the model's own connections, so branches and merges show as they were built.

    Args:
        model: a built ``keras.Model`` (a ``Sequential`` needs its ``keras.Input``).
        ax: the axes to draw in (``None``: a new figure).

    Returns:
        The ``matplotlib`` figure, with the :class:`Layout` drawn as ``graph_layout``.

    Raises:
        ValueError: ``model`` is not built, so its layers have no connections yet.

    Example:
        >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
        >>> len(draw_model(m).graph_layout.ranks)
        3
    """
    if not getattr(model, "built", False) or not getattr(model, "inputs", None):
        raise ValueError("draw_model needs a built model: start it with keras.Input(shape=...)")
    nodes, edges = [], []
    if type(model).__name__ == "Sequential":
        previous = "input"
        nodes.append(Node("input", "Input", None, _shape(model.inputs[0].shape)))
        for layer in model.layers:
            nodes.append(Node(layer.name, type(layer).__name__, _describe(layer), _output_shape(layer)))
            edges.append((previous, layer.name))
            previous = layer.name
    else:
        own = getattr(model, "_nodes", None)  # the model's own calls of its layers (a layer may be shared)
        for layer in model.layers:
            kind = type(layer).__name__
            label = "Input" if kind == "InputLayer" else kind
            detail = layer.name if kind == "InputLayer" else _describe(layer)
            nodes.append(Node(layer.name, label, detail, _output_shape(layer)))
            for i, call in enumerate(layer._inbound_nodes):
                if own is not None and f"{id(layer)}_ib-{i}" not in own:
                    continue
                edges.extend((parent.operation.name, layer.name) for parent in call.parent_nodes)
    return draw_graph(nodes, edges, title=model.name, ax=ax)


# The lectures' figures. Each spec is data, written out as the slides show it.


def lenet5(ax=None):
    """LeNet-5 for a 28x28 grey digit, as the lecture draws it: two conv/pool stages, three dense layers.

    Args:
        ax: the axes to draw in (``None``: a new figure).

    Returns:
        The ``matplotlib`` figure (``graph_layout`` holds its :class:`Layout`).

    Example:
        >>> fig = lenet5()
    """
    nodes = [
        ("input", "Input", "a grey digit", "28x28x1"),
        ("c1", "Conv2D", "5x5, 6 filters, same", "28x28x6"),
        ("s2", "AveragePooling2D", "2x2, stride 2", "14x14x6"),
        ("c3", "Conv2D", "5x5, 16 filters", "10x10x16"),
        ("s4", "AveragePooling2D", "2x2, stride 2", "5x5x16"),
        ("flat", "Flatten", None, "400"),
        ("f5", "Dense", "120 units", "120"),
        ("f6", "Dense", "84 units", "84"),
        ("out", "Dense, softmax", "one unit per class", "10"),
    ]
    chain = [n[0] for n in nodes]
    return draw_graph(nodes, list(zip(chain, chain[1:])), title="LeNet-5", ax=ax)


def inception_module(naive=False, ax=None):
    """GoogLeNet's inception module on the lecture's 28x28x256 input: four branches, concatenated.

    Args:
        naive: draw the naive module (no 1x1 reductions: 128 1x1, 192 3x3 and 96 5x5 filters and
            a 3x3 max pooling) instead of the module with 1x1 bottlenecks of 64 filters.
        ax: the axes to draw in (``None``: a new figure).

    Returns:
        The ``matplotlib`` figure (``graph_layout`` holds its :class:`Layout`); the branches
        are, left to right, the 1x1, 3x3, 5x5 and pooling paths.

    Example:
        >>> fig = inception_module()
        >>> len(fig.graph_layout.rank_of(1))
        4
    """
    if naive:
        nodes = [
            ("input", "previous layer", None, "28x28x256"),
            ("b1", "Conv2D", "1x1, 128", "28x28x128"),
            ("b3", "Conv2D", "3x3, 192, same", "28x28x192"),
            ("b5", "Conv2D", "5x5, 96, same", "28x28x96"),
            ("pool", "MaxPooling2D", "3x3, stride 1, same", "28x28x256"),
            ("cat", "Concatenate", "along the channels", "28x28x672"),
        ]
        edges = [("input", b) for b in ("b1", "b3", "b5", "pool")]
        edges += [(b, "cat") for b in ("b1", "b3", "b5", "pool")]
        title = "naive inception module"
    else:
        nodes = [
            ("input", "previous layer", None, "28x28x256"),
            ("b1", "Conv2D", "1x1, 128", "28x28x128"),
            ("r3", "Conv2D", "1x1, 64 (reduce)", "28x28x64"),
            ("r5", "Conv2D", "1x1, 64 (reduce)", "28x28x64"),
            ("pool", "MaxPooling2D", "3x3, stride 1, same", "28x28x256"),
            ("b3", "Conv2D", "3x3, 192, same", "28x28x192"),
            ("b5", "Conv2D", "5x5, 96, same", "28x28x96"),
            ("proj", "Conv2D", "1x1, 64 (projection)", "28x28x64"),
            ("cat", "Concatenate", "along the channels", "28x28x480"),
        ]
        edges = [("input", n) for n in ("b1", "r3", "r5", "pool")]
        edges += [("r3", "b3"), ("r5", "b5"), ("pool", "proj")]
        edges += [(n, "cat") for n in ("b1", "b3", "b5", "proj")]
        title = "inception module with 1x1 bottlenecks"
    return draw_graph(nodes, edges, title=title, ax=ax)


def resnet_block(projection=False, batch_norm=False, ax=None):
    """ResNet's basic block: two 3x3 convolutions, their input added back, then ReLU.

    Args:
        projection: draw the block that changes the shape (stride 2, twice the channels): its
            shortcut is a 1x1 convolution with stride 2 instead of the identity.
        batch_norm: put batch normalisation after each convolution, as the ResNet paper does
            (the convolutions then have no bias).
        ax: the axes to draw in (``None``: a new figure).

    Returns:
        The ``matplotlib`` figure (``graph_layout`` holds its :class:`Layout`); without a
        projection the shortcut is the curved edge from the input to the ``Add``.

    Example:
        >>> fig = resnet_block()
        >>> fig.graph_layout.curved
        [('input', 'add')]
    """
    if projection:
        shapes, first, filters = ("16x16x32", "8x8x64"), "3x3, 64, stride 2", "64"
    else:
        shapes, first, filters = ("16x16x64", "16x16x64"), "3x3, 64", "64"
    bias = ", no bias" if batch_norm else ""
    nodes = [("input", "x", None, shapes[0]), ("conv1", "Conv2D", first + bias, shapes[1])]
    main = ["input", "conv1"]
    if batch_norm:
        nodes.append(("bn1", "BatchNormalization", None, shapes[1]))
        main.append("bn1")
    nodes.append(("relu1", "ReLU", None, shapes[1]))
    nodes.append(("conv2", "Conv2D", f"3x3, {filters}{bias}", shapes[1]))
    main += ["relu1", "conv2"]
    if batch_norm:
        nodes.append(("bn2", "BatchNormalization", None, shapes[1]))
        main.append("bn2")
    nodes += [("add", "Add", "F(x) + shortcut(x)", shapes[1]), ("out", "ReLU", None, shapes[1])]
    main += ["add", "out"]
    edges = [(a, b) for a, b in zip(main, main[1:])]
    if projection:
        nodes.append(("proj", "Conv2D (projection)", f"1x1, 64, stride 2{bias}", shapes[1]))
        edges += [("input", "proj"), ("proj", "add")]
        if batch_norm:
            nodes.append(("bnp", "BatchNormalization", None, shapes[1]))
            edges[-1:] = [("proj", "bnp"), ("bnp", "add")]
    else:
        edges.append(("input", "add", "identity"))
    title = "residual block" + (" with a projection shortcut" if projection else "")
    return draw_graph(nodes, edges, title=title, ax=ax)
