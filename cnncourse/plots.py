"""Figures the labs show. Every function returns a :class:`matplotlib.figure.Figure`.

* :func:`image_grid`: a grid of images with optional titles.
* :func:`show_kernel`: a kernel, a photo, and the photo filtered by it.
* :func:`plot_history`: loss and accuracy, training and validation, per epoch.
* :func:`compare_histories`: several runs' validation curves on one plot.
* :func:`compare_per_layer`: one number per layer for several networks, as grouped bars.
* :func:`confusion_matrix`: a row-normalised confusion matrix (seaborn heatmap).
* :func:`filter_grid`: a layer's learned filters, each scaled to its own range.
* :func:`feature_map_grid`: the channels of one layer's output for one image.
* :func:`heatmap_overlay`: a heatmap (occlusion, Grad-CAM) over a photo.
"""

from __future__ import annotations

import math

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _squeeze_image(img):
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def _grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def image_grid(images, titles=None, ncols=8, cmap="gray", size=1.6, suptitle=None):
    """Show ``images`` in a grid, with optional titles.

    Args:
        images: a sequence of images or an ``(n, h, w[, c])`` array; a single
            channel is shown in ``cmap``.
        titles: one title per image (``None``: no titles).
        ncols: the most columns (fewer when there are fewer images).
        cmap: the colour map of single-channel images.
        size: each tile's side, in inches.
        suptitle: the figure's title (``None``: none).

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: ``images`` is empty.

    Example:
        >>> fig = image_grid(np.random.rand(5, 8, 8), ncols=3)
        >>> len(fig.axes)
        6
    """
    plt = _plt()
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image.")
    rows, cols = _grid(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + (0.4 if suptitle else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_squeeze_image(images[i]), cmap=cmap)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_kernel(image, kernel, filtered, name="kernel"):
    """Show three panels: the photo, the kernel's weights (annotated), the filtered photo.

    Args:
        image: the photo, ``(h, w)`` or ``(h, w, 1)``.
        kernel: the kernel's weights, a 2-D array, drawn on a colour scale
            symmetric around 0.
        filtered: the photo after the kernel.
        name: the kernel's name, for the titles.

    Returns:
        The ``matplotlib`` figure.

    Example:
        >>> fig = show_kernel(photo, kernel, corr2d(photo, kernel), name="edge")  # doctest: +SKIP
    """
    plt = _plt()
    kernel = np.asarray(kernel, dtype=float)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 1.4, 3]})
    a.imshow(_squeeze_image(image), cmap="gray")
    a.set_title("original")
    lim = max(abs(kernel).max(), 1e-9)
    b.imshow(kernel, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for (r, col), v in np.ndenumerate(kernel):
        b.text(
            col, r, f"{v:.2g}", ha="center", va="center", fontsize=9, color="white" if abs(v) > 0.6 * lim else "black"
        )
    b.set_title(name)
    c.imshow(_squeeze_image(filtered), cmap="gray")
    c.set_title(f"after {name}")
    for ax in (a, b, c):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def _history_dict(history):
    return history.history if hasattr(history, "history") else dict(history)


def plot_history(history, metrics=("loss", "accuracy"), title=None):
    """Plot a Keras ``History`` (or its ``.history`` dict), one panel per metric.

    Training and validation curves are drawn together (the validation curve
    where the history has ``val_<metric>``), epochs counted from 1. Metrics
    the history lacks are left out.

    Args:
        history: a Keras ``History``, or a dict of per-epoch lists.
        metrics: the metrics to draw, e.g. ``("loss", "accuracy")``.
        title: the figure's title (``None``: none).

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: the history has none of ``metrics``.

    Example:
        >>> fig = plot_history({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]}, metrics=("loss",))
        >>> len(fig.axes)
        1
    """
    plt = _plt()
    hist = _history_dict(history)
    metrics = [m for m in metrics if m in hist]
    if not metrics:
        raise ValueError(f"The history has none of the metrics asked for; it has {sorted(hist)}.")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(hist[m]) + 1)
        ax.plot(epochs, hist[m], "o-", ms=3, label="training")
        if f"val_{m}" in hist:
            ax.plot(epochs, hist[f"val_{m}"], "s--", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.set_title(m)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_histories(histories, metric="val_accuracy", title=None):
    """Plot several runs' curves of one metric on one plot.

    Args:
        histories: ``{label: History or dict}``, one curve per run.
        metric: the curve to draw, e.g. ``"val_accuracy"``.
        title: the plot's title (``None``: the metric's name).

    Returns:
        The ``matplotlib`` figure.

    Raises:
        KeyError: a history lacks ``metric``.

    Example:
        >>> fig = compare_histories({"a": {"val_accuracy": [0.5, 0.7]}, "b": {"val_accuracy": [0.6, 0.65]}})
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, h in histories.items():
        values = _history_dict(h)[metric]
        ax.plot(np.arange(1, len(values) + 1), values, "o-", ms=3, label=str(label))
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or metric)
    fig.tight_layout()
    return fig


def compare_per_layer(values, layer_names, ylabel="value", log=True, title=None):
    """Show one number per layer for several networks side by side, as grouped bars (seaborn).

    Args:
        values: ``{network: [one number per layer]}``, every list as long as
            ``layer_names``.
        layer_names: the layers' names, in order (the x axis).
        ylabel: what the numbers are.
        log: a logarithmic y axis, for numbers that differ by powers of ten.
        title: the plot's title.

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: a network's list is not as long as ``layer_names``.

    Example:
        >>> fig = compare_per_layer({"a": [1e-3, 0.1], "b": [0.5, 0.3]}, ["conv1", "dense"], ylabel="gradient norm")
    """
    import seaborn as sns

    table = {"layer": [], "network": [], ylabel: []}  # long form, one row per (network, layer)
    for network, numbers in values.items():
        numbers = np.asarray(numbers, dtype=float).ravel()
        if len(numbers) != len(layer_names):
            raise ValueError(f"{network!r} has {len(numbers)} numbers for {len(layer_names)} layers.")
        table["layer"] += list(layer_names)
        table["network"] += [str(network)] * len(numbers)
        table[ylabel] += numbers.tolist()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.barplot(data=table, x="layer", y=ylabel, hue="network", ax=ax)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title or f"{ylabel} per layer")
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names=None, normalize=True, title=None):
    """Show a confusion matrix as a seaborn heatmap; rows are true classes.

    With ``normalize=True`` every row sums to 1 (the share of each true class
    predicted as each class). The matrix is attached as ``fig.matrix``.

    Args:
        y_true: the true labels.
        y_pred: the predicted labels.
        class_names: the names of the classes 0, 1, ... (``None``: the labels
            found in either array, named by their value).
        normalize: whether to divide every row by its sum.
        title: the plot's title (``None``: a default that says whether rows
            are normalised).

    Returns:
        The ``matplotlib`` figure, with the matrix (float) as ``fig.matrix``.

    Example:
        >>> fig = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], class_names=["cat", "dog"])
        >>> fig.matrix.tolist()
        [[0.5, 0.5], [0.0, 1.0]]
    """
    import seaborn as sns
    from sklearn.metrics import confusion_matrix as _cm

    plt = _plt()
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labels = np.arange(len(class_names)) if class_names is not None else np.unique(np.r_[y_true, y_pred])
    cm = _cm(y_true, y_pred, labels=labels).astype(float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    names = class_names if class_names is not None else [str(v) for v in labels]
    n = len(names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.6 + 0.5 * n))
    sns.heatmap(
        cm,
        annot=True,
        fmt=".2f" if normalize else "g",
        cmap="Blues",
        cbar=True,
        xticklabels=names,
        yticklabels=names,
        vmin=0,
        vmax=1 if normalize else None,
        ax=ax,
        annot_kws={"fontsize": 7},
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("confusion matrix (rows sum to 1)" if normalize else "confusion matrix"))
    fig.tight_layout()
    fig.matrix = cm
    return fig


def _normalise(a):
    a = np.asarray(a, dtype=float)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def filter_grid(weights, ncols=8, title="learned filters"):
    """Show conv weights ``(kh, kw, in, out)``: one tile per output filter.

    Each filter is scaled to [0, 1] on its own. Three input channels are shown
    in colour; otherwise the first input channel in grey.

    Args:
        weights: the kernel of a ``Conv2D``, ``(kh, kw, in, out)``.
        ncols: the most columns.
        title: the figure's title.

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: ``weights`` is not 4-D.

    Example:
        >>> fig = filter_grid(model.get_layer("conv1").get_weights()[0])  # doctest: +SKIP
    """
    w = np.asarray(weights)
    if w.ndim != 4:
        raise ValueError(f"Expected conv weights of shape (kh, kw, in, out), got {w.shape}.")
    tiles = []
    for k in range(w.shape[-1]):
        f = w[..., k]
        tiles.append(_normalise(f) if f.shape[-1] == 3 else _normalise(f[..., 0]))
    return image_grid(
        tiles, titles=[str(i) for i in range(len(tiles))], ncols=ncols, cmap="gray", size=1.1, suptitle=title
    )


def feature_map_grid(maps, ncols=8, title="feature maps", max_maps=32):
    """Show the channels of one activation ``(h, w, c)`` (or ``(1, h, w, c)``).

    Args:
        maps: one image's activation; with a batch axis, its first image.
        ncols: the most columns.
        title: the figure's title.
        max_maps: the most channels shown (the first ones).

    Returns:
        The ``matplotlib`` figure.

    Raises:
        ValueError: ``maps`` is not ``(h, w, c)`` or ``(1, h, w, c)``.
    """
    m = np.asarray(maps)
    if m.ndim == 4:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"Expected feature maps of shape (h, w, channels), got {m.shape}.")
    n = min(m.shape[-1], max_maps)
    return image_grid(
        [m[..., i] for i in range(n)],
        titles=[str(i) for i in range(n)],
        ncols=ncols,
        cmap="viridis",
        size=1.2,
        suptitle=title,
    )


def heatmap_overlay(image, heatmap, alpha=0.45, title=None, cmap="jet"):
    """Show ``heatmap`` over ``image``, beside the image alone.

    The heatmap may have any size: it is resized to the image (bilinear) and
    scaled to [0, 1].

    Args:
        image: the image, ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``.
        heatmap: a 2-D map, e.g. an occlusion map or a Grad-CAM heatmap.
        alpha: the heatmap's opacity.
        title: the overlay's title (``None``: ``"heatmap"``).
        cmap: the heatmap's colour map.

    Returns:
        The ``matplotlib`` figure.

    Example:
        >>> fig = heatmap_overlay(image, grad_cam(model, image, label, "conv3"))  # doctest: +SKIP
    """
    from skimage.transform import resize

    plt = _plt()
    img = _squeeze_image(image)
    hm = resize(np.asarray(heatmap, dtype=float), img.shape[:2], order=1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 4))
    a.imshow(img, cmap="gray")
    a.set_title("image")
    b.imshow(img, cmap="gray")
    im = b.imshow(_normalise(hm), cmap=cmap, alpha=alpha)
    fig.colorbar(im, ax=b, fraction=0.046)
    b.set_title(title or "heatmap")
    for ax in (a, b):
        ax.axis("off")
    fig.tight_layout()
    return fig


def save(fig, path, dpi=110):
    """Save a figure and close it.

    Args:
        fig: a ``matplotlib`` figure.
        path: where to write it; the extension chooses the format (``.png``:
            PNG).
        dpi: the resolution, in dots per inch.

    Returns:
        ``path``, unchanged.
    """
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return path
