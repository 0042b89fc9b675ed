"""The ready-made small networks and the Keras Applications table."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnncourse.models import applications, small  # noqa: E402


# ---------------------------------------------------------------- small networks
def test_small_cnn_shapes_names_and_params():
    m = small.small_cnn((16, 16, 1), 3, filters=(8, 16), dense=32, dropout=0.25)
    assert tuple(m.output.shape) == (None, 3)
    assert small.conv_layer_names(m) == ["conv1", "conv2"]
    assert tuple(m.get_layer("pool2").output.shape) == (None, 4, 4, 16)
    expected = (9 * 8 + 8) + (9 * 8 * 16 + 16) + (4 * 4 * 16 * 32 + 32) + (32 * 3 + 3)
    assert m.count_params() == expected
    p = np.asarray(m(np.zeros((2, 16, 16, 1), "float32")))
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_small_cnn_refuses_too_many_poolings():
    with pytest.raises(ValueError, match="fewer"):
        small.small_cnn((8, 8, 1), 2, filters=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="at least one"):
        small.small_cnn((8, 8, 1), 2, filters=())


def test_small_cnn_learns_digits_quickly():
    from cnncourse import data, runtime

    runtime.set_seed(0)
    x, y = data.load_digits(size=16, return_X_y=True)
    (xt, yt), (xv, yv) = data.train_val_split(x, y, 0.3, seed=0)
    m = small.small_cnn((16, 16, 1), 10)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(xt[:600], yt[:600], epochs=3, batch_size=32, verbose=0)
    assert m.evaluate(xv, yv, verbose=0)[1] > 0.7


@pytest.mark.parametrize("shape", [(32, 32, 1), (16, 16, 3), (64, 64, 3), (8, 8, 1)])
def test_mini_alexnet_builds_on_small_inputs(shape):
    m = small.mini_alexnet(shape, 5)
    assert tuple(m.output.shape) == (None, 5)
    assert m.get_layer("conv1").get_config()["kernel_size"] == (11, 11)
    assert m.get_layer("conv1").get_config()["filters"] == 12  # 96 / 8


def test_mini_alexnet_width_scales_the_filters():
    wide, narrow = small.mini_alexnet((32, 32, 3), 10, width=4), small.mini_alexnet((32, 32, 3), 10, width=8)
    assert wide.get_layer("conv2").get_config()["filters"] == 64
    assert wide.count_params() > 2 * narrow.count_params()
    with pytest.raises(ValueError):
        small.mini_alexnet(width=0)


def test_augmentation_only_acts_while_training():
    aug = small.augmentation()
    x = np.random.default_rng(0).uniform(size=(4, 16, 16, 1)).astype("float32")
    assert np.allclose(np.asarray(aug(x, training=False)), x)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    assert len(small.augmentation(flip=None, rotation=0, contrast=0).layers) == 2


def test_feature_extractor_stops_at_flatten_or_a_named_layer():
    m = small.small_cnn((16, 16, 1), 3, filters=(8, 16))
    f = small.feature_extractor(m)
    assert tuple(f.output.shape) == (None, 4 * 4 * 16)
    assert tuple(small.feature_extractor(m, "conv1").output.shape) == (None, 16, 16, 8)
    with pytest.raises(ValueError, match="No layer named"):
        small.feature_extractor(m, "nope")


# ---------------------------------------------------------------- applications
def test_table_has_the_published_numbers():
    assert len(applications.TABLE) == 34
    vgg16 = applications.lookup("vgg16")
    assert (vgg16.params, vgg16.top1, vgg16.depth) == (138_400_000, 0.713, 16)
    assert applications.lookup("EfficientNetB0").params_m == 5.3
    assert applications.lookup("MobileNetV2").top1 == pytest.approx(0.713)
    for m in applications.TABLE:
        assert 0.6 < m.top1 < 0.9 and 1 < m.params_m < 200
        assert m.top5 is None or m.top5 > m.top1
    with pytest.raises(KeyError, match="Known"):
        applications.lookup("AlexNet")


def test_table_rows_filter_by_family():
    rows = applications.table(["ResNet"])
    assert {r["name"] for r in rows} == {
        "ResNet50",
        "ResNet50V2",
        "ResNet101",
        "ResNet101V2",
        "ResNet152",
        "ResNet152V2",
    }
    with pytest.raises(ValueError, match="Unknown families"):
        applications.table(["LeNet"])


def test_efficientnet_b0_is_more_accurate_than_vgg16_with_26_times_fewer_parameters():
    b0, vgg = applications.lookup("EfficientNetB0"), applications.lookup("VGG16")
    assert b0.top1 > vgg.top1 and vgg.params / b0.params > 26


def test_plot_puts_own_models_on_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    own = {"mini-VGG": {"params": 15587, "accuracy": 0.86}, "mini-ResNet": (19331, 0.93)}
    fig = applications.plot_accuracy_vs_params(own=own, own_task="textures")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert "mini-VGG (textures)" in labels and "mini-ResNet (textures)" in labels
    assert ax.get_xlim()[0] <= 15587 and ax.get_xlim()[1] >= 143.7e6
    fig.savefig(tmp_path / "f.png")


def test_plot_rejects_accuracy_in_percent():
    with pytest.raises(ValueError, match="fraction"):
        applications.plot_accuracy_vs_params(own={"net": (1000, 93.0)})
