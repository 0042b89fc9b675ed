"""The class report and the single writer, on a gradebook filled without running kernels.

The assignment is released with nbgrader for real; the grading results are
made up (so no kernel runs) and merged with the same code ``cnncourse
grade`` uses.
"""

import csv
import time

import pytest

from autograder import course
from autograder.grading import merge, state
from autograder.grading.result import GradingResult
from autograder.grading.sample import tiny_course
from autograder.report import collect, write_report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report")]  # the gradebook is filled once


def fake_result(student, scores, status="ok", reason="", seconds=3.0):
    grades = {gid: {"auto_score": s, "max_score": m, "needs_manual_grade": False} for gid, (s, m) in scores.items()}
    result = GradingResult(
        "tiny",
        student,
        "x",
        status=status,
        reason=reason,
        max_score=6.0,
        events=[{"kind": "kernel_died", "cell": "cell 4 (mul)"}] if reason else [],
        scores={
            "timestamp": None,
            "notebooks": {"tiny": {"late_submission_penalty": None, "grades": grades, "comments": {}}},
        },
    )
    result.finish(time.monotonic())
    result.seconds = seconds
    assert result.score == sum(s for s, _ in scores.values())
    return result


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    c = tiny_course(tmp_path_factory.mktemp("report") / "course", [])
    db = f"sqlite:///{c / 'gradebook.db'}"
    results = state.ResultsFile(c, "tiny")
    made = [
        fake_result("ada", {"test_add": (1, 1), "test_mul": (2, 2), "test_neg": (3, 3)}, seconds=4.0),
        fake_result("bob", {"test_add": (1, 1), "test_mul": (0, 2), "test_neg": (3, 3)}, seconds=6.5),
        fake_result(
            "cy",
            {"test_add": (1, 1), "test_mul": (0, 2), "test_neg": (0, 3)},
            "kernel_died",
            "kernel died at cell 4 (mul)",
            seconds=2.0,
        ),
    ]
    for r in made:
        merge.merge(c, db, r, "cnncourse")
        merge.merge(c, db, r, "cnncourse")  # merging twice changes nothing
        results.record(r)
    return c


def test_merge_is_idempotent_and_keeps_reasons(course_dir):
    grades = course.read_grades(course_dir, "tiny")
    assert {s: g.score for s, g in grades.items()} == {"ada": 6.0, "bob": 4.0, "cy": 1.0}
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook("tiny", "tiny", "cy")
        assert nb.flagged
        notes = [c.auto_comment for c in nb.comments if c.auto_comment]
        assert notes == ["Autograder: kernel died at cell 4 (mul)"]


def test_csv_has_one_column_per_question(course_dir, tmp_path):
    paths = write_report(course_dir, "tiny", output=tmp_path)
    rows = list(csv.DictReader(paths["csv"].open()))
    assert [r["student"] for r in rows] == ["ada", "bob", "cy"]
    assert rows[1]["test_mul (/2)"] == "0" and rows[1]["test_neg (/3)"] == "3"
    assert rows[2]["status"] == "kernel_died" and rows[2]["reason"] == "kernel died at cell 4 (mul)"
    assert rows[0]["percent"] == "100.0"


def test_html_report_embeds_plots_and_lists_failures(course_dir, tmp_path):
    paths = write_report(course_dir, "tiny", output=tmp_path)
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "kernel died at cell 4 (mul)" in page
    assert "Failures (1)" in page
    questions, rows = collect(course_dir, "tiny")
    assert [q for q, _ in questions] == ["test_add", "test_mul", "test_neg"]
