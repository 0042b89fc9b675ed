"""Lab 8's checks accept right answers and refuse plausible wrong ones."""

import functools

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import sources  # noqa: E402
from cnncourse.checks import CheckFailed, lab8  # noqa: E402

LAB = "lab8-visualize"


# ---------------------------------------------------------------- right answers: the source notebook's
@functools.lru_cache(maxsize=None)
def _reference():
    return sources.solutions(LAB, skip=("attack_drops",))  # it reads the notebook's measurements


def _ref(name):
    """The source notebook's ``name``, looked up when first called (the notebook runs once)."""

    def run(*args, **kwargs):
        return _reference()[name](*args, **kwargs)

    run.__name__ = name
    return run


@pytest.fixture(autouse=True, scope="module")
def _notebook_run_first():
    """Run the notebook before any check watches a call (its cells are not the answers' calls)."""
    _reference()


first_layer_filters, feature_maps = _ref("first_layer_filters"), _ref("feature_maps")
occlusion_map, grad_cam, fgsm = _ref("occlusion_map"), _ref("grad_cam"), _ref("fgsm")


# ---------------------------------------------------------------- wrong answers
def filters_keras_layout(model):
    return np.asarray(model.layers[1].get_weights()[0])


def filters_global_scaling(model):
    w = np.transpose(model.layers[1].get_weights()[0], (3, 0, 1, 2))
    return (w - w.min()) / (w.max() - w.min())


def filters_last_conv(model):
    conv = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][-1]
    w = np.transpose(conv.get_weights()[0], (3, 0, 1, 2))
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    return (w - lo) / (w.max(axis=(1, 2, 3), keepdims=True) - lo)


def maps_with_batch_axis(model, image, layer_name):
    return np.asarray(keras.Model(model.input, model.get_layer(layer_name).output)(image[None]))


def maps_of_wrong_layer(model, image, layer_name):
    return feature_maps(model, image, "conv1")


def occlusion_no_plus_one(model, image, class_index, patch, stride):
    return occlusion_map(model, image, class_index, patch, stride)[:-1, :-1]


def occlusion_transposed(model, image, class_index, patch, stride):
    return occlusion_map(model, image, class_index, patch, stride).T


def occlusion_with_ones(model, image, class_index, patch, stride):
    tops = range(0, image.shape[0] - patch + 1, stride)
    lefts = range(0, image.shape[1] - patch + 1, stride)
    covered = []
    for top in tops:
        for left in lefts:
            one = image.copy()
            one[top : top + patch, left : left + patch] = 1.0  # a white square instead of a black one
            covered.append(one)
    scores = np.asarray(model(np.stack(covered), training=False))[:, class_index]
    return scores.reshape(len(tops), len(lefts))


def occlusion_ignores_stride(model, image, class_index, patch, stride):
    return occlusion_map(model, image, class_index, patch, 1)


def _cam(model, image, class_index, layer_name, score_layer="logits", relu=True):
    """Grad-CAM written apart from the solution, with the score layer and the ReLU to choose."""
    head = keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer(score_layer).output])
    with tf.GradientTape() as tape:
        acts, out = head(image[None], training=False)
        target = out[0, class_index]
    alpha = tf.reduce_mean(tape.gradient(target, acts)[0], axis=(0, 1))
    heat = np.tensordot(np.asarray(acts[0]), np.asarray(alpha), axes=1)
    if relu:
        heat = np.maximum(heat, 0.0)
        return heat / heat.max()
    return (heat - heat.min()) / (heat.max() - heat.min())


def grad_cam_per_pixel(model, image, class_index, layer_name):
    """Each pixel weighted by its own gradient: no average over the map."""
    head = keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        acts, out = head(image[None], training=False)
        target = out[0, class_index]
    heat = np.maximum(np.sum(np.asarray(tape.gradient(target, acts)[0]) * np.asarray(acts[0]), axis=-1), 0.0)
    return heat / heat.max()


def grad_cam_of_probability(model, image, class_index, layer_name):
    return _cam(model, image, class_index, layer_name, score_layer="predictions")


def grad_cam_without_relu(model, image, class_index, layer_name):
    return _cam(model, image, class_index, layer_name, relu=False)


def grad_cam_wrong_class(model, image, class_index, layer_name):
    return grad_cam(model, image, (class_index + 1) % 5, layer_name)


def _loss_gradient(model, image, label):
    pixels = tf.Variable(image[None])
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(np.array([label]), model(pixels, training=False))
    return np.asarray(tape.gradient(loss, pixels))[0]


def fgsm_raw_gradient(model, image, label, epsilon):
    return np.clip(image + epsilon * _loss_gradient(model, image, label), 0, 1)


def fgsm_descends(model, image, label, epsilon):
    return np.clip(2 * image - fgsm(model, image, label, epsilon), 0, 1)


def fgsm_unclipped(model, image, label, epsilon):
    return image + epsilon * np.sign(_loss_gradient(model, image, label))


def fgsm_from_logits(model, image, label, epsilon):
    """The softmax's output given to a loss told it gets logits (Keras's TensorFlow backend undoes it, with a warning)."""
    pixels = tf.Variable(image[None])
    with tf.GradientTape() as tape:
        probs = model(pixels, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), probs, from_logits=True)
    return np.clip(image + epsilon * np.sign(np.asarray(tape.gradient(loss, pixels))[0]), 0, 1)


# ---------------------------------------------------------------- tests
def test_right_answers_pass(capsys):
    assert lab8.check_first_layer_filters(first_layer_filters) is None
    assert lab8.check_feature_maps(feature_maps) is None
    assert lab8.check_occlusion_map(occlusion_map) is None
    assert lab8.check_grad_cam(grad_cam) is None
    assert lab8.check_fgsm(fgsm) is None
    assert capsys.readouterr().out.count("\u2714") == 5


@pytest.mark.parametrize("wrong", [filters_keras_layout, filters_global_scaling, filters_last_conv])
def test_wrong_filters_fail(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_first_layer_filters(wrong)


@pytest.mark.parametrize("wrong", [maps_with_batch_axis, maps_of_wrong_layer])
def test_wrong_feature_maps_fail(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_feature_maps(wrong)


@pytest.mark.parametrize(
    "wrong", [occlusion_no_plus_one, occlusion_transposed, occlusion_with_ones, occlusion_ignores_stride]
)
def test_wrong_occlusion_fails(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_occlusion_map(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (grad_cam_of_probability, "softmax probability"),
        (grad_cam_without_relu, "negative evidence"),
        (grad_cam_wrong_class, "heatmap of class 0"),
        (grad_cam_per_pixel, "its own gradient"),
    ],
)
def test_wrong_grad_cam_fails(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        lab8.check_grad_cam(wrong)


@pytest.mark.parametrize("spatial", [None, lab8.SPATIAL_WEIGHTS], ids=["mean", "weighted-sum"])
def test_the_known_networks_give_the_heatmaps_they_promise(spatial):
    model, maps = lab8._known_cam_model(spatial), lab8._known_cam_image()
    for k in (0, 1):
        heat = np.maximum(maps[..., k], 0)
        assert np.allclose(_cam(model, maps, k, "maps"), heat / heat.max(), atol=1e-5)
        assert not np.allclose(grad_cam_of_probability(model, maps, k, "maps"), heat / heat.max(), atol=0.05)
        assert not np.allclose(grad_cam_without_relu(model, maps, k, "maps"), heat / heat.max(), atol=0.05)
        per_pixel = grad_cam_per_pixel(model, maps, k, "maps")
        assert np.allclose(per_pixel, heat / heat.max(), atol=1e-5) == (spatial is None)  # only uneven gradients tell


@pytest.mark.parametrize("wrong", [fgsm_raw_gradient, fgsm_descends, fgsm_unclipped, fgsm_from_logits])
def test_wrong_fgsm_fails(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_fgsm(wrong)


def test_evidence_image_has_its_digit_in_the_box():
    image, label, (t, l, b, r) = lab8.evidence_image(0)
    assert image.shape == (32, 32, 1) and 0 <= label < 5
    inside = image[t:b, l:r].sum()
    assert inside > 0 and np.isclose(inside, image.sum())


# ---------------------------------------------------------------- hidden tests (the source notebook's)
def _run_hidden(grade_id, **answers):
    exec(sources.hidden_tests(LAB, grade_id), dict(_reference(), **answers))


@pytest.mark.parametrize(
    "grade_id", ["test_first_layer_filters", "test_feature_maps", "test_occlusion_map", "test_grad_cam", "test_fgsm"]
)
def test_hidden_tests_pass_the_solutions(grade_id):
    _run_hidden(grade_id)


@pytest.mark.parametrize(
    "wrong", [grad_cam_of_probability, grad_cam_without_relu, grad_cam_wrong_class, grad_cam_per_pixel]
)
def test_hidden_grad_cam_test_compares_with_the_class_activation_map(wrong):
    with pytest.raises(AssertionError):
        _run_hidden("test_grad_cam", grad_cam=wrong)


def test_the_checks_own_code_is_refused_inside_an_answer():
    def grad_cam_through_the_checks(model, image, class_index, layer_name):
        return lab8._over_max(grad_cam(model, image, class_index, layer_name))

    with pytest.raises(
        CheckFailed,
        match="Exercise 4 \\(grad_cam\\): this exercise asks you to write it yourself: "
        "`cnncourse.checks.lab8._over_max` is not allowed here",
    ):
        lab8.check_grad_cam(grad_cam_through_the_checks)


# ---------------------------------------------------------------- Exercise 6 (saliency_map) and Question 1
saliency_map = _ref("saliency_map")


def _saliency_with(score="logits", reduce="max", absolute=True):
    """A saliency_map with one mistake: what it differentiates, how it reduces the channels, no abs."""

    def wrong(model, image, class_index):
        x = tf.constant(np.asarray(image, "float32")[None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            if score == "logits":
                out = keras.Model(model.input, model.get_layer("logits").output)(x)[0, class_index]
            elif score == "probability":
                out = model(x)[0, class_index]
            else:  # the loss of the class
                out = keras.losses.sparse_categorical_crossentropy(np.array([class_index]), model(x))[0]
        grad = tape.gradient(out, x).numpy()[0]
        grad = np.abs(grad) if absolute else grad
        return {"max": grad.max(axis=-1), "sum": grad.sum(axis=-1), "none": grad}[reduce]

    return wrong


WRONG_SALIENCY = {
    "the probability's gradient": (_saliency_with(score="probability"), "before the softmax"),
    "the loss's gradient": (_saliency_with(score="loss"), "before the softmax"),
    "no absolute value": (_saliency_with(absolute=False), "cannot be negative"),
    "channels added": (_saliency_with(reduce="sum"), "channels were added"),
    "channels kept": (_saliency_with(reduce="none"), "largest absolute gradient over the channels"),
}


def test_reference_saliency_passes_the_visible_and_hidden_tests():
    lab8.check_saliency_map(saliency_map)
    names = {"np": np, "checks": lab8, "model": _reference()["model"], "saliency_map": saliency_map}
    exec(sources.hidden_tests(LAB, "test_saliency_map"), names)


@pytest.mark.parametrize("name", sorted(WRONG_SALIENCY))
def test_wrong_saliency_maps_fail_with_their_own_message(name):
    wrong, message = WRONG_SALIENCY[name]
    with pytest.raises(CheckFailed, match=message):
        lab8.check_saliency_map(wrong)


def _attack_names(**answers):
    attack = {"FGSM": [0.9, 0.7, 0.3, 0.15, 0.1], "random signs": [0.97, 0.95, 0.7, 0.3, 0.25]}
    return {
        "np": np,
        "checks": lab8,
        "EPSILONS": (0.01, 0.02, 0.05, 0.1, 0.2),
        "clean_accuracy": 1.0,
        "attack": attack,
        **answers,
    }


def _run_attack(**answers):
    exec(sources.hidden_tests(LAB, "test_attack_drops"), _attack_names(**answers))


def test_attack_drops_are_read_from_the_students_own_measurements():
    from autograder.course import strip_solution_markers

    solved = sources.run_cells(strip_solution_markers(sources.cell_source(LAB, "attack_drops")), **_attack_names())
    fgsm_drop, noise_drop = solved["fgsm_drop"], solved["noise_drop"]
    assert (round(fgsm_drop, 6), round(noise_drop, 6)) == (0.7, 0.3)
    lab8.check_attack_drops(fgsm_drop, noise_drop)
    _run_attack(fgsm_drop=fgsm_drop, noise_drop=noise_drop)
    for wrong in ((0.85, 0.7), (0.3, 0.7), (0.3, 0.3), (0.7, 0.05)):  # another epsilon, accuracies, swapped
        lab8.check_attack_drops(*wrong)
        with pytest.raises(CheckFailed, match=r"Question 1 \(fgsm_drop, noise_drop\): a hidden test failed"):
            _run_attack(fgsm_drop=wrong[0], noise_drop=wrong[1])
    for malformed in ((70, 30), ("0.7", 0.3), (True, 0.3)):
        with pytest.raises(CheckFailed, match=r"Question 1"):
            lab8.check_attack_drops(*malformed)


def test_an_fgsm_that_is_no_better_than_noise_fails_the_question():
    """Measurements where FGSM does no more than random signs: the student's fgsm is wrong, and the question says so."""
    names = _attack_names(fgsm_drop=0.3, noise_drop=0.3)
    names["attack"] = {"FGSM": [0.97, 0.95, 0.7, 0.3, 0.25], "random signs": [0.97, 0.95, 0.7, 0.3, 0.25]}
    with pytest.raises(CheckFailed, match="is your fgsm right"):
        exec(sources.hidden_tests(LAB, "test_attack_drops"), names)


# ---------------------------------------------------------------- Exercise 7 (class_model)
class_model = _ref("class_model")


def _ascent_with(score="logits", sign=1.0, penalty=1.0):
    """A class_model with one mistake: what it climbs, which way it steps, the l2 term's sign or absence."""

    def wrong(model, class_index, steps, lr, l2):
        head = keras.Model(model.input, model.get_layer(score).output)
        x = tf.Variable(tf.zeros((1, 32, 32, 1)))
        for _ in range(steps):
            with tf.GradientTape() as tape:
                objective = head(x, training=False)[0, class_index] - penalty * l2 * tf.reduce_sum(x * x)
            x.assign(tf.clip_by_value(x + sign * lr * tape.gradient(objective, x), 0.0, 1.0))
        return x.numpy()[0]

    return wrong


WRONG_CLASS_MODELS = {
    "descends the score": (_ascent_with(sign=-1.0), "raise class 2's score"),
    "climbs the probability": (_ascent_with(score="predictions"), "raise class 2's score"),
    "no l2 term": (_ascent_with(penalty=0.0), "larger l2 should give a smaller image"),
    "l2 term added": (_ascent_with(penalty=-1.0), "larger l2 should give a smaller image"),
    "batch axis kept": (lambda *a: class_model(*a)[None], "without the batch axis"),
}


def test_reference_class_model_passes_the_visible_and_hidden_tests(capsys):
    lab8.check_class_model(class_model)
    assert "\u2714" in capsys.readouterr().out
    _run_hidden("test_class_model", class_model=class_model)


@pytest.mark.parametrize("name", sorted(WRONG_CLASS_MODELS))
def test_wrong_class_models_fail_with_their_own_message(name):
    wrong, message = WRONG_CLASS_MODELS[name]
    with pytest.raises(CheckFailed, match=message):
        lab8.check_class_model(wrong)
    if name != "batch axis kept":  # the hidden test is no easier to fool
        with pytest.raises(CheckFailed, match=r"Exercise 7 \(class_model\): a hidden test failed"):
            _run_hidden("test_class_model", class_model=wrong)


# ---------------------------------------------------------------- Question 2 (resolution and cost, predicted)
def _run_resolution(**answers):
    names = {"np": np, "checks": lab8, "model": _reference()["model"], "image": _reference()["image"], **answers}
    exec(sources.hidden_tests(LAB, "test_resolution_and_cost"), names)


def test_resolution_predictions_are_checked_against_the_network():
    right = sources.run_cells(sources.cell_source(LAB, "resolution_and_cost"))
    answers = {k: right[k] for k in ("SALIENCY_SHAPE", "GRAD_CAM_CONV2_SHAPE", "OCCLUSION_IMAGES")}
    assert answers["OCCLUSION_IMAGES"] == np.size(occlusion_map(_reference()["model"], _reference()["image"], 0, 6, 2))
    assert answers["GRAD_CAM_CONV2_SHAPE"] == np.shape(
        grad_cam(_reference()["model"], _reference()["image"], 0, "conv2")
    )
    lab8.check_resolution_and_cost(*answers.values())
    _run_resolution(**answers)
    for name, wrong in (
        ("SALIENCY_SHAPE", (8, 8)),  # Grad-CAM's resolution at conv3
        ("GRAD_CAM_CONV2_SHAPE", (8, 8)),  # conv3's, not conv2's
        ("GRAD_CAM_CONV2_SHAPE", (32, 32)),  # the input's
        ("OCCLUSION_IMAGES", 169),  # an 8x8 square's
        ("OCCLUSION_IMAGES", 13 * 13),  # no + 1
        ("OCCLUSION_IMAGES", 14),  # one row of positions
    ):
        lab8.check_resolution_and_cost(*dict(answers, **{name: wrong}).values())
        with pytest.raises(CheckFailed, match=r"Question 2 .*a hidden test failed"):
            _run_resolution(**dict(answers, **{name: wrong}))
    for malformed in (((32, 32, 1), (16, 16), 196), ((32, 32), [16, 16], 196), ((32, 32), (16, 16), 196.0)):
        with pytest.raises(CheckFailed, match=r"Question 2"):
            lab8.check_resolution_and_cost(*malformed)


# ---------------------------------------------------------------- the optional section: Grad-CAM on a real photo
def _only_here(monkeypatch, data_dir):
    """Weights and class names are looked for in ``data_dir`` alone, not in this machine's Keras cache."""
    from cnncourse.models import imagenet

    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(data_dir))
    monkeypatch.setattr(imagenet, "model_dirs", lambda data_home=None: [data_dir / "models", data_dir])
    return imagenet


def test_optional_grad_cam_without_the_weights_says_where_to_put_them(monkeypatch, tmp_path, capsys):
    imagenet = _only_here(monkeypatch, tmp_path)
    namespace = dict(_reference())
    capsys.readouterr()
    exec(sources.cell_source(LAB, "optional-grad-cam"), namespace)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    assert imagenet.weights_file("mobilenet_v2") in lines[0] and f"{tmp_path / 'models'}/" in lines[0], lines[0]
    assert "net" not in namespace and "photo_cam" not in namespace
    assert imagenet.class_names() is None


def test_optional_grad_cam_runs_the_students_grad_cam_on_a_real_photo(monkeypatch, tmp_path, capsys):
    import json
    import types

    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving import legacy_h5_format

    from cnncourse import plots

    imagenet = _only_here(monkeypatch, tmp_path)
    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV2(weights=None)  # random weights, saved as the ImageNet file is named
    (tmp_path / "models").mkdir()
    with h5py.File(tmp_path / "models" / imagenet.weights_file("mobilenet_v2"), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, net)
    index = {str(i): [f"n{i:08d}", f"made_up_{i}"] for i in range(1000)}
    (tmp_path / "models" / imagenet.CLASS_INDEX_FILE).write_text(json.dumps(index))

    drawn, cams = [], []

    def heatmap_overlay(image, heatmap, **kwargs):
        drawn.append((np.shape(image), np.asarray(heatmap)))
        return plots.heatmap_overlay(image, heatmap, **kwargs)

    def students_grad_cam(model, image, class_index, layer_name):
        cams.append(layer_name)
        return grad_cam(model, image, class_index, layer_name)

    namespace = dict(_reference(), plots=types.SimpleNamespace(heatmap_overlay=heatmap_overlay))
    namespace["grad_cam"] = students_grad_cam
    capsys.readouterr()
    exec(sources.cell_source(LAB, "optional-grad-cam"), namespace)
    lines = capsys.readouterr().out.splitlines()
    assert cams == ["out_relu"]
    assert [line.split(".")[0] for line in lines] == ["1", "2", "3", "4", "5"], lines
    assert all("made_up_" in line for line in lines), lines
    ((image_shape, heatmap),) = drawn
    assert image_shape == (224, 224, 3) and heatmap.shape == (7, 7)
    assert np.all(np.isfinite(heatmap)) and heatmap.min() >= 0 and heatmap.max() <= 1
    assert namespace["fig"].axes[1].images, "the overlay draws the heatmap"
    # the classifier's softmax was split off into a "logits" layer holding the saved weights
    kernel, bias = namespace["imagenet_model"].get_layer("logits").get_weights()
    assert np.array_equal(kernel, net.get_layer("predictions").get_weights()[0]) and np.array_equal(
        bias, net.get_layer("predictions").get_weights()[1]
    )
