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


# ---------------------------------------------------------------- Exercise 5 (learn_kernel) and the questions
def _run_hidden(grade_id, **names):
    import sources

    exec(sources.hidden_tests("lab1-convolution", grade_id), {"np": np, "checks": lab1, **names})


def _descent(ref, *, sign=1.0, factor=2.0, mean=True, flipped=False, losses_after=False, size=None, error="residual"):
    """The reference learn_kernel with one mistake."""
    corr2d = ref["corr2d"]

    def learn_kernel(image, target, steps, lr):
        image, target = np.asarray(image, float), np.asarray(target, float)
        shape = size or (image.shape[0] - target.shape[0] + 1, image.shape[1] - target.shape[1] + 1)
        kernel, losses = np.zeros(shape), []
        for _ in range(steps):
            residual = corr2d(image, kernel) - target
            if not losses_after:
                losses.append(float(np.mean(residual**2)))
            error_map = {"residual": residual, "output": residual + target, "target": -target}[error]
            grad = factor / (target.size if mean else 1) * corr2d(image, error_map)
            kernel = kernel - sign * lr * (grad[::-1, ::-1] if flipped else grad)
            if losses_after:
                losses.append(float(np.mean((corr2d(image, kernel) - target) ** 2)))
        return kernel, losses

    return learn_kernel


WRONG_DESCENTS = {
    "up the gradient": (dict(sign=-1.0), "up the gradient"),
    "no factor 2": (dict(factor=1.0), "factor 2"),
    "sum instead of mean": (dict(mean=False), "MEAN"),
    "flipped gradient (a convolution)": (dict(flipped=True), "flipped"),
    "losses after each step": (dict(losses_after=True), "BEFORE each step"),
    "always 3x3": (dict(size=(3, 3)), "2x2 kernel|raised ValueError"),  # the shapes clash
    "output instead of the residual": (dict(error="output"), "kernel after 1 step"),  # never moves from zeros
    "target instead of the residual": (dict(error="target"), "kernel after 4 step"),  # right first step only
}


def test_reference_learn_kernel_passes_the_visible_and_hidden_tests(ref):
    lab1.check_learn_kernel(ref["learn_kernel"])
    _run_hidden("test_learn_kernel", learn_kernel=ref["learn_kernel"])


@pytest.mark.parametrize("name", sorted(WRONG_DESCENTS))
def test_wrong_learn_kernels_fail_with_their_own_message(ref, name):
    mistake, message = WRONG_DESCENTS[name]
    wrong = _descent(ref, **mistake)
    with pytest.raises(CheckFailed, match=message):
        lab1.check_learn_kernel(wrong)
    with pytest.raises(CheckFailed, match=r"Exercise 5 \(learn_kernel\): a hidden test failed"):
        _run_hidden("test_learn_kernel", learn_kernel=wrong)


def test_learn_kernel_may_not_use_scipy(ref):
    from scipy.signal import correlate2d

    def with_scipy(image, target, steps, lr):
        kernel, losses = np.zeros((image.shape[0] - target.shape[0] + 1, image.shape[1] - target.shape[1] + 1)), []
        for _ in range(steps):
            residual = correlate2d(image, kernel, mode="valid") - target
            losses.append(float(np.mean(residual**2)))
            kernel = kernel - lr * 2 / target.size * correlate2d(image, residual, mode="valid")
        return kernel, losses

    with pytest.raises(CheckFailed, match="scipy"):
        lab1.check_learn_kernel(with_scipy)


def test_the_questions_reference_answers_pass(ref):
    lab1.check_sharing(ref["conv_weights"], ref["dense_weights"])
    _run_hidden("test_sharing", conv_weights=ref["conv_weights"], dense_weights=ref["dense_weights"])
    lab1.check_stack_shape(ref["predicted_shape"])
    _run_hidden("test_stack_shape", predicted_shape=ref["predicted_shape"])
    # and the prediction is what the student's own layers produce
    x, w = np.random.default_rng(0).random((2, 32, 32, 3)), np.random.default_rng(1).normal(size=(5, 5, 3, 6))
    out = ref["pool2d_forward"](ref["conv2d_forward"](x, w, np.zeros(6), stride=1, pad=0), 2, 2, "max")
    assert out.shape == ref["predicted_shape"]


@pytest.mark.parametrize(
    "conv, dense, visible",
    [
        (72, 784 * 6272 + 6272, False),  # no biases in the convolution
        (80, 784 * 6272, False),  # no biases in the dense layer
        (80 * 784, 784 * 6272 + 6272, False),  # a kernel per position: no sharing
        (80, 784 * 8 + 8, False),  # a dense layer to 8 numbers (the channels), not to every output number
        (80.0, 784 * 6272 + 6272, True),  # a float count
        (4923520, 80, True),  # swapped
    ],
)
def test_wrong_sharing_answers_fail(conv, dense, visible):
    if visible:
        with pytest.raises(CheckFailed, match=r"Question 1"):
            lab1.check_sharing(conv, dense)
        return
    lab1.check_sharing(conv, dense)
    with pytest.raises(CheckFailed, match=r"Question 1 \(conv_weights, dense_weights\): a hidden test failed"):
        _run_hidden("test_sharing", conv_weights=conv, dense_weights=dense)


@pytest.mark.parametrize(
    "shape, visible",
    [
        ((2, 28, 28, 6), False),  # the pooling forgotten
        ((2, 14, 14, 3), False),  # the input's channels kept
        ((2, 16, 16, 6), False),  # "same" padding assumed
        ((14, 14, 6), True),  # the batch axis dropped
        ([2, 14, 14, 6], True),  # a list, not a tuple
    ],
)
def test_wrong_predicted_shapes_fail(shape, visible):
    if visible:
        with pytest.raises(CheckFailed, match=r"Question 2"):
            lab1.check_stack_shape(shape)
        return
    lab1.check_stack_shape(shape)
    with pytest.raises(CheckFailed, match=r"Question 2 \(predicted_shape\): a hidden test failed"):
        _run_hidden("test_stack_shape", predicted_shape=shape)
