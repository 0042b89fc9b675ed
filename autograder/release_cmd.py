"""Regenerate the student release from the instructor sources with nbgrader.

``cnncourse release`` rewrites ``release/<lab>/`` for every lab (or the labs
named); ``cnncourse release --check`` writes nothing and fails when the
committed release is stale, so CI catches a source edited without a new
release.
"""

from __future__ import annotations

import sys


def add_arguments(parser):
    parser.add_argument("labs", nargs="*", metavar="LAB", help="assignment ids (default: every lab in source/)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when release/ differs from what nbgrader generates"
    )
    parser.add_argument("--course-dir", default=None, help="course directory (default: the current one)")


def run(args):
    from autograder.course import CourseError, release

    try:
        results = release(args.labs, check=args.check, root=args.course_dir)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = [r for r in results if r.changed]
    for r in results:
        if args.check:
            state = f"STALE ({r.detail})" if r.changed else "up to date"
        else:
            state = "regenerated" if r.changed else "unchanged"
        print(f"  {r.lab:22s} {state}")
    if args.check and stale:
        names = " ".join(r.lab for r in stale)
        print(
            f"release/ is stale for: {names}\nFix: run `cnncourse release {names}` and commit release/.",
            file=sys.stderr,
        )
        return 1
    return 0
