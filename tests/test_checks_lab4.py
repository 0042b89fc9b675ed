"""Lab 4's checks pass the source's solutions and fail plausible wrong answers."""

import numpy as np
import pytest

import sources
from cnncourse.checks import CheckFailed, NotAttempted, lab4

LAB = "lab4-first-cnn"

keras = pytest.importorskip("keras")
layers = keras.layers


@pytest.fixture(scope="module")
def ref():
    return sources.solutions(LAB, skip=("best_epoch", "vanishing"))  # those cells read trained results


def _rebuilt(model, change):
    """``model`` built again layer by layer, from each layer's class and config through ``change``.

    ``change(cls, config)`` returns the ``(cls, config)`` the layer becomes, or None to leave it out.
    """
    stack = [keras.Input(shape=model.input_shape[1:])]
    for layer in model.layers:
        new = change(type(layer), layer.get_config())
        if new is not None:
            stack.append(new[0].from_config(new[1]))
    return keras.Sequential(stack)


def _edited(change):
    """The reference LeNet-5 with one mistake: every model it builds goes through :func:`_rebuilt`."""

    def wrong(build_lenet5):
        return lambda s, c, a="sigmoid": _rebuilt(build_lenet5(s, c, a), change)

    return wrong


def _first_conv(cfg, **changes):
    return {**cfg, **changes} if cfg.get("filters") == 6 else cfg


WRONG_LENETS = {  # name -> (reference build_lenet5 -> a wrong one)
    "max pooling": _edited(lambda cls, cfg: (layers.MaxPooling2D if cls is layers.AveragePooling2D else cls, cfg)),
    "no padding on the first conv": _edited(lambda cls, cfg: (cls, _first_conv(cfg, padding="valid"))),
    "missing the 84-unit layer": _edited(lambda cls, cfg: None if cfg.get("units") == 84 else (cls, cfg)),
    "no softmax": _edited(
        lambda cls, cfg: (cls, {**cfg, "activation": "linear"} if cfg.get("activation") == "softmax" else cfg)
    ),
    "8 first filters": _edited(lambda cls, cfg: (cls, _first_conv(cfg, filters=8))),
    "ignores the activation": lambda build: lambda s, c, a="sigmoid": build(s, c),
    "hard-coded 10 classes": lambda build: lambda s, c, a="sigmoid": build(s, 10, a),
    "returns None": lambda build: lambda s, c, a="sigmoid": None,
}


def test_reference_lenet_passes(ref):
    assert lab4.check_build_lenet5(ref["build_lenet5"]) is None


def test_reference_parameter_count_matches_the_lecture(ref):
    # 156 + 2,416 + 48,120 + 10,164 + 850 from the layer table.
    assert ref["build_lenet5"]((28, 28, 1), 10, activation="relu").count_params() == 61706


def test_an_unedited_rebuild_passes(ref):
    """The rebuild the wrong LeNets go through keeps the model: each fails for its own mistake."""
    assert lab4.check_build_lenet5(_edited(lambda cls, cfg: (cls, cfg))(ref["build_lenet5"])) is None


@pytest.mark.parametrize("name", sorted(WRONG_LENETS))
def test_wrong_lenets_fail(ref, name):
    with pytest.raises(CheckFailed):
        lab4.check_build_lenet5(WRONG_LENETS[name](ref["build_lenet5"]))


def test_not_attempted_is_reported_as_such():
    def build_lenet5(input_shape, num_classes, activation="sigmoid"):
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        lab4.check_build_lenet5(build_lenet5)


def test_reference_train_model_passes(ref):
    assert lab4.check_train_model(ref["train_model"], ref["build_lenet5"]) is None


def _fit_with(
    optimizer="adam",
    epochs=None,
    validation=True,
    ret=True,
    metrics=("accuracy",),
    loss="sparse_categorical_crossentropy",
    batch=None,
    data="train",
):
    def train_model(model, x_train, y_train, x_val, y_val, epochs_, batch_size):
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
        if data == "train+val":
            x_train, y_train = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
        split = {"validation_split": 0.25} if data == "split" else {}
        h = model.fit(
            x_train,
            y_train,
            epochs=epochs or epochs_,
            batch_size=batch or batch_size,
            verbose=0,
            validation_data=(x_val, y_val) if validation and not split else None,
            **split,
        )
        return h if ret else None

    return train_model


@pytest.mark.parametrize(
    "wrong, match",
    [
        (_fit_with(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)), "from_logits=True"),
        (
            _fit_with(
                loss=lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p) + 0.1 * keras.ops.sum(p * p, -1)
            ),
            "cross-entropy of its predicted",
        ),
        (_fit_with(batch=32), "default batch size"),
        (_fit_with(batch=64), "optimiser should take"),
        (_fit_with(data="train+val"), "optimiser should take"),
        (_fit_with(data="split"), "optimiser should take"),
    ],
    ids=[
        "from-logits-on-softmax",
        "another-loss",
        "batch-size-left-out",
        "batch-size-hard-coded",
        "trains-on-validation",
        "validation-split",
    ],
)
@pytest.mark.filterwarnings("ignore:.*from_logits=True:UserWarning")  # Keras's own note on the first case's mistake
def test_training_that_does_the_wrong_thing_fails_whatever_it_builds(ref, wrong, match):
    with pytest.raises(CheckFailed, match=match):
        lab4.check_train_model(wrong, ref["build_lenet5"])


def test_validation_curves_measured_elsewhere_fail(ref):
    def validates_on_train(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(
            x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, validation_data=(x_train, y_train)
        )

    with pytest.raises(CheckFailed, match="not measured on"):
        lab4.check_train_model(validates_on_train, ref["build_lenet5"])


@pytest.mark.parametrize(
    "wrong",
    [
        _fit_with(optimizer="sgd"),
        _fit_with(epochs=1),
        _fit_with(validation=False),
        _fit_with(ret=False),
        _fit_with(metrics=()),
        _fit_with(optimizer=keras.optimizers.Adam(0.01)),
    ],
    ids=["sgd", "ignores-epochs", "no-validation", "returns-none", "no-accuracy", "wrong-learning-rate"],
)
def test_wrong_train_models_fail(ref, wrong):
    with pytest.raises(CheckFailed):
        lab4.check_train_model(wrong, ref["build_lenet5"])


def test_most_confused_pair_reference_passes(ref):
    assert lab4.check_most_confused_pair(ref["most_confused_pair"]) is None


def _argmax_with_diagonal(cm):
    return np.unravel_index(np.argmax(cm), np.shape(cm))


def _swapped(cm):
    m = np.array(cm, dtype=float)
    np.fill_diagonal(m, -1)
    i, j = np.unravel_index(np.argmax(m), m.shape)
    return int(j), int(i)


def _first_row_only(cm):
    m = np.array(cm, dtype=float)
    np.fill_diagonal(m, -1)
    return 0, int(np.argmax(m[0]))


@pytest.mark.parametrize(
    "wrong",
    [_argmax_with_diagonal, _swapped, _first_row_only, lambda cm: None],
    ids=["diagonal-included", "swapped", "first-row", "none"],
)
def test_wrong_most_confused_pair_fails(wrong):
    with pytest.raises(CheckFailed):
        lab4.check_most_confused_pair(wrong)


@pytest.mark.slow
def test_lenet_check_reproduces_the_calibrated_seed_and_earns_full_marks(ref, capsys):
    """The check (seed 0) measures exactly what calibration recorded for seed 0, and clears the bar."""
    from cnncourse import calibration

    rec = calibration.record("lab4-first-cnn", "lenet", "fast")
    acc = lab4.check_lenet_accuracy(ref["build_lenet5"], ref["train_model"])
    assert acc == pytest.approx(rec.reference[rec.seeds.index(0)], abs=1e-9)
    assert calibration.grade("lab4-first-cnn", "lenet", acc, 4, profile="fast") == 4
    assert "the bar (fast profile) is at least" in capsys.readouterr().out


def test_a_model_that_never_trains_gets_no_credit(ref):
    """A train_model that fits one digit only (the reference's, given x_train[:1]) stays near chance: no points."""
    from cnncourse import calibration

    def lazy(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        return ref["train_model"](model, x_train[:1], y_train[:1], x_val[:1], y_val[:1], epochs, 1)

    res = lab4.measure_lenet_accuracy(ref["build_lenet5"], lazy, profile="fast")
    assert res.accuracy < 0.3
    assert calibration.grade("lab4-first-cnn", "lenet", res.accuracy, 4, profile="fast") == 0


def test_calibration_records_cover_every_training_check():
    from cnncourse import calibration
    from autograder.calibrations import lab4_first_cnn

    records = calibration.load_records("lab4-first-cnn")
    for check in lab4_first_cnn.CHECKS:
        rec = records[(check, "fast")]
        assert len(rec.reference) >= calibration.MIN_SEEDS
        # The margin holds on every seed: the reference's worst seed clears the bar.
        assert min(rec.reference) >= rec.threshold + min(rec.margin, 0.02) - 1e-9, rec.summary()
        assert all(max(v) < rec.threshold for v in rec.weak.values()), rec.summary()


def _upper_triangle_only(cm):
    m = np.array(cm, dtype=float)
    i, j = np.triu_indices(len(m), k=1)
    best = int(np.argmax(m[i, j]))
    return int(i[best]), int(j[best])


def test_one_triangle_is_told_as_such_and_a_swap_still_as_a_swap():
    with pytest.raises(CheckFailed, match="one side of the diagonal only") as info:
        lab4.check_most_confused_pair(_upper_triangle_only)
    assert "wrong way round" not in str(info.value)
    with pytest.raises(CheckFailed, match="wrong way round"):
        lab4.check_most_confused_pair(_swapped)


def _run_hidden(namespace, grade_id="test_most_confused_pair"):
    exec(sources.hidden_tests(LAB, grade_id), dict({"np": np, "checks": lab4}, **namespace))


def test_hidden_most_confused_pair_test_passes_the_solution_and_fails_shortcuts(ref):
    _run_hidden({"most_confused_pair": ref["most_confused_pair"]})
    seen = {}

    def recording(cm):
        seen[np.asarray(cm).tobytes()] = answer = ref["most_confused_pair"](cm)
        return answer

    lab4.check_most_confused_pair(recording)

    def memorised(cm):  # the visible check's answers, and a guess elsewhere
        return seen.get(np.asarray(cm).tobytes(), (0, 1))

    lab4.check_most_confused_pair(memorised)
    for wrong in (memorised, _upper_triangle_only):
        with pytest.raises(CheckFailed, match=r"Exercise 3 \(most_confused_pair\): a hidden test failed"):
            _run_hidden({"most_confused_pair": wrong})


def test_hidden_train_model_test_uses_other_epochs_and_batch_size(ref):
    _run_hidden({"train_model": ref["train_model"], "build_lenet5": ref["build_lenet5"]}, "test_train_model")

    def fits_for_two_epochs(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        return ref["train_model"](model, x_train, y_train, x_val, y_val, 2, batch_size)  # right for the visible case

    lab4.check_train_model(fits_for_two_epochs, ref["build_lenet5"])
    with pytest.raises(CheckFailed, match=r"Exercise 2 \(train_model\): a hidden test failed"):
        _run_hidden({"train_model": fits_for_two_epochs, "build_lenet5": ref["build_lenet5"]}, "test_train_model")


def _notebook_cells(*cells, **names):
    return sources.run_cells(*cells, np=np, keras=keras, layers=layers, **names)


def test_the_checks_own_oracle_and_specification_are_no_answers():
    cells = _notebook_cells(
        "from cnncourse.checks.lab4 import _oracle_pair\n"
        "def most_confused_pair(cm):\n    return tuple(int(v) for v in _oracle_pair(cm))\n",
        "from cnncourse.checks.lab4 import lenet_spec as _spec\n"
        "def build_lenet5(input_shape, num_classes, activation='sigmoid'):\n"
        "    make = {'Conv2D': lambda s: layers.Conv2D(s.config['filters'], s.config['kernel_size'],"
        " padding=s.config['padding'], activation=s.activation),\n"
        "            'AveragePooling2D': lambda s: layers.AveragePooling2D(s.config['pool_size'], s.config['strides']),\n"
        "            'Flatten': lambda s: layers.Flatten(),\n"
        "            'Dense': lambda s: layers.Dense(s.config['units'], activation=s.activation)}\n"
        "    return keras.Sequential([keras.Input(shape=input_shape)]"
        " + [make[s.kind](s) for s in _spec(input_shape, num_classes, activation)])\n",
    )
    with pytest.raises(CheckFailed, match="cnncourse.checks"):
        lab4.check_most_confused_pair(cells["most_confused_pair"])
    with pytest.raises(CheckFailed, match="cnncourse.checks"):
        lab4.check_build_lenet5(cells["build_lenet5"])


def test_a_dense_network_earns_nothing_in_the_graded_lenet_runs(ref):
    def build_lenet5(input_shape, num_classes, activation="sigmoid"):
        return keras.Sequential(
            [
                keras.Input(shape=input_shape),
                layers.Flatten(),
                layers.Dense(128, "relu"),
                layers.Dense(num_classes, activation="softmax"),
            ]
        )

    for check in (lab4.check_lenet_accuracy, lab4.check_overfit_tiny):
        with pytest.raises(CheckFailed, match="trains LeNet-5, and build_lenet5 builds another network"):
            check(build_lenet5, ref["train_model"])


def test_a_lenet_with_activation_layers_of_its_own_passes(ref):
    """Conv2D/Dense without activation, then an Activation or ReLU layer: the same network, and accepted."""

    def build_lenet5(input_shape, num_classes, activation="sigmoid"):
        model = ref["build_lenet5"](input_shape, num_classes, activation)
        stack = [keras.Input(shape=model.input_shape[1:])]
        for layer in model.layers:
            cfg = layer.get_config()
            act = cfg.get("activation")
            if act not in (None, "linear"):
                stack.append(type(layer).from_config({**cfg, "activation": "linear"}))
                extra = {"relu": layers.ReLU(), "softmax": layers.Softmax()}.get(act, layers.Activation(act))
                stack.append(extra)
            else:
                stack.append(type(layer).from_config(cfg))
        return keras.Sequential(stack)

    assert any(isinstance(l, layers.ReLU) for l in build_lenet5((28, 28, 1), 10, "relu").layers)
    assert lab4.check_build_lenet5(build_lenet5) is None
    # ... and the graded runs take it for a LeNet too.
    assert lab4._graded_pair("Exercise 2", build_lenet5, ref["train_model"])[0] is not None


def test_one_hot_labels_with_categorical_cross_entropy_pass(ref):
    def train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
        one_hot = lambda y: keras.utils.to_categorical(y, 10)  # noqa: E731
        return model.fit(
            x_train,
            one_hot(y_train),
            epochs=epochs,
            batch_size=batch_size,
            validation_data=(x_val, one_hot(y_val)),
            verbose=0,
        )

    assert lab4.check_train_model(train_model, ref["build_lenet5"]) is None


def test_fit_without_shuffling_fails(ref):
    def train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model.fit(
            x_train,
            y_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=(x_val, y_val),
            verbose=0,
            shuffle=False,
        )

    with pytest.raises(CheckFailed, match="shuffle=False"):
        lab4.check_train_model(train_model, ref["build_lenet5"])


# --------------------------------------------------------------------------
# Exercise 4 (gradient_norms) and the two questions
# --------------------------------------------------------------------------
tf = pytest.importorskip("tensorflow")


def _kernels(model):
    return [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]


def _norms_with(loss_of, weights_of=_kernels, norm=lambda g: float(tf.norm(g))):
    """A gradient_norms written with one mistake: the loss, the weights or the norm."""

    def gradient_norms(model, x, y):
        weights = weights_of(model)
        with tf.GradientTape() as tape:
            loss = loss_of(model, x, y)
        return [norm(g) for g in tape.gradient(loss, weights)]

    return gradient_norms


def _mean_ce(model, x, y):
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))


WRONG_NORMS = {
    "summed loss": (
        _norms_with(lambda m, x, y: tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, m(x)))),
        "summed over the batch",
    ),
    "squared norms": (_norms_with(_mean_ce, norm=lambda g: float(tf.reduce_sum(g**2))), "squares"),
    "biases too": (_norms_with(_mean_ce, weights_of=lambda m: m.trainable_weights), "biases included"),
    "from logits on probabilities": (
        _norms_with(
            lambda m, x, y: tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, m(x), from_logits=True))
        ),
        "from_logits=True",
    ),
    "gradient of the outputs": (_norms_with(lambda m, x, y: tf.reduce_sum(m(x))), "gradient norms of"),
    "dense layers only": (
        _norms_with(_mean_ce, weights_of=lambda m: [l.kernel for l in m.layers if isinstance(l, layers.Dense)]),
        "five positive, finite norms",
    ),
    "mean absolute gradient": (
        _norms_with(_mean_ce, norm=lambda g: float(tf.reduce_mean(tf.abs(g)))),
        "gradient norms of",
    ),
}


def test_reference_gradient_norms_pass_the_visible_and_hidden_tests(ref):
    assert lab4.check_gradient_norms(ref["gradient_norms"]) is None
    _run_hidden({"gradient_norms": ref["gradient_norms"]}, "test_gradient_norms")


@pytest.mark.parametrize("name", sorted(WRONG_NORMS))
def test_wrong_gradient_norms_fail_with_their_own_message(name):
    wrong, message = WRONG_NORMS[name]
    with pytest.raises(CheckFailed, match=message):
        lab4.check_gradient_norms(wrong)
    with pytest.raises(CheckFailed, match=r"Exercise 4 \(gradient_norms\): a hidden test failed"):
        _run_hidden({"gradient_norms": wrong}, "test_gradient_norms")


@pytest.fixture(scope="module")
def lab_run(ref):
    """The lab's cells from the data to the gradient measurement, run as a student runs them (no training)."""
    names = {k: v for k, v in ref.items() if not k.startswith("__")}  # the import cell's names and the solutions
    return sources.run_cells(sources.cell_source(LAB, "data"), sources.cell_source(LAB, "measure-gradients"), **names)


def _vanishing_cell(namespace, sigmoid_shrink, relu_shrink):
    names = {k: namespace[k] for k in ("norms", "x_batch", "y_batch", "build_lenet5", "runtime", "tf", "keras")}
    names.update(sigmoid_shrink=sigmoid_shrink, relu_shrink=relu_shrink)
    return names


def test_the_sigmoid_network_vanishes_and_the_reference_answers_pass(lab_run):
    from autograder.course import strip_solution_markers

    namespace = sources.run_cells(
        strip_solution_markers(sources.cell_source(LAB, "vanishing")), np=np, norms=lab_run["norms"]
    )
    sig, relu = namespace["sigmoid_shrink"], namespace["relu_shrink"]
    # What the question predicts: at least 4**4 = 256 from the four sigmoid slopes; ReLU near 1.
    assert sig > 256 and relu < 10, (sig, relu)
    lab4.check_vanishing_answers(lab_run["norms"], sig, relu)
    names = _vanishing_cell(lab_run, sig, relu)
    _run_hidden(names, "test_vanishing")


@pytest.mark.parametrize(
    "mistake",
    ["first over last", "swapped networks", "a string", "rounded to a power of ten"],
)
def test_wrong_vanishing_answers_fail(lab_run, mistake):
    n = lab_run["norms"]
    sig, relu = n["sigmoid"][-1] / n["sigmoid"][0], n["relu"][-1] / n["relu"][0]
    answers = {
        "first over last": (1 / sig, 1 / relu),
        "swapped networks": (relu, sig),
        "a string": ("about 500", relu),
        "rounded to a power of ten": (10.0 ** round(np.log10(sig)), relu),
    }[mistake]
    with pytest.raises(CheckFailed, match=r"Question 2"):
        lab4.check_vanishing_answers(n, *answers)
    if mistake != "a string":
        with pytest.raises(CheckFailed, match=r"Question 2 \(sigmoid_shrink, relu_shrink\): a hidden test failed"):
            _run_hidden(_vanishing_cell(lab_run, *answers), "test_vanishing")


def test_the_vanishing_margin_holds_across_seeds(ref):
    """The question's prediction (>= 256 for sigmoid, about 1 for ReLU) holds for every seed, not only seed 0."""
    runtime = pytest.importorskip("cnncourse.runtime")
    from cnncourse import data

    x, y = data.load_digits(size=28, return_X_y=True)
    ratios = []
    for seed in range(10):
        r = {}
        for activation in ("sigmoid", "relu"):
            runtime.set_seed(seed)
            g = ref["gradient_norms"](ref["build_lenet5"]((28, 28, 1), 10, activation), x[:64], y[:64])
            r[activation] = g[-1] / g[0]
        ratios.append((r["sigmoid"], r["relu"]))
    assert min(s for s, _ in ratios) > 256 and max(r for _, r in ratios) < 10, ratios


class _History:
    def __init__(self, curve):
        self.history = {"val_accuracy": curve}


def test_best_epoch_is_read_from_the_students_own_curve():
    history = _History([0.5, 0.8, 0.9, 0.9, 0.85])
    lab4.check_best_epoch(3, history)
    _run_hidden({"best_epoch": 3, "history_relu": history}, "test_best_epoch")
    for wrong, where in ((2, "hidden"), (4, "hidden"), (0, "visible"), (6, "visible"), (3.0, "visible")):
        if where == "visible":
            with pytest.raises(CheckFailed, match=r"Question 1 \(best_epoch\)"):
                lab4.check_best_epoch(wrong, history)
        else:  # an index counted from 0, the last of a tie: well-formed, but not the curve's answer
            lab4.check_best_epoch(wrong, history)
            with pytest.raises(CheckFailed, match=r"Question 1 \(best_epoch\): a hidden test failed"):
                _run_hidden({"best_epoch": wrong, "history_relu": history}, "test_best_epoch")
