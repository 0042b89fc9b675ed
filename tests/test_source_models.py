"""The shipped source models: small, loadable, recorded, and reproducible by the script."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from cnncourse.data import DatasetNotFoundError
from cnncourse.models import imagenet, pretrained, source

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train_source_models.py"


def _script():
    spec = importlib.util.spec_from_file_location("train_source_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(source.SOURCES))
def test_shipped_files_are_small_and_recorded(name):
    weights, rec_path = source.weights_path(name), source.record_path(name)
    assert weights.exists() and rec_path.exists()
    assert weights.stat().st_size < 500_000
    rec = json.loads(rec_path.read_text())
    for key in ("data", "seed", "test_accuracy", "accuracy_band", "training", "params"):
        assert key in rec, key
    lo, hi = rec["accuracy_band"]
    assert lo <= rec["test_accuracy"] <= hi


def test_shipped_model_loads_and_matches_its_record():
    model = source.load()
    rec = source.record()
    assert model.count_params() == rec["params"]
    assert model.output_shape == (None, 5)
    for name in (source.FIRST_CONV, source.LAST_CONV, source.FEATURES, source.LOGITS):
        model.get_layer(name)
    _, te = source.split_indices(tuple(rec["data"]["classes"]), _script().DIGITS04["test_fraction"], seed=rec["seed"])
    test = source.digits_on_canvas(tuple(rec["data"]["classes"]), seed=rec["seed"] + 1, indices=te)
    acc = float(np.mean(np.asarray(model(test.images, training=False)).argmax(1) == test.target))
    assert acc == pytest.approx(rec["test_accuracy"], abs=1e-3)


def test_every_load_is_a_fresh_copy():
    a = source.load_base()
    a.trainable = False
    assert source.load_base().trainable_weights


def test_digits_on_canvas_places_each_digit_in_its_box():
    d = source.digits_on_canvas((5, 6), copies=2, seed=3)
    assert d.images.shape[1:] == (32, 32, 1) and set(np.unique(d.target)) == {0, 1}
    for img, (t, l, b, r) in zip(d.images[:20], d.boxes[:20]):
        assert np.isclose(img[t:b, l:r].sum(), img.sum())
    again = source.digits_on_canvas((5, 6), copies=2, seed=3)
    assert np.array_equal(d.images, again.images)
    with pytest.raises(ValueError):
        source.place_digit(np.ones((16, 16)), 20, 0)


@pytest.mark.slow
def test_script_retrains_digits04_within_the_recorded_band(tmp_path):
    rec = source.record("digits04")
    new, model = _script().train_digits04(tmp_path, save=True)
    lo, hi = rec["accuracy_band"]
    assert lo <= new["test_accuracy"] <= hi, (new["test_accuracy"], rec["accuracy_band"])
    assert new["params"] == rec["params"]
    assert (tmp_path / "digits04.keras").stat().st_size < 500_000
    reloaded = source.load("digits04", directory=tmp_path)
    assert reloaded.count_params() == rec["params"]


def test_pretrained_explains_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(imagenet, "model_dirs", lambda data_home=None: [tmp_path / "models", tmp_path])
    with pytest.raises(DatasetNotFoundError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"):
        pretrained("mobilenet_v2", include_top=False, input_shape=(96, 96, 3))
    with pytest.raises(ValueError, match="Unknown network"):
        imagenet.weights_file("alexnet")


@pytest.mark.slow
def test_pretrained_loads_weights_from_the_data_directory(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path))
    net = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    fname = imagenet.weights_file("mobilenet_v2", include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    (tmp_path / "models").mkdir()
    # Keras Applications read the legacy HDF5 layout their published files use.
    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(tmp_path / "models" / fname, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, net)
    loaded = pretrained("mobilenet_v2", include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    for a, b in zip(net.get_weights()[:3], loaded.get_weights()[:3]):
        assert np.array_equal(a, b)


def test_fit_scratch_traces_its_step_once_and_trains_as_plain_fit_does(monkeypatch):
    """The "from scratch" baseline creates its optimizer's variables before fit: same weights, one trace."""
    import keras

    from cnncourse import runtime
    from test_runtime import _variables_made_while_tracing

    rng = np.random.default_rng(0)
    x, y = rng.random((24, source.CANVAS, source.CANVAS, 1)).astype("float32"), rng.integers(0, 5, 24)
    made = _variables_made_while_tracing(monkeypatch)
    runtime.set_seed(0)
    model, _ = source.fit_scratch(x, y, epochs=1, batch_size=8, num_classes=5)
    assert made == []  # nothing is left to create inside the traced step, so it is traced once

    runtime.set_seed(0)  # the same run, as a student would write it
    plain = source.build_digits_cnn(num_classes=5, name="scratch")
    plain.compile(
        optimizer=keras.optimizers.Adam(source.SCRATCH_LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    plain.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert any("momentum" in p or "velocity" in p for p in made)  # Keras's own way: created inside the step
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), plain.get_weights(), strict=True))
