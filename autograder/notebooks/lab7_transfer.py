"""Build source/lab7-transfer/lab7-transfer.ipynb (run: python -m autograder.notebooks.lab7_transfer)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab7-transfer"

CELLS = [
    markdown("""
    # Lab 7: Transfer learning

    The more weights a network has to learn, the more labelled data it needs. Transfer learning
    sidesteps this: train a network once on a task with *lots* of data, keep what it learned, and
    train only a little on the new task, which has *few* labels. The layers you keep are the
    **base**; the layers you add on top are the **head**.

    Real courses start from an ImageNet network from Keras Applications (MobileNetV2 has 3.5M
    parameters and 71.3% top-1 accuracy on ImageNet). Those weights need a download, so this lab's
    graded part uses a small **source network that ships with the course**: a CNN trained on the
    handwritten digits **0-4**, each pasted at a random place on a 32x32 canvas. Your new task is
    the digits **5-9**, with only **10 labels per class**.

    You will write:

    1. `build_transfer_model`: a frozen base with a new head;
    2. `unfreeze_top`: open the top layers of the base for fine-tuning, keep the rest frozen;
    3. `compile_for_finetuning`: a learning rate one tenth of the original;
    4. `choose_strategy`: the lecture's decision matrix;
    5. `train_transfer`: train a transfer model on a few labels;
    6. the experiment: transfer against training from scratch, over several seeds.

    An optional last section runs MobileNetV2 where its ImageNet weights are on the machine.
    """, "intro"),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import numpy as np
    import matplotlib.pyplot as plt
    import keras
    from keras import layers

    from cnncourse import data, plots
    from cnncourse.runtime import budget, set_seed
    from cnncourse.models import source
    from cnncourse.checks import lab7 as checks
    """, "imports"),
    markdown("""
    ## The source network and the new task

    `source.load()` returns the trained source network, `source.load_base()` the same network
    without its classifier: an image goes in, the 64 `features` (after global average pooling and
    a frozen normalisation) come out. Its training record ships beside the weights.
    """, "md-source"),
    code("""
    rec = source.record()
    print(f"source network: {rec['description']}")
    print(f"trained on {rec['data']['train_images']} images (seed {rec['seed']}), "
          f"held-out accuracy {rec['test_accuracy']:.3f}, {rec['params']:,} parameters")
    source.load().summary()

    (x_pool, y_pool), (x_test, y_test) = checks.target_task()
    old = source.digits_on_canvas((0, 1, 2, 3, 4), seed=3)
    plots.image_grid(old.images[:8], titles=[str(d) for d in old.digit[:8]], ncols=8, size=1.4,
                     suptitle="the source task: digits 0-4 (lots of labels)")
    plt.show()
    plots.image_grid(x_pool[:8], titles=[str(y + 5) for y in y_pool[:8]], ncols=8, size=1.4,
                     suptitle="the new task: digits 5-9 (label k means the digit k + 5)")
    plt.show()
    print(f"target task: a pool of {len(y_pool)} images to draw labels from, {len(y_test)} test images")
    """),
    markdown("""
    ## 1. A frozen base with a new head

    To reuse the base as a fixed feature extractor:

    * **freeze** it: `base.trainable = False` (none of its weights change during training);
    * build the model with the functional API and **call the base with `training=False`**, so its
      layers are meant to run in inference mode. The base has a `BatchNormalization` layer: in
      inference mode it normalises with the statistics it learned on the source data instead of
      those of the current small batch;
    * put the **head** on top: one `Dense` layer with `num_classes` units and a softmax (a
      `Dropout` layer before it is allowed).

    Then the only trainable parameters are the head's: for 64 features and 5 classes,
    $64 \\times 5 + 5 = 325$.

    **Exercise 1.** Write `build_transfer_model(base, num_classes)` returning a `keras.Model` whose
    input has the base's input shape (`base.input_shape[1:]`).
    """, "md-ex1"),
    solution("""
    def build_transfer_model(base, num_classes):
        \"\"\"The frozen `base` (called with training=False) with a new softmax head.\"\"\"
        ### BEGIN SOLUTION
        base.trainable = False
        inputs = keras.Input(shape=base.input_shape[1:])
        x = base(inputs, training=False)
        outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
        return keras.Model(inputs, outputs, name="transfer")
        ### END SOLUTION
    """, "build_transfer_model"),
    tests("""
    checks.check_build_transfer_model(build_transfer_model)
    ### BEGIN HIDDEN TESTS
    _m = build_transfer_model(source.load_base(), 5)
    _trainable = sum(int(np.prod(w.shape)) for w in _m.trainable_weights)
    assert _trainable == 64 * 5 + 5, _trainable
    assert _m.output_shape == (None, 5)
    assert sum(int(np.prod(w.shape)) for w in build_transfer_model(source.load_base(), 3).trainable_weights) == 195
    ### END HIDDEN TESTS
    """, "test_build_transfer_model", points=3),
    markdown("""
    ## 2. Fine-tuning: unfreeze the top of the base

    With more labels, or a task further from the source, you can also let the **top** layers of
    the base adapt. Early layers find generic things (edges, strokes, textures) and are worth
    keeping; late layers are specific to the source task.

    Two Keras details matter. A frozen model freezes every layer inside it, so first make the base
    trainable again and then freeze the layers you keep. And `BatchNormalization` layers must
    **stay frozen**: in Keras 3, a frozen batch-norm layer always runs in inference mode, so its
    statistics from the big dataset are kept instead of being overwritten by a few small batches.

    **Exercise 2.** Write `unfreeze_top(base, n_layers)`: make the last `n_layers` layers of
    `base.layers` trainable (except batch-norm layers) and every other layer frozen. Change `base`
    in place and return it. `n_layers=0` leaves nothing trainable.
    """, "md-ex2"),
    solution("""
    def unfreeze_top(base, n_layers):
        \"\"\"Let only the last `n_layers` layers of `base` train; batch-norm layers stay frozen.\"\"\"
        ### BEGIN SOLUTION
        base.trainable = True
        first_open = len(base.layers) - n_layers
        for i, layer in enumerate(base.layers):
            is_bn = isinstance(layer, layers.BatchNormalization)
            layer.trainable = i >= first_open and not is_bn
        return base
        ### END SOLUTION
    """, "unfreeze_top"),
    tests("""
    checks.check_unfreeze_top(unfreeze_top)
    ### BEGIN HIDDEN TESTS
    _b = unfreeze_top(source.load_base(), 3)
    _names = sorted(l.name for l in _b.layers if l.trainable_weights)
    assert _names == ["conv3"], _names
    _b = unfreeze_top(source.load_base(), 5)
    assert sorted(l.name for l in _b.layers if l.trainable_weights) == ["conv2", "conv3"]
    assert not unfreeze_top(source.load_base(), 0).trainable_weights
    ### END HIDDEN TESTS
    """, "test_unfreeze_top", points=2),
    markdown("""
    ## 3. A smaller learning rate for fine-tuning

    The unfrozen layers already hold good weights; big steps would destroy them. The lecture's
    starting point: fine-tune with **one tenth of the original learning rate**.

    In Keras 3 the learning rate lives in a variable of the optimizer: read it with
    `float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))` (the Keras 2 name
    `optimizer.lr` no longer exists). After changing which layers train, compile again: Keras
    fixes the list of weights to update when it compiles.

    **Exercise 3.** Write `compile_for_finetuning(model, base_lr=None)`: compile `model` with
    `Adam` at one tenth of `base_lr`, or, when `base_lr` is `None`, of the learning rate the model
    was compiled with; loss `"sparse_categorical_crossentropy"`, metric `"accuracy"`. Return the model.
    """, "md-ex3"),
    solution("""
    def compile_for_finetuning(model, base_lr=None):
        \"\"\"Compile `model` with Adam at a tenth of `base_lr` (default: its current learning rate).\"\"\"
        ### BEGIN SOLUTION
        if base_lr is None:
            base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=base_lr / 10),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
        ### END SOLUTION
    """, "compile_for_finetuning"),
    tests("""
    checks.check_compile_for_finetuning(compile_for_finetuning)
    ### BEGIN HIDDEN TESTS
    _m = build_transfer_model(source.load_base(), 5)
    _m.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    compile_for_finetuning(_m)
    assert np.isclose(checks.learning_rate_of(_m), 0.002)
    compile_for_finetuning(_m, 1e-3)
    assert np.isclose(checks.learning_rate_of(_m), 1e-4)
    ### END HIDDEN TESTS
    """, "test_compile_for_finetuning", points=2),
    markdown("""
    ## 4. Which strategy? The decision matrix

    The lecture sorts transfer problems by two questions: is the new dataset **small** or
    **large**, and is it **similar** to the source data or **different**? Each of the four cells
    has its own advice, one of

    | strategy | what it means |
    | --- | --- |
    | `"classifier_on_top"` | keep the whole base frozen, train only a classifier on its last features |
    | `"classifier_from_earlier_layers"` | train a classifier on features taken from earlier stages of the base |
    | `"finetune_a_few_layers"` | unfreeze and fine-tune the top few layers |
    | `"finetune_many_layers"` | fine-tune a larger number of layers |

    Reason it out: more data lets more weights train safely; a different dataset makes the late,
    specific layers less useful than the early, generic ones (and small *and* different is the
    hard corner of the matrix).

    **Exercise 4.** Write `choose_strategy(dataset_size, similarity)` with `dataset_size` in
    `"small"`, `"large"` and `similarity` in `"similar"`, `"different"`; raise `ValueError` for
    anything else.
    """, "md-ex4"),
    solution("""
    def choose_strategy(dataset_size, similarity):
        \"\"\"The decision matrix: which transfer strategy suits this dataset?\"\"\"
        ### BEGIN SOLUTION
        matrix = {
            ("small", "similar"): "classifier_on_top",
            ("small", "different"): "classifier_from_earlier_layers",
            ("large", "similar"): "finetune_a_few_layers",
            ("large", "different"): "finetune_many_layers",
        }
        if (dataset_size, similarity) not in matrix:
            raise ValueError(f"unknown case {dataset_size!r}, {similarity!r}: use small/large and similar/different")
        return matrix[(dataset_size, similarity)]
        ### END SOLUTION
    """, "choose_strategy"),
    tests("""
    checks.check_choose_strategy(choose_strategy)
    ### BEGIN HIDDEN TESTS
    assert choose_strategy("small", "similar") == "classifier_on_top"
    assert choose_strategy("small", "different") == "classifier_from_earlier_layers"
    assert choose_strategy("large", "similar") == "finetune_a_few_layers"
    assert choose_strategy("large", "different") == "finetune_many_layers"
    ### END HIDDEN TESTS
    """, "test_choose_strategy", points=2),
    markdown("""
    Our task has 10 labels per digit and looks just like the source data (handwritten digits on
    the same canvas): the small, similar corner, so the rest of the lab trains a classifier on top
    of the frozen base.
    """, "md-which"),
    markdown("""
    ## 5. Train a transfer model on a few labels

    **Exercise 5.** Write `train_transfer(x, y, epochs, batch_size, validation_data=None)`: load a
    fresh base with `source.load_base()`, build the model with your `build_transfer_model` (5
    classes), compile it with `Adam(learning_rate=0.03)` (only the small head trains, so a large
    step is fine), loss `"sparse_categorical_crossentropy"` and metric `"accuracy"`, fit it
    (`verbose=0`, passing `validation_data` on) and return `(model, history)`.

    The hidden test trains your function on 10 labels per class over a few seeds and grades the
    accuracy on the test images against a calibrated bar that training from scratch does not reach.
    """, "md-ex5"),
    solution("""
    def train_transfer(x, y, epochs, batch_size, validation_data=None):
        \"\"\"Train a frozen source base with a new head on (x, y); return (model, history).\"\"\"
        ### BEGIN SOLUTION
        model = build_transfer_model(source.load_base(), 5)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                            verbose=0)
        return model, history
        ### END SOLUTION
    """, "train_transfer"),
    tests("""
    checks.check_train_transfer(train_transfer, x_pool[:40], y_pool[:40])
    """, "test_train_transfer", points=1),
    tests("""
    # Transfer must beat training from scratch: held-out accuracy with 10 labels per class,
    # averaged over the budget's seeds, against a calibrated bar.
    ### BEGIN HIDDEN TESTS
    from autograder import calibration as _cal
    _b = budget("lab7.transfer")
    _accs = [checks.measure_transfer(train_transfer, seed) for seed in range(_b.seeds)]
    print("accuracy per seed:", ", ".join(f"{a:.3f}" for a in _accs))
    _cal.grade("lab7-transfer", "transfer", float(np.mean(_accs)), 4)
    ### END HIDDEN TESTS
    """, "test_transfer_beats_scratch", points=4),
    markdown("""
    ## 6. The experiment: transfer against training from scratch

    Same labels, same budget, same network shape; the only difference is where the weights start.
    `source.fit_scratch(x, y, epochs, batch_size, validation_data)` trains the source architecture
    from random weights and returns `(model, history)`, like your `train_transfer`.

    **Exercise 6.** For every seed in `SEEDS`: draw the few labels with
    `data.per_class_subset(x_pool, y_pool, PER_CLASS, seed=seed)`, then, each time after
    `set_seed(seed)`, train a transfer model and a scratch model on them with
    `validation_data=(x_test, y_test)`. Collect the histories in
    `results = {"transfer": [...], "scratch": [...]}` (one per seed, in order).
    """, "md-ex6"),
    code("""
    BUDGET = budget("lab7.transfer")
    SEEDS = list(range(BUDGET.seeds))
    PER_CLASS = BUDGET.samples // 5
    EPOCHS, BATCH = BUDGET.epochs, BUDGET.batch_size
    print(f"{PER_CLASS} labels per class, {EPOCHS} epochs, batch size {BATCH}, seeds {SEEDS}")
    """, "budget"),
    solution("""
    ### BEGIN SOLUTION
    results = {"transfer": [], "scratch": []}
    for seed in SEEDS:
        x_few, y_few = data.per_class_subset(x_pool, y_pool, PER_CLASS, seed=seed)
        set_seed(seed)
        _, h = train_transfer(x_few, y_few, EPOCHS, BATCH, validation_data=(x_test, y_test))
        results["transfer"].append(h)
        set_seed(seed)
        _, h = source.fit_scratch(x_few, y_few, EPOCHS, BATCH, validation_data=(x_test, y_test))
        results["scratch"].append(h)
    ### END SOLUTION
    """, "experiment"),
    tests("""
    checks.check_experiment(results, SEEDS)
    """, "test_experiment", points=1),
    markdown("""
    ### Learning curves

    Test accuracy after every epoch, averaged over the seeds (the shaded band spans the best and
    the worst seed).
    """, "md-curves"),
    code("""
    try:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for name, colour in (("transfer", "tab:blue"), ("scratch", "tab:orange")):
            curves = np.array([h.history["val_accuracy"] for h in results[name]])
            epochs = np.arange(1, curves.shape[1] + 1)
            ax.plot(epochs, curves.mean(axis=0), "o-", color=colour,
                    label=f"{name}: final {curves[:, -1].mean():.2f}")
            ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=colour, alpha=0.2)
        ax.axhline(0.2, color="grey", ls=":", label="chance (5 classes)")
        ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1),
               title=f"{PER_CLASS} labels per class, {len(SEEDS)} seeds")
        ax.grid(alpha=0.3)
        ax.legend(loc="center right")
        plt.show()
    except (NameError, KeyError):
        print("Run the experiment first.")
    """),
    markdown("""
    The transfer model starts far above chance after one epoch: its features already separate
    strokes, loops and corners, and only 325 weights have to fit 50 labels. The scratch network has
    about 24,000 weights to fit from the same 50 labels and the same few epochs. Trained for much
    longer, it catches up partly, but with few labels it also overfits more easily.
    """, "md-after"),
    markdown("""
    ### Fine-tuning, briefly

    To fine-tune, unfreeze the top of the base and compile again with a tenth of the learning rate.
    Count what that opens up: the head has 325 weights, `conv3` alone has 18,496. With 10 labels per
    class that many free weights overfit quickly, which is why the decision matrix keeps the base
    frozen for a small dataset; with a large one, fine-tuning the top pays off.
    """, "md-ft"),
    code("""
    try:
        model = build_transfer_model(source.load_base(), 5)
        model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy")
        count = lambda: sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        print(f"head only: {count():,} trainable weights, learning rate {checks.learning_rate_of(model):g}")
        base = [l for l in model.layers if isinstance(l, keras.Model)][0]
        for n in (3, 5):
            unfreeze_top(base, n)
            compile_for_finetuning(model, 0.03)
            open_layers = [l.name for l in base.layers if l.trainable_weights]
            print(f"unfreeze_top(base, {n}): {count():,} trainable weights (head + {', '.join(open_layers)}), "
                  f"learning rate {checks.learning_rate_of(model):g}")
    except NotImplementedError:
        print("Write the exercises above first.")
    """),
    markdown("""
    ## Optional: MobileNetV2 with ImageNet weights

    `cnncourse.models.pretrained(name)` builds a Keras Applications network and loads its ImageNet
    weights from the course's data directory or the Keras cache; it never downloads. Where the
    weights are present, this cell uses MobileNetV2 as a frozen feature extractor for a real photo
    task (patches of brick, grass and gravel photos) with a logistic-regression head. Where they are
    not, it prints what to install and moves on. Nothing here is graded.
    """, "md-optional"),
    code("""
    from cnncourse.data import DatasetNotFoundError
    from cnncourse.models import pretrained, preprocess_input

    try:
        net = pretrained("mobilenet_v2", include_top=False, input_shape=(96, 96, 3), pooling="avg")
    except DatasetNotFoundError as err:
        print("MobileNetV2's ImageNet weights are not on this machine, so this optional part is skipped.")
        print(str(err).splitlines()[1])
    else:
        from sklearn.linear_model import LogisticRegression

        tex = data.load_textures(patch_size=96, stride=96)
        rgb = np.repeat(tex.images, 3, axis=-1)
        feats = net.predict(preprocess_input("mobilenet_v2", rgb), verbose=0)
        (f_tr, y_tr), (f_te, y_te) = data.train_val_split(feats, tex.target, val_fraction=0.5, seed=0)
        f_tr, y_tr = data.per_class_subset(f_tr, y_tr, 5, seed=0)
        clf = LogisticRegression(max_iter=2000).fit(f_tr, y_tr)
        print(f"MobileNetV2 features + logistic regression, 5 labels per texture: "
              f"test accuracy {clf.score(f_te, y_te):.3f}")
    """),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
