"""The cnncourse command and `cnncourse doctor`."""

import os
import subprocess
import sys

import pytest

from cnncourse import cli, doctor


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    names = set(cli.commands())
    # the student package's commands, and the instructor package's (installed with the course)
    assert {"doctor", "start"} | set(cli.INSTRUCTOR_COMMANDS) <= names
    for name in names:
        assert name in out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "usage: cnncourse" in capsys.readouterr().out


def test_release_check_passes_on_the_committed_release(capsys):
    assert cli.main(["release", "--check", "lab1-convolution"]) == 0
    assert "lab1-convolution" in capsys.readouterr().out


def test_release_unknown_lab_is_a_clear_error(capsys):
    assert cli.main(["release", "--check", "lab99"]) == 2
    assert "No source notebook for lab99" in capsys.readouterr().err


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "cnncourse.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("cnncourse ")


def test_doctor_finds_versions_and_profile():
    findings = {f.topic: f for f in doctor.diagnose(include_extensions=False)}
    for pkg in ("Python", "tensorflow", "keras", "nbgrader", "jupyterlab"):
        assert findings[pkg].status == doctor.OK, findings[pkg].line()
    assert findings["grading profile"].detail.startswith("fast")
    assert findings["MNIST"].status in (doctor.OK, doctor.WARN)


@pytest.mark.parametrize("value, says", [("  FULL ", "full (CNNCOURSE_PROFILE)"), ("   ", "(automatic)")])
def test_doctor_says_where_the_profile_came_from(monkeypatch, value, says):
    monkeypatch.setenv("CNNCOURSE_PROFILE", value)  # blank counts as unset, as runtime.profile reads it
    found = {f.topic: f for f in doctor.check_backend_and_device()}["grading profile"]
    assert found.detail.endswith(says), found.detail


def test_doctor_reports_missing_data_with_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("HOME", str(tmp_path))
    found = {f.topic: f for f in doctor.check_data()}
    assert found["MNIST"].status == doctor.WARN
    assert str(tmp_path / "shared" / "mnist.npz") in found["MNIST"].fix
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "mnist.npz").write_bytes(b"x")
    assert {f.topic: f for f in doctor.check_data()}["MNIST"].status == doctor.OK


def test_doctor_flags_a_disabled_lab_extension():
    def fake(cmd, timeout=60):
        if "labextension" in cmd:
            return "        @jupyter/nbgrader v0.9.6 disabled OK\n"
        return "    nbgrader.server_extensions.formgrader enabled\n"

    found = {f.topic: f for f in doctor.check_nbgrader_extensions(runner=fake)}
    assert found["nbgrader lab extension"].status == doctor.FAIL
    assert "labextension enable" in found["nbgrader lab extension"].fix
    assert found["nbgrader server extension"].status == doctor.OK


def test_doctor_checks_the_course_kernel(tmp_path, monkeypatch):
    from cnncourse import kernel

    assert {f.topic: f for f in doctor.check_kernel()}["Jupyter kernel"].status == doctor.OK  # setup.sh installs it
    plain = {"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    monkeypatch.setattr(kernel, "read_spec", lambda prefix=None: plain)
    found = doctor.check_kernel()[0]
    assert found.status == doctor.FAIL and "TF_ENABLE_ONEDNN_OPTS" in found.detail
    assert found.fix == "python -m cnncourse.kernel"


def test_kernel_install_writes_the_course_variables(tmp_path):
    from cnncourse import kernel
    from cnncourse.runtime import KERNEL_ENV

    assert kernel.missing_env(kernel.read_spec(tmp_path)) == list(KERNEL_ENV)
    assert kernel.ensure(tmp_path) is True and kernel.ensure(tmp_path) is False
    spec = kernel.read_spec(tmp_path)
    assert spec["env"] == KERNEL_ENV and spec["argv"][0] == sys.executable


def test_kernel_command_takes_a_prefix_and_refuses_a_wrong_argument(tmp_path, capsys):
    from cnncourse import kernel
    from cnncourse.runtime import KERNEL_ENV

    assert kernel.main(["--prefix", str(tmp_path)]) == 0
    assert str(tmp_path) in capsys.readouterr().out
    assert kernel.read_spec(tmp_path)["env"] == KERNEL_ENV
    with pytest.raises(SystemExit) as info:
        kernel.main(["--user"])
    assert info.value.code == 2 and "unrecognized arguments: --user" in capsys.readouterr().err


def test_doctor_flags_old_versions(monkeypatch):
    monkeypatch.setattr(doctor, "_dist_version", lambda *names: "2.1.0" if "tensorflow" in names else "9.9")
    found = {f.topic: f for f in doctor.check_versions()}
    assert found["tensorflow"].status == doctor.FAIL and "too old" in found["tensorflow"].detail


def test_doctor_command_exit_status(capsys):
    status = cli.main(["doctor", "--skip-extensions"])
    out = capsys.readouterr().out
    assert "tensorflow" in out and ("All good." in out) != ("problem(s) to fix" in out)
    assert status == (1 if "problem(s) to fix" in out else 0)  # the exit status says what the text says


@pytest.mark.parametrize(
    "command, flag, value, says",
    [
        ("grade", "--memory-limit", "4X", "'4X' is not a size"),
        ("grade", "--max-output", "lots", "'lots' is not a size"),
        ("grade", "--timeout", "-5", "'-5' is not a number of seconds above 0"),
        ("grade", "--cell-timeout", "abc", "'abc' is not a number of seconds above 0"),
        ("grade", "--timeout", "nan", "'nan' is not a number of seconds above 0"),
        ("grade", "--workers", "0", "'0' is not a whole number above 0"),
        ("grade", "--max-processes", "-1", "'-1' is not a whole number (0: no limit)"),
        ("demo", "--workers", "-3", "'-3' is not a whole number above 0"),
    ],
)
def test_a_wrong_value_is_a_usage_error_naming_the_option(command, flag, value, says, capsys):
    """Exit 2 (a wrong argument), not a traceback or exit 1 (which means submissions failed to grade)."""
    args = [command] + (["lab1-convolution"] if command == "grade" else []) + [f"{flag}={value}"]
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {says}" in err, err
    assert "Traceback" not in err


def test_doctor_prints_no_tensorflow_start_up_lines():
    """The doctor says the kernel keeps TensorFlow quiet; it is as quiet itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    proc = subprocess.run(
        [sys.executable, "-m", "cnncourse.cli", "doctor", "--skip-extensions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "TensorFlow" in proc.stdout or "tensorflow" in proc.stdout
    for noise in ("oneDNN", "cpu_feature_guard", "absl::", "E0000", "W0000", "I0000"):
        assert noise not in proc.stderr, proc.stderr
