"""Per-student extensions of a lab's due date, from ``extensions.csv`` in the course directory.

nbgrader keeps a lab's due date in the gradebook (``nbgrader db assignment add
LAB --duedate "2026-12-10 17:00 Europe/Paris"``) and computes the late penalty
from it (``c.LateSubmissionPlugin.penalty_method`` in ``nbgrader_config.py``).
An extension moves one student's due date; nbgrader can hold one only on a
submission that exists already, so the course keeps them in a file an
instructor edits::

    student_id,lab,hours
    ada,lab4-first-cnn,48
    bob,lab4-first-cnn,2.5

Grading (``cnncourse grade``, ``cnncourse watch``) gives each submission its
extension: the file's, else one granted in the gradebook.
"""

from __future__ import annotations

import csv
from pathlib import Path

FILE = "extensions.csv"
COLUMNS = ("student_id", "lab", "hours")


class ExtensionsError(ValueError):
    """``extensions.csv`` cannot be read; the message names the line and the fix."""


def read(course_dir: str | Path) -> dict[tuple[str, str], float]:
    """Return the extensions of a course: ``{(lab, student): seconds}``.

    Args:
        course_dir: the course directory.

    Returns:
        A dict; empty when there is no ``extensions.csv``.

    Raises:
        ExtensionsError: a column is missing, a row's hours are not a
            non-negative number, or a student has two rows for one lab.
    """
    path = Path(course_dir) / FILE
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExtensionsError(f"{path} cannot be read ({exc}): save it as UTF-8 text.") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ExtensionsError(
            f"{path} has no column {', '.join(missing)}: its first line must be `{','.join(COLUMNS)}`."
        )
    out: dict[tuple[str, str], float] = {}
    for line, row in enumerate(reader, start=2):
        student, lab = (row["student_id"] or "").strip(), (row["lab"] or "").strip()
        if not student and not lab:
            continue
        try:
            hours = float(row["hours"])
        except (TypeError, ValueError):
            hours = -1.0
        if not student or not lab or not hours >= 0:
            raise ExtensionsError(
                f"{path}, line {line}: expected a student id, a lab and a number of hours >= 0, "
                f"got {row['student_id']!r}, {row['lab']!r}, {row['hours']!r}."
            )
        if (lab, student) in out:
            raise ExtensionsError(f"{path}, line {line}: {student} already has an extension for {lab}; keep one row.")
        out[(lab, student)] = hours * 3600.0
    return out
