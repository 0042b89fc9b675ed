"""cnncourse: the helper library of a self-grading lab course on CNNs.

Modules, each importable on its own:

* :mod:`cnncourse.runtime`: devices, seeds, the grading profile and budgets;
* :mod:`cnncourse.data`: datasets and ``tf.data`` pipelines;
* :mod:`cnncourse.plots`: the figures the labs show;
* :mod:`cnncourse.checks`: the feedback visible test cells give;
* :mod:`cnncourse.models`: ready-made models later labs build on.

This package holds no solutions to the graded exercises.
"""

import os as _os

# Keep TensorFlow's C++ start-up chatter off students' screens (and off the
# stderr that nbgrader would count against a test cell).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
LABS = (
    "lab1-convolution",
    "lab2-arithmetic",
    "lab3-dropout-init",
    "lab4-first-cnn",
    "lab5-regularization",
    "lab6-architectures",
    "lab7-transfer",
    "lab8-visualize",
)
