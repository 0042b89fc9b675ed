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
    "mobilenet_v2": ("MobileNetV2",
                     lambda top, size, alpha: "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"
                                              f"{float(alpha)}_{size}{'' if top else '_no_top'}.h5",
                     "mobilenet_v2/"),
    "resnet50": ("ResNet50",
                 lambda top, size, alpha: "resnet50_weights_tf_dim_ordering_tf_kernels"
                                          f"{'' if top else '_notop'}.h5",
                 "resnet/"),
    "vgg16": ("VGG16",
              lambda top, size, alpha: "vgg16_weights_tf_dim_ordering_tf_kernels"
                                       f"{'' if top else '_notop'}.h5",
              "vgg16/"),
}
NAMES = tuple(_NETWORKS)
PREPROCESS = {"mobilenet_v2": "mobilenet_v2", "resnet50": "resnet50", "vgg16": "vgg16"}


def model_dirs(data_home=None):
    """Every folder a weights file is looked for in, in order."""
    dirs = [get_data_home(data_home) / "models", get_data_home(data_home)]
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]).expanduser() / "models")
    dirs += [Path("~/.keras/models").expanduser(), Path("/tmp/.keras/models")]
    return dirs


def weights_file(name, include_top=True, input_shape=None, alpha=1.0):
    """The file name Keras gives the ImageNet weights of network ``name``."""
    if name not in _NETWORKS:
        raise ValueError(f"Unknown network {name!r}. Choose one of: {', '.join(NAMES)}.")
    size = 224 if input_shape is None else int(input_shape[0])
    if name == "mobilenet_v2" and size not in (96, 128, 160, 192, 224):
        # Keras uses the 224 weights for other sizes without the top.
        size = 224
    return _NETWORKS[name][1](include_top, size, alpha)


def find_weights(name, include_top=True, input_shape=None, alpha=1.0, data_home=None):
    """Path of the weights file of ``name`` on this machine, or ``None``."""
    fname = weights_file(name, include_top, input_shape, alpha)
    for folder in model_dirs(data_home):
        candidate = folder / fname
        if candidate.is_file():
            return candidate
    return None


def pretrained(name="mobilenet_v2", include_top=True, input_shape=None, alpha=1.0, data_home=None, **kwargs):
    """Build ``keras.applications`` network ``name`` with ImageNet weights found on this machine.

    Parameters
    ----------
    name : str
        One of :data:`NAMES` (``"mobilenet_v2"``, ``"resnet50"``, ``"vgg16"``).
    include_top : bool
        Keep the 1000-class ImageNet classifier (``True``) or drop it to use the
        network as a feature extractor for transfer learning (``False``).
    input_shape : tuple, optional
        Image size, e.g. ``(96, 96, 3)``; only without the top.
    alpha : float
        MobileNetV2's width multiplier (1.0 unless your weights file says otherwise).
    **kwargs
        Passed on to the Keras constructor (e.g. ``pooling="avg"``).

    Raises
    ------
    DatasetNotFoundError
        When the weights file is not in the data directory or the Keras cache.
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
    """Scale images in [0, 1] the way network ``name`` was trained (its own ``preprocess_input``)."""
    import importlib

    if name not in PREPROCESS:
        raise ValueError(f"Unknown network {name!r}. Choose one of: {', '.join(NAMES)}.")
    module = importlib.import_module(f"keras.applications.{PREPROCESS[name]}")
    import numpy as np

    return module.preprocess_input(np.asarray(images, dtype="float32") * 255.0)
