"""Grading a whole class with nbgrader: parallel, GPU-aware, crash-resilient.

One idea per module:

============  ===============================================================
module        what it does
============  ===============================================================
resources     each worker's share of CPU threads and its GPU
limits        cell / submission / memory limits and the supervisor
execute       nbgrader's executor, keeping scores when the kernel dies
spec          the assignment's definition, carried to a private gradebook
task          one unit of work: one student's submission, by value
worker        grade one task in a private course directory (also a command)
merge         the single writer into the gradebook and autograded/
state         results file, staged results, the grader's lock
backends      local process pool, Dask
runner        plan, dispatch, merge, progress, summary
config        the course's gradebook URL and course id
sample        sample submissions, good and bad (demo, benchmark, tests)
============  ===============================================================

``cnncourse grade`` (:mod:`autograder.grade`) is the command; see
docs/grading.md.
"""

from autograder.grading.limits import Limits, parse_size  # noqa: F401
from autograder.grading.runner import GradingError, grade_class, print_summary  # noqa: F401

__all__ = ["GradingError", "Limits", "grade_class", "parse_size", "print_summary"]
