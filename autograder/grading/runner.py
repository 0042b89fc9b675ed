"""Grading a class: plan, dispatch, merge, report progress.

:func:`grade_class` is what ``cnncourse grade`` runs:

1. takes the course's lock (one grader per gradebook);
2. reads the assignment's definition from the gradebook (SQLite or
   PostgreSQL, from ``nbgrader_config.py``);
3. merges results staged by one-student runs (e.g. a Slurm job array);
4. works out what to grade: every submission, or with ``resume`` only the
   ones the results file does not have for the submission as it is now;
5. sends one task per submission to the backend and merges each result as
   it arrives (the single writer), updating the results file and the
   progress bar (counts, failures so far, ETA);
6. prints a summary table.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from autograder.gradebook_version import use_in_process_head
from autograder.grading import config as config_mod
from autograder.grading import extensions as extensions_mod
from autograder.grading import merge as merge_mod
from autograder.grading import order
from autograder.grading import sandbox as sandbox_mod
from autograder.grading import spec as spec_mod
from autograder.grading import state, worker
from autograder.grading.backends import Backend, DaskBackend, LocalBackend, OnResult
from autograder.grading.limits import MAX_OUTPUT, MAX_PROCESSES, Limits, format_size, parse_size
from autograder.grading.resources import assign_slots, cpu_count
from autograder.grading.result import GradingResult
from autograder.grading.spec import AssignmentSpec, StudentInfo
from autograder.table import text_table
from autograder.grading.task import GradingTask, build_task, list_submissions, read_folder, submission_folder, digest

_Number = TypeVar("_Number", int, float)


class GradingError(RuntimeError):
    """Grading cannot start (no such assignment, no submissions, another grader running...)."""


def default_workers(backend: str = "local") -> int:
    """CPU cores (at most 4) for the local pool; 2 for a Dask LocalCluster."""
    return min(cpu_count(), 4) if backend == "local" else 2


def _number(convert: Callable[[str], _Number], what: str, allow_zero: bool = False) -> Callable[[str], _Number]:
    """An argparse ``type``: ``convert(text)``, refused (usage error, exit 2) unless it is above 0."""

    def parse(text: str) -> _Number:
        value: _Number | None
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not (value > 0 or (allow_zero and value == 0)):  # NaN is refused too
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


def _size(text: str) -> str:
    """An argparse ``type``: a size as :func:`parse_size` reads it, kept as written."""
    try:
        parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


SECONDS = _number(float, "a number of seconds above 0")
COUNT = _number(int, "a whole number above 0")
COUNT_OR_ZERO = _number(int, "a whole number (0: no limit)", allow_zero=True)
SIZE = _size


def add_limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        choices=["fast", "full"],
        default=None,
        help="training budget in the kernels (default: CNNCOURSE_PROFILE, else full with a GPU, "
        "fast without); also sets the default cell time limit",
    )
    p.add_argument(
        "--cell-timeout",
        type=SECONDS,
        default=None,
        metavar="S",
        help="seconds one cell may run (default: the profile's, see cnncourse.runtime.CELL_TIMEOUTS)",
    )
    p.add_argument(
        "--timeout",
        type=SECONDS,
        default=None,
        metavar="S",
        help="seconds one whole submission may take (default: 5 times the cell limit)",
    )
    p.add_argument(
        "--max-processes",
        type=COUNT_OR_ZERO,
        default=MAX_PROCESSES,
        metavar="N",
        help=f"processes one submission's kernel may have at once (default: {MAX_PROCESSES}; 0: no limit)",
    )
    p.add_argument(
        "--max-output",
        type=SIZE,
        default=None,
        metavar="SIZE",
        help=f"output one cell may keep, e.g. 8M (default: {format_size(MAX_OUTPUT)}; 'none' for no limit); "
        "a cell's output past it is cut, with a note",
    )
    p.add_argument(
        "--sandbox",
        choices=["auto", "require", "off"],
        default="auto",
        help="run kernels in a bubblewrap sandbox: where available (auto, the default; says loudly "
        "when it is not), always (require: error without it) or never (off)",
    )
    p.add_argument(
        "--memory-limit",
        type=SIZE,
        default=None,
        metavar="SIZE",
        help="memory one submission's kernel may use, e.g. 4G (default: 80%% of RAM / workers; 'none' for no limit)",
    )


def limits_from_args(args: argparse.Namespace, workers: int) -> Limits:
    """The limits the command line asks for, :meth:`Limits.default` for what it leaves out."""
    changes: dict[str, Any] = {"processes": getattr(args, "max_processes", MAX_PROCESSES) or None}
    if args.cell_timeout:
        changes["cell_timeout"] = args.cell_timeout
    if args.timeout:
        changes["timeout"] = args.timeout
    if args.memory_limit is not None:
        changes["memory"] = parse_size(args.memory_limit)
    if getattr(args, "max_output", None) is not None:
        changes["output"] = parse_size(args.max_output)
    return Limits.default(workers, getattr(args, "profile", None), **changes)


@dataclasses.dataclass
class Summary:
    assignment: str
    results: dict[str, dict[str, Any]]  # student -> results-file entry, for every student asked for
    graded: list[str]  # students graded (or merged from staging) in this run
    skipped: list[str]  # students already done (--resume)
    seconds: float
    results_path: Path

    @property
    def failures(self) -> dict[str, dict[str, Any]]:
        return {s: r for s, r in self.results.items() if r.get("status") != "ok"}

    @property
    def errors(self) -> dict[str, dict[str, Any]]:
        """Students whose grading failed for the grader's reasons (status ``error``; not in the gradebook)."""
        return {s: r for s, r in self.results.items() if r.get("status") == "error"}


def _format_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for sid in sorted(results):
        r = results[sid]
        score, mx = r.get("score"), r.get("max_score") or 0
        if r.get("status") == "error":
            score = None  # not the student's score: nothing goes into the gradebook
        pct = f"{100.0 * score / mx:.0f}" if score is not None and mx else "-"
        reason = r.get("reason") or ""
        rows.append(
            (
                sid,
                r.get("status", "?"),
                "-" if score is None else f"{score:g}",
                f"{mx:g}",
                pct,
                f"{r.get('seconds') or 0:.1f}s",
                reason if len(reason) <= 90 else reason[:89] + "…",
            )
        )
    return text_table(("student", "status", "score", "max", "%", "time", "reason"), rows)


class _Progress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        from tqdm import tqdm

        self.failures = 0
        self.bar = tqdm(
            total=total,
            unit="sub",
            desc="grading",
            file=sys.stderr,
            disable=not enabled or total == 0,
            dynamic_ncols=True,
            smoothing=0.1,
        )

    def update(self, result: GradingResult) -> None:
        if not result.ok:
            self.failures += 1
        self.bar.set_postfix_str(f"failed {self.failures}, last {result.student}: {result.status}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _prepare(course_dir: str | Path | None, assignment: str) -> tuple[Path, str, str, AssignmentSpec]:
    from autograder.course import CourseError, course_root

    try:
        course_dir = course_root(course_dir)
    except CourseError as exc:
        raise GradingError(str(exc)) from None
    use_in_process_head()  # a gradebook nbgrader creates in this process is stamped without running alembic
    try:
        db_url, course_id = config_mod.existing_gradebook(course_dir)
    except config_mod.NoGradebook as exc:
        raise GradingError(str(exc)) from None
    try:
        spec = spec_mod.extract(db_url, assignment, course_id)
    except LookupError as exc:
        raise GradingError(str(exc)) from None
    return course_dir, db_url, course_id, spec


def _extensions(course_dir: Path) -> dict[tuple[str, str], float]:
    """The course's ``extensions.csv`` (:mod:`autograder.grading.extensions`); a malformed one stops grading."""
    try:
        return extensions_mod.read(course_dir)
    except extensions_mod.ExtensionsError as exc:
        raise GradingError(str(exc)) from None


def _extension_of(
    table: dict[tuple[str, str], float], db_url: str, assignment: str, student: str, course_id: str, known: bool
) -> float | None:
    """A student's extension in seconds: the course file's, else one granted in the gradebook (``known``: it has the student's submission)."""
    if (assignment, student) in table:
        return table[(assignment, student)]
    return spec_mod.extension(db_url, assignment, student, course_id) if known else None


def _isolation(mode: str, out: TextIO | None = None) -> str:
    """Check the sandbox before grading starts; print loudly when submissions will not be isolated."""
    try:
        isolation = sandbox_mod.resolve(mode)
    except sandbox_mod.SandboxUnavailable as exc:
        raise GradingError(str(exc)) from None
    if isolation == "none":
        line = sandbox_mod.warning(mode)
        print(f"\n*** {line} ***\n", file=out or sys.stderr)
    return isolation


def _run_preflight(engine: Backend, task: GradingTask, out: TextIO, course_dir: Path, spec: AssignmentSpec) -> None:
    """Grade the course's own solution on ``engine``; raise :class:`GradingError` unless it earns full marks.

    Meanwhile, in a thread of this process (idle while the engine grades), nbgrader generates the lab
    afresh to see whether the gradebook holds the lab as ``source/`` has it now: a stale gradebook is
    named before anything else, since old hidden tests may be why the solution lost points.
    """
    from autograder.grading import preflight

    got: list[GradingResult] = []
    t0 = time.monotonic()
    print("Preflight: grading the course's own solution the same way first ...", file=out)
    out.flush()
    with ThreadPoolExecutor(1, thread_name_prefix="gradebook-check") as pool:
        stale = pool.submit(preflight.gradebook_problem, course_dir, task.assignment, spec)
        engine.run([task], got.append)
        problem = stale.result()
    if problem:
        raise GradingError(f"preflight failed: {problem}")
    try:
        preflight.check(got[0], task.assignment)
    except preflight.PreflightFailed as exc:
        raise GradingError(f"preflight failed: {exc}") from None
    r = got[0]
    print(f"Preflight: the solution earns {r.score:g}/{r.max_score:g} ({time.monotonic() - t0:.0f} s).", file=out)


def _solution_task(
    course_dir: Path,
    assignment: str,
    spec: AssignmentSpec,
    limits: Limits,
    profile: str | None,
    sandbox: str,
    config_text: str | None = None,
    source_files: dict[str, bytes] | None = None,
    seed_db: bytes = b"",
) -> GradingTask:
    from autograder.grading import preflight

    config_text = config_text if config_text is not None else (course_dir / "nbgrader_config.py").read_text()
    if source_files is None:
        source_files = read_folder(course_dir / "source" / assignment, skip_notebooks=True)
    try:
        return preflight.solution_task(
            course_dir, assignment, spec, limits, profile, sandbox, config_text, source_files, seed_db
        )
    except preflight.PreflightFailed as exc:
        raise GradingError(f"preflight failed: {exc}") from None


class _Direct:
    """A backend of one: grade tasks here, one after the other (``--one``)."""

    def run(self, tasks: Iterable[GradingTask], on_result: OnResult) -> None:
        for task in tasks:
            on_result(worker.grade_task(task, assign_slots(1)[0], launcher="exec"))


def grade_one_staged(
    course_dir: str | Path | None,
    assignment: str,
    student: str,
    limits: Limits,
    profile: str | None = None,
    sandbox: str = "auto",
    preflight: bool = True,
    out: TextIO | None = None,
) -> GradingResult:
    """The unit of work as a command: grade one student, stage the result (no gradebook write).

    With ``preflight`` the course's own solution is graded first, here, the same way.
    """
    out = out or sys.stdout
    course_dir, db_url, course_id, spec = _prepare(course_dir, assignment)
    if not submission_folder(course_dir, assignment, student).is_dir():
        raise GradingError(f"No submission of {assignment} by {student!r} in {course_dir / 'submitted'}.")
    info = spec_mod.student_info(db_url, student, course_id)
    _isolation(sandbox)
    seed_db = spec_mod.template_db(spec, db_url)
    engine = _Direct()
    if preflight:
        _run_preflight(
            engine,
            _solution_task(course_dir, assignment, spec, limits, profile, sandbox, seed_db=seed_db),
            out,
            course_dir,
            spec,
        )
    task = build_task(
        course_dir,
        assignment,
        student,
        spec,
        limits,
        profile,
        info,
        seed_db=seed_db,
        sandbox=sandbox,
        extension=_extension_of(_extensions(course_dir), db_url, assignment, student, course_id, True),
    )
    got: list[GradingResult] = []
    engine.run([task], got.append)
    state.stage(course_dir, got[0])
    return got[0]


def grade_class(
    course_dir: str | Path | None,
    assignment: str,
    students: Sequence[str] | None = None,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    limits: Limits | None = None,
    profile: str | None = None,
    resume: bool = False,
    progress: bool = True,
    out: TextIO | None = None,
    sandbox: str = "auto",
    preflight: bool = True,
) -> Summary:
    """Grade ``assignment`` for ``students`` (default: every submission); return a :class:`Summary`.

    With ``preflight`` (the default) the course's own solution is graded first
    through the same backend and settings, and nothing is recorded unless it
    earns full marks (:mod:`autograder.grading.preflight`). A result with
    status ``error`` (the grader's failure, not the student's) goes into the
    results file but not into the gradebook, so it is never a student's zero
    and ``--resume`` grades it again.
    """
    out = out or sys.stdout
    t_start = time.monotonic()
    course_dir, db_url, course_id, spec = _prepare(course_dir, assignment)
    workers = workers or default_workers(backend)
    limits = limits or Limits.default(workers, profile)
    available = list_submissions(course_dir, assignment)
    if students:
        missing = [s for s in students if s not in available]
        if missing:
            raise GradingError(f"No submission of {assignment} by: {', '.join(missing)}.")
        students = list(dict.fromkeys(students))
    else:
        students = available
    if not students:
        raise GradingError(f"No submissions of {assignment} in {course_dir / 'submitted'}.")
    extension_table = _extensions(course_dir)

    with state.GraderLock(course_dir):
        results = state.ResultsFile(course_dir, assignment)
        digests = {s: digest(read_folder(submission_folder(course_dir, assignment, s))) for s in students}
        in_gradebook = _submissions_in_gradebook(db_url, course_id, assignment)
        graded: list[str] = []

        def accept(result: GradingResult) -> None:
            if result.status != "error":
                merge_mod.merge(course_dir, db_url, result, course_id)
                in_gradebook.add(result.student)
            results.record(result)
            graded.append(result.student)

        # Results staged by one-student runs (a Slurm job array, an earlier --one), merged after the preflight.
        staged: list[tuple[Path, GradingResult]] = []
        stale: list[tuple[Path, GradingResult]] = []
        for path in state.staged(course_dir, assignment):
            try:
                result = state.load_staged(path)
            except (OSError, ValueError):
                continue  # being written, or broken: left for a later run
            if result.student not in digests:
                continue  # not asked for this time: kept for a later run
            (staged if result.digest == digests[result.student] else stale).append((path, result))
        from_staging = {result.student for _, result in staged}

        todo: list[str] = []
        skipped: list[str] = []
        for s in students:
            entry = results.students.get(s)
            done = (
                entry is not None
                and entry.get("digest") == digests[s]
                and s in in_gradebook
                and entry.get("status") != "error"
            )
            if s in from_staging:
                continue
            if resume and done:
                skipped.append(s)
            else:
                todo.append(s)
        todo = order.longest_first(todo, lambda s: submission_folder(course_dir, assignment, s), spec)

        engine: DaskBackend | LocalBackend
        if backend == "dask":
            engine = DaskBackend(worker.grade_task, workers, scheduler)
        else:
            engine = LocalBackend(worker.grade_task, workers, fork_is_safe=worker.fork_is_safe)
        print(
            f"Grading {len(todo)} submission(s) of {assignment}"
            + (f" ({len(skipped)} already graded)" if skipped else "")
            + f" on {engine.describe()}.",
            file=out,
        )
        print(f"Limits: {limits.describe()}. Results: {results.path}", file=out)
        work = bool(todo or staged)
        if work and backend != "dask":
            isolation = _isolation(sandbox)
            print(
                "Isolation: "
                + (
                    "each kernel runs in a bubblewrap sandbox (no network, no course files)"
                    if isolation == "bubblewrap"
                    else "NONE"
                ),
                file=out,
            )
        elif work:
            print(
                f"Isolation: decided on each Dask worker (--sandbox {sandbox}); see each result's 'isolation'.",
                file=out,
            )
        out.flush()

        info_cache: dict[str, StudentInfo] = {}
        config_text = (course_dir / "nbgrader_config.py").read_text()
        source_files = read_folder(course_dir / "source" / assignment, skip_notebooks=True)
        seed_db = spec_mod.template_db(spec, db_url) if work else b""

        def tasks() -> Iterator[GradingTask]:
            for s in todo:
                info_cache[s] = spec_mod.student_info(db_url, s, course_id) if s in in_gradebook else {}
                yield build_task(
                    course_dir,
                    assignment,
                    s,
                    spec,
                    limits,
                    profile,
                    info_cache[s],
                    config_text,
                    source_files,
                    seed_db,
                    sandbox,
                    _extension_of(extension_table, db_url, assignment, s, course_id, s in in_gradebook),
                )

        try:
            if work:
                engine.start()  # workers first: forking must happen before the progress bar's thread
                if preflight:
                    _run_preflight(
                        engine,
                        _solution_task(
                            course_dir, assignment, spec, limits, profile, sandbox, config_text, source_files, seed_db
                        ),
                        out,
                        course_dir,
                        spec,
                    )
            for path, result in staged:
                accept(result)
                path.unlink()
            for path, _result in stale:
                path.unlink()  # the submission changed since: graded again below
            if todo:
                bar = _Progress(len(todo), enabled=progress)

                def on_result(result: GradingResult) -> None:
                    accept(result)
                    bar.update(result)

                try:
                    engine.run(tasks(), on_result)
                finally:
                    bar.close()
        finally:
            if work:
                engine.close()

    summary = Summary(
        assignment,
        {s: results.students.get(s, {}) for s in students},
        graded,
        skipped,
        time.monotonic() - t_start,
        results.path,
    )
    return summary


def _submissions_in_gradebook(db_url: str, course_id: str, assignment: str) -> set[str]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return set()
        return {sub.student_id for sub in a.submissions}


def print_summary(summary: Summary, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print(_format_table(summary.results), file=out)
    n = len(summary.results)
    fails = summary.failures
    print(
        f"\n{n} submission(s): {n - len(fails)} ok, {len(fails)} with a recorded failure; "
        f"{len(summary.graded)} graded now, {len(summary.skipped)} skipped; {summary.seconds:.0f} s.",
        file=out,
    )
    print(f"Reasons and per-cell scores: {summary.results_path}", file=out)
    if summary.errors:
        print(
            f"\n{len(summary.errors)} submission(s) could not be graded because of the grader, not the student "
            f"({', '.join(sorted(summary.errors))}): nothing was recorded for them in the gradebook. Fix the "
            "reason shown, then `cnncourse grade ... --resume` grades them again.",
            file=out,
        )
