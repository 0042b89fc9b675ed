"""Grading a whole class with nbgrader: parallel, GPU-aware, crash-resilient.

One idea per module:

============  ===============================================================
module        what it does
============  ===============================================================
task          one unit of work: one student's submission, by value
spec          the assignment's definition, carried to a private gradebook
extensions    per-student extensions of a due date (extensions.csv)
resources     each worker's share of CPU threads and its GPU
limits        cell / submission / memory / process limits and the supervisor
sandbox       the bubblewrap sandbox each graded kernel starts in
guard         the hidden tests' guard: snapshots and restores what a
              submission may not change, flags what it changed
execute       nbgrader's executor, keeping scores when the kernel dies
worker        grade one task in a private course directory
result        :class:`GradingResult`, what grading one submission gives
merge         the single writer into the gradebook and autograded/
state         results file, staged results, the grader's lock
preflight     the course's own solution, graded first the same way
order         the order a class is graded in: most complete first
backends      local process pool, Dask
runner        plan, dispatch, merge, progress, summary
config        the course's gradebook URL and course id
sample        sample submissions, good and bad (demo, benchmark, tests)
============  ===============================================================

``cnncourse grade`` (:mod:`autograder.grade`) is the command; see
docs/grading.md.
"""

from autograder.grading.limits import Limits, parse_size
from autograder.grading.result import GradingResult
from autograder.grading.runner import GradingError, grade_class, print_summary

__all__ = ["GradingError", "GradingResult", "Limits", "grade_class", "parse_size", "print_summary"]
