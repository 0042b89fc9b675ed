"""Lab 3 checks: right answers pass, plausible wrong answers fail, the experiment's answer is robust."""

import numpy as np
import pytest

import sources
from cnncourse.checks import CheckFailed, lab3
from cnncourse.checks.core import NotAttempted

LAB = "lab3-dropout-init"


# --------------------------------------------------------------------------
# The forward passes the notebook supplies, and right answers
# --------------------------------------------------------------------------
def conv2d_forward(x, w, b, stride=1, pad=0):
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f = w.shape[0]
    h_out = (xp.shape[1] - f) // stride + 1
    w_out = (xp.shape[2] - f) // stride + 1
    y = np.empty((x.shape[0], h_out, w_out, w.shape[3]))
    for i in range(h_out):
        for j in range(w_out):
            patch = xp[:, i * stride:i * stride + f, j * stride:j * stride + f, :]
            y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2])) + b
    return y, (x, w, b, stride, pad)


def pool2d_forward(x, size, stride, mode="max"):
    h_out = (x.shape[1] - size) // stride + 1
    w_out = (x.shape[2] - size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    y = np.empty((x.shape[0], h_out, w_out, x.shape[3]))
    for i in range(h_out):
        for j in range(w_out):
            y[:, i, j, :] = reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size, :], axis=(1, 2))
    return y, (x, size, stride, mode)


def conv2d_backward(dout, cache, stride_in_dw=True, crop=True, sum_db=True):
    x, w, b, stride, pad = cache
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    f = w.shape[0]
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            s = stride if stride_in_dw else 1
            window = xp[:, i * s:i * s + f, j * s:j * s + f, :]
            dw += np.tensordot(window, dout[:, i, j, :], axes=([0], [0]))
            dxp[:, i * stride:i * stride + f, j * stride:j * stride + f, :] += np.tensordot(
                dout[:, i, j, :], w, axes=([1], [3]))
    dx = dxp[:, pad:pad + x.shape[1], pad:pad + x.shape[2], :] if crop else dxp
    db = dout.sum(axis=(0, 1, 2)) if sum_db else dout.sum(axis=(1, 2))
    return dx, dw, db


def pool2d_backward(dout, cache, accumulate=True, divide=True, all_in_window=False):
    x, size, stride, mode = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            sl = (slice(None), slice(i * stride, i * stride + size), slice(j * stride, j * stride + size), slice(None))
            window = x[sl]
            g = dout[:, i, j, :][:, None, None, :]
            if mode == "max" and not all_in_window:
                part = (window == window.max(axis=(1, 2), keepdims=True)) * g
            else:
                part = np.broadcast_to(g / (size * size if divide else 1), window.shape)
            if accumulate:
                dx[sl] += part
            else:
                dx[sl] = part
    return dx


def xavier_uniform(n_in, n_out, rng):
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out))


def he_normal(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def dropout_forward(h, p, training, rng):
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1)")
    if not training or p == 0:
        return np.array(h, dtype=float, copy=True)
    mask = rng.random(np.shape(h)) >= p
    return np.where(mask, h / (1 - p), 0.0)


def build_net(dropout_rate):
    import keras

    L = keras.layers
    return keras.Sequential([keras.Input(shape=(64,)), L.Dense(256, activation="relu"), L.Dropout(dropout_rate),
                             L.Dense(256, activation="relu"), L.Dropout(dropout_rate),
                             L.Dense(10, activation="softmax")])


def overfit_gap(history, last=5):
    h = history.history if hasattr(history, "history") else history
    return float(np.mean(np.array(h["val_loss"][-last:]) - np.array(h["loss"][-last:])))


def which_overfits(histories):
    return max(histories, key=lambda name: overfit_gap(histories[name]))


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
    _fails(lab3.check_conv2d_backward, lambda d, c: conv2d_backward(d, c, stride_in_dw=False), conv2d_forward,
           match="dw")
    _fails(lab3.check_conv2d_backward, lambda d, c: conv2d_backward(d, c, crop=False), conv2d_forward,
           match="dx has the wrong shape")
    _fails(lab3.check_conv2d_backward, lambda d, c: conv2d_backward(d, c, sum_db=False), conv2d_forward,
           match="db has the wrong shape")

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
    _fails(lab3.check_pool2d_backward, lambda d, c: pool2d_backward(d, c, accumulate=False), pool2d_forward,
           match="overlap")
    _fails(lab3.check_pool2d_backward, lambda d, c: pool2d_backward(d, c, divide=False) if c[3] == "avg"
           else pool2d_backward(d, c), pool2d_forward, match="size \\* size")
    _fails(lab3.check_pool2d_backward, lambda d, c: pool2d_backward(d, c, all_in_window=True, divide=False),
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
        namespace = {"build_net": build_net, "SEED": seed}
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
    exec(hidden, {"selftest_answer": "b"})
    for wrong in "ACD":
        with pytest.raises(AssertionError):
            exec(hidden, {"selftest_answer": wrong})


def test_hidden_experiment_test_follows_the_histories():
    hidden = _hidden_tests("test_overfit_gap")
    ns = {"checks": lab3, "overfit_gap": overfit_gap, "which_overfits": which_overfits}
    ok = {"no dropout": {"loss": [0.01] * 5, "val_loss": [0.3] * 5},
          "dropout 0.5": {"loss": [0.2] * 5, "val_loss": [0.25] * 5}}
    exec(hidden, dict(ns, histories=ok))
    with pytest.raises(AssertionError):  # an answer that ignores the histories
        exec(hidden, dict(ns, histories=ok, which_overfits=lambda hs: "dropout 0.5"))
