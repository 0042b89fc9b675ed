"""``cnncourse watch``: grade on submit through nbgrader's real exchange.

End to end, in a course directory outside the checkout holding lab 1 only,
with an exchange in a temporary folder set the way a hub sets it (a global
``nbgrader_config.py`` on Jupyter's config path): nbgrader releases the lab,
two students (their own homes and nbgrader caches, told apart by
``--CourseDirectory.student_id`` as on a hub) fetch it and submit, one the
course's solution and one the release as it is; ``cnncourse watch --once``
collects, grades and releases feedback; each student's ``nbgrader
fetch_feedback`` brings their score without the hidden tests' source. A
resubmission over the daily budget is held (the student is told), and
``--grade-held`` grades it. The budget's arithmetic and bad input are
checked without grading.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import course, watch
from sources import ROOT

LAB = "lab1-convolution"
COURSE = "cnncourse"
HIDDEN_SOURCE = "_correlate2d(_img, _k"  # a line of test_corr2d's hidden tests


# --------------------------------------------------------------------------
# The budget, without nbgrader
# --------------------------------------------------------------------------
def _sub(student, name, day=2):
    return watch.Submission(LAB, student, name, dt.datetime(2025, 3, day, 12), Path("unused"))


def _graded(name, day=2, hour=9):
    when = dt.datetime(2025, 3, day, hour).astimezone()
    return {"submission": name, "graded_at": when.isoformat(), "status": "ok"}


def test_plan_grades_new_submissions_within_the_budget_and_holds_the_rest():
    subs = [_sub("ann", "ann+2"), _sub("bob", "bob+1"), _sub("cy", "cy+3"), _sub("dee", "dee+1")]
    statuses = {
        "ann": {"graded": [_graded("ann+1")]},  # one graded today: a second is allowed
        "bob": {"graded": [_graded("bob+1")]},  # graded already, nothing new
        "cy": {"graded": [_graded("cy+1"), _graded("cy+2")]},  # two today: the third is held
        "dee": {},  # never graded
    }
    today = dt.date(2025, 3, 2)
    grade, held = watch.plan(subs, statuses, 2, False, today)
    assert [s.student for s in grade] == ["ann", "dee"]
    assert [(s.student, n) for s, n in held] == [("cy", 2)]
    # The next day the budget starts again; --grade-held and 0 (no limit) ignore it.
    assert [s.student for s in watch.plan(subs, statuses, 2, False, today + dt.timedelta(days=1))[0]] == [
        "ann",
        "cy",
        "dee",
    ]
    assert [s.student for s in watch.plan(subs, statuses, 2, True, today)[0]] == ["ann", "cy", "dee"]
    assert [s.student for s in watch.plan(subs, statuses, 0, False, today)[0]] == ["ann", "cy", "dee"]


def test_graded_on_counts_the_local_day_and_skips_broken_entries():
    status = {"graded": [_graded("a", 1, 23), _graded("b", 2, 0), _graded("c", 2, 23), {"submission": "d"}]}
    assert watch.graded_on(status, dt.date(2025, 3, 2)) == 2
    assert watch.graded_on(status, dt.date(2025, 3, 1)) == 1


def test_status_file_round_trip(tmp_path):
    status = watch.read_status(tmp_path, LAB, "ann")
    assert status == {"student": "ann", "lab": LAB, "graded": []}
    status["graded"] = [_graded(str(i)) for i in range(watch.KEEP_ATTEMPTS + 5)]
    path = watch.write_status(tmp_path, status)
    assert path == tmp_path / "autograded" / ".watch" / LAB / "ann.json"
    again = watch.read_status(tmp_path, LAB, "ann")
    assert len(again["graded"]) == watch.KEEP_ATTEMPTS and again["graded"][-1]["submission"] == "54"
    path.write_text("{broken")
    assert watch.read_status(tmp_path, LAB, "ann")["graded"] == []


# --------------------------------------------------------------------------
# Bad input: one line naming the problem and the fix, exit status 2
# --------------------------------------------------------------------------
def _error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_not_a_course_directory(tmp_path, capsys):
    assert watch.main(["--once", "--course-dir", str(tmp_path)]) == 2
    err = _error_line(capsys)
    assert "not a course directory" in err and "--course-dir" in err


def test_unknown_lab_and_lab_not_in_the_gradebook(tmp_path, capsys):
    c = course.make_course_copy(tmp_path / "course", [LAB], ROOT)  # no gradebook yet
    assert watch.main(["no-such-lab", "--once", "--course-dir", str(c)]) == 2
    err = _error_line(capsys)
    assert "unknown lab 'no-such-lab'" in err and LAB in err
    assert watch.main([LAB, "--once", "--course-dir", str(c)]) == 2
    err = _error_line(capsys)
    assert "not in the gradebook" in err and f"cnncourse release {LAB}" in err


def test_an_nbgrader_app_made_in_this_process_closes_no_stream_of_the_tests(capsys):
    """traitlets reconfigures logging for every app (the watch makes one): absl's handler must not close pytest's file."""
    import tensorflow  # noqa: F401 - absl's handler exists from here on
    from absl import logging as absl_logging
    from nbgrader.apps.baseapp import NbGrader

    stream = absl_logging.get_absl_handler().python_handler.stream
    NbGrader(log_level=40)
    assert not stream.closed and not sys.stderr.closed


def test_a_running_watch_waits_for_the_first_lab_a_single_pass_refuses(tmp_path, capsys):
    """A hub starts the service before anything is released: the loop waits; --once says what to do."""
    c = course.make_course_copy(tmp_path / "course", [LAB], ROOT)  # no gradebook yet
    assert watch.main(["--once", "--course-dir", str(c)]) == 2
    assert "no lab is in the gradebook yet" in _error_line(capsys)
    watch.check_labs(c, [], require_some=False)  # the loop's start: no error
    with pytest.raises(watch.WatchError, match="not in the gradebook"):
        watch.check_labs(c, [LAB], require_some=False)  # a lab named but not released is still an error


@pytest.mark.slow
def test_exchange_missing_or_not_a_folder(tmp_path, capsys, monkeypatch):
    c = course.make_course_copy(tmp_path / "course", [LAB], ROOT)
    course.generate_release(c, LAB)  # records the lab in the gradebook
    exchange = tmp_path / "exchange"
    _global_config(tmp_path / "etc", exchange, monkeypatch)
    assert watch.main(["--once", "--course-dir", str(c)]) == 2
    err = _error_line(capsys)
    assert f"the exchange {exchange} does not exist" in err and "install -d -m 1777" in err
    exchange.write_text("")
    assert watch.main(["--once", "--course-dir", str(c)]) == 2
    assert "is not a folder" in _error_line(capsys)
    if os.geteuid() != 0:  # root writes anywhere
        exchange.unlink()
        exchange.mkdir(mode=0o555)
        assert watch.main(["--once", "--course-dir", str(c)]) == 2
        assert "not writable" in _error_line(capsys)


# --------------------------------------------------------------------------
# End to end: release, fetch, submit, watch, fetch feedback
# --------------------------------------------------------------------------
def _global_config(etc, exchange, monkeypatch=None):
    """What a hub's /etc/jupyter/nbgrader_config.py says (deploy/jupyterhub/nbgrader_config.global.py)."""
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        f"c.CourseDirectory.course_id = {COURSE!r}\n"
    )
    if monkeypatch is not None:
        monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(etc))
    return etc


def _env(etc):
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(etc)}


def _nbgrader(args, cwd, etc):
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=_env(etc), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _together(*procs):
    """Wait for nbgrader commands started side by side (two students at once); each must succeed."""
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out


class Student:
    """A student's side: their home, their nbgrader cache, their id (as a hub tells nbgrader)."""

    def __init__(self, base, name, etc):
        self.name, self.etc = name, etc
        self.home = base / "home" / name
        self.home.mkdir(parents=True)
        self.folder = self.home / COURSE / LAB  # path_includes_course

    def start(self, *args):
        """Start ``nbgrader ARGS`` as this student, in their home; :func:`_together` waits for it."""
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nbgrader",
                *args,
                f"--CourseDirectory.student_id={self.name}",
                f"--Exchange.cache={self.home / '.nbgrader-cache'}",
            ],
            cwd=self.home,
            env=_env(self.etc),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def save(self, notebook):
        nbformat.write(notebook, str(self.folder / f"{LAB}.ipynb"))

    def feedback(self):
        """The feedback pages fetched so far, by submission timestamp."""
        return {p.parent.name: p.read_text() for p in (self.folder / "feedback").glob(f"*/{LAB}.html")}


def _grades(c):
    return {s: g.score for s, g in course.read_grades(c, LAB).items()}


@pytest.mark.slow
@pytest.mark.xdist_group("watch")
def test_watch_grades_on_submit_and_returns_feedback(tmp_path, monkeypatch, capsys):
    c = course.make_course_copy(tmp_path / "course", [LAB], ROOT)
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o1777)
    etc = _global_config(tmp_path / "etc", exchange, monkeypatch)
    _nbgrader(["generate_assignment", LAB, "--force"], c, etc)
    _nbgrader(["release_assignment", LAB], c, etc)

    ann, bob, cy = (Student(tmp_path, name, etc) for name in ("ann", "bob", "cy"))
    _together(*(s.start("fetch_assignment", LAB) for s in (ann, bob, cy)))
    released = bob.folder / f"{LAB}.ipynb"
    solved = course.perfect_submission(c / "source" / LAB / f"{LAB}.ipynb", released)
    ann.save(solved)  # bob hands in the release as it is
    (cy.folder / f"{LAB}.ipynb").write_text('{"cells": [')  # a notebook cut off
    _together(*(s.start("submit", LAB) for s in (ann, bob, cy)))

    # The watch collects and grades all three, and releases their feedback.
    args = ["--once", "--course-dir", str(c), "--workers", "2", "--max-per-day", "1"]
    assert watch.main(args) == 0
    out = capsys.readouterr().out
    assert _grades(c) == {"ann": 14.0, "bob": 0.0, "cy": 0.0}, out
    assert f"{LAB} ann: ok 14/14" in out and f"{LAB} bob: ok 0/14" in out, out
    assert f"{LAB} cy: malformed 0/14 (" in out and "note released (it asks for a new submission)" in out, out
    assert "feedback released" in out and "the course's solution first" in out, out
    assert "done: 3 graded, 0 held, 0 not graded" in out, out
    autograded = (c / "autograded" / "ann" / LAB / f"{LAB}.ipynb").read_text()
    assert HIDDEN_SOURCE in autograded  # what nbgrader's feedback shows unless it is hidden

    _together(*(s.start("fetch_feedback", LAB) for s in (ann, bob, cy)))
    for s, score in ((ann, 14), (bob, 0)):
        pages = list(s.feedback().values())
        assert len(pages) == 1, pages
        assert f"{LAB} (Score: {score:.1f} / 14.0)" in pages[0], pages[0][:1500]
        assert HIDDEN_SOURCE not in pages[0] and "BEGIN HIDDEN TESTS" not in pages[0]
        assert "hidden tests of test_corr2d" in pages[0]
    (note,) = cy.feedback().values()
    assert "could not be read" in note and "submit again" in note
    assert (c / "submitted" / "cy" / LAB / f"{LAB}.ipynb").read_text() == '{"cells": ['  # kept as handed in
    status = json.loads((c / "autograded" / ".watch" / LAB / "bob.json").read_text())
    assert status["state"] == "graded" and [a["score"] for a in status["graded"]] == [0.0]
    assert json.loads((c / "autograded" / ".watch" / LAB / "cy.json").read_text())["state"] == "malformed"

    # A second run finds nothing new.
    assert watch.main(args) == 0
    assert "done: 0 graded, 0 held, 0 not graded" in capsys.readouterr().out

    # bob resubmits, solved: over today's budget of one, it is held (kept in the exchange) ...
    bob.save(solved)
    _together(bob.start("submit", LAB))
    assert watch.main(args) == 0
    out = capsys.readouterr().out
    assert f"{LAB} bob: held: 1 submission(s) of {LAB} graded today, the limit is 1 a day" in out, out
    assert "--grade-held" in out and "done: 0 graded, 1 held, 0 not graded" in out, out
    assert _grades(c)["bob"] == 0.0
    status = json.loads((c / "autograded" / ".watch" / LAB / "bob.json").read_text())
    assert status["state"] == "held" and "after midnight" in status["message"]
    released_pages = [p.read_text() for p in (exchange / COURSE / "feedback").glob("*.html")]
    assert sum("not graded yet" in p for p in released_pages) == 1  # bob is told, through the exchange

    # ... and `--grade-held` grades it: the latest submission counts, its feedback replaces the note.
    assert watch.main([*args, "--grade-held", "--no-preflight"]) == 0
    out = capsys.readouterr().out
    assert f"{LAB} bob: ok 14/14" in out and "done: 1 graded, 0 held, 0 not graded" in out, out
    assert _grades(c) == {"ann": 14.0, "bob": 14.0, "cy": 0.0}
    _together(bob.start("fetch_feedback", LAB))
    pages = sorted(bob.feedback().items())  # by submission time
    assert len(pages) == 2, pages
    assert f"{LAB} (Score: 0.0 / 14.0)" in pages[0][1] and f"{LAB} (Score: 14.0 / 14.0)" in pages[1][1]
    assert not any("not graded yet" in p for _, p in pages)
    status = json.loads((c / "autograded" / ".watch" / LAB / "bob.json").read_text())
    assert status["state"] == "graded" and [a["score"] for a in status["graded"]] == [0.0, 14.0]
