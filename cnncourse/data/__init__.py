"""Datasets for the course, in one uniform style (like ``sklearn.datasets``).

As in scikit-learn, ``load_*`` reads data that ships inside installed
packages (never downloads): :func:`load_digits`, :func:`load_faces`,
:func:`load_textures`, :func:`sample_photo`. ``fetch_*`` reads data from the
course's data directory (:func:`get_data_home`, which an instructor can
pre-fill) and downloads it through ``keras.datasets`` only where it is missing
and the network allows: :func:`fetch_mnist`, :func:`fetch_fashion_mnist`,
:func:`fetch_cifar10`.

Splits: :func:`train_val_split`, :func:`stratified_subsample`,
:func:`per_class_subset`. Pipelines: :func:`build_pipeline`.
"""

from ._home import DATA_DIR_ENV, DatasetNotFoundError, get_data_home, search_paths
from .offline import PHOTOS, TEXTURES, load_digits, load_faces, load_textures, sample_photo
from .online import fetch_cifar10, fetch_fashion_mnist, fetch_mnist
from .pipeline import build_pipeline, transformation_names
from .split import per_class_subset, stratified_subsample, train_val_split

__all__ = [
    "DATA_DIR_ENV",
    "DatasetNotFoundError",
    "get_data_home",
    "search_paths",
    "PHOTOS",
    "TEXTURES",
    "load_digits",
    "load_faces",
    "load_textures",
    "sample_photo",
    "fetch_mnist",
    "fetch_fashion_mnist",
    "fetch_cifar10",
    "build_pipeline",
    "transformation_names",
    "train_val_split",
    "stratified_subsample",
    "per_class_subset",
]
