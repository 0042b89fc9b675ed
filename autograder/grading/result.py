"""What grading one submission gives: :class:`GradingResult`.

Every backend returns one per task, the single writer merges it into the
gradebook (:mod:`autograder.grading.merge`), the results file keeps its
summary (:mod:`autograder.grading.state`), and the preflight reads the
course's own one (:mod:`autograder.grading.preflight`). It is built in three
ways, each a constructor here: :meth:`GradingResult.start` (a worker begins),
:meth:`GradingResult.failure` (the grader failed before a worker answered)
and :meth:`GradingResult.finish` (totals worked out from the scores).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from autograder.grading.spec import AssignmentSpec
    from autograder.grading.task import GradingTask

STATUSES = ("ok", "flagged", "timeout", "kernel_died", "out_of_memory", "too_many_processes", "malformed", "error")
"""Every status a result can have; ``error`` is the grader's failure, never the student's score."""

Scores = dict[str, Any]
"""nbgrader's scores of one submission: ``{"notebooks": {name: {"grades": {grade_id: {...}}}}}``."""


def zero_scores(spec: AssignmentSpec) -> Scores:
    """Scores of zero for every graded cell of the assignment ``spec`` (from :mod:`~autograder.grading.spec`)."""
    return {
        "timestamp": None,
        "notebooks": {
            nb["name"]: {
                "late_submission_penalty": None,
                "grades": {
                    c["name"]: {"auto_score": 0.0, "max_score": float(c["max_score"]), "needs_manual_grade": False}
                    for c in nb["grade_cells"]
                },
                "comments": {},
            }
            for nb in spec["notebooks"]
        },
    }


@dataclasses.dataclass
class GradingResult:
    """The outcome of grading one student's submission of one assignment.

    Args:
        assignment: the assignment's id.
        student: the student's id.
        digest: the checksum of the submission graded (:func:`~autograder.grading.task.digest`).
        status: one of :data:`STATUSES`.
        reason: why the status is not ``ok`` (empty when it is).
        scores: nbgrader's scores of every graded cell (see :data:`Scores`).
        max_score: the assignment's total points.
        files: the autograded files, ``{relative path: bytes}``.
        events: what the executor and the supervisor recorded (timeouts, kills, tampering).
        cells: ``{grade_id: [score, max score]}``, worked out by :meth:`finish`.
        score: the total score, worked out by :meth:`finish`.
        seconds: the wall-clock time grading took.

    Example:
        >>> r = GradingResult("lab1", "ada", "abc", status="malformed", reason="not JSON",
        ...                   scores={"notebooks": {}}).finish(time.monotonic())
        >>> r.score, r.to_summary()["status"]
        (0.0, 'malformed')
    """

    assignment: str
    student: str
    digest: str = ""
    status: str = "error"
    reason: str = ""
    scores: Scores | None = None
    max_score: float = 0.0
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    started: float = 0.0
    host: str = ""
    slot: str = ""
    peak_memory: int = 0
    returncode: int | None = None
    isolation: str = ""
    seconds: float = 0.0
    cells: dict[str, list[float | None]] = dataclasses.field(default_factory=dict)
    score: float = 0.0
    log_tail: str = ""
    dropped_files: list[str] = dataclasses.field(default_factory=list)

    SUMMARY: ClassVar[tuple[str, ...]] = (
        "isolation",
        "status",
        "reason",
        "score",
        "max_score",
        "cells",
        "seconds",
        "digest",
        "events",
        "host",
        "slot",
        "peak_memory",
        "started",
    )
    """The fields the results file keeps for each student."""

    @classmethod
    def start(cls, task: GradingTask, host: str = "", slot: str = "") -> GradingResult:
        """A result for ``task`` (a :class:`~autograder.grading.task.GradingTask`) about to be graded."""
        return cls(
            assignment=task.assignment,
            student=task.student,
            digest=task.digest,
            max_score=float(task.spec.get("max_score", 0.0)),
            started=time.time(),
            host=host,
            slot=slot,
        )

    @classmethod
    def failure(cls, task: GradingTask, reason: str, seconds: float = 0.0) -> GradingResult:
        """The result of a task whose worker never returned one: status ``error``, zero scores, nothing recorded."""
        result = cls.start(task)
        result.reason = reason
        result.scores = zero_scores(task.spec)
        result.finish(time.monotonic())
        result.seconds = round(seconds, 3)
        return result

    def finish(self, t0: float) -> GradingResult:
        """Work out ``seconds`` (since the monotonic time ``t0``), ``cells`` and ``score``; return ``self``."""
        self.seconds = round(time.monotonic() - t0, 3)
        scores = self.scores or {"notebooks": {}}
        many = len(scores["notebooks"]) > 1
        self.cells = {}
        total = 0.0
        for nb_name, nb in scores["notebooks"].items():
            for grade_id, g in nb["grades"].items():
                self.cells[f"{nb_name}:{grade_id}" if many else grade_id] = [g["auto_score"], g["max_score"]]
                total += g["auto_score"] or 0.0
        self.score = round(total, 6)
        return self

    @property
    def ok(self) -> bool:
        """Whether the submission was graded without a recorded failure."""
        return self.status == "ok"

    def to_summary(self) -> dict[str, Any]:
        """The fields of :attr:`SUMMARY`, as the results file keeps them."""
        return {k: getattr(self, k) for k in self.SUMMARY}

    def to_json(self) -> dict[str, Any]:
        """Everything, JSON-ready (files in base64), for a staged result."""
        out = dataclasses.asdict(self)
        out["files"] = {k: base64.b64encode(v).decode("ascii") for k, v in self.files.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradingResult:
        """The result :meth:`to_json` wrote (unknown keys are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["files"] = {k: base64.b64decode(v) for k, v in (data.get("files") or {}).items()}
        return cls(**values)
