"""Lab 1's checks pass the source notebook's solutions and fail plausible wrong answers.

The right answers are the source notebook's (:func:`sources.solutions`); each
wrong one is a mistake students make, most of them written as the reference
with that one mistake added.
"""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, NotAttempted
from cnncourse.checks import lab1


@pytest.fixture(scope="module")
def ref():
    import sources

    return sources.solutions("lab1-convolution")


def test_reference_answers_pass(ref, capsys):
    assert lab1.check_corr2d(ref["corr2d"]) is None
    assert lab1.check_make_kernel(ref["make_kernel"]) is None
    assert lab1.check_conv2d_forward(ref["conv2d_forward"]) is None
    assert lab1.check_pool2d_forward(ref["pool2d_forward"]) is None
    out = capsys.readouterr().out
    assert out.count("\u2714") == 4


def test_not_attempted_is_named():
    def todo(*a, **k):
        raise NotImplementedError()

    for check in (lab1.check_corr2d, lab1.check_make_kernel, lab1.check_conv2d_forward, lab1.check_pool2d_forward):
        with pytest.raises(NotAttempted):
            check(todo)


# ---------------------------------------------------------------- wrong answers
def test_flipped_kernel_is_called_out(ref):
    corr2d = ref["corr2d"]

    def true_convolution(image, kernel):
        return corr2d(image, kernel[::-1, ::-1])

    with pytest.raises(CheckFailed, match="kernel is flipped"):
        lab1.check_corr2d(true_convolution)


def test_off_by_one_output_size_fails(ref):
    corr2d = ref["corr2d"]

    def one_short(image, kernel):
        return corr2d(image, kernel)[:-1, :-1]

    with pytest.raises(CheckFailed, match="wrong shape"):
        lab1.check_corr2d(one_short)


def test_square_only_corr2d_fails(ref):
    corr2d = ref["corr2d"]

    def assumes_square(image, kernel):
        k = kernel.shape[0]
        return (
            corr2d(image, kernel[:k, :k])
            if kernel.shape[1] >= k
            else corr2d(image, np.pad(kernel, ((0, 0), (0, k - kernel.shape[1]))))
        )

    with pytest.raises(CheckFailed):
        lab1.check_corr2d(assumes_square)


def _centre(value):
    k = np.zeros((3, 3))
    k[1, 1] = value
    return k


@pytest.mark.parametrize(
    "name,bad",
    [
        ("edge", lambda kernel: kernel("edge") + _centre(1)),  # centre 9: sums to 1, not 0
        ("sharpen", lambda kernel: kernel("sharpen") - _centre(1)),  # centre 4: a Laplacian, sums to 0
        ("box_blur", lambda kernel: kernel("box_blur") * 9),  # not normalised
        ("gaussian_blur", lambda kernel: kernel("gaussian_blur") * 16),  # forgot the 1/16
        ("gaussian_blur", lambda kernel: kernel("box_blur")),  # a box blur, not Gaussian
        ("box_blur", lambda kernel: kernel("gaussian_blur")),  # Gaussian, not a box
    ],
    ids=[
        "edge-sums-to-1",
        "sharpen-is-laplacian",
        "box-not-normalised",
        "gaussian-not-divided",
        "gaussian-is-box",
        "box-is-gaussian",
    ],
)
def test_wrong_kernels_fail(ref, name, bad):
    make_kernel = ref["make_kernel"]

    def wrong(n):
        return bad(make_kernel) if n == name else make_kernel(n)

    with pytest.raises(CheckFailed):
        lab1.check_make_kernel(wrong)


def test_unknown_kernel_must_raise_value_error(ref):
    make_kernel = ref["make_kernel"]

    def lenient(name):
        try:
            return make_kernel(name)
        except ValueError:
            return np.zeros((3, 3))

    with pytest.raises(CheckFailed, match="should raise ValueError"):
        lab1.check_make_kernel(lenient)


def test_forgotten_bias_is_called_out(ref):
    conv2d_forward = ref["conv2d_forward"]
    with pytest.raises(CheckFailed, match="off by exactly the bias"):
        lab1.check_conv2d_forward(lambda x, w, b, stride=1, pad=0: conv2d_forward(x, w, b, stride, pad) - b)


def test_stride_ignored_fails(ref):
    conv2d_forward = ref["conv2d_forward"]
    with pytest.raises(CheckFailed, match="wrong shape"):
        lab1.check_conv2d_forward(lambda x, w, b, stride=1, pad=0: conv2d_forward(x, w, b, 1, pad))


def test_padding_on_one_side_only_fails(ref):
    conv2d_forward = ref["conv2d_forward"]

    def one_sided(x, w, b, stride=1, pad=0):
        xp = np.pad(x, ((0, 0), (pad, 0), (pad, 0), (0, 0)))
        return conv2d_forward(xp, w, b, stride, 0)

    with pytest.raises(CheckFailed):
        lab1.check_conv2d_forward(one_sided)


def test_padding_the_channel_axis_fails(ref):
    conv2d_forward = ref["conv2d_forward"]

    def pads_channels(x, w, b, stride=1, pad=0):
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        if pad:
            xp[..., 0] = np.pad(x[..., 0], ((0, 0), (pad, pad), (pad, pad)), constant_values=1.0)
        return conv2d_forward(xp, w, b, stride, 0)

    with pytest.raises(CheckFailed):
        lab1.check_conv2d_forward(pads_channels)


def test_non_overlapping_pooling_only_fails(ref):
    pool2d_forward = ref["pool2d_forward"]
    with pytest.raises(CheckFailed):
        lab1.check_pool2d_forward(lambda x, size, stride, mode="max": pool2d_forward(x, size, size, mode))


def test_pooling_across_channels_fails(ref):
    pool2d_forward = ref["pool2d_forward"]

    def mixes_channels(x, size, stride, mode="max"):
        out = pool2d_forward(x, size, stride, mode)
        return np.repeat(out.max(axis=-1, keepdims=True), x.shape[-1], axis=-1) if mode == "max" else out

    with pytest.raises(CheckFailed):
        lab1.check_pool2d_forward(mixes_channels)


def test_unknown_pool_mode_must_raise(ref):
    pool2d_forward = ref["pool2d_forward"]

    def defaults_to_max(x, size, stride, mode="max"):
        return pool2d_forward(x, size, stride, "avg" if mode == "avg" else "max")

    with pytest.raises(CheckFailed, match="mode='median'"):
        lab1.check_pool2d_forward(defaults_to_max)
