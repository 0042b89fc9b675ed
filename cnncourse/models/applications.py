"""Published size and ImageNet accuracy of the Keras Applications networks, as data.

The numbers are those of the Keras Applications documentation (top-1 and
top-5 accuracy on the ImageNet validation set, parameters in millions, depth
as Keras counts it, file size of the weights in MB). They let a lab put a
student's own small networks on the same accuracy-versus-parameters picture
the lecture shows, without downloading anything.

* :data:`TABLE`: one :class:`AppModel` per network;
* :func:`table`: the rows, optionally of some families only, as dicts;
* :func:`lookup`: one network by name (case-insensitive);
* :func:`plot_accuracy_vs_params`: the figure, with the student's models on it.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class AppModel:
    """One Keras Applications network, as the documentation lists it.

    Args:
        name: the network's name, e.g. ``"MobileNetV2"``.
        family: the family it belongs to, e.g. ``"MobileNet"``.
        size_mb: the file size of its weights, in MB.
        top1: its ImageNet top-1 accuracy, a fraction.
        top5: its ImageNet top-5 accuracy, a fraction (``None``: not
            published).
        params_m: its parameters, in millions.
        depth: its depth as Keras counts it (``None``: not published).
    """

    name: str
    family: str
    size_mb: float
    top1: float  # ImageNet top-1 accuracy, a fraction
    top5: float | None
    params_m: float  # parameters, millions
    depth: int | None

    @property
    def params(self):
        """The parameters as a plain count, an int."""
        return int(round(self.params_m * 1e6))


def _m(name, family, size_mb, top1, top5, params_m, depth):
    return AppModel(name, family, size_mb, top1 / 100.0, None if top5 is None else top5 / 100.0, params_m, depth)


TABLE = (
    _m("Xception", "Xception", 88, 79.0, 94.5, 22.9, 81),
    _m("VGG16", "VGG", 528, 71.3, 90.1, 138.4, 16),
    _m("VGG19", "VGG", 549, 71.3, 90.0, 143.7, 19),
    _m("ResNet50", "ResNet", 98, 74.9, 92.1, 25.6, 107),
    _m("ResNet50V2", "ResNet", 98, 76.0, 93.0, 25.6, 103),
    _m("ResNet101", "ResNet", 171, 76.4, 92.8, 44.7, 209),
    _m("ResNet101V2", "ResNet", 171, 77.2, 93.8, 44.7, 205),
    _m("ResNet152", "ResNet", 232, 76.6, 93.1, 60.4, 311),
    _m("ResNet152V2", "ResNet", 232, 78.0, 94.2, 60.4, 307),
    _m("InceptionV3", "Inception", 92, 77.9, 93.7, 23.9, 189),
    _m("InceptionResNetV2", "Inception", 215, 80.3, 95.3, 55.9, 449),
    _m("MobileNet", "MobileNet", 16, 70.4, 89.5, 4.3, 55),
    _m("MobileNetV2", "MobileNet", 14, 71.3, 90.1, 3.5, 105),
    _m("DenseNet121", "DenseNet", 33, 75.0, 92.3, 8.1, 242),
    _m("DenseNet169", "DenseNet", 57, 76.2, 93.2, 14.3, 338),
    _m("DenseNet201", "DenseNet", 80, 77.3, 93.6, 20.2, 402),
    _m("NASNetMobile", "NASNet", 23, 74.4, 91.9, 5.3, 389),
    _m("NASNetLarge", "NASNet", 343, 82.5, 96.0, 88.9, 533),
    _m("EfficientNetB0", "EfficientNet", 29, 77.1, 93.3, 5.3, 132),
    _m("EfficientNetB1", "EfficientNet", 31, 79.1, 94.4, 7.9, 186),
    _m("EfficientNetB2", "EfficientNet", 36, 80.1, 94.9, 9.2, 186),
    _m("EfficientNetB3", "EfficientNet", 48, 81.6, 95.7, 12.3, 210),
    _m("EfficientNetB4", "EfficientNet", 75, 82.9, 96.4, 19.5, 258),
    _m("EfficientNetB5", "EfficientNet", 118, 83.6, 96.7, 30.6, 312),
    _m("EfficientNetB6", "EfficientNet", 166, 84.0, 96.8, 43.3, 360),
    _m("EfficientNetB7", "EfficientNet", 256, 84.3, 97.0, 66.7, 438),
    _m("EfficientNetV2B0", "EfficientNetV2", 29, 78.7, 94.3, 7.2, None),
    _m("EfficientNetV2B1", "EfficientNetV2", 34, 79.8, 95.0, 8.2, None),
    _m("EfficientNetV2B2", "EfficientNetV2", 42, 80.5, 95.1, 10.2, None),
    _m("EfficientNetV2B3", "EfficientNetV2", 59, 82.0, 95.8, 14.5, None),
    _m("EfficientNetV2S", "EfficientNetV2", 88, 83.9, 96.7, 21.6, None),
    _m("EfficientNetV2M", "EfficientNetV2", 220, 85.3, 97.4, 54.4, None),
    _m("EfficientNetV2L", "EfficientNetV2", 479, 85.7, 97.5, 119.0, None),
    _m("ConvNeXtTiny", "ConvNeXt", 109.42, 81.3, None, 28.6, None),
)
"""The published rows, in the documentation's order."""

FAMILIES = tuple(dict.fromkeys(m.family for m in TABLE))


def table(families=None):
    """Return the rows as a list of dicts, optionally of some families only.

    Args:
        families: the families to keep, e.g. ``["VGG", "ResNet"]`` (``None``:
            all of :data:`FAMILIES`).

    Returns:
        One dict per network, in :data:`TABLE`'s order, with the fields of
        :class:`AppModel` and ``params`` (the plain count).

    Raises:
        ValueError: a family is unknown.

    Example:
        >>> [row["name"] for row in table(["VGG"])]
        ['VGG16', 'VGG19']
    """
    if families is not None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"Unknown families {unknown}; known: {', '.join(FAMILIES)}.")
    rows = []
    for m in TABLE:
        if families is None or m.family in families:
            row = dataclasses.asdict(m)
            row["params"] = m.params
            rows.append(row)
    return rows


def lookup(name):
    """Return the :class:`AppModel` called ``name`` (case-insensitive).

    Args:
        name: the network's name, e.g. ``"resnet50"``.

    Returns:
        The :class:`AppModel`.

    Raises:
        KeyError: no network is called ``name`` (the message lists them).

    Example:
        >>> lookup("mobilenetv2").params
        3500000
    """
    for m in TABLE:
        if m.name.lower() == str(name).lower():
            return m
    raise KeyError(f"No Keras Applications model called {name!r}. Known: {', '.join(m.name for m in TABLE)}.")


def _own_points(own):
    """Normalise ``own`` to a list of ``(label, params, accuracy)``."""
    points = []
    for label, value in dict(own or {}).items():
        if isinstance(value, dict):
            params, acc = value.get("params"), value.get("accuracy")
        else:
            params, acc = value
        if params is None or acc is None:
            raise ValueError(
                f"{label!r}: give the number of parameters and the accuracy, "
                "as (params, accuracy) or {'params': ..., 'accuracy': ...}."
            )
        if not (params > 0 and 0.0 <= acc <= 1.0):
            raise ValueError(
                f"{label!r}: params must be positive and accuracy a fraction in [0, 1]; "
                f"got params={params!r}, accuracy={acc!r}."
            )
        points.append((str(label), float(params), float(acc)))
    return points


def plot_accuracy_vs_params(
    own=None, families=None, annotate=True, own_task="your data", ax=None, title="Accuracy against size"
):
    """Plot top-1 accuracy against parameter count (log scale) for the Keras Applications networks.

    One line per family, each network named (unless ``annotate`` is
    False). The student's models are drawn as large markers. Keep in mind
    that the published networks are measured on ImageNet (1,000 classes) and
    yours on ``own_task``: the picture compares sizes honestly, accuracies
    only loosely.

    Args:
        own: your models, ``{label: (params, accuracy)}`` or ``{label:
            {"params": ..., "accuracy": ...}}``, accuracy as a fraction
            (``None``: none).
        families: the families to draw (``None``: all).
        annotate: whether to write each network's name beside its point.
        own_task: what your models were measured on, for the legend.
        ax: the axes to draw on (``None``: a new figure).
        title: the axes' title.

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: an entry of ``own`` lacks its parameters or accuracy,
            has no positive parameter count, or an accuracy outside [0, 1].

    Example:
        >>> fig = plot_accuracy_vs_params({"mini-VGG": (15_587, 0.93)}, families=["MobileNet"])  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 5.5))
    else:
        fig = ax.figure
    rows = [m for m in TABLE if families is None or m.family in families]
    cmap = plt.get_cmap("tab10")
    fams = list(dict.fromkeys(m.family for m in rows))
    for i, fam in enumerate(fams):
        members = [m for m in rows if m.family == fam]
        ax.plot(
            [m.params for m in members],
            [m.top1 for m in members],
            "o-",
            ms=5,
            lw=1,
            alpha=0.8,
            color=cmap(i % 10),
            label=f"{fam} (ImageNet top-1)",
        )
        if annotate:
            for m in members:
                ax.annotate(
                    m.name,
                    (m.params, m.top1),
                    textcoords="offset points",
                    xytext=(3, 3),
                    fontsize=6,
                    color=cmap(i % 10),
                )
    points = _own_points(own)
    markers = ["*", "P", "X", "D", "^", "v"]
    colours = ["gold", "crimson", "black", "deepskyblue", "limegreen", "darkorange"]
    for j, (label, params, acc) in enumerate(points):
        ax.plot(
            params,
            acc,
            markers[j % len(markers)],
            ms=15,
            mec="black",
            color=colours[j % len(colours)],
            label=f"{label} ({own_task})",
            zorder=5,
        )
        ax.annotate(
            f"{label}: {int(params):,} params, {acc:.3f}",
            (params, acc),
            textcoords="offset points",
            xytext=(12, 6 if j % 2 == 0 else -12),
            fontsize=8,
        )
    ax.set_xscale("log")
    all_params = [m.params for m in rows] + [p for _, p, _ in points]
    all_acc = [m.top1 for m in rows] + [a for _, _, a in points]
    if all_params:
        ax.set_xlim(10 ** math.floor(math.log10(min(all_params))), 10 ** math.ceil(math.log10(max(all_params))))
        ax.set_ylim(max(0.0, min(all_acc) - 0.05), min(1.0, max(all_acc) + 0.03))
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return fig
