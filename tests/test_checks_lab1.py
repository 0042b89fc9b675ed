"""Lab 1's checks pass right answers and fail plausible wrong ones.

Right answers live here (tests are not shipped to students); each wrong one
is a mistake students make.
"""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, NotAttempted
from cnncourse.checks import lab1


# ---------------------------------------------------------------- reference answers
def corr2d(image, kernel):
    from numpy.lib.stride_tricks import sliding_window_view

    return np.einsum("ijab,ab->ij", sliding_window_view(np.asarray(image, float), kernel.shape), kernel)


KERNELS = {
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
    "box_blur": np.full((3, 3), 1 / 9),
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
}


def make_kernel(name):
    if name not in KERNELS:
        raise ValueError(name)
    return KERNELS[name].copy()


def conv2d_forward(x, w, b, stride=1, pad=0):
    from numpy.lib.stride_tricks import sliding_window_view

    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    win = sliding_window_view(xp, w.shape[:2], axis=(1, 2))[:, ::stride, ::stride]  # N,Ho,Wo,C,F,F
    return np.einsum("nhwcij,ijck->nhwk", win, w) + b


def pool2d_forward(x, size, stride, mode="max"):
    from numpy.lib.stride_tricks import sliding_window_view

    if mode not in ("max", "avg"):
        raise ValueError(mode)
    win = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return win.max(axis=(-2, -1)) if mode == "max" else win.mean(axis=(-2, -1))


def test_reference_answers_pass(capsys):
    assert lab1.check_corr2d(corr2d) is None
    assert lab1.check_make_kernel(make_kernel) is None
    assert lab1.check_conv2d_forward(conv2d_forward) is None
    assert lab1.check_pool2d_forward(pool2d_forward) is None
    out = capsys.readouterr().out
    assert out.count("\u2714") == 4


def test_not_attempted_is_named():
    def todo(*a, **k):
        raise NotImplementedError()

    for check in (lab1.check_corr2d, lab1.check_make_kernel, lab1.check_conv2d_forward, lab1.check_pool2d_forward):
        with pytest.raises(NotAttempted):
            check(todo)


# ---------------------------------------------------------------- wrong answers
def test_flipped_kernel_is_called_out():
    def true_convolution(image, kernel):
        return corr2d(image, kernel[::-1, ::-1])

    with pytest.raises(CheckFailed, match="kernel is flipped"):
        lab1.check_corr2d(true_convolution)


def test_off_by_one_output_size_fails():
    def one_short(image, kernel):
        return corr2d(image, kernel)[:-1, :-1]

    with pytest.raises(CheckFailed, match="wrong shape"):
        lab1.check_corr2d(one_short)


def test_square_only_corr2d_fails():
    def assumes_square(image, kernel):
        k = kernel.shape[0]
        return corr2d(image, kernel[:k, :k]) if kernel.shape[1] >= k else corr2d(image, np.pad(kernel, ((0, 0), (0, k - kernel.shape[1]))))

    with pytest.raises(CheckFailed):
        lab1.check_corr2d(assumes_square)


@pytest.mark.parametrize("name,bad", [
    ("edge", np.array([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]], float)),      # sums to 1, not 0
    ("sharpen", np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], float)),       # a Laplacian, sums to 0
    ("box_blur", np.ones((3, 3))),                                             # not normalised
    ("gaussian_blur", np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float)),     # forgot the 1/16
    ("gaussian_blur", np.full((3, 3), 1 / 9)),                                 # a box blur, not Gaussian
    ("box_blur", np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16),            # Gaussian, not a box
])
def test_wrong_kernels_fail(name, bad):
    def wrong(n):
        return bad.copy() if n == name else make_kernel(n)

    with pytest.raises(CheckFailed):
        lab1.check_make_kernel(wrong)


def test_unknown_kernel_must_raise_value_error():
    def lenient(name):
        return KERNELS.get(name, np.zeros((3, 3)))

    with pytest.raises(CheckFailed, match="should raise ValueError"):
        lab1.check_make_kernel(lenient)


def test_forgotten_bias_is_called_out():
    with pytest.raises(CheckFailed, match="off by exactly the bias"):
        lab1.check_conv2d_forward(lambda x, w, b, stride=1, pad=0: conv2d_forward(x, w, b, stride, pad) - b)


def test_stride_ignored_fails():
    with pytest.raises(CheckFailed, match="wrong shape"):
        lab1.check_conv2d_forward(lambda x, w, b, stride=1, pad=0: conv2d_forward(x, w, b, 1, pad))


def test_padding_on_one_side_only_fails():
    def one_sided(x, w, b, stride=1, pad=0):
        xp = np.pad(x, ((0, 0), (pad, 0), (pad, 0), (0, 0)))
        return conv2d_forward(xp, w, b, stride, 0)

    with pytest.raises(CheckFailed):
        lab1.check_conv2d_forward(one_sided)


def test_padding_the_channel_axis_fails():
    def pads_channels(x, w, b, stride=1, pad=0):
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        if pad:
            xp[..., 0] = np.pad(x[..., 0], ((0, 0), (pad, pad), (pad, pad)), constant_values=1.0)
        return conv2d_forward(xp, w, b, stride, 0)

    with pytest.raises(CheckFailed):
        lab1.check_conv2d_forward(pads_channels)


def test_non_overlapping_pooling_only_fails():
    with pytest.raises(CheckFailed):
        lab1.check_pool2d_forward(lambda x, size, stride, mode="max": pool2d_forward(x, size, size, mode))


def test_pooling_across_channels_fails():
    def mixes_channels(x, size, stride, mode="max"):
        out = pool2d_forward(x, size, stride, mode)
        return np.repeat(out.max(axis=-1, keepdims=True), x.shape[-1], axis=-1) if mode == "max" else out

    with pytest.raises(CheckFailed):
        lab1.check_pool2d_forward(mixes_channels)


def test_unknown_pool_mode_must_raise():
    def defaults_to_max(x, size, stride, mode="max"):
        return pool2d_forward(x, size, stride, "avg" if mode == "avg" else "max")

    with pytest.raises(CheckFailed, match="mode='median'"):
        lab1.check_pool2d_forward(defaults_to_max)
