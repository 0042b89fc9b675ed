"""nbgrader's ``Execute`` preprocessor, made to keep what a dying kernel leaves.

``nbgrader autograde`` gives up on a submission whose kernel dies: it
removes the autograded notebook and the scores of the cells that ran are
lost. :class:`ResilientExecute` replaces ``Execute`` in the per-submission
grading run (see :mod:`autograder.grading.worker`):

* it writes its progress (which cell runs, which finished, the score each
  graded cell earned, timed-out cells) to a small JSON file, so the worker
  can say *where* a submission failed even when everything was killed;
* when the kernel dies (a crash, or the supervisor stopping it for time or
  memory, see :mod:`autograder.grading.limits`), every code cell that did
  not run gets an error output that says why, so test cells that never ran
  score zero and the rest of nbgrader's pipeline (``IgnorePattern``,
  ``SaveAutoGrades``, ...) runs as usual: the scores of the cells that ran
  are saved;
* it keeps hidden tests honest (:mod:`autograder.grading.guard`): what the
  answers changed in the modules and names a test relies on is put back
  before each graded test cell, and a test during which something changed
  scores zero;
* it caps each cell's output (``max_output_bytes``): a submission that
  prints 100 MB keeps the first part and a note;
* a cell that runs past its time limit says so in its own words (which cell,
  after how long), and a later cell that fails only because that one never
  finished (a ``NameError``) says that too, so the feedback does not blame
  a name the student did define.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Integer, Unicode

from nbgrader.preprocessors import Execute, IgnorePattern
from nbgrader.utils import determine_grade, is_grade

from autograder.grading.guard import Guard, bound_names
from autograder.grading.limits import MAX_OUTPUT, format_size, read_kill

if TYPE_CHECKING:
    from jupyter_client.manager import KernelManager

Resources = dict[str, Any]
"""nbconvert's resources, passed along with a notebook through the preprocessors."""

KIND_NAMES = {
    "timeout": "SubmissionTimeout",
    "out_of_memory": "OutOfMemory",
    "kernel_died": "KernelDied",
    "too_many_processes": "TooManyProcesses",
}
NOTE = "[the grader cut this cell's output here: it was longer than {size}]\n"


def _role(cell: NotebookNode) -> str:
    """``"answer"``, ``"test"``, ``"instructor"`` (locked code) or ``""`` for a cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test"
    if meta.get("locked"):
        return "instructor"
    return ""


def _size(msg: Mapping[str, Any]) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    data = content.get("data") or {}
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


def cell_label(cell: NotebookNode, index: int) -> str:
    """How reasons name a cell: its nbgrader id where it has one, else its position."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1} ({grade_id})" if grade_id else f"cell {index + 1}"


# nbgrader has no type information: its Execute is Any to mypy.
class ResilientExecute(Execute):  # type: ignore[misc]
    """``Execute`` that records progress and survives a dead kernel."""

    progress_file = Unicode("", help="JSON file where progress is written (empty: none).").tag(config=True)
    guard_tests = Bool(
        True,
        help="Restore what answers changed before each graded test cell, "
        "and zero a test during which it changed (see autograder.grading.guard).",
    ).tag(config=True)
    max_output_bytes = Integer(MAX_OUTPUT, help="Characters of output one cell may keep (0: no limit).").tag(
        config=True
    )

    # The state of one notebook's run, set by preprocess().
    _progress: dict[str, Any]  # what the progress file holds: {"notebooks": {name: ...}, "events": [...]}
    _nb_name: str
    _nb_progress: dict[str, Any]  # this notebook's entry: cells done, scores, the current cell
    _ignore: IgnorePattern
    _guard: Guard | None
    _guard_ready: bool
    _out_bytes: dict[int, int]  # output kept so far, per cell index
    _timed_out: list[str]  # labels of the cells stopped at their time limit

    def _write_progress(self) -> None:
        if not self.progress_file:
            return
        tmp = self.progress_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self._progress, f)
        os.replace(tmp, self.progress_file)

    def _load_progress(self) -> dict[str, Any]:
        try:
            with open(self.progress_file) as f:
                progress: dict[str, Any] = json.load(f)
                return progress
        except (OSError, ValueError, TypeError):
            return {"notebooks": {}, "events": []}

    def preprocess(
        self, nb: NotebookNode, resources: Resources | None = None, km: KernelManager | None = None
    ) -> tuple[NotebookNode, Resources]:
        self._progress = self._load_progress()
        name = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        self._nb_name = name
        self._nb_progress = self._progress["notebooks"].setdefault(name, {"done": [], "scores": {}})
        self._ignore = IgnorePattern(config=self.config)
        self._guard = Guard() if self.guard_tests else None
        self._guard_ready = False
        self._out_bytes = {}
        self._timed_out = []
        try:
            done: tuple[NotebookNode, Resources] = super().preprocess(nb, resources, km)
            return done
        except DeadKernelError:
            return self._after_death(nb)
        except CellTimeoutError:
            # The cell ran past its limit and the kernel did not answer the interrupt:
            # it is stopped (leaving the kernel's context shuts it down) and the rest is not run.
            return self._after_death(nb, stuck=True)

    # ---- the guard (see autograder.grading.guard) ----
    def _guard_call(self, action: str, names: Iterable[str] = ()) -> tuple[bool, list[str]]:
        """Run the guard's ``action`` silently in the kernel; ``(ok, changed)``."""
        guard = self._guard
        assert guard is not None, "called only when guarding tests"
        code = guard.setup_code() if action == "snapshot" else ""
        msg_id = self.kc.execute(
            code, silent=True, store_history=False, user_expressions={"r": guard.expression(action, names)}
        )
        return guard.read(self.wait_for_reply(msg_id))

    def _tampered(self, cell: NotebookNode, label: str, when: str, changed: list[str]) -> None:
        what = ", ".join(changed)
        self._progress["events"].append(
            {"kind": "tampering", "notebook": self._nb_name, "cell": label, "when": when, "detail": what[:500]}
        )
        if when == "during":
            msg = (
                f"this test does not count: while it ran, the submission changed {what}. "
                "Tests must run against the real libraries and the notebook's own names."
            )
            cell.outputs = list(cell.get("outputs", [])) + [
                NotebookNode(
                    output_type="error", ename="TamperingDetected", evalue=msg, traceback=[f"TamperingDetected: {msg}"]
                )
            ]

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if self.max_output_bytes and msg.get("msg_type") != "error":
            used = self._out_bytes.get(cell_index, 0)
            size = _size(msg)
            self._out_bytes[cell_index] = used + size
            if used + size > self.max_output_bytes:
                if used <= self.max_output_bytes:  # the first time over: say so, once
                    outs.append(
                        NotebookNode(
                            output_type="stream",
                            name="stderr",
                            text=NOTE.format(size=format_size(self.max_output_bytes)),
                        )
                    )
                return None
        kept: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        return kept

    def preprocess_cell(self, cell: NotebookNode, resources: Resources, index: int) -> tuple[NotebookNode, Resources]:
        role = _role(cell) if cell.cell_type == "code" and cell.source.strip() else ""
        label = cell_label(cell, index)
        if cell.cell_type == "code" and cell.source.strip():
            self._nb_progress["current"] = {"index": index, "label": label, "started": time.time()}
            self._write_progress()
        guarded = self._guard is not None and role in ("answer", "test")
        if guarded and not self._guard_ready:
            ok, _ = self._guard_call("snapshot")
            self._guard_ready = ok
            if not ok:
                self.log.warning("The test guard could not start; tests run unguarded.")
        if guarded and role == "test" and self._guard_ready:
            ok, changed = self._guard_call("restore")
            if changed:
                self._tampered(cell, label, "before", changed)
        cell, resources = super().preprocess_cell(cell, resources, index)
        if role == "test":
            # (a test whose error was hidden, e.g. by replacing IPython's showtraceback, still
            # fails: nbgrader's Execute adds the error from the kernel's reply)
            if guarded and self._guard_ready:
                ok, changed = self._guard_call("audit")
                if changed or not ok:
                    self._tampered(cell, label, "during", changed)
        elif role == "instructor" and self._guard_ready:
            self._guard_call("extend", bound_names(cell.source))
        if cell.cell_type == "code" and cell.source.strip():
            self._explain_timeouts(cell, label)
            self._nb_progress["done"].append(index)
            if is_grade(cell):
                score = self._score(cell, resources, index)
                if score is not None:
                    self._nb_progress["scores"][cell.metadata.nbgrader["grade_id"]] = score
            self._nb_progress.pop("current", None)
            self._write_progress()
        return cell, resources

    def _explain_timeouts(self, cell: NotebookNode, label: str) -> None:
        """Name the time limit in a timed-out cell, and the timed-out cell in the errors it caused later."""
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in outputs):
            self._progress["events"].append(
                {"kind": "cell_timeout", "notebook": self._nb_name, "cell": label, "timeout": self.timeout}
            )
            why = (
                f"{label} ran past its time limit of {self.timeout} s and was stopped; "
                "the cells after it ran without what it would have defined"
            )
            for o in outputs:
                if o.get("output_type") == "error" and o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                    o["ename"], o["evalue"], o["traceback"] = "CellTimeoutError", why, [f"CellTimeoutError: {why}"]
            self._timed_out.append(label)
        elif self._timed_out:
            for o in outputs:
                if o.get("output_type") == "error" and o.get("ename") == "NameError":
                    note = f" (probably because {self._timed_out[-1]} timed out before it finished)"
                    o["evalue"] = str(o.get("evalue", "")) + note
                    o["traceback"] = list(o.get("traceback", [])) + [f"NameError: {o['evalue']}"]

    def _score(self, cell: NotebookNode, resources: Resources, index: int) -> float | None:
        probe = copy.deepcopy(cell)
        if self._ignore.enabled:
            probe, _ = self._ignore.preprocess_cell(probe, resources, index)
        score: float | None
        score, _ = determine_grade(probe, self.log)
        return score

    def _after_death(self, nb: NotebookNode, stuck: bool = False) -> tuple[NotebookNode, Resources]:
        current = self._nb_progress.get("current", {})
        index = current.get("index", 0)
        label = current.get("label", "the first cell")
        killed = read_kill(os.path.dirname(self.progress_file)) if self.progress_file else {}
        kind = killed.get("kind", "kernel_died")
        detail = killed.get("detail", "")
        if stuck and not killed:
            kind, detail = "timeout", f"cell limit {self.timeout} s; the kernel ignored the interrupt"

        if kind == "out_of_memory":
            why = f"the kernel ran out of memory at {label} ({detail})"
        elif kind == "timeout":
            why = f"grading ran out of time at {label} ({detail})"
        elif kind == "too_many_processes":
            why = f"the kernel started too many processes at {label} ({detail})"
        else:
            why = f"the kernel died at {label}"
        self._progress["events"].append({"kind": kind, "notebook": self._nb_name, "cell": label, "detail": detail})
        self._nb_progress.pop("current", None)
        self._write_progress()
        self.log.error("%s: %s; the cells that ran keep their scores.", self._nb_name, why)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip() or i < index:
                continue
            msg = why if i == index else f"not run: {why}"
            ename = KIND_NAMES.get(kind, "KernelDied")
            error = NotebookNode(output_type="error", ename=ename, evalue=msg, traceback=[f"{ename}: {msg}"])
            cell.outputs = (list(cell.get("outputs", [])) if i == index else []) + [error]
        return nb, getattr(self, "resources", {})
