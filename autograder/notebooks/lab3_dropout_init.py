"""Build source/lab3-dropout-init/lab3-dropout-init.ipynb (run: python -m autograder.notebooks.lab3_dropout_init)."""

import textwrap

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab3-dropout-init"

# The experiment's training code: shown to students as it is, and run by the
# test that shows the graded answer holds across seeds (run_experiment below).
EXPERIMENT = """
from cnncourse import data, runtime

budget = runtime.budget("lab3.dropout")
x, y = data.load_digits(return_X_y=True)
x = x.reshape(len(x), -1)  # 64 pixel values per digit
(x_train, y_train), (x_val, y_val) = data.train_val_split(x, y, val_fraction=0.3, seed=0)
x_train, y_train = data.stratified_subsample(x_train, y_train, budget.samples, seed=0)


def train(dropout_rate, seed=SEED):
    runtime.set_seed(seed)
    model = build_net(dropout_rate)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=budget.epochs,
                     batch_size=budget.batch_size, verbose=0)


histories = {"no dropout": train(0.0), "dropout 0.5": train(0.5)}
"""


def run_experiment(build_net, seed=0):
    """Run the notebook's experiment with ``build_net`` and a seed; return the histories dict."""
    namespace = {"build_net": build_net, "SEED": seed}
    exec(textwrap.dedent(EXPERIMENT), namespace)
    return {k: v.history for k, v in namespace["histories"].items()}


CELLS = [
    markdown("""
    # Lab 3: Initialisation, backpropagation and dropout

    Three pieces of machinery decide whether a deep network trains at all and whether it
    generalises:

    1. **initialisation**: weights drawn at the right scale keep the signal alive through many
       layers (`xavier_uniform`, `he_normal`);
    2. **backpropagation** through convolution and pooling layers (`conv2d_backward`,
       `pool2d_backward`), plus a question from the lecture's self-test;
    3. **dropout**, written by hand (`dropout_forward`) and then tried in Keras on the digits, where
       you judge from your own training curves which network overfits.

    Run each check cell after you write a function: it prints a ✔ line, or says what it expected
    and what it found. Hidden tests run more cases when the lab is graded.
    """, "intro"),
    code("""
    import numpy as np
    import matplotlib.pyplot as plt

    from cnncourse import plots
    from cnncourse.checks import lab3 as checks

    np.set_printoptions(precision=4, suppress=True)
    SEED = 0
    """, "imports"),
    markdown("""
    ## 1. Initialisation

    A layer computes $o_i = \\sum_{j=1}^{n_\\text{in}} w_{ij} x_j$. If the weights are independent
    with mean 0 and variance $\\sigma^2$, and the inputs have mean 0 and variance $\\gamma^2$, then

    $$\\operatorname{Var}[o_i] = n_\\text{in}\\, \\sigma^2 \\gamma^2 .$$

    Every layer multiplies the variance by $n_\\text{in} \\sigma^2$. Unless that factor is 1, the
    signal grows or shrinks **geometrically** with depth. The figure pushes random inputs through 20
    linear layers of width 256 with two naive choices: $\\sigma = 1$ and $\\sigma = 0.01$.
    """, "md-init"),
    code("""
    naive = {"N(0, 1)": lambda n_in, n_out, rng: rng.normal(0, 1.0, (n_in, n_out)),
             "N(0, 0.01^2)": lambda n_in, n_out, rng: rng.normal(0, 0.01, (n_in, n_out))}
    for name, init in naive.items():
        plt.plot(np.arange(1, 21), checks.signal_through_stack(init, "linear"), "o-", ms=3, label=name)
    plt.yscale("log"); plt.xlabel("layer"); plt.ylabel("mean square / first layer's")
    plt.title("naive initialisation: the signal explodes or vanishes"); plt.grid(alpha=0.3); plt.legend(); plt.show()
    """),
    markdown("""
    **Xavier (Glorot) initialisation** keeps the variance of the forward signal ($n_\\text{in}\\sigma^2 = 1$)
    and of the backward gradients ($n_\\text{out}\\sigma^2 = 1$) as close to fixed as one $\\sigma$ can:
    $\\tfrac12 (n_\\text{in} + n_\\text{out})\\, \\sigma^2 = 1$, i.e. $\\sigma^2 = 2 / (n_\\text{in} + n_\\text{out})$.
    Drawn from a uniform distribution $U(-a, a)$, whose variance is $a^2/3$, that means

    $$a = \\sqrt{\\frac{6}{n_\\text{in} + n_\\text{out}}} .$$

    **He initialisation** is for ReLU layers: a ReLU zeroes half of its inputs, halving the signal's
    mean square, so He doubles the variance and uses only $n_\\text{in}$: $w \\sim N(0,\\ 2 / n_\\text{in})$.

    **Exercise 1.** Write `xavier_uniform(n_in, n_out, rng)` and `he_normal(n_in, n_out, rng)`. Each
    returns an array of shape `(n_in, n_out)` drawn with the NumPy generator `rng`
    (`rng.uniform(low, high, size)`, `rng.normal(mean, std, size)`). The check draws tens of thousands
    of weights and accepts a sample variance within 5 standard errors of the formula's (for $N$ values
    the standard error is about $\\sigma^2\\sqrt{0.8/N}$ for a uniform and $\\sigma^2\\sqrt{2/N}$ for a
    normal distribution), then runs 20 layers and wants the signal to stay within a factor of 4.
    """, "md-init-ex"),
    solution("""
    def xavier_uniform(n_in, n_out, rng):
        \"\"\"Glorot/Xavier uniform weights of shape (n_in, n_out).\"\"\"
        ### BEGIN SOLUTION
        a = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-a, a, size=(n_in, n_out))
        ### END SOLUTION


    def he_normal(n_in, n_out, rng):
        \"\"\"He normal weights of shape (n_in, n_out): N(0, 2 / n_in).\"\"\"
        ### BEGIN SOLUTION
        return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        ### END SOLUTION
    """, "initialisers"),
    tests("""
    checks.check_initialisers(xavier_uniform, he_normal)
    ### BEGIN HIDDEN TESTS
    _w = xavier_uniform(500, 300, np.random.default_rng(7))
    assert _w.shape == (500, 300) and np.abs(_w).max() <= np.sqrt(6 / 800)
    assert abs(_w.var() / (2 / 800) - 1) < 5 * np.sqrt(0.8 / _w.size)
    _w = he_normal(400, 200, np.random.default_rng(8))
    assert _w.shape == (400, 200) and abs(_w.var() / (2 / 400) - 1) < 5 * np.sqrt(2 / _w.size)
    ### END HIDDEN TESTS
    """, "test_initialisers", points=3),
    code("""
    try:
        runs = {"Xavier, linear": (xavier_uniform, "linear"), "He, ReLU": (he_normal, "relu"),
                "Xavier, ReLU": (xavier_uniform, "relu"), "N(0, 0.01^2), ReLU": (naive["N(0, 0.01^2)"], "relu")}
        for name, (init, act) in runs.items():
            plt.plot(np.arange(1, 21), checks.signal_through_stack(init, act), "o-", ms=3, label=name)
        plt.axhspan(0.25, 4, color="g", alpha=0.1, label="the check's band")
        plt.yscale("log"); plt.xlabel("layer"); plt.ylabel("mean square / first layer's")
        plt.title("20 layers of width 256"); plt.grid(alpha=0.3); plt.legend(); plt.show()
    except NotImplementedError:
        print("Write the initialisers first.")
    """),
    markdown("""
    Xavier keeps a linear stack steady; in a ReLU stack it loses half the signal per layer, which
    is exactly what He's factor 2 repairs.

    ## 2. Backpropagation through convolution and pooling

    The locked cell below gives you forward passes (you wrote them in lab 1). Each returns the output
    and a `cache` holding what the backward pass needs. Given `dout` $= \\partial L / \\partial y$,
    a backward pass returns the gradient with respect to each input.

    For the convolution $y[n,i,j,k] = b[k] + \\sum_{a,c,d} x_p[n, iS+a, jS+c, d]\\, w[a,c,d,k]$:

    * $\\partial L/\\partial b[k]$ sums `dout[..., k]` over the batch and all positions;
    * $\\partial L/\\partial w[a,c,d,k] = \\sum_{n,i,j} x_p[n, iS+a, jS+c, d]\\; \\text{dout}[n,i,j,k]$: a
      correlation of the input with `dout`;
    * every input pixel of a window receives $w \\cdot \\text{dout}$ from every output that read it:
      loop over output positions and **add** `dout[:, i, j, :]` times the filters into the window of
      $\\partial L/\\partial x_p$ (a full convolution of `dout` with the filters), then cut the padding off.
    """, "md-backprop"),
    code("""
    def conv2d_forward(x, w, b, stride=1, pad=0):
        \"\"\"Convolution, NHWC. Returns (y, cache).\"\"\"
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        f = w.shape[0]
        h_out, w_out = (xp.shape[1] - f) // stride + 1, (xp.shape[2] - f) // stride + 1
        y = np.empty((x.shape[0], h_out, w_out, w.shape[3]))
        for i in range(h_out):
            for j in range(w_out):
                patch = xp[:, i * stride:i * stride + f, j * stride:j * stride + f, :]
                y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2])) + b
        return y, (x, w, b, stride, pad)


    def pool2d_forward(x, size, stride, mode="max"):
        \"\"\"Max or average pooling, NHWC, no padding. Returns (y, cache).\"\"\"
        h_out, w_out = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
        reduce = np.max if mode == "max" else np.mean
        y = np.empty((x.shape[0], h_out, w_out, x.shape[3]))
        for i in range(h_out):
            for j in range(w_out):
                y[:, i, j, :] = reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size, :],
                                       axis=(1, 2))
        return y, (x, size, stride, mode)
    """, "forward-passes"),
    markdown("""
    **Exercise 2.** Write `conv2d_backward(dout, cache)` returning `(dx, dw, db)` with the shapes of
    `x`, `w` and `b`. The check compares with `tf.GradientTape` on `tf.nn.conv2d` in float64 (relative
    error below $10^{-7}$; a correct float64 answer is near $10^{-15}$) and with centred finite
    differences through `conv2d_forward` (below $10^{-6}$: the difference quotient of a linear
    function is exact up to rounding). The relative error is $\\max |a - b| / (|a| + |b|)$.
    """, "md-conv-back"),
    solution("""
    def conv2d_backward(dout, cache):
        \"\"\"Gradients (dx, dw, db) of a convolution, given dout = dL/dy.\"\"\"
        x, w, b, stride, pad = cache
        ### BEGIN SOLUTION
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        dxp = np.zeros_like(xp, dtype=float)
        dw = np.zeros_like(w, dtype=float)
        f = w.shape[0]
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                rows = slice(i * stride, i * stride + f)
                cols = slice(j * stride, j * stride + f)
                g = dout[:, i, j, :]  # (N, K)
                dw += np.tensordot(xp[:, rows, cols, :], g, axes=([0], [0]))
                dxp[:, rows, cols, :] += np.tensordot(g, w, axes=([1], [3]))
        dx = dxp[:, pad:pad + x.shape[1], pad:pad + x.shape[2], :]
        db = dout.sum(axis=(0, 1, 2))
        return dx, dw, db
        ### END SOLUTION
    """, "conv2d_backward"),
    tests("""
    checks.check_conv2d_backward(conv2d_backward, conv2d_forward)
    ### BEGIN HIDDEN TESTS
    _y, _cache = conv2d_forward(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)), np.zeros(1))
    _dx, _dw, _db = conv2d_backward(np.ones_like(_y), _cache)
    assert np.allclose(_dx[0, :, :, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert np.allclose(_dw, 4) and np.allclose(_db, [4])
    ### END HIDDEN TESTS
    """, "test_conv2d_backward", points=4),
    markdown("""
    Pooling has no weights, only `dx`:

    * **max**: each window's gradient goes to the input that was the maximum (the others did not
      affect the output);
    * **avg**: each input of a window receives $\\text{dout} / (\\text{size}^2)$.

    When the stride is smaller than the window, windows overlap and an input collects gradient from
    several of them: accumulate with `+=`.

    **Exercise 3.** Write `pool2d_backward(dout, cache)` returning `dx`, for both modes. Same
    oracles and limits as exercise 2.
    """, "md-pool-back"),
    solution("""
    def pool2d_backward(dout, cache):
        \"\"\"Gradient dx of max or average pooling, given dout = dL/dy.\"\"\"
        x, size, stride, mode = cache
        ### BEGIN SOLUTION
        dx = np.zeros_like(x, dtype=float)
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                rows = slice(i * stride, i * stride + size)
                cols = slice(j * stride, j * stride + size)
                g = dout[:, i, j, :][:, None, None, :]
                window = x[:, rows, cols, :]
                if mode == "max":
                    dx[:, rows, cols, :] += (window == window.max(axis=(1, 2), keepdims=True)) * g
                else:
                    dx[:, rows, cols, :] += g / (size * size)
        return dx
        ### END SOLUTION
    """, "pool2d_backward"),
    tests("""
    checks.check_pool2d_backward(pool2d_backward, pool2d_forward)
    ### BEGIN HIDDEN TESTS
    _x = np.arange(16.0).reshape(1, 4, 4, 1)
    _y, _cache = pool2d_forward(_x, 2, 2, "max")
    _dx = pool2d_backward(np.ones_like(_y), _cache)
    assert np.allclose(_dx[0, :, :, 0], [[0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1]])
    _y, _cache = pool2d_forward(_x, 2, 2, "avg")
    assert np.allclose(pool2d_backward(np.ones_like(_y), _cache), 0.25)
    ### END HIDDEN TESTS
    """, "test_pool2d_backward", points=3),
    markdown("""
    ### Self-test from the lecture

    Look at what your `conv2d_backward` computes for one filter: how many convolution-like sweeps
    over the data does it make, and which of them would the **first** layer of a network not need
    (nothing below it wants a gradient)?

    *"For each traditional convolutional layer in a CNN, there are two convolutions per filter in
    the layer during back propagation."*

    * **A.** False. There is a single convolution needed during back propagation for each filter.
    * **B.** False. The first convolutional layer has only one convolution needed, but all others have two per filter.
    * **C.** True. The filter weights are updated through two convolutions, one for each dimension.
    * **D.** True. One convolution is needed for pooling, and the other for filter weight updates.

    **Exercise 4.** Set `selftest_answer` to the letter of the right statement.
    """, "md-selftest"),
    solution("""
    # Replace the two lines below with:  selftest_answer = "<your letter>"
    ### BEGIN SOLUTION
    selftest_answer = "B"
    ### END SOLUTION
    """, "selftest"),
    tests("""
    checks.check_choice(selftest_answer)
    ### BEGIN HIDDEN TESTS
    assert selftest_answer.strip().upper() == "B", "dw takes one convolution per filter, dx another; layer 1 needs no dx"
    ### END HIDDEN TESTS
    """, "test_selftest", points=1),
    markdown("""
    ## 3. Dropout

    During training, dropout replaces each activation $h$ by a random $h'$:

    $$h' = \\begin{cases} 0 & \\text{with probability } p \\\\ \\dfrac{h}{1-p} & \\text{otherwise} \\end{cases}$$

    $p$ is the probability of **dropping** a unit (Keras' `Dropout(rate=p)` means the same). Scaling
    the kept units by $1/(1-p)$ ("inverted dropout") keeps the expectation: $E[h'] = (1-p)\\cdot\\frac{h}{1-p} = h$,
    so at test time the layer does nothing at all. Because no unit can rely on any other being there,
    the network cannot build fragile co-adaptations and has to spread what it knows.

    **Exercise 5.** Write `dropout_forward(h, p, training, rng)`: with `training=False` return `h`
    unchanged; otherwise draw an independent keep/drop decision for every entry with `rng` and
    return a new array. Raise `ValueError` unless $0 \\le p < 1$.
    """, "md-dropout"),
    solution("""
    def dropout_forward(h, p, training, rng):
        \"\"\"Inverted dropout: drop each unit with probability p, scale the rest by 1 / (1 - p).\"\"\"
        ### BEGIN SOLUTION
        if not 0 <= p < 1:
            raise ValueError(f"the drop probability p must be in [0, 1), got {p}")
        h = np.asarray(h, dtype=float)
        if not training or p == 0:
            return h.copy()
        keep = rng.random(h.shape) >= p
        return np.where(keep, h / (1 - p), 0.0)
        ### END SOLUTION
    """, "dropout_forward"),
    tests("""
    checks.check_dropout_forward(dropout_forward)
    ### BEGIN HIDDEN TESTS
    _h = np.ones((100, 100))
    _out = dropout_forward(_h, 0.5, True, np.random.default_rng(3))
    assert set(np.unique(_out)) <= {0.0, 2.0} and 0.45 < (_out == 0).mean() < 0.55
    assert np.array_equal(dropout_forward(_h, 0.7, False, np.random.default_rng(3)), _h)
    for _p in (1, 2, -0.5):
        try:
            dropout_forward(_h, _p, True, np.random.default_rng(0))
            raise AssertionError(f"p={_p} must raise ValueError")
        except ValueError:
            pass
    ### END HIDDEN TESTS
    """, "test_dropout_forward", points=3),
    markdown("""
    One digit under dropout: a single draw looks badly damaged, but the average of many draws is the
    original image again: the expectation is preserved.
    """, "md-dropout-see"),
    code("""
    from cnncourse import data

    digit = data.load_digits(size=28).images[0, :, :, 0]
    try:
        rng = np.random.default_rng(SEED)
        shown = [digit] + [dropout_forward(digit, p, True, rng) for p in (0.3, 0.6, 0.9)]
        shown.append(np.mean([dropout_forward(digit, 0.6, True, rng) for _ in range(300)], axis=0))
        fig = plots.image_grid(shown, titles=["original", "p = 0.3", "p = 0.6", "p = 0.9", "mean of 300, p = 0.6"],
                               ncols=5, size=2.2)
        plt.show()
    except NotImplementedError:
        print("Write dropout_forward first.")
    """),
    markdown("""
    ## 4. Dropout against overfitting: an experiment

    A network with many weights and few training examples learns its training set by heart: the
    training loss keeps falling while the validation loss stalls or rises. Here a small
    fully connected network learns the 8x8 digits from a few hundred examples, once without and
    once with dropout.

    **Exercise 6.** Write `build_net(dropout_rate)` returning a Keras `Sequential` model:
    `keras.Input(shape=(64,))`, then `Dense(256, activation="relu")`, `Dropout(dropout_rate)`,
    `Dense(256, activation="relu")`, `Dropout(dropout_rate)`, `Dense(10, activation="softmax")`.
    (A `Dropout` with rate 0 does nothing, so the same function builds both networks.)
    """, "md-experiment"),
    solution("""
    import keras


    def build_net(dropout_rate):
        \"\"\"The experiment's fully connected network on flattened 8x8 digits.\"\"\"
        ### BEGIN SOLUTION
        return keras.Sequential([
            keras.Input(shape=(64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(dropout_rate),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(dropout_rate),
            keras.layers.Dense(10, activation="softmax"),
        ])
        ### END SOLUTION
    """, "build_net"),
    tests("""
    checks.check_build_net(build_net)
    ### BEGIN HIDDEN TESTS
    assert build_net(0.25).count_params() == 65 * 256 + 257 * 256 + 257 * 10
    ### END HIDDEN TESTS
    """, "test_build_net", points=2),
    markdown("""
    The next cell trains both networks with the same seed, data and budget (`runtime.budget("lab3.dropout")`:
    a few hundred training examples; 30% of the digits are held out for validation). It takes well
    under a minute on a laptop.
    """, "md-train"),
    code(textwrap.dedent(EXPERIMENT).strip("\n") + "\n\n" + textwrap.dedent("""
    for name, h in histories.items():
        fig = plots.plot_history(h, title=name)
        plt.show()
    """)),
    markdown("""
    Plotted side by side, the validation loss tells the story: without dropout the training loss
    drops towards zero while the validation loss levels off far above it.
    """, "md-compare"),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, (name, h) in zip(axes, histories.items()):
        epochs = np.arange(1, len(h.history["loss"]) + 1)
        ax.plot(epochs, h.history["loss"], "o-", ms=3, label="training loss")
        ax.plot(epochs, h.history["val_loss"], "s--", ms=3, label="validation loss")
        ax.fill_between(epochs, h.history["loss"], h.history["val_loss"], alpha=0.15, label="gap")
        ax.set_title(name); ax.set_xlabel("epoch"); ax.grid(alpha=0.3); ax.legend()
    axes[0].set_ylabel("loss"); fig.tight_layout(); plt.show()
    """),
    markdown("""
    **Exercise 7.** Measure overfitting from the curves and answer the question *which network
    overfits more?* from your own runs, not from a guess:

    * `overfit_gap(history, last=5)`: the mean of `val_loss - loss` over the last `last` epochs
      (`history` is a Keras `History` or its `.history` dict);
    * `which_overfits(histories)`: the key of the dict `histories` whose history has the largest gap.

    The check tests both on made-up histories and then on your `histories`; the hidden test also
    checks what your runs show.
    """, "md-gap"),
    solution("""
    def overfit_gap(history, last=5):
        \"\"\"Mean of val_loss - loss over the last `last` epochs.\"\"\"
        ### BEGIN SOLUTION
        h = history.history if hasattr(history, "history") else history
        return float(np.mean(np.asarray(h["val_loss"][-last:]) - np.asarray(h["loss"][-last:])))
        ### END SOLUTION


    def which_overfits(histories):
        \"\"\"Name of the run with the largest train/validation gap.\"\"\"
        ### BEGIN SOLUTION
        return max(histories, key=lambda name: overfit_gap(histories[name]))
        ### END SOLUTION


    print({name: round(overfit_gap(h), 3) for name, h in histories.items()}, "->", which_overfits(histories))
    """, "overfit_gap"),
    tests("""
    checks.check_overfit_gap(overfit_gap, which_overfits, histories)
    ### BEGIN HIDDEN TESTS
    _gaps = {k: checks.reference_gap(v) for k, v in histories.items()}
    assert which_overfits(histories) == max(_gaps, key=_gaps.get)
    assert which_overfits(histories) == "no dropout", _gaps
    assert abs(overfit_gap(histories["no dropout"]) - _gaps["no dropout"]) < 1e-9
    ### END HIDDEN TESTS
    """, "test_overfit_gap", points=3),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
