"""Checks for Lab 8, what has a CNN learned?

The model under study is the course's shipped source network
(:mod:`cnncourse.models.source`): digits pasted on a black canvas, so the
evidence for a class sits where the digit is. Oracles: the layer weights
Keras holds, intermediate-output models, single occluded images evaluated
directly, a small network whose Grad-CAM heatmaps are known by construction,
and the cross-entropy's gradient taken as the logits' vector-Jacobian product
with ``p - onehot(label)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import training
from .by_hand import OWN_WORK, by_hand, by_source
from .core import CheckFailed, call, expect_array, passed
from .hidden import hidden_for

EXERCISES = {
    "first_layer_filters": "Exercise 1 (first_layer_filters)",
    "feature_maps": "Exercise 2 (feature_maps)",
    "occlusion_map": "Exercise 3 (occlusion_map)",
    "grad_cam": "Exercise 4 (grad_cam)",
    "fgsm": "Exercise 5 (fgsm)",
    "attack_drops": "Question 1 (fgsm_drop, noise_drop)",
    "saliency_map": "Exercise 6 (saliency_map)",
    "class_model": "Exercise 7 (class_model)",
    "resolution_and_cost": "Question 2 (SALIENCY_SHAPE, GRAD_CAM_CONV2_SHAPE, OCCLUSION_IMAGES)",
}
BY_HAND = dict.fromkeys(EXERCISES, OWN_WORK)  # TensorFlow is the tool here; the checks' own code is not
hidden = hidden_for(EXERCISES, BY_HAND)

BOX_TOP_LEFT = (1, 2)


def evidence_image(digit_index=0, top=BOX_TOP_LEFT[0], left=BOX_TOP_LEFT[1], classes=(0, 1, 2, 3, 4)):
    """Return a test digit of the source classes pasted at a known place.

    The digit is one the source network never trained on (the test part of
    :func:`cnncourse.models.source.split_indices` with seed 0), resized to
    16x16 and pasted on the black 32x32 canvas with its top-left corner at
    ``(top, left)``.

    Args:
        digit_index: which test digit, counted in the test part.
        top: the row of the digit's top edge.
        left: the column of the digit's left edge.
        classes: the source classes, a tuple (the label is the digit's
            position in it).

    Returns:
        ``(image, label, box)``: the ``(32, 32, 1)`` float32 image, the
        label, and the box ``(top, left, bottom, right)``.

    Raises:
        ValueError: the digit does not fit on the canvas at that place.

    Example:
        >>> image, label, box = evidence_image(0)  # doctest: +SKIP
        >>> box  # doctest: +SKIP
        (1, 2, 17, 18)
    """
    from cnncourse.models import source

    digits, labels = _test_digits(tuple(classes))
    image = source.place_digit(digits[digit_index], top, left)
    box = (top, left, top + source.DIGIT_SIZE, left + source.DIGIT_SIZE)
    return image, int(labels[digit_index]), box


def _test_digits(classes):
    """The source classes' test digits (resized, not yet pasted) and their labels, loaded once per call."""
    from cnncourse.data import load_digits
    from cnncourse.models import source

    raw = load_digits(size=source.DIGIT_SIZE)
    keep = np.flatnonzero(np.isin(raw.target, classes))
    _, test_idx = source.split_indices(classes, seed=0)
    idx = keep[test_idx]
    return raw.images[idx], np.array([classes.index(t) for t in raw.target[idx]])


def _model():
    from cnncourse.models import source

    return source.load()


def check_first_layer_filters(first_layer_filters):
    """Check ``first_layer_filters`` on the source network: filter axis first, each scaled to [0, 1] on its own.

    The expected array is the first ``Conv2D`` kernel transposed to
    ``(n_filters, kh, kw, in_channels)``, each filter min-max scaled. Keras'
    layout left as it is and filters scaled together are told as such.

    Args:
        first_layer_filters: the student's ``first_layer_filters(model)``,
            returning an array of shape ``(n_filters, kh, kw, in_channels)``.

    Returns:
        None; prints a ✔ line when the filters match.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    import keras

    ex = EXERCISES["first_layer_filters"]
    first_layer_filters = by_hand(ex, first_layer_filters, OWN_WORK)
    model = _model()
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    kernel = np.asarray(conv.get_weights()[0], dtype=float)
    tiles = np.transpose(kernel, (3, 0, 1, 2))
    lo = tiles.min(axis=(1, 2, 3), keepdims=True)
    hi = tiles.max(axis=(1, 2, 3), keepdims=True)
    expected = (tiles - lo) / np.where(hi > lo, hi - lo, 1.0)
    got = call(ex, first_layer_filters, model)
    got = None if got is None else np.asarray(got, dtype=float)
    if got is not None and got.shape == kernel.shape:
        raise CheckFailed(
            ex,
            "the filters still have Keras' layout (kh, kw, in, out).",
            expected=expected.shape,
            found=got.shape,
            hint="Put the filter axis first: np.transpose(kernel, (3, 0, 1, 2)).",
        )
    if (
        got is not None
        and got.shape == expected.shape
        and np.isclose(got.min(), 0)
        and np.isclose(got.max(), 1)
        and not np.allclose(got, expected, atol=1e-5)
    ):
        raise CheckFailed(
            ex,
            "the filters are scaled together; scale each one to [0, 1] on its own.",
            hint="Use the minimum and maximum of every filter (axis=(1, 2, 3), keepdims=True).",
        )
    expect_array(
        ex,
        got,
        expected,
        atol=1e-5,
        what="normalised first-layer filters",
        hint="Take the kernel of the first Conv2D layer (not its bias), filter axis first, "
        "then (w - min) / (max - min) per filter.",
    )
    passed(ex, f"{expected.shape[0]} filters of {expected.shape[1]}x{expected.shape[2]}, each scaled to [0, 1]")


def check_feature_maps(feature_maps):
    """Check ``feature_maps`` against an intermediate-output model on two layers.

    The maps of ``conv1`` and ``conv3`` of the source network for one test
    digit, compared with ``keras.Model(model.input, layer.output)`` in
    inference mode; a result that keeps the batch axis is told as such.

    Args:
        feature_maps: the student's ``feature_maps(model, image,
            layer_name)``, returning the maps of shape ``(h, w, channels)``.

    Returns:
        None; prints a ✔ line when both layers match.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    import keras

    ex = EXERCISES["feature_maps"]
    feature_maps = by_hand(ex, feature_maps, OWN_WORK)
    model = _model()
    image, _, _ = evidence_image(3)
    for name in ("conv1", "conv3"):
        probe = keras.Model(model.input, model.get_layer(name).output)
        expected = np.asarray(probe(image[None], training=False))[0]
        got = call(ex, feature_maps, model, image, name)
        if got is not None and np.ndim(got) == 4 and np.shape(got)[1:] == expected.shape:
            raise CheckFailed(
                ex,
                "return the maps of the one image, without the batch axis.",
                expected=expected.shape,
                found=np.shape(got),
                hint="Take [0] of the batch.",
            )
        expect_array(
            ex,
            got,
            expected,
            atol=1e-4,
            what=f"feature maps of layer {name!r}",
            hint="keras.Model(model.input, model.get_layer(layer_name).output) on image[None].",
        )
    passed(ex, "the maps of conv1 and conv3 match an intermediate-output model")


def _probability(model, image, class_index):
    return float(np.asarray(model(image[None], training=False))[0, class_index])


def check_occlusion_map(occlusion_map):
    """Check ``occlusion_map``: its size from the formula, entries that are occluded-image scores, evidence found.

    For four patch/stride pairs on a test digit: the map has ``(H - patch)
    // stride + 1`` rows and columns, and four of its entries equal the class
    probability of the image with that square set to 0. With an 8x8 patch
    and stride 4, the lowest score must be where the square covers the digit
    and lower the class probability by more than 0.05.

    Args:
        occlusion_map: the student's ``occlusion_map(model, image,
            class_index, patch, stride)``, returning a 2-D array.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    ex = EXERCISES["occlusion_map"]
    occlusion_map = by_hand(ex, occlusion_map, OWN_WORK)
    model = _model()
    image, label, (t, l, b, r) = evidence_image(0)
    h, w = image.shape[:2]
    for patch, stride in ((8, 4), (6, 2), (16, 8), (5, 3)):
        got = call(ex, occlusion_map, model, image, label, patch, stride)
        out = ((h - patch) // stride + 1, (w - patch) // stride + 1)
        if got is None or np.shape(got) != out:
            raise CheckFailed(
                ex,
                f"with a {h}x{w} image, patch={patch} and stride={stride}, the map has the wrong shape.",
                expected=out,
                found=None if got is None else np.shape(got),
                hint="There are (H - patch) // stride + 1 positions down and across.",
            )
        got = np.asarray(got, dtype=float)
        for i, j in ((0, 0), (out[0] - 1, 0), (1, out[1] - 2), (out[0] // 2, out[1] - 1)):
            occluded = image.copy()
            occluded[i * stride : i * stride + patch, j * stride : j * stride + patch] = 0.0
            want = _probability(model, occluded, label)
            if not np.isclose(got[i, j], want, atol=1e-4):
                hint = (
                    "Row i, column j is the class probability with the square of zeros whose top-left "
                    "corner is at (i * stride, j * stride)."
                )
                if np.isclose(got[j, i] if j < out[0] and i < out[1] else np.nan, want, atol=1e-4):
                    hint = "Rows and columns are swapped: the first index moves the square down."
                raise CheckFailed(
                    ex,
                    f"with patch={patch}, stride={stride}, entry ({i}, {j}) is wrong.",
                    expected=round(want, 5),
                    found=round(float(got[i, j]), 5),
                    hint=hint,
                )
    got = np.asarray(call(ex, occlusion_map, model, image, label, 8, 4), dtype=float)
    clean = _probability(model, image, label)
    i, j = np.unravel_index(np.argmin(got), got.shape)
    if not (i * 4 < b and i * 4 + 8 > t and j * 4 < r and j * 4 + 8 > l):
        raise CheckFailed(
            ex,
            "the lowest score should be where the square covers the digit.",
            expected=f"inside rows {t}-{b}, columns {l}-{r}",
            found=(int(i * 4), int(j * 4)),
        )
    if not got.min() < clean - 0.05:
        raise CheckFailed(
            ex,
            "covering the digit should lower the class probability.",
            expected=f"below {clean:.3f}",
            found=round(float(got.min()), 4),
        )
    passed(
        ex,
        "right shape for 4 patch/stride pairs; covering the digit lowers its score "
        f"from {clean:.2f} to {got.min():.2f}",
    )


SPATIAL_WEIGHTS = (0.25 + np.add.outer(np.arange(8), np.arange(8)) / 7.0).astype("float32")
"""How much each pixel of a map counts in the second known network's logit: 0.25 to 2.25."""


def _known_cam_model(spatial=None):
    """A two-class network whose Grad-CAM heatmaps are known by construction.

    ``image -> "maps" (a 1x1 convolution copying the two channels) -> global
    average -> "logits" (the identity) -> "predictions" (softmax)``: the logit of
    class k is the mean of map k, so every gradient of it with respect to map k
    is the same positive number and none reaches the other map. Grad-CAM of
    class k is therefore ReLU(map k) over its maximum; differentiating the
    softmax probability instead gives ReLU(map k - other map) over its maximum.

    With ``spatial`` (an 8x8 array of positive weights) the logit of class k is
    instead the sum of map k weighted by ``spatial``: the gradient then differs
    from pixel to pixel, but its spatial average is still one positive number
    per map, so Grad-CAM is the same; weighting each pixel by its own gradient
    instead (no average) gives ReLU(spatial * map k) over its maximum.

    Args:
        spatial: ``None``, or the 8x8 weights of the second network.

    Returns:
        The Keras model, for 8x8 images of two channels.
    """
    import keras

    L = keras.layers
    channels = 2
    inp = keras.Input(shape=(8, 8, channels), name="image")
    conv = L.Conv2D(channels, 1, use_bias=False, name="maps")
    dense = L.Dense(channels, name="logits")
    pooled = L.GlobalAveragePooling2D()(conv(inp)) if spatial is None else L.Flatten()(conv(inp))
    out = L.Activation("softmax", name="predictions")(dense(pooled))
    model = keras.Model(inp, out)
    conv.set_weights([np.eye(channels, dtype="float32")[None, None]])
    if spatial is None:
        kernel = np.eye(channels, dtype="float32")
    else:  # Flatten orders (row, column, channel): logit k reads channel k of every pixel
        kernel = np.einsum("ij,ck->ijck", np.asarray(spatial, "float32"), np.eye(channels, dtype="float32"))
        kernel = kernel.reshape(-1, channels)
    dense.set_weights([kernel, np.zeros(channels, dtype="float32")])
    return model


def _known_cam_image():
    """Two 8x8 maps, each a blob with negative surroundings, overlapping in part."""
    rows, cols = np.mgrid[0:8, 0:8]
    first = np.exp(-((rows - 2) ** 2 + (cols - 3) ** 2) / 4.0) - 0.25
    second = np.exp(-((rows - 4.5) ** 2 + (cols - 4) ** 2) / 6.0) - 0.1
    return np.stack([first, second], axis=-1).astype("float32")


def _over_max(heat):
    return heat / heat.max()


def check_grad_cam(grad_cam):
    """Check ``grad_cam``: shape and range on two layers, exact heatmaps where the answer is known, peak on the digit.

    On the source network, the heatmaps of ``conv3`` and ``conv2`` must have
    the layer's height and width, lie in [0, 1] and reach 1. On two small
    networks whose Grad-CAM is known by construction (one with gradients that
    vary over the map) the heatmaps must match, and the usual mistakes
    (differentiating the softmax, weighting each pixel by its own gradient,
    keeping negative evidence) are told as such. The peak of the ``conv3``
    heatmap must sit on the digit.

    Args:
        grad_cam: the student's ``grad_cam(model, image, class_index,
            layer_name)``, returning a 2-D heatmap.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    ex = EXERCISES["grad_cam"]
    grad_cam = by_hand(ex, grad_cam, OWN_WORK)
    model = _model()
    image, label, (t, l, b, r) = evidence_image(0)
    for layer_name in ("conv3", "conv2"):
        shape = tuple(model.get_layer(layer_name).output.shape[1:3])
        got = call(ex, grad_cam, model, image, label, layer_name)
        if got is None or np.shape(got) != shape:
            raise CheckFailed(
                ex,
                f"the heatmap of layer {layer_name!r} should have that layer's height and width.",
                expected=shape,
                found=None if got is None else np.shape(got),
                hint="Sum the weighted channels over the last axis and drop the batch axis.",
            )
        got = np.asarray(got, dtype=float)
        if got.min() < -1e-6 or not np.isclose(got.max(), 1.0, atol=1e-4):
            raise CheckFailed(
                ex,
                f"the heatmap of {layer_name!r} should lie in [0, 1] with maximum 1.",
                found=(round(float(got.min()), 4), round(float(got.max()), 4)),
                hint="Apply a ReLU, then divide by the maximum.",
            )
    maps = _known_cam_image().astype(float)
    for spatial, k in ((None, 0), (None, 1), (SPATIAL_WEIGHTS, 0), (SPATIAL_WEIGHTS, 1)):
        known = _known_cam_model(spatial)
        mine, other = maps[..., k], maps[..., 1 - k]
        expected = _over_max(np.maximum(mine, 0.0))
        found = call(ex, grad_cam, known, maps.astype("float32"), k, "maps")
        found = None if found is None else np.asarray(found, dtype=float)
        logit = "the mean of map k" if spatial is None else "a sum of map k with weights that vary over the map"
        what = (
            f"heatmap of class {k} on a two-class network whose logit k is {logit} (so its Grad-CAM is "
            f"ReLU(map k) over its maximum)"
        )
        if found is not None and found.shape == expected.shape and not np.allclose(found, expected, atol=2e-3):
            if spatial is not None and np.allclose(found, _over_max(np.maximum(spatial * mine, 0.0)), atol=2e-3):
                raise CheckFailed(
                    ex,
                    "you weighted each pixel by its own gradient: on this network the gradients "
                    "differ from pixel to pixel, and the heatmap follows them.",
                    hint="Grad-CAM gives each channel ONE weight: its gradient averaged over the "
                    "layer's height and width.",
                )
            if np.allclose(found, _over_max(np.maximum(mine - other, 0.0)), atol=2e-3):
                raise CheckFailed(
                    ex,
                    "you differentiated the softmax probability.",
                    hint="Differentiate the class score before the softmax: the output of the layer named 'logits'.",
                )
            if np.allclose(found, (mine - mine.min()) / (mine.max() - mine.min()), atol=2e-3):
                raise CheckFailed(
                    ex,
                    f"the {what} keeps the negative evidence.",
                    hint="Apply a ReLU to the weighted sum, then divide by its maximum.",
                )
        expect_array(
            ex,
            found,
            expected,
            atol=2e-3,
            what=what,
            hint="Weights: the gradient of the class logit averaged over the height and width "
            "of the layer; heatmap: ReLU of the weighted sum of the channels, over its maximum.",
        )
    got = np.asarray(call(ex, grad_cam, model, image, label, "conv3"), dtype=float)
    scale = image.shape[0] / got.shape[0]
    i, j = np.unravel_index(np.argmax(got), got.shape)
    if not (t <= (i + 0.5) * scale <= b and l <= (j + 0.5) * scale <= r):
        raise CheckFailed(
            ex,
            "the heatmap's peak should be on the digit.",
            expected=(t, l, b, r),
            found=(int(i * scale), int(j * scale)),
        )
    passed(
        ex,
        "right shape and range on two layers, the exact heatmaps of two networks whose answers are "
        "known (one with gradients that vary over the map), and the peak sits on the digit",
    )


def check_fgsm(fgsm):
    """Check ``fgsm``: every pixel moves by at most epsilon, along the sign of the loss gradient, and stays in [0, 1].

    For epsilon 0.02 and 0.1 on a test digit: the image keeps its shape and
    [0, 1] range, no pixel moves by more than epsilon, and every pixel with
    a gradient that clipping leaves free moves by exactly ``epsilon *
    sign(d loss / d x)``, the loss being the cross-entropy of the true label.

    Args:
        fgsm: the student's ``fgsm(model, image, label, epsilon)``, returning
            the adversarial image.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    import keras
    import tensorflow as tf

    ex = EXERCISES["fgsm"]
    fgsm = by_hand(ex, fgsm, OWN_WORK)
    model = _model()
    image, label, _ = evidence_image(5)
    probe = keras.Model(model.input, [model.get_layer("logits").output, model.output])
    pixels = tf.Variable(image[None])
    with tf.GradientTape() as tape:
        logits, probs = probe(pixels, training=False)
    # The cross-entropy's gradient with respect to the logits is p - onehot(label): pull it back to the pixels.
    toward_loss = tf.stop_gradient(probs) - tf.one_hot([label], int(probs.shape[-1]))
    grad = np.asarray(tape.gradient(logits, pixels, output_gradients=toward_loss))[0]
    for eps in (0.02, 0.1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = call(ex, fgsm, model, image, label, eps)
        training.refuse_logits_on_softmax(ex, caught=caught)
        if got is None or np.shape(got) != image.shape:
            raise CheckFailed(
                ex,
                "return an image of the same shape as the input.",
                expected=image.shape,
                found=None if got is None else np.shape(got),
            )
        got = np.asarray(got, dtype=float)
        if got.min() < -1e-6 or got.max() > 1 + 1e-6:
            raise CheckFailed(
                ex,
                "pixel values must stay in [0, 1].",
                found=(float(got.min()), float(got.max())),
                hint="np.clip (or tf.clip_by_value) the result.",
            )
        delta = got - image
        if np.abs(delta).max() > eps + 1e-5:
            raise CheckFailed(
                ex,
                f"with epsilon={eps}, some pixel moved by more than epsilon.",
                expected=eps,
                found=round(float(np.abs(delta).max()), 5),
                hint="Use the sign of the gradient, not the gradient itself.",
            )
        free = (np.abs(grad) > 1e-8) & (image + eps * np.sign(grad) >= 0) & (image + eps * np.sign(grad) <= 1)
        if free.sum() == 0 or not np.allclose(delta[free], eps * np.sign(grad[free]), atol=1e-5):
            wrong_way = free.sum() and np.allclose(delta[free], -eps * np.sign(grad[free]), atol=1e-5)
            raise CheckFailed(
                ex,
                f"with epsilon={eps}, the step does not follow the sign of the loss gradient.",
                hint="Step *up* the loss: x + epsilon * sign(d loss / d x)."
                if wrong_way
                else "Each pixel should move by exactly +-epsilon, the sign of d loss / d x "
                "(loss: sparse categorical cross-entropy of the true label).",
            )
    passed(ex, "steps of exactly epsilon up the loss gradient's sign, clipped to [0, 1]")


def evidence_batch(n, classes=(0, 1, 2, 3, 4)):
    """Return the first ``n`` test digits of :func:`evidence_image`, as a batch.

    Args:
        n: how many digits.
        classes: the source classes, a tuple.

    Returns:
        ``(images, labels)``: ``(n, 32, 32, 1)`` float32 images and their
        ``(n,)`` integer labels.

    Example:
        >>> images, labels = evidence_batch(30)  # doctest: +SKIP
    """
    from cnncourse.models import source

    digits, labels = _test_digits(tuple(classes))  # loaded once for the whole batch
    images = [source.place_digit(d, *BOX_TOP_LEFT) for d in digits[:n]]
    return np.stack(images).astype("float32"), labels[:n]


# --------------------------------------------------------------------------
# Question 1: FGSM against random signs of the same size
# --------------------------------------------------------------------------
def check_attack_drops(fgsm_drop, noise_drop):
    """Check the form of Question 1's answers (the hidden test reads the student's own measurements).

    Args:
        fgsm_drop: the accuracy lost to FGSM at epsilon 0.05.
        noise_drop: the accuracy lost to random signs of the same epsilon.

    Returns:
        None; prints a ✔ line when both are drops in accuracy.

    Raises:
        CheckFailed: an answer is not a number between -1 and 1.
    """
    ex = EXERCISES["attack_drops"]
    for name, value in (("fgsm_drop", fgsm_drop), ("noise_drop", noise_drop)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CheckFailed(ex, f"{name} should be a number (a drop in accuracy).", found=value)
        if not -1.0 <= float(value) <= 1.0:
            raise CheckFailed(
                ex,
                f"{name} should be a difference of two accuracies, between -1 and 1.",
                found=value,
                hint="Accuracies are fractions (0.9), not percentages (90).",
            )
    passed(ex, "two drops in accuracy (the hidden test reads your measurements)")


# --------------------------------------------------------------------------
# Exercise 6: saliency maps
# --------------------------------------------------------------------------
def _known_saliency_model(seed=0):
    """A linear network whose saliency is known: the logit of class c is the image times the weights of c.

    ``image (6x6x2) -> flatten -> "logits" (Dense 3) -> "predictions"
    (softmax)``: the gradient of logit c with respect to the image is column c
    of the weights, so the saliency of class c is its absolute value, the
    larger of the two channels at each pixel.
    """
    import keras

    rng = np.random.default_rng(seed)
    inp = keras.Input(shape=(6, 6, 2), name="image")
    logits = keras.layers.Dense(3, name="logits")
    out = keras.layers.Activation("softmax", name="predictions")(logits(keras.layers.Flatten()(inp)))
    model = keras.Model(inp, out)
    weights = rng.normal(0.0, 1.0, (72, 3)).astype("float32")
    logits.set_weights([weights, np.zeros(3, "float32")])
    return model, weights.reshape(6, 6, 2, 3)


def check_saliency_map(saliency_map):
    """Check ``saliency_map`` on a network whose saliency is known, then on the source network.

    On a linear network (the logit of class c is a weighted sum of the
    pixels), the saliency of class c is the absolute value of those weights,
    the larger channel at each pixel. The usual mistakes are told as such:
    the gradient of the softmax probability or of the loss instead of the
    class score, no absolute value, no maximum over the channels. On the
    source network the map must be 32x32, non-negative and not all zero.

    Args:
        saliency_map: the student's ``saliency_map(model, image,
            class_index)``, returning a 2-D map.

    Returns:
        None; prints a ✔ line when every case holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a map is wrong.
    """
    ex = EXERCISES["saliency_map"]
    saliency_map = by_hand(ex, saliency_map, OWN_WORK)
    model, weights = _known_saliency_model()
    image = np.random.default_rng(1).random((6, 6, 2)).astype("float32")
    for c in range(3):
        got = call(ex, saliency_map, model, image, c)
        got = None if got is None else np.asarray(got, dtype=float)
        if got is None or got.shape != (6, 6):
            found = None if got is None else got.shape
            hint = (
                "Take the largest absolute gradient over the channels (the last axis)." if found == (6, 6, 2) else None
            )
            raise CheckFailed(
                ex, "the map should have the image's height and width.", expected=(6, 6), found=found, hint=hint
            )
        if got.min() < 0:
            raise CheckFailed(
                ex,
                "a saliency map is the size of the gradient: it cannot be negative.",
                hint="Take the absolute value of the gradient.",
            )
        want = np.abs(weights[..., c]).max(axis=-1)
        if not np.allclose(got, want, rtol=1e-4, atol=1e-6):
            if np.allclose(got, np.abs(weights[..., c]).sum(axis=-1), rtol=1e-4):
                raise CheckFailed(ex, "the channels were added; take the largest of them at each pixel.")
            raise CheckFailed(
                ex,
                f"on a linear network, class {c}'s saliency is the absolute value of its weights, and yours is not.",
                hint="Differentiate the class score before the softmax (the layer 'logits'), not the probability "
                "or the loss, with respect to the image.",
            )
    model = _model()
    image, label, _ = evidence_image(0)
    got = call(ex, saliency_map, model, image, label)
    got = None if got is None else np.asarray(got, dtype=float)
    if got is None or got.shape != image.shape[:2] or got.min() < 0 or not got.max() > 0:
        raise CheckFailed(
            ex,
            "on the source network the map should be 32x32, non-negative and not all zero.",
            found=None if got is None else got.shape,
        )
    passed(ex, "the known saliency of a linear network, and a 32x32 map on the source network")


# --------------------------------------------------------------------------
# Exercise 7: the image that maximises a class score
# --------------------------------------------------------------------------
def _logits_of(model, images):
    """The class scores before the softmax (the layer ``"logits"``) of a batch, in inference mode."""
    import keras

    head = keras.Model(model.input, model.get_layer("logits").output)
    return np.asarray(head(np.asarray(images, dtype="float32"), training=False), dtype=float)


def check_class_model(class_model):
    """Check ``class_model``: gradient ascent raises the class score, the network sees the class, the l2 term shrinks the image.

    Runs 20 steps of size 0.1 for class 2 of the source network with l2 = 0.1
    and l2 = 1.0. Each result must have the input's shape, raise the class's
    logit by more than 10 above its value on a black image, and be classified
    as class 2 with probability above 0.9; the image of the larger l2 must be
    smaller (its norm below 0.8 times the other's). The first run is watched
    call by call, the second only read.

    Args:
        class_model: the student's ``class_model(model, class_index, steps,
            lr, l2)``, returning one image of the model's input shape.

    Returns:
        None; prints a ✔ line when every property holds.

    Raises:
        NotAttempted: the function still raises ``NotImplementedError``.
        Refused: it calls the course's checks or calibration.
        CheckFailed: it crashes, or a property does not hold.
    """
    ex = EXERCISES["class_model"]
    # One watched run suffices; a watch slows every step of the ascent several times over.
    runs = {0.1: by_hand(ex, class_model, OWN_WORK), 1.0: by_source(ex, class_model, OWN_WORK)}
    model = _model()
    shape = tuple(model.input.shape[1:])
    target = 2
    start = _logits_of(model, np.zeros((1, *shape)))[0, target]
    norms = {}
    for l2, run in runs.items():
        got = call(ex, run, model, target, 20, 0.1, l2)
        if got is not None and np.shape(got) == (1, *shape):
            raise CheckFailed(ex, "return the one image, without the batch axis.", expected=shape, found=np.shape(got))
        if got is None or np.shape(got) != shape:
            raise CheckFailed(
                ex,
                "return an image of the model's input shape.",
                expected=shape,
                found=None if got is None else np.shape(got),
            )
        got = np.asarray(got, dtype=float)
        if not np.all(np.isfinite(got)):
            raise CheckFailed(ex, "the image holds NaN or infinite values.", hint="Try a smaller lr.")
        score = _logits_of(model, got[None])[0]
        rise = score[target] - start
        if rise <= 10.0:
            raise CheckFailed(
                ex,
                f"with l2={l2}, 20 steps of lr=0.1 should raise class {target}'s score well above its value on a "
                "black image.",
                expected="a rise of more than 10",
                found=round(float(rise), 2),
                hint="Step *up* the gradient of the class's logit (the layer 'logits', before the softmax: the "
                "probability's gradient vanishes where the probability is near 0 or 1), minus l2 * sum(x**2).",
            )
        prob = float(np.exp(score[target] - score.max()) / np.exp(score - score.max()).sum())
        if prob <= 0.9:
            raise CheckFailed(
                ex,
                f"with l2={l2}, the network should classify the image as class {target} with high probability.",
                expected="above 0.9",
                found=round(prob, 3),
            )
        norms[l2] = float(np.linalg.norm(got))
    if not norms[1.0] < 0.8 * norms[0.1]:
        raise CheckFailed(
            ex,
            "a larger l2 should give a smaller image: the penalty -l2 * ||x||^2 pulls every pixel towards 0.",
            expected=f"a norm below {0.8 * norms[0.1]:.2f} with l2=1.0",
            found=round(norms[1.0], 2),
            hint="Subtract l2 * tf.reduce_sum(x ** 2) from the score you differentiate.",
        )
    passed(
        ex,
        f"class {target}'s score rises by more than 10 and the network sees a {target}; l2=1.0 gives an image "
        f"{norms[1.0] / norms[0.1]:.2f} times the size of l2=0.1's",
    )


# --------------------------------------------------------------------------
# Question 2: the resolution and cost of the three maps, predicted
# --------------------------------------------------------------------------
def check_resolution_and_cost(saliency_shape, grad_cam_conv2_shape, occlusion_images):
    """Check the form of Question 2's predictions (the hidden test checks them against the network).

    Args:
        saliency_shape: the predicted shape of a saliency map of one canvas.
        grad_cam_conv2_shape: the predicted shape of a Grad-CAM heatmap at ``conv2``.
        occlusion_images: the predicted number of images an occlusion map
            with a 6x6 square and stride 2 classifies.

    Returns:
        None; prints a ✔ line when all three are well formed.

    Raises:
        CheckFailed: a shape is not two positive integers, or the count not a positive integer.
    """
    ex = EXERCISES["resolution_and_cost"]
    for name, value in (("SALIENCY_SHAPE", saliency_shape), ("GRAD_CAM_CONV2_SHAPE", grad_cam_conv2_shape)):
        ok = isinstance(value, tuple) and len(value) == 2
        ok = ok and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value)
        if not ok:
            raise CheckFailed(ex, f"{name} should be a tuple of two positive integers (height, width).", found=value)
    if (
        isinstance(occlusion_images, bool)
        or not isinstance(occlusion_images, (int, np.integer))
        or occlusion_images < 1
    ):
        raise CheckFailed(
            ex, "OCCLUSION_IMAGES should be a positive integer (a count of images).", found=occlusion_images
        )
    passed(ex, "three well-formed predictions (the next cell runs the code; the hidden test checks them)")
