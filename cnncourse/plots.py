"""Figures the labs show. Every function returns a :class:`matplotlib.figure.Figure`.

* :func:`image_grid`: a grid of images with optional titles.
* :func:`show_kernel`: a kernel, a photo, and the photo filtered by it.
* :func:`plot_history`: loss and accuracy, training and validation, per epoch.
* :func:`compare_histories`: several runs' validation curves on one plot.
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
    """Show ``images`` (a sequence or ``(n, h, w[, c])`` array) in a grid."""
    plt = _plt()
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image.")
    rows, cols = _grid(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + (0.4 if suptitle else 0)),
                             squeeze=False)
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
    """Three panels: the photo, the kernel's weights (annotated), the filtered photo."""
    plt = _plt()
    kernel = np.asarray(kernel, dtype=float)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 1.4, 3]})
    a.imshow(_squeeze_image(image), cmap="gray")
    a.set_title("original")
    lim = max(abs(kernel).max(), 1e-9)
    b.imshow(kernel, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for (r, col), v in np.ndenumerate(kernel):
        b.text(col, r, f"{v:.2g}", ha="center", va="center", fontsize=9,
               color="white" if abs(v) > 0.6 * lim else "black")
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
    """Plot a Keras ``History`` (or its ``.history`` dict): one panel per metric,
    training and validation curves together, epochs counted from 1."""
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
    """One curve per run: ``histories`` maps a label to a ``History`` or dict."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, h in histories.items():
        values = _history_dict(h)[metric]
        ax.plot(np.arange(1, len(values) + 1), values, "o-", ms=3, label=str(label))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or metric)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names=None, normalize=True, title=None):
    """A confusion matrix as a seaborn heatmap; rows are true classes.

    With ``normalize=True`` every row sums to 1 (the share of each true class
    predicted as each class). The matrix is attached as ``fig.matrix``.
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
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else "g", cmap="Blues", cbar=True,
                xticklabels=names, yticklabels=names, vmin=0, vmax=1 if normalize else None, ax=ax,
                annot_kws={"fontsize": 7})
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
    """
    w = np.asarray(weights)
    if w.ndim != 4:
        raise ValueError(f"Expected conv weights of shape (kh, kw, in, out), got {w.shape}.")
    tiles = []
    for k in range(w.shape[-1]):
        f = w[..., k]
        tiles.append(_normalise(f) if f.shape[-1] == 3 else _normalise(f[..., 0]))
    return image_grid(tiles, titles=[str(i) for i in range(len(tiles))], ncols=ncols,
                      cmap="gray", size=1.1, suptitle=title)


def feature_map_grid(maps, ncols=8, title="feature maps", max_maps=32):
    """Show the channels of one activation ``(h, w, c)`` (or ``(1, h, w, c)``)."""
    m = np.asarray(maps)
    if m.ndim == 4:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"Expected feature maps of shape (h, w, channels), got {m.shape}.")
    n = min(m.shape[-1], max_maps)
    return image_grid([m[..., i] for i in range(n)], titles=[str(i) for i in range(n)], ncols=ncols,
                      cmap="viridis", size=1.2, suptitle=title)


def heatmap_overlay(image, heatmap, alpha=0.45, title=None, cmap="jet"):
    """Show ``heatmap`` (any size, resized to the image) over ``image``, beside the image."""
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
    """Save a figure as PNG and close it; returns the path."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return path
