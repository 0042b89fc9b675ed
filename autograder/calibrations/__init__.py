"""Calibration specs, one module per training lab (``lab4_first_cnn.py``, ...).

Each module defines ``CHECKS``: a dict from check name to :class:`Spec`.
"""

from __future__ import annotations

import linecache
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
    weak_must_fail: bool = True
    """False for a property bar (e.g. "no overfitting") that the reference
    sets alone: the threshold is the reference's worst seed plus the margin,
    and weak answers are measured and written into the notes for information
    instead of being required to fall below the bar."""


def module_name(lab):
    return "autograder.calibrations." + lab.replace("-", "_")


def solution_namespace(lab, grade_ids=None, root=None, skip=()):
    """Run a lab's import cell and solution cells from its source notebook; return the namespace.

    Calibration trains exactly the code the source notebook grades as the
    reference (markers stripped), so the reference and the notebook can never
    drift apart. ``grade_ids`` limits which solution cells run (default: all);
    ``skip`` names solution cells not to run (for example one that needs trained results);
    ``root`` is the course directory (default: the current one).
    """
    import nbformat

    from autograder.course import course_root, strip_solution_markers

    path = course_root(root) / "source" / lab / f"{lab}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    namespace = {"__name__": f"reference_{lab.replace('-', '_')}"}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type != "code":
            continue
        if gid in skip:
            continue
        if gid == "imports" or (meta.get("solution") and (grade_ids is None or gid in grade_ids)):
            text = strip_solution_markers(cell.source)
            filename = f"<{lab}:{gid}>"
            # Register the text as the file's source, so tools that read source
            # code (tf.data's AutoGraph, inspect) work as they do in a notebook.
            linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
            exec(compile(text, filename, "exec"), namespace)
    return namespace
