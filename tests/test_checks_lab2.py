"""Lab 2 checks: right answers pass, plausible wrong answers fail."""

import math

import pytest

from cnncourse.checks import CheckFailed, lab2
from cnncourse.checks.core import NotAttempted


# --------------------------------------------------------------------------
# Right answers (tests are not shipped to students)
# --------------------------------------------------------------------------
def conv_output_size(n, f, stride=1, pad=0, dilation=1):
    eff = dilation * (f - 1) + 1
    if pad == "same":
        return -(-n // stride)
    if pad == "valid":
        if eff > n:
            raise ValueError("filter larger than input")
        return (n - eff) // stride + 1
    span = n - eff + 2 * pad
    if span < 0 or span % stride:
        raise ValueError("does not fit")
    return span // stride + 1


def conv_params(f, d_in, k, bias=True):
    return (f * f * d_in + int(bias)) * k


def dense_params(n_in, n_out, bias=True):
    return (n_in + int(bias)) * n_out


def model_table(spec, input_shape):
    h, w, d = input_shape
    rows = []
    for layer in spec:
        if layer[0] == "conv":
            _, k, f, s, p = layer
            h, w = conv_output_size(h, f, s, p), conv_output_size(w, f, s, p)
            rows.append(((h, w, k), conv_params(f, d, k)))
            d = k
        elif layer[0] == "pool":
            _, size, s = layer
            h, w = (h - size) // s + 1, (w - size) // s + 1
            rows.append(((h, w, d), 0))
        elif layer[0] == "flatten":
            h, w, d = 1, 1, h * w * d
            rows.append(((d,), 0))
        else:
            rows.append(((layer[1],), dense_params(d, layer[1])))
            d = layer[1]
    return rows


def bottleneck_params(d_in, k, f=3, reduce=None):
    if reduce is None:
        return f * f * d_in * k
    return d_in * reduce + f * f * reduce * k


def inception_output_shape(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
    return (size, size, n1x1 + n3x3 + n5x5 + (pool_proj or d_in))


def inception_multiplies(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
    hw = size * size
    total = hw * n1x1 * d_in
    total += hw * (reduce3 * d_in + 9 * reduce3 * n3x3) if reduce3 else hw * 9 * d_in * n3x3
    total += hw * (reduce5 * d_in + 25 * reduce5 * n5x5) if reduce5 else hw * 25 * d_in * n5x5
    if pool_proj:
        total += hw * pool_proj * d_in
    return total


def separable_params(f, d_in, k, depth_multiplier=1, bias=True):
    return f * f * d_in * depth_multiplier + d_in * depth_multiplier * k + (k if bias else 0)


def separable_ratio(f, d_in, k):
    return separable_params(f, d_in, k, bias=False) / conv_params(f, d_in, k, bias=False)


def receptive_field(layers):
    r, jump = 1, 1
    for f, s in layers:
        r += (f - 1) * jump
        jump *= s
    return r


def fire_filters(expand, sr, pct3x3):
    if not 0 < sr <= 1 or not 0 <= pct3x3 <= 1:
        raise ValueError("bad ratio")
    e3 = round(pct3x3 * expand)
    return round(sr * expand), expand - e3, e3


def fire_params(d_in, s1x1, e1x1, e3x3):
    return conv_params(1, d_in, s1x1) + conv_params(1, s1x1, e1x1) + conv_params(3, s1x1, e3x3)


# --------------------------------------------------------------------------
# Right answers pass, and reproduce the lecture's numbers
# --------------------------------------------------------------------------
def test_right_answers_pass(capsys):
    assert lab2.check_conv_output_size(conv_output_size) is None
    assert lab2.check_layer_params(conv_params, dense_params) is None
    assert lab2.check_model_table(model_table) is None
    assert lab2.check_bottleneck_params(bottleneck_params) is None
    assert lab2.check_inception(inception_output_shape, inception_multiplies) is None
    assert lab2.check_separable(separable_params, separable_ratio) is None
    assert lab2.check_receptive_field(receptive_field) is None
    assert lab2.check_fire(fire_filters, fire_params) is None
    assert capsys.readouterr().out.count("\u2714") == 8


def test_lecture_numbers():
    assert conv_output_size(227, 11, 4) == 55
    assert [conv_output_size(7, 3, s) for s in (1, 2)] == [5, 3]
    assert conv_params(5, 3, 10) == 760
    assert [bottleneck_params(256, 32), bottleneck_params(256, 32, reduce=128),
            bottleneck_params(256, 32, reduce=64)] == [73728, 69632, 34816]
    assert inception_output_shape(28, 256, 128, 192, 96) == (28, 28, 672)
    assert round(inception_multiplies(28, 256, 128, 192, 96) / 1e6) == 854
    assert inception_output_shape(28, 256, 128, 192, 96, 64, 64, 64) == (28, 28, 480)
    # The slide says 358M; the sum of its own six terms is 271M (it counts the 3x3 branch twice).
    assert round(inception_multiplies(28, 256, 128, 192, 96, 64, 64, 64) / 1e6) == 271
    assert sum(p for _, p in model_table(lab2.LENET5, (28, 28, 1))) == 61706
    assert receptive_field([(3, 1)] * 2) == 5 and receptive_field([(3, 1)] * 3) == 7
    assert fire_filters(128, 0.125, 0.5) == (16, 64, 64) and fire_params(96, 16, 64, 64) == 11920


def test_oracles_agree_with_the_lecture():
    assert lab2.keras_conv_output(227, 11, 4) == 55
    assert lab2.keras_conv_params(5, 3, 10) == 760
    assert lab2.measured_receptive_field([(3, 1)] * 3) == 7
    assert lab2.keras_conv_multiplies(lab2.keras_inception(28, 256, 128, 192, 96)) == 854196224


# --------------------------------------------------------------------------
# Plausible wrong answers fail
# --------------------------------------------------------------------------
def _fails(check, *fns, match=None):
    with pytest.raises(CheckFailed, match=match):
        check(*fns)


def test_conv_output_size_wrong_answers():
    def pad_once(n, f, stride=1, pad=0, dilation=1):
        if isinstance(pad, str):
            return conv_output_size(n, f, stride, pad, dilation)
        return (n - dilation * (f - 1) - 1 + pad) // stride + 1

    def division_misplaced(n, f, stride=1, pad=0, dilation=1):
        if isinstance(pad, str):
            return conv_output_size(n, f, stride, pad, dilation)
        return n - (dilation * (f - 1) + 1) + 2 * pad // stride + 1

    def no_error(n, f, stride=1, pad=0, dilation=1):
        if isinstance(pad, str):
            return conv_output_size(n, f, stride, pad, dilation)
        return (n - dilation * (f - 1) - 1 + 2 * pad) // stride + 1

    def ignores_dilation(n, f, stride=1, pad=0, dilation=1):
        return conv_output_size(n, f, stride, pad, 1)

    def same_ignores_stride(n, f, stride=1, pad=0, dilation=1):
        return n if pad == "same" else conv_output_size(n, f, stride, pad, dilation)

    def valid_strict(n, f, stride=1, pad=0, dilation=1):
        return conv_output_size(n, f, stride, 0 if pad == "valid" else pad, dilation)

    def float_result(n, f, stride=1, pad=0, dilation=1):
        out = conv_output_size(n, f, stride, pad, dilation)
        return (n - f + 2 * pad) / stride + 1.5 if not isinstance(pad, str) else out

    _fails(lab2.check_conv_output_size, pad_once, match="2P")
    _fails(lab2.check_conv_output_size, division_misplaced)
    _fails(lab2.check_conv_output_size, no_error, match="ValueError")
    _fails(lab2.check_conv_output_size, ignores_dilation, match="dilation")
    _fails(lab2.check_conv_output_size, same_ignores_stride, match="same")
    _fails(lab2.check_conv_output_size, valid_strict)
    _fails(lab2.check_conv_output_size, float_result)


def test_layer_params_wrong_answers():
    _fails(lab2.check_layer_params, lambda f, d, k, bias=True: f * f * d * k, dense_params, match="add K")
    _fails(lab2.check_layer_params, lambda f, d, k, bias=True: f * f * d * k + int(bias), dense_params,
           match="one bias per filter")
    _fails(lab2.check_layer_params, lambda f, d, k, bias=True: (f * f + int(bias)) * k, dense_params,
           match="whole input depth")
    _fails(lab2.check_layer_params, conv_params, lambda n, m, bias=True: n * m)
    _fails(lab2.check_layer_params, conv_params, lambda n, m, bias=True: (n + 1) * m)


def test_model_table_wrong_answers():
    def pool_has_params(spec, shape):
        rows = model_table(spec, shape)
        return [(s, p if p else 1) for s, p in rows]

    def flatten_wrong(spec, shape):
        return [((s[0] // 2,), p) if len(s) == 1 and i < len(spec) and spec[i][0] == "flatten" else (s, p)
                for i, (s, p) in enumerate(model_table(spec, shape))]

    def forgets_depth_change(spec, shape):
        h, w, d = shape
        rows = []
        for layer in spec:
            if layer[0] == "conv":
                _, k, f, s, p = layer
                h, w = conv_output_size(h, f, s, p), conv_output_size(w, f, s, p)
                rows.append(((h, w, k), conv_params(f, d, k)))  # d never updated
            elif layer[0] == "pool":
                h, w = (h - layer[1]) // layer[2] + 1, (w - layer[1]) // layer[2] + 1
                rows.append(((h, w, d), 0))
            elif layer[0] == "flatten":
                d = h * w * d
                rows.append(((d,), 0))
            else:
                rows.append(((layer[1],), dense_params(d, layer[1])))
                d = layer[1]
        return rows

    _fails(lab2.check_model_table, pool_has_params)
    _fails(lab2.check_model_table, flatten_wrong, match="output shape")
    _fails(lab2.check_model_table, forgets_depth_change)
    _fails(lab2.check_model_table, lambda spec, shape: model_table(spec, shape)[:-1], match="one row per layer")


def test_bottleneck_wrong_answers():
    _fails(lab2.check_bottleneck_params,
           lambda d, k, f=3, reduce=None: f * f * d * k + (reduce * d if reduce else 0), match="only `reduce`")
    _fails(lab2.check_bottleneck_params, lambda d, k, f=3, reduce=None: f * f * (reduce or d) * k)


def test_inception_wrong_answers():
    def no_pool_depth(size, d_in, n1, n3, n5, reduce3=None, reduce5=None, pool_proj=None):
        return (size, size, n1 + n3 + n5 + (pool_proj or 0))

    def counts_3x3_twice(size, d_in, n1, n3, n5, reduce3=None, reduce5=None, pool_proj=None):
        extra = size * size * n3 * 9 * reduce3 if reduce3 else 0
        return inception_multiplies(size, d_in, n1, n3, n5, reduce3, reduce5, pool_proj) + extra

    def ignores_reductions(size, d_in, n1, n3, n5, reduce3=None, reduce5=None, pool_proj=None):
        return inception_multiplies(size, d_in, n1, n3, n5)

    _fails(lab2.check_inception, no_pool_depth, inception_multiplies, match="pooling branch")
    _fails(lab2.check_inception, inception_output_shape, counts_3x3_twice, match="twice")
    _fails(lab2.check_inception, inception_output_shape, ignores_reductions, match="reduced depth")


def test_separable_wrong_answers():
    def bias_twice(f, d, k, depth_multiplier=1, bias=True):
        return separable_params(f, d, k, depth_multiplier, bias) + (d * depth_multiplier if bias else 0)

    def standard(f, d, k, depth_multiplier=1, bias=True):
        return conv_params(f, d, k, bias)

    def ignores_multiplier(f, d, k, depth_multiplier=1, bias=True):
        return separable_params(f, d, k, 1, bias)

    _fails(lab2.check_separable, bias_twice, separable_ratio, match="only after the pointwise")
    _fails(lab2.check_separable, standard, separable_ratio, match="standard convolution")
    _fails(lab2.check_separable, ignores_multiplier, separable_ratio)
    _fails(lab2.check_separable, separable_params, lambda f, d, k: 1 / separable_ratio(f, d, k), match="upside")


def test_receptive_field_wrong_answers():
    _fails(lab2.check_receptive_field, lambda layers: 1 + sum(f - 1 for f, _ in layers), match="stride")
    _fails(lab2.check_receptive_field, lambda layers: sum(f for f, _ in layers))
    _fails(lab2.check_receptive_field, lambda layers: max(f for f, _ in layers) * len(layers))


def test_fire_wrong_answers():
    def sr_on_1x1_only(expand, sr, pct3x3):
        e3 = round(pct3x3 * expand)
        return round(sr * (expand - e3)), expand - e3, e3

    def pct_swapped(expand, sr, pct3x3):
        s, e1, e3 = fire_filters(expand, sr, pct3x3)
        return s, e3, e1

    def no_validation(expand, sr, pct3x3):
        e3 = round(pct3x3 * expand)
        return round(sr * expand), expand - e3, e3

    _fails(lab2.check_fire, sr_on_1x1_only, fire_params, match="ALL expand")
    _fails(lab2.check_fire, pct_swapped, fire_params, match="PCT_3x3")
    _fails(lab2.check_fire, no_validation, fire_params, match="ValueError")
    _fails(lab2.check_fire, fire_filters, lambda d, s, e1, e3: d * s + s * e1 + 9 * s * e3, match="biases")
    _fails(lab2.check_fire, fire_filters,
           lambda d, s, e1, e3: d * s + s + d * e1 + e1 + 9 * d * e3 + e3, match="squeezed")


def test_not_attempted_is_reported():
    def todo(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        lab2.check_conv_output_size(todo)
    with pytest.raises(NotAttempted):
        lab2.check_fire(todo, todo)


def test_returning_none_is_reported():
    with pytest.raises(CheckFailed, match="return"):
        lab2.check_layer_params(lambda f, d, k, bias=True: None, dense_params)
    with pytest.raises(CheckFailed, match="return"):
        lab2.check_model_table(lambda spec, shape: None)


def test_ratio_is_below_one_for_wide_layers():
    assert math.isclose(separable_ratio(3, 256, 256), (9 * 256 + 256 * 256) / (9 * 256 * 256))
