"""`cnncourse demo` runs end to end (on part of its sample class, to stay quick)."""

import os
import subprocess
import sys

import pytest
from sources import ROOT

pytestmark = pytest.mark.slow


def test_demo_grades_and_reports(tmp_path):
    """Run from the course repository, as the README's first command does; it grades a copy."""
    env = dict(os.environ, CNNCOURSE_PROFILE="fast")
    out = tmp_path / "demo"
    untouched = ("gradebook.db", "submitted", "autograded", "feedback", "reports")

    def state():  # what the course's own grading folders hold (cnncourse release makes gradebook.db there)
        return {
            p: sorted(
                (f.relative_to(ROOT).as_posix(), f.stat().st_mtime_ns, f.stat().st_size)
                for f in [ROOT / p, *(ROOT / p).rglob("*")]
                if f.is_file()
            )
            for p in untouched
        }

    before = state()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnncourse.cli",
            "demo",
            "--output",
            str(out),
            "--only",
            "perfect,crashing,malformed",
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert state() == before, "the demo wrote into the repository's grading folders"
    assert "Preflight: the solution earns" in proc.stdout
    text = proc.stdout
    for student, status in [("perfect", "ok"), ("crashing", "kernel_died"), ("malformed", "malformed")]:
        assert any(line.split()[:2] == [student, status] for line in text.splitlines()), text
    assert "kernel died at cell" in text
    assert (out / "report" / "report.html").exists() and (out / "report" / "grades.csv").exists()
    assert str(out / "report" / "report.html") in text
    assert (out / "course" / "feedback" / "perfect").is_dir()
