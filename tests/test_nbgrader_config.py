"""nbgrader as configured for the course: warnings on stderr do not cost points, errors do."""

import pytest

from autograder import authoring, course
from sources import ROOT

WARNING_CELL = """
import sys, warnings
import keras
warnings.warn("this argument is deprecated", DeprecationWarning)
warnings.warn("Do not pass an `input_shape` argument to a layer.", UserWarning)
print("W0000 00:00:1795305258.806025    9953 cuda_platform.cc:52] failed call to cuInit", file=sys.stderr)
print("2026-11-21 23:50:01.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.",
      file=sys.stderr)
assert answer() == 42
"""


def _lab():
    return authoring.notebook(
        [
            authoring.solution("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION", "answer"),
            authoring.tests(WARNING_CELL, "test_warns", points=3),
            authoring.tests("assert answer() == 41", "test_wrong", points=1),
            authoring.tests(
                "import sys\nprint('a real problem', file=sys.stderr)\nassert answer() == 42", "test_stderr", points=1
            ),
        ]
    )


@pytest.mark.slow
def test_warnings_do_not_zero_a_correct_answer(tmp_path):
    root = tmp_path / "course"
    (root / "source" / "warn").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    authoring.write(_lab(), root / "source" / "warn" / "warn.ipynb")
    rel = course.generate_release(root, "warn")
    course.write_submission(
        root, "warn", "s1", course.perfect_submission(root / "source" / "warn" / "warn.ipynb", rel / "warn.ipynb")
    )
    cells = course.autograde(root, "warn")["s1"].cells
    assert cells["test_warns"] == (3.0, 3.0)  # warnings and TF log lines are not failures
    assert cells["test_wrong"] == (0.0, 1.0)  # a failed assertion still is
    assert cells["test_stderr"] == (0.0, 1.0)  # and so is anything else on stderr

    # Without the course's IgnorePattern, nbgrader would have zeroed the warning cell.
    proc = course._nbgrader(["autograde", "warn", "--force", "--IgnorePattern.enabled=False"], cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert course.read_grades(root, "warn")["s1"].cells["test_warns"] == (0.0, 3.0)


@pytest.mark.parametrize("profile_name", ["fast", "full"])
def test_cell_timeout_follows_the_profile(profile_name, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    from cnncourse.runtime import CELL_TIMEOUTS

    monkeypatch.setenv("CNNCOURSE_PROFILE", profile_name)
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert cfg.Execute.timeout == CELL_TIMEOUTS[profile_name]
    assert cfg.Execute.timeout > 30  # nbgrader's default would cut training cells short
    assert cfg.IgnorePattern.enabled is True
