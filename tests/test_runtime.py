"""cnncourse.runtime: profiles, budgets, seeds and the GPU code paths (run on a CPU with stand-ins)."""

import numpy as np
import pytest

from cnncourse import runtime


def test_profile_env_override(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_PROFILE", "full")
    assert runtime.profile() == "full"
    monkeypatch.setenv("CNNCOURSE_PROFILE", "FAST")
    assert runtime.profile() == "fast"


def test_profile_rejects_unknown_value(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="CNNCOURSE_PROFILE='turbo' is not a profile"):
        runtime.profile()


def test_profile_automatic_is_fast_without_gpu(monkeypatch):
    monkeypatch.delenv("CNNCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(runtime, "gpus", lambda: [])
    assert runtime.profile() == "fast"
    monkeypatch.setattr(runtime, "gpus", lambda: ["gpu0"])
    assert runtime.profile() == "full"


def test_cheap_detection_respects_hidden_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert runtime._gpu_visible_cheaply() is False


def test_every_budget_has_both_profiles_and_full_is_not_smaller():
    for name, per_profile in runtime.BUDGETS.items():
        assert set(per_profile) == set(runtime.PROFILES), name
        fast, full = per_profile["fast"], per_profile["full"]
        assert full.epochs >= fast.epochs, name
        if fast.samples is not None:
            assert full.samples is None or full.samples >= fast.samples, name


def test_budget_lookup_and_errors():
    b = runtime.budget("lab4.lenet", "fast")
    assert b is runtime.BUDGETS["lab4.lenet"]["fast"]
    with pytest.raises(KeyError, match="No training budget named 'nope'"):
        runtime.budget("nope", "fast")
    with pytest.raises(ValueError, match="Unknown profile"):
        runtime.budget("lab4.lenet", "huge")


def test_cell_timeouts_are_longer_for_full():
    assert runtime.cell_timeout("full") > runtime.cell_timeout("fast") > 30  # nbgrader's default is 30 s


@pytest.mark.parametrize(
    "ccs,expected",
    [
        ([], False),
        ([(8, 0)], True),
        ([(7, 0), (7, 5)], True),
        ([(6, 1)], False),
        ([(8, 6), (6, 0)], False),
        ([None], False),
    ],
)
def test_mixed_precision_needs_compute_capability_7(ccs, expected):
    assert runtime.supports_mixed_precision(ccs) is expected


class _FakeExperimental:
    def __init__(self, fail_growth=False):
        self.growth = {}
        self.fail_growth = fail_growth

    def set_memory_growth(self, dev, flag):
        if self.fail_growth:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth[dev] = flag

    def get_device_details(self, dev):
        return {"compute_capability": {"gpu:0": (8, 0), "gpu:1": (7, 5), "old": (6, 1)}[dev]}


class _FakeTF:
    def __init__(self, devices, **kw):
        self._devices = devices
        self.config = type("C", (), {})()
        self.config.experimental = _FakeExperimental(**kw)
        self.config.list_physical_devices = lambda kind: list(self._devices) if kind == "GPU" else []


@pytest.fixture
def restore_policy():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


def test_configure_devices_on_modern_gpus_turns_on_growth_and_mixed_precision(restore_policy):
    import keras

    fake = _FakeTF(["gpu:0", "gpu:1"])
    report = runtime.configure_devices(tf_module=fake)
    assert report.has_gpu and report.mixed_precision and report.memory_growth
    assert fake.config.experimental.growth == {"gpu:0": True, "gpu:1": True}
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    assert "2 GPU(s)" in str(report) and "mixed precision on" in str(report)


def test_configure_devices_keeps_float32_on_an_old_gpu(restore_policy):
    import keras

    report = runtime.configure_devices(tf_module=_FakeTF(["gpu:0", "old"], fail_growth=True))
    assert not report.mixed_precision and not report.memory_growth
    assert keras.mixed_precision.global_policy().name == "float32"


def test_configure_devices_on_this_cpu(restore_policy):
    report = runtime.configure_devices()
    assert not report.has_gpu and not report.mixed_precision
    assert "No GPU" in str(report)


def test_set_seed_makes_training_repeatable():
    import keras

    def train(seed):
        runtime.set_seed(seed)
        x = np.random.rand(64, 6).astype("float32")
        y = (x.sum(1) > 3).astype("int64")
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dropout(0.3),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return model.get_weights()[0]

    a, b, c = train(3), train(3), train(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_tests_run_with_the_kernel_environment():
    """conftest.py sets, before TensorFlow starts, exactly what every course kernel starts with."""
    import os

    assert all(os.environ[k] == v for k, v in runtime.KERNEL_ENV.items())


@pytest.mark.parametrize("module", ["cnncourse.checks.lab1", "keras.src.layers", "tensorflow.python.ops", "keras"])
def test_a_deprecation_in_the_course_keras_or_tensorflow_fails_the_tests(module):
    import warnings

    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module=module)


def test_other_libraries_deprecations_are_theirs():
    import warnings

    for module in ("numpy.core", "kerasish", "jupyter_client.session"):
        warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module=module)  # no error


def _tiny_classifier(seed, optimizer="adam"):
    import keras

    runtime.set_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _variables_made_while_tracing(monkeypatch):
    """Record the path of every Keras variable created inside a traced function from now on."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import core

    made, initialize = [], core.Variable._initialize

    def recorded(self, value):
        if tf.inside_function():
            made.append(self.path)
        return initialize(self, value)

    monkeypatch.setattr(core.Variable, "_initialize", recorded)
    return made


@pytest.mark.parametrize("as_dataset", [False, True], ids=["arrays", "dataset"])
def test_build_for_fit_leaves_nothing_to_create_inside_the_step_and_trains_to_the_same_weights(monkeypatch, as_dataset):
    from cnncourse.data import build_pipeline

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 40)
    made = _variables_made_while_tracing(monkeypatch)

    def train(prebuild):
        model = _tiny_classifier(5)
        data = build_pipeline(x, y, batch_size=16, training=True, seed=0) if as_dataset else x
        if prebuild:
            assert runtime.build_for_fit(model, data, None if as_dataset else y, epochs=2)
        made.clear()
        if as_dataset:
            model.fit(data, epochs=2, verbose=0, validation_data=(x[:8], y[:8]), shuffle=False)
        else:  # 40 = 16 + 16 + 8: a short last batch too
            model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x[:8], y[:8]))
        return model.get_weights(), list(made)

    (lazy, made_lazily), (built, made_in_step) = train(False), train(True)
    assert any("momentum" in p or "velocity" in p for p in made_lazily)  # Keras's own way: inside the step
    assert any("accuracy" in p for p in made_lazily)
    assert made_in_step == []  # so TensorFlow traces the step once
    assert len(lazy) == len(built)
    assert all(np.array_equal(a, b) for a, b in zip(lazy, built))


def test_build_for_fit_leaves_unbuilt_models_and_unlabelled_data_to_keras():
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(2)])  # no Input: its weights do not exist yet
    unbuilt.compile("sgd", "mse")
    assert not runtime.build_for_fit(unbuilt, np.ones((4, 3), "float32"), np.ones((4, 2), "float32"))
    assert not unbuilt.optimizer.built
    unbuilt.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)  # Keras builds it, as before
    assert unbuilt.optimizer.built
    assert not runtime.build_for_fit(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))  # not compiled
    model = _tiny_classifier(0)
    assert runtime.build_for_fit(model)  # no data: the optimizer only
    assert model.optimizer.built


def test_build_for_fit_leaves_a_partly_built_model_to_keras_and_it_still_trains():
    import keras

    class Net(keras.Model):  # model.build marks it built; its layers are built on the first call
        def __init__(self):
            super().__init__()
            self.flatten, self.dense = keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.dense(self.flatten(inputs))

    rng = np.random.default_rng(0)
    x, y = rng.random((32, 4, 4, 1)).astype("float32"), rng.integers(0, 3, 32)
    runtime.set_seed(0)
    net = Net()
    with pytest.warns(UserWarning, match="does not have a `build\\(\\)` method"):  # Keras's own warning of it
        net.build((None, 4, 4, 1))
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert net.built and not net.dense.built
    assert not runtime.build_for_fit(net, x, y)
    assert not net.optimizer.built  # built now, it would lack the dense layer's variables
    net.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert net.optimizer.iterations.numpy() == 2


def test_build_for_fit_with_unlabelled_batches_builds_the_optimizer_only():
    import tensorflow as tf

    model = _tiny_classifier(0)
    x = np.zeros((4, 8, 8, 1), "float32")
    assert runtime.build_for_fit(model, tf.data.Dataset.from_tensor_slices(x).batch(2))
    assert model.optimizer.built
    assert runtime.build_for_fit(model, x)  # an array without labels: the same
