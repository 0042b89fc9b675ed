"""Grade one submission in a private course directory, under limits.

:func:`grade_task` is the unit of work of every backend. For one student it

1. builds a throw-away course directory: the course's ``nbgrader_config.py``
   (plus a few settings for this run), the source's data files, the
   submitted files and a private SQLite gradebook seeded with the
   assignment's definition (:mod:`autograder.grading.spec`);
2. checks that every submitted notebook is a valid notebook (a malformed
   one is recorded as such, with zero points, without starting a kernel);
3. runs nbgrader's autograder for that one student in its own process group
   (a fork of this process where that is safe, else a fresh ``nbgrader
   autograde`` through :mod:`autograder.run_nbgrader`), with this worker's
   CPU threads and GPU in its environment, under the
   :class:`~autograder.grading.limits.Supervisor`;
4. returns a :class:`~autograder.grading.result.GradingResult`: status,
   reason, per-cell scores, the autograded files, timings. It never writes
   to the course: a single writer merges results
   (:mod:`autograder.grading.merge`).

``cnncourse grade ASSIGNMENT --one STUDENT`` runs it for one student (the
step of a Slurm job array, see docs/grading.md; :func:`autograder.grading.runner.grade_one_staged`)
and stages the result in ``autograded/.grading/ASSIGNMENT/staged/STUDENT.json``; the next
``cnncourse grade ASSIGNMENT --resume`` merges it into the gradebook.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnncourse.errors import ENVIRONMENT_ERRORS
from cnncourse.runtime import KERNEL_ENV

from autograder.grading import limits as limits_mod
from autograder.grading import sandbox as sandbox_mod
from autograder.grading import spec as spec_mod
from autograder.grading.limits import Limits, Outcome, Poll
from autograder.grading.resources import Slot
from autograder.grading.result import GradingResult, Scores, zero_scores
from autograder.grading.spec import AssignmentSpec
from autograder.grading.task import GradingTask, read_folder

PROGRESS_FILE = "progress.json"
MAX_OUTPUT_FILE = 20 * 1024**2  # files a graded kernel writes bigger than this are not kept
FATAL = {
    "timeout": "timed out",
    "out_of_memory": "out of memory",
    "kernel_died": "kernel died",
    "too_many_processes": "too many processes",
}

OVERRIDES = """

# ---- settings of this one grading run (added by autograder.grading.worker) ----
import os as _os
from nbgrader.converters import Autograde as _Autograde
from nbgrader.preprocessors import Execute as _Execute
from autograder.grading.execute import ResilientExecute as _ResilientExecute

c.CourseDirectory.root = _os.path.dirname(_os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + _os.path.join(c.CourseDirectory.root, "gradebook.db")
c.Autograde.autograde_preprocessors = [
    _ResilientExecute if p is _Execute else p
    for p in _Autograde.class_traits()["autograde_preprocessors"].default()
]
c.ResilientExecute.progress_file = _os.path.join(c.CourseDirectory.root, "{progress}")
c.Execute.kernel_name = "{kernel}"  # the graded kernel (sandboxed), whatever the notebook asks for
"""


def _write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_notebooks(folder: str | Path, spec: AssignmentSpec) -> str:
    """``""`` when every submitted notebook of the assignment reads as a valid notebook, else why not.

    A submission holding none of the assignment's notebooks by name (a renamed
    download, ``lab1 (1).ipynb``) is named with what it does hold.
    """
    import nbformat
    from nbformat.warnings import DuplicateCellId

    expected = [f"{nb['name']}.ipynb" for nb in spec["notebooks"]]
    if expected and not any((Path(folder) / name).exists() for name in expected):
        found = sorted(
            str(p.relative_to(folder)) for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
        )
        return (
            f"no {' or '.join(expected)} in the submission (found: {', '.join(map(repr, found[:5])) or 'none'});"
            " the notebook must keep its released name: rename it and grade again"
        )
    for nb in spec["notebooks"]:
        path = Path(folder) / f"{nb['name']}.ipynb"
        if not path.exists():
            continue  # nbgrader gives a missing notebook zero points itself
        try:
            with warnings.catch_warnings():
                # nbformat repairs a duplicated cell id, with a warning that would land in the grader's
                # terminal. A pasted copy of a graded cell is still caught: nbgrader's check of the cells'
                # metadata names it in the student's result (tests/corpus.py, duplicated_cell_ids).
                warnings.simplefilter("ignore", DuplicateCellId)
                node = nbformat.read(str(path), as_version=4)
                nbformat.validate(node)
        except Exception as exc:  # noqa: BLE001 - JSON errors, schema errors, bad encodings...
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            text = text.split(": '")[0].rstrip(":")  # drop the quoted file contents nbformat adds
            return f"malformed notebook {path.name}: {text[:200]}"
    return ""


def _scores_from_progress(spec: AssignmentSpec, progress: Mapping[str, Any]) -> Scores:
    """Scores of the cells that finished, from the progress file (zero for the rest)."""
    scores = zero_scores(spec)
    for nb_name, nb in scores["notebooks"].items():
        done = progress.get("notebooks", {}).get(nb_name, {}).get("scores", {})
        for grade_id, g in nb["grades"].items():
            if grade_id in done and done[grade_id] is not None:
                g["auto_score"] = float(done[grade_id])
    return scores


def _last_error(log_text: str) -> str:
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception|Exit)\b.*:", ln):
            return ln[:300]
    for ln in reversed(lines):
        if "ERROR" in ln:
            return ln[:300]
    return lines[-1][:300] if lines else "no output"


def _reason(
    events: list[dict[str, Any]], outcome: Outcome, progress: Mapping[str, Any], limits: Limits
) -> tuple[str, str]:
    """(status, reason) from what the executor and the supervisor recorded."""
    fatal = [e for e in events if e.get("kind") in FATAL]
    timeouts = [e for e in events if e.get("kind") == "cell_timeout"]
    earlier = f"; earlier, timed out at {timeouts[0]['cell']}" if timeouts else ""
    if fatal:
        e = fatal[-1]
        detail = f" ({e['detail']})" if e.get("detail") else ""
        text = FATAL[e["kind"]]
        return e["kind"], f"{text} at {e['cell']}{detail}{earlier}"
    if outcome.hard_killed or outcome.killed:
        kind = outcome.killed or "timeout"
        where = "while starting"
        for nb in progress.get("notebooks", {}).values():
            if nb.get("current"):
                where = f"at {nb['current']['label']}"
        detail = limits_mod.read_kill(progress.get("_workdir", ".")).get("detail", "")
        text = FATAL.get(kind, "timed out")
        return kind, f"{text} {where}" + (f" ({detail})" if detail else "") + earlier
    if timeouts:
        first = timeouts[0]
        more = f", and {len(timeouts) - 1} more cell(s)" if len(timeouts) > 1 else ""
        return "timeout", f"timed out at {first['cell']} (cell limit {first['timeout']} s){more}"
    tampering = [e for e in events if e.get("kind") == "tampering"]
    if tampering:
        during = [e for e in tampering if e.get("when") == "during"]
        e = (during or tampering)[0]
        what = (
            f"the test at {e['cell']} scored zero: while it ran, the submission changed {e['detail']}"
            if during
            else f"before {e['cell']}, the submission had changed {e['detail']} (put back)"
        )
        return "flagged", f"flagged for review: {what}"[:300]
    return "ok", ""


def environment_errors(files: Mapping[str, bytes], spec: AssignmentSpec) -> list[str]:
    """``["cell 12 (test_x): ModuleNotFoundError: ...", ...]``: test cells that failed for want of the environment.

    A test cell whose error is one of :data:`cnncourse.errors.ENVIRONMENT_ERRORS`
    (a module that cannot be imported, a missing calibration record or dataset)
    says nothing about the student's work: the submission is then an
    ``error``, not a score.
    """
    found = []
    for nb in spec["notebooks"]:
        try:
            cells = json.loads(files[f"{nb['name']}.ipynb"])["cells"]
        except (KeyError, ValueError, TypeError):
            continue
        for i, cell in enumerate(cells):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and out.get("ename") in ENVIRONMENT_ERRORS:
                    found.append(
                        f"cell {i + 1} ({meta.get('grade_id')}): {out['ename']}: {out.get('evalue', '')}"[:200]
                    )
    return found


METADATA_ERRORS = (
    "the nbgrader metadata may be corrupted",
    "use an old version",
    "use an newer version",
    "Duplicate grade id",
)


def _missing_tests(spec: AssignmentSpec, scores: Scores) -> list[str]:
    """Autograded test cells nbgrader could not grade (deleted from the submission)."""
    missing = []
    for nb in spec["notebooks"]:
        grades = scores["notebooks"].get(nb["name"], {}).get("grades", {})
        for c in nb["grade_cells"]:
            g = grades.get(c["name"])
            if c.get("cell_type") == "code" and g is not None and g["auto_score"] is None:
                missing.append(c["name"])
    return missing


def fork_is_safe() -> bool:
    """Whether a fork of this process can run nbgrader: Linux, one thread, and TensorFlow not loaded.

    A forked child gets only the thread that forked; TensorFlow's runtime keeps native threads
    (invisible to :mod:`threading`) whose locks and state the child inherits half-made, and it
    crashes there. Where this is False, grading starts fresh interpreters instead.
    """
    return (
        hasattr(os, "fork")
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and "tensorflow" not in sys.modules
    )


def _launch_fork(workdir: Path, args: list[str], env: Mapping[str, str], log_path: Path) -> tuple[int, Poll]:
    """Run nbgrader's app for ``args`` in a forked child (no interpreter start-up, no re-imports)."""
    import nbgrader.apps.nbgraderapp  # noqa: F401  (imported once, before forking)

    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.setsid()
            limits_mod.die_with_parent()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.chdir(workdir)
            os.environ.clear()
            os.environ.update(env)
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            from nbgrader.apps.nbgraderapp import NbGraderApp

            try:
                NbGraderApp.launch_instance(argv=args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - the forked child reports anything, then exits
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def poll() -> int | None:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return -1
        if done == 0:
            return None
        return os.waitstatus_to_exitcode(status)

    return pid, poll


def _launch_exec(workdir: Path, args: list[str], env: Mapping[str, str], log_path: Path) -> tuple[int, Poll]:
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.run_nbgrader", *args],
        cwd=str(workdir),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return proc.pid, proc.poll


def _environment(slot: Slot | None, task: GradingTask) -> dict[str, str]:
    """The grading process's environment: this worker's share of the machine and the course's kernel variables.

    Kernels import what is installed, exactly as a student's do: nothing is
    added to ``PYTHONPATH`` (not the course directory, not the instructor package).
    ``MPLBACKEND`` is dropped (the grader's shell often sets ``Agg``): the kernel then
    draws its figures inline, as in JupyterLab, so the feedback shows them with the
    sandbox off too, and a sandboxed and an unsandboxed kernel do the same work.
    """
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.update(slot.environment() if slot is not None else {})
    env.update(KERNEL_ENV)
    if task.profile:
        env["CNNCOURSE_PROFILE"] = task.profile
    scripts = os.path.dirname(sys.executable)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.pop("JPY_PARENT_PID", None)
    return env


def grade_task(
    task: GradingTask, slot: Slot | None = None, launcher: str = "auto", keep: bool = False
) -> GradingResult:
    """Grade one :class:`~autograder.grading.task.GradingTask`; return its :class:`GradingResult`.

    Args:
        task: what to grade, by value.
        slot: this worker's share of the machine (:class:`~autograder.grading.resources.Slot`).
        launcher: ``"fork"``, ``"exec"`` (a fresh nbgrader, :mod:`autograder.run_nbgrader`) or ``"auto"`` (fork where safe).
        keep: keep the private course directory (for debugging; so does ``CNNCOURSE_GRADING_KEEP``).

    Returns:
        The result; never raises for the submission's or the grader's failures (status ``error``).
    """
    t0 = time.monotonic()
    result = GradingResult.start(task, host=socket.gethostname(), slot=slot.describe() if slot is not None else "")
    base = os.environ.get("CNNCOURSE_GRADING_TMP") or None
    workdir = Path(tempfile.mkdtemp(prefix=f"grade-{task.assignment}-", dir=base))
    try:
        limits = task.limits
        isolation = sandbox_mod.resolve(task.sandbox)
        result.isolation = isolation
        config = task.config_text + OVERRIDES.format(progress=PROGRESS_FILE, kernel=sandbox_mod.KERNEL_NAME)
        if isolation == "bubblewrap":
            config += (
                'c.KernelManager.transport = "ipc"  # the sandbox has no network\n'
                'c.KernelManager.connection_file = _os.path.join(c.CourseDirectory.root, "rt", "kernel.json")\n'
            )
        if limits.cell_timeout:
            config += f"c.Execute.timeout = {int(limits.cell_timeout)}\n"
        config += f"c.ResilientExecute.max_output_bytes = {int(limits.output or 0)}\n"
        (workdir / "nbgrader_config.py").write_text(config)
        _write_files(workdir / "source" / task.assignment, task.source_files)
        sub = workdir / "submitted" / task.student / task.assignment
        sub.mkdir(parents=True)
        _write_files(sub, task.files)

        bad = check_notebooks(sub, task.spec) if task.files else ""
        if not task.files:
            bad = "no files submitted"
        if bad:
            result.status, result.reason, result.scores = "malformed", bad, zero_scores(task.spec)
            return result.finish(t0)

        db_url = "sqlite:///" + str(workdir / "gradebook.db")
        template = task.seed_db or spec_mod.template_db(task.spec)
        spec_mod.seed_sqlite(
            workdir / "gradebook.db", template, task.spec, task.student, task.student_info, task.extension
        )

        args = ["autograde", task.assignment, "--force", f"--CourseDirectory.student_id={task.student}"]
        env = sandbox_mod.write_kernel(
            workdir, workdir / "autograded" / task.student / task.assignment, _environment(slot, task), isolation
        )
        log_path = workdir / "autograde.log"
        use_fork = launcher == "fork" or (launcher == "auto" and fork_is_safe())
        pid, poll = (_launch_fork if use_fork else _launch_exec)(workdir, args, env, log_path)
        outcome = limits_mod.Supervisor(pid, poll, limits, workdir).run()
        result.returncode = outcome.returncode
        result.peak_memory = outcome.peak_memory

        progress: dict[str, Any]
        try:
            progress = json.loads((workdir / PROGRESS_FILE).read_text())
        except (OSError, ValueError):
            progress = {"notebooks": {}, "events": []}
        progress["_workdir"] = str(workdir)
        events = progress.get("events", [])
        result.events = events
        log_text = log_path.read_text(errors="replace") if log_path.exists() else ""

        scores = None if outcome.hard_killed else spec_mod.read_scores(db_url, task.assignment, task.student)
        graded = (
            scores is not None
            and any(
                g["auto_score"] is not None or g["needs_manual_grade"]
                for nb in scores["notebooks"].values()
                for g in nb["grades"].values()
            )
            and outcome.returncode == 0
        )
        status, reason = _reason(events, outcome, progress, limits)
        if not graded or scores is None:
            scores = _scores_from_progress(task.spec, progress)
            if status == "ok" and any(m in log_text for m in METADATA_ERRORS):
                status, reason = (
                    "malformed",
                    (
                        "malformed notebook: its nbgrader cell metadata was changed or "
                        "duplicated (a grade id, a copied test cell...); the released "
                        "cells must stay as they were, or grade it by hand"
                    ),
                )
            elif status == "ok":
                status, reason = "error", f"nbgrader failed: {_last_error(log_text)}"
        else:
            missing = _missing_tests(task.spec, scores)
            if missing and status == "ok":
                status, reason = (
                    "flagged",
                    (
                        f"test cells missing from the submission: {', '.join(missing[:5])}; "
                        "nbgrader leaves them ungraded for a human"
                    ),
                )
            result.files = read_folder(
                workdir / "autograded" / task.student / task.assignment,
                max_file_bytes=MAX_OUTPUT_FILE,
                dropped=result.dropped_files,
            )
            broken = environment_errors(result.files, task.spec)
            if broken and status in ("ok", "flagged"):
                status, reason = (
                    "error",
                    ("the grading environment failed a test, not the submission: " + "; ".join(broken[:3]))[:300],
                )
        result.status, result.reason, result.scores = status, reason, scores
        if status != "ok":
            result.log_tail = log_text[-4000:]
        return result.finish(t0)
    except Exception as exc:  # noqa: BLE001 - the grader's own failure must not lose the submission
        result.status, result.reason = "error", f"grader error: {type(exc).__name__}: {exc}"[:300]
        result.log_tail = traceback.format_exc()[-4000:]
        if result.scores is None:
            result.scores = zero_scores(task.spec)
        return result.finish(t0)
    finally:
        if not keep and not os.environ.get("CNNCOURSE_GRADING_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
