"""Build source/lab8-visualize/lab8-visualize.ipynb (run: python -m autograder.notebooks.lab8_visualize)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab8-visualize"

CELLS = [
    markdown("""
    # Lab 8: What has a CNN learned?

    A trained CNN is not a black box: its weights and activations can be looked at, and it can be
    asked *where* in an image it found the evidence for its answer. This lab opens up the course's
    source network (trained on the digits 0-4, each pasted at a random place on a black 32x32
    canvas) and writes the lecture's tools:

    1. `first_layer_filters`: the filters of the first layer, as pictures;
    2. `feature_maps`: what a layer outputs for one image (early layers against late layers);
    3. `occlusion_map`: cover part of the image and watch the class score drop (Zeiler and Fergus, 2014);
    4. `grad_cam`: a heatmap from gradients (Selvaraju et al., 2017);
    5. `fgsm`: a tiny signed-gradient change that flips the prediction (an adversarial example).

    Because each digit sits in a known place on an empty canvas, we know where the evidence is:
    the checks use that to tell a heatmap that finds the digit from one that does not.
    """, "intro"),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import numpy as np
    import matplotlib.pyplot as plt
    import tensorflow as tf
    import keras

    from cnncourse import plots
    from cnncourse.models import source
    from cnncourse.checks import lab8 as checks

    model = source.load()
    model.summary()
    image, label, box = checks.evidence_image(0)
    probs = np.asarray(model(image[None], training=False))[0]
    print(f"the digit is a {label} in rows {box[0]}-{box[2]}, columns {box[1]}-{box[3]}; "
          f"the network says {probs.argmax()} with probability {probs.max():.3f}")
    """, "imports"),
    markdown("""
    ## 1. The filters of the first layer

    The first layer looks at raw pixels, so its filters can be shown as little images. Keras stores
    a `Conv2D` kernel as `(kh, kw, in_channels, filters)`. To show each filter, put the filter axis
    first and scale every filter to [0, 1] **on its own** (its smallest weight becomes 0, its largest
    1): filters have very different ranges, and one common scale would leave most of them grey.

    **Exercise 1.** Write `first_layer_filters(model)`: the kernel of the first `Conv2D` layer of
    `model`, shape `(filters, kh, kw, in_channels)`, each filter scaled to [0, 1].
    """, "md-ex1"),
    solution("""
    def first_layer_filters(model):
        \"\"\"The first Conv2D layer's filters, filter axis first, each scaled to [0, 1].\"\"\"
        ### BEGIN SOLUTION
        conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
        kernel = np.transpose(conv.get_weights()[0], (3, 0, 1, 2))
        lo = kernel.min(axis=(1, 2, 3), keepdims=True)
        hi = kernel.max(axis=(1, 2, 3), keepdims=True)
        return (kernel - lo) / np.maximum(hi - lo, 1e-12)
        ### END SOLUTION
    """, "first_layer_filters"),
    tests("""
    checks.check_first_layer_filters(first_layer_filters)
    ### BEGIN HIDDEN TESTS
    _f = first_layer_filters(model)
    assert _f.shape == (16, 5, 5, 1)
    assert np.allclose(_f.min(axis=(1, 2, 3)), 0) and np.allclose(_f.max(axis=(1, 2, 3)), 1)
    ### END HIDDEN TESTS
    """, "test_first_layer_filters", points=2),
    code("""
    try:
        tiles = first_layer_filters(model)
        fig = plots.image_grid(tiles, titles=[f"filter {i}" for i in range(len(tiles))], ncols=8, size=1.3,
                               suptitle="conv1: 16 filters of 5x5 (white = largest weight)")
        plt.show()
    except NotImplementedError:
        print("Write first_layer_filters first.")
    """),
    markdown("""
    Many filters are small edge and stroke detectors: a bright band beside a dark one, at some
    angle. ImageNet networks learn the same kind of first layer, with colour added.
    """, "md-filters-after"),
    markdown("""
    ## 2. Feature maps: early layers against late layers

    To see what a hidden layer outputs, build a second model with the same input whose output is
    that layer's: `keras.Model(model.input, model.get_layer(name).output)`. It shares the weights,
    so it computes exactly what the full network computes on the way.

    **Exercise 2.** Write `feature_maps(model, image, layer_name)` returning the output of layer
    `layer_name` for one image of shape `(h, w, channels)`, without the batch axis.
    """, "md-ex2"),
    solution("""
    def feature_maps(model, image, layer_name):
        \"\"\"Output of `layer_name` for one image, shape (h, w, channels).\"\"\"
        ### BEGIN SOLUTION
        probe = keras.Model(model.input, model.get_layer(layer_name).output)
        return np.asarray(probe(image[None], training=False))[0]
        ### END SOLUTION
    """, "feature_maps"),
    tests("""
    checks.check_feature_maps(feature_maps)
    ### BEGIN HIDDEN TESTS
    assert feature_maps(model, image, "conv1").shape == (32, 32, 16)
    assert feature_maps(model, image, "conv3").shape == (8, 8, 64)
    ### END HIDDEN TESTS
    """, "test_feature_maps", points=2),
    code("""
    try:
        early = feature_maps(model, image, "conv1")
        late = feature_maps(model, image, "conv3")
        plots.image_grid([image], titles=["input"], ncols=1, size=2.2)
        plt.show()
        plots.feature_map_grid(early, ncols=8, max_maps=16, title=f"conv1: {early.shape[-1]} maps of {early.shape[0]}x{early.shape[1]}")
        plt.show()
        plots.feature_map_grid(late, ncols=8, max_maps=16, title=f"conv3: first 16 of {late.shape[-1]} maps of {late.shape[0]}x{late.shape[1]}")
        plt.show()
    except NotImplementedError:
        print("Write feature_maps first.")
    """),
    markdown("""
    As in the lecture: the **early** layer has few filters but large maps that still look like the
    digit (each map is the digit seen through one edge detector). The **late** layer has more
    filters with small maps; each answers to a larger part of the image (its receptive field), and
    what it answers to is more specific to the task and no longer looks like the picture.
    """, "md-maps-after"),
    markdown("""
    ## 3. Occlusion: hide part of the image

    Slide a square of zeros over the image, and for each position record the probability the network
    gives the true class. Where the score drops, the square hid evidence. With a `patch` x `patch`
    square moved by `stride` pixels, there are $(H - \\text{patch}) / \\text{stride} + 1$ positions
    down (rounded down) and as many across: the same formula as a convolution's output size.

    **Exercise 3.** Write `occlusion_map(model, image, class_index, patch, stride)`. Entry `[i, j]`
    is the probability of `class_index` when the square whose top-left corner is at
    `(i * stride, j * stride)` is set to 0. Build all occluded images into one batch and call the
    model once.
    """, "md-ex3"),
    solution("""
    def occlusion_map(model, image, class_index, patch, stride):
        \"\"\"Probability of `class_index` with a square of zeros at every position, shape (rows, cols).\"\"\"
        ### BEGIN SOLUTION
        h, w = image.shape[:2]
        rows, cols = (h - patch) // stride + 1, (w - patch) // stride + 1
        batch = np.repeat(image[None], rows * cols, axis=0)
        for k in range(rows * cols):
            i, j = divmod(k, cols)
            batch[k, i * stride:i * stride + patch, j * stride:j * stride + patch] = 0.0
        probs = np.asarray(model(batch, training=False))
        return probs[:, class_index].reshape(rows, cols)
        ### END SOLUTION
    """, "occlusion_map"),
    tests("""
    checks.check_occlusion_map(occlusion_map)
    ### BEGIN HIDDEN TESTS
    assert np.shape(occlusion_map(model, image, label, 4, 4)) == (8, 8)
    assert np.shape(occlusion_map(model, image, label, 10, 3)) == (8, 8)
    _far = checks.evidence_image(2, top=16, left=16)
    _m = occlusion_map(model, _far[0], _far[1], 8, 8)
    assert _m[:2, :2].min() > _m[2:, 2:].min()
    ### END HIDDEN TESTS
    """, "test_occlusion_map", points=3),
    code("""
    try:
        occ = occlusion_map(model, image, label, patch=8, stride=2)
        fig = plots.heatmap_overlay(image, 1 - occ, title=f"drop in p({label}), 8x8 square")
        plt.show()
    except NotImplementedError:
        print("Write occlusion_map first.")
    """),
    markdown("""
    ## 4. Grad-CAM: a heatmap from gradients

    Occlusion needs one forward pass per position. Grad-CAM needs one forward and one backward pass:

    1. take the maps $A^k$ of a convolutional layer and the score $y^c$ of class $c$ **before the
       softmax** (this network's layer `"logits"`);
    2. weigh each map by the average of the gradient $\\partial y^c / \\partial A^k$ over its height
       and width: $\\alpha_k = \\frac{1}{HW} \\sum_{i,j} \\partial y^c / \\partial A^k_{ij}$;
    3. heatmap $= \\mathrm{ReLU}(\\sum_k \\alpha_k A^k)$ (only evidence *for* the class), divided by
       its maximum so it lies in [0, 1].

    Compute the gradient with `tf.GradientTape` on a model with two outputs:
    `keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer("logits").output])`.

    **Exercise 4.** Write `grad_cam(model, image, class_index, layer_name)` returning a heatmap with
    the layer's height and width.
    """, "md-ex4"),
    solution("""
    def grad_cam(model, image, class_index, layer_name):
        \"\"\"Grad-CAM heatmap of `class_index` at `layer_name`, shape (h, w), values in [0, 1].\"\"\"
        ### BEGIN SOLUTION
        probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.get_layer("logits").output])
        with tf.GradientTape() as tape:
            maps, logits = probe(image[None], training=False)
            score = logits[:, class_index]
        grads = tape.gradient(score, maps)
        alpha = tf.reduce_mean(grads, axis=(1, 2))
        cam = tf.nn.relu(tf.reduce_sum(maps * alpha[:, None, None, :], axis=-1))[0].numpy()
        return cam / cam.max() if cam.max() > 0 else cam
        ### END SOLUTION
    """, "grad_cam"),
    tests("""
    checks.check_grad_cam(grad_cam)
    ### BEGIN HIDDEN TESTS
    _far = checks.evidence_image(4, top=16, left=15)
    _h = grad_cam(model, _far[0], _far[1], "conv3")
    assert _h.shape == (8, 8) and np.isclose(_h.max(), 1)
    _i, _j = np.unravel_index(np.argmax(_h), _h.shape)
    assert _i >= 3 and _j >= 3, (_i, _j)
    ### END HIDDEN TESTS
    """, "test_grad_cam", points=3),
    code("""
    try:
        cam = grad_cam(model, image, label, "conv3")
        fig = plots.heatmap_overlay(image, cam, title=f"Grad-CAM of class {label} at conv3 (8x8)")
        plt.show()
        photo_like, photo_label, _ = checks.evidence_image(7, top=14, left=10)
        fig = plots.heatmap_overlay(photo_like, grad_cam(model, photo_like, photo_label, "conv3"),
                                    title=f"the same for a {photo_label} placed elsewhere")
        plt.show()
    except NotImplementedError:
        print("Write grad_cam first.")
    """),
    markdown("""
    Occlusion and Grad-CAM agree on where the digit is, and Grad-CAM cost one backward pass
    instead of 169 forward passes. Its resolution is the layer's: 8x8 here, stretched over the image.
    """, "md-cam-after"),
    markdown("""
    ## 5. Adversarial examples

    Take a correctly classified image and change every pixel by a tiny amount $\\epsilon$ in the
    direction that increases the loss the most, one pixel at a time: the **sign** of the gradient of
    the loss with respect to the input,

    $$x_{adv} = \\mathrm{clip}_{[0, 1]}\\big(x + \\epsilon\\, \\mathrm{sign}(\\nabla_x L(x, y))\\big).$$

    This is the fast gradient sign method. Use the sparse categorical cross-entropy of the true label
    as $L$, and `tape.watch` the input tensor (it is not a variable).

    **Exercise 5.** Write `fgsm(model, image, label, epsilon)` returning the perturbed image (same
    shape, values in [0, 1]).
    """, "md-ex5"),
    solution("""
    def fgsm(model, image, label, epsilon):
        \"\"\"One signed-gradient step of size `epsilon` up the loss, clipped to [0, 1].\"\"\"
        ### BEGIN SOLUTION
        x = tf.constant(image[None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = keras.losses.sparse_categorical_crossentropy(np.array([label]), model(x, training=False))
        step = epsilon * tf.sign(tape.gradient(loss, x))
        return np.clip((x + step).numpy()[0], 0.0, 1.0)
        ### END SOLUTION
    """, "fgsm"),
    tests("""
    checks.check_fgsm(fgsm)
    ### BEGIN HIDDEN TESTS
    _adv = fgsm(model, image, label, 0.05)
    assert np.abs(_adv - image).max() <= 0.05 + 1e-6
    _p0 = float(np.asarray(model(image[None]))[0, label])
    _p1 = float(np.asarray(model(_adv[None]))[0, label])
    assert _p1 < _p0, (_p0, _p1)
    ### END HIDDEN TESTS
    """, "test_fgsm", points=2),
    code("""
    try:
        shown, titles = [image], [f"original: {label} ({probs.max():.2f})"]
        for eps in (0.02, 0.05, 0.1, 0.15, 0.2):
            adv = fgsm(model, image, label, eps)
            p = np.asarray(model(adv[None], training=False))[0]
            shown.append(adv)
            titles.append(f"eps={eps}: {p.argmax()} ({p.max():.2f})")
        fig = plots.image_grid(shown, titles=titles, ncols=6, size=2.0,
                               suptitle="signed-gradient perturbations: prediction (probability)")
        plt.show()
    except NotImplementedError:
        print("Write fgsm first.")
    """),
    markdown("""
    A change you can barely see moves the prediction to another digit. A word of caution about
    what this means. It does **not** mean the network is useless or "sees" nothing: it means its
    decision depends, almost linearly, on a huge number of input dimensions at once, and a small
    step in each of them adds up (the lecture fools even a linear classifier by adding a little of
    another class's weight vector). The perturbation was computed *with the network's own
    gradients*; it is not random noise, which barely changes the answer. Take it as a warning about
    using a CNN's confidence where someone can choose its input, not as a measure of how well it
    classifies ordinary images.
    """, "md-caution"),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
