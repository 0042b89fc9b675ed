"""`cnncourse start` (a student's own work folder) and `cnncourse new-lab` (a lab from the course's template)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from sources import ROOT


def cli(*args, cwd, home=None, stdin=None):
    env = dict(os.environ, HOME=str(home or cwd))
    return subprocess.run(
        [sys.executable, "-m", "cnncourse.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
    )


def test_start_copies_the_release_to_the_student_folder(tmp_path):
    proc = cli("start", "lab1-convolution", cwd=tmp_path)  # outside the checkout: found through the install
    assert proc.returncode == 0, proc.stderr
    notebook = tmp_path / "cnncourse" / "lab1-convolution" / "lab1-convolution.ipynb"
    assert notebook.read_bytes() == (ROOT / "release" / "lab1-convolution" / "lab1-convolution.ipynb").read_bytes()
    assert f"jupyter lab {notebook}" in proc.stdout


def test_start_never_overwrites_work_without_asking(tmp_path):
    work = tmp_path / "mine"
    assert cli("start", "lab2-arithmetic", "--dir", str(work), cwd=tmp_path).returncode == 0
    notebook = work / "lab2-arithmetic.ipynb"
    notebook.write_text("my answers")
    refused = cli("start", "lab2-arithmetic", "--dir", str(work), cwd=tmp_path)
    assert refused.returncode == 1 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert notebook.read_text() == "my answers"

    forced = cli("start", "lab2-arithmetic", "--dir", str(work), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    backups = list(tmp_path.glob("mine.backup-*"))
    assert len(backups) == 1 and (backups[0] / "lab2-arithmetic.ipynb").read_text() == "my answers"
    assert json.loads(notebook.read_text())["cells"]


def test_start_an_unknown_lab_lists_the_labs(tmp_path):
    proc = cli("start", "lab99-nothing", cwd=tmp_path)
    assert proc.returncode == 1
    assert "No lab called 'lab99-nothing'" in proc.stderr and "lab1-convolution" in proc.stderr


def test_start_from_a_folder_of_released_labs(tmp_path):
    shutil.copytree(ROOT / "release" / "lab3-dropout-init", tmp_path / "given" / "lab3-dropout-init")
    proc = cli(
        "start", "lab3-dropout-init", "--from", str(tmp_path / "given"), "--dir", str(tmp_path / "w"), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w" / "lab3-dropout-init.ipynb").exists()


@pytest.mark.parametrize("inside", ["", "sub"])
def test_start_refuses_to_work_in_the_release_itself(tmp_path, inside):
    """``--dir`` pointing at (or into) the released lab would back the release up and then copy nothing."""
    given = tmp_path / "given" / "lab3-dropout-init"
    shutil.copytree(ROOT / "release" / "lab3-dropout-init", given)
    before = sorted(p.name for p in given.iterdir())
    proc = cli(
        "start",
        "lab3-dropout-init",
        "--from",
        str(tmp_path / "given"),
        "--dir",
        str(given / inside),
        "--force",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is where the released lab itself lives" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in given.iterdir()) == before
    assert not list((tmp_path / "given").glob("*.backup-*"))


@pytest.fixture
def empty_course(tmp_path):
    c = tmp_path / "course"
    c.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", c / "nbgrader_config.py")
    return c


def test_new_lab_refuses_bad_ids_and_existing_labs(empty_course):
    bad = cli("new-lab", "Lab 9!", cwd=empty_course)
    assert bad.returncode == 2 and "is not a lab id" in bad.stderr
    assert cli("new-lab", "lab9-template", cwd=empty_course).returncode == 0
    again = cli("new-lab", "lab9-template", cwd=empty_course)
    assert again.returncode == 2 and "exists already" in again.stderr


@pytest.mark.slow
def test_a_new_lab_releases_and_grades_full_with_its_solution_and_zero_without(empty_course):
    c = empty_course
    made = cli("new-lab", "lab9-template", "--title", "A template lab", cwd=c)
    assert made.returncode == 0, made.stderr
    assert (c / "labs" / "lab9-template-demo.ipynb").exists()
    gen = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "lab9-template", "--force"],
        cwd=c,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert gen.returncode == 0, gen.stdout + gen.stderr
    shutil.copytree(c / "release" / "lab9-template", c / "submitted" / "blank" / "lab9-template")
    graded = cli("grade", "lab9-template", "--workers", "1", "--no-progress", cwd=c)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "Preflight: the solution earns 1/1" in graded.stdout
    results = json.loads((c / "autograded" / "lab9-template.results.json").read_text())["students"]
    assert (results["blank"]["status"], results["blank"]["score"]) == ("ok", 0.0)


def test_the_template_exercise_fails_a_plausible_wrong_answer():
    import numpy as np

    from autograder import new_lab
    from cnncourse.checks import CheckFailed

    nb = new_lab.template("lab9-x", "X")
    test = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_relu")
    imports = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    ns = {}
    exec(imports, ns)
    for wrong in (np.abs, lambda x: np.clip(x, 0, 1)):
        with pytest.raises((CheckFailed, AssertionError)):
            exec(test, dict(ns, relu=wrong))
    exec(test, dict(ns, relu=lambda x: np.where(np.asarray(x) > 0, x, 0.0)))
