"""What a grading run knows between runs: results, staged results and a lock.

nbgrader's gradebook has scores but no place for *why* a submission lost
them, nor for how long it took. The results file keeps, per student, the
status (``ok``, ``flagged``, ``timeout``, ``kernel_died``, ``out_of_memory``, ``too_many_processes``,
``malformed``, ``error``), the reason, the per-cell scores, the grading
time and a checksum of the graded submission::

    autograded/<assignment>.results.json

It is written atomically after each submission is merged into the
gradebook, so ``cnncourse grade --resume`` after a crash of the grader
knows what is done (a student counts as done when the checksum of the
submission still matches and the gradebook has the submission).

Staged results (``autograded/.grading/<assignment>/staged/<student>.json``)
are what the one-student command writes (e.g. the tasks of a Slurm job
array); the next ``cnncourse grade`` merges them. A lock file makes sure
only one grader writes to a course's gradebook at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from autograder.grading.result import GradingResult


def grading_dir(course_dir: str | Path, assignment: str | None = None) -> Path:
    base = Path(course_dir) / "autograded" / ".grading"
    return base / assignment if assignment else base


def results_path(course_dir: str | Path, assignment: str) -> Path:
    return Path(course_dir) / "autograded" / f"{assignment}.results.json"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class ResultsFile:
    """``autograded/<assignment>.results.json``: status, reason and scores per student."""

    def __init__(self, course_dir: str | Path, assignment: str) -> None:
        self.assignment = assignment
        self.path = results_path(course_dir, assignment)
        self.data: dict[str, Any] = {"assignment": assignment, "students": {}}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text())
            except ValueError:
                pass  # a broken file is rebuilt: the gradebook still has the scores
        self.data.setdefault("students", {})

    @property
    def students(self) -> dict[str, dict[str, Any]]:
        """``{student: their entry}``, each entry :meth:`GradingResult.to_summary` and ``graded_at``."""
        students: dict[str, dict[str, Any]] = self.data["students"]
        return students

    def record(self, result: GradingResult) -> None:
        """Keep ``result``'s summary (:meth:`GradingResult.to_summary`) and save the file."""
        entry = result.to_summary()
        entry["graded_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.students[result.student] = entry
        self.data["updated"] = entry["graded_at"]
        self.save()

    def save(self) -> None:
        _atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True))


def stage(course_dir: str | Path, result: GradingResult) -> Path:
    """Write a result for a later merge; return its path."""
    path = grading_dir(course_dir, result.assignment) / "staged" / f"{result.student}.json"
    _atomic_write(path, json.dumps(result.to_json()))
    return path


def staged(course_dir: str | Path, assignment: str) -> list[Path]:
    """Paths of the staged results of ``assignment``."""
    folder = grading_dir(course_dir, assignment) / "staged"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def load_staged(path: str | Path) -> GradingResult:
    """The result :func:`stage` wrote to ``path``."""
    return GradingResult.from_json(json.loads(Path(path).read_text()))


class GraderBusy(RuntimeError):
    """Another grader holds the course's lock."""


class GraderLock:
    """An exclusive lock on a course's gradebook for one grader (released on exit, even on SIGKILL)."""

    def __init__(self, course_dir: str | Path) -> None:
        self.path = grading_dir(course_dir) / "grader.lock"
        self._fd: int | None = None

    def __enter__(self) -> GraderLock:
        import fcntl  # Unix only: imported here so that the module imports everywhere

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise GraderBusy(
                "Another `cnncourse grade` is writing to this course's gradebook "
                f"(lock: {self.path}). Wait for it to finish."
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
