"""Lab 5's checks pass the source's solutions and fail plausible wrong answers."""

import numpy as np
import pytest

from cnncourse.checks import CheckFailed, lab5

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
layers = keras.layers


@pytest.fixture(scope="module")
def ref():
    import sources

    return sources.solutions(
        "lab5-regularization", skip=("best_learning_rate", "most_important")
    )  # they read runs' results


def test_reference_solutions_pass(ref):
    assert lab5.check_build_augmenter(ref["build_augmenter"]) is None
    assert lab5.check_make_dataset(ref["make_dataset"]) is None
    assert lab5.check_early_stopping(ref["make_early_stopping"]) is None
    assert lab5.check_random_search(ref["random_search"]) is None
    assert lab5.check_grid_search(ref["grid_search"]) is None
    assert lab5.check_regularized_cnn(ref["build_regularized_cnn"]) is None
    assert lab5.check_ablation_configs(ref["ablation_configs"]) is None
    assert lab5.check_build_ablation_cnn(ref["build_ablation_cnn"]) is None


def _rebuilt(model, change, input_shape=None):
    """``model`` built again layer by layer, from each layer's class and config through ``change``.

    ``change(cls, config)`` returns the ``(cls, config)`` the layer becomes, or None to leave it out.
    """
    stack = [] if input_shape is None else [keras.Input(shape=input_shape)]
    for layer in model.layers:
        new = change(type(layer), layer.get_config())
        if new is not None:
            stack.append(new[0].from_config(new[1]))
    return keras.Sequential(stack)


def _same(cls, cfg):
    return cls, cfg


# ---------------------------------------------------------------- augmenter
def _augmenter_with(change):
    """The reference augmenter with one mistake, made by ``change`` (see :func:`_rebuilt`)."""

    def wrong(build_augmenter):
        return lambda seed=None: _rebuilt(build_augmenter(seed), change)

    return wrong


def _without(kind):
    return lambda cls, cfg: None if cls.__name__ == kind else (cls, cfg)


def _range_0_255(kind):
    return lambda cls, cfg: (cls, {**cfg, "value_range": (0, 255), "factor": 0.5} if cls.__name__ == kind else cfg)


def test_an_unchanged_augmenter_rebuild_passes(ref):
    """The rebuild the wrong augmenters go through keeps the augmenter: each fails for its own mistake."""
    assert lab5.check_build_augmenter(_augmenter_with(_same)(ref["build_augmenter"])) is None


@pytest.mark.parametrize(
    "wrong",
    [
        _augmenter_with(_without("RandomContrast")),
        _augmenter_with(_without("RandomFlip")),
        _augmenter_with(_range_0_255("RandomBrightness")),
        _augmenter_with(_range_0_255("RandomContrast")),
        lambda build: lambda seed=None: None,
    ],
    ids=["no-contrast", "no-flip", "brightness-0-255", "contrast-0-255", "none"],
)
def test_wrong_augmenters_fail(ref, wrong):
    with pytest.raises(CheckFailed):
        lab5.check_build_augmenter(wrong(ref["build_augmenter"]))


def _setting(kind, **changed):
    return lambda cls, cfg: (cls, {**cfg, **changed} if cls.__name__ == kind else cfg)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (_augmenter_with(_setting("RandomRotation", factor=0.5)), "RandomRotation's factor"),
        (_augmenter_with(_setting("RandomTranslation", width_factor=0.3)), "RandomTranslation's width_factor"),
        (_augmenter_with(_setting("RandomBrightness", factor=0.4)), "RandomBrightness's factor"),
        (_augmenter_with(_setting("RandomContrast", factor=0.02)), "RandomContrast's factor"),
        (_augmenter_with(_setting("RandomFlip", mode="horizontal_and_vertical")), "left to right only"),
        (_augmenter_with(_setting("RandomRotation", seed=None)), "Pass seed=seed"),
    ],
    ids=["rotation", "translation", "brightness", "contrast", "vertical-flip", "seed-not-passed"],
)
def test_augmenters_with_other_settings_than_the_lecture_fail(ref, wrong, match):
    with pytest.raises(CheckFailed, match=match):
        lab5.check_build_augmenter(wrong(ref["build_augmenter"]))


def test_an_augmenter_that_changes_images_at_inference_fails(ref):
    class Noisy(keras.layers.Layer):
        def call(self, x, training=None):
            return tf.clip_by_value(x + 0.01, 0.0, 1.0)

    def build_augmenter(seed=None):
        return keras.Sequential([ref["build_augmenter"](seed), Noisy()])

    with pytest.raises(CheckFailed, match="training=False"):
        lab5.check_build_augmenter(build_augmenter)


# ---------------------------------------------------------------- pipeline
def _dataset(
    scale=True,
    cache=True,
    shuffle_in_eval=False,
    seed_shuffle=True,
    reshuffle=True,
    augment_in_eval=False,
    prefetch=True,
    augment_before_cache=False,
    cast=True,
    drop_remainder=False,
    buffer=None,
):
    def make_dataset(x, y, batch_size, training, seed, augmenter=None):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if cast:
            ds = ds.map(lambda im, lb: (tf.cast(im, tf.float32) / (255.0 if scale else 1.0), lb))
        use_aug = augmenter is not None and (training or augment_in_eval)
        if use_aug and augment_before_cache:
            ds = ds.batch(batch_size).map(lambda im, lb: (augmenter(im, training=True), lb)).unbatch()
        if cache:
            ds = ds.cache()
        if training or shuffle_in_eval:
            ds = ds.shuffle(buffer or len(x), seed=seed if seed_shuffle else None, reshuffle_each_iteration=reshuffle)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if use_aug and not augment_before_cache:
            ds = ds.map(lambda im, lb: (augmenter(im, training=True), lb))
        return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds

    return make_dataset


WRONG_DATASETS = {
    "not scaled": _dataset(scale=False),
    "not cast": _dataset(cast=False),
    "no cache": _dataset(cache=False),
    "no prefetch": _dataset(prefetch=False),
    "shuffles the evaluation data": _dataset(shuffle_in_eval=True),
    "ignores the seed": _dataset(seed_shuffle=False),
    "same order every epoch": _dataset(reshuffle=False),
    "augments the evaluation data": _dataset(augment_in_eval=True),
    "augments before the cache": _dataset(augment_before_cache=True),
    "drops the last batch": _dataset(drop_remainder=True),
    "a small shuffle buffer": _dataset(buffer=10),
    "a hard-coded shuffle buffer": _dataset(buffer=10_000),
}


def test_a_hard_coded_buffer_is_told_so():
    """A buffer of 10,000 mixes the check's 50 examples fully: only a dataset bigger than it shows the mistake."""
    with pytest.raises(CheckFailed, match="shuffle buffer holds 10,000"):
        lab5.check_make_dataset(_dataset(buffer=10_000))
    assert lab5.check_make_dataset(_dataset(buffer=100_000)) is None  # bigger than the data: fine


@pytest.mark.parametrize("name", sorted(WRONG_DATASETS))
def test_wrong_pipelines_fail(name):
    with pytest.raises(CheckFailed):
        lab5.check_make_dataset(WRONG_DATASETS[name])


def test_a_pipeline_that_ignores_the_augmenter_fails(ref):
    def make_dataset(x, y, batch_size, training, seed, augmenter=None):
        return ref["make_dataset"](x, y, batch_size, training, seed)

    with pytest.raises(CheckFailed, match="augmenter"):
        lab5.check_make_dataset(make_dataset)


# ---------------------------------------------------------------- early stopping
class _Stopper(keras.callbacks.Callback):
    """A hand-written early stopper with knobs for the usual mistakes."""

    def __init__(self, patience, monitor="val_loss", restore=True, off_by_one=0, improve_if_equal=False):
        super().__init__()
        self.patience, self.monitor, self.restore = patience, monitor, restore
        self.off_by_one, self.improve_if_equal = off_by_one, improve_if_equal

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights = np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        v = logs[self.monitor]
        if v < self.best or (self.improve_if_equal and v == self.best):
            self.best, self.wait, self.best_weights = v, 0, self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience + self.off_by_one:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def test_a_hand_written_callback_passes():
    assert lab5.check_early_stopping(lambda patience: _Stopper(patience)) is None


@pytest.mark.parametrize(
    "wrong",
    [
        lambda p: _Stopper(p, monitor="loss"),
        lambda p: _Stopper(p, restore=False),
        lambda p: _Stopper(p, off_by_one=1),
        lambda p: _Stopper(p, off_by_one=-1),
        lambda p: _Stopper(p, improve_if_equal=True),
        lambda p: keras.callbacks.EarlyStopping(monitor="val_loss", patience=p),
        lambda p: keras.callbacks.EarlyStopping(monitor="loss", patience=p, restore_best_weights=True),
        lambda p: None,
    ],
    ids=[
        "watches-loss",
        "no-restore",
        "patience+1",
        "patience-1",
        "equal-counts-as-better",
        "keras-no-restore",
        "keras-watches-loss",
        "none",
    ],
)
def test_wrong_early_stopping_fails(wrong):
    with pytest.raises(CheckFailed):
        lab5.check_early_stopping(wrong)


def test_oracle_agrees_with_keras_on_the_scripted_runs():
    for losses, patience in lab5.SEQUENCES:
        cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        assert lab5.replay(cb, losses) == lab5.early_stopping_oracle(losses, patience)


# ---------------------------------------------------------------- search
def _on_space(change):
    """The reference search run on a space each axis of which went through ``change(kind, args)``."""

    def wrong(search):
        def searched(space, *rest):
            return search({name: change(kind, args) for name, (kind, *args) in space.items()}, *rest)

        return searched

    return wrong


def _log_as_uniform(kind, args):
    return ("uniform" if kind == "log" else kind, *args)


def _log_dropout(kind, args):  # a 'uniform' axis drawn log-uniformly on [high / 1000, high]
    return ("log", args[1] * 1e-3, args[1]) if kind == "uniform" else (kind, *args)


def _first_choice_only(kind, args):
    return (kind, args[0][:1]) if kind == "choice" else (kind, *args)


def _out_of_bounds(space, n_trials, seed):
    rng = np.random.default_rng(seed)
    return [
        {
            "learning_rate": float(10 ** rng.uniform(-6, -1)),
            "dropout": float(rng.uniform(0, 0.6)),
            "batch_size": int(rng.choice([16, 32, 64, 128])),
        }
        for _ in range(n_trials)
    ]


def test_an_unchanged_space_passes(ref):
    """The wrapper the wrong searches go through changes nothing by itself."""
    unchanged = _on_space(lambda kind, args: (kind, *args))
    assert lab5.check_random_search(unchanged(ref["random_search"])) is None
    assert lab5.check_grid_search(unchanged(ref["grid_search"])) is None


@pytest.mark.parametrize(
    "wrong",
    [
        _on_space(_log_as_uniform),
        lambda search: lambda space, n_trials, seed: search(space, n_trials, None),
        _on_space(_log_dropout),
        lambda search: _out_of_bounds,
        lambda search: lambda s, n, seed: None,
    ],
    ids=["uniform-lr", "ignores-seed", "log-dropout", "out-of-bounds", "none"],
)
def test_wrong_random_search_fails(ref, wrong):
    with pytest.raises(CheckFailed):
        lab5.check_random_search(wrong(ref["random_search"]))


def _without_ends(grid_search):
    """A grid of k inner points per numeric axis: the reference's k + 2, ends dropped."""

    def grid(space, k):
        ends = {name: args[:2] for name, (kind, *args) in space.items() if kind != "choice"}
        return [c for c in grid_search(space, k + 2) if all(c[name] not in e for name, e in ends.items())]

    return grid


@pytest.mark.parametrize(
    "wrong",
    [_on_space(_log_as_uniform), _on_space(_first_choice_only), _without_ends],
    ids=["linear-lr", "one-choice", "no-ends"],
)
def test_wrong_grid_search_fails(ref, wrong):
    with pytest.raises(CheckFailed):
        lab5.check_grid_search(wrong(ref["grid_search"]))


# ---------------------------------------------------------------- regularised CNN
def _cnn_with(change):
    """The reference regularised CNN with one regulariser taken out by ``change`` (see :func:`_rebuilt`)."""

    def wrong(build):
        return lambda input_shape, num_classes: _rebuilt(build(input_shape, num_classes), change, input_shape)

    return wrong


def _no_augmenter(cls, cfg):
    return None if issubclass(cls, keras.Sequential) else (cls, cfg)


def _no_l2(cls, cfg):
    return cls, {**cfg, "kernel_regularizer": None} if "kernel_regularizer" in cfg else cfg


def test_an_unchanged_cnn_rebuild_passes(ref):
    """The rebuild the unregularised CNNs go through keeps the model: each fails for what it lacks."""
    assert lab5.check_regularized_cnn(_cnn_with(_same)(ref["build_regularized_cnn"])) is None


@pytest.mark.parametrize(
    "wrong",
    [_cnn_with(_no_augmenter), _cnn_with(_without("Dropout")), _cnn_with(_no_l2)],
    ids=["no-augmentation", "no-dropout", "no-l2"],
)
def test_unregularised_cnns_fail_the_structure_check(ref, wrong):
    with pytest.raises(CheckFailed):
        lab5.check_regularized_cnn(wrong(ref["build_regularized_cnn"]))


def test_calibration_records_cover_every_training_check():
    from cnncourse import calibration
    from autograder.calibration import problems
    from autograder.calibrations import lab5_regularization

    records = calibration.load_records("lab5-regularization")
    for check in lab5_regularization.CHECKS:
        rec = records[(check, "fast")]
        assert len(rec.reference) >= calibration.MIN_SEEDS
        assert problems(rec) == [], rec.summary()


@pytest.mark.slow
def test_training_check_reproduces_the_calibrated_seed_and_earns_full_marks(ref):
    """Seed 0 gives exactly the recorded values, and both clear their bars."""
    from cnncourse import calibration

    acc, gap = lab5.check_regularized_training(ref["build_regularized_cnn"])
    for check, value, points in (("regularized", acc, 3), ("gap", gap, 2)):
        rec = calibration.record("lab5-regularization", check, "fast")
        assert value == pytest.approx(rec.reference[rec.seeds.index(0)], abs=1e-9)
        assert calibration.grade("lab5-regularization", check, value, points, profile="fast") == points


def test_an_untrainable_cnn_gets_no_accuracy_credit():
    """A model whose output ignores the image (a constant) stays at chance: no points."""
    from cnncourse import calibration

    def constant(input_shape, num_classes):
        return keras.Sequential(
            [
                keras.Input(shape=input_shape),
                layers.Flatten(),
                layers.Lambda(lambda t: t * 0.0),
                layers.Dense(num_classes, activation="softmax"),
            ]
        )

    res = lab5.measure_regularized(constant, profile="fast")
    assert calibration.grade("lab5-regularization", "regularized", res.accuracy, 3, profile="fast") == 0


@pytest.mark.parametrize(
    "grade_id",
    ["test_build_augmenter", "test_early_stopping", "test_random_search", "test_grid_search", "test_regularized_cnn"],
)
def test_hidden_tests_pass_the_solutions(ref, grade_id):
    import sources

    exec(sources.hidden_tests("lab5-regularization", grade_id), dict(ref))


def test_a_cnn_built_for_one_input_only_fails_the_hidden_test(ref):
    import sources

    def fixed_input(input_shape, num_classes):
        return ref["build_regularized_cnn"]((25, 25, 1), 2)  # what the visible check asks for, whatever is asked

    lab5.check_regularized_cnn(fixed_input)
    with pytest.raises(CheckFailed, match=r"Exercise 6 \(build_regularized_cnn\): a hidden test failed"):
        exec(
            sources.hidden_tests("lab5-regularization", "test_regularized_cnn"),
            dict(ref, build_regularized_cnn=fixed_input),
        )


def _tiny_dropout(cls, cfg):
    return cls, {**cfg, "rate": 1e-6} if cls.__name__ == "Dropout" else cfg


def _tiny_l2(cls, cfg):
    if cfg.get("kernel_regularizer") is not None:
        return cls, {**cfg, "kernel_regularizer": keras.regularizers.l2(1e-12)}
    return cls, cfg


def _tiny_factors(cfg):
    return {
        **cfg,
        **{
            key: 1e-6
            for key in ("factor", "height_factor", "width_factor")
            if isinstance(cfg.get(key), (int, float)) and cfg[key]
        },
    }


def _tiny_augment(cls, cfg):
    """The augmenter (a nested Sequential) with every size factor at 1e-6."""
    if issubclass(cls, keras.Sequential):
        cfg = {**cfg, "layers": [{**spec, "config": _tiny_factors(spec["config"])} for spec in cfg["layers"]]}
    return cls, cfg


@pytest.mark.parametrize(
    "wrong, match",
    [
        (_cnn_with(_tiny_dropout), "dropout drops almost nothing"),
        (_cnn_with(_tiny_l2), "L2 factor this small"),
        (_cnn_with(_tiny_augment), "augmentation this small"),
    ],
    ids=["dropout-1e-6", "l2-1e-12", "augment-1e-6"],
)
def test_regularisation_in_name_only_fails_the_structure_check(ref, wrong, match):
    with pytest.raises(CheckFailed, match=match):
        lab5.check_regularized_cnn(wrong(ref["build_regularized_cnn"]))


def test_an_l2_regulariser_set_after_building_is_seen_to_do_nothing(ref):
    def build(input_shape, num_classes):
        model = _cnn_with(_no_l2)(ref["build_regularized_cnn"])(input_shape, num_classes)
        for layer in model.layers:
            if isinstance(layer, layers.Conv2D):
                layer.kernel_regularizer = keras.regularizers.l2(1e-3)  # read by a report, never applied
        return model

    with pytest.raises(CheckFailed, match="adds no penalty to the loss"):
        lab5.check_regularized_cnn(build)


def test_a_network_that_learns_nothing_earns_nothing_for_its_small_gap(capsys):
    from cnncourse import calibration

    def constant(input_shape, num_classes):
        return keras.Sequential(
            [
                keras.Input(shape=input_shape),
                layers.Flatten(),
                layers.Lambda(lambda t: t * 0.0),
                layers.Dense(num_classes, activation="softmax"),
            ]
        )

    accuracy, gap = lab5.check_regularized_training(constant)
    assert calibration.grade("lab5-regularization", "gap", gap, 2, profile="fast") == 0
    assert "counts only for a network that learns" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 5b (refine_space) and Question 1
def _order(scores):
    return sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)


def _box(trials, chosen):
    return {k: ("log", min(trials[i][k] for i in chosen), max(trials[i][k] for i in chosen)) for k in trials[0]}


WRONG_REFINES = {
    "keeps the worst": (lambda t, s, k: _box(t, _order(s)[-k:]), "WORST"),
    "keeps them all": (lambda t, s, k: _box(t, range(len(t))), "all"),
    "keeps the best only": (lambda t, s, k: _box(t, _order(s)[:1]), "best trial alone"),
    "linear axes": (
        lambda t, s, k: {n: ("uniform",) + a[1:] for n, a in _box(t, _order(s)[:k]).items()},
        "log-uniform",
    ),
    "sorts the list it is given": (
        lambda t, s, k: (s.sort(reverse=True), _box(t, range(k)))[1],
        "changed the trials or the scores",
    ),
}


def test_reference_refine_space_passes_the_visible_and_hidden_tests(ref):
    import sources

    lab5.check_refine_space(ref["refine_space"])
    exec(
        sources.hidden_tests("lab5-regularization", "test_refine_space"),
        {"np": np, "checks": lab5, "refine_space": ref["refine_space"]},
    )


@pytest.mark.parametrize("name", sorted(WRONG_REFINES))
def test_wrong_refine_spaces_fail_with_their_own_message(name):
    wrong, message = WRONG_REFINES[name]
    with pytest.raises(CheckFailed, match=message):
        lab5.check_refine_space(wrong)


def test_best_learning_rate_is_read_from_the_students_own_search():
    import sources

    trials = [{"learning_rate": r, "l2": 1e-4} for r in (1e-4, 3e-2, 1e-1, 5e-2)]
    names = {
        "np": np,
        "checks": lab5,
        "coarse_trials": trials[:2],
        "fine_trials": trials[2:],
        "coarse_scores": [0.5, 0.9],
        "fine_scores": [0.7, 0.9],
    }
    lab5.check_best_learning_rate(3e-2, trials)
    exec(sources.hidden_tests("lab5-regularization", "test_best_learning_rate"), dict(names, best_learning_rate=3e-2))
    for wrong in (5e-2, 1e-1):  # the last of a tie; the best fine trial's neighbour
        lab5.check_best_learning_rate(wrong, trials)
        with pytest.raises(CheckFailed, match=r"Question 1 \(best_learning_rate\): a hidden test failed"):
            exec(
                sources.hidden_tests("lab5-regularization", "test_best_learning_rate"),
                dict(names, best_learning_rate=wrong),
            )
    for malformed in (0.9, 1e-3, True):
        with pytest.raises(CheckFailed, match=r"Question 1 \(best_learning_rate\)"):
            lab5.check_best_learning_rate(malformed, trials)


def test_the_checks_own_box_of_trials_is_no_answer():
    import sources

    cells = sources.run_cells(
        "from cnncourse.checks.lab5 import _box\n"
        "def refine_space(trials, scores, keep):\n"
        "    best = sorted(range(len(trials)), key=lambda i: scores[i], reverse=True)[:keep]\n"
        "    return _box(trials, best)\n"
    )
    with pytest.raises(CheckFailed, match="cnncourse.checks"):
        lab5.check_refine_space(cells["refine_space"])


def _run_hidden(grade_id, **names):
    import itertools

    import sources

    exec(sources.hidden_tests("lab5-regularization", grade_id), dict(names, np=np, checks=lab5, itertools=itertools))


def test_ablation_configs_hidden_tests_pass_the_solution(ref):
    _run_hidden("test_ablation_configs", ablation_configs=ref["ablation_configs"])


def _configs(*rows):
    return lambda: {name: dict(zip(("augment", "dropout", "l2"), flags)) for name, flags in rows}


ALL = ("all", (True, True, True))


@pytest.mark.parametrize(
    "wrong, message",
    [
        # removes two things at once
        (_configs(ALL, ("no augmentation", (False, True, True)), ("no dropout", (True, False, False))), "at once"),
        # forgets one regulariser
        (
            _configs(ALL, ("no augmentation", (False, True, True)), ("no dropout", (True, False, True))),
            "your runs remove",
        ),
        # no baseline
        (_configs(("no augmentation", (False, True, True)), ("no dropout", (True, False, True))), "baseline"),
        # True meaning "removed": the baseline is everything off
        (
            _configs(
                ("all", (False, False, False)),
                ("no augmentation", (True, False, False)),
                ("no dropout", (False, True, False)),
                ("no L2", (False, False, True)),
            ),
            "baseline",
        ),
        # strings instead of switches
        (lambda: {"all": {"augment": "on", "dropout": "on", "l2": "on"}}, "True or False"),
    ],
)
def test_wrong_ablation_configs_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lab5.check_ablation_configs(wrong)
    with pytest.raises(CheckFailed, match=r"Exercise 7 \(ablation_configs\)"):
        _run_hidden("test_ablation_configs", ablation_configs=wrong)


def test_ablation_configs_with_other_names_pass_the_check_only():
    wrong = _configs(
        ALL, ("no_aug", (False, True, True)), ("no_dropout", (True, False, True)), ("no_l2", (True, True, False))
    )
    lab5.check_ablation_configs(wrong)
    with pytest.raises(CheckFailed, match=r"Exercise 8|Exercise 7"):
        _run_hidden("test_ablation_configs", ablation_configs=wrong)


def test_build_ablation_cnn_hidden_tests_pass_the_solution(ref):
    _run_hidden("test_build_ablation_cnn", build_ablation_cnn=ref["build_ablation_cnn"])


def _ablation_builder(ignore=None, extra_dense=False):
    """A builder with each switch working, except ``ignore`` (kept on) or a layer more when dropout is off."""

    def build(input_shape, num_classes, augment=True, dropout=True, l2=True):
        switches = {"augment": augment, "dropout": dropout, "l2": l2}
        if ignore:
            switches[ignore] = True
        reg = keras.regularizers.l2(1e-3) if switches["l2"] else None
        stack = [keras.Input(shape=input_shape)]
        if switches["augment"]:
            stack.append(keras.Sequential([getattr(layers, n)(**_AUG_ARGS[n]) for n in lab5.AUGMENT_LAYERS]))
        stack += [
            layers.Conv2D(8, 3, activation="relu", kernel_regularizer=reg),
            layers.MaxPooling2D(2),
            layers.Flatten(),
        ]
        if switches["dropout"]:
            stack.append(layers.Dropout(0.5))
        elif extra_dense:
            stack.append(layers.Dense(16, activation="relu"))  # "makes up" for the dropout
        stack.append(layers.Dense(num_classes, activation="softmax"))
        return keras.Sequential(stack)

    return build


_AUG_ARGS = {
    "RandomFlip": {"mode": "horizontal"},
    "RandomRotation": {"factor": 0.05},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomBrightness": {"factor": 0.1, "value_range": (0.0, 1.0)},
    "RandomContrast": {"factor": 0.1, "value_range": (0.0, 1.0)},
}


def test_a_working_builder_of_my_own_passes():
    lab5.check_build_ablation_cnn(_ablation_builder())
    _run_hidden("test_build_ablation_cnn", build_ablation_cnn=_ablation_builder())


@pytest.mark.parametrize("ignored", ["augment", "dropout", "l2"])
def test_a_switch_that_does_nothing_fails(ignored):
    with pytest.raises(CheckFailed, match=f"{ignored}=False"):
        lab5.check_build_ablation_cnn(_ablation_builder(ignore=ignored))
    with pytest.raises(CheckFailed, match=r"Exercise 8 \(build_ablation_cnn\)"):
        _run_hidden("test_build_ablation_cnn", build_ablation_cnn=_ablation_builder(ignore=ignored))


def test_a_switch_that_changes_more_than_its_regulariser_fails():
    with pytest.raises(CheckFailed, match="remove a regulariser only"):
        lab5.check_build_ablation_cnn(_ablation_builder(extra_dense=True))


def _ablation_results(values):
    removed = {"all": None, "no augmentation": "augmentation", "no dropout": "dropout", "no L2": "L2"}
    return {name: {"val_accuracy": v, "gap": 0.0, "removed": removed[name]} for name, v in zip(removed, values)}


@pytest.mark.parametrize(
    "accuracies, right",
    [
        ((0.84, 0.80, 0.86, 0.82), "augmentation"),  # a removal that costs accuracy
        ((0.80, 0.90, 0.88, 0.82), "L2"),  # every removal gains: the one that gains least
        ((0.84, 0.80, 0.86, 0.80), "augmentation"),  # a tie: the first in the runs' order
    ],
)
def test_most_important_is_read_from_the_students_own_runs(accuracies, right):
    results = _ablation_results(accuracies)
    lab5.check_most_important(right, results)
    _run_hidden("test_most_important", ablation=results, most_important=right)
    for wrong in {"augmentation", "dropout", "L2"} - {right}:
        lab5.check_most_important(wrong, results)  # well-formed, so the visible check says nothing more
        with pytest.raises(CheckFailed, match=r"Question 2 \(most_important\): a hidden test failed"):
            _run_hidden("test_most_important", ablation=results, most_important=wrong)


def test_most_important_read_from_the_largest_gain_fails():
    results = _ablation_results((0.80, 0.90, 0.88, 0.82))  # argmax of accuracy instead of the cost
    with pytest.raises(CheckFailed, match="Question 2"):
        _run_hidden("test_most_important", ablation=results, most_important="augmentation")


@pytest.mark.parametrize("malformed", ["no L2", "l2", "all", None, 2])
def test_most_important_malformed_fails_the_visible_check(malformed):
    with pytest.raises(CheckFailed, match=r"Question 2 \(most_important\)"):
        lab5.check_most_important(malformed, _ablation_results((0.84, 0.80, 0.86, 0.82)))
