"""Load with faults: 32 submissions, the grader killed with SIGKILL midway, then ``--resume``.

All 32 must end graded exactly once, with the grades a clean run gives.
The class is made of four kinds of submission (perfect, partial, blank, a
kernel that crashes), so a clean run of one submission of each kind says
what each of the 32 must get.

32 is enough for what is proven: with 4 workers there is a queue eight
rounds deep and the kill comes a third of the way in (at least 10 graded,
up to 4 in flight, the rest not started), so the run is cut with
submissions in each state and every kind is graded before and after the
kill. 64 proved the same in more time.
"""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from autograder import course
from autograder.grading import Limits, grade_class, sample

pytestmark = pytest.mark.slow

N = 32  # 8 of each kind; the grader is killed once a third are graded
KINDS = ["perfect", "partial", "blank", "crashing"]
WORKERS = 4


def _kind(i):
    return KINDS[i % len(KINDS)]


def _grade(course_dir, *extra):
    env = dict(os.environ, CNNCOURSE_PROFILE="fast")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cnncourse.cli",
            "grade",
            "tiny",
            "--workers",
            str(WORKERS),
            "--no-progress",
            "--cell-timeout",
            "60",
            "--memory-limit",
            "1G",
            *extra,
        ],
        cwd=course_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _results(path):
    try:
        return json.loads(path.read_text())["students"]
    except (OSError, ValueError):
        return {}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """One submission of each kind, graded in a clean run: the grades the 64 must get."""
    c = sample.tiny_course(tmp_path_factory.mktemp("clean") / "course", KINDS)
    summary = grade_class(
        c, "tiny", workers=2, limits=Limits(cell_timeout=60, timeout=300, memory=1 << 30), progress=False
    )
    return {k: (r["status"], r["score"], r["cells"]) for k, r in summary.results.items()}


def test_a_class_survives_a_sigkill_and_resume(tmp_path, clean):
    c = sample.tiny_course(tmp_path / "course", [])
    source, release = c / "source" / "tiny" / "tiny.ipynb", c / "release" / "tiny" / "tiny.ipynb"
    notebooks = {k: sample.make(k, source, release) for k in KINDS}
    students = [f"s{i:03d}" for i in range(N)]
    for i, s in enumerate(students):
        course.write_submission(c, "tiny", s, notebooks[_kind(i)])
    results = c / "autograded" / "tiny.results.json"

    grader = _grade(c)
    proc = psutil.Process(grader.pid)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and len(_results(results)) < N // 3:
        if grader.poll() is not None:
            pytest.fail("the grader finished before it could be killed:\n" + grader.stdout.read())
        time.sleep(0.2)
    family = proc.children(recursive=True)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    done = _results(results)
    assert N // 3 <= len(done) < N

    # Its workers, their grading processes and the kernels die with it.
    _, alive = psutil.wait_procs(family, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive

    again = _grade(c, "--resume")
    out, _ = again.communicate(timeout=1200)
    assert again.returncode == 0, out[-3000:]
    assert f"Grading {N - len(done)} submission(s) of tiny ({len(done)} already graded)" in out

    after = _results(results)
    assert sorted(after) == students
    for s, entry in done.items():  # graded before the kill: not graded again
        assert after[s]["graded_at"] == entry["graded_at"] and after[s]["started"] == entry["started"]
    for i, s in enumerate(students):
        r = after[s]
        assert (r["status"], r["score"], r["cells"]) == clean[_kind(i)], s

    grades = course.read_grades(c, "tiny")  # the gradebook has each submission once, with the same score
    assert sorted(grades) == students
    assert all(grades[s].score == after[s]["score"] for s in students)
    assert len(list((c / "autograded").glob("*/tiny/tiny.ipynb"))) == N
