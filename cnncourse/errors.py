"""Errors that mean the grading environment, not the student's work, is at fault.

A hidden test that cannot find what it needs (a calibration record, a
dataset, a module) must not turn into a student's zero. Such failures raise
a subclass of :class:`GradingEnvironmentError`; the grader recognises them
by name in the notebook's outputs (:data:`ENVIRONMENT_ERRORS`) and records
the submission as ``error`` with the reason, instead of a score.

Example:

>>> from cnncourse.errors import GradingEnvironmentError
>>> issubclass(MissingCalibrationError, GradingEnvironmentError)
True
"""

from __future__ import annotations


class GradingEnvironmentError(RuntimeError):
    """Something a check needs is not installed or not on this machine."""


class MissingCalibrationError(GradingEnvironmentError, KeyError):
    """A training check has no calibrated bar under the active profile."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingDatasetError(GradingEnvironmentError, FileNotFoundError):
    """A dataset or weights file is not on this machine and cannot be fetched."""


# Names of the exceptions (as a notebook's error outputs record them) that say the
# grading environment is broken: the course's own, and a module that cannot be imported.
ENVIRONMENT_ERRORS = frozenset(
    {
        "GradingEnvironmentError",
        "MissingCalibrationError",
        "MissingDatasetError",
        "DatasetNotFoundError",
        "ModuleNotFoundError",
    }
)
