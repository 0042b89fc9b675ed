"""By hand means by hand: an exercise's shortcut through a library earns nothing.

Each shortcut below computes the right numbers by calling what the lab asks
the student to write (SciPy's correlation, TensorFlow's convolution, Keras's
parameter count, the checks' own code). The visible check refuses it with a
message naming the function, and the source notebook's hidden test, run the
way the grader runs it, fails it too; the honest solutions pass both.
"""

import importlib
import sys

import numpy as np
import pytest

import sources
from cnncourse.checks import CheckFailed, lab1
from cnncourse.checks.by_hand import LOOPS, Forbidden, by_hand, static_violations
from cnncourse.checks.hidden import hidden

LAB1 = "lab1-convolution"


@pytest.fixture(scope="module")
def ref1():
    return sources.solutions(LAB1)


def _hidden(lab, grade_id, namespace, **answers):
    exec(sources.hidden_tests(lab, grade_id), dict(namespace, **answers))


# ---------------------------------------------------------------- the mechanism
def test_an_alias_import_is_seen_for_what_it_is():
    from scipy.signal import correlate2d as friendly_name

    def corr2d(image, kernel):
        return friendly_name(image, kernel, mode="valid")

    assert static_violations(corr2d, LOOPS) == ["scipy.signal.correlate2d"]
    with pytest.raises(CheckFailed, match=r"asks you to write the loops yourself: `scipy.signal.correlate2d`"):
        by_hand("Exercise 1 (corr2d)", corr2d, LOOPS)


def _by_name(image, kernel):
    module = importlib.import_module("scipy." + "sig" + "nal")
    return getattr(module, "correlate" + "2d")(image, kernel, mode="valid")


def test_looking_a_function_up_by_its_name_is_refused_in_an_exercise_done_by_hand():
    assert static_violations(_by_name, LOOPS) == ["getattr", "importlib.import_module"]


def test_a_call_hidden_from_the_source_is_caught_while_it_runs():
    rules = Forbidden("write the loops yourself", modules=("scipy.signal",))  # not strict: names by string pass
    assert static_violations(_by_name, rules) == []
    importlib.import_module("scipy.signal")  # imported already, as in the full run: the call, not the import, is caught
    watched = by_hand("Exercise 1 (corr2d)", _by_name, rules)
    with pytest.raises(CheckFailed, match=r"`scipy.signal` is not allowed here \(your code reached it through"):
        watched(np.ones((4, 4)), np.ones((2, 2)))


def test_a_module_name_the_watch_cannot_remember_is_matched_as_before():
    """The watch remembers each module name's match; a name that cannot be a cache key is matched uncached."""
    import types

    from cnncourse.checks.by_hand import OWN_WORK

    def add_one(v):
        return v + 1

    odd = types.FunctionType(add_one.__code__, {"__name__": {}})  # globals whose name is a dict: allowed, as before
    assert by_hand("x", lambda v: odd(v) * 2, OWN_WORK)(1) == 4
    forbidden = types.FunctionType(add_one.__code__, {"__name__": "cnncourse.checks.fake"})
    with pytest.raises(CheckFailed, match=r"`cnncourse\.checks\.fake\.[\w.<>]*add_one` is not allowed here"):
        by_hand("x", lambda v: forbidden(v), OWN_WORK)(1)


def _cells(*cells, **names):
    return sources.run_cells(*cells, np=np, **names)


def test_a_helper_in_another_cell_is_read_too():
    namespace = _cells(
        "import scipy.ndimage as nd\ndef helper(a, k):\n    return nd.correlate(a, k)\n",
        "def corr2d(image, kernel):\n    return helper(image, kernel)[1:-1, 1:-1]\n",
    )
    assert static_violations(namespace["corr2d"], LOOPS) == ["scipy.ndimage.correlate"]


def test_numpy_functions_named_in_the_rules_are_refused_and_the_rest_allowed():
    def rows(image, kernel):
        return np.array([np.convolve(r, kernel[0], mode="valid") for r in image])

    def honest(image, kernel):
        return np.array(
            [
                [np.sum(image[i : i + 1, j : j + 2] * kernel) for j in range(image.shape[1] - 1)]
                for i in range(image.shape[0])
            ]
        )

    assert static_violations(rows, LOOPS) == ["numpy.convolve"]
    assert static_violations(honest, LOOPS) == []
    assert by_hand("x", honest, LOOPS)(np.ones((2, 3)), np.ones((1, 2))).shape == (2, 2)


def test_switching_the_watch_off_is_refused():
    def corr2d(image, kernel):
        sys.setprofile(None)
        return image

    with pytest.raises(CheckFailed, match="`sys.setprofile` is not allowed here"):
        by_hand("x", corr2d, LOOPS)
    with pytest.raises(CheckFailed, match="your function reached the check's watch"):
        by_hand("x", corr2d, Forbidden("write it yourself"))(np.ones((2, 2)), np.ones((1, 1)))


def test_switching_the_watch_off_and_on_again_is_refused_too():
    def corr2d(image, kernel):
        hook = sys.getprofile()
        sys.setprofile(None)
        try:
            return image
        finally:
            sys.setprofile(hook)

    with pytest.raises(CheckFailed, match="your function reached the check's watch.*sys.getprofile"):
        by_hand("x", corr2d, Forbidden("write it yourself"))(np.ones((2, 2)), np.ones((1, 1)))


def test_the_checks_own_code_is_forbidden_in_every_exercise():
    rules = Forbidden("count by hand")

    def conv(x, w, b, stride=1, pad=0):
        return lab1._tf_conv(x, w, b, stride, pad)

    with pytest.raises(CheckFailed, match="cnncourse.checks.lab1._tf_conv"):
        by_hand("x", conv, rules)


def test_a_watched_training_through_recording_fits_has_its_optimizer_built_and_is_not_refused():
    keras = pytest.importorskip("keras")
    from cnncourse.checks.by_hand import OWN_WORK, recording_fits

    import tensorflow as tf

    built_in_a_graph = []

    def train(x, y):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        build = model.optimizer.build

        def probed(variables):
            built_in_a_graph.append(tf.inside_function())  # inside the traced training step?
            return build(variables)

        model.optimizer.build = probed
        return model.fit(x, y, epochs=1, verbose=0)

    x, y = np.ones((4, 3), "float32"), np.array([0, 1, 0, 1])
    with recording_fits() as fits:
        by_hand("x", train, OWN_WORK)(x, y)  # the optimizer is built by the course's runtime, not the checks
    assert built_in_a_graph == [False] and len(fits) == 1 and fits[0][0][1] is x
    built_in_a_graph.clear()
    with pytest.raises(CheckFailed, match="cnncourse.checks"):
        by_hand("x", lambda x, y: lab1.check_corr2d(None), OWN_WORK)(x, y)
    train(x, y)  # nothing recorded, nothing built ahead: Keras builds it inside the first traced step
    assert built_in_a_graph == [True]


def test_the_watch_is_off_again_after_the_call():
    def honest(a):
        return a + 1

    assert by_hand("x", honest, LOOPS)(1) == 2
    assert sys.getprofile() is None


def test_hidden_names_the_exercise_and_says_why():
    def wrong(a):
        return a + 2

    with pytest.raises(CheckFailed, match=r"Exercise 9 \(f\): a hidden test failed.*\(the case of 1\)"):
        with hidden("Exercise 9 (f)", wrong) as f:
            assert f(1) == 2, "the case of 1"


# ---------------------------------------------------------------- lab 1
def _scipy_corr2d(image, kernel):
    from scipy.signal import correlate2d

    return correlate2d(image, kernel, mode="valid")


def _tf_conv2d_forward(x, w, b, stride=1, pad=0):
    import tensorflow as tf

    p = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    return tf.nn.conv2d(x, w, strides=stride, padding=p).numpy() + b


def _tf_pool2d_forward(x, size, stride, mode="max"):
    import tensorflow as tf

    if mode not in ("max", "avg"):
        raise ValueError(mode)
    op = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    return op(x, ksize=size, strides=stride, padding="VALID").numpy()


def _skimage_pool2d_forward(x, size, stride, mode="max"):
    from skimage.util import view_as_windows

    if mode not in ("max", "avg"):
        raise ValueError(mode)
    win = view_as_windows(x, (1, size, size, 1), step=(1, stride, stride, 1))
    return (win.max if mode == "max" else win.mean)(axis=(4, 5, 6, 7))


LAB1_SHORTCUTS = [
    ("corr2d", lab1.check_corr2d, "test_corr2d", _scipy_corr2d, "scipy.signal"),
    ("conv2d_forward", lab1.check_conv2d_forward, "test_conv2d_forward", _tf_conv2d_forward, "tensorflow"),
    ("pool2d_forward", lab1.check_pool2d_forward, "test_pool2d_forward", _tf_pool2d_forward, "tensorflow"),
    ("pool2d_forward", lab1.check_pool2d_forward, "test_pool2d_forward", _skimage_pool2d_forward, "skimage"),
]


@pytest.mark.parametrize(
    "name,check,grade_id,shortcut,library", LAB1_SHORTCUTS, ids=[f"{s[0]}-{s[4]}" for s in LAB1_SHORTCUTS]
)
def test_lab1_shortcut_computes_the_answer_and_earns_nothing(ref1, name, check, grade_id, shortcut, library):
    honest = ref1[name]
    args = {
        "corr2d": (np.arange(20.0).reshape(4, 5), np.ones((2, 3))),
        "conv2d_forward": (np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 1)), np.zeros(1)),
        "pool2d_forward": (np.arange(32.0).reshape(1, 4, 4, 2), 2, 2),
    }[name]
    assert np.allclose(shortcut(*args), honest(*args))  # the numbers are right: only the rule refuses it
    with pytest.raises(CheckFailed, match=rf"write the loops yourself: `{library}[.`]"):
        check(shortcut)
    with pytest.raises(
        CheckFailed,
        match=rf"{lab1.EXERCISES[name].replace('(', '[(]').replace(')', '[)]')}: "
        rf"this exercise asks you to write the loops yourself",
    ):
        _hidden(LAB1, grade_id, ref1, **{name: shortcut})


@pytest.mark.parametrize("grade_id", ["test_corr2d", "test_make_kernel", "test_conv2d_forward", "test_pool2d_forward"])
def test_lab1_hidden_tests_pass_the_solutions(ref1, grade_id):
    _hidden(LAB1, grade_id, ref1)


def test_pooling_that_keeps_a_partial_window_fails_both_checks(ref1):
    def keeps_partial(x, size, stride, mode="max"):
        if mode not in ("max", "avg"):
            raise ValueError(mode)
        n, h, w, c = x.shape
        rows, cols = -(-(h - size) // stride) + 1, -(-(w - size) // stride) + 1
        reduce = np.max if mode == "max" else np.mean
        out = np.empty((n, rows, cols, c))
        for i in range(rows):
            for j in range(cols):
                out[:, i, j, :] = reduce(
                    x[:, i * stride : i * stride + size, j * stride : j * stride + size, :], axis=(1, 2)
                )
        return out

    x = np.arange(32.0).reshape(1, 4, 4, 2)
    assert np.allclose(keeps_partial(x, 2, 2), ref1["pool2d_forward"](x, 2, 2))  # right when the size divides
    with pytest.raises(CheckFailed, match="wrong shape"):
        lab1.check_pool2d_forward(keeps_partial)
    with pytest.raises(CheckFailed, match="a hidden test failed"):
        _hidden(LAB1, "test_pool2d_forward", ref1, pool2d_forward=keeps_partial)


@pytest.mark.parametrize(
    "name,kernel",
    [
        ("edge", [[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),  # the Laplacian: another edge detector
        ("sharpen", [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]]),
        ("gaussian_blur", np.array([[1, 3, 1], [3, 5, 3], [1, 3, 1]]) / 21),
    ],
)
def test_a_kernel_the_hidden_test_refuses_is_refused_by_the_visible_check_too(ref1, name, kernel):
    def make_kernel(n):
        return np.asarray(kernel, float) if n == name else ref1["make_kernel"](n)

    with pytest.raises(CheckFailed, match="lecture's"):
        lab1.check_make_kernel(make_kernel)
    with pytest.raises(CheckFailed, match=r"Exercise 2 \(make_kernel\): a hidden test failed"):
        _hidden(LAB1, "test_make_kernel", ref1, make_kernel=make_kernel)


# ---------------------------------------------------------------- lab 3
LAB3 = "lab3-dropout-init"


@pytest.fixture(scope="module")
def ref3():
    namespace = sources.solutions(LAB3)
    exec(sources.cell_source(LAB3, "forward-passes"), namespace)
    return namespace


def _tape_conv2d_backward(dout, cache):
    import tensorflow as tf

    x, w, b, stride, pad = cache
    tx, tw, tb = (tf.Variable(v, dtype=tf.float64) for v in (x, w, b))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(tx, tw, strides=stride, padding=[[0, 0], [pad, pad], [pad, pad], [0, 0]]) + tb
        loss = tf.reduce_sum(y * dout)
    return [g.numpy() for g in tape.gradient(loss, [tx, tw, tb])]


def _tape_pool2d_backward(dout, cache):
    import tensorflow as tf

    x, size, stride, mode = cache
    tx = tf.Variable(x, dtype=tf.float64)
    op = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(op(tx, ksize=size, strides=stride, padding="VALID") * dout)
    return tape.gradient(loss, tx).numpy()


def _keras_dropout_forward(h, p, training, rng):
    import keras

    if not 0 <= p < 1:
        raise ValueError(p)
    return np.asarray(keras.layers.Dropout(p, seed=int(rng.integers(1 << 30)))(h, training=training))


def _keras_xavier_uniform(n_in, n_out, rng):
    import keras

    return np.asarray(keras.initializers.GlorotUniform(seed=int(rng.integers(1 << 30)))((n_in, n_out)))


LAB3_SHORTCUTS = [
    ("conv2d_backward", "test_conv2d_backward", _tape_conv2d_backward, "derive the gradients yourself"),
    ("pool2d_backward", "test_pool2d_backward", _tape_pool2d_backward, "derive the gradients yourself"),
    ("dropout_forward", "test_dropout_forward", _keras_dropout_forward, "write it with NumPy"),
    ("xavier_uniform", "test_initialisers", _keras_xavier_uniform, "write it with NumPy"),
]


def _lab3_visible(ns, name, fn):
    from cnncourse.checks import lab3

    if name == "conv2d_backward":
        return lab3.check_conv2d_backward(fn, ns["conv2d_forward"])
    if name == "pool2d_backward":
        return lab3.check_pool2d_backward(fn, ns["pool2d_forward"])
    if name == "dropout_forward":
        return lab3.check_dropout_forward(fn)
    return lab3.check_initialisers(fn, ns["he_normal"])


@pytest.mark.parametrize("name,grade_id,shortcut,task", LAB3_SHORTCUTS, ids=[s[0] for s in LAB3_SHORTCUTS])
def test_lab3_shortcut_earns_nothing(ref3, name, grade_id, shortcut, task):
    if name.endswith("backward"):  # the numbers are right: only the rule refuses it
        forward = ref3[name.replace("backward", "forward")]
        args = (np.random.default_rng(0).normal(size=(1, 5, 5, 2)),)
        args += (np.ones((3, 3, 2, 1)), np.zeros(1)) if name.startswith("conv") else (2, 2, "max")
        y, cache = forward(*args)
        got, want = shortcut(np.ones_like(y), cache), ref3[name](np.ones_like(y), cache)
        for g, w in zip(*((v,) if isinstance(v, np.ndarray) else v for v in (got, want))):
            assert np.allclose(g, w)
    with pytest.raises(CheckFailed, match=f"asks you to {task}: `(tensorflow|keras)"):
        _lab3_visible(ref3, name, shortcut)
    with pytest.raises(CheckFailed, match=f"asks you to {task}"):
        _hidden(LAB3, grade_id, ref3, **{name: shortcut})


@pytest.mark.parametrize(
    "grade_id",
    [
        "test_initialisers",
        "test_conv2d_backward",
        "test_pool2d_backward",
        "test_backward_products",
        "test_dropout_forward",
    ],
)
def test_lab3_hidden_tests_pass_the_solutions(ref3, grade_id):
    _hidden(LAB3, grade_id, ref3)


def test_a_backward_pass_that_forgets_rows_a_stride_leaves_over_fails_the_hidden_test(ref3):
    honest = ref3["conv2d_backward"]

    def assumes_even_strides(dout, cache):
        x, w, b, stride, pad = cache
        dx, dw, db = honest(dout, cache)
        n_h = (dout.shape[1] - 1) * stride + w.shape[0] - 2 * pad  # the rows the windows covered
        dx = dx.copy()
        dx[:, n_h:] = 1.0  # fills the rows no window read
        return dx, dw, db

    from cnncourse.checks import lab3

    with pytest.raises(CheckFailed, match="dx differs"):
        lab3.check_conv2d_backward(assumes_even_strides, ref3["conv2d_forward"])
    with pytest.raises(CheckFailed, match=r"Exercise 2 \(conv2d_backward\): a hidden test failed.*dx"):
        _hidden(LAB3, "test_conv2d_backward", ref3, conv2d_backward=assumes_even_strides)


# ---------------------------------------------------------------- lab 2
LAB2 = "lab2-arithmetic"


@pytest.fixture(scope="module")
def ref2():
    namespace = sources.solutions(LAB2)
    exec(sources.cell_source(LAB2, "lenet-spec"), namespace)
    return namespace


def _keras_conv_params(f, d_in, k, bias=True):
    import keras

    layer = keras.layers.Conv2D(k, f, use_bias=bias)
    layer.build((None, f, f, d_in))
    return layer.count_params()


def _keras_dense_params(n_in, n_out, bias=True):
    import keras

    layer = keras.layers.Dense(n_out, use_bias=bias)
    layer.build((None, n_in))
    return layer.count_params()


def _keras_output_size(n, f, stride=1, pad=0, dilation=1):
    import keras

    x = keras.Input(shape=(n, n, 1))
    if not isinstance(pad, str) and pad:
        x = keras.layers.ZeroPadding2D(pad)(x)
    padding = pad if isinstance(pad, str) else "valid"
    return keras.layers.Conv2D(1, f, strides=stride, padding=padding, dilation_rate=dilation)(x).shape[1]


def test_lab2_counts_read_off_keras_earn_nothing(ref2):
    from cnncourse.checks import lab2

    assert _keras_conv_params(5, 3, 10) == ref2["conv_params"](5, 3, 10)
    with pytest.raises(CheckFailed, match="work the numbers out from the formulas: `keras"):
        lab2.check_layer_params(_keras_conv_params, _keras_dense_params)
    with pytest.raises(CheckFailed, match="work the numbers out from the formulas: `keras"):
        _hidden(LAB2, "test_layer_params", ref2, conv_params=_keras_conv_params, dense_params=_keras_dense_params)
    with pytest.raises(CheckFailed, match="work the numbers out from the formulas: `keras"):
        lab2.check_conv_output_size(_keras_output_size)


def test_lab2_the_checks_own_oracle_earns_nothing(ref2):
    from cnncourse.checks import lab2

    def model_table(spec, input_shape):
        import keras

        x, rows = keras.Input(shape=input_shape), []
        for layer in spec:
            built = lab2._keras_layers_of(layer)
            for keras_layer in built:
                x = keras_layer(x)
            rows.append((tuple(x.shape[1:]), sum(keras_layer.count_params() for keras_layer in built)))
        return rows

    with pytest.raises(CheckFailed, match="not allowed here"):
        lab2.check_model_table(model_table)
    with pytest.raises(CheckFailed, match="not allowed here"):
        _hidden(LAB2, "test_model_table", ref2, model_table=model_table)


def _memorised(honest, check, *others):
    """A function that answers the visible check's calls as ``honest`` did (raising where it raised), and 1 otherwise."""
    seen = {}

    def recording(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        try:
            seen[key] = answer = honest(*args, **kwargs)
        except ValueError as exc:
            seen[key] = exc
            raise
        return answer

    check(recording, *others)

    def table(*args, **kwargs):
        answer = seen.get(repr((args, sorted(kwargs.items()))), 1)
        if isinstance(answer, ValueError):
            raise ValueError(str(answer))
        return answer

    return table


@pytest.mark.parametrize(
    "name,grade_id",
    [
        ("conv_output_size", "test_conv_output_size"),
        ("bottleneck_params", "test_bottleneck_params"),
        ("receptive_field", "test_receptive_field"),
    ],
)
def test_lab2_answers_pasted_from_the_visible_feedback_fail_the_hidden_test(ref2, capsys, name, grade_id):
    from cnncourse.checks import lab2

    check = getattr(lab2, f"check_{name}")
    table = _memorised(ref2[name], check)
    check(table)  # the visible check is passed by the table alone
    assert "\u2714" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="a hidden test failed"):
        _hidden(LAB2, grade_id, ref2, **{name: table})


@pytest.mark.parametrize(
    "grade_id",
    [
        "test_conv_output_size",
        "test_layer_params",
        "test_model_table",
        "test_bottleneck_params",
        "test_inception",
        "test_separable",
        "test_receptive_field",
        "test_fire",
    ],
)
def test_lab2_hidden_tests_pass_the_solutions(ref2, grade_id, capsys):
    _hidden(LAB2, grade_id, ref2)
    assert capsys.readouterr().out == ""  # a hidden test speaks only when it fails


# ---------------------------------------------------------------- routes round the rules, and honest code
def test_a_result_that_computes_when_it_is_read_is_read_while_watched(ref1):
    namespace = _cells(
        "from scipy import signal as _s\n"
        "class Lazy:\n"
        "    def __init__(self, image, kernel):\n"
        "        self.args = (image, kernel)\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        return _s.correlate2d(*self.args, mode='valid')\n",
        "def corr2d(image, kernel):\n    return Lazy(image, kernel)\n",
    )
    with pytest.raises(CheckFailed, match="`scipy.signal.correlate2d` is not allowed here"):
        lab1.check_corr2d(namespace["corr2d"])
    dynamic_only = Forbidden("write the loops yourself", modules=("scipy.signal",), strict=True)
    watched = by_hand("x", lambda image, kernel: namespace["Lazy"](image, kernel), dynamic_only)
    with pytest.raises(CheckFailed, match="`scipy.signal` is not allowed here"):
        watched(np.ones((3, 3)), np.ones((2, 2)))  # read inside the watch: the lambda's Lazy is not in its source


@pytest.mark.parametrize(
    "source, name",
    [
        (
            "import _thread\njobs = {'go': _thread.start_new_thread}\n"
            "def corr2d(image, kernel):\n    jobs['go'](print, ())\n    return image\n",
            "_thread.start_new_thread",
        ),
        (
            "import subprocess\ndef corr2d(image, kernel):\n    subprocess.run(['true'])\n    return image\n",
            "subprocess.run",
        ),
        ("def corr2d(image, kernel):\n    return np.fft.irfft2(np.fft.rfft2(image))\n", "numpy.fft.irfft2"),
        ("def corr2d(image, kernel):\n    return eval('image')\n", "eval"),
        ("def corr2d(image, kernel):\n    return corr2d.__globals__['np'].zeros(1)\n", "corr2d.__globals__"),
    ],
    ids=["thread-in-a-dict", "subprocess", "fft", "eval", "globals"],
)
def test_ways_out_of_the_watched_call_are_refused(source, name):
    with pytest.raises(CheckFailed, match=f"`{name}`.* is not allowed here"):
        lab1.check_corr2d(_cells(source)["corr2d"])


def test_a_numpy_scalar_subclass_cannot_answer_for_itself():
    from cnncourse.checks import lab2, lab6

    class Liar(np.int64):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = np.int64.__hash__

    with pytest.raises(CheckFailed):
        lab6.check_head_params(lambda height, width, channels, num_classes, pooling: Liar(0))
    with pytest.raises(CheckFailed):
        lab2.check_fire(lambda expand, sr, pct3x3: (Liar(0), Liar(0), Liar(0)), lambda *args: Liar(0))


def test_an_honest_parameter_named_like_a_forbidden_global_is_not_refused(ref2):
    from cnncourse.checks import lab2

    namespace = _cells(
        "from keras import layers\n",
        "def receptive_field(layers):\n"
        "    field, jump = 1, 1\n"
        "    for f, stride in layers:\n"
        "        field += (f - 1) * jump\n"
        "        jump *= stride\n"
        "    return field\n",
    )
    lab2.check_receptive_field(namespace["receptive_field"])
    namespace = _cells(
        "from keras import layers\n",
        "def receptive_field(stack):\n    return layers.Conv2D(1, stack[0][0]).kernel_size[0]\n",
    )
    with pytest.raises(CheckFailed, match="`keras"):  # the same name, the notebook's: refused
        lab2.check_receptive_field(namespace["receptive_field"])


def test_a_function_that_claims_to_be_the_checks_own_code_is_refused():
    from cnncourse.checks import by_hand as module

    cells = (
        "from scipy.signal import correlate2d as _c\n"
        "def helper(image, kernel):\n    return _c(image, kernel, mode='valid')\n"
        "helper.__code__ = helper.__code__.replace(co_filename=_by_hand_file, co_firstlineno=99999)\n",
        "def corr2d(image, kernel):\n    return helper(image, kernel)\n",
    )
    namespace = _cells(*cells, _by_hand_file=module.__file__)
    with pytest.raises(CheckFailed, match="cannot be read"):
        lab1.check_corr2d(namespace["corr2d"])


def test_an_object_that_is_not_numbers_is_refused_whatever_it_claims():
    from cnncourse.checks import lab6

    namespace = _cells(
        "class Count:\n"
        "    __eq__ = lambda self, other: True\n"
        "    __ne__ = lambda self, other: False\n"
        "    __class__ = property(lambda self: int)\n",
        "def head_params(height, width, channels, num_classes, pooling):\n    return Count()\n",
    )
    assert isinstance(namespace["Count"](), int)  # it says it is an int
    with pytest.raises(CheckFailed, match="returned a Count object"):
        lab6.check_head_params(namespace["head_params"])


def test_a_result_computed_when_its_rows_are_read_is_read_while_watched():
    namespace = _cells(
        "from scipy.signal import correlate2d\n"
        "class Rows:\n"
        "    def __init__(self, image, kernel):\n        self.args = (image, kernel)\n"
        "    def __len__(self):\n        return len(self.full())\n"
        "    def __getitem__(self, i):\n        return self.full()[i]\n"
        "    def full(self):\n        return correlate2d(*self.args, mode='valid')\n",
        "def corr2d(image, kernel):\n    return Rows(image, kernel)\n",
    )
    with pytest.raises(CheckFailed, match="scipy.signal"):
        lab1.check_corr2d(namespace["corr2d"])


def test_numpys_c_correlation_is_refused_and_an_honest_dataclass_helper_is_not(ref1):
    namespace = _cells(
        "from numpy._core.multiarray import correlate2\n"
        "def corr2d(image, kernel):\n"
        "    kh, kw = kernel.shape\n"
        "    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))\n"
        "    for i in range(out.shape[0]):\n"
        "        for a in range(kh):\n"
        "            out[i] += correlate2(image[i + a], kernel[a], 0)\n"
        "    return out\n"
    )
    with pytest.raises(CheckFailed, match="correlate2"):
        lab1.check_corr2d(namespace["corr2d"])
    namespace = _cells(
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class Window:\n"
        "    image: np.ndarray\n"
        "    def at(self, i, j, h, w):\n        return self.image[i:i + h, j:j + w]\n",
        "def corr2d(image, kernel):\n"
        "    win, (kh, kw) = Window(image), kernel.shape\n"
        "    return np.array([[np.sum(win.at(i, j, kh, kw) * kernel)\n"
        "                      for j in range(image.shape[1] - kw + 1)]\n"
        "                     for i in range(image.shape[0] - kh + 1)])\n",
    )
    lab1.check_corr2d(namespace["corr2d"])


# ---------------------------------------------------------------- ways round found by trying them
def test_a_c_function_behind_functools_partial_is_seen():
    namespace = _cells(
        "import functools\nfrom scipy.signal import _sigtools\n"
        "_core = functools.partial(functools.partial(_sigtools._convolve2d))\n",
        "def corr2d(image, kernel):\n"
        "    return _core(np.asarray(image, float), np.asarray(kernel, float), 0, 0, 0, 0)\n",
    )
    assert static_violations(namespace["corr2d"], LOOPS) == ["scipy.signal._convolve2d"]
    namespace = _cells(
        "import functools\nimport numpy\n"
        "_row = functools.partial(getattr(numpy, '_core', numpy).multiarray.correlate2)\n",
        "def corr2d(image, kernel):\n    return _row(image[0], kernel[0], 0)\n",
    )
    assert static_violations(namespace["corr2d"], LOOPS)


def test_a_c_function_with_a_rewritten_module_name_is_still_where_it_lives():
    from scipy.signal import _sigtools

    stated = _sigtools._convolve2d.__module__
    namespace = _cells(
        "from scipy.signal import _sigtools\n_core = _sigtools._convolve2d\n",
        "def corr2d(image, kernel):\n"
        "    return _core(np.asarray(image, float), np.asarray(kernel, float), 0, 0, 0, 0)\n",
    )
    try:
        _sigtools._convolve2d.__module__ = "mytools"
        assert static_violations(namespace["corr2d"], LOOPS) == ["scipy.signal._convolve2d"]
        rules = Forbidden("write the loops yourself", modules=("scipy.signal",))
        with pytest.raises(CheckFailed, match=r"`scipy\.signal\._convolve2d` is not allowed here"):
            by_hand("Exercise 1 (corr2d)", namespace["corr2d"], rules)(np.ones((3, 3)), np.ones((2, 2)))
    finally:
        _sigtools._convolve2d.__module__ = stated


def test_another_process_and_pandas_windows_are_refused():
    namespace = _cells(
        "import os, sys\nimport pandas as pd\n",
        "def corr2d(image, kernel):\n"
        "    os.waitpid(os.posix_spawnp(sys.executable, [sys.executable, '-c', 'pass'], {}), 0)\n"
        "    return np.zeros((2, 2))\n",
        "def pool(x, size):\n    return pd.DataFrame(x).rolling(size).max().to_numpy()\n",
    )
    assert static_violations(namespace["corr2d"], LOOPS) == ["posix.posix_spawnp"]
    assert static_violations(namespace["pool"], LOOPS) == ["pandas.DataFrame"]


def test_a_random_generator_made_inside_an_honest_function_is_allowed():
    from cnncourse.checks.by_hand import NUMPY_ONLY

    namespace = _cells("def noisy(x):\n    rng = np.random.default_rng(7)\n    return x + rng.random(x.shape)\n")
    out = by_hand("Exercise 5 (dropout_forward)", namespace["noisy"], NUMPY_ONLY)(np.zeros(3))
    assert np.allclose(out, np.random.default_rng(7).random(3))
