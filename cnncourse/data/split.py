"""Deterministic, stratified splits and subsamples."""

from __future__ import annotations

import numpy as np


def train_val_split(x, y, val_fraction=0.2, seed=0):
    """Split ``(x, y)`` into training and validation parts, stratified by ``y``.

    The same seed always gives the same split, and every class keeps its
    share in both parts.

    Args:
        x: the examples (an array, or anything scikit-learn can index).
        y: the labels.
        val_fraction: the share of the examples that goes to validation,
            strictly between 0 and 1.
        seed: the seed of the split.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.

    Raises:
        ValueError: ``val_fraction`` is not between 0 and 1 (or, from
            scikit-learn, a class has too few examples to be in both parts).

    Example:
        >>> x, y = np.arange(20).reshape(10, 2), np.array([0, 1] * 5)
        >>> (x_tr, y_tr), (x_val, y_val) = train_val_split(x, y, val_fraction=0.2)
        >>> len(y_tr), sorted(y_val.tolist())
        (8, [0, 1])
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}.")
    x_tr, x_val, y_tr, y_val = train_test_split(
        x, y, test_size=val_fraction, stratify=y, random_state=int(seed), shuffle=True
    )
    return (x_tr, y_tr), (x_val, y_val)


def stratified_subsample(x, y, n, seed=0):
    """Return ``n`` examples of ``(x, y)`` with the class proportions kept.

    Args:
        x: the examples.
        y: the labels.
        n: how many examples to keep; ``None`` or ``n >= len(y)`` returns
            everything (in the original order).
        seed: the seed of the choice.

    Returns:
        ``(x_kept, y_kept)``.

    Raises:
        ValueError: ``n`` is smaller than the number of classes.

    Example:
        >>> x, y = np.arange(12), np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        >>> x_kept, y_kept = stratified_subsample(x, y, 6)
        >>> np.bincount(y_kept).tolist()
        [4, 2]
    """
    if n is None or n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    classes = np.unique(y)
    if n < len(classes):
        raise ValueError(f"Cannot keep {n} examples of {len(classes)} classes: n must be >= {len(classes)}.")
    x_keep, _, y_keep, _ = train_test_split(x, y, train_size=int(n), stratify=y, random_state=int(seed))
    return x_keep, y_keep


def per_class_subset(x, y, per_class, seed=0):
    """Keep exactly ``per_class`` examples of every class (few-label experiments).

    Args:
        x: the examples, an array.
        y: the labels, an array.
        per_class: how many examples of each class to keep.
        seed: the seed of the choice.

    Returns:
        ``(x_kept, y_kept)``, in the original order.

    Raises:
        ValueError: a class has fewer than ``per_class`` examples.

    Example:
        >>> x, y = np.arange(10), np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        >>> x_kept, y_kept = per_class_subset(x, y, 2)
        >>> np.bincount(y_kept).tolist()
        [2, 2, 2]
    """
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(f"Class {c} has only {len(members)} examples; asked for {per_class}.")
        idx.append(rng.choice(members, size=per_class, replace=False))
    idx = np.sort(np.concatenate(idx))
    return x[idx], y[idx]
