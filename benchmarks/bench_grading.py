"""Benchmark: plain ``nbgrader autograde`` against ``cnncourse grade``, and grading against pure execution.

One run, one class (``--students`` submissions of one lab: a lab that
trains a model where one exists, else lab 1), three measurements:

1. **serial nbgrader**: ``nbgrader autograde LAB`` grades the class, one
   notebook after another (what nbgrader does on its own);
2. **cnncourse grade**: the same class with ``--workers N`` (default 2), in the
   sandbox, and again with ``--sandbox off`` (what isolation costs); both with
   ``--no-preflight``, so the class is the same work nbgrader does (the
   preflight adds one submission per run, whatever the size of the class);
3. **pure execution**: the same notebooks (the autograded ones, hidden
   tests included, outputs cleared) executed with nbclient alone, in a pool
   of the same N processes with the same per-worker thread limits.

It prints the speed-up (1 / 2) and the grading overhead (2 / 3).
Targets on a 2-core machine: speed-up >= 1.7 with 2 workers, overhead
<= 1.15. Other load on the machine makes the figures noisy; run it on a
quiet machine, e.g. ``nice python benchmarks/bench_grading.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pick_lab(root=ROOT):
    """The first lab that trains a model (has a budget in cnncourse.runtime.BUDGETS), else lab 1."""
    from autograder import course
    from cnncourse.runtime import BUDGETS

    labs = course.list_labs(root)
    trainers = {key.split(".")[0] for key in BUDGETS}
    released = [lab for lab in labs if (root / "release" / lab).is_dir()]
    for lab in released:
        if lab.split("-")[0] in trainers:
            return lab
    return "lab1-convolution" if "lab1-convolution" in labs else labs[0]


def build(course_dir, lab, n):
    from autograder import course
    from autograder.grading import sample

    c = course.make_course_copy(course_dir, [lab], ROOT)
    rel = course.generate_release(c, lab)
    nb = f"{lab}.ipynb"
    for i in range(n):
        kind = "perfect" if i % 2 == 0 else "partial"
        course.write_submission(c, lab, f"s{i:03d}", sample.make(kind, c / "source" / lab / nb, rel / nb))
    return c


def _env(threads):
    from cnncourse.runtime import KERNEL_ENV

    env = dict(os.environ, **KERNEL_ENV)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    if threads:
        from autograder.grading.resources import Slot

        env.update(Slot(0, threads).environment())
    return env


def _timed(label, cmd, cwd):
    """Run ``cmd`` in ``cwd``; print and return its wall time (and its output if it failed)."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(None), capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
    print(f"  {label:34s}{seconds:7.1f} s", flush=True)
    return seconds


def _execute(args):
    """Execute one notebook with nbclient (outputs cleared first), in its own folder."""
    path, threads, timeout = args
    import nbformat
    from nbclient import NotebookClient

    from autograder.grading.resources import Slot

    os.environ.update(Slot(0, threads).environment())
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    t0 = time.monotonic()
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    return time.monotonic() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lab", default=None, help="lab to grade (default: a training lab if one exists, else lab 1)")
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the course copies")
    args = p.parse_args(argv)
    os.environ.setdefault("CNNCOURSE_PROFILE", "fast")
    from autograder.grading.resources import cpu_count
    from cnncourse.runtime import cell_timeout

    lab = args.lab or pick_lab()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    threads = max(1, cpu_count() // args.workers)
    try:
        print(f"Lab {lab}, {args.students} submissions, {args.workers} workers, {cpu_count()} CPUs; building ...",
              flush=True)
        serial_course = build(tmp / "serial", lab, args.students)
        parallel_course = tmp / "parallel"
        shutil.copytree(serial_course, parallel_course, symlinks=True)
        bare_course = tmp / "unsandboxed"
        shutil.copytree(serial_course, bare_course, symlinks=True)

        grade = [sys.executable, "-m", "cnncourse.cli", "grade", lab, "--workers", str(args.workers), "--no-progress",
                 "--no-preflight"]
        t_serial = _timed("serial nbgrader autograde:",
                          [sys.executable, "-m", "nbgrader", "autograde", lab, "--force"], serial_course)
        t_grade = _timed(f"cnncourse grade --workers {args.workers}:", grade, parallel_course)
        t_bare = _timed("... with --sandbox off:", grade + ["--sandbox", "off"], bare_course)

        notebooks = sorted(str(p) for p in (parallel_course / "autograded").glob(f"*/{lab}/{lab}.ipynb"))
        t0 = time.monotonic()
        with ProcessPoolExecutor(args.workers) as pool:
            per_nb = list(pool.map(_execute, [(nb, threads, cell_timeout()) for nb in notebooks]))
        t_exec = time.monotonic() - t0
        print(f"  nbclient only, {args.workers} processes:       {t_exec:7.1f} s "
              f"({sum(per_nb) / max(1, len(per_nb)):.1f} s per notebook)", flush=True)

        print(f"\nspeed-up over serial nbgrader: {t_serial / t_grade:.2f}x (target >= 1.7x)")
        print(f"grading overhead over pure execution: {t_grade / t_exec:.2f}x (target <= 1.15x)")
        print(f"without the sandbox: speed-up {t_serial / t_bare:.2f}x, overhead {t_bare / t_exec:.2f}x; "
              f"the sandbox costs {t_grade / t_bare:.2f}x")
        print("(timings include everything: start-up, kernels, gradebook writes; load from other "
              "processes on the machine makes them noisy)")
    finally:
        if args.keep:
            print(f"course copies kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
