"""Calibrate a lab's training checks: ``python -m autograder.calibrate LAB [--profile P] [--seeds N]``.

Trains the reference solution and the weak answers of every check in
``autograder/calibrations/<lab>.py`` over N seeds (at least 10) under the
profile, places the thresholds and writes ``autograder/calibration/<lab>.json``.
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
        notes = (notes + (" " if notes else "") + f"Measured for information, not required to fail: {shown}.")
        weak = {}
    threshold, margin, partial = place_threshold(reference, weak, spec.higher_is_better, spec.min_margin)
    rec = Record(lab=lab, check=name, profile=profile, metric=spec.metric, reference=reference, weak=weak,
                 threshold=round(threshold, 4), partial=None if partial is None else round(partial, 4),
                 margin=round(margin, 4), higher_is_better=spec.higher_is_better, seeds=list(seeds),
                 budget=dataclasses.asdict(budget(spec.budget, profile)), notes=notes)
    save_record(rec)
    log(rec.summary())
    return rec


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("--profile", choices=("fast", "full"), default="fast")
    parser.add_argument("--seeds", type=int, default=MIN_SEEDS)
    parser.add_argument("--check", action="append", help="only these checks (repeatable)")
    args = parser.parse_args(argv)
    if args.seeds < MIN_SEEDS:
        parser.error(f"--seeds must be at least {MIN_SEEDS}")
    os.environ["CNNCOURSE_PROFILE"] = args.profile
    try:
        spec_module = importlib.import_module(module_name(args.lab))
    except ModuleNotFoundError:
        parser.error(f"no calibration spec for {args.lab!r} (expected {module_name(args.lab)})")
    for name, spec in spec_module.CHECKS.items():
        if args.check and name not in args.check:
            continue
        start = time.time()
        print(f"{args.lab}/{name} under '{args.profile}' with {args.seeds} seeds")
        calibrate_check(args.lab, name, spec, args.profile, list(range(args.seeds)))
        print(f"  ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
