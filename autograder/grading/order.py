"""The order a class is graded in: the most complete submissions first.

A submission's grading time depends mostly on how much of it is answered: an
exercise still holding its released stub fails at once, while an answered
one runs its checks, which may train a model. Workers take submissions in
turn, so a long one handed out last keeps one worker busy while the others
have nothing left. Handing out the longest first (the classic cure for this
tail, "longest processing time first") shortens the run, most of all for a
small class on a few workers. The count of answered cells is the estimate:
it is read from the notebooks alone, before any kernel starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from autograder.grading.spec import AssignmentSpec


def _text(source: object) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def answered_cells(notebooks: Mapping[str, bytes], spec: AssignmentSpec) -> int:
    """How many of the assignment's answer cells differ from their released stub.

    Args:
        notebooks: the submission's files by name (``{"lab1.ipynb": b"..."}``);
            other files are ignored.
        spec: the assignment's definition (the released cells' sources).

    Returns:
        The number of answer (solution) cells whose source is not the released
        one; ``0`` for a missing or unreadable notebook.
    """
    count = 0
    for nb in spec["notebooks"]:
        try:
            cells = json.loads(notebooks[f"{nb['name']}.ipynb"])["cells"]
        except (KeyError, ValueError, TypeError):
            continue
        released = {c["name"]: _text(c["source"]).strip() for c in nb["source_cells"]}
        answers = {c["name"] for c in nb["solution_cells"]}
        for cell in cells if isinstance(cells, list) else []:
            try:
                grade_id = cell["metadata"]["nbgrader"]["grade_id"]
                if grade_id in answers and _text(cell.get("source")).strip() != released.get(grade_id):
                    count += 1
            except (KeyError, TypeError, AttributeError):
                continue  # not an answer cell, or not a well-formed one: the grader says so later
    return count


def notebooks_in(folder: str | Path, spec: AssignmentSpec) -> dict[str, bytes]:
    """The assignment's notebooks found in a submission ``folder``, by file name (unreadable ones left out)."""
    found = {}
    for nb in spec["notebooks"]:
        name = f"{nb['name']}.ipynb"
        try:
            found[name] = (Path(folder) / name).read_bytes()
        except OSError:
            pass
    return found


def longest_first(students: Sequence[str], folder_of: Callable[[str], Path], spec: AssignmentSpec) -> list[str]:
    """``students`` in the order to grade them: most answered cells first, ties in the given order.

    Args:
        students: student ids, in their usual order (sorted).
        folder_of: a student's submission folder.
        spec: the assignment's definition.

    Returns:
        The same ids, reordered.

    Example:
        >>> folder_of = lambda s: Path("submitted") / s / "lab1-convolution"
        >>> longest_first(["ada", "bob"], folder_of, spec)  # doctest: +SKIP
        ['bob', 'ada']
    """
    work = {s: answered_cells(notebooks_in(folder_of(s), spec), spec) for s in students}
    return sorted(students, key=lambda s: -work[s])
