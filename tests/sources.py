"""Reading a lab's solutions and hidden tests from its source notebook, the one place they live."""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def notebook_path(lab):
    return ROOT / "source" / lab / f"{lab}.ipynb"


@functools.lru_cache(maxsize=None)
def _notebook(lab):
    return nbformat.read(str(notebook_path(lab)), as_version=4)


def cell_source(lab, grade_id):
    """The source of the cell with ``grade_id`` in ``lab``'s source notebook."""
    for cell in _notebook(lab).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"{lab} has no cell {grade_id!r}")


def hidden_tests(lab, grade_id):
    """The lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of one test cell."""
    lines = cell_source(lab, grade_id).splitlines()
    start, end = lines.index("### BEGIN HIDDEN TESTS"), lines.index("### END HIDDEN TESTS")
    return "\n".join(lines[start + 1:end])


def solutions(lab, grade_ids=None, skip=()):
    """The namespace of the lab's import and solution cells, run (markers stripped)."""
    from autograder.calibrations import solution_namespace

    return solution_namespace(lab, grade_ids, root=ROOT, skip=skip)
