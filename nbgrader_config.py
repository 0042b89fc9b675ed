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
