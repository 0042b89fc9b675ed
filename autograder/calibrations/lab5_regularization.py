"""Calibration of Lab 5's training checks (``python -m autograder.calibrate lab5-regularization``).

The reference is the source notebook's ``build_regularized_cnn`` (with its
``build_augmenter``), trained and measured by the check's own function
(:func:`cnncourse.checks.lab5.measure_regularized`). Weak answers:

* ``over_regularized``: dropout 0.9 and an L2 factor of 1.0 everywhere (a
  student who reads "more regularisation is better", or takes the L2 factor
  for an on/off switch): it underfits, so its validation accuracy is low;
* ``no_regularization``: the same network without augmentation, dropout or
  L2. The gap bar is a property the reference sets ("no more overfitting
  than a properly regularised model"); on 150 easy faces an unregularised
  net does not always overfit within the budget, so its gaps are measured and
  written into the record's notes rather than required to fail.
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace
from cnncourse.checks import lab5, training

LAB = "lab5-regularization"


@functools.lru_cache(maxsize=1)
def reference():
    ns = solution_namespace(LAB, ["build_augmenter", "build_regularized_cnn"])
    return ns["build_regularized_cnn"]


def _cnn(augment, dropout, l2):
    """The reference's shape with other regularisation settings."""
    import keras
    from keras import layers

    def build(input_shape, num_classes):
        reg = keras.regularizers.l2(l2) if l2 else None
        stack = [keras.Input(shape=input_shape)]
        if augment:
            ns = solution_namespace(LAB, ["build_augmenter"])
            stack.append(ns["build_augmenter"]())
        stack += [
            layers.Conv2D(16, 3, kernel_regularizer=reg, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(32, 3, kernel_regularizer=reg, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
        ]
        if dropout:
            stack.append(layers.Dropout(dropout))
        stack.append(layers.Dense(64, activation="relu", kernel_regularizer=reg))
        if dropout:
            stack.append(layers.Dropout(dropout))
        stack.append(layers.Dense(num_classes, activation="softmax"))
        return keras.Sequential(stack)

    return build


OVER_REGULARIZED = _cnn(augment=True, dropout=0.9, l2=1.0)
NO_REGULARIZATION = _cnn(augment=False, dropout=0.0, l2=0.0)


@functools.lru_cache(maxsize=64)
def _run(builder_name, seed, profile):
    builder = {"reference": None, "over": OVER_REGULARIZED, "none": NO_REGULARIZATION}[builder_name]
    res = lab5.measure_regularized(builder or reference(), seed=seed, profile=profile)
    return res.accuracy, training.generalisation_gap(res.history)


def _accuracy(name):
    return lambda seed, profile: _run(name, seed, profile)[0]


def _gap(name):
    return lambda seed, profile: _run(name, seed, profile)[1]


CHECKS = {
    "regularized": Spec(
        metric="validation accuracy",
        budget="lab5.regularized",
        reference=_accuracy("reference"),
        weak={"over_regularized": _accuracy("over")},
        notes="The student's CNN trained by the check (Adam 1e-3) on 150 faces / non-faces; "
        "accuracy on the 50 held-out images.",
    ),
    "gap": Spec(
        metric="train - validation accuracy, last 3 epochs",
        budget="lab5.regularized",
        reference=_gap("reference"),
        weak={"no_regularization": _gap("none")},
        higher_is_better=False,
        weak_must_fail=False,
        min_margin=0.06,
        notes="Same run as 'regularized' (each training run is measured once and gives both numbers).",
    ),
}
