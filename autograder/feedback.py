"""Feedback for students that names failed hidden tests without showing them.

nbgrader's ``generate_feedback`` turns each autograded notebook into HTML.
Out of the box that HTML shows the *source* of the hidden tests (and their
tracebacks quote it line by line), which gives the tests away for the next
year. :class:`HideHiddenTests` runs inside nbgrader's feedback converter,
before the HTML is made:

* in every test cell, the lines between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS`` are replaced by one comment naming the test
  (its grade id);
* the traceback of a failed test cell is cut down to the error's name and
  message (``AssertionError: mul(0, 5) must be 0``): what failed, not how
  the test is written;
* a short list of the failed tests with their messages opens the notebook.

:func:`generate` runs it for an assignment (every autograded student, or
some) with nbgrader's own API, writing ``feedback/<student>/<assignment>/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_markdown_cell

HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*(\n|$)", re.DOTALL | re.MULTILINE
)


def _is_test(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution")


def hide_source(source, grade_id):
    """``source`` with its hidden tests replaced by a one-line note."""
    return HIDDEN.sub(f"# [hidden tests of {grade_id}: not shown]\n", source)


def short_error(output):
    name = output.get("ename", "Error")
    value = str(output.get("evalue", "")).strip()
    return f"{name}: {value}" if value else name


class HideHiddenTests(Preprocessor):
    """Hide the source of hidden tests and shorten test tracebacks (see the module's docs)."""

    enabled = True

    def preprocess(self, nb, resources):
        failed = []
        for cell in nb.cells:
            if not _is_test(cell):
                continue
            grade_id = cell.metadata.nbgrader.get("grade_id", "test")
            had_hidden = bool(HIDDEN.search(cell.source))
            cell.source = hide_source(cell.source, grade_id)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = short_error(output)
                    output["traceback"] = [message]
                    failed.append((grade_id, message, had_hidden))
                elif output.get("output_type") == "stream" and output.get("name") == "stderr" and had_hidden:
                    output["text"] = "(output of a hidden test, not shown)\n"
        if failed:
            lines = ["**Failed tests**", ""]
            for grade_id, message, hidden in failed:
                note = " (a test cell with hidden tests)" if hidden else ""
                lines.append(f"* `{grade_id}`{note}: `{message}`")
            nb.cells.insert(0, new_markdown_cell("\n".join(lines)))
        return nb, resources


def preprocessors():
    """Return the course's feedback pipeline, for ``GenerateFeedback.preprocessors``.

    nbgrader's grades, then :class:`HideHiddenTests`, then
    :class:`autograder.training_plots.TrainingPlots` (a plot of the calibration
    after each training check's number), then the page's style.

    Returns:
        A list of preprocessor classes.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from autograder.training_plots import TrainingPlots

    return [GetGrades, HideHiddenTests, TrainingPlots, CSSHTMLHeaderPreprocessor]


def generate(course_dir, assignment, students=None):
    """Write HTML feedback for ``assignment``; return ``{student: path or None}``."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.gradebook_version import use_in_process_head

    use_in_process_head()  # a gradebook nbgrader creates here is stamped without running alembic
    course_dir = Path(course_dir).resolve()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    cfg.CourseDirectory.root = str(course_dir)
    cfg.GenerateFeedback.preprocessors = preprocessors()
    coursedir = CourseDirectory(config=cfg)
    api = NbGraderAPI(coursedir=coursedir, config=cfg)
    if students is None:
        root = course_dir / "autograded"
        students = sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())
    out = {}
    for student in students:
        res = api.generate_feedback(assignment, student_id=student, force=True)
        folder = course_dir / "feedback" / student / assignment
        pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
        out[student] = pages[0] if res.get("success") and pages else None
    return out
