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


def build_pipeline(
    x, y, batch_size=32, training=False, preprocess=None, augment=None, shuffle_buffer=None, seed=0, cache=True
):
    """Return a batched ``tf.data.Dataset`` of ``(image, label)`` pairs.

    The steps follow the module's order: slices, ``preprocess``, cache,
    shuffle (training only), batch, ``augment`` (training only), prefetch.

    Args:
        x: the images, ``(n, h, w, c)``.
        y: the integer labels, ``(n,)``.
        batch_size: the examples per batch (the last batch may be smaller).
        training: shuffle and augment only when True; evaluation pipelines
            keep the order.
        preprocess: ``preprocess(image, label) -> (image, label)``, a
            deterministic per-example step (e.g. resize or scale), mapped in
            parallel and cached; ``None``: none.
        augment: ``augment(images, training=True) -> images``, a random
            per-batch step, e.g. a ``keras.Sequential`` of random layers;
            ``None``: none.
        shuffle_buffer: the shuffle buffer's size (``None``: the whole
            dataset, a perfect shuffle for in-memory data).
        seed: the seed of the shuffle order (a new order every epoch, the
            same sequence of orders for the same seed).
        cache: cache after preprocessing (in memory).

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, prefetched.

    Example:
        >>> ds = build_pipeline(x_train, y_train, batch_size=64, training=True)  # doctest: +SKIP
        >>> model.fit(ds, epochs=5)  # doctest: +SKIP
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
    """Return the names of the transformations a ``tf.data`` pipeline applies, first to last.

    Reads the dataset's graph back from the last step, following each
    step's first input. Useful in checks that ask "is there a cache, and is
    it before the augmentation?".

    Args:
        dataset: a ``tf.data.Dataset``.

    Returns:
        A list of class names, e.g. ``['TensorSliceDataset',
        'ParallelMapDataset', 'CacheDataset', 'BatchDataset',
        'PrefetchDataset']``.

    Example:
        >>> transformation_names(build_pipeline(x, y, training=True))  # doctest: +SKIP
        ['TensorSliceDataset', 'CacheDataset', 'ShuffleDataset', 'BatchDataset', 'PrefetchDataset']
    """
    return [type(node).__name__.lstrip("_") for node in transformations(dataset)]


def transformations(dataset):
    """Return the steps of a ``tf.data`` pipeline, first to last, as the dataset objects themselves.

    The graph is read back from the last step, following each step's first
    input; a check can then read a step's settings (a shuffle's buffer size).

    Args:
        dataset: a ``tf.data.Dataset``.

    Returns:
        A list of ``tf.data.Dataset`` objects; the last is ``dataset``.
    """
    nodes = []
    node = dataset
    while node is not None:
        nodes.append(node)
        inputs = node._inputs() if hasattr(node, "_inputs") else []
        node = inputs[0] if inputs else None
    return list(reversed(nodes))
