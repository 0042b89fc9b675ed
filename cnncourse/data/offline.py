"""Real datasets that ship inside installed packages: always available offline.

* :func:`load_digits`: 1,797 handwritten digits (8x8, scikit-learn), optionally
  resized, e.g. to LeNet's 28x28.
* :func:`load_faces`: 200 grey 25x25 images, 100 faces and 100 non-faces
  (scikit-image's ``lfw_subset``).
* :func:`load_textures`: square patches cut from scikit-image's brick, grass
  and gravel photos: a three-class texture task.
* :func:`sample_photo`: one of scikit-image's photos (astronaut, camera, ...).

Every loader returns a :class:`~sklearn.utils.Bunch` with ``images`` (float32,
``(n, h, w, channels)``, values in [0, 1]), ``target`` (int64), ``target_names``
and ``DESCR``; ``return_X_y=True`` returns ``(images, target)`` instead.
"""

from __future__ import annotations

import numpy as np

from ._bunch import make_bunch

PHOTOS = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "brick",
    "grass",
    "gravel",
    "moon",
    "text",
    "rocket",
    "coins",
    "page",
)
TEXTURES = ("brick", "grass", "gravel")


def _resize(images, size):
    """Resize a stack of ``(n, h, w)`` images to ``size`` with bilinear interpolation."""
    from skimage.transform import resize

    if isinstance(size, int):
        size = (size, size)
    out = np.empty((images.shape[0],) + tuple(size), dtype=np.float32)
    for i, img in enumerate(images):
        out[i] = resize(img, size, order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    return out


def _finish(bunch, return_X_y):
    return (bunch.images, bunch.target) if return_X_y else bunch


def load_digits(size=None, return_X_y=False):
    """Load scikit-learn's handwritten digits (10 classes, 1,797 images).

    The 8x8 images (values 0 to 16) are scaled to [0, 1].

    Args:
        size: resize every 8x8 image to this size (bilinear, clipped to
            [0, 1]), an int or ``(height, width)``, e.g. ``28`` for a
            LeNet-style input; ``None`` keeps 8x8.
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(1797, size, size, 1)``
        (``(1797, 8, 8, 1)`` without ``size``; float32 in [0, 1]),
        ``target`` (int64, the digit), ``target_names``
        (``"0"`` to ``"9"``) and ``DESCR``; or ``(images, target)``.

    Example:
        >>> load_digits(size=28).images.shape  # doctest: +SKIP
        (1797, 28, 28, 1)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    raw = _sk_load_digits()
    images = raw.images.astype(np.float32) / 16.0
    if size is not None:
        images = np.clip(_resize(images, size), 0.0, 1.0)
    bunch = make_bunch(
        images[..., None],
        raw.target.astype(np.int64),
        [str(d) for d in range(10)],
        "Optical recognition of handwritten digits (UCI), as shipped by scikit-learn: "
        "1,797 grey 8x8 images of the digits 0-9, about 180 per class.",
    )
    return _finish(bunch, return_X_y)


def load_faces(return_X_y=False):
    """Load faces vs non-faces: 200 grey 25x25 images (scikit-image's ``lfw_subset``).

    The first 100 images are faces from Labeled Faces in the Wild (label 1,
    ``"face"``); the other 100 are patches of other photos (label 0,
    ``"non-face"``). Values are scaled to [0, 1] over the whole set.

    Args:
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(200, 25, 25, 1)`` (float32),
        ``target`` (int64), ``target_names`` (``["non-face", "face"]``) and
        ``DESCR``; or ``(images, target)``.

    Example:
        >>> x, y = load_faces(return_X_y=True)  # doctest: +SKIP
    """
    from skimage.data import lfw_subset

    images = lfw_subset().astype(np.float32)
    images = (images - images.min()) / max(float(images.max() - images.min()), 1e-12)
    target = np.r_[np.ones(100, np.int64), np.zeros(100, np.int64)]
    bunch = make_bunch(
        images[..., None],
        target,
        ["non-face", "face"],
        "A subset of Labeled Faces in the Wild shipped with scikit-image: 100 faces and "
        "100 non-face image patches, grey, 25x25.",
    )
    return _finish(bunch, return_X_y)


def load_textures(patch_size=32, stride=None, return_X_y=False):
    """Cut square patches from scikit-image's brick, grass and gravel photos.

    Each 512x512 grey photo gives ``((512 - patch_size) // stride + 1) ** 2``
    patches (non-overlapping by default: ``stride = patch_size``). Labels are
    0 = brick, 1 = grass, 2 = gravel; the patches come class by class, in
    that order.

    Args:
        patch_size: the patches' side, 4 to 512 pixels.
        stride: the step between patches (``None``: ``patch_size``).
        return_X_y: return ``(images, target)`` instead of a Bunch.

    Returns:
        A Bunch with ``images`` of shape ``(n, patch_size, patch_size, 1)``
        (float32 in [0, 1]), ``target`` (int64), ``target_names`` (the
        :data:`TEXTURES`) and ``DESCR``; or ``(images, target)``.

    Raises:
        ValueError: ``patch_size`` is outside [4, 512] or ``stride`` is not
            positive.

    Example:
        >>> load_textures(patch_size=16).images.shape  # doctest: +SKIP
        (3072, 16, 16, 1)
    """
    import skimage.data as skdata

    if stride is None:
        stride = patch_size
    if patch_size < 4 or patch_size > 512:
        raise ValueError(f"patch_size must be between 4 and 512, got {patch_size}.")
    if stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride}.")
    patches, labels = [], []
    for label, name in enumerate(TEXTURES):
        photo = getattr(skdata, name)().astype(np.float32) / 255.0
        view = np.lib.stride_tricks.sliding_window_view(photo, (patch_size, patch_size))
        view = view[::stride, ::stride].reshape(-1, patch_size, patch_size)
        patches.append(view)
        labels.append(np.full(len(view), label, np.int64))
    bunch = make_bunch(
        np.concatenate(patches)[..., None].astype(np.float32),
        np.concatenate(labels),
        list(TEXTURES),
        f"{patch_size}x{patch_size} patches (stride {stride}) of scikit-image's brick, grass "
        "and gravel texture photos.",
    )
    return _finish(bunch, return_X_y)


def sample_photo(name="astronaut", gray=False):
    """Return one of scikit-image's sample photos as float32 in [0, 1].

    Colour photos have shape ``(h, w, 3)`` (an alpha channel is dropped);
    grey ones ``(h, w)``.

    Args:
        name: one of :data:`PHOTOS`.
        gray: convert a colour photo to ``(h, w)`` luminance.

    Returns:
        The photo, a float32 array.

    Raises:
        ValueError: ``name`` is not one of :data:`PHOTOS`.

    Example:
        >>> sample_photo("astronaut", gray=True).shape  # doctest: +SKIP
        (512, 512)
    """
    import skimage.data as skdata
    from skimage.color import rgb2gray
    from skimage.util import img_as_float32

    if name not in PHOTOS:
        raise ValueError(f"Unknown photo {name!r}. Choose one of: {', '.join(PHOTOS)}.")
    img = img_as_float32(getattr(skdata, name)())
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    if gray and img.ndim == 3:
        img = rgb2gray(img).astype(np.float32)
    return img
