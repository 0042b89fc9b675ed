"""Datasets for the course, in one uniform style (like ``sklearn.datasets``).

Offline, shipped inside installed packages: :func:`load_digits`,
:func:`load_faces`, :func:`load_textures`, :func:`sample_photo`.
Online, through ``keras.datasets`` with a pre-fillable data directory:
:func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10`.

Splits: :func:`train_val_split`, :func:`stratified_subsample`,
:func:`per_class_subset`. Pipelines: :func:`build_pipeline`.
"""

from ._home import DATA_DIR_ENV, DatasetNotFoundError, get_data_home, search_paths
from .offline import PHOTOS, TEXTURES, load_digits, load_faces, load_textures, sample_photo
from .online import load_cifar10, load_fashion_mnist, load_mnist
from .pipeline import build_pipeline, transformation_names
from .split import per_class_subset, stratified_subsample, train_val_split

__all__ = [
    "DATA_DIR_ENV", "DatasetNotFoundError", "get_data_home", "search_paths",
    "PHOTOS", "TEXTURES", "load_digits", "load_faces", "load_textures", "sample_photo",
    "load_mnist", "load_fashion_mnist", "load_cifar10",
    "build_pipeline", "transformation_names",
    "train_val_split", "stratified_subsample", "per_class_subset",
]
