"""Calibration of Lab 9's training check (``cnncourse calibrate lab9-optimization``).

The check: held-out accuracy of the course's small CNN on 16x16 digits, trained
under the budget ``lab9.optimizer`` with the optimiser the student's
``make_optimizer(steps)`` returns, measured by
:func:`cnncourse.checks.lab9.measure_optimizer`. The reference is the source
notebook's own ``make_optimizer``. The weak answers are the two mistakes the
lab warns about:

* ``plain_sgd``: plain SGD at Keras's default learning rate (0.01), no
  momentum, no schedule;
* ``rate_far_too_large``: Adam at a constant learning rate of 0.1, a hundred
  times the lecture's starting point.
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace
from cnncourse.checks import lab9

LAB = "lab9-optimization"


@functools.lru_cache(maxsize=1)
def reference():
    return solution_namespace(LAB, ["make_optimizer"])["make_optimizer"]


def _plain_sgd(steps):
    import keras

    return keras.optimizers.SGD(learning_rate=0.01)


def _rate_far_too_large(steps):
    import keras

    return keras.optimizers.Adam(learning_rate=0.1)


def _measure(make_optimizer=None):
    def run(seed, profile):
        return lab9.measure_optimizer(make_optimizer or reference(), seed=seed, profile=profile).accuracy

    return run


CHECKS = {
    "optimizer": Spec(
        metric="held-out accuracy",
        budget="lab9.optimizer",
        reference=_measure(),
        weak={"plain_sgd": _measure(_plain_sgd), "rate_far_too_large": _measure(_rate_far_too_large)},
        notes="small_cnn on 16x16 digits (sparse cross-entropy), trained with the optimiser of the student's "
        "make_optimizer(steps) (reference: Adam, linear warm-up over 10% of the steps to 0.01, then cosine "
        "decay to 0); accuracy on the 25% of digits held out.",
    ),
}
