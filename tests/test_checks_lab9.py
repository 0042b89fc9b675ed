"""Lab 9 checks: the source's solutions pass, plausible wrong answers fail with the right hint."""

import functools

import numpy as np
import pytest

import sources
from cnncourse.checks import CheckFailed, NotAttempted, lab9
from cnncourse.checks.by_hand import Refused

LAB = "lab9-optimization"

keras = pytest.importorskip("keras")


# --------------------------------------------------------------------------
# Right answers, and the lab's own data and paths: the source notebook's
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _reference():
    namespace = sources.solutions(LAB)
    for grade_id in ("wine", "valley", "race-run"):  # the locked cells the hidden tests read
        exec(sources.cell_source(LAB, grade_id), namespace)
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
    import matplotlib.pyplot as plt

    _reference()
    plt.close("all")


standardize = _ref("standardize")
sgd_momentum_step, rmsprop_step, adam_step = _ref("sgd_momentum_step"), _ref("rmsprop_step"), _ref("adam_step")
steps_to_reach, valley_crossings, race = _ref("steps_to_reach"), _ref("valley_crossings"), _ref("race")
cosine_decay, make_optimizer = _ref("cosine_decay"), _ref("make_optimizer")
smooth_labels, smoothed_cross_entropy = _ref("smooth_labels"), _ref("smoothed_cross_entropy")


def _fails(check, *fns, match=None, **kwargs):
    with pytest.raises(CheckFailed, match=match):
        check(*fns, **kwargs)


def test_right_answers_pass(capsys):
    assert lab9.check_standardize(standardize) is None
    assert lab9.check_sgd_momentum_step(sgd_momentum_step) is None
    assert lab9.check_rmsprop_step(rmsprop_step) is None
    assert lab9.check_adam_step(adam_step) is None
    assert lab9.check_race(steps_to_reach, valley_crossings, race, _reference()["paths"], _reference()["TOL"]) is None
    assert lab9.check_cosine_decay(cosine_decay) is None
    assert lab9.check_label_smoothing(smooth_labels, smoothed_cross_entropy) is None
    assert lab9.check_make_optimizer(make_optimizer) is None
    assert capsys.readouterr().out.count("\u2714") == 8


def test_not_attempted_is_reported_as_such():
    def adam_step(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        lab9.check_adam_step(adam_step)


# --------------------------------------------------------------------------
# Exercise 1: standardize
# --------------------------------------------------------------------------
def _axes(x):
    return tuple(range(np.ndim(x) - 1))


def _standardize_with(stats, floor=True, ddof=0):
    """Standardisation with the statistics of ``stats(x_train, x_test)`` (a wrong set, or wrong axes)."""

    def wrong(x_train, x_test):
        x_train, x_test = np.asarray(x_train, dtype=float), np.asarray(x_test, dtype=float)
        source, axes = stats(x_train, x_test)
        mean, spread = source.mean(axis=axes), source.std(axis=axes, ddof=ddof)
        spread = np.maximum(spread, 1e-7) if floor else spread
        return (x_train - mean) / spread, (x_test - mean) / spread

    return wrong


def test_standardize_from_test_statistics_fails():
    def test_statistics(x_train, x_test):
        x_train, x_test = np.asarray(x_train, dtype=float), np.asarray(x_test, dtype=float)
        a, b = _axes(x_train), _axes(x_test)
        return (
            (x_train - x_train.mean(a)) / np.maximum(x_train.std(a), 1e-7),
            (x_test - x_test.mean(b)) / np.maximum(x_test.std(b), 1e-7),
        )

    _fails(lab9.check_standardize, test_statistics, match="statistics came from the test set")
    _fails(
        lab9.check_standardize,
        _standardize_with(lambda tr, te: (te, _axes(te))),
        match="statistics came from the test set",
    )


def test_standardize_from_both_sets_fails():
    _fails(
        lab9.check_standardize,
        _standardize_with(lambda tr, te: (np.concatenate([tr, te]), _axes(tr))),
        match="from both sets",
    )


@pytest.mark.parametrize(
    "stats, match",
    [
        (lambda tr, te: (tr, (0,)), "Every pixel was standardised on its own"),
        (lambda tr, te: (tr, tuple(range(tr.ndim))), "One mean and std for the whole array"),
    ],
    ids=["per-pixel", "whole-array"],
)
def test_standardize_over_the_wrong_axes_fails(stats, match):
    _fails(lab9.check_standardize, _standardize_with(stats), match=match)


def test_standardize_details_fail():
    _fails(lab9.check_standardize, _standardize_with(lambda tr, te: (tr, _axes(tr)), ddof=1), match="ddof=0")
    _fails(
        lab9.check_standardize, _standardize_with(lambda tr, te: (tr, _axes(tr)), floor=False), match="divide by max"
    )

    def in_place(x_train, x_test):
        a, b = standardize(x_train, x_test)
        x_train -= x_train.mean()
        return a, b

    _fails(lab9.check_standardize, in_place, match="changed the arrays")


def test_standardize_with_a_library_is_refused():
    def with_keras(x_train, x_test):
        layer = keras.layers.Normalization(axis=-1)
        layer.adapt(x_train)
        return np.asarray(layer(x_train)), np.asarray(layer(x_test))

    def with_sklearn(x_train, x_test):
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(x_train.reshape(-1, x_train.shape[-1]))
        return (
            scaler.transform(x_train.reshape(-1, x_train.shape[-1])).reshape(x_train.shape),
            scaler.transform(x_test.reshape(-1, x_test.shape[-1])).reshape(x_test.shape),
        )

    for wrong in (with_keras, with_sklearn):
        with pytest.raises(Refused):
            lab9.check_standardize(wrong)


# --------------------------------------------------------------------------
# Exercises 2 to 4: the optimiser steps
# --------------------------------------------------------------------------
def test_momentum_without_the_velocity_fails():
    def plain_sgd(w, g, state, lr, momentum=0.9):
        return w - lr * g, state

    _fails(lab9.check_sgd_momentum_step, plain_sgd, match="velocity is missing")


def test_the_lectures_form_of_momentum_passes():
    """v = rho v + g, w -= lr v: with a constant learning rate, the same path as Keras's."""

    def lecture(w, g, state, lr, momentum=0.9):
        v = momentum * state.get("v", 0.0) + g
        return w - lr * v, {"v": v}

    assert lab9.check_sgd_momentum_step(lecture) is None


def test_other_wrong_momentum_fails():
    def averaged(w, g, state, lr, momentum=0.9):  # an exponential average instead of a sum
        v = momentum * state.get("v", 0.0) + (1 - momentum) * g
        return w - lr * v, {"v": v}

    kept = {}

    def global_velocity(w, g, state, lr, momentum=0.9):  # the velocity kept outside the state
        kept["v"] = momentum * kept.get("v", 0.0) - lr * g
        return w + kept["v"], {}

    def in_place(w, g, state, lr, momentum=0.9):
        new, state = sgd_momentum_step(w, g, state, lr, momentum)
        w[...] = new
        return w, state

    _fails(lab9.check_sgd_momentum_step, averaged, match="first step")
    _fails(lab9.check_sgd_momentum_step, global_velocity)
    _fails(lab9.check_sgd_momentum_step, in_place, match="changed the w or g")


def test_rmsprop_with_the_square_root_in_the_wrong_place_fails():
    def epsilon_outside(w, g, state, lr, rho=0.9, epsilon=1e-7):  # the lecture's sqrt(s) + epsilon
        s = rho * state.get("s", 0.0) + (1 - rho) * g**2
        return w - lr * g / (np.sqrt(s) + epsilon), {"s": s}

    def no_root(w, g, state, lr, rho=0.9, epsilon=1e-7):
        s = rho * state.get("s", 0.0) + (1 - rho) * g**2
        return w - lr * g / (s + epsilon), {"s": s}

    def root_of_the_gradient(w, g, state, lr, rho=0.9, epsilon=1e-7):  # averages |g|, then takes no square
        s = rho * state.get("s", 0.0) + (1 - rho) * np.sqrt(g**2)
        return w - lr * g / (s + epsilon), {"s": s}

    _fails(lab9.check_rmsprop_step, epsilon_outside, match="BEFORE the square root")
    _fails(lab9.check_rmsprop_step, no_root, match="square root of")
    _fails(lab9.check_rmsprop_step, root_of_the_gradient, match="square root of")


def test_rmsprop_without_epsilon_and_with_rho_swapped_fail():
    def no_epsilon(w, g, state, lr, rho=0.9, epsilon=1e-7):
        s = rho * state.get("s", 0.0) + (1 - rho) * g**2
        with np.errstate(divide="ignore", invalid="ignore"):
            return w - lr * g / np.sqrt(s), {"s": s}

    def swapped(w, g, state, lr, rho=0.9, epsilon=1e-7):
        s = (1 - rho) * state.get("s", 0.0) + rho * g**2
        return w - lr * g / np.sqrt(s + epsilon), {"s": s}

    _fails(lab9.check_rmsprop_step, no_epsilon, match="epsilon")
    _fails(lab9.check_rmsprop_step, swapped)


def _adam(bias_correction=True, keras_epsilon=True, first_t=1, keep_t=True):
    """Adam with one mistake switched on (all defaults: a right answer, written apart from the solution)."""

    def step(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        t = state.get("t", first_t - 1) + 1 if keep_t else first_t
        m = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
        v = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g**2
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat = m / (1 - beta_1**t) if bias_correction else m
            v_hat = v / (1 - beta_2**t) if bias_correction else v
            if keras_epsilon and bias_correction:
                new = w - lr * m_hat / (np.sqrt(v_hat) + epsilon / np.sqrt(1 - beta_2**t))
            else:
                new = w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
        return new, {"t": t, "m": m, "v": v}

    return step


def test_adam_written_apart_passes():
    assert lab9.check_adam_step(_adam()) is None


def test_adam_without_bias_correction_fails():
    _fails(lab9.check_adam_step, _adam(bias_correction=False), match="bias correction is missing")


def test_adam_with_the_lectures_epsilon_fails():
    _fails(lab9.check_adam_step, _adam(keras_epsilon=False), match="UNCORRECTED v")


def test_adam_counting_steps_wrong_fails():
    _fails(lab9.check_adam_step, _adam(first_t=0), match="t counts the steps from 1")
    _fails(lab9.check_adam_step, _adam(keep_t=False))


@pytest.mark.parametrize(
    "check, make",
    [
        (lab9.check_sgd_momentum_step, lambda w, g, s, lr, m: (keras.optimizers.SGD(lr, momentum=m), w)),
        (
            lab9.check_rmsprop_step,
            lambda w, g, s, lr, rho, eps: (keras.optimizers.RMSprop(lr, rho=rho, epsilon=eps), w),
        ),
        (lab9.check_adam_step, lambda w, g, s, lr, b1, b2, eps: (keras.optimizers.Adam(lr, b1, b2, eps), w)),
    ],
    ids=["momentum", "rmsprop", "adam"],
)
def test_a_step_that_asks_keras_is_refused(check, make):
    def with_keras(w, g, state, *hyper):
        opt, _ = make(w, g, state, *hyper)
        var = keras.Variable(np.array(w, dtype="float64"))
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        return var.numpy(), state

    with pytest.raises(Refused):
        check(with_keras)


# --------------------------------------------------------------------------
# Exercise 5: the race
# --------------------------------------------------------------------------
def _distance(path):
    return np.linalg.norm(np.asarray(path, dtype=float), axis=1)


def _first_index(mask):
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


WRONG_REACH = {
    "last-row-within": (
        lambda p, tol: int(np.flatnonzero(_distance(p) <= tol)[-1]) if np.any(_distance(p) <= tol) else None,
        "LAST row",
    ),
    "counted-from-1": (lambda p, tol: None if steps_to_reach(p, tol) is None else steps_to_reach(p, tol) + 1, "from 0"),
    "one-coordinate": (lambda p, tol: _first_index(np.abs(np.asarray(p)[:, 0]) <= tol), "Euclidean"),
    "the-loss": (
        lambda p, tol: _first_index(0.5 * (0.1 * np.asarray(p)[:, 0] ** 2 + 2 * np.asarray(p)[:, 1] ** 2) <= tol),
        "Euclidean",
    ),
    "minus-one-for-never": (
        lambda p, tol: -1 if steps_to_reach(p, tol) is None else steps_to_reach(p, tol),
        "never gets within tol",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG_REACH))
def test_wrong_steps_to_reach_fails(name):
    wrong, match = WRONG_REACH[name]
    _fails(lab9.check_race, wrong, valley_crossings, race, match=match)


def test_wrong_valley_crossings_and_race_fail():
    def first_coordinate(path):
        w1 = np.asarray(path, dtype=float)[:, 0]
        return int(np.sum(w1[:-1] * w1[1:] < 0))

    def none_first(paths, tol):  # a path that never arrives counted as step 0
        reach = {n: steps_to_reach(p, tol) or 0 for n, p in paths.items()}
        return min(reach, key=reach.get), race(paths, tol)[1]

    def calmest(paths, tol):
        return race(paths, tol)[0], min(paths, key=lambda n: valley_crossings(paths[n]))

    _fails(lab9.check_race, steps_to_reach, first_coordinate, race, match="SECOND coordinate")
    _fails(lab9.check_race, steps_to_reach, valley_crossings, none_first, match="cannot be the fastest")
    _fails(lab9.check_race, steps_to_reach, valley_crossings, calmest, match="race is wrong")


def test_race_must_agree_with_the_students_own_paths():
    ns = _reference()

    def always(paths, tol):  # right on the made-up paths only if it guesses: here it reads them, then lies on 4 names
        answer = race(paths, tol)
        return ("Adam", answer[1]) if "Adam" in paths else answer

    _fails(
        lab9.check_race,
        steps_to_reach,
        valley_crossings,
        always,
        paths=ns["paths"],
        tol=ns["TOL"],
        match="your own paths",
    )


def test_race_on_paths_of_wrong_steps_is_judged_on_its_own():
    """A student whose optimiser steps are wrong loses those points, not the race's: their race reads their paths."""
    ns = _reference()

    def no_velocity(w, g, state, lr, momentum=0.9):
        return w - lr * g, state

    def no_correction(w, g, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        return _adam(bias_correction=False)(w, g, state, lr, beta_1, beta_2, epsilon)

    paths = {
        "SGD": ns["run_path"](no_velocity, 0.9, 0.0),
        "momentum": ns["run_path"](no_velocity, 0.1, 0.9),
        "Adam": ns["run_path"](no_correction, 0.15, 0.9, 0.999, 1e-7),
    }
    assert lab9.check_race(steps_to_reach, valley_crossings, race, paths, ns["TOL"]) is None
    assert lab9.check_race(steps_to_reach, valley_crossings, race, {}, ns["TOL"]) is None  # no step written yet
    _run_hidden("test_race", paths=paths)


def test_the_lab_race_has_clear_answers():
    """The lab's paths: who arrives when, by a wide enough margin that rounding cannot change it."""
    ns = _reference()
    reach = {name: steps_to_reach(p, ns["TOL"]) for name, p in ns["paths"].items()}
    assert reach == {"SGD": 40, "momentum": 24, "RMSprop": 51, "Adam": 33}
    assert race(ns["paths"], ns["TOL"]) == ("momentum", "SGD")
    for name, t in reach.items():
        d = _distance(ns["paths"][name])
        assert d[t - 1] > ns["TOL"] * 1.005 and d[t] < ns["TOL"] * 0.97, name


# --------------------------------------------------------------------------
# Exercise 6: cosine_decay
# --------------------------------------------------------------------------
def _cosine(step, peak, warmup, decay, start=0.0, alpha=0.0, *, warm=True, shift=True, clamp=True):
    """Cosine decay with one mistake switched on (all defaults: a right answer)."""
    if warm and step < warmup:
        return start + (peak - start) * step / warmup
    s = step - warmup if (shift and warm) else step
    length = decay if warm else warmup + decay
    s = min(s, length) if clamp else s
    return peak * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * s / length)) + alpha)


def test_cosine_written_apart_passes():
    assert lab9.check_cosine_decay(_cosine) is None


def _cosine_without_warm_up(step, peak, warmup, decay, start=0.0, alpha=0.0):
    return _cosine(step, peak, warmup, decay, start, alpha, warm=False)


def _cosine_from_step_0(step, peak, warmup, decay, start=0.0, alpha=0.0):
    return _cosine(step, peak, warmup, decay, start, alpha, shift=False)


def _cosine_not_clamped(step, peak, warmup, decay, start=0.0, alpha=0.0):
    return _cosine(step, peak, warmup, decay, start, alpha, clamp=False)


def test_cosine_without_warm_up_fails():
    _fails(lab9.check_cosine_decay, _cosine_without_warm_up, match="warm-up is missing")


@pytest.mark.parametrize(
    "wrong, match",
    [
        (_cosine_from_step_0, "count its steps from the end of the warm-up"),
        (_cosine_not_clamped, "stays at alpha"),
    ],
    ids=["decay-counted-from-step-0", "not-clamped"],
)
def test_other_wrong_cosines_fail(wrong, match):
    _fails(lab9.check_cosine_decay, wrong, match=match)


def test_cosine_ignoring_alpha_or_start_fails():
    def no_alpha(step, peak, warmup, decay, start=0.0, alpha=0.0):
        return _cosine(step, peak, warmup, decay, start, 0.0)

    def no_start(step, peak, warmup, decay, start=0.0, alpha=0.0):
        return _cosine(step, peak, warmup, decay, 0.0, alpha)

    _fails(lab9.check_cosine_decay, no_alpha)
    _fails(lab9.check_cosine_decay, no_start, match="straight line")


# --------------------------------------------------------------------------
# Exercise 7: label smoothing
# --------------------------------------------------------------------------
def test_label_smoothing_over_k_minus_1_classes_fails():
    def over_the_others(y, epsilon):
        y = np.asarray(y, dtype=float)
        return (1 - epsilon) * y + epsilon / (y.shape[-1] - 1) * (1 - y)

    _fails(lab9.check_label_smoothing, over_the_others, smoothed_cross_entropy, match="k - 1 wrong classes")


@pytest.mark.parametrize(
    "loss, match",
    [
        (lambda y, p, e: float(np.mean(-np.sum(smooth_labels(y, e) * np.log(p), axis=-1))), "clip p"),
        (
            lambda y, p, e: float(np.sum(-np.sum(smooth_labels(y, e) * np.log(np.clip(p, 1e-7, 1 - 1e-7)), axis=-1))),
            "the sum over the examples",
        ),
        (
            lambda y, p, e: float(np.mean(-np.sum(np.asarray(y) * np.log(np.clip(p, 1e-7, 1 - 1e-7)), axis=-1))),
            "one-hot labels",
        ),
    ],
    ids=["no-clip", "sum", "unsmoothed"],
)
def test_wrong_smoothed_cross_entropy_fails(loss, match):
    def wrong(y, p, epsilon):
        with np.errstate(divide="ignore", invalid="ignore"):
            return loss(y, p, epsilon)

    _fails(lab9.check_label_smoothing, smooth_labels, wrong, match=match)


def test_keras_recovers_the_smoothed_labels_it_uses():
    y = np.eye(5)[[0, 3, 3]]
    assert np.allclose(lab9.keras_smoothed_labels(y, 0.25), 0.75 * y + 0.05)


# --------------------------------------------------------------------------
# Exercise 8: make_optimizer, and the CNN trained with it
# --------------------------------------------------------------------------
def _schedule(peak=0.01, warm=0.1, decay_over=None):
    def make(steps):
        total = decay_over or steps
        w = int(total * warm)
        if w == 0:
            return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(peak, total))
        return keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(0.0, total - w, warmup_target=peak, warmup_steps=w)
        )

    return make


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda steps: keras.optimizers.Adam(1e-3), "warm up"),
        (_schedule(warm=0.0), "warm up"),
        (_schedule(decay_over=120), "half-way"),
        (_schedule(decay_over=5000), "decayed"),
        (lambda steps: keras.optimizers.schedules.CosineDecay(0.01, steps), "Keras optimiser"),
        (lambda steps: None, "returned None"),
    ],
    ids=["no-schedule", "no-warm-up", "hard-coded-short", "hard-coded-long", "a-schedule-not-an-optimiser", "none"],
)
def test_wrong_make_optimizer_fails(wrong, match):
    _fails(lab9.check_make_optimizer, wrong, match=match)


def test_an_optimiser_made_once_fails():
    shared = _schedule()(1000)

    def once(steps):
        return shared

    _fails(lab9.check_make_optimizer, once, match="same optimiser")
    shared.iterations.assign(3)
    _fails(lab9.check_make_optimizer, once, match="taken steps")


def test_learning_rates_reads_a_schedule_and_leaves_the_counter():
    opt = _schedule(peak=0.02)(100)
    opt.iterations.assign(7)
    rates = lab9.learning_rates(opt, [0, 5, 10, 100])
    assert rates[0] == 0 and rates[1] == pytest.approx(0.01) and rates[2] == pytest.approx(0.02) and rates[3] < 1e-9
    assert int(np.asarray(opt.iterations)) == 7


def test_calibration_records_cover_every_training_check():
    from autograder.calibrations import lab9_optimization
    from cnncourse import calibration

    records = calibration.load_records(LAB)
    for check in lab9_optimization.CHECKS:
        rec = records[(check, "fast")]
        assert len(rec.reference) >= calibration.MIN_SEEDS
        assert rec.budget == {"samples": 600, "epochs": 6, "batch_size": 32, "seeds": 1}, rec.budget
        # The margin holds on every seed: the reference's worst seed clears the bar, every weak seed misses it.
        assert min(rec.reference) >= rec.threshold + min(rec.margin, 0.02) - 1e-9, rec.summary()
        assert all(max(v) < rec.threshold for v in rec.weak.values()), rec.summary()


@pytest.mark.slow
def test_training_check_reproduces_the_calibrated_seed_and_earns_full_marks(capsys):
    """The check (seed 0) measures exactly what calibration recorded for seed 0, and clears the bar."""
    from cnncourse import calibration

    rec = calibration.record(LAB, "optimizer", "fast")
    accuracy = lab9.check_optimizer_training(make_optimizer)
    assert accuracy == pytest.approx(rec.reference[rec.seeds.index(0)], abs=1e-9)
    assert calibration.grade(LAB, "optimizer", accuracy, 4, profile="fast") == 4
    assert "the bar (fast profile) is at least" in capsys.readouterr().out


@pytest.mark.slow
def test_an_optimiser_that_never_moves_gets_no_credit():
    from cnncourse import calibration

    res = lab9.measure_optimizer(lambda steps: keras.optimizers.SGD(0.0), profile="fast")
    assert res.accuracy < 0.3
    assert calibration.grade(LAB, "optimizer", res.accuracy, 4, profile="fast") == 0


# --------------------------------------------------------------------------
# Hidden tests: the solution passes them, answers fitted to the visible checks do not
# --------------------------------------------------------------------------
def _run_hidden(grade_id, **replace):
    namespace = dict(_reference())
    namespace.update({"np": np, "checks": lab9, "keras": keras}, **replace)
    exec(sources.hidden_tests(LAB, grade_id), namespace)


@pytest.mark.parametrize(
    "grade_id",
    [
        "test_standardize",
        "test_sgd_momentum_step",
        "test_rmsprop_step",
        "test_adam_step",
        "test_race",
        "test_cosine_decay",
        "test_label_smoothing",
        "test_make_optimizer",
        "test_momentum_gain",
    ],
)
def test_hidden_tests_pass_the_solution(grade_id):
    _run_hidden(grade_id)


def _key(value):
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.tobytes())
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    return value


def _memorised(right, check, wrong):
    """A function that answers as ``right`` on every call the visible ``check`` makes, and as ``wrong`` elsewhere."""
    seen = {}

    def recording(*args):
        seen[_key(args)] = answer = right(*args)
        return answer

    check(recording)

    def memorised(*args):
        key = _key(args)
        return seen[key] if key in seen else wrong(*args)

    check(memorised)  # the visible check cannot tell
    return memorised


@pytest.mark.parametrize(
    "grade_id, name, check, wrong",
    [
        (
            "test_sgd_momentum_step",
            "sgd_momentum_step",
            lab9.check_sgd_momentum_step,
            lambda w, g, state, lr, momentum=0.9: (w - lr * g, state),
        ),
        ("test_adam_step", "adam_step", lab9.check_adam_step, _adam(bias_correction=False)),
        ("test_cosine_decay", "cosine_decay", lab9.check_cosine_decay, _cosine_without_warm_up),
    ],
    ids=["momentum", "adam", "cosine"],
)
def test_hidden_tests_fail_answers_fitted_to_the_visible_check(grade_id, name, check, wrong):
    memorised = _memorised(_reference()[name], check, wrong)
    with pytest.raises(CheckFailed, match=r"a hidden test failed"):
        _run_hidden(grade_id, **{name: memorised})


def test_hidden_standardize_test_fails_test_statistics_on_the_lab_data():
    def test_statistics(x_train, x_test):
        a, _ = standardize(x_train, x_test)
        _, b = standardize(x_test, x_test)
        return a, b

    with pytest.raises(CheckFailed, match=r"Exercise 1 \(standardize\): a hidden test failed"):
        _run_hidden("test_standardize", standardize=test_statistics)


# --------------------------------------------------------------------------
# Question 1 (momentum_gain): read from the student's own momentum steps
# --------------------------------------------------------------------------
def test_the_reference_momentum_gain_is_the_geometric_series_limit():
    gain = _reference()["momentum_gain"]
    lab9.check_momentum_gain(gain)
    assert gain == pytest.approx(10.0, abs=1e-3)


@pytest.mark.parametrize(
    "wrong, visible",
    [
        (1.9, False),  # the second step over the first: the velocity not yet built up
        (0.1, True),  # first over last
        (1 / (1 - 0.99), False),  # the gain of momentum 0.99
        (9.0, False),  # momentum / (1 - momentum)
        ("10", True),
    ],
)
def test_wrong_momentum_gains_fail(wrong, visible):
    if visible:
        with pytest.raises(CheckFailed, match=r"Question 1 \(momentum_gain\)"):
            lab9.check_momentum_gain(wrong)
    else:
        lab9.check_momentum_gain(wrong)
        with pytest.raises(CheckFailed, match=r"Question 1 \(momentum_gain\): a hidden test failed"):
            _run_hidden("test_momentum_gain", momentum_gain=wrong)


def test_a_momentum_step_without_the_velocity_gives_no_gain():
    """Measured with a plain-SGD step (the velocity forgotten), the answer is 1 and fails the hidden test."""
    from autograder.course import strip_solution_markers

    def forgetful(w, g, state, lr, momentum=0.9):
        return w - lr * g, {}

    namespace = sources.run_cells(
        strip_solution_markers(sources.cell_source(LAB, "momentum_gain")), np=np, sgd_momentum_step=forgetful
    )
    assert namespace["momentum_gain"] == pytest.approx(1.0)
    lab9.check_momentum_gain(namespace["momentum_gain"])
    with pytest.raises(CheckFailed, match="a hidden test failed"):
        _run_hidden("test_momentum_gain", momentum_gain=namespace["momentum_gain"])
