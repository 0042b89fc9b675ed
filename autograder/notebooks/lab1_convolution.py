"""Build source/lab1-convolution/lab1-convolution.ipynb (run: python -m autograder.notebooks.lab1_convolution)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab1-convolution"

CELLS = [
    markdown("""
    # Lab 1: Convolution by hand

    A convolutional layer slides a small grid of weights, the **kernel**, over an image. At every
    position it multiplies the kernel with the patch of image under it and adds the products up:
    one number per position. Hand-made kernels detect edges, sharpen or blur; a CNN *learns* its
    kernels instead.

    In this lab you write, with NumPy only:

    1. `corr2d`: the sliding-window operation itself on one grey image;
    2. `make_kernel`: four classic 3x3 kernels from the lecture;
    3. `conv2d_forward`: a full convolutional layer (batches, channels, many filters, stride, padding);
    4. `pool2d_forward`: max and average pooling.

    Run each check cell after you write a function: it prints a ✔ line, or tells you what it
    expected and what it found. Hidden tests run the same ideas on other inputs when the lab is graded.
    """, "intro"),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnncourse import data, plots
    from cnncourse.checks import lab1 as checks

    np.set_printoptions(precision=3, suppress=True)
    """, "imports"),
    markdown("""
    ## 1. Cross-correlation

    Deep-learning libraries call it convolution, but what they compute is **cross-correlation**: the
    kernel is *not* flipped. For an image $X$ of size $H \\times W$ and a kernel $K$ of size
    $k_h \\times k_w$, the valid output has size $(H - k_h + 1) \\times (W - k_w + 1)$ and

    $$Y[i, j] = \\sum_{a=0}^{k_h-1} \\sum_{b=0}^{k_w-1} X[i + a, j + b]\\, K[a, b].$$

    **Exercise 1.** Write `corr2d(image, kernel)` for 2-D arrays. Loop over output positions and use
    NumPy for the window product.
    """, "md-corr2d"),
    solution("""
    def corr2d(image, kernel):
        \"\"\"Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw).\"\"\"
        ### BEGIN SOLUTION
        image = np.asarray(image, dtype=float)
        kernel = np.asarray(kernel, dtype=float)
        kh, kw = kernel.shape
        out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
        return out
        ### END SOLUTION
    """, "corr2d"),
    tests("""
    checks.check_corr2d(corr2d)
    ### BEGIN HIDDEN TESTS
    _x = np.arange(16.0).reshape(4, 4)
    assert np.allclose(corr2d(_x, np.array([[1.0, 0.0], [0.0, -1.0]])), -5.0 * np.ones((3, 3)))
    assert np.allclose(corr2d(_x, np.array([[0.0, 1.0]])), _x[:, 1:])
    assert np.asarray(corr2d(np.ones((6, 4)), np.ones((3, 2)))).shape == (4, 3)
    ### END HIDDEN TESTS
    """, "test_corr2d", points=3),
    markdown("""
    ## 2. Kernels from the lecture

    | name | what it does | weights |
    | --- | --- | --- |
    | `edge` | answers strongly where brightness changes, 0 on flat regions | $-1$ everywhere, $8$ in the centre |
    | `sharpen` | boosts the centre against its 4 direct neighbours | $5$ in the centre, $-1$ above, below, left, right, $0$ in the corners |
    | `box_blur` | average of the 3x3 neighbourhood | $\\tfrac{1}{9}$ everywhere |
    | `gaussian_blur` | weighted average: centre 4, edges 2, corners 1 | $\\tfrac{1}{16}$ times those |

    **Exercise 2.** Write `make_kernel(name)` returning the 3x3 kernel as a float array. Raise
    `ValueError` for a name it does not know.
    """, "md-kernels"),
    solution("""
    def make_kernel(name):
        \"\"\"Return the lecture's 3x3 kernel called `name`.\"\"\"
        ### BEGIN SOLUTION
        kernels = {
            "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
            "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
            "box_blur": np.ones((3, 3)) / 9.0,
            "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16.0,
        }
        if name not in kernels:
            raise ValueError(f"unknown kernel {name!r}; choose one of {sorted(kernels)}")
        return np.asarray(kernels[name], dtype=float)
        ### END SOLUTION
    """, "make_kernel"),
    tests("""
    checks.check_make_kernel(make_kernel)
    ### BEGIN HIDDEN TESTS
    assert np.allclose(make_kernel("edge"), [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    assert np.allclose(make_kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert np.allclose(make_kernel("box_blur"), np.full((3, 3), 1 / 9))
    assert np.allclose(make_kernel("gaussian_blur"), np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    ### END HIDDEN TESTS
    """, "test_make_kernel", points=2),
    markdown("""
    ### See them work

    Here is the camera-man photo, filtered by each of your kernels. The edge detector should light up
    outlines, sharpening should make the coat's texture crisper, and the blurs should soften it.
    """, "md-see"),
    code("""
    photo = data.sample_photo("camera")[::2, ::2]  # 256 x 256, grey, values in [0, 1]
    for name in ["edge", "sharpen", "box_blur", "gaussian_blur"]:
        try:
            k = make_kernel(name)
            fig = plots.show_kernel(photo, k, corr2d(photo, k), name=name)
            plt.show()
        except NotImplementedError:
            print("Write corr2d and make_kernel first.")
            break
    """),
    markdown("""
    ## 3. A convolutional layer

    A real layer works on a batch of images with several channels, and has many filters. With
    input `x` of shape `(N, H, W, C)` (channels last, as in Keras), weights `w` of shape `(F, F, C, K)`
    and biases `b` of shape `(K,)`, filter `k` at output position `(i, j)` of image `n` computes

    $$y[n, i, j, k] = b[k] + \\sum_{a, c, d} x_p[n,\\ iS + a,\\ jS + c,\\ d]\\; w[a, c, d, k]$$

    where $x_p$ is `x` with `pad` rows and columns of zeros added on every side of the two spatial
    axes and $S$ is the stride. The output has spatial size $(H - F + 2P)/S + 1$ (rounded down).

    **Exercise 3.** Write `conv2d_forward(x, w, b, stride=1, pad=0)`. (`np.pad` and
    `np.tensordot` help.)
    """, "md-conv"),
    solution("""
    def conv2d_forward(x, w, b, stride=1, pad=0):
        \"\"\"Forward pass of a convolutional layer, NHWC. Returns y of shape (N, H_out, W_out, K).\"\"\"
        ### BEGIN SOLUTION
        x = np.asarray(x, dtype=float)
        n, h, wd, c = x.shape
        f, _, _, k = w.shape
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        h_out = (h - f + 2 * pad) // stride + 1
        w_out = (wd - f + 2 * pad) // stride + 1
        y = np.empty((n, h_out, w_out, k))
        for i in range(h_out):
            for j in range(w_out):
                patch = xp[:, i * stride:i * stride + f, j * stride:j * stride + f, :]
                y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2])) + b
        return y
        ### END SOLUTION
    """, "conv2d_forward"),
    tests("""
    checks.check_conv2d_forward(conv2d_forward)
    ### BEGIN HIDDEN TESTS
    _x = np.ones((1, 4, 4, 2))
    _w = np.ones((3, 3, 2, 1))
    _y = conv2d_forward(_x, _w, np.array([0.5]), stride=1, pad=1)
    assert _y.shape == (1, 4, 4, 1)
    assert np.isclose(_y[0, 0, 0, 0], 8 + 0.5) and np.isclose(_y[0, 1, 1, 0], 18 + 0.5)
    assert conv2d_forward(np.zeros((2, 227, 227, 1))[:, :, :, :], np.zeros((11, 11, 1, 1)), np.zeros(1),
                          stride=4).shape == (2, 55, 55, 1)
    ### END HIDDEN TESTS
    """, "test_conv2d_forward", points=3),
    markdown("""
    ## 4. Pooling

    Pooling summarises each window of a feature map by one number: its maximum (`max`) or its mean
    (`avg`). It works on every channel separately and has no weights. With window `size` and
    `stride`, the output size is $(H - \\text{size})/\\text{stride} + 1$; when the stride is smaller
    than the window, windows overlap (AlexNet used size 3, stride 2).

    **Exercise 4.** Write `pool2d_forward(x, size, stride, mode)` for NHWC input, `mode` either
    `"max"` or `"avg"` (anything else: `ValueError`), no padding.
    """, "md-pool"),
    solution("""
    def pool2d_forward(x, size, stride, mode="max"):
        \"\"\"Max or average pooling of x (N, H, W, C) with square windows, no padding.\"\"\"
        ### BEGIN SOLUTION
        if mode not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
        x = np.asarray(x, dtype=float)
        n, h, w, c = x.shape
        h_out = (h - size) // stride + 1
        w_out = (w - size) // stride + 1
        reduce = np.max if mode == "max" else np.mean
        y = np.empty((n, h_out, w_out, c))
        for i in range(h_out):
            for j in range(w_out):
                window = x[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
                y[:, i, j, :] = reduce(window, axis=(1, 2))
        return y
        ### END SOLUTION
    """, "pool2d_forward"),
    tests("""
    checks.check_pool2d_forward(pool2d_forward)
    ### BEGIN HIDDEN TESTS
    _x = np.arange(16.0).reshape(1, 4, 4, 1)
    assert np.allclose(pool2d_forward(_x, 2, 2, "max")[0, :, :, 0], [[5, 7], [13, 15]])
    assert np.allclose(pool2d_forward(_x, 2, 2, "avg")[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert pool2d_forward(np.zeros((1, 55, 55, 3)), 3, 2, "max").shape == (1, 27, 27, 3)
    ### END HIDDEN TESTS
    """, "test_pool2d_forward", points=2),
    markdown("""
    ### What pooling does to a picture

    Max pooling keeps the strongest answer in every window: after an edge detector, edges survive
    pooling even though the map gets four times smaller.
    """, "md-pool-see"),
    code("""
    try:
        edges = np.abs(corr2d(photo, make_kernel("edge")))[None, :, :, None]
        pooled = pool2d_forward(edges, 2, 2, "max")
        fig = plots.image_grid([photo, edges[0], pooled[0]],
                               titles=["photo", "|edge| map", "after 2x2 max pool"], ncols=3, size=3)
        plt.show()
    except NotImplementedError:
        print("Write the functions above first.")
    """),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
