"""Calibrate a lab's training checks over many seeds and record their bars.

``cnncourse calibrate LAB [--profile P] [--seeds N] [--check NAME]`` trains
the reference solution and the weak answers of every check in
``autograder/calibrations/<lab>.py`` over N seeds (at least 10) under the
profile, places the thresholds and writes ``cnncourse/calibration/<lab>.json``
(the records ship with the student package, where the checks read them).
See :mod:`autograder.calibration` for the method.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import time

from autograder.calibration import MIN_SEEDS, Record, place_threshold, save_record
from autograder.calibrations import module_name


def calibrate_check(lab, name, spec, profile, seeds, log=print):
    from tqdm.auto import tqdm

    from cnncourse.runtime import budget

    runs = {"reference": spec.reference, **{f"weak:{k}": v for k, v in spec.weak.items()}}
    values = {}
    for label, fn in runs.items():
        vals = []
        for seed in tqdm(seeds, desc=f"{name} {label}", leave=False):
            vals.append(float(fn(seed, profile)))
        values[label] = vals
        log(f"  {label:24s} " + " ".join(f"{v:.3f}" for v in vals))
    reference = values.pop("reference")
    weak = {k.split(":", 1)[1]: v for k, v in values.items()}
    notes = spec.notes
    if not getattr(spec, "weak_must_fail", True):
        # A property bar set by the reference alone; weak answers are only reported.
        shown = "; ".join(f"{k}: " + ", ".join(f"{v:.3f}" for v in vals) for k, vals in weak.items())
        notes = notes + (" " if notes else "") + f"Measured for information, not required to fail: {shown}."
        weak = {}
    threshold, margin, partial = place_threshold(reference, weak, spec.higher_is_better, spec.min_margin)
    rec = Record(
        lab=lab,
        check=name,
        profile=profile,
        metric=spec.metric,
        reference=reference,
        weak=weak,
        threshold=round(threshold, 4),
        partial=None if partial is None else round(partial, 4),
        margin=round(margin, 4),
        higher_is_better=spec.higher_is_better,
        seeds=list(seeds),
        budget=dataclasses.asdict(budget(spec.budget, profile)),
        notes=notes,
    )
    save_record(rec)
    log(rec.summary())
    return rec


def add_arguments(parser):
    parser.add_argument("lab", help="lab id, e.g. lab4-first-cnn")
    parser.add_argument(
        "--profile",
        choices=("fast", "full"),
        default="fast",
        help="the profile whose budget the runs use (default: fast)",
    )
    parser.add_argument("--seeds", type=int, default=MIN_SEEDS, help=f"seeds 0..N-1 (at least {MIN_SEEDS})")
    parser.add_argument("--check", action="append", help="only these checks (repeatable)")
    parser.add_argument(
        "--course-dir",
        default=None,
        help="course directory whose source/ holds the reference solutions (default: the current one)",
    )


def run(args):
    if args.seeds < MIN_SEEDS:
        print(f"error: --seeds must be at least {MIN_SEEDS}.", file=sys.stderr)
        return 2
    from cnncourse.calibration import RECORD_THREADS
    from cnncourse.runtime import KERNEL_ENV, collect_garbage_less_often

    os.environ["CNNCOURSE_PROFILE"] = args.profile
    os.environ.update(KERNEL_ENV)  # before TensorFlow starts: measure what graded kernels compute
    # The same threads on every machine: some trainings end on other numbers with another count.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(RECORD_THREADS)
    collect_garbage_less_often()  # as graded kernels do: the same results, sooner
    try:
        spec_module = importlib.import_module(module_name(args.lab))
    except ModuleNotFoundError:
        print(
            f"error: no calibration spec for {args.lab!r} (expected the module {module_name(args.lab)}).",
            file=sys.stderr,
        )
        return 2
    if args.course_dir:
        os.chdir(args.course_dir)  # the references are read from this course's source/
    for name, spec in spec_module.CHECKS.items():
        if args.check and name not in args.check:
            continue
        start = time.time()
        print(f"{args.lab}/{name} under '{args.profile}' with {args.seeds} seeds")
        calibrate_check(args.lab, name, spec, args.profile, list(range(args.seeds)))
        print(f"  ({time.time() - start:.0f} s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.calibrate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
