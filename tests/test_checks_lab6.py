"""Lab 6's checks pass the source notebook's solutions and fail plausible wrong answers."""

import types
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

import sources  # noqa: E402
from cnncourse.checks import CheckFailed, NotAttempted  # noqa: E402
from cnncourse.checks import lab6  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sol():
    return sources.solutions("lab6-architectures", skip=("efficiency",))


def fails(check, *args, match=None):
    with pytest.raises(CheckFailed) as info:
        check(*args)
    if match is not None:
        assert match.lower() in str(info.value).lower(), str(info.value)
    return str(info.value)


def not_done(*args):
    raise NotImplementedError()


def with_names(fn, **names):
    """The reference function ``fn``, run with some of the names it looks up (its helpers) replaced."""
    return types.FunctionType(fn.__code__, {**fn.__globals__, **names}, fn.__name__, fn.__defaults__, fn.__closure__)


def efficiency_answer(results):
    """``(acc_per_kparam, more_efficient)`` as the source notebook's Exercise 9 cell computes them."""
    namespace = {"results": results}
    exec(sources.cell_source("lab6-architectures", "efficiency"), namespace)
    return namespace["acc_per_kparam"], namespace["more_efficient"]


# ---------------------------------------------------------------- right answers
@pytest.mark.parametrize(
    "check,names",
    [
        (lab6.check_vgg_block, ["vgg_block"]),
        (lab6.check_inception_block, ["inception_block"]),
        (lab6.check_residual_block, ["residual_block"]),
        (lab6.check_resnext_block, ["resnext_block"]),
        (lab6.check_param_formulas, ["conv_params", "separable_params"]),
        (lab6.check_separable_block, ["separable_block"]),
        (lab6.check_fire_sizes, ["fire_sizes"]),
        (lab6.check_fire_module, ["fire_module"]),
        (lab6.check_compound_scale, ["compound_scale"]),
        (lab6.check_mini_vgg, ["mini_vgg"]),
        (lab6.check_mini_resnet, ["mini_resnet"]),
    ],
)
def test_solutions_pass(sol, check, names, capsys):
    assert check(*[sol[n] for n in names]) is None
    assert "\u2714" in capsys.readouterr().out


def test_unattempted_exercises_say_so():
    with pytest.raises(NotAttempted):
        lab6.check_vgg_block(not_done)
    with pytest.raises(NotAttempted):
        lab6.check_compound_scale(not_done)


# ---------------------------------------------------------------- VGG
def vgg_valid(x, num_convs, filters):
    for _ in range(num_convs):
        x = layers.Conv2D(filters, 3, padding="valid", activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def vgg_no_pool(x, num_convs, filters):
    for _ in range(num_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x


def vgg_no_relu(x, num_convs, filters):
    for _ in range(num_convs):
        x = layers.Conv2D(filters, 3, padding="same")(x)
    return layers.MaxPooling2D(2)(x)


def vgg_5x5(x, num_convs, filters):
    for _ in range(num_convs):
        x = layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def test_vgg_block_valid_padding_fails_with_a_padding_hint():
    fails(lab6.check_vgg_block, vgg_valid, match="padding='same'")


@pytest.mark.parametrize("wrong", [vgg_no_pool, vgg_no_relu, vgg_5x5])
def test_vgg_block_wrong_answers_fail(wrong):
    fails(lab6.check_vgg_block, wrong)


def test_vgg_block_returning_a_model_fails():
    def as_model(x, num_convs, filters):
        return keras.Model(x, layers.MaxPooling2D(2)(x))

    fails(lab6.check_vgg_block, as_model, match="tensor")


# ---------------------------------------------------------------- Inception
def _inception(x, c1, c3r, c3, c5r, c5, pp, axis=-1, order=(0, 1, 2, 3), reduce=True, pool_strides=1):
    p1 = layers.Conv2D(c1, 1, padding="same", activation="relu")(x)
    p2 = layers.Conv2D(c3r, 1, padding="same", activation="relu")(x) if reduce else x
    p2 = layers.Conv2D(c3, 3, padding="same", activation="relu")(p2)
    p3 = layers.Conv2D(c5r, 1, padding="same", activation="relu")(x)
    p3 = layers.Conv2D(c5, 5, padding="same", activation="relu")(p3)
    p4 = layers.MaxPooling2D(3, strides=pool_strides, padding="same")(x)
    p4 = layers.Conv2D(pp, 1, padding="same", activation="relu")(p4)
    paths = [p1, p2, p3, p4]
    return layers.Concatenate(axis=axis)([paths[i] for i in order])


def test_inception_wrong_concat_axis_fails():
    fails(lab6.check_inception_block, lambda x, *a: _inception(x, *a, axis=1), match="axis=-1")


def test_inception_paths_in_the_wrong_order_fail():
    fails(lab6.check_inception_block, lambda x, *a: _inception(x, *a, order=(3, 1, 2, 0)), match="order")


def test_inception_without_the_1x1_reduction_fails():
    fails(lab6.check_inception_block, lambda x, *a: _inception(x, *a, reduce=False), match="missing")


def test_inception_pool_with_default_stride_fails():
    fails(lab6.check_inception_block, lambda x, *a: _inception(x, *a, pool_strides=None))


def test_inception_params_formula_matches_googlenet_3a():
    assert lab6.inception_params(192, 64, 96, 128, 16, 32, 32) == 163696


# ---------------------------------------------------------------- Residual
def res_no_shortcut(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    return layers.ReLU()(y)


def res_no_projection(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    return layers.ReLU()(layers.Add()([y, x]))


def res_always_projection(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    return layers.ReLU()(layers.Add()([y, layers.Conv2D(filters, 1, strides=stride)(x)]))


def res_no_final_relu(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    s = x if stride == 1 and x.shape[-1] == filters else layers.Conv2D(filters, 1, strides=stride)(x)
    return layers.Add()([y, s])


def res_stride_on_second(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(y)
    s = x if stride == 1 and x.shape[-1] == filters else layers.Conv2D(filters, 1, strides=stride)(x)
    return layers.ReLU()(layers.Add()([y, s]))


def res_zero_main_sneaky(x, filters, stride=1):
    # Right layers, but the shortcut is added *inside* the main path (before the second convolution).
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
    s = x if stride == 1 and x.shape[-1] == filters else layers.Conv2D(filters, 1, strides=stride)(x)
    y = layers.Add()([y, s])
    return layers.ReLU()(layers.Conv2D(filters, 3, padding="same")(y))


def test_residual_missing_shortcut_fails():
    fails(lab6.check_residual_block, res_no_shortcut, match="Add")


def test_residual_missing_shortcut_is_caught_by_the_zeroed_main_path():
    # Same layers as the right answer (so the structure checks cannot tell), but the Add adds zeros.
    def fake(x, filters, stride=1):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
        y = layers.Conv2D(filters, 3, padding="same")(y)
        s = x if stride == 1 and x.shape[-1] == filters else layers.Conv2D(filters, 1, strides=stride)(x)
        return layers.ReLU()(layers.Add()([y, layers.Lambda(lambda t: t * 0.0)(s)]))

    fails(lab6.check_residual_block, fake, match="shortcut is missing")


def test_residual_without_projection_fails_with_a_projection_hint():
    fails(lab6.check_residual_block, res_no_projection, match="projection")


def test_residual_projection_where_shapes_match_fails():
    fails(lab6.check_residual_block, res_always_projection, match="x itself")


def test_residual_without_final_relu_fails():
    fails(lab6.check_residual_block, res_no_final_relu, match="ReLU")


@pytest.mark.parametrize("wrong", [res_stride_on_second, res_zero_main_sneaky])
def test_residual_miswired_blocks_fail(wrong):
    fails(lab6.check_residual_block, wrong)


# ---------------------------------------------------------------- ResNeXt
def _resnext(x, filters, groups, use_groups=True, shortcut=True):
    y = layers.Conv2D(filters, 1, activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same", groups=groups if use_groups else 1, activation="relu")(y)
    y = layers.Conv2D(filters, 1)(y)
    if shortcut:
        s = x if x.shape[-1] == filters else layers.Conv2D(filters, 1)(x)
        y = layers.Add()([y, s])
    return layers.ReLU()(y)


def test_resnext_without_groups_fails():
    fails(lab6.check_resnext_block, lambda x, f, g: _resnext(x, f, g, use_groups=False), match="grouped")


def test_resnext_missing_shortcut_fails():
    fails(lab6.check_resnext_block, lambda x, f, g: _resnext(x, f, g, shortcut=False), match="Add")


# ---------------------------------------------------------------- Separable
def test_conv_params_without_bias_fails(sol):
    conv = sol["conv_params"]
    fails(
        lab6.check_param_formulas,
        lambda k, c_in, c_out: conv(k, c_in, c_out) - c_out,
        sol["separable_params"],
        match="biases",
    )


def test_separable_params_with_a_depthwise_bias_fails(sol):
    sep = sol["separable_params"]
    fails(
        lab6.check_param_formulas,
        sol["conv_params"],
        lambda k, c_in, c_out: sep(k, c_in, c_out) + c_in,
        match="no depthwise bias",
    )


def test_separable_params_without_the_pointwise_bias_fails(sol):
    sep = sol["separable_params"]
    fails(
        lab6.check_param_formulas,
        sol["conv_params"],
        lambda k, c_in, c_out: sep(k, c_in, c_out) - c_out,
        match="pointwise",
    )


def sepblock_valid(x, filters):
    y = layers.DepthwiseConv2D(3, padding="valid", use_bias=False)(x)
    return layers.Conv2D(filters, 1, activation="relu")(y)


def sepblock_bias(x, filters):
    y = layers.DepthwiseConv2D(3, padding="same")(x)
    return layers.Conv2D(filters, 1, activation="relu")(y)


def sepblock_standard(x, filters):
    return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)


def sepblock_relu_first(x, filters):
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, activation="relu")(x)
    return layers.Conv2D(filters, 1)(y)


@pytest.mark.parametrize("wrong", [sepblock_valid, sepblock_bias, sepblock_standard, sepblock_relu_first])
def test_separable_block_wrong_answers_fail(wrong):
    fails(lab6.check_separable_block, wrong)


# ---------------------------------------------------------------- Fire
def _fire(x, s, e1, e3, pad="same", from_input=False, order=(0, 1)):
    sq = layers.Conv2D(s, 1, activation="relu")(x)
    src = x if from_input else sq
    a = layers.Conv2D(e1, 1, activation="relu")(src)
    b = layers.Conv2D(e3, 3, padding=pad, activation="relu")(src)
    return layers.Concatenate(axis=-1)([[a, b][i] for i in order])


def test_fire_module_valid_padding_fails():
    fails(lab6.check_fire_module, lambda x, *a: _fire(x, *a, pad="valid"), match="padding='same'")


def test_fire_module_expands_reading_the_input_fail():
    fails(lab6.check_fire_module, lambda x, *a: _fire(x, *a, from_input=True))


def test_fire_module_expands_in_the_wrong_order_fail():
    fails(lab6.check_fire_module, lambda x, *a: _fire(x, *a, order=(1, 0)), match="order")


def test_fire_module_wrong_concat_axis_fails():
    def wrong(x, s, e1, e3):
        sq = layers.Conv2D(s, 1, activation="relu")(x)
        a = layers.Conv2D(e1, 1, activation="relu")(sq)
        b = layers.Conv2D(e3, 3, padding="same", activation="relu")(sq)
        return layers.Concatenate(axis=1)([a, b])

    fails(lab6.check_fire_module, wrong, match="axis=-1")


def test_fire_sizes_swapped_expands_fail(sol):
    def swapped(expand, sr, pct):
        squeeze, e1, e3 = sol["fire_sizes"](expand, sr, pct)
        return squeeze, e3, e1

    fails(lab6.check_fire_sizes, swapped, match="swapped")


def test_fire_sizes_squeeze_from_the_wrong_base_fails(sol):
    def wrong(expand, sr, pct):  # SR taken of the 1x1 expand filters only
        _, e1, e3 = sol["fire_sizes"](expand, sr, pct)
        return round(sr * e1), e1, e3

    fails(lab6.check_fire_sizes, wrong, match="SR")


def test_fire_sizes_floats_fail():
    fails(lab6.check_fire_sizes, lambda e, sr, p: (sr * e, e - p * e, p * e), match="integers")


# ---------------------------------------------------------------- EfficientNet
def test_compound_scale_linear_growth_fails():
    fails(
        lab6.check_compound_scale,
        lambda phi, alpha=1.2, beta=1.1, gamma=1.15: (
            1 + (alpha - 1) * phi,
            1 + (beta - 1) * phi,
            1 + (gamma - 1) * phi,
        ),
    )


def test_compound_scale_wrong_order_fails(sol):
    def width_first(phi, alpha=1.2, beta=1.1, gamma=1.15):
        depth, width, resolution = sol["compound_scale"](phi, alpha, beta, gamma)
        return width, depth, resolution

    fails(lab6.check_compound_scale, width_first, match="order")


def test_compound_scale_one_number_fails(sol):
    fails(
        lab6.check_compound_scale,
        lambda phi, alpha=1.2, beta=1.1, gamma=1.15: sol["compound_scale"](phi, alpha, beta, gamma)[0],
    )


# ---------------------------------------------------------------- mini networks
def test_mini_vgg_with_valid_padding_fails(sol):
    fails(lab6.check_mini_vgg, with_names(sol["mini_vgg"], vgg_block=vgg_valid))


def test_mini_resnet_without_shortcuts_fails(sol):
    fails(lab6.check_mini_resnet, with_names(sol["mini_resnet"], residual_block=res_no_shortcut), match="Add")


def test_param_formulas_of_the_mini_networks(sol):
    assert sol["mini_vgg"]((16, 16, 1), 3).count_params() == lab6.mini_vgg_params() == 15587
    assert sol["mini_resnet"]((16, 16, 1), 3).count_params() == lab6.mini_resnet_params() == 19331


# ---------------------------------------------------------------- Exercise 9
RESULTS = {"mini-VGG": {"params": 15587, "accuracy": 0.86}, "mini-ResNet": {"params": 19331, "accuracy": 0.95}}


def test_efficiency_follows_the_students_own_numbers(capsys):
    per_k, best = efficiency_answer(RESULTS)
    assert lab6.check_efficiency(RESULTS, per_k, best) is None
    assert "\u2714" in capsys.readouterr().out
    other = [k for k in RESULTS if k != best][0]
    fails(lab6.check_efficiency, RESULTS, per_k, other, match="your own numbers")
    # With other numbers the other network is the right answer: no fixed string passes both.
    flipped = {"mini-VGG": {"params": 15587, "accuracy": 0.60}, "mini-ResNet": {"params": 19331, "accuracy": 0.95}}
    flipped_per_k, flipped_best = efficiency_answer(flipped)
    assert (best, flipped_best) == ("mini-VGG", "mini-ResNet")
    assert lab6.check_efficiency(flipped, flipped_per_k, "mini-ResNet") is None
    fails(lab6.check_efficiency, flipped, flipped_per_k, "mini-VGG", match="your own numbers")


def test_efficiency_wrong_ratio_fails():
    per_k, _ = efficiency_answer(RESULTS)
    wrong = {k: v / 1000 for k, v in per_k.items()}  # per parameter, not per thousand
    fails(lab6.check_efficiency, RESULTS, wrong, "mini-VGG", match="acc_per_kparam")


# ---------------------------------------------------------------- no answers shipped
ANSWER_DEFS = (
    "def vgg_block",
    "def inception_block",
    "def residual_block",
    "def resnext_block",
    "def separable_block",
    "def fire_module",
    "def fire_sizes",
    "def compound_scale",
    "def mini_vgg(",
    "def mini_resnet(",
)


def test_the_installed_package_holds_no_lab6_answers():
    for folder in ("cnncourse", "autograder"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for d in ANSWER_DEFS:
                assert d not in text, f"{path.relative_to(ROOT)} defines {d!r}"


def test_release_has_no_lab6_solutions():
    release = ROOT / "release" / "lab6-architectures" / "lab6-architectures.ipynb"
    assert release.exists(), "release/ is committed: run `cnncourse release lab6-architectures`"
    import nbformat

    nb = nbformat.read(str(release), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for fragment in (
        "BEGIN SOLUTION",
        "BEGIN HIDDEN TESTS",
        "layers.Add()(",
        "groups=groups",
        "alpha ** phi",
        "DepthwiseConv2D(3",
    ):
        assert fragment not in code, fragment


# ---------------------------------------------------------------- training
@pytest.mark.slow
def test_training_check_separates_reference_and_weak(sol):
    from cnncourse import calibration
    from autograder.calibrations.lab6_architectures import pixels_softmax

    rec = calibration.record("lab6-architectures", "mini_vgg", "fast")
    good = lab6.train_mini_net(sol["mini_vgg"], seed=0, validation=False)
    weak = lab6.train_mini_net(pixels_softmax, seed=0, validation=False)
    assert good.accuracy >= rec.threshold > weak.accuracy
    assert good.params == 15587 and good.n_train == 900


def test_report_mini_net_needs_the_training_cell(capsys):
    fails(lab6.report_mini_net, {}, "mini-VGG", "mini_vgg", match="training cell")
    assert lab6.report_mini_net(RESULTS, "mini-VGG", "mini_vgg") is None
    assert "held-out accuracy = 0.860" in capsys.readouterr().out


def test_mini_resnet_without_its_downsampling_fails_though_its_parameters_match(sol):
    block = sol["residual_block"]

    def no_stride(x, filters, stride):
        return block(x, filters, 1)  # the projection shortcut is still there: same parameters

    wrong = with_names(sol["mini_resnet"], residual_block=no_stride)
    assert wrong((16, 16, 1), 3).count_params() == lab6.mini_resnet_params()
    fails(lab6.check_mini_resnet, wrong, match="global pooling should see")
    with pytest.raises(CheckFailed, match="a hidden test failed.*downsample"):
        exec(sources.hidden_tests("lab6-architectures", "test_mini_nets"), dict(sol, mini_resnet=wrong))


@pytest.mark.parametrize(
    "grade_id", ["test_param_formulas", "test_fire_sizes", "test_compound_scale", "test_mini_nets"]
)
def test_hidden_tests_rewritten_for_fresh_cases_pass_the_solutions(sol, grade_id):
    exec(sources.hidden_tests("lab6-architectures", grade_id), dict(sol))


def test_formulas_read_off_keras_earn_nothing(sol):
    def conv_params(k, c_in, c_out):
        return lab6._keras_params(keras.layers.Conv2D(c_out, k), c_in)

    fails(lab6.check_param_formulas, conv_params, sol["separable_params"], match="not allowed here")
    with pytest.raises(CheckFailed, match="work the numbers out from the formulas"):
        exec(sources.hidden_tests("lab6-architectures", "test_param_formulas"), dict(sol, conv_params=conv_params))


def test_a_table_of_the_visible_fire_sizes_fails_the_hidden_test(sol):
    seen = {}

    def recording(expand, sr, pct3x3):
        seen[(expand, sr, pct3x3)] = answer = sol["fire_sizes"](expand, sr, pct3x3)
        return answer

    lab6.check_fire_sizes(recording)

    def table(expand, sr, pct3x3):
        return seen.get((expand, sr, pct3x3), (1, expand - 1, 1))

    lab6.check_fire_sizes(table)
    with pytest.raises(CheckFailed, match=r"Exercise 6a \(fire_sizes\): a hidden test failed"):
        exec(sources.hidden_tests("lab6-architectures", "test_fire_sizes"), dict(sol, fire_sizes=table))


class _ActivationLayers:
    """``keras.layers`` whose Conv2D and Dense apply their activation as a layer of its own.

    ``Conv2D(8, 3, activation="relu")`` becomes ``Conv2D(8, 3)`` followed by ``ReLU()`` (other
    activations by ``Activation(name)``, a softmax by ``Softmax()``): the same network, written the
    other common way.
    """

    def __getattr__(self, name):
        return getattr(layers, name)

    @staticmethod
    def _split(layer_class, args, kwargs):
        activation = kwargs.pop("activation", None)
        layer = layer_class(*args, **kwargs)
        if activation in (None, "linear"):
            return layer
        after = {"relu": layers.ReLU, "softmax": layers.Softmax}.get(
            activation, lambda: layers.Activation(activation)
        )()
        return lambda tensor: after(layer(tensor))

    def Conv2D(self, *args, **kwargs):
        return self._split(layers.Conv2D, args, kwargs)

    def Dense(self, *args, **kwargs):
        return self._split(layers.Dense, args, kwargs)


def test_activation_layers_of_their_own_pass_every_architecture_check(sol):
    """Conv2D then ReLU() (or Activation) is the network Conv2D(activation="relu") is: every check accepts it."""
    shim = _ActivationLayers()
    own = {
        name: with_names(sol[name], layers=shim)
        for name in sol
        if callable(sol[name]) and hasattr(sol[name], "__code__")
    }
    own["mini_vgg"] = with_names(sol["mini_vgg"], layers=shim, vgg_block=own["vgg_block"])
    own["mini_resnet"] = with_names(sol["mini_resnet"], layers=shim, residual_block=own["residual_block"])
    model = own["mini_resnet"](lab6.MINI_INPUT, lab6.MINI_CLASSES)
    assert sum(isinstance(layer, layers.ReLU) for layer in model.layers) >= 3  # the shim did split them
    assert lab6.check_vgg_block(own["vgg_block"]) is None
    assert lab6.check_inception_block(own["inception_block"]) is None
    assert lab6.check_residual_block(own["residual_block"]) is None
    assert lab6.check_resnext_block(own["resnext_block"]) is None
    assert lab6.check_separable_block(own["separable_block"]) is None
    assert lab6.check_fire_module(own["fire_module"]) is None
    assert lab6.check_mini_vgg(own["mini_vgg"]) is None
    assert lab6.check_mini_resnet(own["mini_resnet"]) is None


class _DeadLayers:
    """``keras.layers`` whose Conv2D starts with a bias of -100: every ReLU path is dead until trained."""

    def __getattr__(self, name):
        return getattr(layers, name)

    def Conv2D(self, *args, **kwargs):
        return layers.Conv2D(*args, bias_initializer=keras.initializers.Constant(-100.0), **kwargs)


def test_a_path_dead_by_its_random_weights_is_still_seen_to_reach_as_far_as_its_kernel(sol):
    """The reach of a path is its structure's: a ReLU that random weights closed (once a flaky 5x5 path) does not hide it."""
    dead = _DeadLayers()
    assert lab6.check_inception_block(with_names(sol["inception_block"], layers=dead)) is None
    assert lab6.check_fire_module(with_names(sol["fire_module"], layers=dead)) is None


# ---------------------------------------------------------------- Exercises 10 and 11, Question 1
L = keras.layers


def _dense_added(x, num_layers, growth_rate):
    for _ in range(num_layers):
        y = L.Conv2D(x.shape[-1], 3, padding="same")(L.Activation("relu")(L.BatchNormalization()(x)))
        x = L.Add()([x, y])  # ResNet's add instead of DenseNet's concatenation
    return x


def _dense_last_only(x, num_layers, growth_rate):
    inp, y = x, x
    for _ in range(num_layers):
        y = L.Conv2D(growth_rate, 3, padding="same")(L.Activation("relu")(L.BatchNormalization()(y)))
    return L.Concatenate()([inp, y])  # only the input and the last layer's output


def _dense_chain(x, num_layers, growth_rate):
    outputs = [x]
    y = x
    for _ in range(num_layers):
        y = L.Conv2D(growth_rate, 3, padding="same")(L.Activation("relu")(L.BatchNormalization()(y)))
        outputs.append(y)  # each layer reads only the previous one
    return L.Concatenate()(outputs)


def _dense_no_bn(x, num_layers, growth_rate):
    for _ in range(num_layers):
        x = L.Concatenate()([x, L.Conv2D(growth_rate, 3, padding="same", activation="relu")(x)])
    return x


def _se(ratio_units=None, gate="sigmoid", multiply=True):
    def se_block(x, ratio):
        c = x.shape[-1]
        s = L.GlobalAveragePooling2D()(x)
        s = L.Dense(ratio_units(c, ratio) if ratio_units else c // ratio, activation="relu")(s)
        s = L.Dense(c, activation=gate)(s)
        s = L.Reshape((1, 1, c))(s)
        return L.Multiply()([x, s]) if multiply else L.Add()([x, s])

    return se_block


WRONG_DENSE = {
    "added, not concatenated": (_dense_added, "added, not concatenated"),
    "only the last output kept": (_dense_last_only, "wrong output shape"),
    "each layer reads only the previous one": (_dense_chain, "every earlier layer's output"),
    "no batch norm": (_dense_no_bn, "BatchNormalization"),
}
WRONG_SE = {
    "no bottleneck": (_se(ratio_units=lambda c, r: c), "bottleneck"),
    "no sigmoid": (_se(gate="relu"), "sigmoid"),
    "added instead of multiplied": (_se(multiply=False), "Multiply"),
    "ratio multiplied": (_se(ratio_units=lambda c, r: c * r), "bottleneck"),
}


def test_reference_dense_and_se_blocks_pass(sol):
    lab6.check_dense_block(sol["dense_block"])
    lab6.check_se_block(sol["se_block"])
    lab6.check_se_params(sol["se_params"], sol["se_block"])


@pytest.mark.parametrize("name", sorted(WRONG_DENSE))
def test_wrong_dense_blocks_fail(name):
    wrong, message = WRONG_DENSE[name]
    with pytest.raises(CheckFailed, match=message):
        lab6.check_dense_block(wrong)


@pytest.mark.parametrize("name", sorted(WRONG_SE))
def test_wrong_se_blocks_fail(name):
    wrong, message = WRONG_SE[name]
    with pytest.raises(CheckFailed, match=message):
        lab6.check_se_block(wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda c, r: 2 * c * (c // r),  # no biases
        lambda c, r: 2 * c * (c // r) + c,  # the bottleneck's biases forgotten
        lambda c, r: c * c + c,  # one Dense layer
        lambda c, r: 2 * c * (c // r) + (c // r) + c + 2 * c,  # a batch norm counted that is not there
    ],
)
def test_wrong_se_param_formulas_fail_the_visible_and_hidden_tests(sol, wrong):
    with pytest.raises(CheckFailed, match=r"Question 1 \(se_params\)"):
        lab6.check_se_params(wrong, sol["se_block"])
    import sources

    with pytest.raises(CheckFailed, match=r"Question 1 \(se_params\): a hidden test failed"):
        exec(sources.hidden_tests("lab6-architectures", "test_se_params"), {"checks": lab6, "se_params": wrong})


def test_se_params_may_not_build_the_block(sol):
    def counted(channels, ratio):
        inp = keras.Input(shape=(2, 2, channels))
        return keras.Model(inp, sol["se_block"](inp, ratio)).count_params()

    with pytest.raises(CheckFailed, match="keras"):
        lab6.check_se_params(counted, sol["se_block"])
