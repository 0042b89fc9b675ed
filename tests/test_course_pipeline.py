"""The course pipeline: authoring, release (and its staleness check), submissions made from the source."""

import json

import nbformat
import pytest

from autograder import authoring, course
from sources import ROOT


def _tiny_lab():
    return authoring.notebook(
        [
            authoring.markdown("# Tiny", "intro"),
            authoring.solution("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "f"),
            authoring.tests(
                "assert f(2) == 4\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n### END HIDDEN TESTS", "test_f", points=2
            ),
        ]
    )


@pytest.fixture
def tiny_course(tmp_path):
    root = tmp_path / "course"
    (root / "source" / "tiny").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    authoring.write(_tiny_lab(), root / "source" / "tiny" / "tiny.ipynb")
    return root


def test_authoring_sets_nbgrader_metadata():
    nb = _tiny_lab()
    sol, test = nb.cells[1], nb.cells[2]
    assert sol.metadata.nbgrader["solution"] and not sol.metadata.nbgrader["grade"]
    assert test.metadata.nbgrader["grade"] and test.metadata.nbgrader["locked"]
    assert test.metadata.nbgrader["points"] == 2
    assert [c["id"] for c in nb.cells] == ["intro", "f", "test_f"]
    with pytest.raises(ValueError, match="Duplicate grade ids"):
        authoring.notebook([authoring.code("1", "same"), authoring.code("2", "same")])


def test_strip_solution_markers_keeps_the_code():
    text = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    assert course.strip_solution_markers(text) == "def f():\n    return 1"


def test_list_labs_and_errors(tiny_course, tmp_path):
    assert course.list_labs(tiny_course) == ["tiny"]
    with pytest.raises(course.CourseError, match="not a course directory"):
        course.course_root(tmp_path)
    with pytest.raises(course.CourseError, match="No source notebook for nope"):
        course.release(["nope"], root=tiny_course)


@pytest.mark.slow
def test_release_then_check_detects_a_stale_release(tiny_course):
    first = course.release(root=tiny_course)
    assert [(r.lab, r.changed, r.detail) for r in first] == [("tiny", True, "missing")]
    released = nbformat.read(str(tiny_course / "release" / "tiny" / "tiny.ipynb"), 4)
    assert "raise NotImplementedError()" in released.cells[1].source
    assert "BEGIN HIDDEN TESTS" not in released.cells[2].source and "f(5)" not in released.cells[2].source
    assert course.release(check=True, root=tiny_course)[0].changed is False

    # an edit to the source makes the committed release stale; check mode writes nothing
    src = tiny_course / "source" / "tiny" / "tiny.ipynb"
    nb = json.loads(src.read_text())
    nb["cells"][0]["source"] = "# Tiny, edited"
    src.write_text(json.dumps(nb))
    before = (tiny_course / "release" / "tiny" / "tiny.ipynb").read_text()
    result = course.release(check=True, root=tiny_course)[0]
    assert result.changed and result.detail == "differs from source"
    assert (tiny_course / "release" / "tiny" / "tiny.ipynb").read_text() == before

    # the submissions made from source and release
    perfect = course.perfect_submission(src, tiny_course / "release" / "tiny" / "tiny.ipynb")
    assert "return 2 * x" in perfect.cells[1].source and "BEGIN SOLUTION" not in perfect.cells[1].source
    assert perfect.cells[2].source == released.cells[2].source


def test_grade_table_formats_missing_scores():
    table = course.grade_table(
        {
            "ann": course.StudentGrade("ann", 8.0, 10.0),
            "bob": course.StudentGrade("bob", None, 10.0, reason="kernel died"),
        }
    )
    lines = table.splitlines()
    assert lines[0].split() == ["student", "score", "max", "%", "note"]
    assert "80.0" in lines[2] and "kernel died" in lines[3] and " - " in lines[3]
