"""`cnncourse export`: the gradebook as Canvas, Moodle or a plain CSV imports it.

A real nbgrader gradebook is filled through nbgrader's API (no notebook runs), with a
manual score over an autograder score, a late penalty, a student missing from the roster
and a roster student who handed nothing in; each file is read back with `csv`.
"""

import csv
import os
import stat
import warnings

import pytest

from autograder import export

LAB1, LAB2, LAB3 = "lab1-convolution", "lab2-arithmetic", "lab3-unreleased"

# The class, as the gradebook holds it. Lab 1: two autograded cells (2 + 3 points);
# lab 2: an autograded cell (4) and one graded by hand (6).
# {student: {lab: {cell: (auto, manual)}}}
SCORES = {
    "ada": {LAB1: {"conv": (2, None), "pool": (3, None)}, LAB2: {"add": (4, None), "essay": (None, 5)}},
    # the grader's manual 2 wins over the autograder's 0
    "bob": {LAB1: {"conv": (0, 2), "pool": (1, None)}, LAB2: {"add": (4, None), "essay": (None, 3)}},
    "cy": {LAB1: {"conv": (2, None), "pool": (2, None)}},  # not in the roster
    "dee": {LAB1: {"conv": (1, None), "pool": (0, None)}},  # handed nothing in for lab 2
}
LATE = {("bob", LAB2): 2.0}  # nbgrader's late_submission_penalty, on lab 2's notebook

# What the LMS should receive (late penalty taken off): {student: (lab 1, lab 2)}.
EXPECTED = {"ada": ("5", "9"), "bob": ("3", "5"), "cy": ("4", None), "dee": ("1", "")}

CANVAS_ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LAB1} (101)", "student_id"],
    ["    Points Possible", "", "", "", "", "5", ""],
    ["Lovelace, Ada", "11", "S011", "alovelace", "CNN 2025", "", "ada"],
    ["Baker, Bob", "12", "S012", "bbaker", "CNN 2025", "", "bob"],
    ["Dee, Dee", "14", "S014", "ddee", "CNN 2025", "", "dee"],
    ["Student, Test", "99", "", "", "CNN 2025", "", ""],
]
MOODLE_ROSTER = [
    ["First name", "Last name", "ID number", "Email address", "student_id"],
    ["Ada", "Lovelace", "S011", "ada@uni.example", "ada"],
    ["Bob", "Baker", "S012", "bob@uni.example", "bob"],
    ["Dee", "Dee", "S014", "dee@uni.example", "dee"],
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def fill_gradebook(db_url):
    """The class above, through nbgrader's API, as `nbgrader autograde` and the formgrader leave it."""
    from nbgrader.api import Gradebook
    from sqlalchemy import exc as sa_exc

    cells = {LAB1: {"conv": 2, "pool": 3}, LAB2: {"add": 4, "essay": 6}}
    # nbgrader's add_submission trips SQLAlchemy's autoflush warnings (as in autograder.grading.merge).
    with Gradebook(db_url, "cnncourse") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", sa_exc.SAWarning)
        for lab, lab_cells in cells.items():
            gb.add_assignment(lab)
            gb.add_notebook(lab, lab)
            for name, max_score in lab_cells.items():
                kind = "markdown" if name == "essay" else "code"
                gb.add_grade_cell(name, lab, lab, max_score=max_score, cell_type=kind)
        for student, labs in SCORES.items():
            gb.add_student(student)
            for lab, grades in labs.items():
                gb.add_submission(lab, student)
                for name, (auto, manual) in grades.items():
                    grade = gb.find_grade(name, lab, lab, student)
                    grade.auto_score = auto
                    grade.manual_score = manual
                    grade.needs_manual_grade = False
                penalty = LATE.get((student, lab))
                if penalty:
                    gb.find_submission_notebook(lab, lab, student).late_submission_penalty = penalty
        gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "cnncourse"\n'
    )
    for lab in (LAB1, LAB2, LAB3):  # lab 3 has a source but was never released
        (root / "source" / lab).mkdir(parents=True)
        (root / "source" / lab / f"{lab}.ipynb").write_text("{}")
    fill_gradebook(f"sqlite:///{root / 'gradebook.db'}")
    write_csv(root / "canvas_roster.csv", CANVAS_ROSTER)
    write_csv(root / "moodle_roster.csv", MOODLE_ROSTER)
    return root


def run_export(course, *args, output="out.csv", roster="canvas_roster.csv", capsys=None):
    out = course / output if output else None
    argv = [*args, "--roster", str(course / roster), "--course-dir", str(course)]
    if out is not None:
        argv += ["--output", str(out)]
    rc = export.main(argv)
    captured = capsys.readouterr() if capsys else None
    return rc, out, captured


def test_scores_are_the_gradebooks_manual_over_auto_less_the_late_penalty(course):
    from nbgrader.api import Gradebook

    labs = export.collect(course, [LAB1, LAB2])
    assert [(lab.name, lab.max_score) for lab in labs] == [(LAB1, 5.0), (LAB2, 10.0)]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cnncourse") as gb:
        for lab in labs:
            for student, score in lab.scores.items():
                sub = gb.find_submission(lab.name, student)
                assert score == max(0.0, sub.score - sub.late_submission_penalty)
    assert labs[0].scores == {"ada": 5.0, "bob": 3.0, "cy": 4.0, "dee": 1.0}
    assert labs[1].scores == {"ada": 9.0, "bob": 5.0}
    assert labs[1].penalties == {"bob": (7.0, 2.0)}
    assert export.collect(course, [LAB2], late_penalty=False)[0].scores["bob"] == 7.0


def test_canvas_file_has_canvas_columns_points_possible_and_the_scores(course, capsys):
    rc, out, captured = run_export(course, LAB1, LAB2, "--to", "canvas", capsys=capsys)
    assert rc == 0, captured.err
    rows = read_csv(out)
    # The lab 1 column takes the id of the roster's Canvas column of that name.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LAB1} (101)", LAB2]
    assert rows[1] == ["    Points Possible", "", "", "", "", "5", "10"]
    assert rows[2:] == [
        ["Lovelace, Ada", "11", "S011", "alovelace", "CNN 2025", "5", "9"],
        ["Baker, Bob", "12", "S012", "bbaker", "CNN 2025", "3", "5"],
        ["Dee, Dee", "14", "S014", "ddee", "CNN 2025", "1", ""],  # no submission: empty, not 0
    ]
    err = captured.err
    assert "not in the roster (left out): 1 student(s): cy (lab1-convolution)" in err
    assert "no submission (left empty): 1 student(s): dee (lab2-arithmetic)" in err
    assert "late penalties taken off: 1: bob lab2-arithmetic 7 - 2 = 5" in err
    assert "roster rows without a student id (left out): row(s) 6" in err  # the test student; the Points row is skipped
    assert "3 student(s) x 2 lab(s)" in captured.out


def test_canvas_ids_from_the_command_line_name_the_columns(course, capsys):
    rc, out, captured = run_export(
        course,
        LAB2,
        LAB1,
        "--to",
        "canvas",
        "--canvas-id",
        f"{LAB2}=202",
        "--canvas-id",
        f"{LAB1}=303",
        "--no-points-possible",
        output="ids.csv",
        capsys=capsys,
    )
    assert rc == 0, captured.err
    rows = read_csv(out)
    assert rows[0][5:] == [f"{LAB2} (202)", f"{LAB1} (303)"]  # the command line wins over the roster
    assert rows[1] == ["Lovelace, Ada", "11", "S011", "alovelace", "CNN 2025", "9", "5"]  # labs in the order given


def test_moodle_file_by_email_then_by_idnumber(course, capsys):
    rc, out, captured = run_export(course, LAB1, LAB2, "--to", "moodle", roster="moodle_roster.csv", capsys=capsys)
    assert rc == 0, captured.err
    assert read_csv(out) == [
        ["email", LAB1, LAB2],
        ["ada@uni.example", "5", "9"],
        ["bob@uni.example", "3", "5"],
        ["dee@uni.example", "1", ""],
    ]
    rc, out, captured = run_export(
        course,
        LAB2,
        "--to",
        "moodle",
        "--moodle-id",
        "idnumber",
        "--missing-as-zero",
        roster="moodle_roster.csv",
        capsys=capsys,
    )
    assert rc == 0, captured.err
    assert read_csv(out) == [["idnumber", LAB2], ["S011", "9"], ["S012", "5"], ["S014", "0"]]
    assert "no submission (written as 0): 1 student(s): dee (lab2-arithmetic)" in captured.err


def test_plain_csv_keeps_every_student_with_totals(course, capsys):
    rc, out, captured = run_export(
        course, "--all", "--to", "csv", "--lms-id", "email address", roster="moodle_roster.csv", capsys=capsys
    )
    assert rc == 0, captured.err
    rows = read_csv(out)
    assert rows[0] == ["student_id", "lms_id", LAB1, LAB2, "total"]
    assert rows[1:] == [
        ["ada", "ada@uni.example", "5", "9", "14"],
        ["bob", "bob@uni.example", "3", "5", "8"],
        ["dee", "dee@uni.example", "1", "", "1"],
        ["cy", "", "4", "", "4"],  # not in the roster: kept here, and reported
    ]
    for student, (one, two) in EXPECTED.items():
        row = next(r for r in rows if r[0] == student)
        assert row[2] == one and row[3] == (two or "")
    assert "not in the roster (kept with an empty lms_id): 1 student(s): cy" in captured.err
    assert f"labs not in the gradebook yet (left out): {LAB3}" in captured.err  # --all only


def test_the_file_gets_the_umasks_mode_and_keeps_a_replaced_files(course, capsys):
    """The export is written to a private temporary file, renamed over the output: it must not stay private."""
    old = os.umask(0o022)
    try:
        rc, out, captured = run_export(
            course, LAB1, "--to", "csv", "--lms-id", "ID number", roster="moodle_roster.csv", capsys=capsys
        )
        assert rc == 0, captured.err
        assert stat.S_IMODE(out.stat().st_mode) == 0o644  # as open() makes it under umask 022
        out.chmod(0o640)  # the instructor shares it with a group, not the world
        rc, out, captured = run_export(
            course, LAB1, "--to", "csv", "--lms-id", "ID number", roster="moodle_roster.csv", capsys=capsys
        )
        assert rc == 0, captured.err
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_no_late_penalty_exports_the_score_before_it(course, capsys):
    rc, out, captured = run_export(
        course,
        LAB2,
        "--to",
        "csv",
        "--lms-id",
        "ID number",
        "--no-late-penalty",
        roster="moodle_roster.csv",
        capsys=capsys,
    )
    assert rc == 0, captured.err
    assert read_csv(out)[2] == ["bob", "S012", "7", "7"]
    assert "late penalties not taken off (--no-late-penalty): 1: bob lab2-arithmetic 7 - 2 = 7" in captured.err


def test_match_uses_another_roster_column(course, tmp_path, capsys):
    roster = write_csv(
        tmp_path / "logins.csv",
        [["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], ["Lovelace, Ada", "11", "S011", "ada", "A"]],
    )
    out = tmp_path / "canvas.csv"
    argv = [LAB1, "--to", "canvas", "--roster", str(roster), "--output", str(out), "--course-dir", str(course)]
    assert export.main([*argv, "--match", "sis login id"]) == 0
    assert read_csv(out)[2] == ["Lovelace, Ada", "11", "S011", "ada", "A", "5"]
    err = capsys.readouterr().err
    assert "not in the roster (left out): 3 student(s): bob (lab1-convolution), cy (lab1-convolution), dee" in err


def test_ungraded_cells_and_rows_without_an_identity_are_reported(tmp_path):
    lab = export.LabScores(LAB1, 5.0, scores={"ada": 2.0, "bob": 4.0}, needs_manual=["bob"])
    roster = export.read_roster(
        write_csv(tmp_path / "r.csv", [["student_id", "Email address"], ["ada", ""], ["bob", "bob@uni.example"]])
    )
    rows, summary = export.build_table("moodle", [lab], roster)
    assert rows == [["email", LAB1], ["bob@uni.example", "4"]]
    lines = summary.lines()
    assert "no LMS identity in the roster (left out): 1 student(s): ada" in lines
    assert f"still to grade by hand (auto scores exported): 1: bob {LAB1}" in lines


# --------------------------------------------------------------------------
# Bad input: one line naming the problem and the fix, exit status 2, nothing written
# --------------------------------------------------------------------------
def one_error_line(captured):
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_roster_without_the_match_column_is_refused_by_name(course, tmp_path, capsys):
    roster = write_csv(
        tmp_path / "r.csv", [["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], ["A", "1", "", "", ""]]
    )
    out = tmp_path / "out.csv"
    rc = export.main(
        [LAB1, "--to", "canvas", "--roster", str(roster), "--output", str(out), "--course-dir", str(course)]
    )
    line = one_error_line(capsys.readouterr())
    assert rc == 2 and not out.exists()
    assert "no column 'student_id'" in line and "--match COLUMN" in line


def test_canvas_roster_without_a_canvas_column_is_refused_by_name(course, tmp_path, capsys):
    roster = write_csv(
        tmp_path / "r.csv", [["Student", "ID", "SIS Login ID", "Section", "student_id"], ["A", "1", "a", "", "ada"]]
    )
    out = tmp_path / "out.csv"
    out.write_text("an earlier export\n")
    rc = export.main(
        [LAB1, "--to", "canvas", "--roster", str(roster), "--output", str(out), "--course-dir", str(course)]
    )
    line = one_error_line(capsys.readouterr())
    assert rc == 2 and "no column 'SIS User ID'" in line and "Canvas's own gradebook export" in line
    assert out.read_text() == "an earlier export\n"  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "r.csv"]  # no temporary file left behind


def test_moodle_roster_without_the_identifier_names_the_choice(course, tmp_path, capsys):
    roster = write_csv(tmp_path / "r.csv", [["student_id", "email"], ["ada", "ada@uni.example"]])
    rc = export.main(
        [LAB1, "--to", "moodle", "--moodle-id", "idnumber", "--roster", str(roster), "--output", str(tmp_path / "o.csv"),
         "--course-dir", str(course)]
    )  # fmt: skip
    line = one_error_line(capsys.readouterr())
    assert rc == 2 and "'idnumber'" in line and "--moodle-id email" in line


def test_roster_listing_a_student_twice_is_refused(course, tmp_path, capsys):
    roster = write_csv(tmp_path / "r.csv", [["student_id", "email"], ["ada", "a@x"], ["bob", "b@x"], ["ada", "c@x"]])
    rc = export.main(
        [LAB1, "--to", "csv", "--roster", str(roster), "--output", str(tmp_path / "o.csv"), "--course-dir", str(course)]
    )
    line = one_error_line(capsys.readouterr())
    assert rc == 2 and "'ada' twice (rows 2 and 4)" in line


@pytest.mark.parametrize(
    "case, expect",
    [
        ("unknown lab", "the gradebook has no lab 'lab9-nothing' (it has: lab1-convolution, lab2-arithmetic)"),
        ("no roster", "no roster at"),
        ("unreadable roster", "cannot read the roster"),
        ("no output folder", "no folder"),
        ("no gradebook", "has no gradebook yet"),
        ("labs and --all", "name the labs to export"),
        ("bad --canvas-id", "is not LAB=ID"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(course, tmp_path, capsys, case, expect):
    roster = course / "canvas_roster.csv"
    out = tmp_path / "out.csv"
    labs, course_dir, extra = [LAB1], course, []
    if case == "unknown lab":
        labs = [LAB1, "lab9-nothing"]
    elif case == "no roster":
        roster = tmp_path / "missing.csv"
    elif case == "unreadable roster":
        roster = tmp_path / "latin1.csv"
        roster.write_bytes("student_id,email\nz\xe9\xe9,x\n".encode("latin-1"))
    elif case == "no output folder":
        out = tmp_path / "not-made" / "out.csv"
    elif case == "no gradebook":
        course_dir = tmp_path / "empty"
        course_dir.mkdir()
        (course_dir / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text())
    elif case == "labs and --all":
        extra = ["--all"]
    elif case == "bad --canvas-id":
        extra = ["--canvas-id", "lab1-convolution"]
    rc = export.main(
        [
            *labs,
            *extra,
            "--to",
            "canvas",
            "--roster",
            str(roster),
            "--output",
            str(out),
            "--course-dir",
            str(course_dir),
        ]
    )
    line = one_error_line(capsys.readouterr())
    assert rc == 2
    assert expect in line
    assert not out.exists()
    if case == "no gradebook":
        assert not (course_dir / "gradebook.db").exists()  # reading never creates one


def test_help_documents_the_roster_columns():
    import argparse

    parser = argparse.ArgumentParser(prog="cnncourse export")
    export.add_arguments(parser)
    text = parser.format_help()
    assert text.startswith("usage: cnncourse export (LAB [LAB ...] | --all) --to {canvas,moodle,csv} --roster FILE")
    for column in ("student_id", "Student, ID, SIS User ID, SIS Login ID, Section", "Email address", "--match"):
        assert column in text
    assert export.__doc__.splitlines()[0].startswith("Export the gradebook")


def test_the_installed_command_exports_from_inside_the_course(course, tmp_path):
    """As an instructor runs it: `cnncourse export` on PATH, in the course directory, default flags."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("cnncourse") or str(Path(sys.executable).with_name("cnncourse"))
    out = tmp_path / "canvas.csv"
    proc = subprocess.run(
        [exe, "export", LAB1, "--to", "canvas", "--roster", "canvas_roster.csv", "--output", str(out)],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    by_id = {row[1]: row[5] for row in rows[2:]}
    assert by_id == {"11": "5", "12": "3", "14": "1"}
    assert "cy" in proc.stderr  # in the gradebook, not in the roster: reported, not dropped
