"""cnncourse: the helper library of a self-grading lab course on CNNs.

Modules, each importable on its own:

* :mod:`cnncourse.runtime`: devices, seeds, the grading profile and budgets;
* :mod:`cnncourse.data`: datasets and ``tf.data`` pipelines;
* :mod:`cnncourse.plots`: the figures the labs show;
* :mod:`cnncourse.checks`: the feedback visible test cells give;
* :mod:`cnncourse.models`: ready-made models later labs build on;
* :mod:`cnncourse.calibration`: the calibrated bars of the training checks;
* :mod:`cnncourse.kernel`, :mod:`cnncourse.start`, :mod:`cnncourse.doctor`:
  the course's Jupyter kernel, a student's work folder, this machine's check.

This package is all a student installs. It holds no solutions and no hidden
tests of the graded exercises (they live in the course's ``source/`` only),
and never imports the instructor package (``autograder``).
"""

import sys as _sys

__version__ = "0.1.0"

# jsonschema, which nbformat, nbgrader and Jupyter import, loads the optional rfc3987_syntax package, where
# it is installed (Jupyter's dependencies install it), to check the "iri" string format. No notebook or
# Jupyter schema uses that format, and the import compiles 39 parsers: about a second in every process
# that reads a notebook (python-jsonschema/jsonschema#1428). A process of the course skips it: jsonschema
# then checks every other format as before. Set before jsonschema is imported; changes nothing after.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# TensorFlow's graph optimiser skips the tiny graphs Keras makes every epoch (cnncourse.runtime).
from cnncourse import runtime as _runtime  # noqa: E402

_runtime.skip_optimising_small_graphs()
