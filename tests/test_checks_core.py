"""cnncourse.checks.core and the architecture comparator."""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, NotAttempted, architecture, call, expect_array, expect_equal, expect_raises


def test_call_reports_not_attempted():
    def todo(x):
        raise NotImplementedError()

    with pytest.raises(NotAttempted, match="not attempted yet"):
        call("Ex", todo, 1)


def test_call_reports_crash_with_the_call():
    def broken(a, b=2):
        return a.reshape(5)

    with pytest.raises(CheckFailed, match=r"broken\(<array \(2,\) float64>, b=3\) raised ValueError"):
        call("Ex", broken, np.zeros(2), b=3)


def test_expect_array_messages():
    with pytest.raises(CheckFailed, match="forget to `return`"):
        expect_array("Ex", None, np.zeros(2))
    with pytest.raises(CheckFailed, match="wrong shape") as err:
        expect_array("Ex", np.zeros(3), np.zeros(2))
    assert "expected: (2,)" in str(err.value) and "found:    (3,)" in str(err.value)
    with pytest.raises(CheckFailed, match=r"wrong values \(largest difference at index \(1,\)\)"):
        expect_array("Ex", np.array([1.0, 5.0]), np.array([1.0, 2.0]))
    expect_array("Ex", np.array([1.0, 2.0 + 1e-9]), np.array([1.0, 2.0]))


def test_expect_equal_and_raises():
    expect_equal("Ex", 3, 3)
    with pytest.raises(CheckFailed, match="expected: 4"):
        expect_equal("Ex", 3, 4)
    expect_raises("Ex", ValueError, int, "x")
    with pytest.raises(CheckFailed, match="nothing was raised"):
        expect_raises("Ex", ValueError, int, "3")
    with pytest.raises(CheckFailed, match="raised TypeError"):
        expect_raises("Ex", ValueError, int, None)


def test_hint_is_shown():
    with pytest.raises(CheckFailed) as err:
        expect_equal("Exercise 9", 1, 2, hint="think again")
    assert str(err.value).splitlines()[0].endswith("Exercise 9: the result is wrong.")
    assert "hint: think again" in str(err.value)


# ---------------------------------------------------------------- architecture comparator
def _small(extra_dense=False, filters=6, padding="valid"):
    import keras

    layers = [
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(filters, 3, padding=padding, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
    ]
    if extra_dense:
        layers.append(keras.layers.Dense(16, activation="relu"))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    return keras.Sequential(layers)


def test_describe_reads_what_keras_built():
    specs = architecture.describe(_small())
    assert [s.kind for s in specs] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    conv = specs[0]
    assert conv.output_shape == (10, 10, 6) and conv.params == 3 * 3 * 1 * 6 + 6
    assert conv.config["kernel_size"] == (3, 3) and conv.config["padding"] == "valid"
    assert conv.activation == "relu"


def test_identical_models_match():
    assert architecture.compare(_small(), architecture.describe(_small())) == []
    assert architecture.check_architecture(_small(), architecture.describe(_small())) is None


def test_extra_layer_is_reported_as_extra_not_as_a_cascade():
    problems = architecture.compare(_small(extra_dense=True), architecture.describe(_small()))
    assert any(p.startswith("extra layer #4: (Dense") for p in problems)
    assert not any(p.startswith("missing") for p in problems)


def test_missing_layer_is_reported():
    problems = architecture.compare(_small(), architecture.describe(_small(extra_dense=True)))
    assert any(p.startswith("missing layer #4") for p in problems)


def test_config_and_shape_differences_are_named():
    problems = architecture.compare(_small(filters=8, padding="same"), architecture.describe(_small()))
    text = "\n".join(problems)
    assert "filters=8, expected 6" in text and "padding='same', expected 'valid'" in text
    assert "output shape (12, 12, 8), expected (10, 10, 6)" in text
    with pytest.raises(CheckFailed, match="differs from the specification"):
        architecture.check_architecture(_small(filters=8), architecture.describe(_small()), "Ex")


def test_spec_from_dicts_and_partial_fields():
    flat = 5 * 5 * 6
    spec = [
        {"kind": "Conv2D", "config": {"filters": 6}},
        {"kind": "MaxPooling2D"},
        {"kind": "Flatten"},
        {"kind": "Dense", "params": flat * 3 + 3},
    ]
    assert architecture.compare(_small(), spec) == []
    spec[-1]["params"] = flat * 3  # a forgotten bias is caught
    assert architecture.compare(_small(), spec) == [f"layer #4 (Dense): {flat * 3 + 3} parameters, expected {flat * 3}"]


def test_notebooks_show_the_feedback_not_the_checker_source():
    err = CheckFailed("Exercise 2 (make_kernel)", "the weights should sum to 0.", expected=0.0, found=1.0)
    shown = err._render_traceback_()
    assert shown[0] == "\u2718 Exercise 2 (make_kernel): the weights should sum to 0."
    assert shown[1:] == ["  expected: 0.0", "  found:    1.0"]


def test_a_missing_layer_is_reported_even_when_activations_are_not_compared():
    keras = pytest.importorskip("keras")
    from cnncourse.checks.architecture import LayerSpec, compare

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu")])
    expected = [LayerSpec("Dense", (3,), activation="relu"), LayerSpec("Dense", (2,), activation="softmax")]
    problems = compare(model, expected, check_activation=False)
    assert len(problems) == 1 and problems[0].startswith("missing layer #2")
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="tanh")])
    assert compare(model, expected[:1], check_activation=False) == []
    assert compare(model, expected[:1]) != []


def test_a_hidden_question_speaks_of_the_answer_and_a_hidden_function_test_of_the_function():
    from cnncourse.checks.hidden import hidden

    with pytest.raises(CheckFailed) as question:
        with hidden("Question 1 (best_epoch)"):
            raise AssertionError("best_epoch is not the epoch of your run's highest validation accuracy")
    assert "the answer is not right (best_epoch is not the epoch" in str(question.value)
    assert "other sizes" not in str(question.value)
    with pytest.raises(CheckFailed) as function:
        with hidden("Exercise 1 (corr2d)", lambda x: x) as corr2d:
            assert corr2d(1) == 2, "a 1x1 image"
    assert "it tries your function on inputs the visible check does not use (a 1x1 image)" in str(function.value)
