"""Autograde a class in parallel: a local process pool or a Dask cluster.

Run in the course directory::

    cnncourse grade lab1-convolution --workers 2
    cnncourse grade lab5-regularization --backend dask --scheduler tcp://head:8786
    cnncourse grade lab1-convolution --resume          # after a crash: only what is missing

Every submission ends in nbgrader's gradebook, with its scores or with a
recorded reason (timed out at a cell, kernel died at a cell, out of memory,
malformed notebook) in ``autograded/<assignment>.results.json``. Before
anyone is graded, the course's own solution is graded the same way and must
earn full marks. Exit status: 0 when every submission was graded, 1 when
some could not be for the grader's reasons (status ``error``), 2 when
grading could not start. See docs/grading.md for limits, backends, Slurm
and Kubernetes.
"""

from __future__ import annotations

import os
import sys


def add_arguments(parser):
    from autograder.grading.runner import COUNT, add_limit_arguments

    parser.add_argument("assignment", help="assignment id, e.g. lab1-convolution")
    parser.add_argument(
        "--students",
        nargs="+",
        metavar="ID",
        default=None,
        help="grade only these students (default: every submission)",
    )
    parser.add_argument(
        "--workers",
        type=COUNT,
        default=None,
        help="parallel workers (default: CPU cores, at most 4; Dask LocalCluster: 2)",
    )
    add_limit_arguments(parser)
    parser.add_argument(
        "--backend", choices=["local", "dask"], default="local", help="local process pool (default) or a Dask cluster"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of an existing Dask scheduler (default: start a LocalCluster)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="grade only submissions that have no result yet (or changed since)"
    )
    parser.add_argument(
        "--one",
        metavar="STUDENT",
        default=None,
        help="grade this one student here and stage the result without touching the "
        "gradebook (a step of a Slurm job array; the next grade run merges it)",
    )
    parser.add_argument(
        "--no-preflight",
        action="store_true",
        help="do not grade the course's own solution first (by default grading stops, recording "
        "nothing, unless it earns full marks the same way)",
    )
    parser.add_argument("--course-dir", default=None, help="course directory (default: the current one)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    from autograder.grading.runner import (
        GradingError,
        default_workers,
        grade_class,
        grade_one_staged,
        limits_from_args,
        print_summary,
    )
    from autograder.grading.state import GraderBusy

    if args.scheduler and args.backend != "dask":
        args.backend = "dask"
    if args.profile:
        os.environ["CNNCOURSE_PROFILE"] = args.profile
    try:
        if args.one:
            limits = limits_from_args(args, workers=1)
            r = grade_one_staged(
                args.course_dir,
                args.assignment,
                args.one,
                limits,
                args.profile,
                args.sandbox,
                preflight=not args.no_preflight,
            )
            print(f"{r.student}: {r.status} {r.score:g}/{r.max_score:g} {r.reason}".rstrip())
            print("Staged; `cnncourse grade {} --resume` merges it into the gradebook.".format(args.assignment))
            return 1 if r.status == "error" else 0
        workers = args.workers or default_workers(args.backend)
        limits = limits_from_args(args, workers)
        summary = grade_class(
            args.course_dir,
            args.assignment,
            students=args.students,
            workers=workers,
            backend=args.backend,
            scheduler=args.scheduler,
            limits=limits,
            profile=args.profile,
            resume=args.resume,
            progress=not args.no_progress,
            sandbox=args.sandbox,
            preflight=not args.no_preflight,
        )
    except (GradingError, GraderBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 1 if summary.errors else 0
