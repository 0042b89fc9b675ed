"""Write nbgrader source notebooks from Python.

A lab is written once, as its source notebook in ``source/<lab>/``, in
JupyterLab with nbgrader's "Create Assignment" toolbar. This module makes the
same cells from code, for the template ``cnncourse new-lab`` starts a lab
from and for the tests' small assignments. Each function returns one cell
with the nbgrader metadata that cell type needs::

    nb = notebook([
        markdown("# Lab 1", "intro"),
        solution("def corr2d(image, kernel):\\n    ### BEGIN SOLUTION\\n    ...\\n    ### END SOLUTION",
                 "corr2d"),
        tests("from cnncourse.checks import lab1\\nlab1.check_corr2d(corr2d)", "test_corr2d", points=2),
    ])
    write(nb, "source/lab1-convolution/lab1-convolution.ipynb")
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SCHEMA = 3


def _meta(grade_id, **flags):
    meta = {
        "grade_id": grade_id,
        "schema_version": SCHEMA,
        "grade": False,
        "locked": False,
        "solution": False,
        "task": False,
    }
    meta.update(flags)
    return {"nbgrader": meta}


def _clean(text):
    return textwrap.dedent(text).strip("\n")


def markdown(text, grade_id=None):
    """A markdown cell; with ``grade_id`` it is locked (students cannot edit it)."""
    cell = new_markdown_cell(_clean(text))
    if grade_id:
        cell.metadata.update(_meta(grade_id, locked=True))
    return cell


def code(text, grade_id=None):
    """A plain code cell; with ``grade_id`` it is read-only (locked)."""
    cell = new_code_cell(_clean(text))
    if grade_id:
        cell.metadata.update(_meta(grade_id, locked=True))
    return cell


def solution(text, grade_id):
    """An answer cell: ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` is replaced in the release."""
    cell = new_code_cell(_clean(text))
    cell.metadata.update(_meta(grade_id, solution=True))
    return cell


def written_answer(text, grade_id, points):
    """A markdown answer that an instructor grades by hand."""
    cell = new_markdown_cell(_clean(text))
    cell.metadata.update(_meta(grade_id, solution=True, grade=True, points=points))
    return cell


def tests(text, grade_id, points):
    """An autograded test cell. ``### BEGIN HIDDEN TESTS`` blocks are removed in the release.

    The cell earns full points when it runs without an error; a last
    expression that evaluates to a number between 0 and ``points`` gives
    partial credit instead.
    """
    cell = new_code_cell(_clean(text))
    cell.metadata.update(_meta(grade_id, grade=True, locked=True, points=points))
    return cell


def notebook(cells):
    """A notebook with the course's kernel and ids on every cell."""
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = (gid or f"cell-{i}")[:64]
    ids = [c["id"] for c in nb.cells]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"Duplicate grade ids: {sorted(dupes)}")
    return nb


def write(nb, path):
    """Validate and write a notebook."""
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
