"""Calibrated thresholds for checks that train a model.

A training check must be fair: the reference solution passes on every seed,
and plausible weak answers fail. So thresholds are measured, not guessed:

1. a lab's calibration spec (``autograder/calibrations/<lab>.py``) defines,
   per check, a ``reference(seed, profile)`` and some ``weak`` answers, each
   returning the metric the check grades (e.g. held-out accuracy), trained
   under exactly the budget the check uses (``cnncourse.runtime.budget``);
2. :func:`calibrate` runs each over at least 10 seeds under a profile and
   puts the threshold halfway between the worst reference seed and the best
   weak seed, requiring a stated margin on both sides;
3. the record is kept in ``autograder/calibration/<lab>.json``, and a test
   checks that every recorded threshold is still consistent with its
   recorded distributions (:func:`problems`).

Hidden test cells call :func:`grade` with the value the check measured; it
returns the points (full at the threshold, partial at the partial bar) and
prints the number reached and the bar.

Run ``python -m autograder.calibrate LAB [--profile fast|full]`` to
recalibrate after changing a budget, a reference or a check.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

CAL_DIR = Path(__file__).resolve().parent / "calibration"
MIN_SEEDS = 10


@dataclass
class Record:
    """The calibration of one check under one profile."""

    lab: str
    check: str
    profile: str
    metric: str
    reference: list
    weak: dict
    threshold: float
    partial: float | None
    margin: float
    higher_is_better: bool = True
    seeds: list = field(default_factory=list)
    budget: dict = field(default_factory=dict)
    notes: str = ""

    def summary(self):
        arrow = ">=" if self.higher_is_better else "<="
        worst = min(self.reference) if self.higher_is_better else max(self.reference)
        lines = [f"{self.lab}/{self.check} [{self.profile}] {self.metric} {arrow} {self.threshold:.4f} "
                 f"(margin {self.margin:.3f}); reference worst {worst:.4f}, "
                 f"mean {statistics.mean(self.reference):.4f} over {len(self.reference)} seeds"]
        for name, values in self.weak.items():
            best = max(values) if self.higher_is_better else min(values)
            lines.append(f"    weak '{name}': best {best:.4f}, mean {statistics.mean(values):.4f}")
        return "\n".join(lines)


def _path(lab):
    return CAL_DIR / f"{lab}.json"


def load_records(lab):
    """All records of a lab: ``{(check, profile): Record}`` (empty when not calibrated)."""
    p = _path(lab)
    if not p.exists():
        return {}
    raw = json.loads(p.read_text())
    return {(r["check"], r["profile"]): Record(**r) for r in raw["records"]}


def save_record(record):
    """Add or replace one record in its lab's JSON file."""
    CAL_DIR.mkdir(parents=True, exist_ok=True)
    records = load_records(record.lab)
    records[(record.check, record.profile)] = record
    ordered = [asdict(records[k]) for k in sorted(records)]
    _path(record.lab).write_text(json.dumps({"lab": record.lab, "records": ordered}, indent=1) + "\n")


def record(lab, check, profile=None, fallback=True):
    """The record a check grades against under the active (or given) profile.

    A lab must be calibrated under both profiles. Where the ``full`` record is
    missing (a lab calibrated only on a CPU so far), ``fallback`` grades
    against the ``fast`` record and says so on stdout, rather than failing
    every student's check: the fast bar was measured with a smaller budget, so
    for accuracy-like metrics it is the more lenient one.
    """
    from cnncourse.runtime import profile as active_profile

    p = profile or active_profile()
    records = load_records(lab)
    if (check, p) in records:
        return records[(check, p)]
    fix = f"python -m autograder.calibrate {lab} --profile {p}"
    if fallback and p == "full" and (check, "fast") in records:
        print(f"note: {lab}/{check} has no '{p}' calibration yet; grading against the 'fast' bar "
              f"(instructors: run `{fix}`).")
        return records[(check, "fast")]
    raise KeyError(f"No calibration for {lab}/{check} under profile {p!r}. Run: {fix}")


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
        raise ValueError(f"reference worst ({sign * worst_ref:.4f}) and best weak answer "
                         f"({sign * best_weak:.4f}) are only {gap:.4f} apart; need at least "
                         f"{2 * min_margin:.4f}.")
    threshold = best_weak + gap / 2
    return sign * threshold, gap / 2, sign * best_weak


def problems(rec, min_margin=0.02):
    """Ways in which a record's threshold is inconsistent with its distributions."""
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


def grade(lab, check, value, points, profile=None, what=None):
    """Points for a measured ``value``: full at the threshold, half above the partial bar, else 0.

    Prints the number reached and the bars, so the feedback says why.
    """
    rec = record(lab, check, profile)
    what = what or rec.metric
    sign = 1 if rec.higher_is_better else -1
    better = "at least" if rec.higher_is_better else "at most"
    if sign * value >= sign * rec.threshold:
        earned = float(points)
        verdict = "full credit"
    elif rec.partial is not None and sign * value > sign * rec.partial:
        # Strictly better than the best weak answer measured (which may be chance level).
        earned = points / 2
        verdict = f"half credit (the partial bar is {rec.partial:.3f})"
    else:
        earned = 0.0
        verdict = "no credit"
    print(f"{what}: {value:.3f}; the bar ({rec.profile} profile) is {better} {rec.threshold:.3f}: {verdict}.")
    return earned
