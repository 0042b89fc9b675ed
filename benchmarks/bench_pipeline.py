"""How fast does a model train when fed by ``tf.data`` rather than NumPy arrays?

    python benchmarks/bench_pipeline.py [--dataset textures|digits|faces] [--epochs 3] [--batch-size 64]

Trains the same small CNN for a few epochs twice, once from NumPy arrays
(``model.fit(x, y)``) and once from the course's ``tf.data`` pipeline
(:func:`cnncourse.data.build_pipeline`: cache, seeded shuffle, batch,
prefetch), optionally with the lecture's augmentation layers mapped over the
batches of the pipeline or run inside the model. Each variant first runs one
warm-up epoch (tracing, caching), then the timed epochs. Prints images per
second for each and the ratio. A measurement, not a test: numbers depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load(name):
    from cnncourse import data

    if name == "digits":
        return data.load_digits(size=28, return_X_y=True)
    if name == "faces":
        return data.load_faces(return_X_y=True)
    return data.load_textures(patch_size=32, return_X_y=True)


def small_cnn(input_shape, num_classes, augment=False):
    import keras
    from keras import layers

    stack = [keras.Input(shape=input_shape)]
    if augment:
        stack.append(augmenter())
    stack += [
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ]
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def augmenter():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.05),
            layers.RandomTranslation(0.1, 0.1),
            layers.RandomBrightness(0.1, value_range=(0.0, 1.0)),
            layers.RandomContrast(0.1, value_range=(0.0, 1.0)),
        ]
    )


def timed_fit(model, epochs, *args, **kwargs):
    model.fit(*args, epochs=1, verbose=0, **kwargs)  # warm-up: tracing, cache filled
    start = time.perf_counter()
    model.fit(*args, epochs=epochs, verbose=0, **kwargs)
    return time.perf_counter() - start


def run(dataset="textures", epochs=3, batch_size=64, augment=False, seed=0):
    from cnncourse import runtime
    from cnncourse.data import build_pipeline

    x, y = load(dataset)
    n_classes = int(y.max()) + 1
    results = {}

    runtime.set_seed(seed)
    model = small_cnn(x.shape[1:], n_classes, augment=augment)
    results["numpy arrays"] = timed_fit(model, epochs, x, y, batch_size=batch_size, shuffle=True)

    runtime.set_seed(seed)
    model = small_cnn(x.shape[1:], n_classes)
    aug = augmenter() if augment else None
    ds = build_pipeline(x, y, batch_size=batch_size, training=True, augment=aug, seed=seed)
    results["tf.data pipeline"] = timed_fit(model, epochs, ds, shuffle=False)

    n = len(y) * epochs
    print(
        f"{dataset}: {len(y)} images {x.shape[1:]}, batch {batch_size}, {epochs} timed epochs"
        f"{', with augmentation' if augment else ''}"
    )
    rates = {}
    for name, seconds in results.items():
        rates[name] = n / seconds
        print(f"  {name:18s} {rates[name]:9.0f} images/s  ({seconds:.2f} s)")
    ratio = rates["tf.data pipeline"] / rates["numpy arrays"]
    print(f"  tf.data / numpy:   {ratio:.2f}x")
    return rates, ratio


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("textures", "digits", "faces"), default="textures")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--augment", action="store_true", help="augment (in the model for numpy, in the pipeline for tf.data)"
    )
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    run(a.dataset, a.epochs, a.batch_size, a.augment, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
