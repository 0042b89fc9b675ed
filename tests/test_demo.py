"""`cnncourse demo` runs end to end (on part of its sample class, to stay quick)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_grades_and_reports(tmp_path):
    env = dict(os.environ, CNNCOURSE_PROFILE="fast", TF_CPP_MIN_LOG_LEVEL="2")
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "cnncourse.cli", "demo", "--output", str(out), "--only",
                           "perfect,crashing,malformed", "--no-progress"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    for student, status in [("perfect", "ok"), ("crashing", "kernel_died"), ("malformed", "malformed")]:
        assert any(line.split()[:2] == [student, status] for line in text.splitlines()), text
    assert "kernel died at cell" in text
    assert (out / "report" / "report.html").exists() and (out / "report" / "grades.csv").exists()
    assert str(out / "report" / "report.html") in text
    assert (out / "course" / "feedback" / "perfect").is_dir()


def test_demo_never_touches_the_repository(tmp_path):
    from autograder import course

    # The demo's course is a copy: the repository keeps no gradebook or submissions of its own.
    root = course.ROOT
    assert not (root / "submitted" / "crashing").exists()
