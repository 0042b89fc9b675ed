"""Calibration specs, one module per training lab (``lab4_first_cnn.py``, ...).

Each module defines ``CHECKS``: a dict from check name to :class:`Spec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Spec:
    """How to calibrate one training check.

    ``reference`` and every ``weak`` entry are ``fn(seed, profile) -> float``
    that train exactly what the check trains (same data, same budget) and
    return the graded metric.
    """

    metric: str
    budget: str
    reference: Callable
    weak: dict = field(default_factory=dict)
    higher_is_better: bool = True
    min_margin: float = 0.02
    notes: str = ""


def module_name(lab):
    return "autograder.calibrations." + lab.replace("-", "_")
