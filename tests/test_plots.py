"""cnncourse.plots: every figure is built from its data (inspected through the Figure)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from cnncourse import plots


@pytest.fixture(autouse=True)
def close_all():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_image_grid_layout_and_titles():
    imgs = np.random.rand(10, 8, 8, 1)
    fig = plots.image_grid(imgs, titles=[f"t{i}" for i in range(10)], ncols=4)
    axes = fig.axes
    assert len(axes) == 12  # 3 rows x 4 columns, two left empty
    shown = [ax for ax in axes if ax.images]
    assert len(shown) == 10 and shown[3].get_title() == "t3"
    assert shown[0].images[0].get_array().shape == (8, 8)  # channel axis squeezed
    with pytest.raises(ValueError):
        plots.image_grid([])


def test_show_kernel_annotates_weights():
    k = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float)
    fig = plots.show_kernel(np.random.rand(20, 20), k, np.random.rand(18, 18), name="sharpen")
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts.count("-1") == 4 and "5" in texts
    assert fig.axes[2].get_title() == "after sharpen"


def test_plot_history_train_and_validation():
    hist = {
        "loss": [1.0, 0.5, 0.3],
        "val_loss": [1.1, 0.7, 0.6],
        "accuracy": [0.5, 0.8, 0.9],
        "val_accuracy": [0.4, 0.7, 0.75],
    }
    fig = plots.plot_history(hist)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    lines = fig.axes[1].get_lines()
    assert [l.get_label() for l in lines] == ["training", "validation"]
    assert list(lines[1].get_xdata()) == [1, 2, 3] and list(lines[1].get_ydata()) == [0.4, 0.7, 0.75]
    with pytest.raises(ValueError, match="none of the metrics"):
        plots.plot_history({"mae": [1]})


def test_compare_histories_one_curve_per_run():
    fig = plots.compare_histories({"relu": {"val_accuracy": [0.5, 0.9]}, "sigmoid": {"val_accuracy": [0.1, 0.2]}})
    assert [l.get_label() for l in fig.axes[0].get_lines()] == ["relu", "sigmoid"]


def test_confusion_matrix_rows_are_normalised():
    y_true = [0, 0, 0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 1, 1, 2]
    fig = plots.confusion_matrix(y_true, y_pred, class_names=["a", "b", "c"])
    m = fig.matrix
    assert np.allclose(m.sum(1), 1.0)
    assert np.allclose(m[0], [0.75, 0.25, 0]) and np.allclose(m[2], [0, 0.5, 0.5])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["a", "b", "c"]
    raw = plots.confusion_matrix(y_true, y_pred, normalize=False)
    assert raw.matrix[0, 0] == 3


def test_filter_grid_normalises_each_filter():
    w = np.random.randn(5, 5, 1, 6) * 10
    fig = plots.filter_grid(w, ncols=3)
    arrays = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(arrays) == 6
    for a in arrays:
        assert np.isclose(a.min(), 0) and np.isclose(a.max(), 1)
    with pytest.raises(ValueError, match="kh, kw, in, out"):
        plots.filter_grid(np.zeros((3, 3, 4)))


def test_feature_map_grid_caps_the_count():
    fig = plots.feature_map_grid(np.random.rand(1, 6, 6, 40), max_maps=16)
    assert sum(1 for ax in fig.axes if ax.images) == 16


def test_heatmap_overlay_resizes_to_the_image(tmp_path):
    fig = plots.heatmap_overlay(np.random.rand(32, 32), np.random.rand(4, 4), title="occlusion")
    overlay = fig.axes[1].images[1].get_array()
    assert overlay.shape == (32, 32) and fig.axes[1].get_title() == "occlusion"
    path = plots.save(fig, tmp_path / "h.png")
    assert path.exists() and path.stat().st_size > 1000


def test_compare_per_layer_draws_one_bar_per_network_and_layer_at_its_value():
    values = {"sigmoid": [1e-3, 2e-2, 0.5], "relu": [0.3, 0.2, 0.1]}
    fig = plots.compare_per_layer(values, ["conv1", "dense", "output"], ylabel="gradient norm")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)
    assert heights == sorted(round(v, 6) for numbers in values.values() for v in numbers)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "gradient norm"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["conv1", "dense", "output"]
    with pytest.raises(ValueError, match="'relu' has 2 numbers for 3 layers"):
        plots.compare_per_layer({"relu": [1, 2]}, ["conv1", "dense", "output"])
