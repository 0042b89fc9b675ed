"""Lab 2 checks: right answers pass, plausible wrong answers fail."""

import math

import pytest

import sources
from cnncourse.checks import CheckFailed, lab2
from cnncourse.checks.core import NotAttempted

LAB = "lab2-arithmetic"

# --------------------------------------------------------------------------
# Right answers: the source notebook's solutions
# --------------------------------------------------------------------------
_REF = sources.solutions(LAB)
conv_output_size, conv_params, dense_params = (_REF[k] for k in ("conv_output_size", "conv_params", "dense_params"))
model_table, bottleneck_params = _REF["model_table"], _REF["bottleneck_params"]
inception_output_shape, inception_multiplies = _REF["inception_output_shape"], _REF["inception_multiplies"]
separable_params, separable_ratio = _REF["separable_params"], _REF["separable_ratio"]
receptive_field, fire_filters, fire_params = _REF["receptive_field"], _REF["fire_filters"], _REF["fire_params"]


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
    assert [
        bottleneck_params(256, 32),
        bottleneck_params(256, 32, reduce=128),
        bottleneck_params(256, 32, reduce=64),
    ] == [73728, 69632, 34816]
    assert inception_output_shape(28, 256, 128, 192, 96) == (28, 28, 672)
    assert round(inception_multiplies(28, 256, 128, 192, 96) / 1e6) == 854
    assert inception_output_shape(28, 256, 128, 192, 96, 64, 64, 64) == (28, 28, 480)
    # The slide says 358M; the sum of its own six terms is 271M (it counts the 3x3 branch twice).
    assert round(inception_multiplies(28, 256, 128, 192, 96, 64, 64, 64) / 1e6) == 271
    assert sum(p for _, p in model_table(lab2.LENET5, (28, 28, 1))) == 61706
    assert receptive_field([(3, 1)] * 2) == 5 and receptive_field([(3, 1)] * 3) == 7
    assert fire_filters(128, 0.125, 0.5) == (16, 64, 64) and fire_params(96, 16, 64, 64) == 11920


def test_oracles_agree_with_the_lecture():
    assert lab2._keras_conv_output(227, 11, 4) == 55
    assert lab2._keras_conv_params(5, 3, 10) == 760
    assert lab2._profiled_multiplies(lab2._keras_inception(28, 256, 128, 192, 96)) == 854196224
    assert lab2._profiled_multiplies(lab2._keras_inception(28, 256, 128, 192, 96, 64, 64, 64)) == 271351808


def test_the_student_package_holds_no_answer():
    """The oracles are Keras and TensorFlow; nothing public in the module computes an exercise's answer."""
    public = {name for name in vars(lab2) if not name.startswith("_") and callable(vars(lab2)[name])}
    assert {name for name in public if not name.startswith("check_")} <= {
        "CheckFailed",
        "call",
        "expect_equal",
        "expect_raises",
        "passed",
        "by_hand",
        "hidden",
        "hidden_for",
    }, public


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

    def true_division(n, f, stride=1, pad=0, dilation=1):  # right values, as floats (3.0)
        out = conv_output_size(n, f, stride, pad, dilation)
        return float(out) if not isinstance(pad, str) else out

    _fails(lab2.check_conv_output_size, true_division, match="float")


def test_layer_params_wrong_answers():
    _fails(lab2.check_layer_params, lambda f, d, k, bias=True: f * f * d * k, dense_params, match="add K")
    _fails(
        lab2.check_layer_params,
        lambda f, d, k, bias=True: f * f * d * k + int(bias),
        dense_params,
        match="one bias per filter",
    )
    _fails(
        lab2.check_layer_params,
        lambda f, d, k, bias=True: (f * f + int(bias)) * k,
        dense_params,
        match="whole input depth",
    )
    _fails(lab2.check_layer_params, conv_params, lambda n, m, bias=True: n * m)
    _fails(lab2.check_layer_params, conv_params, lambda n, m, bias=True: (n + 1) * m)


def test_model_table_random_specifications_are_always_buildable():
    """Seeds whose random network once pooled below its next filter's size (no answer, nor Keras, could build it)."""
    for seed in (23, 61, 69, 76):
        assert lab2.check_model_table(model_table, seed=seed) is None


def test_model_table_wrong_answers():
    def pool_has_params(spec, shape):
        rows = model_table(spec, shape)
        return [(s, p if p else 1) for s, p in rows]

    def flatten_wrong(spec, shape):
        return [
            ((s[0] // 2,), p) if len(s) == 1 and i < len(spec) and spec[i][0] == "flatten" else (s, p)
            for i, (s, p) in enumerate(model_table(spec, shape))
        ]

    def forgets_depth_change(spec, shape):
        # every convolution sized for the input's depth, not for the layer before it
        rows = model_table(spec, shape)
        return [
            (s, conv_params(layer[2], shape[2], layer[1]) if layer[0] == "conv" else p)
            for layer, (s, p) in zip(spec, rows)
        ]

    _fails(lab2.check_model_table, pool_has_params)
    _fails(lab2.check_model_table, flatten_wrong, match="output shape")
    _fails(lab2.check_model_table, forgets_depth_change, match="parameter count")
    _fails(lab2.check_model_table, lambda spec, shape: model_table(spec, shape)[:-1], match="one row per layer")


def test_bottleneck_wrong_answers():
    _fails(
        lab2.check_bottleneck_params,
        lambda d, k, f=3, reduce=None: f * f * d * k + (reduce * d if reduce else 0),
        match="only `reduce`",
    )
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

    def truncates(expand, sr, pct3x3):
        fire_filters(expand, sr, pct3x3)  # the same ValueErrors
        e3 = int(pct3x3 * expand)
        return int(sr * expand), expand - e3, e3

    _fails(lab2.check_fire, truncates, fire_params, match="nearest whole filter")
    _fails(lab2.check_fire, sr_on_1x1_only, fire_params, match="ALL expand")
    _fails(lab2.check_fire, pct_swapped, fire_params, match="PCT_3x3")
    _fails(lab2.check_fire, no_validation, fire_params, match="ValueError")
    _fails(lab2.check_fire, fire_filters, lambda d, s, e1, e3: d * s + s * e1 + 9 * s * e3, match="biases")
    _fails(
        lab2.check_fire, fire_filters, lambda d, s, e1, e3: d * s + s + d * e1 + e1 + 9 * d * e3 + e3, match="squeezed"
    )


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


# --------------------------------------------------------------------------
# Hidden tests (the source notebook's): the solutions pass, answers the visible checks let by do not
# --------------------------------------------------------------------------
GRADED = (
    "test_conv_output_size",
    "test_layer_params",
    "test_model_table",
    "test_bottleneck_params",
    "test_inception",
    "test_separable",
    "test_receptive_field",
    "test_fire",
    "test_branch_share",
    "test_stack_of_3x3",
)


def _run_hidden(grade_id, **answers):
    namespace = dict(_REF)
    exec(sources.cell_source(LAB, "lenet-spec"), namespace)
    namespace.update(answers)
    exec(sources.hidden_tests(LAB, grade_id), namespace)


@pytest.mark.parametrize("grade_id", GRADED)
def test_hidden_tests_pass_the_solutions(grade_id):
    _run_hidden(grade_id)


def test_hidden_model_table_test_builds_the_model_in_keras():
    def same_as_valid(spec, shape):
        return model_table([layer[:-1] + ("valid",) if layer[-1] == "same" else layer for layer in spec], shape)

    with pytest.raises(AssertionError):
        _run_hidden("test_model_table", model_table=same_as_valid)


def test_hidden_receptive_field_test_measures_with_gradients():
    def off_on_deep_stacks(layers):
        return receptive_field(layers) + (len(layers) > 3)

    with pytest.raises(AssertionError):
        _run_hidden("test_receptive_field", receptive_field=off_on_deep_stacks)


# --------------------------------------------------------------------------
# The two questions: the reference's answers, and the plausible wrong ones
# --------------------------------------------------------------------------
def test_the_questions_reference_answers_pass_and_match_the_lecture():
    share = _REF["five_by_five_share"]
    lab2.check_branch_share(share)
    assert share == pytest.approx(481.7 / 854.2, abs=1e-3)  # the 5x5 branch of the lecture's 854M
    lab2.check_stack_answers(_REF["layers_for_11"], _REF["stack_weight_fraction"])
    assert (_REF["layers_for_11"], round(_REF["stack_weight_fraction"], 4)) == (5, round(45 / 121, 4))


WRONG_SHARES = {  # name -> (answer, fails the visible check too)
    "the 3x3 branch's share": (
        inception_multiplies(28, 256, 0, 192, 0) / inception_multiplies(28, 256, 128, 192, 96),
        False,
    ),
    "the share of the improved module": (
        inception_multiplies(28, 256, 0, 0, 96, reduce5=64) / inception_multiplies(28, 256, 128, 192, 96, 64, 64, 64),
        False,
    ),
    "the share of the filters (96 of 416)": (96 / 416, False),
    "a percentage": (100 * 481689600 / 854196224, True),
    "the branch's count itself": (481689600, True),
}


@pytest.mark.parametrize("name", sorted(WRONG_SHARES))
def test_wrong_branch_shares_fail(name):
    answer, visible = WRONG_SHARES[name]
    if visible:
        with pytest.raises(CheckFailed, match=r"Question 1"):
            lab2.check_branch_share(answer)
    else:
        lab2.check_branch_share(answer)
        with pytest.raises(CheckFailed, match=r"Question 1 \(five_by_five_share\): a hidden test failed"):
            _run_hidden("test_branch_share", five_by_five_share=answer)


WRONG_STACKS = {  # name -> (layers_for_11, stack_weight_fraction, fails the visible check too)
    "one layer short (counting 2 pixels a layer from 3)": (4, 4 * 9 / 121, False),
    "the field of 11 layers": (11, 11 * 9 / 121, False),
    "inverted fraction": (5, 121 / 45, False),
    "biases counted": (5, 5 * (9 * 64 * 64 + 64) / (121 * 64 * 64 + 64), False),
    "one 3x3 against one 11x11": (5, 9 / 121, False),
    "layers as a float": (5.0, 45 / 121, True),
    "a percentage string": (5, "37%", True),
}


@pytest.mark.parametrize("name", sorted(WRONG_STACKS))
def test_wrong_stack_answers_fail(name):
    layers_for_11, fraction, visible = WRONG_STACKS[name]
    if visible:
        with pytest.raises(CheckFailed, match=r"Question 2"):
            lab2.check_stack_answers(layers_for_11, fraction)
    else:
        lab2.check_stack_answers(layers_for_11, fraction)
        with pytest.raises(
            CheckFailed, match=r"Question 2 \(layers_for_11, stack_weight_fraction\): a hidden test failed"
        ):
            _run_hidden("test_stack_of_3x3", layers_for_11=layers_for_11, stack_weight_fraction=fraction)
