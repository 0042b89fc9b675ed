"""Build source/lab4-first-cnn/lab4-first-cnn.ipynb (run: python -m autograder.notebooks.lab4_first_cnn)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab4-first-cnn"

CELLS = [
    markdown("""
    # Lab 4: A first CNN, LeNet-5, and how to evaluate a classifier

    LeNet-5 (LeCun and colleagues, 1998) is the network that made convolutional networks work on
    handwritten digits. Its shape is still the shape of most CNNs: a **convolutional encoder**
    (convolution, pooling, convolution, pooling) that turns an image into feature maps, followed by
    a **dense block** that turns the flattened maps into class scores.

    In this lab you will

    1. build LeNet-5 in Keras from the lecture's description (`build_lenet5`);
    2. write the training function used all lab long (`train_model`) and train LeNet on digits;
    3. run the sanity check every practitioner should know: a model must be able to *overfit* a
       tiny subset;
    4. compare the original sigmoid activations with ReLU;
    5. read the learning curves and a normalised confusion matrix, and find the pair of digits
       your network mixes up most (`most_confused_pair`).

    Training checks retrain *your* model with *your* training function, seeded, under the size of
    run your machine's profile allows (`fast` on a CPU, `full` on a GPU), and compare the accuracy
    reached with a bar calibrated on many seeds. Runs are small: a few seconds each on a laptop.
    """, "intro"),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import numpy as np
    import matplotlib.pyplot as plt
    import keras
    from keras import layers

    from cnncourse import data, plots, runtime
    from cnncourse.checks import lab4 as checks

    PROFILE = runtime.profile()
    BUDGET = runtime.budget("lab4.lenet")
    print(f"profile: {PROFILE}; LeNet runs train on {BUDGET.samples or 'all'} digits "
          f"for {BUDGET.epochs} epochs (batch size {BUDGET.batch_size}).")
    """, "imports"),
    markdown("""
    ## The data

    scikit-learn's handwritten digits are 8x8; `data.load_digits(size=28)` resizes them to the
    28x28 that LeNet-5 was designed for (MNIST's size). We keep a quarter of them aside as a
    **test set** that no training run ever sees; the accuracy on it is the number we trust.
    """, "md-data"),
    code("""
    digits = data.load_digits(size=28)
    (x_train_all, y_train_all), (x_test, y_test) = data.train_val_split(digits.images, digits.target,
                                                                        val_fraction=0.25, seed=0)
    x_train, y_train = data.stratified_subsample(x_train_all, y_train_all, BUDGET.samples, seed=0)
    x_val, y_val = x_test[:150], y_test[:150]  # a slice of the test set, to draw learning curves cheaply
    print("training:", x_train.shape, " test:", x_test.shape)
    fig = plots.image_grid(x_train[:16], titles=y_train[:16], ncols=8, size=1.2)
    plt.show()
    """, "data"),
    markdown("""
    ## 1. LeNet-5

    The lecture's LeNet-5, for a 28x28 grey digit:

    | # | layer | output | parameters |
    | --- | --- | --- | --- |
    | 1 | convolution, 6 filters 5x5, padding `"same"`, activation | 28x28x6 | $(5\\cdot5\\cdot1)\\cdot6 + 6$ |
    | 2 | average pooling 2x2, stride 2 | 14x14x6 | 0 |
    | 3 | convolution, 16 filters 5x5, no padding (`"valid"`), activation | 10x10x16 | $(5\\cdot5\\cdot6)\\cdot16 + 16$ |
    | 4 | average pooling 2x2, stride 2 | 5x5x16 | 0 |
    | 5 | flatten | 400 | 0 |
    | 6 | dense, 120 units, activation | 120 | $400\\cdot120 + 120$ |
    | 7 | dense, 84 units, activation | 84 | $120\\cdot84 + 84$ |
    | 8 | dense, one unit per class, softmax | 10 | $84\\cdot10 + 10$ |

    The original used sigmoid (or tanh) activations; ReLU came later. So the activation is an
    argument.

    **Exercise 1.** Write `build_lenet5(input_shape, num_classes, activation="sigmoid")` returning
    a `keras.Sequential` that starts with `keras.Input(shape=input_shape)`. It must work for any
    input size (the check also tries 32x32 colour images) and any number of classes.
    """, "md-lenet"),
    solution("""
    def build_lenet5(input_shape, num_classes, activation="sigmoid"):
        \"\"\"LeNet-5: conv 5x5 -> avg pool -> conv 5x5 -> avg pool -> 120 -> 84 -> num_classes.\"\"\"
        ### BEGIN SOLUTION
        return keras.Sequential([
            keras.Input(shape=input_shape),
            layers.Conv2D(6, 5, padding="same", activation=activation),
            layers.AveragePooling2D(pool_size=2, strides=2),
            layers.Conv2D(16, 5, padding="valid", activation=activation),
            layers.AveragePooling2D(pool_size=2, strides=2),
            layers.Flatten(),
            layers.Dense(120, activation=activation),
            layers.Dense(84, activation=activation),
            layers.Dense(num_classes, activation="softmax"),
        ], name="lenet5")
        ### END SOLUTION
    """, "build_lenet5"),
    tests("""
    checks.check_build_lenet5(build_lenet5)
    ### BEGIN HIDDEN TESTS
    _m = build_lenet5((28, 28, 1), 10, "relu")
    assert _m.count_params() == 61706, _m.count_params()
    assert [l.count_params() for l in _m.layers] == [156, 0, 2416, 0, 0, 48120, 10164, 850]
    assert build_lenet5((32, 32, 3), 5, "tanh").count_params() == 456 + 2416 + 69240 + 10164 + 425
    ### END HIDDEN TESTS
    """, "test_build_lenet5", points=3),
    code("""
    lenet = build_lenet5((28, 28, 1), 10, "relu")
    lenet.summary()
    """),
    markdown("""
    ## 2. Training

    **Exercise 2.** Write `train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size)`:

    * compile the model with the **Adam** optimiser (learning rate `0.001`), the loss
      `"sparse_categorical_crossentropy"` (labels are integers, the model outputs probabilities)
      and `metrics=["accuracy"]`;
    * fit it for `epochs` epochs with `batch_size`, validating on `(x_val, y_val)` after every epoch,
      with `verbose=0` (the checks train quietly);
    * return the `History` that `fit` returns.

    The check builds a fresh ReLU LeNet-5 with your `build_lenet5`, trains it with your `train_model`
    on digits it chooses, and measures the accuracy on digits that it held out.
    """, "md-train"),
    solution("""
    def train_model(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        \"\"\"Compile `model` (Adam 1e-3, sparse cross-entropy, accuracy), fit it, return the History.\"\"\"
        ### BEGIN SOLUTION
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                         batch_size=batch_size, verbose=0)
        ### END SOLUTION
    """, "train_model"),
    tests("""
    checks.check_train_model(train_model, build_lenet5)
    """, "test_train_model", points=1),
    markdown("""
    Now train LeNet-5 (ReLU) on the training digits and look at the curves. `set_seed` makes the
    run repeatable: same seed, same weights, same curves.
    """, "md-train-run"),
    code("""
    runtime.set_seed(0)
    lenet = build_lenet5((28, 28, 1), 10, "relu")
    history_relu = train_model(lenet, x_train, y_train, x_val, y_val, BUDGET.epochs, BUDGET.batch_size)
    fig = plots.plot_history(history_relu, title="LeNet-5 (ReLU) on digits")
    plt.show()
    """, "train-run"),
    markdown("""
    The graded run. It retrains from scratch with your two functions (your curves above do not
    count), prints the held-out accuracy and the bar, and earns full points at the bar, half of
    them in the band just below it.
    """, "md-graded-run"),
    tests("""
    lenet_accuracy = checks.check_lenet_accuracy(build_lenet5, train_model)
    ### BEGIN HIDDEN TESTS
    from autograder.calibration import grade
    grade("lab4-first-cnn", "lenet", lenet_accuracy, points=4, what="LeNet-5 held-out accuracy")
    ### END HIDDEN TESTS
    """, "test_lenet_accuracy", points=4),
    markdown("""
    ## 3. The overfitting sanity check

    Before training on a whole dataset, check that the model and the training loop can **memorise a
    handful of examples**: with 32 digits and enough steps, training accuracy must reach 100% and
    the loss must fall towards zero. If it does not, something is broken (a wrong loss, labels that do
    not match the images, a learning rate far off, an activation that stalls) and training on more
    data will not fix it.

    Run it on your own model and training function below: pick a few training digits, train on
    them (using eight of them as "validation", so both curves are about memorising) and watch the
    accuracy climb to 1.0.
    """, "md-overfit"),
    code("""
    OVERFIT = runtime.budget("lab4.overfit")
    x_tiny, y_tiny = data.stratified_subsample(x_train_all, y_train_all, OVERFIT.samples, seed=0)
    runtime.set_seed(0)
    tiny_model = build_lenet5((28, 28, 1), 10, "relu")
    history_tiny = train_model(tiny_model, x_tiny, y_tiny, x_tiny[:8], y_tiny[:8], OVERFIT.epochs, OVERFIT.batch_size)
    fig = plots.plot_history(history_tiny, title=f"{OVERFIT.samples} digits, memorised")
    plt.show()
    """, "overfit-run"),
    tests("""
    tiny_accuracy = checks.check_overfit_tiny(build_lenet5, train_model)
    ### BEGIN HIDDEN TESTS
    from autograder.calibration import grade
    grade("lab4-first-cnn", "overfit", tiny_accuracy, points=2, what="accuracy on the memorised digits")
    ### END HIDDEN TESTS
    """, "test_overfit", points=2),
    markdown("""
    ## 4. Sigmoid or ReLU?

    The same LeNet-5, the same data, the same budget: only the activation changes. The sigmoid
    saturates (its slope is at most 0.25 and nearly 0 for large inputs), so gradients shrink layer
    after layer and training starts slowly. ReLU passes gradients through unchanged wherever it is
    active, which is why the lecture's best-practice list says "use ReLU, don't use sigmoid".
    """, "md-activations"),
    code("""
    runtime.set_seed(0)
    lenet_sigmoid = build_lenet5((28, 28, 1), 10, "sigmoid")
    history_sigmoid = train_model(lenet_sigmoid, x_train, y_train, x_val, y_val, BUDGET.epochs, BUDGET.batch_size)
    fig = plots.compare_histories({"ReLU": history_relu, "sigmoid": history_sigmoid}, metric="val_accuracy",
                                  title="LeNet-5: held-out accuracy per epoch")
    plt.show()
    """, "activations"),
    markdown("""
    ## 5. Where does the network go wrong?

    One accuracy number hides *which* mistakes are made. A **confusion matrix** counts, for every
    true class (row), how often each class was predicted (column). Normalised by rows, entry
    $(i, j)$ is the share of digits $i$ classified as $j$: the diagonal holds each class's recall
    and everything off the diagonal is a confusion.
    """, "md-confusion"),
    code("""
    y_pred = lenet.predict(x_test, verbose=0).argmax(axis=1)
    cm_fig = plots.confusion_matrix(y_test, y_pred, class_names=digits.target_names,
                                    title="LeNet-5 (ReLU), held-out digits")
    plt.show()
    cm = cm_fig.matrix
    """, "confusion"),
    markdown("""
    **Exercise 3.** Write `most_confused_pair(cm)`: given a (row-normalised) confusion matrix, return
    `(true_class, predicted_class)` of its largest entry **off** the diagonal, as two ints. Then use
    it to answer: which digit does *your* network most often mistake for which?
    """, "md-pair"),
    solution("""
    def most_confused_pair(cm):
        \"\"\"(true, predicted) of the largest off-diagonal entry of a confusion matrix.\"\"\"
        ### BEGIN SOLUTION
        off = np.array(cm, dtype=float)
        np.fill_diagonal(off, -np.inf)
        true_class, predicted_class = np.unravel_index(np.argmax(off), off.shape)
        return int(true_class), int(predicted_class)
        ### END SOLUTION
    """, "most_confused_pair"),
    tests("""
    checks.check_most_confused_pair(most_confused_pair)
    """, "test_most_confused_pair", points=2),
    code("""
    my_pair = most_confused_pair(cm)
    print(f"Most often, a true {my_pair[0]} is predicted as {my_pair[1]} "
          f"({cm[my_pair]:.0%} of the {my_pair[0]}s).")
    """, "my-pair"),
    tests("""
    # Your answer must come from your own network's confusion matrix.
    assert isinstance(my_pair, tuple) and len(my_pair) == 2, "my_pair should be a (true, predicted) pair"
    ### BEGIN HIDDEN TESTS
    from sklearn.metrics import confusion_matrix as _cmf
    _m = _cmf(y_test, lenet.predict(x_test, verbose=0).argmax(axis=1), labels=range(10)).astype(float)
    _m = _m / _m.sum(axis=1, keepdims=True)
    np.fill_diagonal(_m, -1.0)
    assert tuple(int(v) for v in my_pair) == tuple(int(v) for v in np.unravel_index(np.argmax(_m), _m.shape))
    ### END HIDDEN TESTS
    """, "test_my_pair", points=1),
    markdown("""
    Look at a few of those mistakes: are they digits a person would also hesitate over?
    """, "md-mistakes"),
    code("""
    wrong = np.flatnonzero((y_test == my_pair[0]) & (y_pred == my_pair[1]))[:8]
    if len(wrong):
        fig = plots.image_grid(x_test[wrong], titles=[f"{my_pair[0]} as {my_pair[1]}"] * len(wrong),
                               ncols=8, size=1.3)
        plt.show()
    """),
    markdown("""
    ## 6. Optional: the real MNIST (or Fashion-MNIST)

    Where the course's data directory holds MNIST or Fashion-MNIST, the same model trains on the real
    thing. Nothing is downloaded here: without the files, the cell says so and moves on.
    """, "md-mnist"),
    code("""
    for loader in (data.load_mnist, data.load_fashion_mnist):
        try:
            big = loader(subset="train", download=False)
            test_big = loader(subset="test", download=False)
        except data.DatasetNotFoundError:
            print(f"{loader.__name__}: not on this machine (see the course's data directory); skipped.")
            continue
        n = BUDGET.samples * 5 if BUDGET.samples else len(big.target)
        runtime.set_seed(0)
        m = build_lenet5((28, 28, 1), 10, "relu")
        train_model(m, big.images[:n], big.target[:n], test_big.images[:2000], test_big.target[:2000],
                    BUDGET.epochs, 128)
        acc = (m.predict(test_big.images, verbose=0).argmax(1) == test_big.target).mean()
        print(f"{loader.__name__}: {n} training images, test accuracy {acc:.3f}")
        break
    """, "mnist"),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
