"""The course pipeline: source -> release -> submissions -> grades, with nbgrader.

These functions drive nbgrader's own commands (``generate_assignment``,
``autograde``, ``validate``) in a course directory, so what they check is
exactly what an instructor gets. They are used by ``cnncourse release``, by
``cnncourse demo`` and by the test harness that grades every lab.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

NB_VERSION = 4
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


class CourseError(RuntimeError):
    """Something in the course directory is not as nbgrader needs it."""


def course_root(path: str | Path | None = None) -> Path:
    """The course directory, found as nbgrader finds it.

    Args:
        path: the directory given with ``--course-dir``; ``None`` for the current one.

    Returns:
        The directory, resolved.

    Raises:
        CourseError: it has no ``nbgrader_config.py``.
    """
    root = Path(path).expanduser() if path is not None else Path.cwd()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(
            f"{root.resolve()} is not a course directory (it has no nbgrader_config.py): "
            "run this in the course directory, or pass --course-dir DIR."
        )
    return root.resolve()


def list_labs(root=None):
    """Assignment ids that have a source notebook, sorted."""
    root = course_root(root)
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb") if p.stem == p.parent.name)


def _nbgrader(args, cwd, env=None, timeout=None):
    """Run one nbgrader command; return the CompletedProcess (never raises on failure)."""
    full_env = dict(os.environ if env is None else env)
    # `nbgrader db upgrade` runs `alembic` from PATH: make this interpreter's scripts come first.
    scripts = os.path.dirname(sys.executable)
    full_env["PATH"] = scripts + os.pathsep + full_env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "autograder.run_nbgrader", *args],
        cwd=str(cwd),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_course_copy(dest: str | Path, labs: Iterable[str], root: str | Path | None = None) -> Path:
    """Copy the config and the given labs' sources into a fresh course directory ``dest``."""
    root = course_root(root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for lab in labs:
        src = root / "source" / lab
        if not src.exists():
            raise CourseError(f"No source for {lab!r}: expected {src}/{lab}.ipynb.")
        shutil.copytree(
            src,
            dest / "source" / lab,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    return dest


def generate_release(course_dir: str | Path, lab: str, into: str | Path | None = None) -> Path:
    """Run ``nbgrader generate_assignment`` for one lab in ``course_dir``; return its release folder.

    nbgrader also records the lab (its cells, points and hidden tests) in the
    course's gradebook, which is what grading reads. ``into`` is the folder the
    release is written under (default: the course's ``release/``).
    """
    args = ["generate_assignment", lab, "--force"]
    if into is not None:
        args.append(f"--CourseDirectory.release_directory={into}")
    proc = _nbgrader(args, cwd=course_dir)
    out = Path(into if into is not None else Path(course_dir) / "release") / lab
    if proc.returncode != 0 or not (out / f"{lab}.ipynb").exists():
        raise CourseError(f"nbgrader could not generate the release of {lab}:\n{proc.stdout}\n{proc.stderr}")
    return out


def normalised_notebook(path):
    """A notebook's JSON with the fields that carry no content removed (for comparing releases)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        cell.pop("execution_count", None)
        cell.get("metadata", {}).pop("execution", None)
    return nb


def _folder_digest(folder):
    result = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts:
            rel = str(p.relative_to(folder))
            result[rel] = normalised_notebook(p) if p.suffix == ".ipynb" else p.read_bytes()
    return result


@dataclass
class ReleaseResult:
    lab: str
    changed: bool
    detail: str = ""


def release(labs=None, check=False, root=None, workdir=None):
    """Regenerate ``release/`` from ``source/`` with nbgrader, and record each lab in the gradebook.

    nbgrader generates each lab in the course itself, so the course's gradebook
    holds the lab as ``source/`` has it now (grading reads its points and hidden
    tests from there); ``release/<lab>`` is rewritten only when its content
    changed. With ``check=True`` nothing is written (nbgrader runs in a copy of
    the course): the result says, per lab, whether the committed release
    differs from what nbgrader generates now.
    """
    root = course_root(root)
    labs = list(labs) if labs else list_labs(root)
    unknown = [lab for lab in labs if not (root / "source" / lab / f"{lab}.ipynb").exists()]
    if unknown:
        raise CourseError(
            f"No source notebook for {', '.join(unknown)}. Known labs: {', '.join(list_labs(root)) or '(none)'}."
        )
    results = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        course = make_course_copy(Path(tmp) / "course", labs, root) if check else root
        for lab in labs:
            generated = generate_release(course, lab, into=Path(tmp) / "release")
            committed = root / "release" / lab
            same = committed.exists() and _folder_digest(generated) == _folder_digest(committed)
            detail = "" if same else ("missing" if not committed.exists() else "differs from source")
            if not check and not same:
                if committed.exists():
                    shutil.rmtree(committed)
                shutil.copytree(generated, committed)
            results.append(ReleaseResult(lab, not same, detail))
    return results


# --------------------------------------------------------------------------
# Submissions made from the source: what a perfect or a blank student hands in
# --------------------------------------------------------------------------
def strip_solution_markers(text):
    """Remove the ``### BEGIN/END SOLUTION`` lines, keeping the code between them."""
    return "\n".join(line for line in text.splitlines() if line.strip() not in SOLUTION_MARKERS)


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def perfect_submission(source_nb: str | Path, release_nb: str | Path) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled in from the source's solution."""
    source = nbformat.read(str(source_nb), as_version=NB_VERSION)
    released = nbformat.read(str(release_nb), as_version=NB_VERSION)
    answers = {
        _grade_id(c): c.source for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    out = copy.deepcopy(released)
    for cell in out.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and _grade_id(cell) in answers:
            cell.source = strip_solution_markers(answers[_grade_id(cell)])
    return out


def blank_submission(release_nb: str | Path) -> nbformat.NotebookNode:
    """The released notebook handed in unchanged."""
    return nbformat.read(str(release_nb), as_version=NB_VERSION)


def write_submission(
    course_dir: str | Path, lab: str, student: str, notebook: nbformat.NotebookNode | bytes | str
) -> Path:
    """Place a notebook (a NotebookNode, or raw bytes/str for broken files) as a student's submission."""
    folder = Path(course_dir) / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{lab}.ipynb"
    if isinstance(notebook, (bytes, str)):
        target.write_bytes(notebook.encode() if isinstance(notebook, str) else notebook)
    else:
        nbformat.write(notebook, str(target))
    return target


# --------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------
@dataclass
class StudentGrade:
    student: str
    score: float | None
    max_score: float
    cells: dict = field(default_factory=dict)  # grade_id -> (score, max_score)
    reason: str = ""

    @property
    def percent(self):
        return None if self.score is None or not self.max_score else 100.0 * self.score / self.max_score


def autograde(course_dir, lab, students=None, timeout=None, env=None):
    """Run ``nbgrader autograde`` for ``lab`` and return ``{student: StudentGrade}``.

    ``students`` limits grading to those ids (default: everyone submitted).
    """
    args = ["autograde", lab, "--force"]
    if students:
        args.append("--CourseDirectory.student_id=" + (students[0] if len(students) == 1 else "*"))
    proc = _nbgrader(args, cwd=course_dir, env=env, timeout=timeout)
    grades = read_grades(course_dir, lab)
    for sid, g in grades.items():
        if g.score is None:
            g.reason = _reason_from_log(proc.stdout + proc.stderr, sid)
    if students:
        grades = {
            s: grades.get(s, StudentGrade(s, None, 0.0, reason=_reason_from_log(proc.stdout + proc.stderr, s)))
            for s in students
        }
    return grades


def _reason_from_log(log, student):
    lines = [ln for ln in log.splitlines() if student in ln and ("ERROR" in ln or "error" in ln)]
    return lines[-1].strip() if lines else "not graded (see nbgrader's log)"


def read_grades(course_dir, lab):
    """Scores per student and per graded cell, from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    db = Path(course_dir) / "gradebook.db"
    result = {}
    if not db.exists():
        return result
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            return result
        max_score = float(assignment.max_score)
        for sub in assignment.submissions:
            cells = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = (float(grade.score), float(grade.max_score))
            # A submission with no graded notebook has no score (None), not zero.
            score = float(sub.score) if sub.notebooks else None
            result[sub.student_id] = StudentGrade(sub.student_id, score, max_score, cells)
    return result


def validate(course_dir, notebook):
    """Run ``nbgrader validate`` on a notebook; return (passed, output)."""
    proc = _nbgrader(["validate", str(notebook)], cwd=course_dir)
    text = proc.stdout + proc.stderr
    ok = proc.returncode == 0 and "Success! Your notebook passes all the tests." in text
    return ok, text


def grade_table(grades):
    """A plain-text table of ``{student: StudentGrade}`` for printing."""
    from autograder.table import text_table

    rows = []
    for sid in sorted(grades):
        g = grades[sid]
        pct = "" if g.percent is None else f"{g.percent:5.1f}"
        score = "-" if g.score is None else f"{g.score:g}"
        rows.append((sid, score, f"{g.max_score:g}", pct, g.reason))
    return text_table(("student", "score", "max", "%", "note"), rows)
