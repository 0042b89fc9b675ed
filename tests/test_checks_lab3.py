"""Lab 3 checks: right answers pass, plausible wrong answers fail, the experiment's answer is robust."""

import functools

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import sources
from cnncourse.checks import CheckFailed, lab3
from cnncourse.checks.core import NotAttempted

LAB = "lab3-dropout-init"


# --------------------------------------------------------------------------
# Right answers and the forward passes: the source notebook's
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _reference():
    namespace = sources.solutions(LAB)
    exec(sources.cell_source(LAB, "forward-passes"), namespace)
    return namespace


def _ref(name):
    """The source notebook's ``name``, looked up when first called (the notebook runs once)."""
    def run(*args, **kwargs):
        return _reference()[name](*args, **kwargs)

    run.__name__ = name
    return run


@pytest.fixture(autouse=True, scope="module")
def _notebook_run_first():
    """Run the notebook before any check watches a call (its imports are not the answers' calls)."""
    _reference()


conv2d_forward, pool2d_forward = _ref("conv2d_forward"), _ref("pool2d_forward")
conv2d_backward, pool2d_backward = _ref("conv2d_backward"), _ref("pool2d_backward")
xavier_uniform, he_normal, dropout_forward = _ref("xavier_uniform"), _ref("he_normal"), _ref("dropout_forward")
build_net, overfit_gap, which_overfits = _ref("build_net"), _ref("overfit_gap"), _ref("which_overfits")


# --------------------------------------------------------------------------
# Wrong answers written apart from the solutions
# --------------------------------------------------------------------------
def _pool_backward(dout, cache, overwrite=False, divide=True, whole_window=False):
    """Pooling's backward pass with one of the usual mistakes switched on (all off: a right answer)."""
    x, size, stride, mode = cache
    dx = np.zeros(x.shape)
    for i, j in np.ndindex(*dout.shape[1:3]):
        r, q = i * stride, j * stride
        block = x[:, r:r + size, q:q + size, :]
        grad = dout[:, i:i + 1, j:j + 1, :]
        if mode == "max" and not whole_window:
            share = grad * (block == block.max(axis=(1, 2), keepdims=True))
        else:
            share = grad / (size * size) if divide else grad
        if overwrite:
            dx[:, r:r + size, q:q + size, :] = share
        else:
            dx[:, r:r + size, q:q + size, :] += share
    return dx


def _fails(check, *fns, match=None):
    with pytest.raises(CheckFailed, match=match):
        check(*fns)


# --------------------------------------------------------------------------
# Initialisers
# --------------------------------------------------------------------------
def test_initialisers_right_answers_pass(capsys):
    assert lab3.check_initialisers(xavier_uniform, he_normal) is None
    assert "\u2714" in capsys.readouterr().out


def test_initialiser_wrong_answers():
    def xavier_n_in(n_in, n_out, rng):
        a = np.sqrt(6.0 / (2 * n_in))
        return rng.uniform(-a, a, size=(n_in, n_out))

    def xavier_variance_as_bound(n_in, n_out, rng):
        a = 2.0 / (n_in + n_out)
        return rng.uniform(-a, a, size=(n_in, n_out))

    def xavier_normal(n_in, n_out, rng):
        return rng.normal(0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))

    def global_rng(n_in, n_out, rng):
        a = np.sqrt(6.0 / (n_in + n_out))
        return np.random.uniform(-a, a, size=(n_in, n_out))

    def he_variance_as_std(n_in, n_out, rng):
        return rng.normal(0, 2.0 / n_in, size=(n_in, n_out))

    def he_lecun(n_in, n_out, rng):
        return rng.normal(0, np.sqrt(1.0 / n_in), size=(n_in, n_out))

    def naive(n_in, n_out, rng):
        return rng.normal(0, 1.0, size=(n_in, n_out))

    def transposed(n_in, n_out, rng):
        return he_normal(n_out, n_in, rng)

    _fails(lab3.check_initialisers, xavier_n_in, he_normal, match="n_in and n_out")
    _fails(lab3.check_initialisers, xavier_variance_as_bound, he_normal, match="variance")
    _fails(lab3.check_initialisers, xavier_normal, he_normal, match="uniform")
    _fails(lab3.check_initialisers, global_rng, he_normal, match="rng")
    _fails(lab3.check_initialisers, xavier_uniform, he_variance_as_std, match="standard deviation")
    _fails(lab3.check_initialisers, xavier_uniform, he_lecun)
    _fails(lab3.check_initialisers, naive, he_normal)
    _fails(lab3.check_initialisers, xavier_uniform, transposed, match="shape")


def test_naive_init_explodes_or_vanishes_where_the_formulas_hold():
    wide = lab3.signal_through_stack(lambda i, o, r: r.normal(0, 1, (i, o)), "linear")
    tiny = lab3.signal_through_stack(lambda i, o, r: r.normal(0, 0.01, (i, o)), "linear")
    assert wide[-1] > 1e20 and tiny[-1] < 1e-20
    for seed in range(3):
        for init, act in ((xavier_uniform, "linear"), (he_normal, "relu")):
            r = lab3.signal_through_stack(init, act, seed=seed)
            assert 0.25 < r.min() and r.max() < 4


# --------------------------------------------------------------------------
# Backward passes
# --------------------------------------------------------------------------
def test_backward_right_answers_pass(capsys):
    assert lab3.check_conv2d_backward(conv2d_backward, conv2d_forward) is None
    assert lab3.check_pool2d_backward(pool2d_backward, pool2d_forward) is None
    assert capsys.readouterr().out.count("\u2714") == 2


def test_conv2d_backward_wrong_answers():
    def dw_without_stride(d, c):
        dx, _, db = conv2d_backward(d, c)
        x, w, _, _, p = c
        padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        # the first H_out x W_out windows, side by side, instead of every stride-th one
        first = sliding_window_view(padded, w.shape[:2], axis=(1, 2))[:, :d.shape[1], :d.shape[2]]
        return dx, np.einsum("nijcab,nijk->abck", first, d), db

    def padding_kept(d, c):
        dx, dw, db = conv2d_backward(d, c)
        p = c[4]
        return np.pad(dx, ((0, 0), (p, p), (p, p), (0, 0))), dw, db

    def db_per_example(d, c):
        dx, dw, _ = conv2d_backward(d, c)
        return dx, dw, d.sum(axis=(1, 2))

    _fails(lab3.check_conv2d_backward, dw_without_stride, conv2d_forward, match="dw differs")
    _fails(lab3.check_conv2d_backward, padding_kept, conv2d_forward, match="dx has the wrong shape")
    _fails(lab3.check_conv2d_backward, db_per_example, conv2d_forward, match="db has the wrong shape")

    def flipped_dx(d, c):
        dx, dw, db = conv2d_backward(d, c)
        x, w, b, s, p = c
        dx2, _, _ = conv2d_backward(d, (x, w[::-1, ::-1], b, s, p))
        return dx2, dw, db

    def dw_one_example(d, c):
        dx, dw, db = conv2d_backward(d[:1], (c[0][:1],) + tuple(c[1:]))
        return conv2d_backward(d, c)[0], dw, conv2d_backward(d, c)[2]

    _fails(lab3.check_conv2d_backward, flipped_dx, conv2d_forward, match="dx differs")
    _fails(lab3.check_conv2d_backward, dw_one_example, conv2d_forward, match="dw differs")
    _fails(lab3.check_conv2d_backward, lambda d, c: conv2d_backward(d, c)[:2], conv2d_forward, match="tuple")


def test_pool2d_backward_wrong_answers():
    assert lab3.check_pool2d_backward(_pool_backward, pool2d_forward) is None  # the mistakes are the only change
    _fails(lab3.check_pool2d_backward, lambda d, c: _pool_backward(d, c, overwrite=True), pool2d_forward,
           match="overlap")
    _fails(lab3.check_pool2d_backward, lambda d, c: _pool_backward(d, c, divide=c[3] != "avg"), pool2d_forward,
           match="size \\* size")
    _fails(lab3.check_pool2d_backward, lambda d, c: _pool_backward(d, c, whole_window=True, divide=False),
           pool2d_forward, match="largest input")


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------
def test_dropout_right_answer_passes(capsys):
    assert lab3.check_dropout_forward(dropout_forward) is None


def test_dropout_wrong_answers():
    def keep_prob(h, p, training, rng):
        return dropout_forward(h, 1 - p, training, rng) if 0 < p < 1 else dropout_forward(h, p, training, rng)

    def not_inverted(h, p, training, rng):
        out = dropout_forward(h, p, training, rng)
        return out * (1 - p) if training else out

    def old_style_test_time(h, p, training, rng):
        return dropout_forward(h, p, True, rng) if training else h * (1 - p)

    def no_validation(h, p, training, rng):
        if not training or p <= 0:
            return np.array(h, copy=True)
        mask = rng.random(np.shape(h)) >= p
        return np.where(mask, h / max(1 - p, 1e-12), 0.0)

    def global_rng(h, p, training, rng):
        return dropout_forward(h, p, training, np.random.default_rng())

    def one_mask_per_batch(h, p, training, rng):
        if not 0 <= p < 1:
            raise ValueError
        if not training:
            return np.array(h, copy=True)
        mask = rng.random(np.shape(h)[1:]) >= p
        return np.where(mask, h / (1 - p), 0.0)

    def in_place(h, p, training, rng):
        out = dropout_forward(h, p, training, rng)
        h[...] = out
        return out

    _fails(lab3.check_dropout_forward, keep_prob, match="DROPPING")
    _fails(lab3.check_dropout_forward, not_inverted, match="not rescaled")
    _fails(lab3.check_dropout_forward, old_style_test_time, match="non-inverted")
    _fails(lab3.check_dropout_forward, no_validation, match="ValueError")
    _fails(lab3.check_dropout_forward, global_rng, match="rng")
    _fails(lab3.check_dropout_forward, one_mask_per_batch, match="own random mask")
    _fails(lab3.check_dropout_forward, in_place)


# --------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------
def test_build_net_right_and_wrong():
    assert lab3.check_build_net(build_net) is None

    def no_dropout_layers(rate):
        import keras

        L = keras.layers
        return keras.Sequential([keras.Input(shape=(64,)), L.Dense(256, activation="relu"),
                                 L.Dense(256, activation="relu"), L.Dense(10, activation="softmax")])

    def fixed_rate(rate):
        return build_net(0.5)

    _fails(lab3.check_build_net, no_dropout_layers, match="missing")
    _fails(lab3.check_build_net, fixed_rate, match="rate")


def test_gap_and_question_wrong_answers():
    assert lab3.check_overfit_gap(overfit_gap, which_overfits) is None
    _fails(lab3.check_overfit_gap, lambda h, last=5: -overfit_gap(h, last), which_overfits, match="sign")
    _fails(lab3.check_overfit_gap, lambda h, last=5: overfit_gap(h, len(h["loss"])), which_overfits, match="LAST")
    _fails(lab3.check_overfit_gap, lambda h, last=5: float(np.mean(np.array(h["accuracy"][-last:])
                                                                   - np.array(h["val_accuracy"][-last:]))),
           which_overfits)
    _fails(lab3.check_overfit_gap, overfit_gap, lambda hs: min(hs, key=lambda k: overfit_gap(hs[k])), match="largest")
    _fails(lab3.check_overfit_gap, overfit_gap, lambda hs: "no dropout", match="largest")
    real = {"no dropout": {"loss": [0.1] * 5, "val_loss": [0.2] * 5},
            "dropout 0.5": {"loss": [0.1] * 5, "val_loss": [0.6] * 5}}
    with pytest.raises(CheckFailed, match="your own training"):
        lab3.check_overfit_gap(overfit_gap, lambda hs: "no dropout" if len(hs) == 2 else which_overfits(hs), real)


def test_self_test_format():
    assert lab3.check_choice("b") is None
    with pytest.raises(CheckFailed):
        lab3.check_choice("E")
    with pytest.raises(CheckFailed):
        lab3.check_choice(2)


def test_not_attempted_is_reported():
    def todo(*args, **kwargs):
        raise NotImplementedError()

    for check, args in [(lab3.check_initialisers, (todo, todo)), (lab3.check_dropout_forward, (todo,)),
                        (lab3.check_conv2d_backward, (todo, conv2d_forward)), (lab3.check_build_net, (todo,))]:
        with pytest.raises(NotAttempted):
            check(*args)


@pytest.mark.slow
def test_no_dropout_overfits_more_across_seeds():
    """The graded answer of the experiment ('no dropout' has the larger gap) holds for several seeds."""
    experiment = sources.cell_source(LAB, "experiment")

    def run_experiment(seed):
        namespace = dict(_reference(), SEED=seed)
        exec(experiment, namespace)
        return {k: v.history for k, v in namespace["histories"].items()}

    margins = []
    for seed in (0, 1, 2):
        histories = run_experiment(seed)
        assert which_overfits(histories) == "no dropout", {k: overfit_gap(v) for k, v in histories.items()}
        margins.append(overfit_gap(histories["no dropout"]) - overfit_gap(histories["dropout 0.5"]))
    assert min(margins) > 0.05, margins


def _hidden_tests(grade_id):
    """The hidden-test lines of one test cell of the lab 3 source notebook."""
    return sources.hidden_tests(LAB, grade_id)


def test_hidden_self_test_rejects_wrong_letters():
    hidden = _hidden_tests("test_selftest")
    exec(hidden, {"selftest_answer": "b", "checks": lab3})
    for wrong in "ACD":
        with pytest.raises(AssertionError, match=r"Exercise 4 \(self-test\): a hidden test failed"):
            exec(hidden, {"selftest_answer": wrong, "checks": lab3})


def test_hidden_experiment_test_follows_the_histories():
    hidden = _hidden_tests("test_overfit_gap")
    ns = {"np": np, "checks": lab3, "overfit_gap": overfit_gap, "which_overfits": which_overfits}
    ok = {"no dropout": {"loss": [0.01] * 5, "val_loss": [0.3] * 5},
          "dropout 0.5": {"loss": [0.2] * 5, "val_loss": [0.25] * 5}}
    exec(hidden, dict(ns, histories=ok))
    with pytest.raises(AssertionError):  # an answer that ignores the histories
        exec(hidden, dict(ns, histories=ok, which_overfits=lambda hs: "dropout 0.5"))
    # Over all 8 epochs 'dropout 0.5' has the larger gap, over the last 5 'no dropout' has.
    turning = {"no dropout": {"loss": [0.5] * 8, "val_loss": [0.5] * 3 + [0.9] * 5},
               "dropout 0.5": {"loss": [0.5] * 8, "val_loss": [2.0] * 3 + [0.7] * 5}}
    exec(hidden, dict(ns, histories=turning))

    def whole_history(hs):
        return max(hs, key=lambda k: float(np.mean(np.subtract(hs[k]["val_loss"], hs[k]["loss"]))))

    with pytest.raises(AssertionError):
        exec(hidden, dict(ns, histories=turning, which_overfits=whole_history))
    rising = {"no dropout": {"loss": [0.5] * 8, "val_loss": [0.5, 0.5, 0.5, 0.6, 0.7, 0.9, 1.0, 1.1]},
              "dropout 0.5": {"loss": [0.5] * 8, "val_loss": [0.5] * 3 + [0.6] * 5}}
    exec(hidden, dict(ns, histories=rising))
    with pytest.raises(AssertionError):  # the gap of the last 3 epochs, not 5
        exec(hidden, dict(ns, histories=rising, overfit_gap=lambda h, last=5: overfit_gap(h, 3)))


def test_an_overfitting_gap_read_off_the_checks_own_helper_is_refused():
    from cnncourse.checks import training

    def overfit_gap_by_the_checks(history, last=5):
        return -training.generalisation_gap(history, last, metric="loss")

    with pytest.raises(CheckFailed, match="`cnncourse.checks.training.generalisation_gap` is not allowed here"):
        lab3.check_overfit_gap(overfit_gap_by_the_checks, which_overfits)
