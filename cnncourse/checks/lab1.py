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
}
BY_HAND = {"corr2d": LOOPS, "conv2d_forward": LOOPS, "pool2d_forward": LOOPS}
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
