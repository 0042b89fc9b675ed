"""Fast checks of the grading pieces that need no kernel: device slots, sizes, the supervisor, feedback."""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import psutil
import pytest

from autograder.grading import limits, resources
from autograder.grading.backends import slot_map


def test_threads_are_shared_without_oversubscription():
    slots = resources.assign_slots(2, cpus=2, gpus=[])
    assert [s.threads for s in slots] == [1, 1]
    env = slots[0].environment()
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert env[name] == "1"
    assert env["TF_NUM_INTEROP_THREADS"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in env
    assert resources.assign_slots(3, cpus=16, gpus=[])[0].threads == 5
    assert resources.assign_slots(8, cpus=2, gpus=[])[7].threads == 1


def test_gpus_go_round_robin_on_a_simulated_machine():
    slots = resources.assign_slots(5, cpus=20, gpus=["0", "1", "2"])
    assert [s.gpu for s in slots] == ["0", "1", "2", "0", "1"]
    env = slots[4].environment()
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert env["OMP_NUM_THREADS"] == "4"


def test_visible_gpus_honours_the_scheduler_and_nvidia_smi():
    assert resources.visible_gpus({"CUDA_VISIBLE_DEVICES": "3,5"}) == ["3", "5"]
    assert resources.visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert resources.visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert resources.visible_gpus({}, query=lambda: "0\n1\n") == ["0", "1"]


def test_dask_slots_are_counted_per_host():
    info = {
        "tcp://a:1": {"host": "a", "name": 0},
        "tcp://a:2": {"host": "a", "name": 1},
        "tcp://b:1": {"host": "b", "name": "x"},
    }
    assert slot_map(info) == {"tcp://a:1": (0, 2), "tcp://a:2": (1, 2), "tcp://b:1": (0, 1)}


def test_sizes():
    assert limits.parse_size("4G") == 4 * 1024**3
    assert limits.parse_size("512MiB") == 512 * 1024**2
    assert limits.parse_size("none") is None
    with pytest.raises(ValueError):
        limits.parse_size("lots")


def _spawn(code):
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {child!r}])
child.wait()
time.sleep(30)
"""


@pytest.mark.parametrize("kind", ["timeout", "out_of_memory"])
def test_supervisor_stops_the_whole_tree_and_says_why(kind, tmp_path):
    if kind == "timeout":
        child = "import time; time.sleep(60)"
        lim = limits.Limits(timeout=1.0, grace=2.0)
    else:
        child = "import time\nhog = []\nwhile True:\n    hog.append(bytearray(32 << 20))\n    time.sleep(0.02)"
        lim = limits.Limits(memory=200 << 20, grace=2.0)
    proc = _spawn(TREE.format(child=child))
    time.sleep(0.5)
    start = time.monotonic()
    outcome = limits.Supervisor(proc.pid, proc.poll, lim, tmp_path).run()
    assert outcome.killed == kind
    assert time.monotonic() - start < 20
    assert json.loads((tmp_path / "kill.json").read_text())["kind"] == kind
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    if kind == "out_of_memory":
        assert outcome.peak_memory > 200 << 20


COPIES = """
import os, time
for _ in range(30):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
time.sleep(60)
"""
# Like the sandbox, a process that starts the kernel: the supervisor knows a kernel by "ipykernel" in its
# command line, which only the kernel (and its copies) have here (the starter spells it in two).
STARTS_A_KERNEL = (
    "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', sys.argv[1], 'ipy' + 'kernel']).wait()\n"
)


def test_the_processes_to_stop_are_the_kernels_and_all_under_them():
    starter = subprocess.Popen([sys.executable, "-c", STARTS_A_KERNEL, COPIES], start_new_session=True)
    try:
        root = psutil.Process(starter.pid)
        deadline = time.monotonic() + 30
        while len(root.children(recursive=True)) < 31 and time.monotonic() < deadline:
            time.sleep(0.1)
        kernel = root.children()[0]
        stop = limits.kernel_trees(limits._tree(root))
        assert {p.pid for p in stop} == {kernel.pid} | {p.pid for p in kernel.children()}
        assert len(stop) == 31 and starter.pid not in {p.pid for p in stop}
        assert limits.kernel_trees([root]) == [root]  # no kernel: everything given
    finally:
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait()


def test_feedback_names_failed_hidden_tests_but_hides_them():
    from autograder.feedback import HideHiddenTests

    source = "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(0) == 0, 'f(0) must be 0'\n### END HIDDEN TESTS\n"
    cell = nbformat.v4.new_code_cell(
        source, metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f", "points": 1}}
    )
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="AssertionError",
            evalue="f(0) must be 0",
            traceback=["----> 3 assert f(0) == 0, 'f(0) must be 0'"],
        )
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "assert f(0) == 0" not in text
    assert "hidden tests of test_f" in text
    assert "AssertionError: f(0) must be 0" in nb.cells[0].source and "test_f" in nb.cells[0].source
    assert nb.cells[1].outputs[0].traceback == ["AssertionError: f(0) must be 0"]


def test_sample_kinds_break_the_middle_answer(tmp_path):
    from autograder.grading import sample

    src = sample.tiny_source()
    released = nbformat.v4.new_notebook(cells=[nbformat.from_dict(dict(c)) for c in src.cells])
    for c in released.cells:
        if c.metadata.nbgrader.get("solution"):
            c.source = "# YOUR CODE HERE\nraise NotImplementedError()"
    nbformat.write(src, str(tmp_path / "s.ipynb"))
    nbformat.write(released, str(tmp_path / "r.ipynb"))
    crash = sample.make("crashing", tmp_path / "s.ipynb", tmp_path / "r.ipynb")
    answers = [c for c in crash.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert "os.kill" in answers[1].source and "os.kill" not in answers[0].source
    assert isinstance(sample.make("malformed", tmp_path / "s.ipynb", tmp_path / "r.ipynb"), bytes)
    partial = sample.make("partial", tmp_path / "s.ipynb", tmp_path / "r.ipynb")
    answers = [c for c in partial.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert "NotImplementedError" in answers[-1].source and "NotImplementedError" not in answers[0].source


def _task(max_score=5.0):
    from autograder.grading.task import GradingTask

    spec = {
        "max_score": max_score,
        "notebooks": [
            {"name": "lab", "grade_cells": [{"name": "test_a", "max_score": 2.0}, {"name": "test_b", "max_score": 3.0}]}
        ],
    }
    return GradingTask(
        assignment="lab",
        student="ada",
        files={"lab.ipynb": b"{}"},
        source_files={},
        spec=spec,
        config_text="",
        limits=limits.Limits(),
    )


def test_a_failed_task_gets_zero_in_every_cell_and_status_error():
    from autograder.grading.result import GradingResult

    r = GradingResult.failure(_task(), "worker died", seconds=2.5)
    assert (r.status, r.reason, r.score, r.max_score, r.seconds) == ("error", "worker died", 0.0, 5.0, 2.5)
    assert r.cells == {"test_a": [0.0, 2.0], "test_b": [0.0, 3.0]} and not r.ok


def test_a_result_survives_staging_with_its_files(tmp_path):
    from autograder.grading import state
    from autograder.grading.result import GradingResult

    r = GradingResult.start(_task(), host="h", slot="cpu 0")
    r.status, r.scores = (
        "ok",
        {
            "notebooks": {
                "lab": {
                    "grades": {
                        "test_a": {"auto_score": 2.0, "max_score": 2.0},
                        "test_b": {"auto_score": 1.5, "max_score": 3.0},
                    }
                }
            }
        },
    )
    r.files = {"lab.ipynb": b"\x00\xffbinary", "data/x.npy": b"123"}
    r.finish(time.monotonic())
    back = state.load_staged(state.stage(tmp_path, r))
    assert back == r and back.score == 3.5 and back.files["lab.ipynb"] == b"\x00\xffbinary"
    summary = state.ResultsFile(tmp_path, "lab")
    summary.record(back)
    entry = state.ResultsFile(tmp_path, "lab").students["ada"]  # read back from the file
    assert (entry["status"], entry["score"], entry["cells"]["test_b"]) == ("ok", 3.5, [1.5, 3.0])
    assert "files" not in entry


@pytest.mark.skipif(not limits.HAS_PSS, reason="this kernel has no /proc/PID/smaps_rollup")
def test_memory_shared_by_forked_children_counts_once():
    script = (
        "import os, time\n"
        "block = bytearray(os.urandom(1 << 20)) * 150  # 150 MiB, every page touched\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60); os._exit(0)\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        tree = [psutil.Process(proc.pid)] + psutil.Process(proc.pid).children(recursive=True)
        assert len(tree) == 4
        summed, proportional = limits.memory_used(tree, pss=False), limits.memory_used(tree, pss=True)
        block = 150 * 1024**2
        assert summed > 3.5 * block  # the block counted in each of the four processes
        assert block < proportional < 1.5 * block  # counted once
    finally:
        for p in psutil.Process(proc.pid).children(recursive=True):
            p.kill()
        proc.kill()
        proc.wait()


def test_a_duplicated_cell_id_is_read_without_a_warning_in_the_grader_s_terminal(tmp_path):
    """nbformat repairs it with a warning; the grader reads the file as valid and prints nothing."""
    import warnings

    from autograder.grading.worker import check_notebooks

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")])
    nb.cells[1].id = nb.cells[0].id
    (tmp_path / "tiny.ipynb").write_text(json.dumps(nb))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert check_notebooks(tmp_path, {"notebooks": [{"name": "tiny"}]}) == ""
    assert [str(w.message) for w in caught] == []
