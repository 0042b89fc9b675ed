"""A training check's number, read back from its printed line and drawn on its calibration (feedback and report)."""

import contextlib
import io

import nbformat
import pytest

from autograder import training_plots
from autograder.report import render_html, training_results
from cnncourse.calibration import load_records
from cnncourse.checks import training

LAB = "lab4-first-cnn"
PNG = b"\x89PNG"


def printed(value, check="lenet", profile="fast", exercise="Exercise 2 (LeNet-5 trained)"):
    """What the training check prints for ``value``: the line this module reads back."""
    rec = load_records(LAB)[(check, profile)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        training.report(exercise, rec.metric, value, LAB, check, seconds=12.3)
    return out.getvalue(), rec


@pytest.fixture(autouse=True)
def fast_profile(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_PROFILE", "fast")


@pytest.mark.parametrize("value", [0.934, 0.61, 0.2])  # full, half and no points: three wordings of the line
def test_the_printed_line_is_read_back_and_matched_to_its_record(value):
    text, rec = printed(value)
    (m,) = training_plots.measurements("some output\n" + text + "more output\n")
    assert (m.exercise, m.what, m.value, m.profile) == ("Exercise 2 (LeNet-5 trained)", rec.metric, value, "fast")
    assert training_plots.record_for(LAB, m) == rec
    assert training_plots.record_for("lab5-regularization", m) is None  # another lab's records


def test_a_plot_is_a_png_with_the_student_and_the_class():
    _, rec = printed(0.8)
    assert training_plots.plot(rec, you=0.8).startswith(PNG)
    assert training_plots.plot(rec, others=[0.5, 0.9, 0.95]).startswith(PNG)


def _notebook(*texts):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("checks.check_lenet_accuracy(build_lenet5, train_model)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in texts]
    nb.cells.append(cell)
    return nb


def test_feedback_gets_a_plot_after_the_training_checks_line():
    text, _ = printed(0.61)
    nb, _ = training_plots.TrainingPlots().preprocess(
        _notebook(text, "no number here\n"), {"nbgrader": {"assignment": LAB}}
    )
    images = [o for o in nb.cells[0].outputs if o["output_type"] == "display_data"]
    assert len(images) == 1 and images[0]["data"]["image/png"]
    nb, _ = training_plots.TrainingPlots().preprocess(_notebook("no number here\n"), {"nbgrader": {"assignment": LAB}})
    assert [o["output_type"] for o in nb.cells[0].outputs] == ["stream"]


def test_the_class_report_draws_each_training_check_with_the_class(tmp_path):
    for student, value in (("ada", 0.93), ("bob", 0.61), ("cy", 0.2)):
        folder = tmp_path / "autograded" / student / LAB
        folder.mkdir(parents=True)
        nbformat.write(_notebook(printed(value)[0]), str(folder / f"{LAB}.ipynb"))
    found = training_results(tmp_path, LAB, ["ada", "bob", "cy", "dee"])  # dee handed nothing in
    assert [(title, sorted(values)) for title, _, values in found] == [
        ("Exercise 2 (LeNet-5 trained): held-out accuracy", [0.2, 0.61, 0.93])
    ]
    page = render_html(LAB, [], [], training=found)
    assert "Training checks" in page and page.count("data:image/png;base64,") == 1
