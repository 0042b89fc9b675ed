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
   of the same N processes with the same per-worker thread limits, in the
   order grading took them (the most complete first).

Every kernel of the three draws its figures inline, as graded kernels do
(``MPLBACKEND`` is dropped from their environment), so all three do the same work.

It prints the speed-up (1 / 2) and the grading overhead (2 / 3), then where
the time of one submission goes, sandboxed and not, side by side: from the
grading process's start to the first cell (nbgrader, the sandbox, the kernel's
start), the imports cell, every cell that took a second or more (the checks'
training among them), and from the last cell to the scores.
Targets on a 2-core machine: speed-up >= 1.8 with 2 workers and the sandbox
on, overhead <= 1.10. Other load on the machine makes the figures noisy; run
it on a quiet machine, e.g. ``nice python benchmarks/bench_grading.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
    env.pop("MPLBACKEND", None)  # kernels draw inline, as graded kernels do (autograder.grading.worker)
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

    os.environ.clear()
    os.environ.update(_env(threads))
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    t0 = time.monotonic()
    NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(path)}},
    ).execute()
    return time.monotonic() - t0


def _stamp(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def breakdown(course_dir, lab, student):
    """Where one graded submission's time went, from its results entry and its cells' execution stamps.

    Returns:
        ``[(what, seconds), ...]``: the start (to the first cell), each code cell
        (labelled by its grade id, else its position), the end (last cell to
        scores), in order.
    """
    entry = json.loads((Path(course_dir) / "autograded" / f"{lab}.results.json").read_text())["students"][student]
    nb = json.loads((Path(course_dir) / "autograded" / student / lab / f"{lab}.ipynb").read_text())
    parts, first, last = [], None, None
    for i, cell in enumerate(nb["cells"]):
        stamps = cell.get("metadata", {}).get("execution") or {}
        if cell["cell_type"] != "code" or "iopub.execute_input" not in stamps or "shell.execute_reply" not in stamps:
            continue
        begin, end = _stamp(stamps["iopub.execute_input"]), _stamp(stamps["shell.execute_reply"])
        first = begin if first is None else first
        last = end
        label = cell["metadata"].get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
        parts.append((label, end - begin))
    if first is None:
        return [("whole submission (no cell ran)", entry["seconds"])]
    return (
        [("start: grader, sandbox, kernel", first - entry["started"])]
        + parts
        + [("end: scores, files", entry["started"] + entry["seconds"] - last)]
    )


def print_breakdowns(columns, lab, student):
    """Print :func:`breakdown` of ``student`` for each ``{name: course_dir}``, side by side (cells >= 1 s)."""
    from autograder.table import text_table

    found = {name: dict(breakdown(c, lab, student)) for name, c in columns.items()}
    first = next(iter(found.values()))
    keep = [
        k
        for k in first
        if k.startswith(("start", "end")) or k == "imports" or max(found[n].get(k, 0.0) for n in found) >= 1.0
    ]
    rows = [[k] + [f"{found[n].get(k, 0.0):.1f}" for n in found] for k in keep]
    rest = [sum(v for k, v in found[n].items() if k not in keep) for n in found]
    rows.append(["other cells (each < 1 s)"] + [f"{v:.1f}" for v in rest])
    rows.append(["total"] + [f"{sum(found[n].values()):.1f}" for n in found])
    print(f"\nWhere the time of one submission ({student}) went, in seconds:")
    print(text_table(["part"] + list(found), rows))


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
        print(
            f"Lab {lab}, {args.students} submissions, {args.workers} workers, {cpu_count()} CPUs; building ...",
            flush=True,
        )
        serial_course = build(tmp / "serial", lab, args.students)
        parallel_course = tmp / "parallel"
        shutil.copytree(serial_course, parallel_course, symlinks=True)
        bare_course = tmp / "unsandboxed"
        shutil.copytree(serial_course, bare_course, symlinks=True)

        grade = [
            sys.executable,
            "-m",
            "cnncourse.cli",
            "grade",
            lab,
            "--workers",
            str(args.workers),
            "--no-progress",
            "--no-preflight",
        ]
        t_serial = _timed(
            "serial nbgrader autograde:", [sys.executable, "-m", "nbgrader", "autograde", lab, "--force"], serial_course
        )
        t_grade = _timed(f"cnncourse grade --workers {args.workers}:", grade, parallel_course)
        t_bare = _timed("... with --sandbox off:", grade + ["--sandbox", "off"], bare_course)

        # In the order grading started them (the most complete first, autograder.grading.order): the same schedule.
        started = json.loads((parallel_course / "autograded" / f"{lab}.results.json").read_text())["students"]
        notebooks = [
            str(parallel_course / "autograded" / s / lab / f"{lab}.ipynb")
            for s in sorted(started, key=lambda s: started[s]["started"])
        ]
        t0 = time.monotonic()
        with ProcessPoolExecutor(args.workers) as pool:
            per_nb = list(pool.map(_execute, [(nb, threads, cell_timeout()) for nb in notebooks]))
        t_exec = time.monotonic() - t0
        print(
            f"  nbclient only, {args.workers} processes:       {t_exec:7.1f} s "
            f"({sum(per_nb) / max(1, len(per_nb)):.1f} s per notebook)",
            flush=True,
        )

        print(f"\nspeed-up over serial nbgrader: {t_serial / t_grade:.2f}x (target >= 1.8x)")
        print(f"grading overhead over pure execution: {t_grade / t_exec:.2f}x (target <= 1.10x)")
        print(
            f"without the sandbox: speed-up {t_serial / t_bare:.2f}x, overhead {t_bare / t_exec:.2f}x; "
            f"the sandbox costs {t_grade / t_bare:.2f}x"
        )
        print(
            "(timings include everything: start-up, kernels, gradebook writes; load from other "
            "processes on the machine makes them noisy)"
        )
        print_breakdowns({"sandboxed": parallel_course, "--sandbox off": bare_course}, lab, "s000")
    finally:
        if args.keep:
            print(f"course copies kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
