"""Benchmark: grade one student's whole course, every lab with its solutions in.

    python benchmarks/bench_course.py [--labs lab1-convolution lab4-first-cnn ...] [--profile fast]

For each lab of ``source/`` (or those named), a course directory outside the
checkout is made, nbgrader releases the lab, the perfect submission (the
released notebook with the source's answers) is handed in, and
``cnncourse grade LAB --workers 1 --no-preflight`` grades it in the sandbox,
as an instructor's run does. It prints, per lab, the grading time of the
submission (from the results file: kernel start to scores) and the command's
wall time (interpreter start, gradebook writes and all), then the totals.

Target on 2 cores in the ``fast`` profile: the whole course under 3 minutes of
submission grading time. A measurement, not a test: other load on the machine
makes it noisy (run it niced on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 180.0


def grade_one_lab(tmp, lab):
    """Release ``lab`` in a fresh course under ``tmp``, hand in its perfect submission, grade it.

    Returns:
        ``(result, wall seconds)``: the student's entry in the results file and the command's time.
    """
    from autograder import course
    from autograder.grading import sample

    c = course.make_course_copy(tmp / lab, [lab], ROOT)
    release = course.generate_release(c, lab)
    nb = f"{lab}.ipynb"
    course.write_submission(c, lab, "student", sample.make("perfect", c / "source" / lab / nb, release / nb))
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cnncourse.cli", "grade", lab, "--workers", "1", "--no-progress", "--no-preflight"],
        cwd=c,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    results = c / "autograded" / f"{lab}.results.json"
    if proc.returncode != 0 or not results.exists():
        raise RuntimeError(f"grading {lab} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(results.read_text())["students"]["student"], wall


def main(argv=None):
    from autograder import course
    from autograder.table import text_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labs", nargs="+", default=None, help="labs to grade (default: every lab in source/)")
    p.add_argument("--profile", choices=["fast", "full"], default="fast")
    p.add_argument("--keep", action="store_true", help="keep the course copies")
    args = p.parse_args(argv)
    os.environ["CNNCOURSE_PROFILE"] = args.profile
    labs = args.labs or course.list_labs(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="bench-course-"))
    rows, total, total_wall = [], 0.0, 0.0
    try:
        print(f"Grading one perfect submission of {len(labs)} labs, profile {args.profile} ...", flush=True)
        for lab in labs:
            r, wall = grade_one_lab(tmp, lab)
            total += r["seconds"]
            total_wall += wall
            rows.append((lab, r["status"], f"{r['score']:g}/{r['max_score']:g}", f"{r['seconds']:.1f}", f"{wall:.1f}"))
            print(f"  {lab}: {r['seconds']:.1f} s", flush=True)
        rows.append(("total", "", "", f"{total:.1f}", f"{total_wall:.1f}"))
        print()
        print(text_table(("lab", "status", "score", "grading s", "command s"), rows))
        verdict = "meets" if total <= TARGET_SECONDS else "misses"
        print(
            f"\nThe whole course grades in {total:.0f} s of submission time ({total_wall:.0f} s of commands): "
            f"{verdict} the target of {TARGET_SECONDS:.0f} s."
        )
    finally:
        if args.keep:
            print(f"course copies kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
