"""Small source models the course trains itself and ships with the package.

Transfer learning starts from a network that already learned something on
another task. ImageNet networks are too big to ship and need a download, so
the course ships a *small* source network of its own, trained on a real task
by ``scripts/train_source_models.py`` (fixed seed, deterministic ops) and
saved in the ``.keras`` format under ``cnncourse/weights/`` with its training
record (data, seed, accuracy) in a JSON file beside it.

The task: **digits on a canvas**. Each handwritten digit of scikit-learn's
set (8x8, resized to 16x16) is pasted at a random place on a black 32x32
canvas. The source network ``digits04`` learned the digits 0-4; Lab 7
transfers it to the digits 5-9, and Lab 8 looks inside it. Because the digit
sits in a known place, we know where the evidence for a class is, which is
what occlusion maps and Grad-CAM should find.

Public functions:

* :func:`digits_on_canvas`: the data of the task (images, labels, where each digit is);
* :func:`place_digit`: paste one digit at a given place;
* :func:`build_digits_cnn`: the architecture (untrained; also the "from scratch" baseline);
* :func:`load`: the shipped trained network; :func:`load_base`: its convolutional part;
* :func:`record`: the training record shipped beside the weights.

The architecture is given to students (it is not a graded answer).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnncourse import runtime

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CANVAS = 32
DIGIT_SIZE = 16
SOURCES = {
    "digits04": {
        "classes": (0, 1, 2, 3, 4),
        "builder": "build_digits_cnn",
        "description": "small CNN trained on the digits 0-4 pasted at random places on a 32x32 canvas",
    },
}
# Names of the layers the labs refer to.
FIRST_CONV, LAST_CONV, FEATURES, LOGITS = "conv1", "conv3", "features", "logits"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def place_digit(digit, top, left, canvas=CANVAS):
    """Return a black ``(canvas, canvas, 1)`` image with ``digit`` pasted at ``(top, left)``.

    Args:
        digit: the digit image, ``(h, w)`` or ``(h, w, 1)``.
        top: the row of the digit's top edge.
        left: the column of the digit's left edge.
        canvas: the canvas's side, in pixels.

    Returns:
        A float32 array of shape ``(canvas, canvas, 1)``.

    Raises:
        ValueError: the digit does not fit on the canvas at that place.

    Example:
        >>> image = place_digit(np.ones((16, 16)), top=4, left=8)
        >>> image.shape, float(image.sum()), float(image[4, 8, 0])
        ((32, 32, 1), 256.0, 1.0)
    """
    digit = np.asarray(digit, dtype=np.float32)
    if digit.ndim == 3:
        digit = digit[..., 0]
    h, w = digit.shape
    if not (0 <= top <= canvas - h and 0 <= left <= canvas - w):
        raise ValueError(f"A {h}x{w} digit at ({top}, {left}) does not fit on a {canvas}x{canvas} canvas.")
    out = np.zeros((canvas, canvas, 1), np.float32)
    out[top : top + h, left : left + w, 0] = digit
    return out


def digits_on_canvas(
    classes=(0, 1, 2, 3, 4), copies=1, seed=0, canvas=CANVAS, digit_size=DIGIT_SIZE, relabel=True, indices=None
):
    """Return the digits of ``classes`` pasted at random places on a black canvas.

    Args:
        classes: which digits to keep, e.g. ``(5, 6, 7, 8, 9)``.
        copies: how many times each digit is pasted (each time at a new
            random place).
        seed: the seed of the places, so the same call always gives the same
            images.
        canvas: the canvas's side, in pixels.
        digit_size: the side the 8x8 digits are resized to.
        relabel: number the classes 0, 1, ... in the order of ``classes``
            (default), instead of keeping the digit as the label.
        indices: keep only these images of the selected digits (positions in
            the selection), e.g. a training or test part from
            :func:`split_indices`; ``None``: all of them.

    Returns:
        A Bunch with ``images`` ``(n, canvas, canvas, 1)`` float32 in [0, 1],
        ``target``, ``target_names`` (the classes' digits with ``relabel``,
        else ``"0"`` to ``"9"``), ``digit`` (the digit shown), ``boxes``
        ``(n, 4)`` as ``(top, left, bottom, right)`` of each pasted digit, and
        ``source_index`` (which of the selected digits each image shows).

    Example:
        >>> target = digits_on_canvas((5, 6, 7, 8, 9), seed=1)  # doctest: +SKIP
    """
    from cnncourse.data import load_digits
    from cnncourse.data._bunch import make_bunch

    classes = tuple(int(c) for c in classes)
    raw = load_digits(size=digit_size)
    keep = np.flatnonzero(np.isin(raw.target, classes))
    if indices is not None:
        keep = keep[np.asarray(indices, dtype=int)]
    rng = np.random.default_rng(seed)
    n = len(keep) * copies
    images = np.zeros((n, canvas, canvas, 1), np.float32)
    boxes = np.zeros((n, 4), np.int64)
    digit = np.zeros(n, np.int64)
    source_index = np.zeros(n, np.int64)
    span = canvas - digit_size
    k = 0
    for _ in range(copies):
        tops = rng.integers(0, span + 1, size=len(keep))
        lefts = rng.integers(0, span + 1, size=len(keep))
        for j, (idx, t, l) in enumerate(zip(keep, tops, lefts)):
            images[k] = place_digit(raw.images[idx], t, l, canvas)
            boxes[k] = (t, l, t + digit_size, l + digit_size)
            digit[k] = raw.target[idx]
            source_index[k] = j
            k += 1
    lookup = {c: i for i, c in enumerate(classes)}
    target = np.array([lookup[d] for d in digit], np.int64) if relabel else digit.copy()
    names = [str(c) for c in classes] if relabel else [str(d) for d in range(10)]
    return make_bunch(
        images,
        target,
        names,
        f"Handwritten digits {', '.join(map(str, classes))} (scikit-learn, resized to "
        f"{digit_size}x{digit_size}) pasted at random places on a black {canvas}x{canvas} "
        f"canvas, {copies} place(s) per digit (seed {seed}).",
        boxes=boxes,
        digit=digit,
        source_index=source_index,
    )


def split_indices(classes, test_fraction=0.25, seed=0):
    """Split the digits of ``classes`` into training and test positions, stratified.

    A digit image never appears in both parts, whatever place it is pasted
    at.

    Args:
        classes: which digits, as for :func:`digits_on_canvas`.
        test_fraction: the share of the digits in the test part.
        seed: the seed of the split.

    Returns:
        ``(train_idx, test_idx)``, sorted arrays for :func:`digits_on_canvas`'s
        ``indices``.
    """
    from sklearn.model_selection import train_test_split

    from cnncourse.data import load_digits

    y = load_digits().target
    y = y[np.isin(y, classes)]
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=int(seed))
    return np.sort(tr), np.sort(te)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
def build_digits_cnn(num_classes=5, input_shape=(CANVAS, CANVAS, 1), name="digits_cnn"):
    """Build the source network's architecture, untrained.

    ``conv1`` (16 filters 5x5, ReLU) -> max pooling -> ``conv2`` (32, 3x3) -> max
    pooling -> ``conv3`` (64, 3x3) -> global average pooling (``pool3``) -> batch
    normalisation (``features``, 64 numbers on a common scale) -> ``logits``
    (Dense, no activation) -> ``predictions`` (softmax). About 24,000 parameters.

    The logits are a layer of their own so that Grad-CAM can differentiate the
    class score before the softmax.

    Args:
        num_classes: the number of classes.
        input_shape: the input's shape.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` whose input layer is named ``image``.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(16, 5, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.GlobalAveragePooling2D(name="pool3")(x)
    x = layers.BatchNormalization(momentum=0.9, name=FEATURES)(x)
    x = layers.Dense(num_classes, name=LOGITS)(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def weights_path(name="digits04", directory=None):
    """Return where the shipped ``.keras`` file of source model ``name`` is.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the folder that holds it (``None``: :data:`WEIGHTS_DIR`).

    Returns:
        The file's :class:`~pathlib.Path` (it may not exist).

    Raises:
        KeyError: ``name`` is not a key of :data:`SOURCES`.
    """
    _known(name)
    return Path(directory or WEIGHTS_DIR) / f"{name}.keras"


def record_path(name="digits04", directory=None):
    """Return where the training record of source model ``name`` is.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the folder that holds it (``None``: :data:`WEIGHTS_DIR`).

    Returns:
        The JSON file's :class:`~pathlib.Path` (it may not exist).

    Raises:
        KeyError: ``name`` is not a key of :data:`SOURCES`.
    """
    _known(name)
    return Path(directory or WEIGHTS_DIR) / f"{name}.json"


def _known(name):
    if name not in SOURCES:
        raise KeyError(f"No source model named {name!r}. Known: {', '.join(SOURCES)}.")


def record(name="digits04", directory=None):
    """Return the training record shipped beside the weights.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the folder that holds it (``None``: :data:`WEIGHTS_DIR`).

    Returns:
        A dict: data, seed, accuracy...

    Raises:
        KeyError: ``name`` is not a key of :data:`SOURCES`.
    """
    return json.loads(record_path(name, directory).read_text())


def load(name="digits04", directory=None):
    """Load the shipped, trained source model (a fresh copy on every call).

    Every call reads the file again, so freezing or training one copy never
    changes the next. The model is not compiled.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the folder that holds it (``None``: :data:`WEIGHTS_DIR`).

    Returns:
        A ``keras.Model`` (see :func:`build_digits_cnn`).

    Raises:
        KeyError: ``name`` is not a key of :data:`SOURCES`.
        FileNotFoundError: the ``.keras`` file is missing.

    Example:
        >>> model = load()  # doctest: +SKIP
    """
    import keras

    path = weights_path(name, directory)
    if not path.exists():
        raise FileNotFoundError(
            f"The source model {name!r} is missing ({path.name}). "
            "Re-create it with: python scripts/train_source_models.py"
        )
    return keras.saving.load_model(path, compile=False)


def load_base(name="digits04", directory=None, up_to=FEATURES):
    """Return the source model without its classifier: image -> ``up_to``'s output (a fresh copy).

    By default the output is the 64 ``features``: global average pooling of
    ``conv3`` followed by a batch normalisation learned on the source data, the
    input a transfer model puts a new head on.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the folder that holds it (``None``: :data:`WEIGHTS_DIR`).
        up_to: the name of the last layer kept.

    Returns:
        A ``keras.Model`` named ``<name>_base``, trainable until frozen.

    Raises:
        KeyError: ``name`` is not a key of :data:`SOURCES`.
        FileNotFoundError: the ``.keras`` file is missing.
        ValueError: the model has no layer called ``up_to``.

    Example:
        >>> base = load_base()  # doctest: +SKIP
        >>> base.trainable = False  # doctest: +SKIP
    """
    import keras

    model = load(name, directory)
    return keras.Model(model.input, model.get_layer(up_to).output, name=f"{name}_base")


# --------------------------------------------------------------------------
# The baseline
# --------------------------------------------------------------------------
SCRATCH_LEARNING_RATE = 1e-3  # Adam's default: the usual first choice when training from scratch


def fit_scratch(x, y, epochs, batch_size, validation_data=None, num_classes=None, learning_rate=SCRATCH_LEARNING_RATE):
    """Train the source architecture from random weights on ``(x, y)``: the "from scratch" baseline.

    The same network as the source model, the same labels and the same budget
    as a transfer run, but nothing learned beforehand: compiled with Adam and
    sparse categorical cross-entropy, trained with ``verbose=0``.

    Args:
        x: the training images.
        y: their integer labels.
        epochs: the epochs to train.
        batch_size: the batch size.
        validation_data: ``(x_val, y_val)`` for validation curves, or
            ``None``.
        num_classes: the number of classes (``None``: ``max(y) + 1``).
        learning_rate: Adam's learning rate.

    Returns:
        ``(model, history)``.
    """
    import keras

    num_classes = num_classes or int(np.max(y)) + 1
    model = build_digits_cnn(num_classes=num_classes, input_shape=tuple(np.shape(x)[1:]), name="scratch")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    runtime.build_for_fit(model, x, y)  # the training step is then traced once, not twice
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data, verbose=0)
    return model, history
