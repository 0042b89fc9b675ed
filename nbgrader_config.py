"""nbgrader configuration of the course (this folder is the course directory)."""

import os

from cnncourse.runtime import KERNEL_ENV, cell_timeout

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cnncourse"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Data files a lab needs besides its notebook travel with it.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Released notebooks start with an obvious placeholder in every answer cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# TensorFlow writes start-up messages to stderr, and nbgrader gives a test cell
# zero points for any stderr output. The kernels nbgrader starts inherit this
# environment: start them as the course's kernelspec does (cnncourse.kernel),
# and drop stderr outputs that are only log lines or warnings.
os.environ.update(KERNEL_ENV)
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(WARNING|INFO|I\d{4}|W\d{4}|E\d{4}|\S+:\d+: \w*Warning"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] |\s+warnings\.warn|To enable the following)"
)

# Per-cell time limits that fit the training cells of the active profile
# (fast on a CPU, full on a GPU; see cnncourse.runtime.CELL_TIMEOUTS).
c.Execute.timeout = cell_timeout()
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# `cnncourse grade` is the way to grade: it runs each submission in a sandbox and keeps the
# hidden tests honest. Plain `nbgrader autograde` (what the formgrader's Autograde button runs)
# gets the second half here, where the instructor package is installed: answers that patch
# what a test uses (numpy.allclose, the checks) are put back before each test, and a test
# during which something changed scores zero. It still runs without the sandbox.
try:
    from autograder.grading.execute import ResilientExecute
except ImportError:  # a student's install has no grader
    pass
else:
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    c.Autograde.autograde_preprocessors = [
        ResilientExecute if p is Execute else p for p in Autograde.class_traits()["autograde_preprocessors"].default()
    ]
