"""Checks for Lab 1, convolution by hand.

The oracles are independent implementations: SciPy's ``correlate2d`` and
TensorFlow's ``tf.nn.conv2d`` / ``tf.nn.max_pool2d`` / ``tf.nn.avg_pool2d``.
Inputs are random with a fixed seed, so a student sees the same case every
time they run the cell. Each exercise but ``make_kernel`` is done by hand
(:data:`~cnncourse.checks.by_hand.LOOPS`): the library functions the checks
compare with are refused inside the student's function, and the hidden tests,
run through :func:`hidden`, use other shapes and values than these.
"""

from __future__ import annotations

import numpy as np

from .by_hand import LOOPS, by_hand
from .core import CheckFailed, call, expect_array, expect_raises, passed
from .hidden import hidden_for

KERNEL_NAMES = ("edge", "sharpen", "box_blur", "gaussian_blur")

EXERCISES = {
    "corr2d": "Exercise 1 (corr2d)",
    "make_kernel": "Exercise 2 (make_kernel)",
    "conv2d_forward": "Exercise 3 (conv2d_forward)",
    "pool2d_forward": "Exercise 4 (pool2d_forward)",
    "learn_kernel": "Exercise 5 (learn_kernel)",
    "sharing": "Question 1 (conv_weights, dense_weights)",
    "stack_shape": "Question 2 (predicted_shape)",
}
BY_HAND = {"corr2d": LOOPS, "conv2d_forward": LOOPS, "pool2d_forward": LOOPS, "learn_kernel": LOOPS}
hidden = hidden_for(EXERCISES, BY_HAND)


def _rng(seed=1):
    return np.random.default_rng(seed)


def check_corr2d(corr2d, seed=1):
    """Check ``corr2d`` against SciPy's valid 2-D cross-correlation.

    Five random image/kernel pairs (a 1x1 kernel and a kernel as large as the
    image among them) are compared with ``scipy.signal.correlate2d(image,
    kernel, mode="valid")``. A result that is the true convolution (the
    kernel flipped) is told as such.

    Args:
        corr2d: the student's ``corr2d(image, kernel)``, held to the
            :data:`~cnncourse.checks.by_hand.LOOPS` rules.
        seed: the seed of the random cases (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: the function calls what the exercise forbids
            (:data:`~cnncourse.checks.by_hand.LOOPS`).
        CheckFailed: a case gives a wrong result, or the function crashes.

    Example:
        >>> check_corr2d(corr2d)  # doctest: +SKIP
        ✔ Exercise 1 (corr2d): matches scipy.signal.correlate2d on 5 cases
    """
    from scipy.signal import correlate2d

    ex = EXERCISES["corr2d"]
    corr2d = by_hand(ex, corr2d, LOOPS)
    rng = _rng(seed)
    cases = [((5, 5), (3, 3)), ((7, 6), (2, 3)), ((4, 4), (1, 1)), ((6, 9), (4, 2)), ((3, 3), (3, 3))]
    for img_shape, k_shape in cases:
        image = rng.normal(size=img_shape)
        kernel = rng.normal(size=k_shape)
        got = call(ex, corr2d, image, kernel)
        expected = correlate2d(image, kernel, mode="valid")
        flipped = correlate2d(image, kernel[::-1, ::-1], mode="valid")
        if (
            got is not None
            and np.shape(got) == expected.shape
            and not np.allclose(got, expected)
            and np.allclose(got, flipped)
        ):
            raise CheckFailed(
                ex,
                "your result is a true convolution (the kernel is flipped).",
                hint="Deep-learning 'convolution' is cross-correlation: multiply "
                "image[i + a, j + b] by kernel[a, b] without flipping the kernel.",
            )
        expect_array(
            ex,
            got,
            expected,
            what=f"output for a {img_shape} image and a {k_shape} kernel",
            hint="The output of a valid correlation has shape (H - kh + 1, W - kw + 1).",
        )
    passed(ex, f"matches scipy.signal.correlate2d on {len(cases)} cases")


def check_make_kernel(make_kernel):
    """Check ``make_kernel`` by the properties that pin down each lecture kernel, stated in words.

    For ``"edge"``, ``"sharpen"``, ``"box_blur"`` and ``"gaussian_blur"``:
    a symmetric 3x3 array; weights summing to 0 (edge) or 1 (the others);
    a box blur of equal non-negative weights; a Gaussian weighing centre,
    edges and corners 4 : 2 : 1; an edge detector with a positive centre and
    -1 on all eight neighbours; a sharpen kernel with a centre above 1, -1 on
    the four direct neighbours and 0 in the corners. An unknown name must
    raise ``ValueError``.

    Args:
        make_kernel: the student's ``make_kernel(name)``.

    Returns:
        None; prints a ✔ line when all four kernels are right.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        CheckFailed: a kernel breaks one of the properties, an unknown name
            does not raise ``ValueError``, or the function crashes.
    """
    ex = EXERCISES["make_kernel"]
    kernels = {}
    for name in KERNEL_NAMES:
        k = call(ex, make_kernel, name)
        k = np.asarray(k, dtype=float) if k is not None else None
        if k is None or k.shape != (3, 3):
            raise CheckFailed(
                ex,
                f"make_kernel({name!r}) should be a 3x3 array.",
                expected=(3, 3),
                found=None if k is None else k.shape,
            )
        if not np.allclose(k, k.T) or not np.allclose(k, k[::-1, ::-1]):
            raise CheckFailed(ex, f"the {name} kernel of the lecture is symmetric; yours is not.", found=k)
        kernels[name] = k
    sums = {"edge": 0.0, "sharpen": 1.0, "box_blur": 1.0, "gaussian_blur": 1.0}
    for name, total in sums.items():
        if not np.isclose(kernels[name].sum(), total):
            why = (
                "an edge detector answers 0 on a flat region"
                if name == "edge"
                else "it must keep the brightness of a flat region"
            )
            raise CheckFailed(
                ex,
                f"the weights of {name} should sum to {total:g} ({why}).",
                expected=total,
                found=float(kernels[name].sum()),
            )
    if not (kernels["box_blur"] >= 0).all() or not np.allclose(kernels["box_blur"], kernels["box_blur"][0, 0]):
        raise CheckFailed(ex, "a box blur gives every neighbour the same weight.", found=kernels["box_blur"])
    g = kernels["gaussian_blur"]
    if not (g[1, 1] > g[0, 1] > g[0, 0] > 0):
        raise CheckFailed(ex, "a Gaussian blur weighs the centre most, then edge neighbours, then corners.", found=g)
    if not (np.isclose(g[1, 1], 2 * g[0, 1]) and np.isclose(g[0, 1], 2 * g[0, 0])):
        raise CheckFailed(ex, "the lecture's Gaussian weighs centre, edges and corners 4 : 2 : 1.", found=g)
    if kernels["edge"][1, 1] <= 0 or (kernels["edge"] > 0).sum() != 1:
        raise CheckFailed(ex, "the edge detector has one positive weight, in the centre.", found=kernels["edge"])
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    if not np.allclose(kernels["edge"][ring], -1):
        raise CheckFailed(
            ex,
            "the lecture's edge detector weighs all eight neighbours alike, -1 each "
            "(a kernel with 0 in the corners is another edge detector, not this one).",
            found=kernels["edge"],
        )
    s = kernels["sharpen"]
    if s[1, 1] <= 1:
        raise CheckFailed(ex, "sharpening boosts the centre pixel above 1.", found=s)
    if not np.allclose(s[[0, 0, 2, 2], [0, 2, 0, 2]], 0) or not np.allclose(s[[0, 1, 1, 2], [1, 0, 2, 1]], -1):
        raise CheckFailed(
            ex,
            "the lecture's sharpen kernel uses the four direct neighbours (-1 each) and leaves the corners at 0.",
            found=s,
        )
    expect_raises(
        ex,
        ValueError,
        make_kernel,
        "emboss",
        what="an unknown kernel name",
        hint="Raise ValueError naming the kernels you know.",
    )
    passed(ex, "all four kernels have the lecture's shape, symmetry, sums and weights")


def _tf_conv(x, w, b, stride, pad):
    import tensorflow as tf

    padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    out = tf.nn.conv2d(tf.constant(x), tf.constant(w), strides=stride, padding=padding)
    return out.numpy() + b


def check_conv2d_forward(conv2d_forward, seed=2):
    """Check ``conv2d_forward`` (NHWC) against ``tf.nn.conv2d`` plus the bias.

    Six random cases, strides 1 to 3 and padding 0 to 2. A result off by
    exactly the bias is told as such.

    Args:
        conv2d_forward: the student's ``conv2d_forward(x, w, b, stride=1,
            pad=0)``, with ``x`` of shape ``(N, H, W, C)``, ``w`` of shape
            ``(F, F, C, K)`` and ``b`` of shape ``(K,)``; held to the
            :data:`~cnncourse.checks.by_hand.LOOPS` rules.
        seed: the seed of the random cases (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: the function calls what the exercise forbids
            (:data:`~cnncourse.checks.by_hand.LOOPS`).
        CheckFailed: a case gives a wrong result, or the function crashes.
    """
    ex = EXERCISES["conv2d_forward"]
    conv2d_forward = by_hand(ex, conv2d_forward, LOOPS)
    rng = _rng(seed)
    cases = [  # (N, H, W, C), (F, K), stride, pad
        ((2, 5, 5, 1), (3, 1), 1, 0),
        ((2, 7, 7, 3), (3, 4), 1, 1),
        ((1, 7, 7, 2), (3, 2), 2, 0),
        ((3, 9, 8, 3), (3, 5), 3, 1),
        ((2, 6, 6, 4), (1, 3), 1, 0),
        ((1, 8, 8, 3), (5, 2), 2, 2),
    ]
    for (n, h, w_, c), (f, k), stride, pad in cases:
        x = rng.normal(size=(n, h, w_, c))
        w = rng.normal(size=(f, f, c, k))
        b = rng.normal(size=(k,))
        got = call(ex, conv2d_forward, x, w, b, stride=stride, pad=pad)
        expected = _tf_conv(x, w, b, stride, pad)
        what = f"output for x{x.shape}, w{w.shape}, stride={stride}, pad={pad}"
        if got is not None and np.shape(got) == expected.shape and np.allclose(got, expected - b):
            raise CheckFailed(
                ex, f"the {what} is off by exactly the bias.", hint="Add b[k] to every output of filter k."
            )
        expect_array(
            ex,
            got,
            expected,
            atol=1e-6,
            what=what,
            hint="Output size is (H - F + 2P) // S + 1; pad only the two spatial axes.",
        )
    passed(ex, f"matches tf.nn.conv2d on {len(cases)} cases (strides 1-3, padding 0-2)")


def check_pool2d_forward(pool2d_forward, seed=3):
    """Check ``pool2d_forward`` against TensorFlow's max and average pooling.

    Six shapes per mode, overlapping windows and windows that leave pixels
    over included (``padding="VALID"``: a window that does not fit is
    dropped). A mode other than ``"max"`` or ``"avg"`` (``"median"``) must
    raise ``ValueError``.

    Args:
        pool2d_forward: the student's ``pool2d_forward(x, size, stride,
            mode="max")``, with ``x`` of shape ``(N, H, W, C)``; held to the
            :data:`~cnncourse.checks.by_hand.LOOPS` rules.
        seed: the seed of the random inputs (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case matches.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: the function calls what the exercise forbids
            (:data:`~cnncourse.checks.by_hand.LOOPS`).
        CheckFailed: a case gives a wrong result, or the function crashes.
    """
    import tensorflow as tf

    ex = EXERCISES["pool2d_forward"]
    pool2d_forward = by_hand(ex, pool2d_forward, LOOPS)
    rng = _rng(seed)
    # the last two leave pixels over: a window that does not fit is dropped, not kept partial
    cases = [
        ((2, 4, 4, 1), 2, 2),
        ((1, 6, 6, 3), 2, 2),
        ((2, 7, 7, 2), 3, 2),
        ((1, 5, 8, 2), 3, 1),
        ((1, 5, 5, 2), 2, 2),
        ((2, 8, 7, 1), 3, 3),
    ]
    for mode, op in (("max", tf.nn.max_pool2d), ("avg", tf.nn.avg_pool2d)):
        for shape, size, stride in cases:
            x = rng.normal(size=shape)
            got = call(ex, pool2d_forward, x, size, stride, mode)
            expected = op(tf.constant(x), ksize=size, strides=stride, padding="VALID").numpy()
            expect_array(
                ex,
                got,
                expected,
                what=f"{mode} pooling of x{shape} with size={size}, stride={stride}",
                hint="Windows may overlap when stride < size; pool each channel separately; "
                "the output has (H - size) // stride + 1 rows: a window that would hang "
                "over the edge is left out.",
            )
    expect_raises(
        ex,
        ValueError,
        pool2d_forward,
        rng.normal(size=(1, 4, 4, 1)),
        2,
        2,
        "median",
        what="mode='median'",
        hint="Raise ValueError for a mode other than 'max' or 'avg'.",
    )
    passed(ex, "max and average pooling match TensorFlow, overlapping and uneven windows included")


# --------------------------------------------------------------------------
# Exercise 5: learning a kernel by gradient descent
# --------------------------------------------------------------------------
def _tf_descent(image, target, steps, lr):
    """Gradient descent on a kernel from zeros, by TensorFlow's own gradients: (kernel, losses)."""
    import tensorflow as tf

    x = tf.constant(np.asarray(image, float)[None, :, :, None])
    t = tf.constant(np.asarray(target, float))
    shape = (image.shape[0] - target.shape[0] + 1, image.shape[1] - target.shape[1] + 1, 1, 1)
    k = tf.Variable(tf.zeros(shape, tf.float64))
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((tf.nn.conv2d(x, k, 1, "VALID")[0, :, :, 0] - t) ** 2)
        losses.append(float(loss))
        k.assign_sub(lr * tape.gradient(loss, k))
    return k.numpy()[:, :, 0, 0], losses


def _learned(ex, learn_kernel, image, target, steps, lr):
    got = call(ex, learn_kernel, image, target, steps, lr)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise CheckFailed(ex, "return a pair (kernel, losses).", found=type(got).__name__)
    kernel, losses = got
    return np.asarray(kernel, dtype=float), np.asarray(losses, dtype=float).ravel()


SOBEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
"""An asymmetric kernel: a gradient flipped into a convolution shows on it."""


def check_learn_kernel(learn_kernel, seed=5):
    """Check ``learn_kernel`` against gradient descent run by TensorFlow, then on recovering a kernel.

    On a random image filtered by an asymmetric kernel, one and then four
    steps from zeros must give TensorFlow's kernel (``tf.GradientTape`` on
    ``tf.nn.conv2d``) and its losses; the usual mistakes (the gradient's
    sign, its factor 2, a sum instead of the mean, the image and the residual
    swapped into a convolution) are told as such. Then, on a standardised
    random image, enough steps must recover the edge kernel that filtered it,
    and a 2x2 kernel must come out 2x2 (its size is the image's minus the
    target's, plus one).

    Args:
        learn_kernel: the student's ``learn_kernel(image, target, steps,
            lr)``, returning ``(kernel, losses)``.
        seed: the seed of the images (the hidden tests use others).

    Returns:
        None; prints a ✔ line when every case holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls what the exercise forbids.
        CheckFailed: it crashes, or a kernel or a loss is wrong.
    """
    ex = EXERCISES["learn_kernel"]
    learn_kernel = by_hand(ex, learn_kernel, LOOPS)
    rng = _rng(seed)
    image = rng.random((9, 11))
    from scipy.signal import correlate2d

    target = correlate2d(image, SOBEL, mode="valid")
    for steps in (1, 4):
        want_k, want_losses = _tf_descent(image, target, steps, 0.01)
        got_k, got_losses = _learned(ex, learn_kernel, image, target, steps, 0.01)
        if got_k.shape != want_k.shape:
            raise CheckFailed(
                ex,
                "the kernel's size is the image's minus the target's, plus one.",
                expected=want_k.shape,
                found=got_k.shape,
            )
        if steps == 1 and not np.allclose(got_k, want_k, rtol=1e-6, atol=1e-12):
            first = -want_k  # after one step from zeros the kernel is -lr times the gradient
            for factor, why in (
                (-1.0, "your step goes up the gradient: subtract lr times the gradient."),
                (0.5, "your step is half the right one: the gradient of a mean of squares has a factor 2."),
                (float(target.size), "your step is N times too large: the loss is the MEAN of the squared errors."),
            ):
                if np.allclose(got_k, -factor * first, rtol=1e-6):
                    raise CheckFailed(
                        ex, why, hint="dL/dK = (2/N) * corr2d(image, residual), residual = output - target."
                    )
            if np.allclose(got_k, want_k[::-1, ::-1], rtol=1e-6):
                raise CheckFailed(
                    ex,
                    "your gradient is flipped: it is a convolution, not a cross-correlation, of the image with the "
                    "residual.",
                    hint="dL/dK[a, b] = (2/N) * sum over i, j of residual[i, j] * image[i + a, j + b]: corr2d(image, residual).",
                )
        expect_array(ex, got_k, want_k, rtol=1e-6, atol=1e-12, what=f"kernel after {steps} step(s) from zeros")
        expect_array(
            ex,
            got_losses,
            want_losses,
            rtol=1e-6,
            atol=1e-12,
            what=f"losses of {steps} step(s) (the loss BEFORE each step)",
            hint="Record the mean squared error before each update: losses[0] is the loss of the all-zero kernel.",
        )
    noise = rng.standard_normal((12, 12))
    edge = np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])
    kernel, losses = _learned(ex, learn_kernel, noise, correlate2d(noise, edge, mode="valid"), 60, 0.25)
    if kernel.shape != (3, 3) or not np.allclose(kernel, edge, atol=1e-3):
        raise CheckFailed(
            ex,
            "60 steps of lr 0.25 on a 12x12 random image should recover the edge kernel that filtered it.",
            found=np.round(kernel, 3).tolist() if kernel.shape == (3, 3) else kernel.shape,
        )
    small, _ = _learned(ex, learn_kernel, noise, correlate2d(noise, np.ones((2, 2)), mode="valid"), 1, 0.1)
    if small.shape != (2, 2):
        raise CheckFailed(
            ex, "a 12x12 image and an 11x11 target come from a 2x2 kernel.", expected=(2, 2), found=small.shape
        )
    passed(ex, "matches TensorFlow's gradient descent and recovers the edge kernel from 12x12 random pixels")


# --------------------------------------------------------------------------
# Questions
# --------------------------------------------------------------------------
def _whole(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_sharing(conv_weights, dense_weights):
    """Check the form of Question 1's answers (the hidden test checks their values).

    Args:
        conv_weights: the student's parameter count of the convolutional layer.
        dense_weights: the student's parameter count of the dense layer.

    Returns:
        None; prints a ✔ line when both are whole numbers and the dense layer
        has more.

    Raises:
        CheckFailed: an answer is not a whole number, or the dense layer does
            not have more parameters.
    """
    ex = EXERCISES["sharing"]
    for name, value in (("conv_weights", conv_weights), ("dense_weights", dense_weights)):
        if not _whole(value) or value <= 0:
            raise CheckFailed(ex, f"{name} should be a positive whole number (a count of parameters).", found=value)
    if not dense_weights > conv_weights:
        raise CheckFailed(
            ex,
            "the dense layer connects every input pixel to every output number: it cannot have fewer parameters "
            "than the convolution, which reuses one small kernel everywhere.",
            found=(conv_weights, dense_weights),
        )
    passed(ex, f"the dense layer needs {dense_weights / conv_weights:,.0f} times as many (the hidden test checks both)")


def check_stack_shape(predicted_shape):
    """Check the form of Question 2's answer (the hidden test checks it against the student's own functions).

    Args:
        predicted_shape: the student's predicted output shape, a tuple of 4
            whole numbers ``(N, H, W, C)``.

    Returns:
        None; prints a ✔ line when the answer is an NHWC shape.

    Raises:
        CheckFailed: the answer is not a tuple of four positive whole numbers.
    """
    ex = EXERCISES["stack_shape"]
    if (
        not isinstance(predicted_shape, tuple)
        or len(predicted_shape) != 4
        or not all(_whole(v) and v > 0 for v in predicted_shape)
    ):
        raise CheckFailed(
            ex, "predicted_shape should be a tuple of 4 positive whole numbers, (N, H, W, C).", found=predicted_shape
        )
    passed(ex, "an (N, H, W, C) shape (the hidden test checks its value)")
