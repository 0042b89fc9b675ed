"""The data directory: where the course looks for datasets and weights.

An instructor can pre-fill one shared, read-only directory on a JupyterHub
and point every student at it with ``CNNCOURSE_DATA_DIR``; nobody then
downloads anything. Keras' own cache (``$KERAS_HOME`` or ``~/.keras``) is
searched too, read-only: Keras itself silently falls back to ``/tmp/.keras``
when ``KERAS_HOME`` is not writable, so the course reads those files directly
instead of relying on Keras to find them.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnncourse.errors import MissingDatasetError

DATA_DIR_ENV = "CNNCOURSE_DATA_DIR"


class DatasetNotFoundError(MissingDatasetError):
    """A dataset or weights file is not on this machine and cannot be fetched."""


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the course's data directory as a :class:`~pathlib.Path`.

    In order: the ``data_home`` argument, ``$CNNCOURSE_DATA_DIR``, then
    ``~/cnncourse_data`` (``~`` expanded). The directory is not created.

    Args:
        data_home: a folder that overrides the others (``None``: not given).

    Returns:
        The directory's path (it may not exist).

    Example:
        >>> get_data_home("/srv/course-data").as_posix()
        '/srv/course-data'
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path("~/cnncourse_data").expanduser()


def keras_cache_dirs() -> list[Path]:
    """Return Keras' dataset caches, most specific first.

    Returns:
        ``$KERAS_HOME/datasets`` (when ``KERAS_HOME`` is set),
        ``~/.keras/datasets`` and ``/tmp/.keras/datasets``, as paths that may
        not exist.
    """
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]).expanduser() / "datasets")
    dirs.append(Path("~/.keras/datasets").expanduser())
    dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def search_paths(data_home=None):
    """Return every directory a dataset file is looked for in, in order.

    Args:
        data_home: the data directory (``None``: :func:`get_data_home`'s
            default).

    Returns:
        The data directory, then :func:`keras_cache_dirs`.
    """
    return [get_data_home(data_home)] + keras_cache_dirs()


def find_file(relative, data_home=None):
    """Return the first existing ``<dir>/<relative>`` over :func:`search_paths`, or None.

    Args:
        relative: the file's path relative to a data directory, e.g.
            ``"mnist.npz"``.
        data_home: the data directory (``None``: :func:`get_data_home`'s
            default).

    Returns:
        A :class:`~pathlib.Path`, or ``None`` when no directory has it.
    """
    for base in search_paths(data_home):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return None
