"""The calibrated bars of the checks that train a model, and the ``grade`` hidden tests call.

A training check measures what the student built (for example the held-out
accuracy of their LeNet trained under the profile's budget). Whether that
number earns the points is decided by a bar measured over many seeds of the
reference solution and of plausible weak answers (the method is in the
instructor package's README). The records live here, one JSON file per lab,
because checks and graded cells need them where students work; they are not
secret: the checks print them.

Example:

>>> from cnncourse.calibration import load_records
>>> rec = load_records("lab4-first-cnn")[("lenet", "fast")]
>>> rec.threshold < min(rec.reference)
True
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from cnncourse.errors import MissingCalibrationError

__all__ = [
    "MIN_SEEDS",
    "RECORD_THREADS",
    "MissingCalibrationError",
    "Record",
    "grade",
    "load_records",
    "record",
    "record_path",
]

CAL_DIR = Path(__file__).resolve().parent
MIN_SEEDS = 10
# TensorFlow's CPU threads within one operation (TF_NUM_INTRAOP_THREADS) when a record is measured.
# Some trainings end on other numbers with another count, because a convolution's sums are split
# differently (lab 6's mini ResNet, seed 0: 0.852 with two threads, 0.848 with one; lab 7's
# fine-tuning gain: 0.383 and 0.433), so records are made, and checked again by the tests, with
# this count on every machine. A graded kernel uses its worker's share of the machine (two threads
# for one worker on two cores, as here); another count is one more draw from the spread the bar
# was placed on.
RECORD_THREADS = 2


@dataclass
class Record:
    """The calibration of one check under one profile.

    Args:
        lab: the lab id, e.g. ``"lab4-first-cnn"``.
        check: the check's name, e.g. ``"lenet"``.
        profile: the profile it was calibrated under, ``"fast"`` or ``"full"``.
        metric: what the check measures, in words.
        reference: the reference solution's value for each seed.
        weak: ``{name: values per seed}`` of each weak answer.
        threshold: the bar for full points.
        partial: the bar for half the points (or ``None``: no half points).
        margin: the distance from the bar to the nearest measured value on
            either side.
        higher_is_better: whether larger values are better.
        seeds: the seeds measured.
        budget: the training budget used.
        notes: how it was measured, in words.
    """

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
        """Return one line for the bar and one per weak answer, for people.

        Returns:
            A string: the bar, its margin, the reference's worst and mean value,
            then each weak answer's best and mean value.

        Example:
            >>> rec = load_records("lab4-first-cnn")[("lenet", "fast")]
            >>> rec.summary().startswith("lab4-first-cnn/lenet [fast]")
            True
        """
        arrow = ">=" if self.higher_is_better else "<="
        worst = min(self.reference) if self.higher_is_better else max(self.reference)
        lines = [
            f"{self.lab}/{self.check} [{self.profile}] {self.metric} {arrow} {self.threshold:.4f} "
            f"(margin {self.margin:.3f}); reference worst {worst:.4f}, "
            f"mean {statistics.mean(self.reference):.4f} over {len(self.reference)} seeds"
        ]
        for name, values in self.weak.items():
            best = max(values) if self.higher_is_better else min(values)
            lines.append(f"    weak '{name}': best {best:.4f}, mean {statistics.mean(values):.4f}")
        return "\n".join(lines)


def record_path(lab):
    """Return the JSON file that holds ``lab``'s records.

    Args:
        lab: the lab id, e.g. ``"lab4-first-cnn"``.

    Returns:
        A :class:`~pathlib.Path` in this package's folder (it may not exist).

    Example:
        >>> record_path("lab4-first-cnn").name
        'lab4-first-cnn.json'
    """
    return CAL_DIR / f"{lab}.json"


def load_records(lab):
    """All records of a lab.

    Args:
        lab: the lab id, e.g. ``"lab4-first-cnn"``.

    Returns:
        ``{(check, profile): Record}``; empty when the lab has no calibration.
    """
    p = record_path(lab)
    if not p.exists():
        return {}
    raw = json.loads(p.read_text())
    return {(r["check"], r["profile"]): Record(**r) for r in raw["records"]}


def record(lab, check, profile=None, fallback=True):
    """Return the record a check grades against under the active (or given) profile.

    A lab is calibrated under both profiles. Where the ``full`` record is
    missing (a lab calibrated only on a CPU so far), ``fallback`` grades
    against the ``fast`` record and says so, rather than failing every
    student: the fast bar was measured with a smaller budget, so for
    accuracy-like metrics it is the more lenient one.

    Args:
        lab: the lab id, e.g. ``"lab4-first-cnn"``.
        check: the check's name, e.g. ``"lenet"``.
        profile: ``"fast"`` or ``"full"`` (``None``: the active
            :func:`cnncourse.runtime.profile`).
        fallback: whether a missing ``full`` record may be replaced by the
            ``fast`` one (a note is printed).

    Returns:
        A :class:`Record`.

    Raises:
        MissingCalibrationError: no record for the check under the profile.
        ValueError: ``profile`` is ``None`` and ``CNNCOURSE_PROFILE`` holds no
            profile.

    Example:
        >>> record("lab4-first-cnn", "lenet", "fast").higher_is_better
        True
    """
    from cnncourse.runtime import profile as active_profile

    p = profile or active_profile()
    records = load_records(lab)
    if (check, p) in records:
        return records[(check, p)]
    fix = f"cnncourse calibrate {lab} --profile {p}"
    if fallback and p == "full" and (check, "fast") in records:
        print(
            f"note: {lab}/{check} has no '{p}' calibration yet; grading against the 'fast' bar "
            f"(instructors: run `{fix}`)."
        )
        return records[(check, "fast")]
    raise MissingCalibrationError(f"No calibration for {lab}/{check} under profile {p!r}. Instructors: run `{fix}`.")


def grade(lab, check, value, points, profile=None, what=None):
    """Return the points for a measured ``value``: full at the bar, half above the partial bar, else none.

    Prints the number reached and the bar, so the feedback says why. A graded
    cell ends with this call: nbgrader takes its value as the cell's score.
    Full points need ``value`` at the bar or better; half points a value
    strictly better than the partial bar.

    Args:
        lab: the lab id of the calibrated bar.
        check: the check's name in the calibration.
        value: what the check measured.
        points: the cell's points.
        profile: the profile whose bar applies (default: the active one).
        what: how to name the number (default: the record's metric).

    Returns:
        The points earned, a ``float``.

    Raises:
        MissingCalibrationError: no record for the check under the profile.
        ValueError: ``profile`` is ``None`` and ``CNNCOURSE_PROFILE`` holds no
            profile.

    Example:
        >>> grade("lab4-first-cnn", "lenet", 1.0, 10, profile="fast", what="accuracy")  # doctest: +ELLIPSIS
        accuracy: 1.000; the bar (fast profile) is at least 0...: full credit.
        10.0
    """
    rec = record(lab, check, profile)
    value = float(value)
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
