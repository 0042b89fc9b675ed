"""The grader is killed with SIGKILL half-way; ``--resume`` grades only what is missing."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from autograder.grading.sample import tiny_course

pytestmark = pytest.mark.slow

STUDENTS = ["s1", "s2", "s3"]


def _grade(course_dir, *extra):
    env = dict(os.environ, CNNCOURSE_PROFILE="fast", TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, "-m", "cnncourse.cli", "grade", "tiny", "--workers", "1",
                             "--no-progress", "--cell-timeout", "60", "--memory-limit", "1G", *extra],
                            cwd=course_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_sigkill_then_resume(tmp_path):
    c = tiny_course(tmp_path / "course", [])
    from autograder import course
    from autograder.grading import sample

    rel = c / "release" / "tiny" / "tiny.ipynb"
    for s in STUDENTS:  # each submission spends a few seconds in a cell
        nb = sample.make("perfect", c / "source" / "tiny" / "tiny.ipynb", rel)
        nb.cells[2].source = "import time\ntime.sleep(3)\n" + nb.cells[2].source
        course.write_submission(c, "tiny", s, nb)
    results = c / "autograded" / "tiny.results.json"

    grader = _grade(c)
    proc = psutil.Process(grader.pid)
    deadline = time.monotonic() + 300
    family = []
    while time.monotonic() < deadline:
        if grader.poll() is not None:
            pytest.fail("the grader finished before it could be killed:\n" + grader.stdout.read())
        family = [p for p in proc.children(recursive=True)]
        if results.exists() and json.loads(results.read_text())["students"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail("no submission was graded in time")
    family = proc.children(recursive=True)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    done = json.loads(results.read_text())["students"]
    assert 1 <= len(done) < len(STUDENTS)

    # Its workers, their grading processes and kernels die with it.
    gone, alive = psutil.wait_procs(family, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive

    again = _grade(c, "--resume")
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out
    assert f"({len(done)} already graded)" in out
    after = json.loads(results.read_text())["students"]
    assert sorted(after) == STUDENTS and all(r["status"] == "ok" and r["score"] == 6.0 for r in after.values())
    for s, entry in done.items():  # graded before the kill: not graded again
        assert after[s]["graded_at"] == entry["graded_at"] and after[s]["started"] == entry["started"]
    grades = course.read_grades(c, "tiny")
    assert sorted(grades) == STUDENTS and all(g.score == 6.0 for g in grades.values())
