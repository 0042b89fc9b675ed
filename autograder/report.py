"""Per-question grades as CSV and an HTML class report with plots.

Run in the course directory after ``cnncourse grade``::

    cnncourse report lab1-convolution

writes ``reports/<assignment>/``:

* ``grades.csv``: one row per student, one column per graded cell (nbgrader
  itself exports totals only), with status, grading time and reason;
* ``report.html``: one self-contained page (plots embedded as PNG): the
  score distribution, each question's mean score and failure rate, the
  grading time of every submission, and the failures with their reasons;
* with ``--feedback``, student feedback that names failed hidden tests
  without showing them (:mod:`autograder.feedback`);
* with ``--similarity``, ``similarity.html``: the pairs of students whose
  solution cells are alike beyond the released code (:mod:`autograder.similarity`).

Scores come from nbgrader's gradebook (a grader's manual score wins over the
autograder's, as in nbgrader); statuses, reasons and timings from
``autograded/<assignment>.results.json``.
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import os
import re
import statistics
import sys
from collections import Counter
from pathlib import Path


def status_colors():
    """``{status: colour}`` from seaborn's "deep" palette, one colour per status (``ok`` gets the first)."""
    import seaborn as sns

    from autograder.grading.result import STATUSES

    return dict(zip(STATUSES, sns.color_palette("deep", len(STATUSES)).as_hex()))


def add_arguments(parser):
    from autograder.similarity import THRESHOLD

    parser.add_argument("assignment", help="assignment id, e.g. lab1-convolution")
    parser.add_argument("--course-dir", default=None, help="course directory (default: the current one)")
    parser.add_argument("--output", default=None, help="folder for the report (default: reports/ASSIGNMENT)")
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="also write student feedback (failed hidden tests named, their source hidden)",
    )
    parser.add_argument(
        "--similarity",
        action="store_true",
        help="also compare students' solution cells pairwise (needs cnncourse-instructor[similarity])",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help="with --similarity, the lowest similarity flagged, 0 to 1 (default %(default)s)",
    )


def _released_cells(course_dir, assignment, notebook):
    """The cells of the released (else source) notebook, as dicts; ``None`` when neither can be read."""
    for folder in ("release", "source"):
        path = Path(course_dir) / folder / assignment / f"{notebook}.ipynb"
        try:
            return json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
    return None


def _cell_order(course_dir, assignment, notebook):
    """``{grade_id: position}`` from the released (else source) notebook; ``{}`` when neither is there."""
    ids = [
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for c in _released_cells(course_dir, assignment, notebook) or []
    ]
    return {gid: i for i, gid in enumerate(ids) if gid}


EXERCISE = re.compile(r"\*\*Exercise (\d+[a-z]?)[.:]?\*\*")


def exercise_labels(course_dir, assignment, notebook):
    """``{grade_id: "Exercise 3 (conv2d_forward)"}`` for the test cells of the released (else source) notebook.

    A test cell belongs to the exercise whose ``**Exercise N.**`` the notebook's
    text named last before it; a cell before any exercise keeps its grade id.

    Args:
        course_dir: the course directory.
        assignment: the assignment id.
        notebook: the notebook's name, without ``.ipynb``.

    Returns:
        A dict; ``{}`` when neither notebook can be read.

    Example:
        >>> exercise_labels(".", "lab1-convolution", "lab1-convolution")["test_corr2d"]  # doctest: +SKIP
        'Exercise 1 (corr2d)'
    """
    labels, current = {}, None
    for cell in _released_cells(course_dir, assignment, notebook) or []:
        text = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            found = EXERCISE.findall(text)
            current = found[-1] if found else current
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            gid = meta["grade_id"]
            short = gid[len("test_") :] if gid.startswith("test_") else gid
            labels[gid] = f"Exercise {current} ({short})" if current else gid
    return labels


@functools.lru_cache(maxsize=2048)
def _digest_of(path, mtime_ns, size):
    """What the report reads of one notebook file as it was at ``(mtime_ns, size)``; ``None`` when unreadable."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    errors, streams = {}, []
    for cell in cells if isinstance(cells, list) else ():
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        outputs = cell.get("outputs", [])
        failed = [o for o in outputs if o.get("output_type") == "error"]
        if gid and failed:
            errors[gid] = failed[-1]
        for output in outputs:
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                streams.append("".join(text) if isinstance(text, list) else str(text))
    return errors, tuple(streams)


def _autograded_digest(path):
    """A student's autograded notebook as the report reads it: each test cell's error, and the printed text.

    The report reads every notebook twice (failures, then training numbers);
    the digest holds only those, so the notebook is parsed once, and a
    notebook graded again in between (another modification time or size) is
    read afresh.

    Args:
        path: the autograded notebook's path.

    Returns:
        ``({grade_id: error output}, (printed text, ...))`` in the
        notebook's order, or ``None`` when the file is missing or is not a
        notebook.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return _digest_of(str(path), st.st_mtime_ns, st.st_size)


def failure_messages(course_dir, assignment, student, notebooks):
    """``{question: "AssertionError: ..."}``: the error each failed test cell of a student's autograded notebooks showed.

    Args:
        course_dir: the course directory.
        assignment: the assignment id.
        student: the student id.
        notebooks: ``{notebook name: prefix}``, the prefix put before each grade id
            (``""`` for a one-notebook assignment, else ``"name:"``).

    Returns:
        A dict, empty when the autograded notebooks are missing or unreadable.
    """
    from autograder.feedback import short_error

    messages = {}
    for name, prefix in notebooks.items():
        digest = _autograded_digest(Path(course_dir) / "autograded" / student / assignment / f"{name}.ipynb")
        for gid, error in (digest[0] if digest else {}).items():
            messages[prefix + gid] = short_error(error).splitlines()[0][:300]
    return messages


def training_results(course_dir, assignment, students):
    """The class's numbers on each training check: ``[(title, record, values)]``, in the notebook's order.

    Read from the printed lines of the students' autograded notebooks
    (:mod:`autograder.training_plots`), matched to the calibration records.

    Args:
        course_dir: the course directory.
        assignment: the assignment id.
        students: the student ids.

    Returns:
        A list; empty when the lab has no training check or nobody's ran.
    """
    from autograder.training_plots import measurements, record_for

    found = {}
    for student in students:
        for path in sorted((Path(course_dir) / "autograded" / student / assignment).glob("*.ipynb")):
            digest = _autograded_digest(path)
            for text in digest[1] if digest else ():
                for m in measurements(text):
                    rec = record_for(assignment, m)
                    if rec is not None:
                        key = (rec.check, rec.profile, m.exercise)
                        entry = found.setdefault(key, (f"{m.exercise}: {m.what}", rec, {}))
                        entry[2][student] = m.value  # one value per student: the last printed
    return [(title, rec, list(values.values())) for title, rec, values in found.values()]


def collect(course_dir, assignment):
    """``(questions, rows)``: question ids with max scores, and one dict per student."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grading import config as config_mod
    from autograder.grading.state import ResultsFile

    db_url, course_id = config_mod.existing_gradebook(course_dir)
    results = ResultsFile(course_dir, assignment).students
    rows = []
    with Gradebook(db_url, course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise LookupError(f"The gradebook has no assignment {assignment!r}.") from None
        many = len(a.notebooks) > 1
        questions = []
        prefixes = {nb.name: f"{nb.name}:" if many else "" for nb in a.notebooks}
        for nb in a.notebooks:
            order = _cell_order(course_dir, assignment, nb.name)
            for cell in sorted(nb.grade_cells, key=lambda c: (order.get(c.name, len(order)), c.name)):
                questions.append((f"{nb.name}:{cell.name}" if many else cell.name, float(cell.max_score)))
        max_total = float(a.max_score)
        for sub in sorted(a.submissions, key=lambda s: s.student_id):
            cells = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    key = f"{nb.name}:{g.name}" if many else g.name
                    cells[key] = None if g.score is None else float(g.score)
            r = results.get(sub.student_id, {})
            rows.append(
                {
                    "student": sub.student_id,
                    "status": r.get("status", "ok" if sub.notebooks else "?"),
                    "score": float(sub.score),
                    "max_score": max_total,
                    "cells": cells,
                    "seconds": r.get("seconds"),
                    "reason": r.get("reason") or "",
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                    "late_penalty": sum(float(nb.late_submission_penalty or 0.0) for nb in sub.notebooks),
                    "messages": failure_messages(course_dir, assignment, sub.student_id, prefixes),
                }
            )
    # Submissions the grader failed on (status "error") have no gradebook entry: listed, without a score.
    seen = {r["student"] for r in rows}
    for student, r in sorted(results.items()):
        if student not in seen and r.get("status") == "error":
            rows.append(
                {
                    "student": student,
                    "status": "error",
                    "score": None,
                    "max_score": max_total,
                    "cells": {},
                    "seconds": r.get("seconds"),
                    "reason": r.get("reason") or "",
                    "needs_manual_grade": False,
                    "late_penalty": 0.0,
                    "messages": {},
                }
            )
    return questions, rows


def _graded(rows):
    return [r for r in rows if r["score"] is not None]


def write_csv(path, questions, rows):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["student", "status", "score", "max_score", "percent"]
            + [f"{q} (/{m:g})" for q, m in questions]
            + ["late_penalty", "grading_seconds", "reason"]
        )
        for r in rows:
            pct = "" if r["score"] is None else f"{100.0 * r['score'] / r['max_score'] if r['max_score'] else 0.0:.1f}"
            w.writerow(
                [r["student"], r["status"], "" if r["score"] is None else f"{r['score']:g}", f"{r['max_score']:g}", pct]
                + ["" if r["cells"].get(q) is None else f"{r['cells'][q]:g}" for q, _ in questions]
                + [
                    f"{r.get('late_penalty') or 0.0:g}",
                    "" if r["seconds"] is None else f"{r['seconds']:.1f}",
                    r["reason"],
                ]
            )
    return path


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------
def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plot_distribution(rows):
    import matplotlib.pyplot as plt
    import numpy as np

    rows = _graded(rows)
    pct = np.array([100.0 * r["score"] / r["max_score"] if r["max_score"] else 0.0 for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    bins = np.linspace(0, 100, 11)
    colors = status_colors()
    ax.hist(pct, bins=bins, color=colors["ok"], edgecolor="white")
    if len(pct):
        ax.axvline(pct.mean(), color=colors["kernel_died"], linestyle="--", label=f"mean {pct.mean():.0f}%")
        ax.legend(frameon=False)
    ax.set_xlim(0, 100)
    ax.set_xticks(bins)
    ax.set_xlabel("score (% of the maximum)")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Score distribution ({len(rows)} submissions)")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def common_failures(questions, rows):
    """Per question, the failure message most students saw: ``{question: (message, count)}`` (absent: none)."""
    out = {}
    for q, m in questions:
        seen = Counter(
            r["messages"][q] for r in _graded(rows) if q in r.get("messages", {}) and (r["cells"].get(q) or 0.0) < m
        )
        if seen:
            out[q] = seen.most_common(1)[0]
    return out


def question_stats(questions, rows):
    """Per question: mean score as % of its maximum, and the share of submissions below full marks."""
    stats = []
    rows = _graded(rows)
    for q, m in questions:
        scores = [r["cells"].get(q) or 0.0 for r in rows]
        mean = 100.0 * sum(scores) / (len(scores) * m) if scores and m else 0.0
        failed = 100.0 * sum(1 for s in scores if s < m) / len(scores) if scores else 0.0
        stats.append((q, mean, failed))
    return stats


def plot_questions(questions, rows, labels=None):
    import matplotlib.pyplot as plt
    import numpy as np

    stats = question_stats(questions, rows)
    names = [(labels or {}).get(s[0], s[0]) for s in stats]
    y = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 0.45 * len(names) + 1.4), sharey=True)
    colors = status_colors()
    axes[0].barh(y, [s[1] for s in stats], color=colors["ok"])
    axes[0].set_title("mean score (% of the question's points)")
    axes[1].barh(y, [s[2] for s in stats], color=colors["kernel_died"])
    axes[1].set_title("failure rate (% below full marks)")
    for ax, vals in zip(axes, ([s[1] for s in stats], [s[2] for s in stats])):
        ax.set_xlim(0, 105)
        ax.spines[["top", "right"]].set_visible(False)
        for yi, v in zip(y, vals):
            ax.text(min(v + 1.5, 96), yi, f"{v:.0f}%", va="center", fontsize=8)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names)
    axes[0].invert_yaxis()
    fig.suptitle("Questions", x=0.02, ha="left", fontweight="bold")
    fig.tight_layout()
    return _png(fig)


def plot_times(rows):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colors = status_colors()
    timed = sorted([r for r in rows if r["seconds"] is not None], key=lambda r: r["seconds"])
    fig, ax = plt.subplots(figsize=(6.4, max(2.4, 0.28 * len(timed) + 1.2)))
    if timed:
        ax.barh(
            range(len(timed)), [r["seconds"] for r in timed], color=[colors.get(r["status"], "#999999") for r in timed]
        )
        ax.set_yticks(range(len(timed)))
        ax.set_yticklabels([r["student"] for r in timed], fontsize=8 if len(timed) > 20 else 9)
        seen = sorted({r["status"] for r in timed})
        ax.legend(
            handles=[Patch(color=colors.get(s, "#999999"), label=s) for s in seen],
            frameon=False,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            title="status",
            title_fontsize=8,
        )
    else:
        ax.text(0.5, 0.5, "no timings recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("seconds")
    ax.set_title("Grading time per submission")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------
TEMPLATE = "report.html.j2"
"""The page's Jinja2 template, in ``autograder/templates/`` (Jinja2 comes with nbconvert)."""


def _points(value):
    return "-" if value is None else f"{value:g}"


def render_html(assignment, questions, rows, labels=None, feedback_links=None, training=()):
    """The class report as one self-contained HTML page (plots embedded as PNG).

    Args:
        assignment: the assignment id.
        questions: ``[(question, max score)]`` as :func:`collect` gives them.
        rows: one dict per student, as :func:`collect` gives them.
        labels: ``{question: exercise name}`` (``None``: the grade ids).
        feedback_links: ``{student: relative link to their feedback page}``.
        training: ``[(title, record, values)]`` from :func:`training_results`.

    Returns:
        The page, a string.
    """
    from autograder.pages import environment

    env = environment()
    env.filters["points"] = _points
    graded = _graded(rows)
    pct = [100.0 * r["score"] / r["max_score"] if r["max_score"] else 0.0 for r in graded]
    times = [r["seconds"] for r in rows if r["seconds"] is not None]
    summary = {
        "mean": statistics.mean(pct) if pct else 0.0,
        "median": statistics.median(pct) if pct else 0.0,
        "mean_seconds": statistics.mean(times) if times else None,
    }
    plots = {}
    question_rows = []
    if rows:
        plots = {
            "distribution": plot_distribution(rows),
            "questions": plot_questions(questions, rows, labels),
            "times": plot_times(rows),
        }
        plots = {k: base64.b64encode(v).decode("ascii") for k, v in plots.items()}
        common = common_failures(questions, rows)
        question_rows = [
            {
                "name": (labels or {}).get(q, q),
                "points": m,
                "mean": mean_q,
                "failed": fail_q,
                "common": common.get(q),
            }
            for (q, m), (_, mean_q, fail_q) in zip(questions, question_stats(questions, rows))
        ]
    from autograder.training_plots import plot as calibration_plot

    training_plots = [
        (title, base64.b64encode(calibration_plot(rec, title=title, others=values)).decode("ascii"))
        for title, rec, values in training
    ]
    return env.get_template(TEMPLATE).render(
        assignment=assignment,
        questions=questions,
        labels=labels or {},
        rows=rows,
        flagged=[r for r in rows if r["status"] == "flagged"],
        failures=[r for r in rows if r["status"] not in ("ok", "flagged")],
        links=feedback_links or {},
        summary=summary,
        plots=plots,
        training_plots=training_plots,
        question_rows=question_rows,
    )


def write_report(course_dir, assignment, output=None, feedback=False, similarity=False, threshold=None):
    """Write grades.csv and report.html; return ``{"csv": path, "html": path, "feedback": {...}, "similarity": ...}``.

    With ``similarity``, ``paths["similarity"]`` is ``(path, flagged_pairs, students)`` from
    :func:`autograder.similarity.write_html`.
    """
    import matplotlib

    matplotlib.use("Agg")
    from autograder import similarity as similarity_mod
    from autograder.course import course_root

    course_dir = course_root(course_dir)
    if similarity:
        similarity_mod.require()  # before anything is written
    questions, rows = collect(course_dir, assignment)  # before anything is written
    out = Path(output) if output else course_dir / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_csv(out / "grades.csv", questions, rows)}
    if feedback:
        from autograder.feedback import generate

        paths["feedback"] = generate(course_dir, assignment)
    labels = {}
    for name in {q.split(":")[0] for q, _ in questions if ":" in q} or {assignment}:
        prefix = f"{name}:" if any(":" in q for q, _ in questions) else ""
        labels.update({prefix + gid: label for gid, label in exercise_labels(course_dir, assignment, name).items()})
    links = {}
    for r in rows:  # feedback pages written now or by an earlier run
        pages = sorted((course_dir / "feedback" / r["student"] / assignment).glob("*.html"))
        if pages:
            links[r["student"]] = Path(os.path.relpath(pages[0], out)).as_posix()
    page = out / "report.html"
    training = training_results(course_dir, assignment, [r["student"] for r in rows])
    page.write_text(render_html(assignment, questions, rows, labels, links, training), encoding="utf-8")
    paths["html"] = page
    if similarity:
        limit = similarity_mod.THRESHOLD if threshold is None else threshold
        paths["similarity"] = similarity_mod.write_html(course_dir, assignment, out, limit)
    return paths


def run(args):
    from autograder.course import CourseError, course_root
    from autograder.similarity import MissingLibrary, summary

    try:
        paths = write_report(
            args.course_dir, args.assignment, args.output, args.feedback, args.similarity, args.threshold
        )
    except (LookupError, CourseError, MissingLibrary) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Per-question grades: {paths['csv']}")
    print(f"Class report:        {paths['html']}")
    if "feedback" in paths:
        made = sum(1 for p in paths["feedback"].values() if p)
        print(f"Feedback:            {made} student(s) in {course_root(args.course_dir) / 'feedback'}")
    if "similarity" in paths:
        page, pairs, students = paths["similarity"]
        print(f"Similar solutions:   {page}")
        print(summary(pairs, students, args.threshold))
    return 0
