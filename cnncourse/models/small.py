"""Small ready-made networks the labs train on a CPU in seconds.

They are given to students (none is a graded answer):

* :func:`augmentation`: the lecture's augmentation layers (flip, rotation,
  translation, brightness, contrast), active only while training;
* :func:`small_cnn`: a plain conv-pool stack with a dense head, for digits,
  faces or texture patches; later labs use it as a baseline and as a model
  to look inside (its layers have stable names);
* :func:`mini_alexnet`: the lecture's AlexNet-with-augmentation, with every
  layer's width divided by ``width`` so it trains on small images on a CPU;
* :func:`conv_layer_names` and :func:`feature_extractor`: helpers to reach
  the convolutional part of a model.
"""

from __future__ import annotations


def augmentation(flip="horizontal", rotation=0.05, translation=0.1, brightness=0.1, contrast=0.1, name="augment"):
    """Return the lecture's random augmentation layers as one ``keras.Sequential``.

    Each layer only acts when called with ``training=True`` (during ``fit``);
    at prediction time the block passes images through unchanged. Images are
    expected in [0, 1]. A factor of 0 (or ``flip=None``) leaves that step out.

    Args:
        flip: ``RandomFlip``'s mode (``"horizontal"``, ``"vertical"`` or
            ``"horizontal_and_vertical"``).
        rotation: ``RandomRotation``'s factor, a fraction of a full turn
            either way (0.05: up to 18 degrees).
        translation: ``RandomTranslation``'s height and width factor, a
            fraction of the image's size.
        brightness: ``RandomBrightness``'s factor (on the value range
            [0, 1]).
        contrast: ``RandomContrast``'s factor.
        name: the model's name.

    Returns:
        A ``keras.Sequential`` of the random layers, in the order above.

    Example:
        >>> augment = augmentation(rotation=0.1)  # doctest: +SKIP
        >>> augmented = augment(images, training=True)  # doctest: +SKIP
    """
    import keras
    from keras import layers

    steps = []
    if flip:
        steps.append(layers.RandomFlip(flip))
    if rotation:
        steps.append(layers.RandomRotation(rotation))
    if translation:
        steps.append(layers.RandomTranslation(height_factor=translation, width_factor=translation))
    if brightness:
        steps.append(layers.RandomBrightness(factor=brightness, value_range=(0.0, 1.0)))
    if contrast:
        steps.append(layers.RandomContrast(contrast))
    return keras.Sequential(steps, name=name)


def small_cnn(
    input_shape=(16, 16, 1), num_classes=10, filters=(16, 32), dense=64, dropout=0.0, augment=False, name="small_cnn"
):
    """Build a plain CNN: conv-pool pairs, then an optional dense layer, dropout and a softmax.

    For each entry of ``filters`` a 3x3 same-padded ReLU convolution and a
    2x2 max pool, then ``Flatten``, an optional ``Dense(dense)`` with ReLU,
    an optional dropout and a ``Dense(num_classes)`` softmax. Layer names are
    stable: ``conv1``, ``pool1``, ``conv2``... ``flatten``, ``dense``,
    ``dropout``, ``predictions``.

    Args:
        input_shape: the input's shape, ``(height, width, channels)``.
        num_classes: the number of classes.
        filters: the filters of each convolution, one conv-pool pair per
            entry.
        dense: the units of the hidden dense layer (0 or ``None``: none).
        dropout: the dropout rate before the output layer (0: none).
        augment: whether to put :func:`augmentation` first.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ValueError: ``filters`` is empty, or has so many entries that the
            poolings would shrink the input below one pixel.

    Example:
        >>> model = small_cnn((16, 16, 1), num_classes=3, filters=(8, 16))  # doctest: +SKIP
    """
    import keras
    from keras import layers

    if not filters:
        raise ValueError("small_cnn needs at least one convolution: give filters=(16, ...).")
    side = min(input_shape[0], input_shape[1])
    if side < 2 ** len(filters):
        raise ValueError(
            f"{len(filters)} poolings halve a {side}-pixel input below one pixel; "
            "use fewer filters entries or a larger input."
        )
    inp = keras.Input(shape=tuple(input_shape))
    x = augmentation()(inp) if augment else inp
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense:
        x = layers.Dense(dense, activation="relu", name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=name)


def mini_alexnet(input_shape=(32, 32, 3), num_classes=10, width=8, augment=True, dropout=0.5, name="AlexNet_Aug"):
    """Build the lecture's AlexNet-with-augmentation, ``width`` times narrower.

    Augmentation layers (optional), ``Conv2D(96/width, 11, strides=2)``,
    max pool, ``Conv2D(256/width, 5)``, max pool, ``Conv2D(256/width, 3)``,
    3x3 max pool, then ``Dense(1024/width)``, ``Dense(512/width)``, dropout
    and a softmax, with the lecture's He initialisation and L2 penalties
    (1e-6 on ``conv1``, 1e-5 on ``conv2`` and ``conv3``, 1e-4 on the dense
    layers). All convolutions are ``"same"`` with ReLU. Pooling is skipped
    where the feature map is already too small, so any input of at least 8x8
    works.

    Args:
        input_shape: the input's shape, ``(height, width, channels)``.
        num_classes: the number of classes.
        width: what every layer's width is divided by (each keeps at least
            one unit).
        augment: whether to put :func:`augmentation` first.
        dropout: the dropout rate before the output layer (0: none).
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ValueError: ``width`` is below 1.
    """
    import keras
    from keras import layers
    from keras.regularizers import l2

    if width < 1:
        raise ValueError(f"width divides the filter counts and must be >= 1, got {width}.")

    def n(filters):
        return max(1, int(filters // width))

    def conv(filters, k, reg, **kw):
        return layers.Conv2D(
            n(filters),
            k,
            padding="same",
            activation="relu",
            kernel_initializer="he_uniform",
            kernel_regularizer=l2(reg),
            **kw,
        )

    inp = keras.Input(shape=tuple(input_shape))
    x = augmentation()(inp) if augment else inp
    x = conv(96, 11, 1e-6, strides=2, name="conv1")(x)
    if min(x.shape[1:3]) >= 2:
        x = layers.MaxPooling2D(2, name="pool1")(x)
    x = conv(256, 5, 1e-5, name="conv2")(x)
    if min(x.shape[1:3]) >= 2:
        x = layers.MaxPooling2D(2, name="pool2")(x)
    x = conv(256, 3, 1e-5, name="conv3")(x)
    if min(x.shape[1:3]) >= 3:
        x = layers.MaxPooling2D(3, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        n(1024), activation="relu", kernel_initializer="he_uniform", kernel_regularizer=l2(1e-4), name="fc1"
    )(x)
    x = layers.Dense(
        n(512), activation="relu", kernel_initializer="he_uniform", kernel_regularizer=l2(1e-4), name="fc2"
    )(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=name)


def conv_layer_names(model):
    """Return the names of the model's convolutional layers, first to last.

    Args:
        model: a ``keras.Model``.

    Returns:
        The names of its ``Conv2D``, ``SeparableConv2D`` and
        ``DepthwiseConv2D`` layers (those of ``model.layers``, not inside
        nested models).
    """
    kinds = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
    return [layer.name for layer in model.layers if type(layer).__name__ in kinds]


def feature_extractor(model, layer_name=None):
    """Return a ``keras.Model`` from ``model``'s input to one layer's output.

    Args:
        model: a built ``keras.Model``.
        layer_name: the layer to stop at (``None``: the layer just before the
            classifier head, ``flatten`` when there is one, else the last
            convolution).

    Returns:
        A ``keras.Model`` named ``<model>_to_<layer>``, sharing ``model``'s
        layers and weights.

    Raises:
        ValueError: no layer is called ``layer_name``, or none is given and
            the model has neither ``flatten`` nor a convolution.

    Example:
        >>> features = feature_extractor(small_cnn(), "conv2")  # doctest: +SKIP
    """
    import keras

    if layer_name is None:
        names = [layer.name for layer in model.layers]
        if "flatten" in names:
            layer_name = "flatten"
        else:
            convs = conv_layer_names(model)
            if not convs:
                raise ValueError("The model has no convolutional layer; name the layer to stop at.")
            layer_name = convs[-1]
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"No layer named {layer_name!r}; the model has {', '.join(layer.name for layer in model.layers)}."
        ) from None
    return keras.Model(model.inputs, layer.output, name=f"{model.name}_to_{layer_name}")
