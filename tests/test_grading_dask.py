"""Lab 1 graded on a real Dask LocalCluster, one submission per task."""

import pytest

pytest.importorskip("distributed")

from autograder import course  # noqa: E402
from autograder.grading import Limits, grade_class  # noqa: E402

pytestmark = pytest.mark.slow
LAB = "lab1-convolution"


def test_lab1_on_a_dask_local_cluster(tmp_path):
    c = course.make_course_copy(tmp_path / "course", [LAB])
    rel = course.generate_release(c, LAB)
    nb = f"{LAB}.ipynb"
    course.write_submission(c, LAB, "perfect", course.perfect_submission(c / "source" / LAB / nb, rel / nb))
    course.write_submission(c, LAB, "blank", course.blank_submission(rel / nb))

    summary = grade_class(c, LAB, workers=2, backend="dask", limits=Limits(cell_timeout=180, timeout=600,
                                                                          memory=4 << 30), progress=False)

    r = summary.results
    assert r["perfect"]["status"] == "ok" and r["perfect"]["score"] == r["perfect"]["max_score"] > 0
    assert r["blank"]["status"] == "ok" and r["blank"]["score"] == 0
    assert {r["perfect"]["slot"], r["blank"]["slot"]} <= {"worker 0: 1 thread, no GPU",
                                                          "worker 1: 1 thread, no GPU",
                                                          "worker 0: 2 threads, no GPU"}
    grades = course.read_grades(c, LAB)
    assert grades["perfect"].score == grades["perfect"].max_score and grades["blank"].score == 0
    assert (c / "autograded" / "perfect" / LAB / nb).exists()
