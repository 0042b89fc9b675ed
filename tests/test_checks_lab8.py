"""Lab 8's checks accept right answers and refuse plausible wrong ones."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from cnncourse.checks import CheckFailed, lab8  # noqa: E402


# ---------------------------------------------------------------- right answers
def first_layer_filters(model):
    conv = next(l for l in model.layers if isinstance(l, keras.layers.Conv2D))
    w = np.transpose(conv.get_weights()[0], (3, 0, 1, 2))
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    hi = w.max(axis=(1, 2, 3), keepdims=True)
    return (w - lo) / (hi - lo)


def feature_maps(model, image, layer_name):
    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    return np.asarray(probe(image[None], training=False))[0]


def occlusion_map(model, image, class_index, patch, stride):
    h, w = image.shape[:2]
    rows, cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    batch = np.repeat(image[None], rows * cols, axis=0)
    for k in range(rows * cols):
        i, j = divmod(k, cols)
        batch[k, i * stride:i * stride + patch, j * stride:j * stride + patch] = 0.0
    return model.predict(batch, verbose=0)[:, class_index].reshape(rows, cols)


def grad_cam(model, image, class_index, layer_name, score_layer="logits"):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer(score_layer).output])
    with tf.GradientTape() as tape:
        maps, scores = probe(image[None], training=False)
        score = scores[:, class_index]
    grads = tape.gradient(score, maps)
    weights = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], axis=-1))[0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def fgsm(model, image, label, epsilon):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), model(x, training=False))
    step = epsilon * tf.sign(tape.gradient(loss, x))
    return np.clip((x + step).numpy()[0], 0.0, 1.0)


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
    h, w = image.shape[:2]
    rows, cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    batch = np.repeat(image[None], rows * cols, axis=0)
    for k in range(rows * cols):
        i, j = divmod(k, cols)
        batch[k, i * stride:i * stride + patch, j * stride:j * stride + patch] = 1.0
    return model.predict(batch, verbose=0)[:, class_index].reshape(rows, cols)


def occlusion_ignores_stride(model, image, class_index, patch, stride):
    return occlusion_map(model, image, class_index, patch, 1)


def grad_cam_of_probability(model, image, class_index, layer_name):
    return grad_cam(model, image, class_index, layer_name, score_layer="predictions")


def grad_cam_without_relu(model, image, class_index, layer_name):
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        maps, scores = probe(image[None])
        score = scores[:, class_index]
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))
    cam = tf.reduce_sum(maps * weights[:, None, None, :], axis=-1)[0].numpy()
    return (cam - cam.min()) / (cam.max() - cam.min())


def grad_cam_wrong_class(model, image, class_index, layer_name):
    return grad_cam(model, image, (class_index + 1) % 5, layer_name)


def fgsm_raw_gradient(model, image, label, epsilon):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), model(x))
    return np.clip((x + epsilon * tape.gradient(loss, x)).numpy()[0], 0, 1)


def fgsm_descends(model, image, label, epsilon):
    return np.clip(2 * image - fgsm(model, image, label, epsilon), 0, 1)


def fgsm_unclipped(model, image, label, epsilon):
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), model(x))
    return (x + epsilon * tf.sign(tape.gradient(loss, x))).numpy()[0]


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


@pytest.mark.parametrize("wrong", [occlusion_no_plus_one, occlusion_transposed, occlusion_with_ones,
                                   occlusion_ignores_stride])
def test_wrong_occlusion_fails(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_occlusion_map(wrong)


@pytest.mark.parametrize("wrong", [grad_cam_of_probability, grad_cam_without_relu, grad_cam_wrong_class])
def test_wrong_grad_cam_fails(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_grad_cam(wrong)


@pytest.mark.parametrize("wrong", [fgsm_raw_gradient, fgsm_descends, fgsm_unclipped])
def test_wrong_fgsm_fails(wrong):
    with pytest.raises(CheckFailed):
        lab8.check_fgsm(wrong)


def test_evidence_image_has_its_digit_in_the_box():
    image, label, (t, l, b, r) = lab8.evidence_image(0)
    assert image.shape == (32, 32, 1) and 0 <= label < 5
    inside = image[t:b, l:r].sum()
    assert inside > 0 and np.isclose(inside, image.sum())
