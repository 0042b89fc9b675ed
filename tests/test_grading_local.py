"""A small class graded for real by the local process pool, failures included.

A three-question assignment (so each kernel is quick) handed in six ways:
perfect, blank, a kernel that crashes half-way, an endless loop, a memory
hog and a broken file. Every submission must end in nbgrader's gradebook
with its scores or a recorded reason, the scores of the cells that ran
before a crash must be kept, nothing may be left running, ``--resume`` must
grade nothing more, and grading again must change nothing.
"""

import json

import psutil
import pytest

from autograder import course
from autograder.grading import Limits, grade_class, sample

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading-local")]  # the class is graded once

KINDS = ["perfect", "blank", "crashing", "endless", "memory", "malformed"]


LIMITS = Limits(cell_timeout=15, timeout=120, memory=300 << 20)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    c = sample.tiny_course(tmp_path_factory.mktemp("local") / "course", KINDS)
    summary = grade_class(c, "tiny", workers=2, limits=LIMITS, progress=False)
    return c, summary


def test_every_submission_ends_with_scores_or_a_reason(graded):
    c, summary = graded
    r = summary.results
    assert set(r) == set(KINDS)
    assert (r["perfect"]["status"], r["perfect"]["score"]) == ("ok", 6.0)
    assert (r["blank"]["status"], r["blank"]["score"]) == ("ok", 0.0)
    # The kernel dies in the second answer: the first question keeps its point.
    assert r["crashing"]["status"] == "kernel_died"
    assert r["crashing"]["reason"] == "kernel died at cell 4 (mul)"
    assert r["crashing"]["cells"]["test_add"] == [1.0, 1.0] and r["crashing"]["score"] == 1.0
    # The endless loop is interrupted at the cell limit; the cells after it still run.
    assert r["endless"]["status"] == "timeout"
    assert r["endless"]["reason"].startswith("timed out at cell 4 (mul) (cell limit 15 s)")
    assert r["endless"]["score"] == 4.0
    assert r["memory"]["status"] == "out_of_memory"
    assert r["memory"]["reason"].startswith("out of memory at cell 4 (mul)")
    assert r["memory"]["score"] == 1.0
    assert r["malformed"]["status"] == "malformed" and "not appear to be JSON" in r["malformed"]["reason"]

    grades = course.read_grades(c, "tiny")
    assert set(grades) == set(KINDS)
    assert {s: g.score for s, g in grades.items()} == {s: r[s]["score"] for s in KINDS}
    on_disk = json.loads((c / "autograded" / "tiny.results.json").read_text())["students"]
    assert on_disk["crashing"]["reason"] == r["crashing"]["reason"]
    assert (c / "autograded" / "crashing" / "tiny" / "tiny.ipynb").exists()


def test_the_most_complete_submissions_are_graded_first(graded):
    """Every submission that answers something starts before the blank and the unreadable ones.

    (``blank`` sorts before them all by name: in name order it would start first.)
    """
    c, _ = graded
    started = {
        s: e["started"] for s, e in json.loads((c / "autograded" / "tiny.results.json").read_text())["students"].items()
    }
    answered = ("perfect", "crashing", "endless", "memory")
    assert max(started[s] for s in answered) < min(started["blank"], started["malformed"]), started


def test_failures_are_flagged_with_the_reason_as_a_comment(graded):
    from nbgrader.api import Gradebook

    c, _ = graded
    with Gradebook(f"sqlite:///{c / 'gradebook.db'}") as gb:
        crashed = gb.find_submission_notebook("tiny", "tiny", "crashing")
        assert crashed.flagged
        comments = {cm.name: cm.auto_comment for cm in crashed.comments}
        assert comments["mul"] == "Autograder: kernel died at cell 4 (mul)"
        assert not gb.find_submission_notebook("tiny", "tiny", "perfect").flagged


def _cmdline(p):
    try:
        return " ".join(p.cmdline()) if p.status() != psutil.STATUS_ZOMBIE else ""
    except psutil.Error:
        return ""


def test_nothing_is_left_running(graded):
    # No kernel, grading process or pool worker outlives the run (multiprocessing's
    # resource tracker, shared by the whole test process, may stay).
    left = [_cmdline(p) for p in psutil.Process().children(recursive=True)]
    assert not [c for c in left if "ipykernel" in c or "spawn_main" in c or "nbgrader" in c], left


def test_resume_grades_nothing_more_and_regrading_changes_nothing(graded):
    c, first = graded
    again = grade_class(c, "tiny", workers=2, limits=LIMITS, resume=True, progress=False)
    assert again.graded == [] and sorted(again.skipped) == sorted(KINDS)

    before = {s: (g.score, g.cells) for s, g in course.read_grades(c, "tiny").items()}
    regraded = grade_class(c, "tiny", students=["perfect", "crashing"], workers=2, limits=LIMITS, progress=False)
    assert sorted(regraded.graded) == ["crashing", "perfect"]
    after = {s: (g.score, g.cells) for s, g in course.read_grades(c, "tiny").items()}
    assert after == before
    assert regraded.results["crashing"]["reason"] == first.results["crashing"]["reason"]


def test_feedback_hides_hidden_tests(graded):
    from autograder.feedback import generate

    c, _ = graded
    pages = generate(c, "tiny", ["crashing", "perfect"])
    html = pages["crashing"].read_text()
    assert "mul(0, 5) == 0" not in html  # the hidden test's source
    assert "hidden tests of test_mul" in html
    assert "KernelDied" in html  # the failed test says why


def test_one_student_command_stages_and_the_next_run_merges(graded):
    """The unit of work as a plain command (a Slurm array step), merged by the next run."""
    import subprocess
    import sys

    from autograder.grading import state

    c, _ = graded
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnncourse.cli",
            "grade",
            "tiny",
            "--one",
            "blank",
            "--course-dir",
            str(c),
            "--cell-timeout",
            "30",
            "--memory-limit",
            "1G",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Preflight: the solution earns 6/6" in proc.stdout
    assert "blank: ok 0/6" in proc.stdout
    assert [p.name for p in state.staged(c, "tiny")] == ["blank.json"]
    merged = grade_class(c, "tiny", workers=2, limits=LIMITS, resume=True, progress=False)
    assert merged.graded == ["blank"] and "blank" not in merged.skipped
    assert state.staged(c, "tiny") == []
    assert course.read_grades(c, "tiny")["blank"].score == 0.0


def test_timeout_feedback_names_the_cell_and_its_limit(graded):
    """Not the NameError that follows: the cell that ran out of time, and after how long."""
    from autograder.feedback import generate

    c, _ = graded
    html = generate(c, "tiny", ["endless"])["endless"].read_text()
    assert "cell 4 (mul) ran past its time limit of 15 s and was stopped" in html
    assert "probably because cell 4 (mul) timed out before it finished" in html


def test_grading_from_a_process_that_ran_tensorflow(tmp_path):
    """A grader in a process that has used TensorFlow (a test, a calibration) starts fresh workers.

    TensorFlow's native threads do not survive a fork: a forked worker of such a process
    can crash while collecting TensorFlow's garbage (seen once in the suite as "nbgrader
    failed: no output" in the preflight, after check tests had trained models in the same
    process). Such a process must not fork, and the fresh interpreters it starts instead
    must grade exactly as forked workers do.
    """
    import keras
    import numpy as np

    from autograder.grading.worker import fork_is_safe

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)
    assert not fork_is_safe()
    c = sample.tiny_course(tmp_path / "course", ["perfect", "blank"])
    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False)
    r = summary.results
    assert (r["perfect"]["status"], r["perfect"]["score"]) == ("ok", 6.0), r["perfect"]
    assert (r["blank"]["status"], r["blank"]["score"]) == ("ok", 0.0), r["blank"]


def test_a_renamed_notebook_is_the_student_s_slip_named_with_what_was_found(tmp_path):
    """A browser download renames ``tiny.ipynb`` to ``tiny (1).ipynb``: nbgrader finds no notebook at all."""
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    folder = c / "submitted" / "perfect" / "tiny"
    (folder / "tiny.ipynb").rename(folder / "tiny (1).ipynb")
    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False, preflight=False)
    r = summary.results["perfect"]
    assert (r["status"], r["score"]) == ("malformed", 0.0), r
    assert r["reason"].startswith("no tiny.ipynb in the submission (found: 'tiny (1).ipynb')"), r["reason"]
    assert "rename it" in r["reason"]
    assert course.read_grades(c, "tiny")["perfect"].score == 0.0  # the student's zero, recorded


def test_figures_reach_the_feedback_whatever_the_grader_s_matplotlib_backend(tmp_path, monkeypatch):
    """A grader's shell with ``MPLBACKEND=Agg`` (``setup.sh`` sets it) must not strip the kernels' figures.

    The kernel draws inline, as in JupyterLab, with the sandbox off too (the
    sandbox's kernel never sees the grader's variables): the student's feedback
    shows their plots, and both modes do the same work.
    """
    import nbformat

    monkeypatch.setenv("MPLBACKEND", "Agg")
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    path = c / "submitted" / "perfect" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"))
    nbformat.write(nb, str(path))
    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False, preflight=False, sandbox="off")
    assert summary.results["perfect"]["status"] == "ok", summary.results["perfect"]
    graded = nbformat.read(str(c / "autograded" / "perfect" / "tiny" / "tiny.ipynb"), as_version=4)
    kinds = [sorted(o.get("data", {})) for o in graded.cells[-1].outputs]
    assert any("image/png" in k for k in kinds), graded.cells[-1].outputs
