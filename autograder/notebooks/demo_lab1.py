"""Build labs/lab1-convolution-demo.ipynb (run: python -m autograder.notebooks.demo_lab1)."""

from autograder.authoring import code, markdown, notebook, write

CELLS = [
    markdown("""
    # Lecture demo: what a convolution does

    An ungraded companion to Lab 1. Run it top to bottom; nothing here is an exercise.

    A convolution adds up each pixel and its neighbours, weighted by a small grid: the **kernel**.
    The same kernel is used at every position, which is why a convolutional layer needs so few
    weights compared with a dense one.
    """),
    code("""
    from cnncourse import data, plots  # first: it also quietens TensorFlow's start-up messages

    import numpy as np
    import matplotlib.pyplot as plt
    import keras
    """),
    markdown("""
    ## Hand-made kernels on a photo

    SciPy's `correlate2d` slides a kernel over an image. Four classic 3x3 kernels: an edge detector
    (8 in the centre, -1 around), a sharpener (5 in the centre, -1 on the four direct neighbours), a
    box blur (all 1/9) and a Gaussian blur (1-2-1 weights, divided by 16).
    """),
    code("""
    from scipy.signal import correlate2d

    cat = data.sample_photo("chelsea", gray=True)
    kernels = {
        "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float),
        "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
        "box blur": np.full((3, 3), 1 / 9),
        "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    }
    filtered = {name: correlate2d(cat, k, mode="valid") for name, k in kernels.items()}
    # edge answers are small and signed: show their size, scaled so the strongest 1% are white
    shown = {name: np.abs(f) / np.percentile(np.abs(f), 99) if name == "edge" else f
             for name, f in filtered.items()}
    fig = plots.image_grid([cat] + [np.clip(f, 0, 1) for f in shown.values()],
                           titles=["photo"] + list(filtered), ncols=5, size=2.6)
    plt.show()
    """),
    markdown("""
    ## The same thing as a Keras layer

    A `Conv2D` layer with one 3x3 filter computes exactly this. Set its weights to the edge kernel
    by hand and the layer becomes an edge detector; training would find weights like these on its own.
    """),
    code("""
    layer = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
    layer.build((None, None, None, 1))
    layer.set_weights([kernels["edge"].reshape(3, 3, 1, 1)])
    keras_out = layer(cat[None, :, :, None].astype("float32")).numpy()[0, :, :, 0]
    print("largest difference from SciPy:", float(np.abs(keras_out - filtered["edge"]).max()))
    """),
    markdown("""
    ## Output size: $(N - F + 2P)/S + 1$

    A 7x7 input and a 3x3 filter give a 5x5 output with stride 1, 3x3 with stride 2; stride 3 does
    not fit ($(7-3)/3 + 1$ is not a whole number). Padding with zeros keeps the size: with $P = (F-1)/2$
    and stride 1 the output is as big as the input (Keras' `padding="same"`).
    """),
    code("""
    x = np.zeros((1, 7, 7, 1), "float32")
    for stride in (1, 2, 3):
        for padding in ("valid", "same"):
            y = keras.layers.Conv2D(1, 3, strides=stride, padding=padding)(x)
            print(f"stride {stride}, padding {padding!r:8}: output {tuple(y.shape[1:3])}")
    """),
    markdown("""
    Keras' `"valid"` rounds down, so with stride 3 it silently drops the last column and row; `"same"`
    pads just enough that the output is the input size divided by the stride, rounded up.

    ## Pooling

    Max pooling with a 2x2 window and stride 2 keeps the strongest answer in each window and halves the
    size. Edges found by the detector survive it.
    """),
    code("""
    edges = np.abs(filtered["edge"])[None, :, :, None].astype("float32")
    pooled = keras.layers.MaxPooling2D(2)(edges).numpy()
    pooled_twice = keras.layers.MaxPooling2D(2)(pooled).numpy()
    fig = plots.image_grid([edges[0], pooled[0], pooled_twice[0]],
                           titles=[f"edges {edges.shape[1:3]}", f"pooled {pooled.shape[1:3]}",
                                   f"pooled twice {pooled_twice.shape[1:3]}"], ncols=3, size=3)
    plt.show()
    """),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), "labs/lab1-convolution-demo.ipynb"))
