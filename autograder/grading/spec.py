"""An assignment's definition, carried from the main gradebook to a worker's own.

Each submission is graded in a private course directory with a private
SQLite gradebook, so workers never share a database. :func:`extract` reads
what nbgrader's ``generate_assignment`` stored about an assignment (its
notebooks, graded/solution/task/source cells, due date) and one student,
as plain data that travels to another process or machine; :func:`seed`
writes it into a fresh gradebook. Works the same whether the main gradebook
is SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from autograder.gradebook_version import alembic_head

if TYPE_CHECKING:
    from autograder.grading.result import Scores


class CellSpec(TypedDict):
    """A solution cell: its nbgrader id."""

    name: str


class GradedCellSpec(TypedDict):
    """A graded test cell or task cell: its id, its points and its kind (``code`` or ``markdown``)."""

    name: str
    max_score: float
    cell_type: str


class SourceCellSpec(TypedDict):
    """A cell nbgrader keeps the source of (locked cells, tests): what a submission's copy is checked against."""

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None


class NotebookSpec(TypedDict):
    """One notebook of an assignment: its name (without ``.ipynb``) and its cells by kind."""

    name: str
    grade_cells: list[GradedCellSpec]
    solution_cells: list[CellSpec]
    task_cells: list[GradedCellSpec]
    source_cells: list[SourceCellSpec]


class AssignmentSpec(TypedDict):
    """An assignment's definition, as :func:`extract` reads it (plain data: it travels by value)."""

    name: str
    duedate: str | None  # ISO 8601
    course_id: str
    notebooks: list[NotebookSpec]
    max_score: float


StudentInfo = dict[str, str]
"""A student's row in the gradebook: ``first_name``, ``last_name``, ``email``, ``lms_user_id`` (those set)."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _from_iso(value: str | dt.datetime | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def extract(db_url: str, assignment: str, course_id: str | None = None) -> AssignmentSpec:
    """The definition of ``assignment`` in the gradebook at ``db_url`` (a dict)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise LookupError(
                f"The gradebook has no assignment {assignment!r}: run "
                f"`cnncourse release {assignment}` first (it records the lab in the gradebook)."
            ) from None
        notebooks: list[NotebookSpec] = []
        for nb in a.notebooks:
            notebooks.append(
                {
                    "name": nb.name,
                    "grade_cells": [
                        {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.grade_cells
                    ],
                    "solution_cells": [{"name": c.name} for c in nb.solution_cells],
                    "task_cells": [
                        {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.task_cells
                    ],
                    "source_cells": [
                        {
                            "name": c.name,
                            "cell_type": c.cell_type,
                            "locked": c.locked,
                            "source": c.source,
                            "checksum": c.checksum,
                        }
                        for c in nb.source_cells
                    ],
                }
            )
        return {
            "name": a.name,
            "duedate": _iso(a.duedate),
            "course_id": a.course_id,
            "notebooks": notebooks,
            "max_score": float(a.max_score),
        }


def student_info(db_url: str, student: str, course_id: str | None = None) -> StudentInfo:
    """A student's row (names, email, LMS id) as a dict, ``{}`` when unknown."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb:
        try:
            s = gb.find_student(student)
        except MissingEntry:
            return {}
        return {
            k: getattr(s, k)
            for k in ("first_name", "last_name", "email", "lms_user_id")
            if getattr(s, k, None) is not None
        }


def alembic_version(db_url: str) -> str | None:
    """The schema version recorded in the gradebook at ``db_url`` (``None`` when unknown)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            version: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return version
    except Exception:  # noqa: BLE001 - no table, no server: fall back to nbgrader's own lookup
        return None
    finally:
        engine.dispose()


def template_db(spec: AssignmentSpec, db_url: str | None = None) -> bytes:
    """A new SQLite gradebook holding the assignment ``spec``, as bytes.

    Made once per grading run and copied for every submission. It is stamped
    with the main gradebook's schema version where that is known, else with
    nbgrader's newest, read in this process (nbgrader itself would run
    ``alembic``, a separate program, seconds to start).
    """
    import nbgrader.api as nb_api

    version = (alembic_version(db_url) if db_url else None) or alembic_head()
    original = nb_api.get_alembic_version
    nb_api.get_alembic_version = lambda: version
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "gradebook.db")
            seed("sqlite:///" + db, spec, None)
            with open(db, "rb") as f:
                return f.read()
    finally:
        nb_api.get_alembic_version = original


def seed_sqlite(
    path: str | Path,
    template: bytes,
    spec: AssignmentSpec,
    student: str,
    info: Mapping[str, str] | None = None,
    extension: float | None = None,
) -> None:
    """Write the gradebook ``template`` (bytes from :func:`template_db`) to ``path`` and add ``student``.

    ``extension`` (seconds) is the student's extension of the due date, so that
    nbgrader's late penalty in the private gradebook is the one the course's
    gradebook would give.
    """
    from nbgrader.api import Gradebook

    with open(path, "wb") as f:
        f.write(template)
    with Gradebook("sqlite:///" + str(path), spec.get("course_id") or "default_course") as gb:
        gb.update_or_create_student(student, **(info or {}))
        if extension:
            gb.update_or_create_submission(spec["name"], student)
            gb.grant_extension(spec["name"], student, minutes=extension / 60.0)


def extension(db_url: str, assignment: str, student: str, course_id: str | None = None) -> float | None:
    """The student's extension of the assignment's due date, in seconds (``None``: none granted)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb:
        try:
            granted = gb.find_submission(assignment, student).extension
        except MissingEntry:
            return None
        return granted.total_seconds() if granted else None


def seed(db_url: str, spec: AssignmentSpec, student: str | None, info: Mapping[str, str] | None = None) -> None:
    """Write the assignment ``spec`` and ``student`` (unless ``None``) into the new gradebook at ``db_url``."""
    from nbgrader.api import Gradebook

    course_id = spec.get("course_id") or "default_course"
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment(spec["name"], duedate=_from_iso(spec.get("duedate")))
        for nb in spec["notebooks"]:
            gb.add_notebook(nb["name"], spec["name"])
            for c in nb["grade_cells"]:
                gb.add_grade_cell(
                    c["name"], nb["name"], spec["name"], max_score=c["max_score"], cell_type=c["cell_type"]
                )
            for sc in nb["solution_cells"]:
                gb.add_solution_cell(sc["name"], nb["name"], spec["name"])
            for c in nb["task_cells"]:
                gb.add_task_cell(
                    c["name"], nb["name"], spec["name"], max_score=c["max_score"], cell_type=c["cell_type"]
                )
            for src in nb["source_cells"]:
                gb.add_source_cell(
                    src["name"],
                    nb["name"],
                    spec["name"],
                    cell_type=src["cell_type"],
                    locked=src["locked"],
                    source=src["source"],
                    checksum=src["checksum"],
                )
        if student is not None:
            gb.update_or_create_student(student, **(info or {}))


def read_scores(db_url: str, assignment: str, student: str) -> Scores | None:
    """What autograding stored for one submission: per notebook, its grades and comments."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        out: Scores = {"timestamp": _iso(sub.timestamp), "notebooks": {}}
        for nb in sub.notebooks:
            out["notebooks"][nb.name] = {
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {
                    g.name: {
                        "auto_score": g.auto_score,
                        "max_score": float(g.max_score),
                        "needs_manual_grade": bool(g.needs_manual_grade),
                    }
                    for g in nb.grades
                },
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
        return out
