"""The two distributions and the line between them; the deploy templates give students only theirs."""

import re

import pytest

from cnncourse.runtime import KERNEL_ENV
from sources import ROOT

DEPLOY = ROOT / "deploy"


@pytest.mark.parametrize(
    "path", ["zero-to-jupyterhub/Dockerfile", "zero-to-jupyterhub/values.yaml", "jupyterhub/jupyterhub_config.py"]
)
def test_every_user_server_starts_with_the_kernel_environment(path):
    text = (DEPLOY / path).read_text()
    for name, value in KERNEL_ENV.items():
        assert re.search(rf'\b{name}\b["\']?\s*[:=]\s*["\']?{value}\b', text), f"{path} does not set {name}={value}"


def test_the_users_image_installs_the_student_distribution_only():
    text = (DEPLOY / "zero-to-jupyterhub" / "Dockerfile").read_text()
    installs = [ln for ln in text.splitlines() if "pip install" in ln]
    assert installs and not [ln for ln in installs if "autograder" in ln], installs
    assert "python -m cnncourse.kernel" in text


def test_the_instructor_distribution_is_its_own_project():
    import tomllib

    student = tomllib.loads((ROOT / "pyproject.toml").read_text())
    instructor = tomllib.loads((ROOT / "autograder" / "pyproject.toml").read_text())
    assert student["tool"]["setuptools"]["packages"]["find"]["include"] == ["cnncourse*"]
    assert instructor["project"]["name"] == "cnncourse-instructor"
    assert any(d.startswith("cnncourse==") for d in instructor["project"]["dependencies"])
    commands = instructor["project"]["entry-points"]["cnncourse.commands"]
    assert set(commands) >= {"release", "grade", "watch", "report", "export", "demo", "calibrate", "new-lab"}
    assert set(student["project"]["entry-points"]["cnncourse.commands"]) == {"doctor", "start"}


def test_the_student_package_never_imports_the_instructor_package():
    import ast

    for path in (ROOT / "cnncourse").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "autograder"], f"{path} imports {names}"


def test_importing_every_student_module_loads_no_instructor_code():
    import subprocess
    import sys

    code = (
        "import pkgutil, importlib, sys, cnncourse\n"
        "for m in pkgutil.walk_packages(cnncourse.__path__, 'cnncourse.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'autograder'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
