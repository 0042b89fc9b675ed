"""Lab 4's checks pass the source's solutions and fail plausible wrong answers."""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, NotAttempted, lab4

keras = pytest.importorskip("keras")
layers = keras.layers


@pytest.fixture(scope="module")
def ref():
    import sources

    return sources.solutions("lab4-first-cnn")


def _lenet(input_shape, num_classes, activation="sigmoid", pool=None, first_padding="same", widths=(120, 84),
           filters=(6, 16), out_act="softmax", fixed_act=None):
    act = fixed_act or activation
    pool = pool or layers.AveragePooling2D
    stack = [keras.Input(shape=input_shape),
             layers.Conv2D(filters[0], 5, padding=first_padding, activation=act), pool(2),
             layers.Conv2D(filters[1], 5, activation=act), pool(2), layers.Flatten()]
    stack += [layers.Dense(w, activation=act) for w in widths]
    stack.append(layers.Dense(num_classes, activation=out_act))
    return keras.Sequential(stack)


WRONG_LENETS = {
    "max pooling": lambda s, c, a="sigmoid": _lenet(s, c, a, pool=layers.MaxPooling2D),
    "no padding on the first conv": lambda s, c, a="sigmoid": _lenet(s, c, a, first_padding="valid"),
    "missing the 84-unit layer": lambda s, c, a="sigmoid": _lenet(s, c, a, widths=(120,)),
    "ignores the activation": lambda s, c, a="sigmoid": _lenet(s, c, a, fixed_act="sigmoid"),
    "no softmax": lambda s, c, a="sigmoid": _lenet(s, c, a, out_act=None),
    "8 first filters": lambda s, c, a="sigmoid": _lenet(s, c, a, filters=(8, 16)),
    "hard-coded 10 classes": lambda s, c, a="sigmoid": _lenet(s, 10, a),
    "returns None": lambda s, c, a="sigmoid": None,
}


def test_reference_lenet_passes(ref):
    assert lab4.check_build_lenet5(ref["build_lenet5"]) is None


def test_lenet_spec_parameter_count_matches_the_lecture():
    # 156 + 2,416 + 48,120 + 10,164 + 850 from the layer table.
    model = _lenet((28, 28, 1), 10, "relu")
    assert model.count_params() == 61706
    assert lab4.check_build_lenet5(lambda s, c, a="sigmoid": _lenet(s, c, a)) is None


@pytest.mark.parametrize("name", sorted(WRONG_LENETS))
def test_wrong_lenets_fail(name):
    with pytest.raises(CheckFailed):
        lab4.check_build_lenet5(WRONG_LENETS[name])


def test_not_attempted_is_reported_as_such():
    def build_lenet5(input_shape, num_classes, activation="sigmoid"):
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        lab4.check_build_lenet5(build_lenet5)


def test_reference_train_model_passes(ref):
    assert lab4.check_train_model(ref["train_model"], ref["build_lenet5"]) is None


def _fit_with(optimizer="adam", epochs=None, validation=True, ret=True, metrics=("accuracy",)):
    def train_model(model, x_train, y_train, x_val, y_val, epochs_, batch_size):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
        h = model.fit(x_train, y_train, epochs=epochs or epochs_, batch_size=batch_size, verbose=0,
                      validation_data=(x_val, y_val) if validation else None)
        return h if ret else None
    return train_model


@pytest.mark.parametrize("wrong", [
    _fit_with(optimizer="sgd"),
    _fit_with(epochs=1),
    _fit_with(validation=False),
    _fit_with(ret=False),
    _fit_with(metrics=()),
    _fit_with(optimizer=keras.optimizers.Adam(0.01)),
], ids=["sgd", "ignores-epochs", "no-validation", "returns-none", "no-accuracy", "wrong-learning-rate"])
def test_wrong_train_models_fail(ref, wrong):
    with pytest.raises(CheckFailed):
        lab4.check_train_model(wrong, ref["build_lenet5"])


def test_most_confused_pair_reference_passes(ref):
    assert lab4.check_most_confused_pair(ref["most_confused_pair"]) is None


def _argmax_with_diagonal(cm):
    return np.unravel_index(np.argmax(cm), np.shape(cm))


def _swapped(cm):
    m = np.array(cm, dtype=float)
    np.fill_diagonal(m, -1)
    i, j = np.unravel_index(np.argmax(m), m.shape)
    return int(j), int(i)


def _first_row_only(cm):
    m = np.array(cm, dtype=float)
    np.fill_diagonal(m, -1)
    return 0, int(np.argmax(m[0]))


@pytest.mark.parametrize("wrong", [_argmax_with_diagonal, _swapped, _first_row_only, lambda cm: None],
                         ids=["diagonal-included", "swapped", "first-row", "none"])
def test_wrong_most_confused_pair_fails(wrong):
    with pytest.raises(CheckFailed):
        lab4.check_most_confused_pair(wrong)


@pytest.mark.slow
def test_lenet_check_reproduces_the_calibrated_seed_and_earns_full_marks(ref, capsys):
    """The check (seed 0) measures exactly what calibration recorded for seed 0, and clears the bar."""
    from cnncourse import calibration

    rec = calibration.record("lab4-first-cnn", "lenet", "fast")
    acc = lab4.check_lenet_accuracy(ref["build_lenet5"], ref["train_model"])
    assert acc == pytest.approx(rec.reference[rec.seeds.index(0)], abs=1e-9)
    assert calibration.grade("lab4-first-cnn", "lenet", acc, 4, profile="fast") == 4
    assert "the bar (fast profile) is at least" in capsys.readouterr().out


def test_a_model_that_never_trains_gets_no_credit(ref):
    """A train_model that does not fit leaves the accuracy near chance: no points."""
    from cnncourse import calibration

    def lazy(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(x_train[:1], y_train[:1], epochs=epochs, batch_size=1, verbose=0,
                         validation_data=(x_val[:1], y_val[:1]))

    res = lab4.measure_lenet_accuracy(ref["build_lenet5"], lazy, profile="fast")
    assert res.accuracy < 0.3
    assert calibration.grade("lab4-first-cnn", "lenet", res.accuracy, 4, profile="fast") == 0


def test_calibration_records_cover_every_training_check():
    from cnncourse import calibration
    from autograder.calibrations import lab4_first_cnn

    records = calibration.load_records("lab4-first-cnn")
    for check in lab4_first_cnn.CHECKS:
        rec = records[(check, "fast")]
        assert len(rec.reference) >= calibration.MIN_SEEDS
        # The margin holds on every seed: the reference's worst seed clears the bar.
        assert min(rec.reference) >= rec.threshold + min(rec.margin, 0.02) - 1e-9, rec.summary()
        assert all(max(v) < rec.threshold for v in rec.weak.values()), rec.summary()
