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


def _iso(value):
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _from_iso(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def extract(db_url, assignment, course_id=None):
    """The definition of ``assignment`` in the gradebook at ``db_url`` (a dict)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise LookupError(f"The gradebook has no assignment {assignment!r}: run "
                              f"`cnncourse release {assignment}` first (it records the lab in the gradebook).") from None
        notebooks = []
        for nb in a.notebooks:
            notebooks.append({
                "name": nb.name,
                "grade_cells": [{"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type}
                                for c in nb.grade_cells],
                "solution_cells": [{"name": c.name} for c in nb.solution_cells],
                "task_cells": [{"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type}
                               for c in nb.task_cells],
                "source_cells": [{"name": c.name, "cell_type": c.cell_type, "locked": c.locked,
                                  "source": c.source, "checksum": c.checksum} for c in nb.source_cells],
            })
        return {"name": a.name, "duedate": _iso(a.duedate), "course_id": a.course_id, "notebooks": notebooks,
                "max_score": float(a.max_score)}


def student_info(db_url, student, course_id=None):
    """A student's row (names, email, LMS id) as a dict, ``{}`` when unknown."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb:
        try:
            s = gb.find_student(student)
        except MissingEntry:
            return {}
        return {k: getattr(s, k) for k in ("first_name", "last_name", "email", "lms_user_id")
                if getattr(s, k, None) is not None}


def alembic_version(db_url):
    """The schema version recorded in the gradebook at ``db_url`` (``None`` when unknown)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no table, no server: fall back to nbgrader's own lookup
        return None
    finally:
        engine.dispose()


def template_db(spec, db_url=None):
    """A new SQLite gradebook holding the assignment ``spec``, as bytes.

    Made once per grading run and copied for every submission. Creating a
    gradebook makes nbgrader ask ``alembic`` (a separate program, seconds
    to start) for the schema version; the main gradebook's version is used
    instead where it is known.
    """
    import os
    import tempfile

    import nbgrader.api as nb_api

    version = alembic_version(db_url) if db_url else None
    original = nb_api.get_alembic_version
    if version:
        nb_api.get_alembic_version = lambda: version
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "gradebook.db")
            seed("sqlite:///" + db, spec, None)
            with open(db, "rb") as f:
                return f.read()
    finally:
        nb_api.get_alembic_version = original


def seed_sqlite(path, template, spec, student, info=None):
    """Write the gradebook ``template`` (bytes from :func:`template_db`) to ``path`` and add ``student``."""
    from nbgrader.api import Gradebook

    with open(path, "wb") as f:
        f.write(template)
    with Gradebook("sqlite:///" + str(path), spec.get("course_id") or "default_course") as gb:
        gb.update_or_create_student(student, **(info or {}))


def seed(db_url, spec, student, info=None):
    """Write the assignment ``spec`` and ``student`` (unless ``None``) into the new gradebook at ``db_url``."""
    from nbgrader.api import Gradebook

    course_id = spec.get("course_id") or "default_course"
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment(spec["name"], duedate=_from_iso(spec.get("duedate")))
        for nb in spec["notebooks"]:
            gb.add_notebook(nb["name"], spec["name"])
            for c in nb["grade_cells"]:
                gb.add_grade_cell(c["name"], nb["name"], spec["name"], max_score=c["max_score"],
                                  cell_type=c["cell_type"])
            for c in nb["solution_cells"]:
                gb.add_solution_cell(c["name"], nb["name"], spec["name"])
            for c in nb["task_cells"]:
                gb.add_task_cell(c["name"], nb["name"], spec["name"], max_score=c["max_score"],
                                 cell_type=c["cell_type"])
            for c in nb["source_cells"]:
                gb.add_source_cell(c["name"], nb["name"], spec["name"], cell_type=c["cell_type"],
                                   locked=c["locked"], source=c["source"], checksum=c["checksum"])
        if student is not None:
            gb.update_or_create_student(student, **(info or {}))


def read_scores(db_url, assignment, student):
    """What autograding stored for one submission: per notebook, its grades and comments."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        out = {"timestamp": _iso(sub.timestamp), "notebooks": {}}
        for nb in sub.notebooks:
            out["notebooks"][nb.name] = {
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {g.name: {"auto_score": g.auto_score, "max_score": float(g.max_score),
                                    "needs_manual_grade": bool(g.needs_manual_grade)} for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
        return out
