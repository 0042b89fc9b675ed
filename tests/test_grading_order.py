"""The order a class is graded in: the most complete submissions first (autograder.grading.order)."""

import json

import nbformat
import pytest

from autograder.grading import order, sample, spec
from autograder.grading.task import submission_folder

KINDS = ["blank", "crashing", "malformed", "partial", "perfect"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = sample.tiny_course(tmp_path_factory.mktemp("order") / "course", KINDS)
    return c, spec.extract(f"sqlite:///{c / 'gradebook.db'}", "tiny")


def _answered(folder, s):
    return order.answered_cells(order.notebooks_in(folder, s), s)


def test_answered_cells_counts_the_answers_that_differ_from_their_stub(course):
    c, s = course
    counts = {k: _answered(submission_folder(c, "tiny", k), s) for k in KINDS}
    answers = len(s["notebooks"][0]["solution_cells"])
    assert answers >= 3
    # partial answers the first half; blank is the release; a file that is not JSON counts nothing
    assert counts == {
        "perfect": answers,
        "crashing": answers,
        "partial": (answers + 1) // 2,
        "blank": 0,
        "malformed": 0,
    }, counts


def test_a_stub_with_other_whitespace_is_still_unanswered(course, tmp_path):
    c, s = course
    nb = nbformat.read(str(submission_folder(c, "tiny", "blank") / "tiny.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "\n" + cell.source + "\n\n"
    nbformat.write(nb, str(tmp_path / "tiny.ipynb"))
    assert _answered(tmp_path, s) == 0


def test_the_most_complete_submissions_go_first_ties_keep_their_order(course):
    c, s = course
    got = order.longest_first(KINDS, lambda k: submission_folder(c, "tiny", k), s)
    # crashing and perfect answer every cell (in their given order), then partial, then the rest
    assert got == ["crashing", "perfect", "partial", "blank", "malformed"], got


def test_cells_of_any_odd_shape_count_nothing_and_never_stop_grading(course, tmp_path):
    """A hand-edited notebook (metadata a string, an id that is a list, sources of numbers) is simply not counted."""
    _, s = course
    answer = s["notebooks"][0]["solution_cells"][0]["name"]
    odd = [
        "not a cell",
        {"metadata": "text"},
        {"metadata": {"nbgrader": "text"}},
        {"metadata": {"nbgrader": {"grade_id": ["a", "list"]}}, "source": "x"},
        {"metadata": {"nbgrader": {"grade_id": answer}}, "source": [1, 2]},
        {"metadata": {"nbgrader": {"grade_id": answer}}, "source": "an answer"},
    ]
    (tmp_path / "tiny.ipynb").write_text(json.dumps({"cells": odd}))
    assert _answered(tmp_path, s) == 1  # only the last, well-formed answer
