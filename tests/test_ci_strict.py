"""Continuous integration runs every test: with CNNCOURSE_TEST_STRICT=1 (set by .ci/run) a skip fails the run."""

import subprocess
import sys

import pytest

from sources import ROOT

SKIPPING = {
    "test_a_skip.py": "import pytest\n\ndef test_skips():\n    pytest.skip('no widget here')\n",
    "test_a_module_skip.py": "import pytest\nwidget = pytest.importorskip('no_such_widget_module')\n\n"
    "def test_uses_widget():\n    pass\n",
}


@pytest.mark.parametrize("name", sorted(SKIPPING))
@pytest.mark.parametrize("strict", [True, False])
def test_a_skip_fails_only_a_strict_run(tmp_path, name, strict):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / name).write_text(SKIPPING[name])
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    pass\n")
    env = {"PATH": "/usr/bin:/bin", "CNNCOURSE_TEST_STRICT": "1" if strict else "0", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed" in proc.stdout, proc.stdout
    assert proc.returncode == (1 if strict else 0), proc.stdout


def test_a_group_of_tests_runs_on_one_worker(tmp_path):
    """setup.sh runs ``--dist loadgroup`` so that a module's heavy fixture (a graded class) is built once."""
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\npytestmark = pytest.mark.xdist_group('heavy')\n\n"
        "@pytest.mark.parametrize('i', range(8))\ndef test_member(i):\n"
        "    print('WORKER', os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-rA",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    workers = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("WORKER ")}
    assert "8 passed" in proc.stdout and len(workers) == 1, proc.stdout[-2000:]
