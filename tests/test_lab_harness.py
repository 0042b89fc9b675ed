"""The harness every lab goes through, run for real with nbgrader.

For each lab in source/: the released notebook is what nbgrader generates
now (not stale); the source's solutions, handed in through the released
notebook, autograde to full marks; the released notebook handed in
unchanged autogrades to zero without crashing the grader; and
``nbgrader validate`` agrees with both.
"""

import pytest

from autograder import course
from sources import ROOT

LABS = course.list_labs()


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_lab_grades_full_and_zero(lab, tmp_path):
    c = course.make_course_copy(tmp_path / "course", [lab])
    rel = course.generate_release(c, lab)
    nb_name = f"{lab}.ipynb"
    perfect = course.perfect_submission(c / "source" / lab / nb_name, rel / nb_name)
    course.write_submission(c, lab, "perfect", perfect)
    course.write_submission(c, lab, "blank", course.blank_submission(rel / nb_name))

    grades = course.autograde(c, lab)

    assert set(grades) == {"perfect", "blank"}, course.grade_table(grades)
    full, blank = grades["perfect"], grades["blank"]
    assert full.max_score > 0
    assert full.score == full.max_score, f"solutions lost points: {full.cells}"
    assert blank.score == 0, f"the blank release earned points: {blank.cells}"
    assert all(max_ > 0 for _, max_ in full.cells.values())

    ok_full, log_full = course.validate(c, c / "submitted" / "perfect" / lab / nb_name)
    ok_blank, _ = course.validate(c, c / "submitted" / "blank" / lab / nb_name)
    assert ok_full, log_full[-2000:]
    assert not ok_blank


@pytest.mark.parametrize("lab", LABS)
def test_release_is_not_stale(lab):
    result = course.release([lab], check=True)[0]
    assert not result.changed, (f"release/{lab} is stale ({result.detail}): "
                                "run `cnncourse release {lab}` and commit the result.")


def test_every_lab_has_a_companion_demo():
    from pathlib import Path

    labs_dir = ROOT / "labs"
    for lab in LABS:
        assert list(labs_dir.glob(f"{lab}*.ipynb")), f"labs/ has no companion notebook for {lab}"
