"""Calibration of Lab 4's training checks (``python -m autograder.calibrate lab4-first-cnn``).

The reference is the source notebook's own solution (``build_lenet5``,
``train_model``), measured by the very function the check uses. The weak
answers are mistakes students plausibly make:

* ``ignores_activation``: ``build_lenet5`` always uses the sigmoid, whatever
  ``activation`` it is given (the check asks for ReLU);
* ``plain_sgd``: ``train_model`` compiles with ``"sgd"`` (learning rate 0.01,
  no momentum) instead of Adam.
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace
from cnncourse.checks import lab4

LAB = "lab4-first-cnn"


@functools.lru_cache(maxsize=1)
def reference():
    ns = solution_namespace(LAB, ["build_lenet5", "train_model"])
    return ns["build_lenet5"], ns["train_model"]


def _sigmoid_always(input_shape, num_classes, activation="relu"):
    build, _ = reference()
    return build(input_shape, num_classes, "sigmoid")


def _plain_sgd(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0)


def _lenet(build=None, train=None):
    def run(seed, profile):
        b, t = reference()
        return lab4.measure_lenet_accuracy(build or b, train or t, seed=seed, profile=profile).accuracy

    return run


def _overfit(build=None, train=None):
    def run(seed, profile):
        b, t = reference()
        return lab4.measure_overfit(build or b, train or t, seed=seed, profile=profile)

    return run


CHECKS = {
    "lenet": Spec(
        metric="held-out accuracy",
        budget="lab4.lenet",
        reference=_lenet(),
        weak={"ignores_activation": _lenet(build=_sigmoid_always), "plain_sgd": _lenet(train=_plain_sgd)},
        notes="ReLU LeNet-5 on resized digits, trained with the student's train_model; "
        "accuracy on the 25% of digits held out.",
    ),
    "overfit": Spec(
        metric="training accuracy on the tiny subset",
        budget="lab4.overfit",
        reference=_overfit(),
        weak={"ignores_activation": _overfit(build=_sigmoid_always), "plain_sgd": _overfit(train=_plain_sgd)},
        notes="ReLU LeNet-5 trained on a few digits only; accuracy on those same digits.",
    ),
}
