"""The container every loader returns."""

from sklearn.utils import Bunch

__all__ = ["Bunch", "make_bunch"]


def make_bunch(images, target, target_names, descr, **extra):
    """A :class:`sklearn.utils.Bunch` with the course's standard fields.

    ``images`` is float32, shape ``(n, height, width, channels)``, values in
    [0, 1]; ``target`` is int64, shape ``(n,)``; ``target_names`` lists the
    class names in label order; ``DESCR`` says where the data comes from.
    """
    return Bunch(images=images, target=target, target_names=list(target_names), DESCR=descr, **extra)
