"""Grade a built-in sample class end to end and print the grade table.

``cnncourse demo`` needs no arguments. In a fresh course copy
(``demo-output/course``, git-ignored; the repository's own gradebook is
never touched) it

1. builds the lab's release with nbgrader;
2. makes a sample class from the lab's solutions (see
   :mod:`autograder.grading.sample`): perfect, partial, blank, one whose
   kernel crashes, one stuck in an endless loop, one that eats memory and
   one with a broken notebook file;
3. grades it in parallel with ``cnncourse grade``'s engine, under limits
   short enough for a demo;
4. writes the class report and student feedback, and prints the table and
   where the report is.

The default lab is lab1-convolution (no training: a few minutes on two
cores); ``--lab`` picks another.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DEFAULT_LAB = "lab1-convolution"
DEFAULT_KINDS = ("perfect", "partial", "blank", "crashing", "endless", "memory", "malformed")
DEMO_CELL_TIMEOUT = 30


def add_arguments(parser):
    from autograder.grading.runner import COUNT, SECONDS, SIZE

    parser.add_argument("--lab", default=DEFAULT_LAB, help=f"lab to grade (default: {DEFAULT_LAB})")
    parser.add_argument(
        "--output", default="demo-output", help="folder for the demo's course copy and report (default: ./demo-output)"
    )
    parser.add_argument("--workers", type=COUNT, default=2, help="parallel workers (default: 2)")
    parser.add_argument("--backend", choices=["local", "dask"], default="local")
    parser.add_argument(
        "--only",
        default=None,
        metavar="KINDS",
        help=f"comma-separated subset of the sample class, e.g. perfect,crashing (default: {','.join(DEFAULT_KINDS)})",
    )
    parser.add_argument(
        "--cell-timeout",
        type=SECONDS,
        default=None,
        metavar="S",
        help=f"seconds a cell may run (default: {DEMO_CELL_TIMEOUT} s for a lab without training, "
        "else the profile's limit)",
    )
    parser.add_argument(
        "--memory-limit", type=SIZE, default="2.5G", metavar="SIZE", help="memory a submission may use (default: 2.5G)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def demo_cell_timeout(lab, profile_name=None):
    """A short cell limit for labs that train nothing, the profile's limit for labs that do.

    Whether a lab trains is read from ``cnncourse.runtime.BUDGETS`` (its keys
    start with the lab's short name, e.g. ``lab4.``).
    """
    from cnncourse.runtime import BUDGETS, CELL_TIMEOUTS, profile

    short = lab.split("-")[0]
    if any(key.split(".")[0] == short for key in BUDGETS):
        return CELL_TIMEOUTS[profile_name or profile(detect="cheap")]
    return DEMO_CELL_TIMEOUT


def build_class(course_dir, lab, kinds, root=None):
    """A course copy at ``course_dir`` with ``lab`` released and one submission per kind."""
    from autograder import course
    from autograder.grading import sample

    course_dir = Path(course_dir)
    if course_dir.exists():
        shutil.rmtree(course_dir)
    c = course.make_course_copy(course_dir, [lab], root)
    rel = course.generate_release(c, lab)
    nb = f"{lab}.ipynb"
    for kind in kinds:
        course.write_submission(c, lab, kind, sample.make(kind, c / "source" / lab / nb, rel / nb))
    return c


def run(args):
    from autograder import course
    from autograder.grading import sample
    from autograder.grading.limits import Limits, parse_size
    from autograder.grading.runner import GradingError, grade_class, print_summary
    from autograder.report import write_report

    kinds = [k.strip() for k in args.only.split(",")] if args.only else list(DEFAULT_KINDS)
    unknown = [k for k in kinds if k not in sample.KINDS]
    if unknown:
        print(f"error: unknown kinds {', '.join(unknown)}; choose from {', '.join(sample.KINDS)}", file=sys.stderr)
        return 2
    try:
        labs = course.list_labs()
    except course.CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.lab not in labs:
        print(f"error: no lab {args.lab!r}; labs: {', '.join(labs)}", file=sys.stderr)
        return 2
    out = Path(args.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"Building the release of {args.lab} and a sample class of {len(kinds)} in {out / 'course'} ...")
    sys.stdout.flush()
    c = build_class(out / "course", args.lab, kinds)
    cell = args.cell_timeout or demo_cell_timeout(args.lab)
    # The defaults of every grading run (Limits.default), with the demo's shorter cell limit and memory.
    limits = Limits.default(args.workers or 1, cell_timeout=cell, memory=parse_size(args.memory_limit))
    try:
        summary = grade_class(
            c, args.lab, workers=args.workers, backend=args.backend, limits=limits, progress=not args.no_progress
        )
    except GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print_summary(summary)
    paths = write_report(c, args.lab, output=out / "report", feedback=True)
    print(f"\nClass report:        {paths['html']}")
    print(f"Per-question grades: {paths['csv']}")
    print(f"Student feedback:    {c / 'feedback'}")
    return 0
