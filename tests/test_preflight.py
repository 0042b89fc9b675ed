"""Grading proves itself first: a broken solution or a broken environment records no student's score."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import course
from autograder.grading import GradingError, Limits, grade_class, sample

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=30, timeout=120, memory=1 << 30)


def _edit_source(c, grade_id, old, new, release=True):
    path = c / "source" / "tiny" / "tiny.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(x for x in nb.cells if x.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, str(path))
    if release:
        course.generate_release(c, "tiny")


def _nothing_recorded(c):
    assert course.read_grades(c, "tiny") == {}
    results = c / "autograded" / "tiny.results.json"
    assert not results.exists() or json.loads(results.read_text())["students"] == {}


def test_a_broken_solution_stops_grading_and_names_the_cell(tmp_path):
    c = sample.tiny_course(tmp_path / "course", ["perfect", "blank"])
    _edit_source(c, "mul", "return a * b", "return a + b", release=False)  # the instructor's slip
    proc = subprocess.run(
        [sys.executable, "-m", "cnncourse.cli", "grade", "tiny", "--cell-timeout", "30", "--no-progress"],
        cwd=c,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "preflight failed: the course's own solution of tiny does not earn full marks" in proc.stderr
    assert "test_mul: 0 of 2: AssertionError" in proc.stderr, proc.stderr
    _nothing_recorded(c)


def test_without_the_preflight_the_same_class_is_graded(tmp_path):
    """The flag an instructor who knows may use; the slip then shows in the students' scores."""
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    _edit_source(c, "mul", "return a * b", "return a + b", release=False)
    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False, preflight=False)
    assert summary.results["perfect"]["status"] == "ok"


def test_a_hidden_test_needing_what_students_lack_is_an_error_not_a_zero(tmp_path):
    c = sample.tiny_course(tmp_path / "course", ["perfect", "blank"])
    _edit_source(c, "test_neg", "assert neg(1) == -1", "import course_private_helpers\nassert neg(1) == -1")

    with pytest.raises(GradingError, match="ModuleNotFoundError: No module named 'course_private_helpers'"):
        grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False)
    _nothing_recorded(c)

    summary = grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False, preflight=False)
    for student in ("perfect", "blank"):
        r = summary.results[student]
        assert r["status"] == "error", r
        assert "grading environment" in r["reason"] and "course_private_helpers" in r["reason"]
    assert set(summary.errors) == {"perfect", "blank"}
    assert course.read_grades(c, "tiny") == {}  # never a student's zero

    # the command exits 1, and the class report lists them
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnncourse.cli",
            "grade",
            "tiny",
            "--no-preflight",
            "--cell-timeout",
            "30",
            "--no-progress",
        ],
        cwd=c,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "could not be graded because of the grader" in proc.stdout


def test_the_report_lists_submissions_the_grader_failed_on(tmp_path):
    from autograder.report import write_report

    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    _edit_source(c, "test_neg", "assert neg(1) == -1", "import course_private_helpers\nassert neg(1) == -1")
    grade_class(c, "tiny", workers=1, limits=LIMITS, progress=False, preflight=False)
    paths = write_report(c, "tiny")
    csv_text = paths["csv"].read_text()
    assert "perfect,error,," in csv_text
    assert "course_private_helpers" in paths["html"].read_text()


def test_a_lab_edited_since_its_release_is_refused_until_released_again(tmp_path):
    """Grading reads hidden tests and points from the gradebook: an edit not yet released must not grade."""
    c = sample.tiny_course(tmp_path / "course", ["perfect", "blank"])
    _edit_source(c, "test_neg", "assert neg(1) == -1", "assert neg(1) == -1\nassert neg(5) == -5", release=False)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "cnncourse.cli", *args], cwd=c, capture_output=True, text=True, timeout=600
        )

    proc = cli("grade", "tiny", "--cell-timeout", "30", "--no-progress")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the gradebook holds an older version of tiny than source/ (cells that differ: test_neg)" in proc.stderr
    assert "cnncourse release tiny" in proc.stderr
    _nothing_recorded(c)

    proc = cli("release", "tiny")  # records the edited lab in the course's gradebook
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = cli("grade", "tiny", "--cell-timeout", "30", "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    grades = course.read_grades(c, "tiny")
    assert (grades["perfect"].score, grades["blank"].score) == (6.0, 0.0)


def test_what_a_release_records_is_cached_by_content(tmp_path, monkeypatch):
    """nbgrader generates a lab once per version of its sources; an edit is seen at once."""
    from autograder.grading import preflight
    from autograder.grading import spec as spec_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    spec = spec_mod.extract(f"sqlite:///{c / 'gradebook.db'}", "tiny")
    generated = []
    real = course.generate_release
    monkeypatch.setattr(course, "generate_release", lambda *a, **k: generated.append(a) or real(*a, **k))

    assert preflight.gradebook_problem(c, "tiny", spec) == ""
    assert len(generated) == 1 and len(list((tmp_path / "cache").rglob("*.json"))) == 1
    copy = course.make_course_copy(tmp_path / "copy", ["tiny"], c)  # another copy of the same course
    assert preflight.gradebook_problem(copy, "tiny", spec) == ""
    assert len(generated) == 1  # read back from the cache

    # An edit is seen at once; a cache that cannot be written is skipped, not an error.
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-cache-here")
    _edit_source(c, "test_neg", "assert neg(1) == -1", "assert neg(1) == -1\nassert neg(2) == -2", release=False)
    assert "cells that differ: test_neg" in preflight.gradebook_problem(c, "tiny", spec)
    assert len(generated) == 2


def test_a_cache_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    """A full disk while the record is written: grading goes on, and neither a half file nor a cache is left."""
    import errno

    from autograder.grading import preflight
    from autograder.grading import spec as spec_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = sample.tiny_course(tmp_path / "course", ["perfect"])
    spec = spec_mod.extract(f"sqlite:///{c / 'gradebook.db'}", "tiny")
    real_write = Path.write_text

    def disk_full(self, text, *args, **kwargs):
        real_write(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    assert preflight.gradebook_problem(c, "tiny", spec) == ""
    monkeypatch.undo()
    left = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert left == [], left
