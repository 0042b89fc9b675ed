"""Grade on submit: collect new submissions, grade them and return feedback, with no instructor action.

Run in the course directory (on JupyterHub: as a hub-managed service)::

    cnncourse watch                                  # every lab in the gradebook, every 60 s, until Ctrl-C
    cnncourse watch lab1-convolution --once          # what is waiting now, then exit (cron)
    cnncourse watch --once --grade-held              # and what the daily budget held back

Each cycle, for each lab, with nbgrader's own exchange classes and the
course's grading engine:

1. the latest submission of each student is read from nbgrader's exchange
   (``ExchangeCollect``, as ``nbgrader collect`` finds it); one is *new* when
   it is not the submission last graded for that student (a resubmission
   after grading is new);
2. within the daily budget (``--max-per-day``), a new submission is
   collected (``nbgrader collect --update`` for that student) and graded by
   ``cnncourse grade``'s engine (sandbox, limits, ``--resume``: a
   submission already graded as it is now is not graded again). The
   preflight grades the course's own solution first: once per lab while the
   watch runs (each ``--once`` run, once), and again when the lab's source,
   its release or the course's ``nbgrader_config.py`` change; never once
   per student. A lab whose grading could not start (the preflight failed)
   is tried again after 10 minutes;
3. feedback is generated with the hidden tests' source hidden (nbgrader's
   ``generate_feedback`` with :class:`autograder.feedback.HideHiddenTests`)
   and released (``release_feedback``), so ``nbgrader fetch_feedback`` (or
   the Assignments tab) gives the student their score and feedback.

One line is logged per graded submission. A submission over the budget is
not graded now: it stays in the exchange (nothing is lost), the log says so,
and the student's feedback says when it will be graded: at the next day
(the grader's local midnight) or when the instructor runs ``--grade-held``.
A malformed submission is graded (zero, status ``malformed``) and its
feedback says the notebook could not be read, so the student can submit
again. Per student and lab, ``autograded/.watch/<lab>/<student>.json`` keeps
what happened and when: the submissions graded (with time, status and
score), and the latest state (``graded``, ``held``, ``malformed``,
``error``) with a one-line message.

Exit status (``--once``): 0 when everything waiting was graded or held, 1
when some submission could not be graded for the grader's reasons (it is
tried again on the next run), 2 when watching could not start (not a course
directory, unknown lab, no exchange). Without ``--once`` it runs until
Ctrl-C (or SIGTERM, as a service is stopped) and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import html
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

DEFAULT_INTERVAL = 60.0
DEFAULT_MAX_PER_DAY = 3
RETRY_AFTER = 600.0  # seconds before a lab whose grading could not start is tried again (loop mode)
KEEP_ATTEMPTS = 50  # graded submissions kept per student and lab in the status file


class WatchError(RuntimeError):
    """Watching cannot start: the message names the problem and the fix."""


# --------------------------------------------------------------------------
# Submissions and the status file
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Submission:
    """A student's latest submission of a lab in the exchange's inbound folder.

    Args:
        lab: the assignment id.
        student: the student id.
        name: the submission's folder name in the exchange (``student+lab+timestamp+random``).
        submitted: when it was submitted (nbgrader's timestamp, in UTC without a time zone, as nbgrader keeps it).
        path: the submission's folder in the exchange.
    """

    lab: str
    student: str
    name: str
    submitted: dt.datetime
    path: Path


def utc_text(when: dt.datetime) -> str:
    """A submission time as students see it: ``2025-01-02 10:11:12 UTC``."""
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def now() -> dt.datetime:
    """The current time, local and aware (a day is the grader's local day)."""
    return dt.datetime.now().astimezone()


def status_path(course_dir: str | Path, lab: str, student: str) -> Path:
    """``autograded/.watch/<lab>/<student>.json``: what happened to a student's submissions of a lab."""
    return Path(course_dir) / "autograded" / ".watch" / lab / f"{student}.json"


def read_status(course_dir: str | Path, lab: str, student: str) -> dict[str, Any]:
    """The student's status file as a dict (an empty one when there is none or it is broken)."""
    path = status_path(course_dir, lab, student)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault("student", student)
    data.setdefault("lab", lab)
    data.setdefault("graded", [])
    return data


def write_status(course_dir: str | Path, data: dict[str, Any]) -> Path:
    """Write a status file atomically; return its path."""
    path = status_path(course_dir, data["lab"], data["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    data["graded"] = data["graded"][-KEEP_ATTEMPTS:]
    data["updated"] = now().isoformat(timespec="seconds")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
    return path


def graded_on(status: dict[str, Any], day: dt.date) -> int:
    """How many submissions in ``status`` were graded on ``day`` (the grader's local calendar day)."""
    count = 0
    for attempt in status.get("graded", []):
        try:
            when = dt.datetime.fromisoformat(attempt["graded_at"]).astimezone()
        except (KeyError, TypeError, ValueError):
            continue
        count += when.date() == day
    return count


def is_new(sub: Submission, status: dict[str, Any]) -> bool:
    """Whether ``sub`` is not the submission last graded for its student."""
    graded = status.get("graded") or []
    return not graded or graded[-1].get("submission") != sub.name


def plan(
    subs: Sequence[Submission],
    statuses: dict[str, dict[str, Any]],
    max_per_day: int,
    grade_held: bool,
    day: dt.date,
) -> tuple[list[Submission], list[tuple[Submission, int]]]:
    """Split the new submissions into those to grade now and those the budget holds.

    Args:
        subs: each student's latest submission of one lab.
        statuses: ``{student: status file}`` (see :func:`read_status`).
        max_per_day: graded submissions allowed per student, lab and day (0: no limit).
        grade_held: grade every new submission now, whatever the budget says.
        day: today, in the grader's local time.

    Returns:
        ``(to grade, held)``; each held entry is ``(submission, graded today)``.

    Example:
        >>> s = Submission("lab1", "ann", "ann+lab1+t2", dt.datetime(2025, 1, 2), Path("x"))
        >>> st = {"ann": {"graded": [{"submission": "ann+lab1+t1", "graded_at": "2025-01-02T09:00:00+00:00"}]}}
        >>> [x.student for x in plan([s], st, 1, False, dt.date(2025, 1, 3))[0]]
        ['ann']
    """
    grade: list[Submission] = []
    held: list[tuple[Submission, int]] = []
    for sub in subs:
        status = statuses.get(sub.student, {})
        if not is_new(sub, status):
            continue
        today = graded_on(status, day)
        if max_per_day and today >= max_per_day and not grade_held:
            held.append((sub, today))
        else:
            grade.append(sub)
    return grade, held


# --------------------------------------------------------------------------
# nbgrader: configuration, exchange, feedback
# --------------------------------------------------------------------------
def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


class Nbgrader:
    """nbgrader's apps for one course directory, configured as nbgrader configures itself.

    The configuration is read the way nbgrader's commands read it: every
    ``nbgrader_config.py`` on Jupyter's config path (on a hub,
    ``/etc/jupyter/nbgrader_config.py`` sets the exchange), then the course
    directory's own. Feedback is generated with the hidden tests hidden.

    Args:
        course_dir: the course directory.
        overrides: extra settings as nbgrader's command line takes them
            (``["--Exchange.root=/srv/exchange"]``).
    """

    def __init__(self, course_dir: Path, overrides: Sequence[str] = ()) -> None:
        import logging

        from nbgrader.apps.api import NbGraderAPI
        from nbgrader.apps.baseapp import NbGrader
        from nbgrader.auth import Authenticator
        from nbgrader.exchange import ExchangeFactory
        from traitlets.config import Config

        from autograder import feedback
        from autograder.gradebook_version import use_in_process_head

        class WatchApp(NbGrader):
            name = "cnncourse-watch"
            load_cwd_config = False  # the course directory's config, wherever this runs

        use_in_process_head()  # a gradebook nbgrader creates here is stamped without running alembic
        self.course_dir = course_dir
        self.app = WatchApp(log_level=logging.ERROR)
        self.app.initialize(list(overrides), root=str(course_dir))
        self.app.update_config(Config({"GenerateFeedback": {"preprocessors": feedback.preprocessors()}}))
        self.coursedir = self.app.coursedir
        self.authenticator = Authenticator(parent=self.app)
        self.exchange = ExchangeFactory(parent=self.app)
        self._api: Any = None
        self._api_class = NbGraderAPI

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = self._api_class(self.coursedir, self.authenticator, self.exchange, parent=self.app)
        return self._api

    @property
    def course_id(self) -> str:
        return str(self.coursedir.course_id)

    @property
    def root(self) -> Path:
        """The exchange's root folder."""
        return Path(self.exchange.Collect(coursedir=self.coursedir, authenticator=self.authenticator).root)

    @contextlib.contextmanager
    def _on(self, **attrs: str) -> Iterator[None]:
        """Set course-directory attributes for one nbgrader call (put back even when it fails)."""
        old = {k: getattr(self.coursedir, k) for k in attrs}
        for k, v in attrs.items():
            setattr(self.coursedir, k, v)
        try:
            yield
        finally:
            for k, v in old.items():
                setattr(self.coursedir, k, v)

    def check_exchange(self) -> None:
        """Raise :class:`WatchError` unless the exchange's root is a folder this process can write to."""
        import os

        root = self.root
        fix = (
            "create it (e.g. `install -d -m 1777 {0}`) or point c.Exchange.root in nbgrader_config.py at the "
            "exchange the students submit to"
        ).format(root)
        if not root.exists():
            raise WatchError(f"the exchange {root} does not exist: {fix}.")
        if not root.is_dir():
            raise WatchError(f"the exchange {root} is not a folder: {fix}.")
        if not os.access(root, os.W_OK | os.X_OK):
            raise WatchError(
                f"the exchange {root} is not writable by this user (feedback is released there): run the "
                "watch as the course's grader account, or make the exchange writable (mode 1777)."
            )

    def latest_submissions(self, lab: str) -> list[Submission]:
        """Each student's latest submission of ``lab`` in the exchange, as ``nbgrader collect`` picks it."""
        inbound = self.root / self.course_id / "inbound"
        if not inbound.is_dir():
            return []  # nothing released to this exchange yet
        with self._on(assignment_id=lab, student_id="*"):
            collect = self.exchange.Collect(coursedir=self.coursedir, authenticator=self.authenticator)
            collect.init_src()  # ExchangeCollect's own choice: the newest per student (or the last before the due date)
            records = list(getattr(collect, "src_records", []))
        return sorted(
            (Submission(lab, r["username"], r["filename"], r["timestamp"], inbound / r["filename"]) for r in records),
            key=lambda s: s.student,
        )

    def collect(self, sub: Submission) -> str:
        """``nbgrader collect --update`` for one student; ``""`` when ``submitted/`` now holds ``sub``, else why not."""
        from nbgrader.utils import capture_log

        with self._on(assignment_id=sub.lab, student_id=sub.student):
            app = self.exchange.Collect(coursedir=self.coursedir, authenticator=self.authenticator)
            app.update = True
            res = capture_log(app)
            folder = Path(self.coursedir.format_path(self.coursedir.submitted_directory, sub.student, sub.lab))
            there = self.coursedir.get_existing_timestamp(str(folder)) if folder.is_dir() else None
        if not res.get("success"):
            return "nbgrader could not collect it: " + _last_line(res.get("error") or res.get("log"))
        if there != sub.submitted:
            return f"after collecting, {folder} does not hold the submission of {utc_text(sub.submitted)}"
        return ""

    def feedback(self, lab: str, student: str) -> str:
        """Generate and release a student's feedback; ``""`` when done, else why not."""
        res = self.api.generate_feedback(lab, student_id=student, force=True)
        folder = Path(self.coursedir.format_path(self.coursedir.feedback_directory, student, lab))
        if not res.get("success") or not any(folder.glob("*.html")):
            return "nbgrader could not generate the feedback: " + _last_line(res.get("error") or res.get("log"))
        res = self.api.release_feedback(lab, student_id=student)
        if not res.get("success"):
            return "nbgrader could not release the feedback: " + _last_line(res.get("error") or res.get("log"))
        return ""

    def release_note(self, sub: Submission, title: str, message: str) -> str:
        """Release a short page as the feedback of ``sub`` (held, or unreadable); ``""`` when done, else why not.

        The page goes through nbgrader's ``release_feedback`` from a scratch
        feedback folder, keyed to the submission as nbgrader keys feedback,
        so ``fetch_feedback`` brings it; the real feedback, once graded,
        replaces it.
        """
        from nbgrader.utils import capture_log

        notebooks = sorted(p.stem for p in sub.path.glob("*.ipynb"))
        secret = sub.path / "submission_secret.txt"
        if not notebooks or not secret.is_file():
            return "the submission has no notebook or no submission secret to key the note to"
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{0}</title></head><body>"
            "<h1>{0}</h1><p>{1}</p></body></html>"
        ).format(html.escape(title), html.escape(message))
        with tempfile.TemporaryDirectory() as tmp, self._on(root=tmp, assignment_id=sub.lab, student_id=sub.student):
            folder = Path(self.coursedir.format_path(self.coursedir.feedback_directory, sub.student, sub.lab))
            folder.mkdir(parents=True)
            for name in ("timestamp.txt", "submission_secret.txt"):
                (folder / name).write_bytes((sub.path / name).read_bytes())
            for nb in notebooks:
                (folder / f"{nb}.html").write_text(page, encoding="utf-8")
            res = capture_log(self.exchange.ReleaseFeedback(coursedir=self.coursedir, authenticator=self.authenticator))
        if not res.get("success"):
            return "nbgrader could not release the note: " + _last_line(res.get("error") or res.get("log"))
        return ""


# --------------------------------------------------------------------------
# One cycle
# --------------------------------------------------------------------------
Log = Callable[[str], None]


def make_log(stream: Any = None) -> Log:
    """A logger that writes ``YYYY-MM-DD HH:MM:SS message`` lines to ``stream`` (default: stdout)."""

    def log(message: str) -> None:
        out = stream or sys.stdout
        stamp = now().strftime("%Y-%m-%d %H:%M:%S")
        for i, line in enumerate(message.splitlines() or [""]):
            print(f"{stamp} {line}" if i == 0 else f"    {line}", file=out, flush=True)

    return log


def lab_fingerprint(course_dir: Path, lab: str) -> str:
    """A checksum of what a passed preflight vouches for: the lab's source and release and the course config."""
    from autograder.grading.task import digest, read_folder

    h = hashlib.sha256()
    for folder in (course_dir / "source" / lab, course_dir / "release" / lab):
        h.update(digest(read_folder(folder)).encode())
    h.update((course_dir / "nbgrader_config.py").read_bytes())
    return h.hexdigest()


def grader_busy(course_dir: Path) -> bool:
    """Whether another grader (``cnncourse grade``) holds the course's lock now."""
    from autograder.grading import state

    try:
        with state.GraderLock(course_dir):
            return False
    except state.GraderBusy:
        return True


@dataclasses.dataclass
class Options:
    """What a watch does each cycle (from the command line)."""

    max_per_day: int = DEFAULT_MAX_PER_DAY
    grade_held: bool = False
    workers: int | None = None
    limits: Any = None
    profile: str | None = None
    sandbox: str = "auto"
    preflight: bool = True


@dataclasses.dataclass
class Cycle:
    """What one cycle did."""

    graded: list[str] = dataclasses.field(default_factory=list)  # "lab/student"
    held: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)  # not graded for the grader's reasons


class Watcher:
    """Collects, grades and returns feedback for a course, one cycle at a time.

    Args:
        course_dir: the course directory.
        nb: nbgrader's apps for it (:class:`Nbgrader`).
        options: what to do (:class:`Options`).
        log: where the one-line messages go (:func:`make_log`).
    """

    def __init__(self, course_dir: Path, nb: Nbgrader, options: Options, log: Log) -> None:
        self.course_dir = course_dir
        self.nb = nb
        self.options = options
        self.log = log
        self.preflight_passed: dict[str, str] = {}  # lab -> fingerprint it passed with
        self.retry_at: dict[str, float] = {}  # lab -> when to try again after grading could not start

    def cycle(self, labs: Sequence[str]) -> Cycle:
        """Handle what is waiting for ``labs``."""
        done = Cycle()
        for lab in labs:
            if time.monotonic() < self.retry_at.get(lab, 0.0):
                continue
            try:
                self._lab(lab, done)
            except Exception as exc:  # noqa: BLE001 (a watch outlives one lab's failure, and says what it was)
                self.log(f"{lab}: error: {type(exc).__name__}: {exc}; tried again in the next cycle")
                done.failed.append(lab)
        return done

    def _lab(self, lab: str, done: Cycle) -> None:
        subs = self.nb.latest_submissions(lab)
        statuses = {s.student: read_status(self.course_dir, lab, s.student) for s in subs}
        today = now().date()
        todo, held = plan(subs, statuses, self.options.max_per_day, self.options.grade_held, today)
        for sub, count in held:
            self._hold(sub, count, statuses[sub.student])
            done.held.append(f"{lab}/{sub.student}")
        if not todo:
            return
        if grader_busy(self.course_dir):
            self.log(f"{lab}: {len(todo)} waiting; another `cnncourse grade` is running: graded in the next cycle")
            return
        ready = []
        for sub in todo:
            problem = self.nb.collect(sub)
            if problem:
                self._not_graded(sub, statuses[sub.student], problem, done)
            else:
                ready.append(sub)
        if ready:
            self._grade(lab, ready, statuses, done)

    def _hold(self, sub: Submission, count: int, status: dict[str, Any]) -> None:
        if status.get("state") == "held" and status.get("submission") == sub.name:
            return  # said already
        when = "after midnight (the grader's time) or when the instructor runs `cnncourse watch --grade-held`"
        message = (
            f"held: {count} submission(s) of {sub.lab} graded today, the limit is {self.options.max_per_day} "
            f"a day; kept, graded {when}"
        )
        status.update(state="held", submission=sub.name, submitted=sub.submitted.isoformat(), message=message)
        write_status(self.course_dir, status)
        self.log(f"{sub.lab} {sub.student}: {message}")
        problem = self.nb.release_note(
            sub,
            f"{sub.lab}: submission received, not graded yet",
            f"Your submission of {utc_text(sub.submitted)} is kept, and is not graded yet: "
            f"{count} of your submissions of {sub.lab} were graded today, and at most {self.options.max_per_day} "
            "a day are. It will be graded after midnight (the course server's time), and your latest submission "
            "is the one that counts. Fetch feedback again then to see its score.",
        )
        if problem:
            self.log(f"{sub.lab} {sub.student}: the note to the student was not released: {problem}")

    def _not_graded(self, sub: Submission, status: dict[str, Any], why: str, done: Cycle) -> None:
        message = f"not graded: {why}; tried again in the next cycle"
        status.update(state="error", submission=sub.name, submitted=sub.submitted.isoformat(), message=message)
        write_status(self.course_dir, status)
        self.log(f"{sub.lab} {sub.student}: {message}")
        done.failed.append(f"{sub.lab}/{sub.student}")

    def _grade(self, lab: str, subs: list[Submission], statuses: dict[str, dict[str, Any]], done: Cycle) -> None:
        import io

        from autograder.grading.runner import GradingError, grade_class
        from autograder.grading.state import GraderBusy

        fingerprint = lab_fingerprint(self.course_dir, lab)
        preflight = self.options.preflight and self.preflight_passed.get(lab) != fingerprint
        self.log(f"{lab}: grading {len(subs)} submission(s)" + (" (the course's solution first)" if preflight else ""))
        try:
            summary = grade_class(
                self.course_dir,
                lab,
                students=[s.student for s in subs],
                workers=self.options.workers,
                limits=self.options.limits,
                profile=self.options.profile,
                resume=True,  # a submission already graded as it is now (by `cnncourse grade`) is not graded again
                progress=False,
                out=io.StringIO(),
                sandbox=self.options.sandbox,
                preflight=preflight,
            )
        except (GradingError, GraderBusy) as exc:
            self.retry_at[lab] = time.monotonic() + RETRY_AFTER
            for sub in subs:
                done.failed.append(f"{lab}/{sub.student}")
            self.log(f"{lab}: grading could not start: {exc}")
            return
        if preflight and summary.graded:
            self.preflight_passed[lab] = fingerprint
        for sub in subs:
            entry = summary.results.get(sub.student) or {}
            status = statuses[sub.student]
            if entry.get("status", "error") == "error":
                self._not_graded(sub, status, f"the grader failed: {entry.get('reason') or 'no reason'}", done)
                continue
            self._graded(sub, entry, status, fresh=sub.student in summary.graded)
            done.graded.append(f"{lab}/{sub.student}")

    def _graded(self, sub: Submission, entry: dict[str, Any], status: dict[str, Any], fresh: bool) -> None:
        kind = entry.get("status", "?")
        score = f"{entry.get('score') or 0:g}/{entry.get('max_score') or 0:g}"
        graded_at = now().isoformat(timespec="seconds") if fresh else str(entry.get("graded_at"))
        status["graded"].append(
            {
                "submission": sub.name,
                "submitted": sub.submitted.isoformat(),
                "graded_at": graded_at,
                "status": kind,
                "score": entry.get("score"),
                "max_score": entry.get("max_score"),
            }
        )
        reason = entry.get("reason") or ""
        if kind == "malformed":
            problem = self.nb.release_note(
                sub,
                f"{sub.lab}: your submission could not be read",
                f"Your submission of {utc_text(sub.submitted)} scores 0: {reason}. "
                "Open the notebook in Jupyter, check that it opens and runs, save it and submit again.",
            )
            told = "note released (it asks for a new submission)" if not problem else f"note not released: {problem}"
        else:
            problem = self.nb.feedback(sub.lab, sub.student)
            told = "feedback released" if not problem else f"feedback not released: {problem}"
        line = f"{kind} {score}" + (f" ({reason})" if reason else "") + ("" if fresh else " (graded before)")
        status.update(
            state="malformed" if kind == "malformed" else "graded",
            submission=sub.name,
            submitted=sub.submitted.isoformat(),
            message=f"{line}; {told}",
        )
        write_status(self.course_dir, status)
        seconds = entry.get("seconds")
        took = f" in {seconds:.0f} s" if fresh and isinstance(seconds, (int, float)) else ""
        self.log(f"{sub.lab} {sub.student}: {line}{took}; {told}")


# --------------------------------------------------------------------------
# Labs, and the command
# --------------------------------------------------------------------------
def gradebook_labs(course_dir: Path) -> list[str]:
    """The labs recorded in the course's gradebook (released), sorted; none without a gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grading import config as config_mod

    try:
        db_url, course_id = config_mod.existing_gradebook(course_dir)
    except config_mod.NoGradebook:
        return []
    with Gradebook(db_url, course_id) as gb:
        return sorted(a.name for a in gb.assignments)


def check_labs(course_dir: Path, labs: Sequence[str], require_some: bool = True) -> None:
    """Raise :class:`WatchError` unless every lab in ``labs`` is in the gradebook (and, with none named, some is).

    ``require_some=False`` (a watch that runs until stopped, as a hub service started before any
    lab is released) lets an empty gradebook through: the loop waits for the first lab.
    """
    from autograder.course import list_labs

    recorded = gradebook_labs(course_dir)
    known = sorted(set(recorded) | set(list_labs(course_dir)))
    for lab in labs:
        if lab not in known:
            raise WatchError(
                f"unknown lab {lab!r}: the course has no source/{lab}/{lab}.ipynb; known labs: {', '.join(known) or 'none'}."
            )
        if lab not in recorded:
            raise WatchError(
                f"{lab} is not in the gradebook yet: run `cnncourse release {lab}` (it records the lab) and "
                f"`nbgrader release_assignment {lab}` (students fetch it), then watch."
            )
    if not labs and not recorded and require_some:
        raise WatchError(
            "no lab is in the gradebook yet: run `cnncourse release LAB` and `nbgrader release_assignment LAB` "
            "first, or name the labs to watch."
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from autograder.grading.runner import COUNT, COUNT_OR_ZERO, SECONDS, add_limit_arguments

    parser.add_argument(
        "labs", nargs="*", metavar="LAB", help="labs to watch (default: every lab in the gradebook, each cycle)"
    )
    parser.add_argument("--once", action="store_true", help="handle what is waiting now, then exit (for cron)")
    parser.add_argument(
        "--interval",
        type=SECONDS,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"seconds between cycles (default: {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--max-per-day",
        type=COUNT_OR_ZERO,
        default=DEFAULT_MAX_PER_DAY,
        metavar="N",
        help=f"graded submissions per student, lab and day; one more is kept and graded the next day "
        f"(default: {DEFAULT_MAX_PER_DAY}; 0: no limit)",
    )
    parser.add_argument(
        "--grade-held",
        action="store_true",
        help="in the first cycle, grade what the daily budget held back (and anything new), whatever the budget",
    )
    parser.add_argument(
        "--workers",
        type=COUNT,
        default=None,
        metavar="N",
        help="parallel workers (default: as `cnncourse grade`: CPU cores, at most 4)",
    )
    add_limit_arguments(parser)
    parser.add_argument(
        "--no-preflight",
        action="store_true",
        help="do not grade the course's own solution first (by default it is, once per lab until its files change)",
    )
    parser.add_argument("--course-dir", default=None, help="course directory (default: the current one)")


def _stop_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM (a service being stopped) end the loop as Ctrl-C does; return what undoes it."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, old)

    return restore


def start(args: argparse.Namespace) -> tuple[Watcher, list[str]]:
    """Check the course, the labs and the exchange; return the watcher and the labs named (may be empty).

    Raises:
        WatchError: watching cannot start (the message says why and what to do).
    """
    import os

    from autograder.course import CourseError, course_root
    from autograder.grading.runner import default_workers, limits_from_args

    try:
        course_dir = course_root(args.course_dir)
    except CourseError as exc:
        raise WatchError(str(exc)) from None
    labs = list(dict.fromkeys(args.labs))
    check_labs(course_dir, labs, require_some=args.once)
    nb = Nbgrader(course_dir)
    nb.check_exchange()
    if args.profile:
        os.environ["CNNCOURSE_PROFILE"] = args.profile
    workers = args.workers or default_workers()
    options = Options(
        max_per_day=args.max_per_day,
        grade_held=args.grade_held,
        workers=workers,
        limits=limits_from_args(args, workers),
        profile=args.profile,
        sandbox=args.sandbox,
        preflight=not args.no_preflight,
    )
    return Watcher(course_dir, nb, options, make_log()), labs


def run(args: argparse.Namespace) -> int:
    try:
        watcher, named = start(args)
    except WatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log = watcher.log

    def labs() -> list[str]:
        return named or gradebook_labs(watcher.course_dir)

    budget = f"at most {args.max_per_day} a day" if args.max_per_day else "no daily limit"
    every = "once" if args.once else f"every {args.interval:g} s"
    log(f"watching {', '.join(named) or 'every lab in the gradebook'} in {watcher.nb.root}, {every}; {budget}")
    if args.once:
        done = watcher.cycle(labs())
        log(f"done: {len(done.graded)} graded, {len(done.held)} held, {len(done.failed)} not graded")
        return 1 if done.failed else 0
    restore = _stop_on_sigterm()
    waiting = False
    try:
        while True:
            current = labs()
            if not current and not waiting:
                log("no lab is in the gradebook yet: waiting for the first release")
            waiting = not current
            watcher.cycle(current)
            watcher.options.grade_held = False  # --grade-held is for the first cycle
            time.sleep(args.interval)
    except KeyboardInterrupt:
        log("stopped")
        return 0
    finally:
        restore()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cnncourse watch`` with ``argv`` (default: the command line); return the exit status."""
    parser = argparse.ArgumentParser(prog="cnncourse watch", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
