#!/usr/bin/env python3
"""Pre-fill the course's shared data directory, so that no student downloads anything.

Run it once, as the administrator (any Python 3; nothing but the standard
library is needed), then point every server at the folder
with ``CNNCOURSE_DATA_DIR`` (deploy/jupyterhub/jupyterhub_config.py and
deploy/zero-to-jupyterhub/values.yaml do)::

    sudo python deploy/data/prefill_data.py /srv/cnncourse/data                 # download what is missing
    sudo python deploy/data/prefill_data.py /srv/cnncourse/data --from ~/.keras  # copy a Keras cache instead
    python deploy/data/prefill_data.py /srv/cnncourse/data --check              # what is there?

The files land exactly where the course looks for them (the layout
``cnncourse doctor`` checks): MNIST, Fashion-MNIST, CIFAR-10 and the
MobileNetV2 ImageNet weights (``models/``); optionally, for lab 8's Grad-CAM
on a photo, MobileNetV2 with its ImageNet classifier and the names of the
1000 classes (a missing optional item is reported, not an error). Files are
made world-readable and folders world-listable; the folder itself should stay
read-only to students. The small datasets of the labs ship with scikit-learn
and scikit-image and need nothing here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

# Where the course looks for each file and where it comes from. These mirror
# cnncourse.doctor.OPTIONAL_FILES, cnncourse.data.online and
# cnncourse.models.imagenet (tests/test_jupyterhub.py keeps them equal), so
# the script runs with any Python 3, without the course installed.
KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
MOBILENET = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
MOBILENET_CLASSIFIER = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
CLASS_INDEX = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/" + CLASS_INDEX
GRAD_CAM = "ImageNet classifier (lab 8's optional Grad-CAM)"
OPTIONAL = {GRAD_CAM}  # reported when missing, but not a failure


def items():
    """What to pre-fill: ``(name, [relative paths], how to get them)``."""
    fashion = [n for pair in FASHION_FILES.values() for n in pair]
    return [
        ("MNIST", ["mnist.npz"], {"mnist.npz": KERAS_BASE + "mnist.npz"}),
        (
            "Fashion-MNIST",
            [f"fashion-mnist/{n}" for n in fashion],
            {f"fashion-mnist/{n}": KERAS_BASE + "fashion-mnist/" + n for n in fashion},
        ),
        ("CIFAR-10", [f"cifar-10-batches-py/{n}" for n in CIFAR10_FILES], {"cifar-10-batches-py/": CIFAR10_URL}),
        (
            "MobileNetV2 ImageNet weights",
            [f"models/{MOBILENET}"],
            {f"models/{MOBILENET}": KERAS_WEIGHTS_URL + "mobilenet_v2/" + MOBILENET},
        ),
        (
            GRAD_CAM,
            [f"models/{MOBILENET_CLASSIFIER}", f"models/{CLASS_INDEX}"],
            {
                f"models/{MOBILENET_CLASSIFIER}": KERAS_WEIGHTS_URL + "mobilenet_v2/" + MOBILENET_CLASSIFIER,
                f"models/{CLASS_INDEX}": CLASS_INDEX_URL,
            },
        ),
    ]


def _candidates(source, rel):
    """Where a file may be in a Keras cache (``~/.keras``) or in another course data folder."""
    source = Path(source).expanduser()
    name = Path(rel)
    return [source / rel, source / "datasets" / rel, source / name.name, source / "datasets" / name.name]


def _copy(src, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _download(url, dest, timeout=600):
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"  downloading {url}", flush=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out, length=1 << 20)
        if os.path.getsize(tmp) == 0:
            raise OSError(f"{url} sent an empty file")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _extract_cifar(target):
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        archive = Path(tmp) / "cifar-10-python.tar.gz"
        _download(CIFAR10_URL, archive)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("cifar-10-batches-py/") and m.isfile()]
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **kwargs)
        for name in CIFAR10_FILES:
            _copy(Path(tmp) / "cifar-10-batches-py" / name, target / "cifar-10-batches-py" / name)


def _make_readable(target):
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _report(name, absent):
    mark = "✔" if not absent else ("•" if name in OPTIONAL else "✘")
    note = " (optional)" if absent and name in OPTIONAL else ""
    print(f"{mark} {name}" + (f": missing {', '.join(absent)}{note}" if absent else ""))


def fill(target, sources=(), offline=False):
    """Copy from ``sources`` or download every missing file; return the names still missing."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, rels, urls in items():
        todo = [rel for rel in rels if not (target / rel).exists()]
        for rel in list(todo):
            src = next((c for s in sources for c in _candidates(s, rel) if c.is_file()), None)
            if src is not None:
                _copy(src, target / rel)
                todo.remove(rel)
        if todo and not offline:
            try:
                if name == "CIFAR-10":
                    _extract_cifar(target)
                else:
                    for rel in todo:
                        _download(urls[rel], target / rel)
                todo = [rel for rel in rels if not (target / rel).exists()]
            except OSError as exc:
                print(f"  {name}: download failed ({exc})", file=sys.stderr)
        _report(name, todo)
        if todo and name not in OPTIONAL:
            missing.append(name)
    _make_readable(target)
    return missing


def check(target):
    """Print what the course will find in ``target``; return the names missing."""
    target = Path(target)
    missing = []
    for name, rels, _ in items():
        absent = [rel for rel in rels if not (target / rel).is_file()]
        _report(name, absent)
        if absent and name not in OPTIONAL:
            missing.append(name)
    return missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("target", help="the shared data directory (the value of CNNCOURSE_DATA_DIR)")
    parser.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="DIR",
        help="copy files from this Keras cache (~/.keras) or course data folder first (may be given several times)",
    )
    parser.add_argument("--offline", action="store_true", help="never download; only copy from --from folders")
    parser.add_argument("--check", action="store_true", help="only report what is there")
    args = parser.parse_args(argv)
    missing = check(args.target) if args.check else fill(args.target, args.sources, args.offline)
    if missing:
        print(f"{len(missing)} item(s) missing: {', '.join(missing)}")
        return 1
    print(f"All set. Give every server CNNCOURSE_DATA_DIR={Path(args.target).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
