"""Every lab, graded the way instructors grade it: ``cnncourse grade`` with its default flags.

For each lab in source/, in a course directory outside the checkout (as on a
JupyterHub): nbgrader releases it, the released notebook is handed in
unchanged, and ``cnncourse grade`` grades it in the sandbox. Its preflight
grades the source notebook's solutions first, through the same path, so a
passing run proves both halves: the solution earns full marks with status
``ok`` (its output uncut), and the release earns zero.

Each lab is graded once, through one of the two ways the course is installed:
labs that read the student package's data files (calibration records, shipped
weights) from the wheels installed in a fresh virtual environment, as a student
image has them; the others with the course installed as ``setup.sh`` installs it
(editable). Both ways are exercised on every run, and every lab's package data
is read from a wheel. ``nbgrader validate`` passes the source notebooks of two
labs (one without training, one whose checks train) copied to a folder of their
own, with the course's kernel (no TensorFlow line may reach a check cell), and
fails their blank releases. Whether release/ is generated from source/ is
checked for every lab here (the test command runs no separate check).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from autograder import course
from sources import ROOT

LABS = course.list_labs(ROOT)


def reads_package_data(lab):
    """Whether the lab's notebook uses the student package's data files (calibration records, shipped models)."""
    text = (ROOT / "source" / lab / f"{lab}.ipynb").read_text(encoding="utf-8")
    return bool(
        re.search(r"cnncourse\.(calibration|models)\b|from cnncourse import [^\n]*\b(calibration|models)\b", text)
    )


WHEEL_LABS = [lab for lab in LABS if reads_package_data(lab)]
DEVELOPMENT_LABS = [lab for lab in LABS if lab not in WHEEL_LABS]
# The variables the course's kernelspec sets: the tests must see what a student's kernel sees,
# so they are not inherited from this process.
KERNEL_VARS = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARS and k != "PYTHONPATH"}
    env.update(CNNCOURSE_PROFILE="fast", **extra)
    return env


def outside_course(tmp_path, lab):
    """A course directory holding only ``lab``, with its release and gradebook made by nbgrader."""
    c = course.make_course_copy(tmp_path / "course", [lab], ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.run_nbgrader", "generate_assignment", lab, "--force"],
        cwd=c,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The committed release is what nbgrader generates from the source now.
    assert course._folder_digest(c / "release" / lab) == course._folder_digest(ROOT / "release" / lab), (
        f"release/{lab} is stale: run `cnncourse release {lab}` and commit the result."
    )
    shutil.copytree(c / "release" / lab, c / "submitted" / "released" / lab)
    return c


def grade_with(cnncourse, c, lab):
    """Run ``cnncourse grade LAB`` in the course directory; return (process, results of the class)."""
    proc = subprocess.run(
        [str(cnncourse), "grade", lab, "--workers", "1", "--no-progress"],
        cwd=c,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    results_file = c / "autograded" / f"{lab}.results.json"
    results = json.loads(results_file.read_text())["students"] if results_file.exists() else {}
    return proc, results


def assert_full_and_zero(proc, results, lab):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Isolation: each kernel runs in a bubblewrap sandbox" in out, out[-2000:]
    # the preflight: the source's solutions, graded the same way, earn full marks
    assert "Preflight: the solution earns" in out, out[-4000:]
    line = next(ln for ln in out.splitlines() if ln.startswith("Preflight: the solution earns"))
    earned, total = line.split("earns ")[1].split(" ")[0].split("/")
    assert float(earned) == float(total) > 0, line
    r = results["released"]
    assert (r["status"], r["score"]) == ("ok", 0.0), r
    assert r["max_score"] == float(total)


def build_wheels(dist):
    """The wheels of the repository's two distributions (student, instructor), built into ``dist``."""
    for project in (ROOT, ROOT / "autograder"):
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(project)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["cnncourse", "cnncourse_instructor"], wheels
    return wheels


@pytest.fixture(scope="session")
def wheels(tmp_path_factory):
    return build_wheels(tmp_path_factory.mktemp("dist"))


@pytest.mark.xdist_group("wheels")
def test_no_wheel_holds_a_solution_or_a_hidden_test(wheels):
    import zipfile

    import sources

    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
            assert not [n for n in names if n.startswith(("source/", "release/", "tests/"))], names
            if wheel.name.startswith("cnncourse-"):  # the student's: no instructor code at all
                assert not [n for n in names if n.startswith("autograder/")], names
            for name in names:
                try:
                    text = z.read(name).decode("utf-8")
                except UnicodeDecodeError:
                    continue
                copies = sources.copies_in(text)
                assert not copies, f"{wheel.name}:{name} holds lines of {copies[0][0]}: {copies[0][1]}"


def _venv_with_wheels(tmp_path, wheels):
    """A fresh virtual environment with the two wheels built from this repository (and nothing else of it).

    The dependencies come from this interpreter's site-packages through a ``.pth`` line
    (downloading TensorFlow again would take minutes); the course itself comes only from
    the wheels: this environment's own site-packages is searched first.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    (tmp_path / "site.pth").write_text("\n".join(deps) + "\n")
    shutil.copy(tmp_path / "site.pth", os.path.join(site, "zz_course_dependencies.pth"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", *map(str, wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory, wheels):
    venv = _venv_with_wheels(tmp_path_factory.mktemp("wheels"), wheels)
    # The course in this environment is the wheel's, not the checkout's.
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import cnncourse, autograder; print(cnncourse.__file__); print(autograder.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv,
        env=_clean_env(),
    ).stdout
    assert str(ROOT) not in where and str(venv) in where, where
    return venv


def test_both_ways_of_installing_are_graded_and_every_lab_once():
    assert WHEEL_LABS and DEVELOPMENT_LABS and sorted(WHEEL_LABS + DEVELOPMENT_LABS) == sorted(LABS)
    assert reads_package_data("lab4-first-cnn") and not reads_package_data("lab1-convolution")


@pytest.mark.slow
@pytest.mark.parametrize("lab", DEVELOPMENT_LABS)
def test_lab_grades_full_and_zero_as_installed_for_development(lab, tmp_path):
    c = outside_course(tmp_path, lab)
    proc, results = grade_with(
        shutil.which("cnncourse") or os.path.join(os.path.dirname(sys.executable), "cnncourse"), c, lab
    )
    assert_full_and_zero(proc, results, lab)


@pytest.mark.slow
@pytest.mark.xdist_group("wheels")  # one worker builds the wheels and their environment, once
@pytest.mark.parametrize("lab", WHEEL_LABS)
def test_lab_grades_full_and_zero_from_the_wheels(lab, tmp_path, wheel_venv):
    c = outside_course(tmp_path, lab)
    proc, results = grade_with(wheel_venv / "bin" / "cnncourse", c, lab)
    assert_full_and_zero(proc, results, lab)


def _validate(folder, notebook):
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", notebook],
        cwd=folder,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc.stdout + proc.stderr


# Every lab's solution is graded above, through `cnncourse grade`'s preflight (the same kernel, in the
# sandbox, output uncut); `nbgrader validate`, the student's button, is run on a lab without training
# and on one whose checks train, so the seam is tested without grading every solution twice.
VALIDATED = ["lab1-convolution", "lab9-optimization"]


def test_the_validated_labs_exist():
    assert set(VALIDATED) <= set(LABS)


@pytest.mark.slow
@pytest.mark.parametrize("lab", VALIDATED)
def test_validate_passes_the_source_notebook_in_a_folder_of_its_own(lab, tmp_path):
    folder = tmp_path / lab
    shutil.copytree(ROOT / "source" / lab, folder)
    out = _validate(folder, f"{lab}.ipynb")
    assert "Success! Your notebook passes all the tests." in out, out[-4000:]
    assert "absl" not in out and "oneDNN" not in out, out[-4000:]
    assert "cannot be converted to a float" not in out, out[-4000:]  # a check that returns True shows "Out: True"


@pytest.mark.slow
@pytest.mark.parametrize("lab", VALIDATED)  # every release grades zero above
def test_validate_fails_the_release_and_names_an_exercise(lab, tmp_path):
    folder = tmp_path / lab
    shutil.copytree(ROOT / "release" / lab, folder)
    out = _validate(folder, f"{lab}.ipynb")
    assert "VALIDATION FAILED" in out and "not attempted yet" in out, out[-4000:]
    assert "Exercise 1 (" in out, out[-4000:]


@pytest.mark.parametrize("lab", LABS)
def test_released_notebooks_ship_without_outputs(lab):
    for path in (ROOT / "release" / lab).glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        assert not [c for c in cells if c.get("outputs")], f"{path.name} has stored outputs"
        assert not [c for c in cells if c.get("execution_count")], f"{path.name} has execution counts"


DEMOS = sorted(p.name for p in (ROOT / "labs").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMOS)
def test_each_demo_runs_top_to_bottom(demo, tmp_path):
    """The lecture demos are stored without outputs, so they never show stale figures: they must run."""
    shutil.copy(ROOT / "labs" / demo, tmp_path / demo)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=600",
            "--output",
            "run.ipynb",
            demo,
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    cells = json.loads((tmp_path / "run.ipynb").read_text())["cells"]
    stderr = [o for c in cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not [o for o in stderr if "absl" in "".join(o["text"]) or "oneDNN" in "".join(o["text"])], stderr


def test_demos_are_stored_without_outputs():
    for demo in DEMOS:
        cells = json.loads((ROOT / "labs" / demo).read_text())["cells"]
        assert not [c for c in cells if c.get("outputs")], demo


def test_every_lab_has_a_companion_demo():
    for lab in LABS:
        assert list((ROOT / "labs").glob(f"{lab}*.ipynb")), f"labs/ has no companion notebook for {lab}"
