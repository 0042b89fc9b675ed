"""Placing and checking calibrated thresholds (the instructor's side of calibration).

A training check must be fair: the reference solution passes on every seed,
and plausible weak answers fail. So thresholds are measured, not guessed:

1. a lab's calibration spec (``autograder/calibrations/<lab>.py``) defines,
   per check, a ``reference(seed, profile)`` and some ``weak`` answers, each
   returning the metric the check grades (e.g. held-out accuracy), trained
   under exactly the budget the check uses (``cnncourse.runtime.budget``);
2. :func:`place_threshold` puts the bar halfway between the worst reference
   seed and the best weak seed, requiring a stated margin on both sides
   (``cnncourse calibrate LAB`` runs it, see :mod:`autograder.calibrate`);
3. the record is kept with the student package (``cnncourse/calibration/<lab>.json``,
   read by :mod:`cnncourse.calibration`, whose ``grade`` hidden tests call),
   and a test checks that every recorded threshold is still consistent with
   its recorded distributions (:func:`problems`).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from cnncourse.calibration import MIN_SEEDS, Record, load_records, record_path

__all__ = ["MIN_SEEDS", "Record", "load_records", "place_threshold", "problems", "save_record"]


def save_record(rec):
    """Add or replace one record in its lab's JSON file."""
    records = load_records(rec.lab)
    records[(rec.check, rec.profile)] = rec
    ordered = [asdict(records[k]) for k in sorted(records)]
    path = record_path(rec.lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"lab": rec.lab, "records": ordered}, indent=1) + "\n")
    return path


def place_threshold(reference, weak, higher_is_better=True, min_margin=0.02):
    """Threshold halfway between the worst reference and the best weak value.

    Returns ``(threshold, margin, partial)``; raises ``ValueError`` when the
    two groups are closer than ``2 * min_margin``, i.e. the check cannot tell
    them apart fairly and needs a bigger budget or a different metric.
    """
    sign = 1 if higher_is_better else -1
    worst_ref = min(sign * v for v in reference)
    best_weak = max((sign * v for vals in weak.values() for v in vals), default=None)
    if best_weak is None:
        threshold = worst_ref - min_margin
        return sign * threshold, min_margin, None
    gap = worst_ref - best_weak
    if gap < 2 * min_margin:
        raise ValueError(
            f"reference worst ({sign * worst_ref:.4f}) and best weak answer "
            f"({sign * best_weak:.4f}) are only {gap:.4f} apart; need at least "
            f"{2 * min_margin:.4f}."
        )
    threshold = best_weak + gap / 2
    return sign * threshold, gap / 2, sign * best_weak


def problems(rec, min_margin=0.02):
    """Ways in which a record's threshold is inconsistent with its distributions (empty: none)."""
    out = []
    sign = 1 if rec.higher_is_better else -1
    if len(rec.reference) < MIN_SEEDS:
        out.append(f"only {len(rec.reference)} reference seeds (need {MIN_SEEDS})")
    worst_ref = min(sign * v for v in rec.reference)
    if worst_ref - sign * rec.threshold < min(rec.margin, min_margin) - 1e-12:
        out.append(f"threshold {rec.threshold} is not {rec.margin} below the reference's worst seed")
    for name, vals in rec.weak.items():
        if len(vals) < MIN_SEEDS:
            out.append(f"weak '{name}' has only {len(vals)} seeds (need {MIN_SEEDS})")
        best = max(sign * v for v in vals)
        if sign * rec.threshold - best < min(rec.margin, min_margin) - 1e-12:
            out.append(f"weak answer '{name}' reaches {sign * best}, within the margin of the threshold")
    if rec.partial is not None and sign * rec.partial > sign * rec.threshold:
        out.append("the partial-credit bar is above the full-credit bar")
    return out
