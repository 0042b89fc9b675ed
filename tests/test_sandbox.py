"""The sandbox's pieces without a grading run: when it is unavailable, what the kernel sees, the guard's parts."""

import io
import json
import os
import subprocess
import sys

import pytest

from autograder.grading import guard, runner, sandbox
from autograder.grading.task import read_folder


@pytest.fixture
def no_bwrap(monkeypatch):
    sandbox.probe.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    yield
    sandbox.probe.cache_clear()


def test_without_bubblewrap_grading_goes_on_and_says_so_loudly(no_bwrap):
    assert sandbox.probe() == "the bwrap command is not installed"
    assert sandbox.resolve("auto") == "none"
    err = io.StringIO()
    assert runner._isolation("auto", out=err) == "none"
    assert "NOT ISOLATED" in err.getvalue() and "apt-get install bubblewrap" in err.getvalue()


def test_require_refuses_to_grade_without_bubblewrap(no_bwrap):
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.resolve("require")
    with pytest.raises(runner.GradingError, match="--sandbox require"):
        runner._isolation("require")


def test_off_is_said_too():
    assert sandbox.resolve("off") == "none"
    assert "--sandbox off" in sandbox.warning("off")
    with pytest.raises(ValueError, match="auto, require, off"):
        sandbox.resolve("maybe")


def test_the_kernel_environment_keeps_only_what_a_kernel_needs(tmp_path):
    env = {
        "PATH": "/usr/bin",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "1",
        "CNNCOURSE_PROFILE": "fast",
        "JUPYTERHUB_API_TOKEN": "secret",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "HOME": "/root",
    }
    out = sandbox.kernel_environment(env, tmp_path)
    assert out["OMP_NUM_THREADS"] == "1" and out["CUDA_VISIBLE_DEVICES"] == "1" and out["CNNCOURSE_PROFILE"] == "fast"
    assert "JUPYTERHUB_API_TOKEN" not in out and "AWS_SECRET_ACCESS_KEY" not in out
    assert out["HOME"] == str(tmp_path)


def test_the_kernelspec_without_isolation_is_plain_ipykernel(tmp_path):
    env = sandbox.write_kernel(tmp_path, tmp_path / "cwd", {"PATH": "/usr/bin"}, "none")
    spec = json.loads((tmp_path / "jupyter" / "kernels" / sandbox.KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and "bwrap" not in " ".join(spec["argv"])
    assert env["JUPYTER_PATH"].startswith(str(tmp_path / "jupyter"))


def test_the_graded_kernel_ends_without_teardown_yet_keeps_what_the_notebook_wrote(tmp_path, monkeypatch):
    """Once shut down, the kernel ends at once: open files are flushed, no exit handler runs, history was in memory.

    Ending this quickly, ipykernel's own exit handlers could wait on each other (its control
    thread flushing output to the output thread an earlier handler stopped) until the kernel
    was killed, its files unflushed: a third of the shutdowns on a busy machine.
    """
    from jupyter_client import KernelManager

    env = sandbox.write_kernel(tmp_path, tmp_path / "cwd", {"PATH": "/usr/bin"}, "none")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
    km = KernelManager(kernel_name=sandbox.KERNEL_NAME)
    assert km.kernel_spec.argv[:3] == [sys.executable, "-c", sandbox.KERNEL_LAUNCHER]
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        # A module of the student's keeps a log open: clearing the notebook's names does not close it.
        (tmp_path / "helper.py").write_text("log = open('left_open.txt', 'w')\n")
        code = (
            "import atexit, sys\n"
            "sys.path.insert(0, '.')\n"
            "import helper\n"
            "helper.log.write('kept ' * 100)\n"
            "notes = open('in_the_namespace.txt', 'w')\n"  # IPython's reset of the names is skipped too
            "notes.write('noted ' * 100)\n"
            "atexit.register(lambda: open('handler.txt', 'w').write('ran'))\n"
            "open('history.txt', 'w').write(str(get_ipython().history_manager.hist_file))\n"
        )
        reply = kc.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert (tmp_path / "left_open.txt").read_text() == "kept " * 100  # buffered, never closed
    assert (tmp_path / "in_the_namespace.txt").read_text() == "noted " * 100
    assert not (tmp_path / "handler.txt").exists()
    assert (tmp_path / "history.txt").read_text() == ":memory:"


def test_the_graded_kernel_collects_garbage_as_the_course_asks(tmp_path, monkeypatch):
    """Full collections every FULL_COLLECTION_EVERY middle ones, the younger generations as CPython sets them."""
    import gc

    from jupyter_client import KernelManager

    from cnncourse.runtime import FULL_COLLECTION_EVERY

    env = sandbox.write_kernel(tmp_path, tmp_path / "cwd", {"PATH": "/usr/bin"}, "none")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
    km = KernelManager(kernel_name=sandbox.KERNEL_NAME)
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        code = "import gc\nopen('gc.txt', 'w').write(repr(gc.get_threshold()))\n"
        reply = kc.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    # This process's first two thresholds are CPython's (conftest changed only the third, as the kernel must).
    assert (tmp_path / "gc.txt").read_text() == repr((*gc.get_threshold()[:2], FULL_COLLECTION_EVERY))
    assert FULL_COLLECTION_EVERY != 10 and gc.get_threshold()[2] == FULL_COLLECTION_EVERY


def test_collect_garbage_less_often_changes_only_the_full_collections():
    import gc

    from cnncourse import runtime

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert runtime.collect_garbage_less_often() == (700, 10, runtime.FULL_COLLECTION_EVERY)
        assert gc.get_threshold() == (700, 10, runtime.FULL_COLLECTION_EVERY)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("end", "status"), [("sys.exit(3)", 3), ("raise ValueError('x')", 1), ("sys.exit()", 0), ("None  # shut down", 0)]
)
def test_the_graded_kernel_launcher_ends_with_the_status_it_was_ending_with(end, status):
    code = sandbox.KERNEL_LAUNCHER.replace("kernelapp.launch_new_instance()", end)
    assert code != sandbox.KERNEL_LAUNCHER
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == status, proc.stderr


@pytest.mark.skipif(bool(sandbox.probe()), reason="bubblewrap cannot run here")
def test_inside_the_sandbox_the_course_is_invisible_and_the_network_is_gone(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "source" / "hidden.txt").write_text("hidden")
    cwd = tmp_path / "work" / "cwd"
    cwd.mkdir(parents=True)
    (tmp_path / "rt").mkdir()
    (tmp_path / "home").mkdir()
    probe = (
        "import os, socket, sys\n"
        f"print(os.path.exists({str(course / 'source' / 'hidden.txt')!r}))\n"
        "s = socket.socket()\n"
        "try:\n    s.connect(('1.1.1.1', 53)); print('net')\nexcept OSError:\n    print('no net')\n"
        "print(sorted(p for p in os.listdir('/proc') if p.isdigit())[:3], os.getuid())\n"
        "open('written.txt', 'w').write('ok')\n"
        "import cnncourse; print('cnncourse ok')\n"
    )
    cmd = sandbox.bwrap_command(cwd, tmp_path / "rt", tmp_path / "home", {"PATH": "/usr/bin"})
    out = subprocess.run(cmd + [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "False"  # the course is not there
    assert lines[1] == "no net"
    assert lines[2].startswith("['1', '2'") and lines[2].endswith("65534")  # own process namespace, no root
    assert lines[3] == "cnncourse ok"
    assert (cwd / "written.txt").read_text() == "ok"  # its own folder is writable


def test_read_folder_skips_links_and_oversized_files(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "big.bin").write_bytes(b"0" * 2048)
    os.symlink("/etc/passwd", tmp_path / "leak.txt")
    dropped = []
    files = read_folder(tmp_path, max_file_bytes=1024, dropped=dropped)
    assert list(files) == ["a.txt"] and dropped == ["big.bin"]


def test_bound_names_are_what_an_instructor_cell_defines():
    src = "import numpy as np\nimport os.path\nfrom x import y as z, w\ndef f():\n    q = 1\nclass C: pass\na, (b, c) = 1, (2, 3)\nd: int = 4\n"
    assert guard.bound_names(src) == ["np", "os", "z", "w", "f", "C", "a", "b", "c", "d"]
    assert guard.bound_names("def (") == []


def test_the_guard_only_believes_answers_that_carry_its_secret():
    g = guard.Guard()

    def reply(payload, status="ok"):
        return {
            "content": {
                "status": "ok",
                "user_expressions": {"r": {"status": status, "data": {"text/plain": repr(json.dumps(payload))}}},
            }
        }

    assert g.read(reply({"token": g.token, "changed": []})) == (True, [])
    assert g.read(reply({"token": g.token, "changed": ["numpy.allclose"], "count": 3})) == (
        True,
        ["numpy.allclose", "and 2 more"],
    )
    ok, why = g.read(reply({"token": "forged", "changed": []}))
    assert not ok and "something else" in why[0]
    assert not g.read(reply({}, status="error"))[0]
    assert not g.read(None)[0]
