"""Grading proves itself first: the course's own solution must earn full marks the same way.

Before ``cnncourse grade`` records anyone's score it grades the lab's source
notebook (its solutions, handed in through the released notebook, as a perfect
student would) through exactly the path every submission takes: the same
backend and workers, sandbox, limits, profile and environment. When that
does not earn full marks with status ``ok``, something is wrong with the
lab or with the grading machines (a hidden test that imports what students
do not have, a missing dataset or calibration record, a cell limit too
short for this machine), and grading stops before anything is recorded,
saying which cell lost points and why. ``--no-preflight`` skips it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

from autograder import course
from autograder.course import perfect_submission
from autograder.grading import spec as spec_mod
from autograder.grading.execute import NOTE
from autograder.grading.limits import Limits
from autograder.grading.result import GradingResult
from autograder.grading.spec import AssignmentSpec
from autograder.grading.task import GradingTask, read_folder

CUT_MARK = NOTE.split("{")[0]  # "[the grader cut this cell's output here: it was longer than "

SOLUTION_ID = "course-solution"  # the student id the solution is graded under (never recorded)


class PreflightFailed(RuntimeError):
    """The course's own solution did not earn full marks through the grading path."""


def solution_files(course_dir: str | Path, assignment: str, spec: AssignmentSpec) -> dict[str, bytes]:
    """What a perfect student hands in: the released files, each notebook's answers from the source."""
    course_dir = Path(course_dir)
    release = course_dir / "release" / assignment
    source = course_dir / "source" / assignment
    if not release.is_dir():
        raise PreflightFailed(f"{assignment} has no release in {release}: run `cnncourse release {assignment}` first.")
    files = read_folder(release, skip_notebooks=True)
    for nb in spec["notebooks"]:
        name = f"{nb['name']}.ipynb"
        if not (source / name).exists() or not (release / name).exists():
            raise PreflightFailed(f"{assignment}: {name} is missing from source/ or release/; release it again.")
        files[name] = nbformat.writes(perfect_submission(source / name, release / name)).encode()
    return files


def solution_task(
    course_dir: str | Path,
    assignment: str,
    spec: AssignmentSpec,
    limits: Limits,
    profile: str | None,
    sandbox: str,
    config_text: str,
    source_files: dict[str, bytes],
    seed_db: bytes,
) -> GradingTask:
    """The grading task of the course's own solution (the same settings as every student's)."""
    return GradingTask(
        assignment=assignment,
        student=SOLUTION_ID,
        files=solution_files(course_dir, assignment, spec),
        source_files=source_files,
        spec=spec,
        config_text=config_text,
        limits=limits,
        profile=profile,
        seed_db=seed_db,
        sandbox=sandbox,
    )


def _graded_cells(result: GradingResult) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every cell of the graded notebooks in ``result``, with its position (unreadable notebooks skipped)."""
    for name, data in result.files.items():
        if not name.endswith(".ipynb"):
            continue
        try:
            cells = json.loads(data)["cells"]
        except (ValueError, KeyError, TypeError):
            continue
        yield from enumerate(cells)


def _cell_errors(result: GradingResult) -> dict[str, str]:
    """``{grade_id: "what the cell printed as its error"}`` from the graded notebooks."""
    out: dict[str, str] = {}
    for _, cell in _graded_cells(result):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        texts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                texts.append(f"{o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                texts.append("stderr: " + "".join(o.get("text", "")).strip()[-300:])
        if gid and texts:
            out[gid] = "; ".join(texts)[:400]
    return out


def _cut_cells(result: GradingResult) -> list[str]:
    """Grade ids (or positions) of the cells whose output the output limit cut."""
    return [
        cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
        for i, cell in _graded_cells(result)
        if CUT_MARK in json.dumps(cell.get("outputs", []))
    ]


def verdict(result: GradingResult) -> str:
    """``""`` when the solution earned full marks with status ``ok``, its output whole; else what went wrong."""
    full = result.ok and result.score == result.max_score
    cut = _cut_cells(result)
    if full and not cut:
        return ""
    if full:
        return (
            f"the output limit cut the solution's own output at {', '.join(cut)}: raise it "
            "(--max-output) so that correct work is never cut"
        )
    lines = [
        f"status {result.status}: {result.reason or 'no reason recorded'}; "
        f"score {result.score:g} of {result.max_score:g}"
    ]
    errors = _cell_errors(result)
    for cell, (score, max_score) in result.cells.items():
        if score is None or score < (max_score or 0.0):
            shown = "-" if score is None else f"{score:g}"
            lines.append(f"  {cell}: {shown} of {max_score:g}" + (f": {errors[cell]}" if cell in errors else ""))
    return "\n".join(lines)


def _cells(spec: AssignmentSpec) -> dict[tuple[str, ...], tuple[object, ...]]:
    """``{(notebook, cell): what nbgrader recorded}`` for the cells that decide a grade."""
    out: dict[tuple[str, ...], tuple[object, ...]] = {}
    for nb in spec["notebooks"]:
        for c in nb["grade_cells"] + nb["task_cells"]:
            out[(nb["name"], c["name"])] = ("points", c["max_score"])
        for src in nb["source_cells"]:
            if src["locked"] or (nb["name"], src["name"]) in out:
                out[(nb["name"], src["name"], "source")] = ("source", src["checksum"], src["source"])
    return out


def _source_key(course_dir: Path, assignment: str) -> str:
    """A digest of everything nbgrader's release of ``assignment`` depends on: its sources, the config, nbgrader."""
    import hashlib

    import nbgrader

    h = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n{assignment}\n".encode())
    h.update((course_dir / "nbgrader_config.py").read_bytes())
    source = course_dir / "source" / assignment
    for p in sorted(source.rglob("*")):
        if p.is_file() and not {".ipynb_checkpoints", "__pycache__"} & set(p.parts):
            h.update(f"\n{p.relative_to(source)}\n".encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _cache_file(key: str) -> Path:
    """Where the cells of the release with digest ``key`` are kept (the user's cache, by content)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("cnncourse")) / "released-cells" / f"{key}.json"


def released_cells(course_dir: str | Path, assignment: str) -> dict[tuple[str, ...], tuple[object, ...]]:
    """The cells nbgrader records when it generates ``assignment`` from ``source/`` as it is now.

    nbgrader generates the lab in a scratch copy of the course (a few seconds). What it
    records depends only on the sources, the config and nbgrader's version, so it is
    kept in the user's cache under their digest: grading the same lab again, from any
    copy of the course, reads it back. A cache that cannot be read or written is skipped.
    """
    course_dir = Path(course_dir)
    cache = _cache_file(_source_key(course_dir, assignment))
    try:
        return {tuple(k): tuple(v) for k, v in json.loads(cache.read_text())}
    except (OSError, ValueError, TypeError):
        pass
    with tempfile.TemporaryDirectory() as tmp:
        scratch = course.make_course_copy(Path(tmp) / "course", [assignment], course_dir)
        db_url = f"sqlite:///{scratch / 'gradebook.db'}"
        with open(scratch / "nbgrader_config.py", "a") as f:  # never the course's own gradebook server
            f.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
        course.generate_release(scratch, assignment)
        cells = _cells(spec_mod.extract(db_url, assignment))
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps([[list(k), list(v)] for k, v in cells.items()]))
        partial.replace(cache)  # whole or not at all, when two graders write it at once
    except OSError:
        with contextlib.suppress(OSError):  # a full disk leaves no half-written file behind
            partial.unlink(missing_ok=True)
    return cells


def gradebook_problem(course_dir: str | Path, assignment: str, spec: AssignmentSpec) -> str:
    """``""`` when the gradebook holds ``assignment`` as ``source/`` has it now; else which cells differ.

    Grading reads points and hidden tests from the gradebook, which nbgrader
    writes when it generates the release: a lab edited since is graded by its
    old tests. What nbgrader records for the lab as it is now
    (:func:`released_cells`) is compared with the course's gradebook.
    """
    now, recorded = released_cells(course_dir, assignment), _cells(spec)
    changed = sorted({key[1] for key in set(now) | set(recorded) if now.get(key) != recorded.get(key)})
    if not changed:
        return ""
    return (
        f"the gradebook holds an older version of {assignment} than source/ (cells that differ: "
        f"{', '.join(changed)}), so grading would use the old points and hidden tests. Run "
        f"`cnncourse release {assignment}` (it records the lab in the gradebook), then grade again."
    )


def check(result: GradingResult, assignment: str) -> None:
    """Raise :class:`PreflightFailed` unless ``result`` (the solution's) earned full marks."""
    problem = verdict(result)
    if problem:
        raise PreflightFailed(
            f"the course's own solution of {assignment} does not earn full marks through this grading path, so "
            f"no submission was graded:\n{problem}\nFix the lab or the grading environment, or pass "
            "--no-preflight if you know why and want to grade anyway."
        )
