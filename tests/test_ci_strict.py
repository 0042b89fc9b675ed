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
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "1 passed" in proc.stdout, proc.stdout
    assert proc.returncode == (1 if strict else 0), proc.stdout
