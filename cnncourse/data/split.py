"""Deterministic, stratified splits and subsamples."""

from __future__ import annotations

import numpy as np


def train_val_split(x, y, val_fraction=0.2, seed=0):
    """Split ``(x, y)`` into training and validation parts, stratified by ``y``.

    The same seed always gives the same split, and every class keeps its
    share in both parts. Returns ``(x_train, y_train), (x_val, y_val)``.
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

    ``n=None`` or ``n >= len(y)`` returns everything (in the original order).
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
    """Keep exactly ``per_class`` examples of every class (few-label experiments)."""
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(f"Class {c} has only {len(members)} examples; asked for {per_class}.")
        idx.append(rng.choice(members, size=per_class, replace=False))
    idx = np.sort(np.concatenate(idx))
    return x[idx], y[idx]
