"""Calibration of Lab 7's training check (``python -m autograder.calibrate lab7-transfer``).

The check: held-out accuracy on the digits 5-9 of the student's
``train_transfer`` with 10 labels per class (budget ``lab7.transfer``),
measured by :func:`cnncourse.checks.lab7.measure_transfer`. The reference is
the source notebook's own solution. The weak answers are what transfer must
beat:

* ``scratch``: the same network trained from random weights on the same
  labels and budget (:func:`cnncourse.models.source.fit_scratch`);
* ``untrained_base``: the recipe of the solution on a frozen base that was
  never trained (random features: transfer without anything to transfer).
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace
from cnncourse.checks import lab7

LAB = "lab7-transfer"


@functools.lru_cache(maxsize=1)
def reference():
    ns = solution_namespace(LAB, ["build_transfer_model", "train_transfer"])
    return ns["build_transfer_model"], ns["train_transfer"]


def _scratch(x, y, epochs, batch_size, validation_data=None):
    from cnncourse.models import source

    return source.fit_scratch(x, y, epochs, batch_size, validation_data)


def _untrained_base(x, y, epochs, batch_size, validation_data=None):
    import keras

    from cnncourse.models import source

    build, _ = reference()
    net = source.build_digits_cnn(5)
    base = keras.Model(net.input, net.get_layer(source.FEATURES).output)
    model = build(base, 5)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)


def _measure(train_fn=None):
    def run(seed, profile):
        return lab7.measure_transfer(train_fn or reference()[1], seed, profile)

    return run


CHECKS = {
    "transfer": Spec(
        metric="held-out accuracy with 10 labels per class",
        budget="lab7.transfer",
        reference=_measure(),
        weak={"scratch": _measure(_scratch), "untrained_base": _measure(_untrained_base)},
        notes="Frozen digits04 base + softmax head trained on 10 labels per class of the digits 5-9 "
        "(Adam 0.03); accuracy on the 20% of the target digits kept for grading (in neither the pool "
        "nor the test set the notebook is given). The hidden test averages seeds 0..budget.seeds-1, all calibrated here.",
    ),
}
