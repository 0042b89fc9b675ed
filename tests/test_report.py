"""The class report and the single writer, on a gradebook filled without running kernels.

The assignment is released with nbgrader for real; the grading results are
made up (so no kernel runs) and merged with the same code ``cnncourse
grade`` uses.
"""

import csv
import time

import nbformat
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


def _with_error(cell, ename, evalue):
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]


def test_report_names_exercises_shows_the_common_failure_the_flagged_and_links_feedback(tmp_path):
    """What an instructor reads first: which exercise, what most students got wrong, who to look at, their page."""
    c = tiny_course(tmp_path / "course", [])
    released = c / "release" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(str(released), as_version=4)
    at = next(i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == "mul")
    nb.cells.insert(at, nbformat.v4.new_markdown_cell("**Exercise 2.** Write `mul(a, b)`."))
    nbformat.write(nb, str(released))
    db = f"sqlite:///{c / 'gradebook.db'}"
    results = state.ResultsFile(c, "tiny")
    made = {
        "ada": fake_result("ada", {"test_add": (1, 1), "test_mul": (2, 2), "test_neg": (3, 3)}),
        "bob": fake_result("bob", {"test_add": (1, 1), "test_mul": (0, 2), "test_neg": (3, 3)}),
        "cy": fake_result("cy", {"test_add": (1, 1), "test_mul": (0, 2), "test_neg": (3, 3)}),
        "dee": fake_result(
            "dee",
            {"test_add": (1, 1), "test_mul": (0, 2), "test_neg": (3, 3)},
            "flagged",
            "numpy.allclose was replaced",
        ),
    }
    messages = {"bob": "mul(2, 3) should be 6", "cy": "mul(2, 3) should be 6", "dee": "mul(0, 5) should be 0"}
    for student, r in made.items():
        merge.merge(c, db, r, "cnncourse")
        results.record(r)
        graded = nbformat.read(str(released), as_version=4)
        if student in messages:
            test = next(x for x in graded.cells if x.metadata.get("nbgrader", {}).get("grade_id") == "test_mul")
            _with_error(test, "AssertionError", messages[student])
        (c / "autograded" / student / "tiny").mkdir(parents=True, exist_ok=True)
        nbformat.write(graded, str(c / "autograded" / student / "tiny" / "tiny.ipynb"))
    (c / "feedback" / "bob" / "tiny").mkdir(parents=True)
    (c / "feedback" / "bob" / "tiny" / "tiny.html").write_text("<p>feedback</p>")

    page = write_report(c, "tiny")["html"].read_text()
    assert "Exercise 2 (mul)" in page and "<th>test_mul</th>" not in page
    row = next(line for line in page.splitlines() if "<td>Exercise 2 (mul)</td>" in line)
    assert "AssertionError: mul(2, 3) should be 6" in row and "(2 students)" in row  # dee's message is rarer
    flagged = page.split("Flagged for a person (1)")[1].split("<h2>")[0]
    assert "dee" in flagged and "numpy.allclose was replaced" in flagged
    assert "Failures (0)" in page  # flagged submissions have their own section
    assert '<a href="../../feedback/bob/tiny/tiny.html">bob</a>' in page


def test_each_autograded_notebook_is_parsed_once_and_again_when_regraded(tmp_path, monkeypatch):
    import json

    from autograder import report

    path = tmp_path / "autograded" / "s1" / "lab" / "lab.ipynb"
    path.parent.mkdir(parents=True)

    def write(message, printed):
        cells = [
            {
                "cell_type": "code",
                "metadata": {"nbgrader": {"grade_id": "test_a"}},
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": [printed]},
                    {"output_type": "error", "ename": "AssertionError", "evalue": message, "traceback": []},
                ],
                "source": "",
            }
        ]
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))

    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: (parsed.append(1), real_loads(text, **kw))[1])
    write("first", "epoch 1\n")
    assert report.failure_messages(tmp_path, "lab", "s1", {"lab": ""}) == {"test_a": "AssertionError: first"}
    assert report._autograded_digest(path)[1] == ("epoch 1\n",)  # the training numbers' pass
    assert len(parsed) == 1
    write("second, after a regrade", "epoch 1 and 2\n")
    assert report.failure_messages(tmp_path, "lab", "s1", {"lab": ""}) == {
        "test_a": "AssertionError: second, after a regrade"
    }
    assert len(parsed) == 2
    path.write_text("not a notebook")
    assert report.failure_messages(tmp_path, "lab", "s1", {"lab": ""}) == {}
