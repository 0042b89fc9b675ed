"""Why a training check gave what it gave: the calibrated bar, the reference, the weak answers and the student's number.

A training check prints one line (:func:`cnncourse.checks.training.report`)::

    ✔ Exercise 2 (LeNet-5 trained): held-out accuracy = 0.934; the bar (fast profile) is at least 0.722.

This module reads such lines back from graded notebooks, finds the calibration
record they were measured against (:mod:`cnncourse.calibration`: same lab,
profile and metric, the same bar) and draws them on one small plot: the
reference solution's value on each calibration seed, each weak answer's, the
bar for full points, the bar for half, and the student's own value (or the
class's). :class:`TrainingPlots` adds the plot to a student's feedback;
the class report draws one per check with every student's value.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

from nbconvert.preprocessors import Preprocessor

MEASURED = re.compile(
    r"(?P<exercise>Exercise [^:\n]+?): (?P<what>[^=\n]+?) = (?P<value>-?\d+(?:\.\d+)?)[^\n]*?"
    r"the bar \((?P<profile>\w+) profile\) is (?:at least|at most) (?P<bar>-?\d+(?:\.\d+)?)"
)
"""One training check's printed line: its exercise, metric, value, profile and bar."""


@dataclass(frozen=True)
class Measurement:
    """One number a training check printed.

    Args:
        exercise: the exercise's name, e.g. ``"Exercise 2 (LeNet-5 trained)"``.
        what: the metric, e.g. ``"held-out accuracy"``.
        value: the number measured.
        profile: the profile it was measured under.
        bar: the bar for full points, as printed (three decimals).
    """

    exercise: str
    what: str
    value: float
    profile: str
    bar: float


def measurements(text):
    """Return the :class:`Measurement` lines in a cell's printed output.

    Args:
        text: the output's text.

    Returns:
        A list, in the order printed.

    Example:
        >>> measurements("✘ Exercise 6 (CNN trained): accuracy = 0.610; the bar (fast profile) is at least 0.700")
        [Measurement(exercise='Exercise 6 (CNN trained)', what='accuracy', value=0.61, profile='fast', bar=0.7)]
    """
    return [
        Measurement(m["exercise"], m["what"].strip(), float(m["value"]), m["profile"], float(m["bar"]))
        for m in MEASURED.finditer(text)
    ]


def record_for(lab, measurement):
    """Return the calibration record a measurement was held to, or ``None``.

    Args:
        lab: the lab id.
        measurement: a :class:`Measurement`.

    Returns:
        The :class:`cnncourse.calibration.Record` of the same profile and metric
        whose bar prints as the one in the line.
    """
    from cnncourse.calibration import load_records

    for rec in load_records(lab).values():
        if (
            rec.profile == measurement.profile
            and rec.metric == measurement.what
            and abs(rec.threshold - measurement.bar) < 5e-4
        ):
            return rec
    return None


def plot(record, title=None, you=None, others=()):
    """Draw a record's calibration and where a student (or a class) falls; return PNG bytes.

    One row for the reference solution's seeds and one per weak answer; the bar
    for full points (solid) and for half (dashed); ``you`` as a red line, the
    class's values (``others``) as a row of their own.

    Args:
        record: a :class:`cnncourse.calibration.Record`.
        title: the plot's title (``None``: the record's lab, check and profile).
        you: the student's value, or ``None``.
        others: the class's values.

    Returns:
        The PNG image, as bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    rows = [("reference solution", record.reference)] + [(f"weak: {k}", v) for k, v in record.weak.items()]
    if others:
        rows.append(("this class", list(others)))
    colors = sns.color_palette("deep", 4).as_hex()
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(rows) + 1.3))
    for i, (name, values) in enumerate(rows):
        color = colors[0] if i == 0 else (colors[2] if name == "this class" else colors[3])
        ax.scatter(values, [i] * len(values), s=22, color=color, alpha=0.75, zorder=3)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(record.threshold, color="black", lw=1.2, label=f"full points: {record.threshold:.3f}")
    if record.partial is not None:
        ax.axvline(record.partial, color="black", lw=1, ls="--", label=f"half points: {record.partial:.3f}")
    if you is not None:
        ax.axvline(you, color=colors[1], lw=2.2, label=f"yours: {you:.3f}")
    ax.set_xlabel(record.metric + (" (higher is better)" if record.higher_is_better else " (lower is better)"))
    ax.set_title(title or f"{record.lab} / {record.check} ({record.profile} profile)", fontsize=9, loc="left")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _text(output):
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


class TrainingPlots(Preprocessor):
    """Feedback: after each training check's printed number, a plot of the calibration it was held to."""

    enabled = True

    def preprocess(self, nb, resources):
        lab = (resources.get("nbgrader") or {}).get("assignment")
        if not lab:
            return nb, resources
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            added = []
            for output in cell.get("outputs", []):
                if output.get("output_type") != "stream" or output.get("name") != "stdout":
                    continue
                for m in measurements(_text(output)):
                    rec = record_for(lab, m)
                    if rec is not None:
                        png = base64.b64encode(plot(rec, title=f"{m.exercise}: {m.what}", you=m.value)).decode()
                        added.append(
                            {
                                "output_type": "display_data",
                                "data": {"image/png": png, "text/plain": f"<calibration of {m.exercise}>"},
                                "metadata": {},
                            }
                        )
            cell.outputs = list(cell.get("outputs", [])) + added
        return nb, resources
