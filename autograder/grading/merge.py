"""The single writer: a finished result goes into the gradebook and autograded/.

Workers never touch the course's gradebook. The grading process merges
each result here, one at a time, in its main thread, so SQLite never sees
two writers ("database is locked" cannot happen) and a PostgreSQL gradebook
(``c.CourseDirectory.db_url``) works the same way. Merging is idempotent:
merging the same result twice leaves the gradebook as it was.

What is written, with nbgrader's own API:

* the submission (created if needed, with its timestamp);
* every graded cell's ``auto_score`` (a grader's ``manual_score`` is never
  overwritten; ``needs_manual_grade`` follows nbgrader's rule);
* the comments nbgrader's autograder set ("No response.");
* for a failed submission: the notebook is *flagged* for a human, and the
  reason is added as an autograder comment on its first answer cell (shown
  in the formgrader).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.grading.result import GradingResult

REASON_PREFIX = "Autograder: "


def _chmod_and_retry(func: Callable[[str], object], path: str, _exc: object) -> None:
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
    func(path)


def _remove_tree(path: Path) -> None:
    """Remove a folder, making read-only entries writable first (``onexc`` from Python 3.12, ``onerror`` before)."""
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_chmod_and_retry)
    else:
        shutil.rmtree(path, onerror=_chmod_and_retry)


def write_files(course_dir: str | Path, result: GradingResult) -> Path | None:
    """Replace ``autograded/<student>/<assignment>/`` with the result's files (remove it when there are none)."""
    files = result.files
    dest = Path(course_dir) / "autograded" / result.student / result.assignment
    if not files:
        # Nothing came out of this grading (e.g. a malformed notebook): no stale copy either.
        if dest.exists():
            _remove_tree(dest)
        return None
    tmp = dest.with_name(dest.name + ".merging")
    if tmp.exists():
        _remove_tree(tmp)
    for name, data in files.items():
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if dest.exists():
        _remove_tree(dest)
    os.replace(tmp, dest)
    return dest


def _failed_cell(result: GradingResult) -> str | None:
    """The grade id of the cell a failure happened in, when it has one."""
    for event in reversed(result.events):
        m = re.search(r"\(([^()]+)\)$", event.get("cell", ""))
        if m:
            return m.group(1)
    return None


def merge_scores(db_url: str, result: GradingResult, course_id: str | None = None) -> None:
    """Write one result's scores (and reason) into the gradebook at ``db_url``."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy import exc as sa_exc

    assignment, student = result.assignment, result.student
    scores = result.scores or {"notebooks": {}}
    failed = not result.ok
    reason = result.reason
    with Gradebook(db_url, course_id) if course_id else Gradebook(db_url) as gb, warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush warnings.
        warnings.simplefilter("ignore", sa_exc.SAWarning)
        gb.update_or_create_student(student)
        kwargs: dict[str, Any] = {}
        if scores.get("timestamp"):
            kwargs["timestamp"] = dt.datetime.fromisoformat(scores["timestamp"])
        gb.update_or_create_submission(assignment, student, **kwargs)
        for nb_name, nb in scores["notebooks"].items():
            try:
                snb = gb.find_submission_notebook(nb_name, assignment, student)
            except MissingEntry:
                continue
            snb.late_submission_penalty = nb.get("late_submission_penalty")
            if failed:
                snb.flagged = True
            for grade_id, g in nb["grades"].items():
                try:
                    grade = gb.find_grade(grade_id, nb_name, assignment, student)
                except MissingEntry:
                    continue
                grade.auto_score = g["auto_score"]
                grade.needs_manual_grade = grade.manual_score is not None or g["auto_score"] is None
            comments = list(snb.comments)
            by_name = {c.name: c for c in comments}
            for name, text in nb.get("comments", {}).items():
                if name in by_name:
                    by_name[name].auto_comment = text
            for c in comments:  # a regrade replaces an old reason
                if c.auto_comment and REASON_PREFIX in c.auto_comment:
                    kept = [ln for ln in c.auto_comment.splitlines() if not ln.startswith(REASON_PREFIX)]
                    c.auto_comment = "\n".join(kept) or None
            if failed and reason and comments:
                where = _failed_cell(result)
                first = by_name.get(where) or min(comments, key=lambda c: c.name)
                note = REASON_PREFIX + reason
                first.auto_comment = f"{first.auto_comment}\n{note}" if first.auto_comment else note
        gb.db.commit()


def merge(course_dir: str | Path, db_url: str, result: GradingResult, course_id: str | None = None) -> None:
    """Merge one result: gradebook first, then the autograded files."""
    merge_scores(db_url, result, course_id)
    write_files(course_dir, result)
