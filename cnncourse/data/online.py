"""Datasets Keras downloads: MNIST, Fashion-MNIST and CIFAR-10.

Each ``fetch_*`` first looks for the files Keras itself would download, in the
course's data directory (``$CNNCOURSE_DATA_DIR``), then in Keras' cache. Only
when neither has them does it ask ``keras.datasets`` to download. Offline, it
fails with a :class:`DatasetNotFoundError` that names the file and the folder
to put it in.

Every ``fetch_*`` takes ``subset="train"``, ``"test"`` or ``"all"`` and returns the
same Bunch as the offline loaders (``images`` float32 in [0, 1], NHWC).
"""

from __future__ import annotations

import gzip
import pickle

import numpy as np

from ._bunch import make_bunch
from ._home import DatasetNotFoundError, find_file, get_data_home, search_paths

KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _check_subset(subset):
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")


def _missing(what, relative, url, data_home):
    where = get_data_home(data_home)
    looked = "\n".join(f"  - {p}" for p in search_paths(data_home))
    return DatasetNotFoundError(
        f"{what} is not on this machine and could not be downloaded.\n"
        f"Put {relative} (from {url}) in {where}/ "
        f"(so the file is {where / relative}),\n"
        f"or set CNNCOURSE_DATA_DIR to a folder that has it. Looked in:\n{looked}"
    )


def _try_keras_download(loader):
    """Run a ``keras.datasets`` loader; return None instead of a network error."""
    try:
        return loader()
    except Exception:  # noqa: BLE001 - no network, proxy, read-only cache...: all mean "not here"
        return None


def _select(train, test, subset):
    if subset == "train":
        return train
    if subset == "test":
        return test
    return (np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]))


def _to_images(x):
    x = np.asarray(x, dtype=np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


def fetch_mnist(subset="train", data_home=None, download=True, return_X_y=False):
    """Load MNIST (70,000 grey 28x28 digits) from ``mnist.npz``.

    Looks for ``mnist.npz`` in the data directory and Keras' cache; downloads
    it through ``keras.datasets.mnist`` when ``download`` and online.

    Args:
        subset: ``"train"``, ``"test"`` or ``"all"`` (both, training first).
        data_home: the data directory (``None``: :func:`get_data_home`'s
            default).
        download: whether to ask ``keras.datasets`` when the files are not
            on this machine.
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(n, 28, 28, 1)`` (float32 in
        [0, 1]; n is 60,000 for ``"train"``, 10,000 for ``"test"``),
        ``target`` (int64), ``target_names`` (``"0"`` to ``"9"``) and
        ``DESCR``; or ``(images, target)``.

    Raises:
        ValueError: ``subset`` is not one of the three.
        DatasetNotFoundError: the file is not here and cannot be downloaded;
            the message names it and the folder to put it in.

    Example:
        >>> x, y = fetch_mnist("test", return_X_y=True)  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        (10000, 28, 28, 1)
    """
    _check_subset(subset)
    path = find_file("mnist.npz", data_home)
    if path is not None:
        with np.load(path, allow_pickle=False) as f:
            train, test = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    else:
        got = None
        if download:
            import keras

            got = _try_keras_download(keras.datasets.mnist.load_data)
        if got is None:
            raise _missing("MNIST", "mnist.npz", KERAS_BASE + "mnist.npz", data_home)
        train, test = got
    x, y = _select(train, test, subset)
    bunch = make_bunch(
        _to_images(x),
        np.asarray(y, np.int64),
        [str(d) for d in range(10)],
        f"MNIST handwritten digits ({subset}), grey 28x28.",
    )
    return (bunch.images, bunch.target) if return_X_y else bunch


def _read_idx(path):
    """Read one gzipped IDX file (the MNIST family's format)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    if (magic >> 8) != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x}).")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def fetch_fashion_mnist(subset="train", data_home=None, download=True, return_X_y=False):
    """Load Fashion-MNIST (70,000 grey 28x28 clothing images, 10 classes).

    Looks for the four ``*-ubyte.gz`` files in ``fashion-mnist/`` under the data
    directory and Keras' cache (all four are needed, whatever ``subset``);
    downloads them through Keras when possible.

    Args:
        subset: ``"train"``, ``"test"`` or ``"all"`` (both, training first).
        data_home: the data directory (``None``: :func:`get_data_home`'s
            default).
        download: whether to ask ``keras.datasets`` when the files are not
            on this machine.
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(n, 28, 28, 1)`` (float32 in
        [0, 1]; n is 60,000 for ``"train"``, 10,000 for ``"test"``),
        ``target`` (int64), ``target_names`` (:data:`FASHION_NAMES`) and
        ``DESCR``; or ``(images, target)``.

    Raises:
        ValueError: ``subset`` is not one of the three.
        DatasetNotFoundError: the files are not here and cannot be
            downloaded; the message names them and the folder to put them in.
    """
    _check_subset(subset)
    parts = {}
    for part, (img_name, lbl_name) in FASHION_FILES.items():
        img = find_file(f"fashion-mnist/{img_name}", data_home)
        lbl = find_file(f"fashion-mnist/{lbl_name}", data_home)
        if img is not None and lbl is not None:
            parts[part] = (_read_idx(img), _read_idx(lbl))
    if len(parts) < 2:
        got = None
        if download:
            import keras

            got = _try_keras_download(keras.datasets.fashion_mnist.load_data)
        if got is None:
            names = ", ".join(n for pair in FASHION_FILES.values() for n in pair)
            raise _missing("Fashion-MNIST", f"fashion-mnist/ (with {names})", KERAS_BASE + "fashion-mnist/", data_home)
        parts = {"train": got[0], "test": got[1]}
    x, y = _select(parts["train"], parts["test"], subset)
    bunch = make_bunch(_to_images(x), np.asarray(y, np.int64), FASHION_NAMES, f"Fashion-MNIST ({subset}), grey 28x28.")
    return (bunch.images, bunch.target) if return_X_y else bunch


def _read_cifar_batch(path):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    data = d[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return data, np.asarray(d[b"labels"], np.int64)


def fetch_cifar10(subset="train", data_home=None, download=True, return_X_y=False):
    """Load CIFAR-10 (60,000 colour 32x32 images, 10 classes).

    Looks for the extracted ``cifar-10-batches-py/`` folder (``data_batch_1``
    to ``data_batch_5`` and ``test_batch``) in the data directory and Keras'
    cache; downloads it through Keras when possible.

    Args:
        subset: ``"train"``, ``"test"`` or ``"all"`` (both, training first).
        data_home: the data directory (``None``: :func:`get_data_home`'s
            default).
        download: whether to ask ``keras.datasets`` when the files are not
            on this machine.
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(n, 32, 32, 3)`` (float32 in
        [0, 1]; n is 50,000 for ``"train"``, 10,000 for ``"test"``),
        ``target`` (int64, shape ``(n,)``), ``target_names``
        (:data:`CIFAR10_NAMES`) and ``DESCR``; or ``(images, target)``.

    Raises:
        ValueError: ``subset`` is not one of the three.
        DatasetNotFoundError: the folder is not here and cannot be
            downloaded; the message says where to get it and where to put it.
    """
    _check_subset(subset)
    folder = find_file("cifar-10-batches-py/test_batch", data_home)
    if folder is not None:
        folder = folder.parent
        batches = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
        train = (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
        test = _read_cifar_batch(folder / "test_batch")
    else:
        got = None
        if download:
            import keras

            got = _try_keras_download(keras.datasets.cifar10.load_data)
        if got is None:
            raise _missing(
                "CIFAR-10",
                "cifar-10-batches-py/ (extracted from cifar-10-python.tar.gz)",
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                data_home,
            )
        train, test = got
    x, y = _select(train, test, subset)
    bunch = make_bunch(
        _to_images(x), np.asarray(y, np.int64).ravel(), CIFAR10_NAMES, f"CIFAR-10 ({subset}), colour 32x32."
    )
    return (bunch.images, bunch.target) if return_X_y else bunch
