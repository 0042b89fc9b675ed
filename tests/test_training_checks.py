"""The shared machinery of training checks: building, retraining, determinism, feedback."""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, NotAttempted, training
from cnncourse.runtime import Budget

keras = pytest.importorskip("keras")
layers = keras.layers

TINY = Budget(samples=120, epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def digits():
    from cnncourse.data import load_digits

    return load_digits(return_X_y=True)  # 8x8, 10 classes


def tiny_cnn(input_shape, num_classes, softmax=True):
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(num_classes, activation="softmax" if softmax else None),
        ]
    )


def tiny_train(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        validation_data=None if x_val is None else (x_val, y_val),
    )


def test_build_reports_what_is_wrong_with_a_builder():
    with pytest.raises(NotAttempted):
        training.build("Ex", lambda: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailed, match="None"):
        training.build("Ex", lambda: None)
    with pytest.raises(CheckFailed, match="keras.Model"):
        training.build("Ex", lambda: "a model")
    with pytest.raises(CheckFailed, match="input shape"):
        training.build("Ex", tiny_cnn, (8, 8, 1), 10, input_shape=(9, 9, 1))
    with pytest.raises(CheckFailed, match="one score per class"):
        training.build("Ex", tiny_cnn, (8, 8, 1), 3, input_shape=(8, 8, 1), num_classes=10)
    assert isinstance(training.build("Ex", tiny_cnn, (8, 8, 1), 10, num_classes=10), keras.Model)


def test_outputs_probabilities_tells_softmax_from_logits(digits):
    x = digits[0][:8]
    assert training.outputs_probabilities(tiny_cnn((8, 8, 1), 10), x)
    assert not training.outputs_probabilities(tiny_cnn((8, 8, 1), 10, softmax=False), x)


def test_split_for_check_holds_out_and_subsamples(digits):
    x, y = digits
    (xtr, ytr), (xte, yte) = training.split_for_check(x, y, TINY, seed=0)
    assert len(ytr) == 120 and abs(len(yte) - 0.25 * len(y)) < 1
    assert set(np.unique(ytr)) == set(range(10))


def test_retrain_is_deterministic_for_a_seed(digits):
    x, y = digits
    a = training.retrain("Ex", tiny_cnn, x, y, TINY, builder_args=((8, 8, 1), 10), seed=3, validation=True)
    b = training.retrain("Ex", tiny_cnn, x, y, TINY, builder_args=((8, 8, 1), 10), seed=3, validation=True)
    assert a.accuracy == b.accuracy and a.history == b.history
    assert set(a.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert a.n_train == 120 and len(a.history["loss"]) == TINY.epochs


def test_retrain_with_the_students_training_function(digits):
    x, y = digits
    res = training.retrain(
        "Ex", tiny_cnn, x, y, TINY, builder_args=((8, 8, 1), 10), train_fn=tiny_train, validation=True, val_size=20
    )
    assert 0.0 <= res.accuracy <= 1.0 and len(res.history["val_loss"]) == TINY.epochs


def test_retrain_trains_logit_models_too(digits):
    x, y = digits
    res = training.retrain(
        "Ex",
        lambda s, c: tiny_cnn(s, c, softmax=False),
        x,
        y,
        Budget(samples=400, epochs=3, batch_size=32),
        builder_args=((8, 8, 1), 10),
    )
    # from_logits was chosen right, so it learns (chance is 0.1).
    assert res.accuracy > 0.25 and res.history["loss"][-1] < res.history["loss"][0]


@pytest.mark.parametrize(
    "wrong,match",
    [
        (lambda m, xt, yt, xv, yv, e, b: None, "History"),
        (lambda m, xt, yt, xv, yv, e, b: tiny_train(m, xt, yt, xv, yv, 1, b), "epochs"),
    ],
    ids=["returns-none", "ignores-epochs"],
)
def test_retrain_rejects_broken_training_functions(digits, wrong, match):
    x, y = digits
    with pytest.raises(CheckFailed, match=match):
        training.retrain("Ex", tiny_cnn, x, y, TINY, builder_args=((8, 8, 1), 10), train_fn=wrong)


def test_generalisation_gap_reads_the_last_epochs():
    h = {"accuracy": [0.5, 0.9, 1.0, 1.0], "val_accuracy": [0.5, 0.7, 0.8, 0.7]}
    assert training.generalisation_gap(h, last=2) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        training.generalisation_gap({"accuracy": [1.0]})


def test_report_names_the_number_and_the_bar(monkeypatch, capsys):
    monkeypatch.setattr(training, "bar", lambda lab, check, profile=None: (0.8, 0.6, True))
    assert training.report("Ex", "accuracy", 0.7, "lab", "c") == 0.7
    out = capsys.readouterr().out
    assert "accuracy = 0.700" in out and "at least 0.800" in out and "half the points" in out
    monkeypatch.setattr(training, "bar", lambda lab, check, profile=None: (0.1, None, False))
    training.report("Ex", "gap", 0.05, "lab", "c")
    assert "\u2714" in capsys.readouterr().out


def test_bar_is_none_for_an_uncalibrated_check():
    assert training.bar("no-such-lab", "nothing") is None


def test_eagerly_runs_steps_without_graphs_quietly_and_restores_the_mode(digits):
    import warnings

    import tensorflow as tf

    x, y = digits
    seen = []

    class Probe(layers.Layer):
        def call(self, inputs):
            seen.append(tf.executing_eagerly())
            return inputs

    def fitted():
        seen.clear()
        model = keras.Sequential([keras.Input(x.shape[1:]), Probe(), layers.Flatten(), layers.Dense(10)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x[:40], y[:40], batch_size=16, epochs=1, verbose=0)  # Keras's own tf.data pipeline
        assert model.optimizer.iterations.numpy() == 3
        return list(seen)

    before = tf.config.functions_run_eagerly()
    assert True not in fitted()  # the steps run a traced graph, which calls no Python
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with training.eagerly():
            assert tf.config.functions_run_eagerly()
            assert fitted().count(True) == 3  # one eager call a step (after Keras's symbolic build)
    assert tf.config.functions_run_eagerly() == before
    assert not [w for w in caught if "run_functions_eagerly" in str(w.message)]  # tf.data's notice stays off stderr
    with pytest.raises(RuntimeError), training.eagerly():
        raise RuntimeError("a crashing check")
    assert tf.config.functions_run_eagerly() == before
    tf.config.run_functions_eagerly(True)  # already on: it stays on afterwards
    try:
        with training.eagerly():
            pass
        assert tf.config.functions_run_eagerly()
    finally:
        tf.config.run_functions_eagerly(before)
