"""Input pipelines with ``tf.data``, in the order TensorFlow's data-performance guide gives.

1. ``from_tensor_slices`` on the arrays;
2. deterministic preprocessing mapped with ``num_parallel_calls=AUTOTUNE``;
3. ``cache()`` right after the deterministic steps, so they run once;
4. ``shuffle`` (training only) with a seed, so an epoch's order is repeatable;
5. ``batch``;
6. random augmentation (training only), after the cache so every epoch sees
   fresh variations, also mapped with AUTOTUNE and applied per batch;
7. ``prefetch(AUTOTUNE)`` last, so the next batch is ready while the model trains.
"""

from __future__ import annotations


def build_pipeline(x, y, batch_size=32, training=False, preprocess=None, augment=None,
                   shuffle_buffer=None, seed=0, cache=True):
    """Return a batched ``tf.data.Dataset`` of ``(image, label)`` pairs.

    Parameters
    ----------
    x, y : arrays
        Images ``(n, h, w, c)`` and integer labels ``(n,)``.
    batch_size : int
    training : bool
        Shuffle and augment only when True; evaluation pipelines keep order.
    preprocess : callable(image, label) -> (image, label), optional
        Deterministic per-example step (e.g. resize or scale); cached.
    augment : callable(images, training=True) -> images, optional
        Random per-batch step, e.g. a ``keras.Sequential`` of random layers.
    shuffle_buffer : int, optional
        Defaults to the whole dataset (a perfect shuffle for in-memory data).
    seed : int
        Seed for the shuffle order.
    cache : bool
        Cache after preprocessing (in memory).
    """
    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if preprocess is not None:
        ds = ds.map(preprocess, num_parallel_calls=autotune)
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(shuffle_buffer or len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment is not None:
        ds = ds.map(lambda im, lb: (augment(im, training=True), lb), num_parallel_calls=autotune)
    return ds.prefetch(autotune)


def transformation_names(dataset):
    """Names of the transformations a ``tf.data`` pipeline applies, first to last.

    Reads the dataset's graph: e.g. ``['TensorSliceDataset', 'MapDataset',
    'CacheDataset', ...]``. Useful in checks that ask "is there a cache, and
    is it before the augmentation?".
    """
    names = []
    node = dataset
    while node is not None:
        names.append(type(node).__name__.lstrip("_"))
        inputs = node._inputs() if hasattr(node, "_inputs") else []
        node = inputs[0] if inputs else None
    return list(reversed(names))
