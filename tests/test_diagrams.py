"""cnncourse.diagrams: layouts, the lectures' figures and models drawn from their connections."""

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from cnncourse import diagrams


@pytest.fixture(autouse=True)
def close_all():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def boxes(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]


def arrows(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def assert_no_overlap(fig):
    """No two boxes overlap, and every text lies inside the figure."""
    extents = [b.get_window_extent() for b in boxes(fig)]
    for i, a in enumerate(extents):
        for b in extents[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    fig.canvas.draw()
    page = fig.bbox
    for t in fig.axes[0].texts:
        e = t.get_window_extent()
        assert page.x0 - 1 <= e.x0 and e.x1 <= page.x1 + 1 and page.y0 - 1 <= e.y0 and e.y1 <= page.y1 + 1, t


def test_layout_ranks_by_longest_path_and_spreads_branches():
    lay = diagrams.layout_graph(
        ["x", "a", "b1", "b2", "y"], [("x", "a"), ("a", "b1"), ("b1", "b2"), ("x", "b2"), ("b2", "y")]
    )
    assert lay.ranks == {"x": 0, "a": 1, "b1": 2, "b2": 3, "y": 4}  # the longest path, not the shortest
    fan = diagrams.layout_graph(["x", "p", "q", "r", "m"], [("x", p) for p in "pqr"] + [(p, "m") for p in "pqr"])
    assert fan.rank_of(1) == ["p", "q", "r"]  # side by side, in the order given
    assert [fan.columns[n] for n in "pqr"] == [-1.0, 0.0, 1.0]
    assert fan.columns["m"] == 0.0 and fan.ranks["m"] == 2


@pytest.mark.parametrize(
    "nodes, edges, message",
    [
        (["a", "b"], [("a", "c")], "'c', which is not a node"),
        (["a", "b"], [("z", "b")], "'z', which is not a node"),
        (["a", "a"], [], "named twice"),
        (["a", "b"], [("a", "b"), ("b", "a")], "cycle"),
        (["a", ("b",) * 5], [], "a node is"),
        (["a", "b"], [("a",)], "an edge is"),
    ],
)
def test_bad_graphs_raise_a_clear_value_error(nodes, edges, message):
    with pytest.raises(ValueError, match=message):
        diagrams.draw_graph(nodes, edges)


def test_draw_graph_one_box_per_node_one_arrow_per_edge():
    nodes = [("x", "Input", None, "8x8x1"), ("c", "Conv2D", "3x3, 4", "8x8x4"), {"name": "d", "label": "Dense"}]
    fig = diagrams.draw_graph(nodes, [("x", "c"), ("c", "d", "a tensor")], title="tiny")
    assert len(boxes(fig)) == 3 and len(arrows(fig)) == 2
    assert {"Input", "8x8x1", "Conv2D", "3x3, 4", "Dense", "a tensor", "tiny"} <= set(texts(fig))
    assert fig.graph_layout.ranks == {"x": 0, "c": 1, "d": 2}


def test_lenet5_is_a_chain_with_the_lectures_sizes():
    fig = diagrams.lenet5()
    lay = fig.graph_layout
    assert len(boxes(fig)) == 9 and len(arrows(fig)) == 8
    assert sorted(lay.ranks.values()) == list(range(9)) and set(lay.columns.values()) == {0.0}
    shown = texts(fig)
    for shape in ("28x28x1", "28x28x6", "14x14x6", "10x10x16", "5x5x16", "400", "120", "84", "10"):
        assert shape in shown, shape
    assert shown.count("AveragePooling2D") == 2 and shown.count("Conv2D") == 2
    assert_no_overlap(fig)


@pytest.mark.parametrize("naive", [False, True])
def test_inception_module_four_branches_on_one_rank(naive):
    fig = diagrams.inception_module(naive=naive)
    lay = fig.graph_layout
    first = lay.rank_of(1)
    assert len(first) == 4  # the four paths start side by side
    assert [lay.ranks[n] for n in ("input", "cat")] == [0, 2 if naive else 3]
    into_concat = [src for src, dst, _ in lay.edges if dst == "cat"]
    assert len(into_concat) == 4
    assert len(boxes(fig)) == (6 if naive else 9) and len(arrows(fig)) == (8 if naive else 11)
    assert ("28x28x672" if naive else "28x28x480") in texts(fig)
    assert not lay.curved  # the 1x1 branch goes straight down, not around the block
    assert_no_overlap(fig)


def test_residual_block_skip_spans_the_block():
    fig = diagrams.resnet_block()
    lay = fig.graph_layout
    assert lay.curved == [("input", "add")]
    span = range(lay.ranks["input"] + 1, lay.ranks["add"])
    assert {n for n, r in lay.ranks.items() if r in span} == {"conv1", "relu1", "conv2"}  # the skip goes around them
    assert texts(fig).count("Conv2D") == 2 and "identity" in texts(fig)
    assert len(boxes(fig)) == 6 and len(arrows(fig)) == 6
    assert_no_overlap(fig)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_residual_block_projection_is_a_parallel_1x1_conv(batch_norm):
    fig = diagrams.resnet_block(projection=True, batch_norm=batch_norm)
    lay = fig.graph_layout
    assert lay.rank_of(1) == ["conv1", "proj"]  # main path left, the shortcut beside it
    assert not lay.curved and "identity" not in texts(fig)
    assert "1x1, 64, stride 2" + (", no bias" if batch_norm else "") in texts(fig)
    assert texts(fig).count("BatchNormalization") == (3 if batch_norm else 0)
    assert {src for src, dst, _ in lay.edges if dst == "add"} == ({"bn2", "bnp"} if batch_norm else {"conv2", "proj"})
    assert_no_overlap(fig)


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def test_draw_model_functional_with_branch_and_merges(keras):
    L = keras.layers
    a, b = keras.Input((8, 8, 3), name="a"), keras.Input((8, 8, 3), name="b")
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="conv")(a)
    y = L.Conv2D(4, 1, strides=1, name="proj")(b)
    s = L.Add(name="sum")([x, y])
    s = L.Add(name="skip")([s, x])  # a skip past the first merge
    out = L.Dense(2, name="head")(L.GlobalAveragePooling2D(name="gap")(s))
    model = keras.Model([a, b], out, name="two_inputs")
    fig = diagrams.draw_model(model)
    lay = fig.graph_layout
    assert len(lay.ranks) == len(model.layers) == 8
    assert {(s, d) for s, d, _ in lay.edges} == {
        ("a", "conv"),
        ("b", "proj"),
        ("conv", "sum"),
        ("proj", "sum"),
        ("sum", "skip"),
        ("conv", "skip"),
        ("skip", "gap"),
        ("gap", "head"),
    }
    assert lay.rank_of(0) == ["a", "b"] and lay.ranks["skip"] == 3
    shown = texts(fig)
    assert "3x3, 4, relu" in shown and "8x8x4" in shown and "2 units" in shown and "two_inputs" in shown
    assert len(boxes(fig)) == 8 and len(arrows(fig)) == 8
    assert_no_overlap(fig)


def test_draw_model_counts_only_the_models_own_calls_of_a_shared_layer(keras):
    L = keras.layers
    dense = L.Dense(3, name="shared")
    i1 = keras.Input((4,), name="i1")
    keras.Model(i1, dense(L.Dense(4, name="other")(i1)))  # another model uses the layer too
    i2 = keras.Input((4,), name="i2")
    model = keras.Model(i2, dense(i2))
    assert [(s, d) for s, d, _ in diagrams.draw_model(model).graph_layout.edges] == [("i2", "shared")]


def test_draw_model_sequential_is_a_chain(keras):
    L = keras.layers
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same"), L.AveragePooling2D(2, 2), L.Flatten(), L.Dense(10)]
    )
    fig = diagrams.draw_model(model)
    lay = fig.graph_layout
    assert len(lay.ranks) == len(model.layers) + 1  # the input box, then one per layer
    assert sorted(lay.ranks.values()) == list(range(5)) and len(lay.edges) == 4
    assert {"5x5, 6", "2x2, /2", "28x28x6", "14x14x6", "1176"} <= set(texts(fig))
    with pytest.raises(ValueError, match="built model"):
        diagrams.draw_model(keras.Sequential([L.Dense(3)]))
