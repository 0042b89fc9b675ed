"""ImageNet networks from ``keras.applications``, loaded without the internet.

``pretrained(name)`` builds a Keras Applications network and loads its
ImageNet weights from a file that is already on this machine: first the
course's data directory (``$CNNCOURSE_DATA_DIR``, see
:mod:`cnncourse.data`), under ``models/``, then Keras' own cache
(``$KERAS_HOME/models``, ``~/.keras/models``, ``/tmp/.keras/models``). It
never downloads. When the file is absent it raises
:class:`~cnncourse.data.DatasetNotFoundError` naming the file, where to get
it and where to put it.

An instructor pre-fills the data directory once (e.g. by running
``keras.applications.MobileNetV2(weights="imagenet")`` on a machine with the
internet and copying ``~/.keras/models/``); students then load the network
offline::

    from cnncourse.models import pretrained
    base = pretrained("mobilenet_v2", include_top=False, input_shape=(96, 96, 3))

For offline use without any download, the course ships its own small
source model: see :mod:`cnncourse.models.source`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnncourse.data._home import DatasetNotFoundError, get_data_home

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"

# name -> (keras.applications constructor, weight-file function(include_top, input size), URL folder)
_NETWORKS = {
    "mobilenet_v2": (
        "MobileNetV2",
        lambda top, size, alpha: (
            f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}{'' if top else '_no_top'}.h5"
        ),
        "mobilenet_v2/",
    ),
    "resnet50": (
        "ResNet50",
        lambda top, size, alpha: f"resnet50_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5",
        "resnet/",
    ),
    "vgg16": (
        "VGG16",
        lambda top, size, alpha: f"vgg16_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5",
        "vgg16/",
    ),
}
NAMES = tuple(_NETWORKS)
PREPROCESS = {"mobilenet_v2": "mobilenet_v2", "resnet50": "resnet50", "vgg16": "vgg16"}


def model_dirs(data_home=None):
    """Return every folder a weights file is looked for in, in order.

    Args:
        data_home: the data directory (``None``: the course's default, see
            :func:`cnncourse.data.get_data_home`).

    Returns:
        ``<data directory>/models``, the data directory itself,
        ``$KERAS_HOME/models`` (when ``KERAS_HOME`` is set),
        ``~/.keras/models`` and ``/tmp/.keras/models``, as paths that may not
        exist.
    """
    dirs = [get_data_home(data_home) / "models", get_data_home(data_home)]
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]).expanduser() / "models")
    dirs += [Path("~/.keras/models").expanduser(), Path("/tmp/.keras/models")]
    return dirs


def weights_file(name, include_top=True, input_shape=None, alpha=1.0):
    """Return the file name Keras gives the ImageNet weights of network ``name``.

    Args:
        name: one of :data:`NAMES`.
        include_top: with the ImageNet classifier (True) or without.
        input_shape: the image size, ``(height, width, channels)`` (``None``:
            224). Only MobileNetV2's file names depend on it: sizes other than
            96, 128, 160, 192 and 224 use the 224 weights.
        alpha: MobileNetV2's width multiplier.

    Returns:
        The file name.

    Raises:
        ValueError: ``name`` is not one of :data:`NAMES`.

    Example:
        >>> weights_file("mobilenet_v2", include_top=False, input_shape=(96, 96, 3))
        'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5'
        >>> weights_file("vgg16")
        'vgg16_weights_tf_dim_ordering_tf_kernels.h5'
    """
    if name not in _NETWORKS:
        raise ValueError(f"Unknown network {name!r}. Choose one of: {', '.join(NAMES)}.")
    size = 224 if input_shape is None else int(input_shape[0])
    if name == "mobilenet_v2" and size not in (96, 128, 160, 192, 224):
        # Keras uses the 224 weights for other sizes without the top.
        size = 224
    return _NETWORKS[name][1](include_top, size, alpha)


def find_weights(name, include_top=True, input_shape=None, alpha=1.0, data_home=None):
    """Return the path of the weights file of ``name`` on this machine, or ``None``.

    Args:
        name: one of :data:`NAMES`.
        include_top: with the ImageNet classifier (True) or without.
        input_shape: the image size (see :func:`weights_file`).
        alpha: MobileNetV2's width multiplier.
        data_home: the data directory (``None``: the course's default).

    Returns:
        The first file found over :func:`model_dirs`, or ``None``.

    Raises:
        ValueError: ``name`` is not one of :data:`NAMES`.
    """
    fname = weights_file(name, include_top, input_shape, alpha)
    for folder in model_dirs(data_home):
        candidate = folder / fname
        if candidate.is_file():
            return candidate
    return None


def pretrained(name="mobilenet_v2", include_top=True, input_shape=None, alpha=1.0, data_home=None, **kwargs):
    """Build ``keras.applications`` network ``name`` with ImageNet weights found on this machine.

    Args:
        name: one of :data:`NAMES` (``"mobilenet_v2"``, ``"resnet50"``,
            ``"vgg16"``).
        include_top: keep the 1000-class ImageNet classifier (``True``) or
            drop it to use the network as a feature extractor for transfer
            learning (``False``).
        input_shape: the image size, e.g. ``(96, 96, 3)``; only without the
            top (``None``: Keras' default).
        alpha: MobileNetV2's width multiplier (1.0 unless your weights file
            says otherwise); ignored by the other networks.
        data_home: the data directory (``None``: the course's default).
        **kwargs: passed on to the Keras constructor (e.g. ``pooling="avg"``).

    Returns:
        The ``keras.Model`` with the weights loaded.

    Raises:
        ValueError: ``name`` is not one of :data:`NAMES`.
        DatasetNotFoundError: the weights file is not in the data directory
            or the Keras cache; the message names the file, where to get it
            and where to put it.

    Example:
        >>> base = pretrained("mobilenet_v2", include_top=False, input_shape=(96, 96, 3))  # doctest: +SKIP
    """
    import keras

    fname = weights_file(name, include_top, input_shape, alpha)
    path = find_weights(name, include_top, input_shape, alpha, data_home)
    if path is None:
        looked = "\n".join(f"  - {p}" for p in model_dirs(data_home))
        url = KERAS_WEIGHTS_URL + _NETWORKS[name][2] + fname
        raise DatasetNotFoundError(
            f"The ImageNet weights of {name} are not on this machine, and the course does not "
            f"download them.\nPut {fname} (from {url})\nin {get_data_home(data_home) / 'models'}/ "
            f"or set CNNCOURSE_DATA_DIR to a folder whose models/ has it. Looked in:\n{looked}\n"
            "Offline, use the course's own source model instead: cnncourse.models.source.load_base()."
        )
    constructor = getattr(keras.applications, _NETWORKS[name][0])
    extra = dict(kwargs)
    if name == "mobilenet_v2":
        extra["alpha"] = alpha
    return constructor(weights=str(path), include_top=include_top, input_shape=input_shape, **extra)


def preprocess_input(name, images):
    """Scale images in [0, 1] the way network ``name`` was trained (its own ``preprocess_input``).

    Args:
        name: one of :data:`NAMES`.
        images: images with values in [0, 1], e.g. ``(n, h, w, 3)``.

    Returns:
        The network's ``keras.applications`` ``preprocess_input`` of the
        images times 255, as float32.

    Raises:
        ValueError: ``name`` is not one of :data:`NAMES`.

    Example:
        >>> x = preprocess_input("mobilenet_v2", images)  # doctest: +SKIP
    """
    import importlib

    if name not in PREPROCESS:
        raise ValueError(f"Unknown network {name!r}. Choose one of: {', '.join(NAMES)}.")
    module = importlib.import_module(f"keras.applications.{PREPROCESS[name]}")
    import numpy as np

    return module.preprocess_input(np.asarray(images, dtype="float32") * 255.0)


CLASS_INDEX_FILE = "imagenet_class_index.json"
"""The names of ImageNet's 1000 classes, as Keras' ``decode_predictions`` downloads them (the course does not)."""


def class_names(data_home=None):
    """Return the names of ImageNet's 1000 classes, where their index file is on this machine.

    Looks for :data:`CLASS_INDEX_FILE` (``{"0": ["n01440764", "tench"], ...}``)
    in the folders of :func:`model_dirs`; it never downloads.

    Args:
        data_home: the data directory (``None``: the course's default).

    Returns:
        A list of 1000 names, index = class, or ``None`` when the file is not
        there (show class indices instead).

    Example:
        >>> names = class_names()  # doctest: +SKIP
        >>> names[281] if names else 281  # doctest: +SKIP
        'tabby'
    """
    import json

    for folder in model_dirs(data_home):
        path = folder / CLASS_INDEX_FILE
        if path.is_file():
            index = json.loads(path.read_text(encoding="utf-8"))
            return [index[str(i)][1] for i in range(len(index))]
    return None
