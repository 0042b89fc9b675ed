"""Due dates, late penalties and per-student extensions: nbgrader's rules, applied by `cnncourse grade`."""

import csv
import datetime as dt
import shutil

import pytest

from autograder.grading import GradingError, Limits, extensions, grade_class, sample
from autograder.report import write_report

LIMITS = Limits(cell_timeout=30, timeout=120, memory=1 << 30)


def test_the_file_is_read_as_seconds_per_lab_and_student(tmp_path):
    assert extensions.read(tmp_path) == {}  # no file, no extensions
    (tmp_path / "extensions.csv").write_text("student_id,lab,hours\nada,lab1,48\nbob,lab1,2.5\n,,\n")
    assert extensions.read(tmp_path) == {("lab1", "ada"): 48 * 3600.0, ("lab1", "bob"): 2.5 * 3600.0}


@pytest.mark.parametrize(
    "text, says",
    [
        ("student,lab,hours\nada,lab1,2\n", "no column student_id"),
        ("student_id,lab,hours\nada,lab1,two\n", "line 2"),
        ("student_id,lab,hours\nada,lab1,-1\n", "hours >= 0"),
        ("student_id,lab,hours\nada,lab1,1\nada,lab1,2\n", "keep one row"),
    ],
)
def test_a_malformed_file_is_refused_by_line(tmp_path, text, says):
    (tmp_path / "extensions.csv").write_text(text)
    with pytest.raises(extensions.ExtensionsError, match=says):
        extensions.read(tmp_path)


@pytest.mark.slow
def test_a_late_submission_is_penalised_unless_the_student_has_an_extension(tmp_path):
    from nbgrader.api import Gradebook

    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    for student in ("ada", "bob"):  # both hand in the perfect notebook, a day after the due date
        shutil.copytree(c / "submitted" / "perfect" / "tiny", c / "submitted" / student / "tiny")
        (c / "submitted" / student / "tiny" / "timestamp.txt").write_text("2026-03-02 12:00:00 UTC")
    shutil.rmtree(c / "submitted" / "perfect")
    with open(c / "nbgrader_config.py", "a") as f:
        f.write('\nc.LateSubmissionPlugin.penalty_method = "zero"  # late: no points\n')
    db = f"sqlite:///{c / 'gradebook.db'}"
    with Gradebook(db, "cnncourse") as gb:
        gb.update_or_create_assignment("tiny", duedate=dt.datetime(2026, 3, 1, 12, 0))
    (c / "extensions.csv").write_text("student_id,lab,hours\nada,tiny,48\n")

    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False)
    assert {s: r["status"] for s, r in summary.results.items()} == {"ada": "ok", "bob": "ok"}
    with Gradebook(db, "cnncourse") as gb:
        late = {s: gb.find_submission_notebook("tiny", "tiny", s).late_submission_penalty for s in ("ada", "bob")}
        raw = {s: gb.find_submission("tiny", s).score for s in ("ada", "bob")}
    assert raw == {"ada": 6.0, "bob": 6.0}
    assert late == {"ada": None, "bob": 6.0} or late == {"ada": 0.0, "bob": 6.0}  # a day late, 24 h short of ada's 48
    # The class report shows the penalty next to the score, and its CSV has it.
    paths = write_report(c, "tiny")
    rows = {r["student"]: r for r in csv.DictReader(paths["csv"].open())}
    assert (rows["ada"]["late_penalty"], rows["bob"]["late_penalty"]) == ("0", "6")
    assert "(&minus;6 late)" in paths["html"].read_text()


def test_a_malformed_extensions_file_stops_grading_before_anything_runs(tmp_path):
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    (c / "extensions.csv").write_text("who,lab,hours\nada,tiny,1\n")
    with pytest.raises(GradingError, match="no column student_id"):
        grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False)
    assert not (c / "autograded").exists()
