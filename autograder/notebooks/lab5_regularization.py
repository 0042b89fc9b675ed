"""Build source/lab5-regularization/lab5-regularization.ipynb (run: python -m autograder.notebooks.lab5_regularization)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab5-regularization"

CELLS = [
    markdown("""
    # Lab 5: Regularisation, augmentation, `tf.data` and training practice

    A CNN with tens of thousands of weights can memorise a small dataset: training accuracy climbs to
    100% while validation accuracy stalls. This lab is about the tools that keep a network honest,
    and about the practice around training:

    1. **data augmentation** with Keras' random layers (`build_augmenter`);
    2. an input **pipeline** with `tf.data` that scales, caches, shuffles, batches, augments and
       prefetches (`make_dataset`);
    3. **early stopping** on the validation loss (`make_early_stopping`);
    4. **random search** versus grid search for hyper-parameters (`random_search`, `grid_search`);
    5. a **regularised CNN** (augmentation, dropout, L2) on real photos: faces versus non-faces
       (`build_regularized_cnn`), graded on its validation accuracy and on the gap between its
       training and validation curves.

    As in Lab 4, the training check retrains *your* model, seeded, under your machine's profile, and
    compares what it reaches with bars calibrated on many seeds.
    """, "intro"),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import itertools

    import numpy as np
    import matplotlib.pyplot as plt
    import tensorflow as tf
    import keras
    from keras import layers

    from cnncourse import data, plots, runtime
    from cnncourse.checks import lab5 as checks

    PROFILE = runtime.profile()
    BUDGET = runtime.budget("lab5.regularized")
    print(f"profile: {PROFILE}; the regularised CNN trains for {BUDGET.epochs} epochs "
          f"(batch size {BUDGET.batch_size}).")
    """, "imports"),
    markdown("""
    ## The data: faces and non-faces

    200 grey 25x25 images from scikit-image: 100 faces from *Labeled Faces in the Wild* (label 1) and
    100 patches of other photos (label 0). With only 150 images to train on, overfitting is the
    main danger. Photos are stored as 8-bit integers (0 to 255); we start from those, as a real
    pipeline would.
    """, "md-data"),
    code("""
    faces = data.load_faces()
    images_u8 = np.round(faces.images * 255).astype(np.uint8)
    (x_train, y_train), (x_val, y_val) = data.train_val_split(images_u8, faces.target, val_fraction=0.25, seed=0)
    print("training:", x_train.shape, x_train.dtype, " validation:", x_val.shape)
    fig = plots.image_grid(x_train[:16], titles=[faces.target_names[t] for t in y_train[:16]], ncols=8, size=1.2)
    plt.show()
    """, "data"),
    markdown("""
    ## 1. Data augmentation

    Augmentation creates new training images from old ones with changes that do not change the
    label: a mirrored face is still a face. Keras has one layer per kind of change; they act **only
    when training** and pass images through untouched at inference. The lecture's set:

    | layer | setting |
    | --- | --- |
    | `RandomFlip` | `"horizontal"` |
    | `RandomRotation` | `0.05` (a fraction of a full turn: up to 18 degrees) |
    | `RandomTranslation` | `0.1` of the height and `0.1` of the width |
    | `RandomBrightness` | `0.1`, with `value_range=(0.0, 1.0)` |
    | `RandomContrast` | `0.1`, with `value_range=(0.0, 1.0)` |

    Our images are in $[0, 1]$; brightness and contrast assume $[0, 255]$ unless told otherwise.

    **Exercise 1.** Write `build_augmenter(seed=None)` returning a `keras.Sequential` of those five
    layers (pass `seed` to each).
    """, "md-augment"),
    solution("""
    def build_augmenter(seed=None):
        \"\"\"The lecture's five random layers, for images with values in [0, 1].\"\"\"
        ### BEGIN SOLUTION
        return keras.Sequential([
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.05, fill_mode="reflect", seed=seed),
            layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
            layers.RandomBrightness(0.1, value_range=(0.0, 1.0), seed=seed),
            layers.RandomContrast(0.1, value_range=(0.0, 1.0), seed=seed),
        ], name="augmenter")
        ### END SOLUTION
    """, "build_augmenter"),
    tests("""
    checks.check_build_augmenter(build_augmenter)
    ### BEGIN HIDDEN TESTS
    _aug = build_augmenter(seed=1)
    _kinds = [type(l).__name__ for l in _aug.layers]
    assert sorted(_kinds) == sorted(checks.AUGMENT_LAYERS), _kinds
    _cfg = {type(l).__name__: l.get_config() for l in _aug.layers}
    assert _cfg["RandomFlip"]["mode"] == "horizontal"
    assert np.isclose(_cfg["RandomRotation"]["factor"][1] if isinstance(_cfg["RandomRotation"]["factor"], (list, tuple)) else _cfg["RandomRotation"]["factor"], 0.05)
    ### END HIDDEN TESTS
    """, "test_build_augmenter", points=2),
    code("""
    augmenter = build_augmenter(seed=0)
    one = faces.images[:1]
    fig = plots.image_grid([one[0]] + [augmenter(one, training=True)[0].numpy() for _ in range(7)],
                           titles=["original"] + [f"augmented {i}" for i in range(1, 8)], ncols=8, size=1.3)
    plt.show()
    """, "augment-gallery"),
    markdown("""
    ## 2. An input pipeline with `tf.data`

    `model.fit(x, y)` on NumPy arrays is fine for a toy; a real pipeline streams the data and prepares
    the next batch while the model trains on this one. The order of steps matters
    (TensorFlow's data-performance guide):

    1. `tf.data.Dataset.from_tensor_slices((x, y))`;
    2. `map` the deterministic step (here: cast to `float32` and divide by 255), with
       `num_parallel_calls=tf.data.AUTOTUNE`;
    3. `cache()` right after it, so it runs once, not every epoch;
    4. when training only: `shuffle` with a buffer of the whole dataset and the given `seed`
       (a new order each epoch, the same orders for the same seed);
    5. `batch(batch_size)`;
    6. when training and an `augmenter` is given: `map` it over whole **batches**, calling
       `augmenter(images, training=True)`; after the cache, so every epoch sees new variations;
    7. `prefetch(tf.data.AUTOTUNE)` last.

    **Exercise 2.** Write `make_dataset(x, y, batch_size, training, seed, augmenter=None)` with those
    steps. Use `tf.data` yourself: the helper library's `build_pipeline` is off limits here.
    """, "md-pipeline"),
    solution("""
    def make_dataset(x, y, batch_size, training, seed, augmenter=None):
        \"\"\"uint8 images (n, h, w, c) and integer labels -> a batched tf.data.Dataset of float32 in [0, 1].\"\"\"
        ### BEGIN SOLUTION
        autotune = tf.data.AUTOTUNE
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.map(lambda im, lb: (tf.cast(im, tf.float32) / 255.0, lb), num_parallel_calls=autotune)
        ds = ds.cache()
        if training:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        if training and augmenter is not None:
            ds = ds.map(lambda im, lb: (augmenter(im, training=True), lb), num_parallel_calls=autotune)
        return ds.prefetch(autotune)
        ### END SOLUTION
    """, "make_dataset"),
    tests("""
    checks.check_make_dataset(make_dataset)
    ### BEGIN HIDDEN TESTS
    import inspect
    assert "build_pipeline" not in inspect.getsource(make_dataset), "make_dataset must not call build_pipeline"
    _ds = make_dataset(x_train, y_train, 32, True, 0, augmenter=build_augmenter(seed=0))
    _xb, _yb = next(iter(_ds))
    assert _xb.shape == (32, 25, 25, 1) and _xb.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(_xb)) and float(tf.reduce_max(_xb)) <= 1.0
    _names = data.transformation_names(_ds)
    assert _names[-1] == "PrefetchDataset" and "CacheDataset" in _names and "ShuffleDataset" in _names
    ### END HIDDEN TESTS
    """, "test_make_dataset", points=3),
    markdown("""
    ## 3. Early stopping

    Training too long overfits: the training error keeps falling while the validation error turns
    back up. The lecture's rule: keep a validation set, measure it after every epoch, and stop when
    more epochs make the validation error worse; then keep the weights of the best epoch.

    **Exercise 3.** Write `make_early_stopping(patience)` returning a Keras callback that watches
    `val_loss`, stops once `patience` epochs in a row bring no new minimum, and restores the best
    epoch's weights. (Configure `keras.callbacks.EarlyStopping`, or write your own
    `keras.callbacks.Callback`.) The check replays scripted validation-loss sequences through it;
    no training needed.
    """, "md-early"),
    solution("""
    def make_early_stopping(patience):
        \"\"\"Stop when val_loss has not reached a new minimum for `patience` epochs; keep the best weights.\"\"\"
        ### BEGIN SOLUTION
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        ### END SOLUTION
    """, "make_early_stopping"),
    tests("""
    checks.check_early_stopping(make_early_stopping)
    ### BEGIN HIDDEN TESTS
    assert checks.replay(make_early_stopping(1), [0.3, 0.2, 0.25, 0.1]) == (2, 1)
    assert checks.replay(make_early_stopping(5), [0.9, 0.8, 0.7]) == (2, 2)
    ### END HIDDEN TESTS
    """, "test_early_stopping", points=2),
    markdown("""
    ## 4. Random search beats grid search

    A hyper-parameter search space says, per hyper-parameter, how to draw it:

    * `("log", low, high)`: **log-uniform**, every factor of ten equally likely. Learning rates and
      L2 factors live on this scale: the lecture draws `lr = 10 ** uniform(-6, -3)`;
    * `("uniform", low, high)`: uniform between the bounds (e.g. a dropout rate);
    * `("choice", [options])`: one of the options, each equally likely.

    With the same number of trials, a grid tries only a few values of each hyper-parameter, while
    random search tries a new value of *every* hyper-parameter in every trial. When only one of
    them really matters (often the learning rate), random search explores it much better
    (Bergstra and Bengio, 2012).

    **Exercise 4.** Write `random_search(space, n_trials, seed)` returning a list of `n_trials`
    dicts (hyper-parameter name to value), drawn with `np.random.default_rng(seed)`.

    **Exercise 5.** Write `grid_search(space, points_per_axis)` returning every combination: for a
    `"log"` axis `points_per_axis` values evenly spaced in the exponent (ends included), for a
    `"uniform"` axis evenly spaced values (ends included), for a `"choice"` every option.
    """, "md-search"),
    solution("""
    def random_search(space, n_trials, seed):
        \"\"\"n_trials random candidates from `space`, repeatable for a seed.\"\"\"
        ### BEGIN SOLUTION
        rng = np.random.default_rng(seed)
        trials = []
        for _ in range(n_trials):
            candidate = {}
            for name, (kind, *args) in space.items():
                if kind == "log":
                    low, high = args
                    candidate[name] = float(10 ** rng.uniform(np.log10(low), np.log10(high)))
                elif kind == "uniform":
                    candidate[name] = float(rng.uniform(args[0], args[1]))
                elif kind == "choice":
                    candidate[name] = args[0][int(rng.integers(len(args[0])))]
                else:
                    raise ValueError(f"unknown kind {kind!r} for {name}")
            trials.append(candidate)
        return trials
        ### END SOLUTION
    """, "random_search"),
    tests("""
    checks.check_random_search(random_search)
    ### BEGIN HIDDEN TESTS
    _t = random_search({"lr": ("log", 1e-4, 1e-2)}, 500, 3)
    assert 0.4 < np.mean([c["lr"] < 1e-3 for c in _t]) < 0.6
    assert random_search({"lr": ("log", 1e-4, 1e-2)}, 5, 3) == _t[:5]
    ### END HIDDEN TESTS
    """, "test_random_search", points=2),
    solution("""
    def grid_search(space, points_per_axis):
        \"\"\"Every combination of evenly spaced values (log-spaced for 'log' axes).\"\"\"
        ### BEGIN SOLUTION
        axes = []
        for name, (kind, *args) in space.items():
            if kind == "log":
                values = np.geomspace(args[0], args[1], points_per_axis)
            elif kind == "uniform":
                values = np.linspace(args[0], args[1], points_per_axis)
            elif kind == "choice":
                values = args[0]
            else:
                raise ValueError(f"unknown kind {kind!r} for {name}")
            axes.append([v.item() if hasattr(v, "item") else v for v in values])
        return [dict(zip(space, combo)) for combo in itertools.product(*axes)]
        ### END SOLUTION
    """, "grid_search"),
    tests("""
    checks.check_grid_search(grid_search)
    ### BEGIN HIDDEN TESTS
    _g = grid_search({"lr": ("log", 1e-4, 1e-2), "p": ("uniform", 0.0, 0.5)}, 3)
    assert len(_g) == 9 and sorted({round(c["lr"], 8) for c in _g}) == [1e-4, 1e-3, 1e-2]
    ### END HIDDEN TESTS
    """, "test_grid_search", points=1),
    markdown("""
    Nine trials each, on a space where the learning rate matters and the dropout rate barely does:
    the grid tries 3 learning rates, random search 9.
    """, "md-search-plot"),
    code("""
    space2 = {"learning_rate": ("log", 1e-5, 1e-1), "dropout": ("uniform", 0.0, 0.6)}
    try:
        layouts = {"grid (3 x 3)": grid_search(space2, 3), "random (9 trials)": random_search(space2, 9, seed=0)}
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
        for ax, (title, cands) in zip(axes, layouts.items()):
            lr = [c["learning_rate"] for c in cands]
            ax.scatter(lr, [c["dropout"] for c in cands], s=40)
            ax.plot(lr, np.full(len(lr), -0.05), "|", ms=14, color="crimson")
            ax.set_xscale("log")
            ax.set_xlabel("learning rate (important)")
            ax.set_title(f"{title}: {len(set(np.round(lr, 12)))} learning rates")
        axes[0].set_ylabel("dropout (unimportant)")
        fig.tight_layout()
        plt.show()
    except NotImplementedError:
        print("Write random_search and grid_search first.")
    """, "search-plot"),
    markdown("""
    ## 5. A regularised CNN

    Three regularisers together:

    * **augmentation**: your `build_augmenter()` as the model's first layer (active only while
      training);
    * **dropout**: randomly silence units while training (the lecture: "can't rely on any one
      feature, so have to spread out weights"); AlexNet used 0.5 before its dense layers;
    * **L2 weight decay**: `kernel_regularizer=keras.regularizers.l2(...)` adds
      $\\lambda \\sum w^2$ to the loss, keeping weights small (the lecture's AlexNet code uses
      factors from 1e-6 to 1e-4 on large layers; a small network on 150 images can take more).

    **Exercise 6.** Write `build_regularized_cnn(input_shape, num_classes)`: `keras.Input`, your
    augmenter, two or three `Conv2D` + `MaxPooling2D` blocks with ReLU and an L2 penalty, `Flatten`,
    dropout, a small dense layer, and `Dense(num_classes, activation="softmax")`. Return it
    uncompiled: the check trains it with Adam (learning rate 0.001) under the lab's budget and
    grades the **validation accuracy** and the **gap** between training and validation accuracy
    over the last three epochs (a regularised model keeps it small).
    """, "md-regularized"),
    solution("""
    def build_regularized_cnn(input_shape, num_classes):
        \"\"\"A small CNN with augmentation, dropout and L2 weight decay.\"\"\"
        ### BEGIN SOLUTION
        l2 = keras.regularizers.l2(1e-3)
        return keras.Sequential([
            keras.Input(shape=input_shape),
            build_augmenter(),
            layers.Conv2D(16, 3, activation="relu", kernel_regularizer=l2),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu", kernel_regularizer=l2),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(64, activation="relu", kernel_regularizer=l2),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ], name="regularized_cnn")
        ### END SOLUTION
    """, "build_regularized_cnn"),
    tests("""
    checks.check_regularized_cnn(build_regularized_cnn)
    """, "test_regularized_cnn", points=2),
    markdown("""
    Train it with everything from this lab: your pipeline (without an augmenter: it is inside the
    model), and your early-stopping callback.
    """, "md-train"),
    code("""
    runtime.set_seed(0)
    model = build_regularized_cnn((25, 25, 1), 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(make_dataset(x_train, y_train, BUDGET.batch_size, True, seed=0),
                        validation_data=make_dataset(x_val, y_val, 256, False, seed=0),
                        epochs=BUDGET.epochs, callbacks=[make_early_stopping(patience=5)], verbose=0,
                        shuffle=False)  # the pipeline shuffles; this only tells Keras not to
    fig = plots.plot_history(history, title="regularised CNN, faces vs non-faces")
    plt.show()
    """, "train-run"),
    markdown("""
    The graded run retrains your `build_regularized_cnn` from scratch, for the whole budget (no early
    stopping, so the gap has every chance to open), and reports both numbers against their bars.
    """, "md-graded"),
    tests("""
    reg_accuracy, reg_gap = checks.check_regularized_training(build_regularized_cnn)
    ### BEGIN HIDDEN TESTS
    from autograder.calibration import grade
    grade("lab5-regularization", "regularized", reg_accuracy, points=3, what="validation accuracy")
    ### END HIDDEN TESTS
    """, "test_regularized_accuracy", points=3),
    tests("""
    print(f"train - validation accuracy, last 3 epochs: {reg_gap:+.3f}")
    ### BEGIN HIDDEN TESTS
    from autograder.calibration import grade
    grade("lab5-regularization", "gap", reg_gap, points=2, what="train - validation accuracy gap")
    ### END HIDDEN TESTS
    """, "test_regularized_gap", points=2),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
