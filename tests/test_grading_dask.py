"""A class graded on a real Dask LocalCluster, one submission per task (preflight included)."""

import pytest

pytest.importorskip("distributed")

from autograder import course
from autograder.grading import Limits, grade_class, sample

pytestmark = pytest.mark.slow


def test_a_class_on_a_dask_local_cluster(tmp_path):
    c = sample.tiny_course(tmp_path / "course", ["perfect", "blank", "crashing"])

    summary = grade_class(
        c,
        "tiny",
        workers=2,
        backend="dask",
        limits=Limits(cell_timeout=60, timeout=300, memory=1 << 30),
        progress=False,
    )

    r = summary.results
    assert r["perfect"]["status"] == "ok" and r["perfect"]["score"] == r["perfect"]["max_score"] == 6
    assert r["blank"]["status"] == "ok" and r["blank"]["score"] == 0
    assert r["crashing"]["status"] == "kernel_died" and r["crashing"]["score"] == 1
    assert {r[s]["slot"] for s in r} <= {
        "worker 0: 1 thread, no GPU",
        "worker 1: 1 thread, no GPU",
        "worker 0: 2 threads, no GPU",
    }
    assert {r[s]["isolation"] for s in r} == {"bubblewrap"}
    grades = course.read_grades(c, "tiny")
    assert {s: g.score for s, g in grades.items()} == {"perfect": 6, "blank": 0, "crashing": 1}
    assert (c / "autograded" / "perfect" / "tiny" / "tiny.ipynb").exists()
