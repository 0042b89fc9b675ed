"""Export the gradebook as a learning-management system imports it (Canvas, Moodle or plain CSV).

Run in the course directory after ``cnncourse grade``::

    cnncourse export lab1-convolution lab2-arithmetic --to canvas --roster roster.csv --output canvas.csv
    cnncourse export --all --to moodle --roster roster.csv --output moodle.csv

Scores come from nbgrader's gradebook: each submission's score, where a
grader's manual score wins over the autograder's (as in nbgrader), less the
late penalty nbgrader recorded on it (``late_submission_penalty``; never
below zero, as ``nbgrader export`` does; ``--no-late-penalty`` exports the
scores before the penalty).

The roster
----------

A CSV file with a header row, which the instructor exports from the LMS. It
maps nbgrader's student ids (the JupyterHub user names) to the LMS's
identities. Header names are matched without regard to case or to spaces at
either end; other columns are ignored. It needs:

* the **match column**, nbgrader's student id: ``student_id`` by default,
  another one with ``--match COLUMN`` (``--match "SIS Login ID"`` when the
  hub's user names are the university logins Canvas knows);
* for ``--to canvas``: ``Student``, ``ID``, ``SIS User ID``,
  ``SIS Login ID`` and ``Section``, the first five columns of Canvas's own
  gradebook export (Grades, Export): export the gradebook from Canvas and use
  that file, with a ``student_id`` column added (or ``--match``). A column of
  that export named like a lab with Canvas's assignment id
  (``lab1-convolution (12345)``) gives the lab's column its id;
* for ``--to moodle``: ``email`` (or ``Email address``, as Moodle's own
  exports name it) for ``--moodle-id email``, ``idnumber`` (or ``ID number``)
  for ``--moodle-id idnumber``;
* for ``--to csv``: the column ``--lms-id`` names (``email`` by default).

Canvas's ``Points Possible`` row is skipped; other rows without a student id
(Canvas's test student) are left out, and counted in the summary.

The files
---------

* ``canvas``: Canvas's gradebook import: ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per lab, and
  a ``Points Possible`` row under the header as Canvas's own export has it
  (``--no-points-possible`` leaves it out). A lab's column is named
  ``<lab> (<Canvas assignment id>)`` when the id is known (``--canvas-id
  LAB=ID``, or from the roster), so Canvas updates that assignment; without an
  id it is named after the lab, and Canvas matches an assignment of that name
  or creates one (with the points of the ``Points Possible`` row).
* ``moodle``: Moodle's grade import (CSV file): the identifier column
  (``email`` or ``idnumber``), then one column per lab named after it. In
  Moodle's import page, map that column to "Email address" or "ID number" and
  each lab's column to its grade item.
* ``csv``: ``student_id``, ``lms_id``, one column per lab, ``total``; students
  missing from the roster are kept here, with an empty ``lms_id``.

A roster student with no submission gets an empty cell (the LMS leaves the
grade as it was), not a zero, unless ``--missing-as-zero``. Whatever cannot
be exported as it stands is reported on stderr, in a short summary: students
in the gradebook but not in the roster, roster students without a
submission, late penalties, submissions that still need manual grading, and,
with ``--all``, labs in ``source/`` the gradebook does not have yet.

The file is written to a temporary file beside ``--output`` and renamed:
a failed export leaves nothing half-written (and an earlier file as it was).
Exit status: 0 when the file was written, 2 when the input is wrong (no
gradebook, a lab it does not have, a roster that cannot be read or lacks a
column, no folder for the output), with a one-line message saying how to fix it.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("canvas", "moodle", "csv")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""The columns Canvas's gradebook import reads a student's identity from, in the order it exports them."""
CANVAS_POINTS_POSSIBLE = "    Points Possible"
"""The first cell of the row under the header that holds each assignment's points (as Canvas's export writes it)."""
CANVAS_IDS = ("ID", "SIS User ID", "SIS Login ID")
MOODLE_IDS = {"email": ("email", "email address"), "idnumber": ("idnumber", "id number")}
"""``--moodle-id`` choice -> the roster headers accepted for it (compared in lower case)."""
CSV_COLUMNS = ("student_id", "lms_id")
SHOWN = 8
"""At most this many names per line of the summary; the rest are counted."""

USAGE = (
    "%(prog)s (LAB [LAB ...] | --all) --to {canvas,moodle,csv} --roster FILE --output FILE\n"
    "       [--course-dir DIR] [--match COLUMN] [--moodle-id {email,idnumber}] [--lms-id COLUMN]\n"
    "       [--canvas-id LAB=ID ...] [--missing-as-zero] [--no-late-penalty] [--no-points-possible]"
)
ROSTER_HELP = """\
roster (--roster FILE): a CSV file with a header row, exported from the LMS. Columns
(case and surrounding spaces do not matter; others are ignored):
  student_id        nbgrader's student id (the JupyterHub user name); another column with --match
  canvas:           Student, ID, SIS User ID, SIS Login ID, Section (Canvas's own gradebook
                    export has them: export it and add a student_id column, or use --match)
  moodle:           email (or "Email address"), or idnumber (or "ID number") with --moodle-id idnumber
  csv:              the column --lms-id names (default: email)

Scores: the gradebook's (a manual score wins over the autograder's), less nbgrader's late
penalty. Roster students without a submission get an empty cell unless --missing-as-zero.
Students missing from the roster, missing submissions, late penalties and unreleased labs
are reported on stderr. Exit status 2 on bad input, with nothing written."""


class ExportError(Exception):
    """The input cannot be exported; the message names the problem and the fix (one line)."""


# --------------------------------------------------------------------------
# The roster
# --------------------------------------------------------------------------
def _key(name):
    return (name or "").strip().lower()


@dataclass
class Roster:
    """The roster's students, in the file's order.

    Attributes:
        path: the file it was read from.
        header: its column names, as written.
        rows: ``{student id: {lower-case column name: value}}``, in the file's order.
        skipped: file row numbers (the header is row 1) that had no student id.
    """

    path: Path
    header: list[str]
    rows: dict[str, dict[str, str]]
    skipped: list[int] = field(default_factory=list)

    def column(self, *names):
        """The first of ``names`` (lower case) the roster has, else ``None``."""
        have = {_key(h) for h in self.header}
        return next((n for n in names if n in have), None)

    def require(self, name, why, fix):
        """Raise :class:`ExportError` unless the roster has the column ``name``.

        Args:
            name: the column's name (any case).
            why: what needs it, e.g. ``"--to canvas"``.
            fix: how to add it.
        """
        if self.column(_key(name)) is None:
            raise ExportError(
                f"the roster {self.path} has no column {name!r} (needed for {why}): {fix}. "
                f"Its columns: {', '.join(self.header) or 'none'}."
            )


def read_roster(path, match="student_id"):
    """Read a roster (see the module's docstring for its columns).

    Args:
        path: the CSV file.
        match: the column that holds nbgrader's student ids.

    Returns:
        A :class:`Roster`.

    Raises:
        ExportError: the file cannot be read, has no header, lacks the match
            column, or lists a student twice.

    Example:
        >>> roster = read_roster("roster.csv", match="SIS Login ID")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            records = list(csv.reader(f))
    except FileNotFoundError:
        raise ExportError(f"no roster at {path}: export the class list from the LMS and pass --roster FILE.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(
            f"cannot read the roster {path} ({type(exc).__name__}: {exc}): save it as CSV in UTF-8 and try again."
        ) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ExportError(f"the roster {path} is empty: it needs a header row, then one row per student.")
    header = [h.strip() for h in records[0]]
    roster = Roster(path, header, {})
    roster.require(
        match,
        "matching the roster to nbgrader's student ids",
        "add a column with each student's nbgrader id (their JupyterHub user name), "
        "or name the column that holds it with --match COLUMN",
    )
    keys = [_key(h) for h in header]
    match_key = _key(match)
    first_row = {}
    for number, record in enumerate(records[1:], start=2):
        row = {k: (record[i].strip() if i < len(record) else "") for i, k in enumerate(keys) if k}
        student = row.get(match_key, "")
        if record and record[0].strip() == CANVAS_POINTS_POSSIBLE.strip():
            continue  # Canvas's export: each assignment's points, no student
        if not student:
            if any(cell.strip() for cell in record):
                roster.skipped.append(number)
            continue
        if student in roster.rows:
            raise ExportError(
                f"the roster {path} lists the student {student!r} twice (rows {first_row[student]} and {number}): "
                "keep one row per student."
            )
        roster.rows[student] = row
        first_row[student] = number
    return roster


# --------------------------------------------------------------------------
# The gradebook
# --------------------------------------------------------------------------
@dataclass
class LabScores:
    """One lab's scores from the gradebook.

    Attributes:
        name: the assignment id.
        max_score: its points.
        scores: ``{student: score}`` of every submission, after the late penalty
            unless it was asked to be left off.
        penalties: ``{student: (score before, penalty)}`` where nbgrader recorded a penalty.
        needs_manual: students whose submission still has cells to grade by hand.
    """

    name: str
    max_score: float
    scores: dict[str, float] = field(default_factory=dict)
    penalties: dict[str, tuple[float, float]] = field(default_factory=dict)
    needs_manual: list[str] = field(default_factory=list)


def _natural(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def collect(course_dir, labs=None, late_penalty=True):
    """Read the labs' scores from the course's gradebook.

    Args:
        course_dir: the course directory.
        labs: assignment ids, in the order wanted; ``None`` for every one in the gradebook.
        late_penalty: take nbgrader's late penalty off each score (as ``nbgrader export`` does).

    Returns:
        A list of :class:`LabScores`, one per lab.

    Raises:
        ExportError: the course has no gradebook, or the gradebook lacks one of ``labs``.
    """
    from nbgrader.api import Gradebook

    from autograder.grading import config as config_mod

    try:
        db_url, course_id = config_mod.existing_gradebook(course_dir)
    except config_mod.NoGradebook as exc:
        raise ExportError(str(exc)) from None
    result = []
    with Gradebook(db_url, course_id) as gb:
        known = {a.name: a for a in gb.assignments}
        if labs is None:
            labs = sorted(known, key=_natural)
        missing = [lab for lab in labs if lab not in known]
        if missing:
            have = ", ".join(sorted(known, key=_natural)) or "none"
            raise ExportError(
                f"the gradebook has no lab {', '.join(map(repr, missing))} (it has: {have}): "
                "check the name, or run `cnncourse release LAB` and `cnncourse grade LAB` first."
            )
        for lab in labs:
            a = known[lab]
            out = LabScores(lab, float(a.max_score))
            for sub in a.submissions:
                raw = float(sub.score)
                penalty = float(sub.late_submission_penalty or 0.0)
                if penalty > 0:
                    out.penalties[sub.student_id] = (raw, penalty)
                out.scores[sub.student_id] = max(0.0, raw - penalty) if late_penalty else raw
                if sub.needs_manual_grade:
                    out.needs_manual.append(sub.student_id)
            out.needs_manual.sort()
            result.append(out)
    return result


# --------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------
def points(value):
    """A score as the file writes it: up to four decimals, no trailing zeros; ``""`` for none.

    Example:
        >>> points(6.0), points(2.5), points(1 / 3), points(None)
        ('6', '2.5', '0.3333', '')
    """
    if value is None:
        return ""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_canvas_ids(pairs):
    """``{lab: Canvas assignment id}`` from ``--canvas-id LAB=ID`` values.

    Raises:
        ExportError: a value is not ``LAB=ID`` with a numeric id.
    """
    ids = {}
    for pair in pairs or ():
        lab, sep, number = pair.partition("=")
        if not sep or not lab.strip() or not number.strip().isdigit():
            raise ExportError(
                f"--canvas-id {pair!r} is not LAB=ID: give the lab and Canvas's numeric assignment id, "
                "e.g. --canvas-id lab1-convolution=12345 (the number in the assignment's address)."
            )
        ids[lab.strip()] = number.strip()
    return ids


def canvas_headers(labs, roster, ids):
    """The header of each lab's column in a Canvas import: ``lab (id)`` when the id is known, else ``lab``.

    Args:
        labs: the assignment ids.
        roster: a :class:`Roster`; a column of it named ``<lab> (<digits>)`` gives the lab's id.
        ids: ``{lab: id}`` given on the command line; they win over the roster's.

    Returns:
        ``{lab: header}``.
    """
    found = {}
    for h in roster.header:
        m = re.fullmatch(r"(.*\S)\s*\((\d+)\)", h.strip())
        if m:
            found[_key(m.group(1))] = m.group(2)
    headers = {}
    for lab in labs:
        number = ids.get(lab) or found.get(_key(lab))
        headers[lab] = f"{lab} ({number})" if number else lab
    return headers


@dataclass
class Summary:
    """What an export wrote, and what it could not write as it stands (reported on stderr).

    Attributes:
        output: the file written (``None`` until it is).
        to: the format.
        labs: the labs exported.
        rows: students written.
        not_in_roster: ``{student: [labs]}`` with a submission but no row in the roster.
        no_submission: ``{student: [labs]}`` in the roster with no submission.
        no_identity: roster students left out because the LMS identity column is empty for them.
        penalties: ``(student, lab, score before, penalty, score written)`` per late penalty.
        needs_manual: ``(student, lab)`` whose submission still needs manual grading.
        roster_skipped: roster row numbers that had no student id.
        unreleased: labs in ``source/`` the gradebook does not have (with ``--all``).
        missing_as_zero: roster students without a submission were written as 0.
        late_penalty: penalties were taken off the scores.
    """

    output: Path | None
    to: str
    labs: list[str]
    rows: int = 0
    not_in_roster: dict[str, list[str]] = field(default_factory=dict)
    no_submission: dict[str, list[str]] = field(default_factory=dict)
    no_identity: list[str] = field(default_factory=list)
    penalties: list[tuple[str, str, float, float, float]] = field(default_factory=list)
    needs_manual: list[tuple[str, str]] = field(default_factory=list)
    roster_skipped: list[int] = field(default_factory=list)
    unreleased: list[str] = field(default_factory=list)
    missing_as_zero: bool = False
    late_penalty: bool = True

    def lines(self):
        """The stderr report: one line per kind of problem, none when there is none."""

        def names(items):
            items = list(items)
            shown = ", ".join(items[:SHOWN])
            return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")

        def per_student(d):
            return names(f"{s} ({', '.join(labs)})" for s, labs in d.items())

        out = []
        if self.not_in_roster:
            kept = "kept with an empty lms_id" if self.to == "csv" else "left out"
            out.append(
                f"not in the roster ({kept}): {len(self.not_in_roster)} student(s): {per_student(self.not_in_roster)}"
            )
        if self.no_submission:
            how = "written as 0" if self.missing_as_zero else "left empty"
            out.append(
                f"no submission ({how}): {len(self.no_submission)} student(s): {per_student(self.no_submission)}"
            )
        if self.no_identity:
            out.append(
                f"no LMS identity in the roster (left out): {len(self.no_identity)} student(s): {names(self.no_identity)}"
            )
        if self.penalties:
            verb = "taken off" if self.late_penalty else "not taken off (--no-late-penalty)"
            out.append(
                f"late penalties {verb}: {len(self.penalties)}: "
                + names(
                    f"{s} {lab} {points(raw)} - {points(p)} = {points(done)}" for s, lab, raw, p, done in self.penalties
                )
            )
        if self.needs_manual:
            out.append(
                f"still to grade by hand (auto scores exported): {len(self.needs_manual)}: "
                + names(f"{s} {lab}" for s, lab in self.needs_manual)
            )
        if self.roster_skipped:
            out.append(f"roster rows without a student id (left out): row(s) {names(map(str, self.roster_skipped))}")
        if self.unreleased:
            out.append(f"labs not in the gradebook yet (left out): {names(self.unreleased)}")
        return out


def _identity(to, roster, moodle_id, lms_id):
    """The roster columns (lower case) a format copies for each student; raises :class:`ExportError` where one is missing."""
    if to == "canvas":
        for name in CANVAS_COLUMNS:
            roster.require(
                name,
                "--to canvas: Canvas's import reads Student, ID, SIS User ID, SIS Login ID and Section",
                "use Canvas's own gradebook export (Grades, Export) as the roster, with a student_id column added "
                "(or --match COLUMN)",
            )
        return [_key(n) for n in CANVAS_COLUMNS]
    if to == "moodle":
        aliases = MOODLE_IDS[moodle_id]
        column = roster.column(*aliases)
        if column is None:
            other = "idnumber" if moodle_id == "email" else "email"
            raise ExportError(
                f"the roster {roster.path} has no column {aliases[0]!r} (or {aliases[1]!r}), needed for "
                f"--to moodle --moodle-id {moodle_id}: add it (Moodle's own grade export has it), "
                f"or choose --moodle-id {other}. Its columns: {', '.join(roster.header)}."
            )
        return [column]
    roster.require(lms_id, "--to csv (the lms_id column)", "add it, or name another column with --lms-id COLUMN")
    return [_key(lms_id)]


def build_table(
    to, labs, roster, *, moodle_id="email", lms_id="email", canvas_ids=None, missing_as_zero=False, points_possible=True
):
    """The rows of the export file, and the :class:`Summary` of what could not be written as it stands.

    Args:
        to: ``"canvas"``, ``"moodle"`` or ``"csv"``.
        labs: :class:`LabScores` per lab, in column order.
        roster: the :class:`Roster`.
        moodle_id: ``"email"`` or ``"idnumber"`` (Moodle).
        lms_id: the roster column written as ``lms_id`` (csv).
        canvas_ids: ``{lab: Canvas assignment id}`` (Canvas).
        missing_as_zero: write 0, not an empty cell, for a roster student without a submission.
        points_possible: write Canvas's ``Points Possible`` row.

    Returns:
        ``(rows, summary)``: the rows, header first; the summary's ``output`` is unset (``None``).
    """
    summary = Summary(None, to, [lab.name for lab in labs], missing_as_zero=missing_as_zero)
    id_keys = _identity(to, roster, moodle_id, lms_id)
    # Canvas finds a student by one of its ids, Moodle by the one column; the plain CSV needs none.
    needed = {_key(n) for n in CANVAS_IDS} if to == "canvas" else set(id_keys) if to == "moodle" else set()
    names = [lab.name for lab in labs]
    if to == "canvas":
        headers = canvas_headers(names, roster, canvas_ids or {})
        rows = [list(CANVAS_COLUMNS) + [headers[n] for n in names]]
        if points_possible:
            rows.append(
                [CANVAS_POINTS_POSSIBLE] + [""] * (len(CANVAS_COLUMNS) - 1) + [points(lab.max_score) for lab in labs]
            )
    elif to == "moodle":
        rows = [[moodle_id] + names]
    else:
        rows = [list(CSV_COLUMNS) + names + ["total"]]

    def cells(student):
        values = []
        for lab in labs:
            score = lab.scores.get(student)
            if score is None:
                summary.no_submission.setdefault(student, []).append(lab.name)
                if summary.missing_as_zero:
                    score = 0.0
            values.append(score)
        return values

    def total(values):
        present = [v for v in values if v is not None]
        return points(sum(present)) if present else ""

    for student, row in roster.rows.items():
        identity = [row.get(k, "") for k in id_keys]
        if needed and not any(row.get(k) for k in needed):
            summary.no_identity.append(student)
            continue
        values = cells(student)
        if to == "csv":
            rows.append([student, identity[0]] + [points(v) for v in values] + [total(values)])
        else:
            rows.append(identity + [points(v) for v in values])
        summary.rows += 1
    graded = sorted({s for lab in labs for s in lab.scores if s not in roster.rows})
    for student in graded:
        summary.not_in_roster[student] = [lab.name for lab in labs if student in lab.scores]
        if to == "csv":
            values = [labs[i].scores.get(student) for i in range(len(labs))]
            rows.append([student, ""] + [points(v) for v in values] + [total(values)])
            summary.rows += 1
    for lab in labs:
        for student, (raw, penalty) in sorted(lab.penalties.items()):
            summary.penalties.append((student, lab.name, raw, penalty, lab.scores[student]))
        summary.needs_manual += [(s, lab.name) for s in lab.needs_manual]
    summary.roster_skipped = list(roster.skipped)
    return rows, summary


def _mode_for(path):
    """The permission bits of the file at ``path``, else those a new file gets under the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path, rows):
    """Write ``rows`` as CSV to ``path``: to a temporary file beside it, then renamed over it.

    The file gets the permissions a plain ``open`` would give it (the user's
    umask), or keeps those of the file it replaces.

    Raises:
        ExportError: the folder does not exist or cannot be written.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"no folder {folder} for the output {path.name}: create it, or choose another --output.")
    if path.is_dir():
        raise ExportError(f"--output {path} is a folder: name a file, e.g. {path / 'grades.csv'}.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write in {folder} ({exc.strerror}): choose another --output.") from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
            os.fchmod(f.fileno(), _mode_for(path))  # mkstemp's file is private to its owner
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def export(
    course_dir,
    labs,
    to,
    roster,
    output,
    *,
    match="student_id",
    moodle_id="email",
    lms_id="email",
    canvas_ids=None,
    missing_as_zero=False,
    late_penalty=True,
    points_possible=True,
):
    """Export the labs' scores for an LMS; nothing is written unless all the input is right.

    Args:
        course_dir: the course directory (``None``: the current one).
        labs: assignment ids; ``None`` for every lab in the gradebook.
        to: ``"canvas"``, ``"moodle"`` or ``"csv"``.
        roster: the roster file (see the module's docstring).
        output: the file to write.
        match: the roster column holding nbgrader's student ids.
        moodle_id: Moodle's identifier column, ``"email"`` or ``"idnumber"``.
        lms_id: the roster column written as ``lms_id`` (csv).
        canvas_ids: ``{lab: Canvas assignment id}``.
        missing_as_zero: write 0, not an empty cell, for a roster student without a submission.
        late_penalty: take nbgrader's late penalties off the scores.
        points_possible: write Canvas's ``Points Possible`` row.

    Returns:
        The :class:`Summary`.

    Raises:
        ExportError: bad input (the message says how to fix it).
        autograder.course.CourseError: ``course_dir`` is not a course directory.

    Example:
        >>> summary = export(".", ["lab1-convolution"], "csv", "roster.csv", "grades.csv")  # doctest: +SKIP
        >>> print("\\n".join(summary.lines()))  # doctest: +SKIP
    """
    from autograder.course import course_root, list_labs

    if to not in FORMATS:
        raise ExportError(f"unknown format {to!r}: choose one of {', '.join(FORMATS)}.")
    root = course_root(course_dir)
    output = Path(output)
    if not output.parent.is_dir():  # checked first: no reading of a large gradebook for nothing
        raise ExportError(
            f"no folder {output.parent} for the output {output.name}: create it, or choose another --output."
        )
    table = read_roster(roster, match)
    scores = collect(root, labs, late_penalty=late_penalty)
    ids = dict(canvas_ids or {})
    stray = sorted(set(ids) - {lab.name for lab in scores})
    if stray:
        raise ExportError(f"--canvas-id names a lab that is not exported: {', '.join(stray)}: check its name.")
    rows, summary = build_table(
        to,
        scores,
        table,
        moodle_id=moodle_id,
        lms_id=lms_id,
        canvas_ids=ids,
        missing_as_zero=missing_as_zero,
        points_possible=points_possible,
    )
    summary.late_penalty = late_penalty
    if labs is None:
        have = {lab.name for lab in scores}
        summary.unreleased = [lab for lab in list_labs(root) if lab not in have]
    summary.output = write_atomic(output, rows)
    return summary


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------
def add_arguments(parser):
    """Add the command's arguments to ``parser`` (its usage, and the roster's columns after the options)."""
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.usage = USAGE
    parser.epilog = ROSTER_HELP
    parser.add_argument("labs", nargs="*", metavar="LAB", help="assignment ids to export, e.g. lab1-convolution")
    parser.add_argument("--all", action="store_true", help="export every lab in the gradebook")
    parser.add_argument("--to", required=True, choices=FORMATS, help="the LMS's import format")
    parser.add_argument(
        "--roster", required=True, metavar="FILE", help="CSV from the LMS mapping nbgrader ids to LMS ids (below)"
    )
    parser.add_argument("--output", required=True, metavar="FILE", help="the file to write (its folder must exist)")
    parser.add_argument("--course-dir", default=None, metavar="DIR", help="course directory (default: the current one)")
    parser.add_argument(
        "--match",
        default="student_id",
        metavar="COLUMN",
        help="roster column holding nbgrader's student ids (default: student_id)",
    )
    parser.add_argument(
        "--moodle-id",
        default="email",
        choices=tuple(MOODLE_IDS),
        help="moodle: identify students by email or idnumber (default: email)",
    )
    parser.add_argument(
        "--lms-id", default="email", metavar="COLUMN", help="csv: roster column written as lms_id (default: email)"
    )
    parser.add_argument(
        "--canvas-id",
        action="append",
        default=[],
        metavar="LAB=ID",
        help="canvas: the lab's Canvas assignment id; its column becomes 'LAB (ID)' (repeatable)",
    )
    parser.add_argument(
        "--missing-as-zero", action="store_true", help="write 0, not an empty cell, where a submission is missing"
    )
    parser.add_argument("--no-late-penalty", action="store_true", help="export scores before nbgrader's late penalties")
    parser.add_argument("--no-points-possible", action="store_true", help="canvas: leave out the Points Possible row")


def run(args):
    """Run the export the parsed ``args`` ask for; print what was written, and the summary on stderr.

    Returns:
        0 when the file was written, 2 on bad input (nothing written).
    """
    from autograder.course import CourseError

    if bool(args.labs) == bool(args.all):
        print(
            "error: name the labs to export (cnncourse export LAB [LAB ...]) or pass --all, not both or neither.",
            file=sys.stderr,
        )
        return 2
    try:
        summary = export(
            args.course_dir,
            None if args.all else list(dict.fromkeys(args.labs)),
            args.to,
            args.roster,
            args.output,
            match=args.match,
            moodle_id=args.moodle_id,
            lms_id=args.lms_id,
            canvas_ids=parse_canvas_ids(args.canvas_id),
            missing_as_zero=args.missing_as_zero,
            late_penalty=not args.no_late_penalty,
            points_possible=not args.no_points_possible,
        )
    except (ExportError, CourseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary.to}: {summary.rows} student(s) x {len(summary.labs)} lab(s) written to {summary.output}")
    for line in summary.lines():
        print(f"  {line}", file=sys.stderr)
    return 0


def main(argv=None):
    """Run ``cnncourse export`` with these arguments (what the ``cnncourse`` command does for it).

    Args:
        argv: the arguments after ``export``.

    Returns:
        The exit status.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="cnncourse export", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
