"""Build source/lab2-arithmetic/lab2-arithmetic.ipynb (run: python -m autograder.notebooks.lab2_arithmetic)."""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab2-arithmetic"

CELLS = [
    markdown("""
    # Lab 2: The arithmetic of convolutional layers

    Before you train a network you should be able to say, on paper, what shape every layer
    produces and how many weights it holds. Those two numbers decide whether a design fits in
    memory, how long it takes to train and where its parameters hide.

    In this lab you write small functions for that arithmetic, and every check compares your
    answer with what **Keras actually builds**: it creates the real layer or model and reads its
    output shape and `count_params()`. Keras cannot drift from the truth, so neither can the grading.

    1. `conv_output_size`: the spatial size after a convolution (stride, padding, dilation);
    2. `conv_params`, `dense_params`: the parameters of one layer;
    3. `model_table`: shape and parameters of every layer of LeNet-5 and a mini-AlexNet;
    4. `bottleneck_params`: how a 1x1 layer makes a 3x3 layer cheaper;
    5. `inception_output_shape`, `inception_multiplies`: GoogLeNet's inception module;
    6. `separable_params`, `separable_ratio`: depthwise-separable convolutions (Xception);
    7. `receptive_field`: how much of the image a stack of layers sees;
    8. `fire_filters`, `fire_params`: SqueezeNet's fire module.

    Every answer is a whole number: use integer arithmetic (`//`) where a division must come
    out exact, and never return floats like `55.0`.
    """, "intro"),
    code("""
    import math

    import numpy as np
    import matplotlib.pyplot as plt

    from cnncourse.checks import lab2 as checks
    """, "imports"),
    markdown("""
    ## 1. Output size

    A filter of size $F$ slides over an input of size $N$ (padded with $P$ zeros on **both** sides)
    in steps of $S$ pixels. The number of positions it takes is

    $$N_\\text{out} = \\frac{N - F + 2P}{S} + 1 .$$

    When $N - F + 2P$ is not a multiple of $S$ the filter does not fit evenly: the last step would
    hang over the edge. The lecture's example: a 3x3 filter on a 7x7 input fits with stride 1
    (5 positions) and stride 2 (3 positions), but not with stride 3. The picture shows where the
    filter's left edge lands along one row.
    """, "md-size"),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(11, 1.8))
    for ax, stride in zip(axes, [1, 2, 3]):
        starts = np.arange(0, 7, stride)
        for x in range(7):
            ax.add_patch(plt.Rectangle((x, 0), 1, 1, fill=False, ec="0.6"))
        for i, s in enumerate(starts):
            fits = s + 3 <= 7
            ax.add_patch(plt.Rectangle((s + 0.05, 0.1 + 0.25 * (i % 2)), 2.9, 0.5, alpha=0.35,
                                       color="tab:blue" if fits else "tab:red"))
        ax.set_xlim(-0.2, 9.5); ax.set_ylim(-0.1, 1.1); ax.axis("off")
        ax.set_title(f"stride {stride}: " + ("fits" if (7 - 3) % stride == 0 else "does not fit (red)"))
    plt.show()
    """),
    markdown("""
    Two refinements:

    * **Dilation** $D$ spreads the $F$ taps of a filter $D$ pixels apart, so the filter spans
      $D(F-1)+1$ pixels: use that span in place of $F$.
    * Keras also takes `padding="valid"` (no padding; an uneven last step is silently dropped,
      i.e. the division is rounded **down**) and `padding="same"` (Keras pads just enough that
      the output has $\\lceil N / S \\rceil$ positions, whatever the filter).

    **Exercise 1.** Write `conv_output_size(n, f, stride=1, pad=0, dilation=1)`. `pad` is a number of
    zeros per side, `"valid"` or `"same"`. With a numeric `pad`, raise `ValueError` when the filter
    does not fit evenly or is larger than the padded input. With `"valid"` or `"same"`, follow Keras.
    """, "md-size-ex"),
    solution("""
    def conv_output_size(n, f, stride=1, pad=0, dilation=1):
        \"\"\"Spatial size of a convolution's output on an n-pixel side.\"\"\"
        ### BEGIN SOLUTION
        span = dilation * (f - 1) + 1
        if pad == "same":
            return -(-n // stride)
        if pad == "valid":
            if span > n:
                raise ValueError(f"a filter spanning {span} pixels does not fit in {n}")
            return (n - span) // stride + 1
        room = n - span + 2 * pad
        if room < 0:
            raise ValueError(f"a filter spanning {span} pixels does not fit in {n} + 2*{pad}")
        if room % stride:
            raise ValueError(f"(N - F + 2P) = {room} is not a multiple of the stride {stride}")
        return room // stride + 1
        ### END SOLUTION
    """, "conv_output_size"),
    tests("""
    checks.check_conv_output_size(conv_output_size)
    ### BEGIN HIDDEN TESTS
    assert conv_output_size(227, 11, stride=4) == 55
    assert conv_output_size(7, 3, stride=2) == 3 and conv_output_size(7, 3, pad=1) == 7
    assert conv_output_size(32, 5, pad=2) == 32 and conv_output_size(9, 3, dilation=2) == 5
    assert conv_output_size(10, 3, stride=3, pad="valid") == 3 and conv_output_size(10, 3, stride=3, pad="same") == 4
    try:
        conv_output_size(7, 3, stride=3)
        raise AssertionError("7x7 with a 3x3 filter at stride 3 must raise ValueError")
    except ValueError:
        pass
    ### END HIDDEN TESTS
    """, "test_conv_output_size", points=3),
    markdown("""
    ## 2. Parameters of one layer

    Each of the $K$ filters of a convolutional layer spans the **whole depth** $D_1$ of its input, so
    it has $F \\cdot F \\cdot D_1$ weights plus one bias: $(F F D_1 + 1)\\,K$ parameters in all. The
    lecture's example: ten 5x5 filters on a 32x32x3 input have $(5 \\cdot 5 \\cdot 3 + 1) \\cdot 10 = 760$
    parameters, however large the image. A dense layer from $n_\\text{in}$ to $n_\\text{out}$ units
    has a weight per pair and a bias per output.

    **Exercise 2.** Write `conv_params(f, d_in, k, bias=True)` and `dense_params(n_in, n_out, bias=True)`.
    With `bias=False` there are no biases.
    """, "md-params"),
    solution("""
    def conv_params(f, d_in, k, bias=True):
        \"\"\"Parameters of a Conv2D layer with k filters of size f x f on d_in channels.\"\"\"
        ### BEGIN SOLUTION
        return (f * f * d_in + (1 if bias else 0)) * k
        ### END SOLUTION


    def dense_params(n_in, n_out, bias=True):
        \"\"\"Parameters of a Dense layer from n_in to n_out units.\"\"\"
        ### BEGIN SOLUTION
        return (n_in + (1 if bias else 0)) * n_out
        ### END SOLUTION
    """, "layer_params"),
    tests("""
    checks.check_layer_params(conv_params, dense_params)
    ### BEGIN HIDDEN TESTS
    assert conv_params(5, 3, 10) == 760 and conv_params(5, 3, 10, bias=False) == 750
    assert conv_params(11, 3, 96) == 34944 and conv_params(1, 64, 32) == 2080
    assert dense_params(400, 120) == 48120 and dense_params(9216, 4096, bias=False) == 37748736
    ### END HIDDEN TESTS
    """, "test_layer_params", points=2),
    markdown("""
    ## 3. A whole model, layer by layer

    A model is described here as a list of layers, each a tuple:

    | tuple | layer |
    | --- | --- |
    | `("conv", k, f, stride, pad)` | `k` filters of size `f` x `f` (pad: a number, `"valid"` or `"same"`) |
    | `("pool", size, stride)` | max pooling, no padding, rounding down like Keras |
    | `("flatten",)` | flatten to a vector |
    | `("dense", units)` | a fully connected layer |

    LeNet-5 (below) takes a 28x28x1 digit: a 5x5 convolution with 6 filters (padded by 2, so the
    output stays 28x28), 2x2 pooling, a 5x5 convolution with 16 filters (10x10), pooling again, then
    dense layers of 120, 84 and 10 units. `checks.MINI_ALEXNET` follows AlexNet's pattern on a
    227x227x3 image (11x11 filters at stride 4, overlapping 3x3 pooling at stride 2) with fewer filters.

    **Exercise 3.** Write `model_table(spec, input_shape)`: for every layer of `spec`, a pair
    `(output_shape, params)` where `output_shape` is `(height, width, depth)` for conv and pool
    layers and `(units,)` for flatten and dense layers. Use your functions from exercises 1 and 2.
    """, "md-table"),
    code("""
    LENET5 = [("conv", 6, 5, 1, 2), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2), ("flatten",),
              ("dense", 120), ("dense", 84), ("dense", 10)]
    print(checks.MINI_ALEXNET)
    """, "lenet-spec"),
    solution("""
    def model_table(spec, input_shape):
        \"\"\"[(output_shape, params), ...], one row per layer of spec.\"\"\"
        ### BEGIN SOLUTION
        h, w, d = input_shape
        rows = []
        for layer in spec:
            kind = layer[0]
            if kind == "conv":
                _, k, f, stride, pad = layer
                h, w = conv_output_size(h, f, stride, pad), conv_output_size(w, f, stride, pad)
                rows.append(((h, w, k), conv_params(f, d, k)))
                d = k
            elif kind == "pool":
                _, size, stride = layer
                h, w = conv_output_size(h, size, stride, "valid"), conv_output_size(w, size, stride, "valid")
                rows.append(((h, w, d), 0))
            elif kind == "flatten":
                h, w, d = 1, 1, h * w * d
                rows.append(((d,), 0))
            elif kind == "dense":
                rows.append(((layer[1],), dense_params(d, layer[1])))
                d = layer[1]
            else:
                raise ValueError(f"unknown layer {layer}")
        return rows
        ### END SOLUTION
    """, "model_table"),
    tests("""
    checks.check_model_table(model_table)
    ### BEGIN HIDDEN TESTS
    _rows = model_table(LENET5, (28, 28, 1))
    assert [tuple(s) for s, _ in _rows][:4] == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]
    assert [p for _, p in _rows] == [156, 0, 2416, 0, 0, 48120, 10164, 850]
    _alex = model_table(checks.MINI_ALEXNET, (227, 227, 3))
    assert [tuple(s)[0] for s, _ in _alex[:8]] == [55, 27, 27, 13, 13, 13, 13, 6]
    ### END HIDDEN TESTS
    """, "test_model_table", points=3),
    markdown("""
    ### Where the parameters are

    The real AlexNet had 96, 256, 384, 384 and 256 filters and two dense layers of 4,096 units: about
    60 million parameters. Your table shows where they sit (note the logarithmic axis).
    """, "md-table-see"),
    code("""
    ALEXNET = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
               ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
               ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]
    models = [("LeNet-5", LENET5, (28, 28, 1)), ("AlexNet", ALEXNET, (227, 227, 3))]
    try:
        tables = [(name, spec, model_table(spec, shape)) for name, spec, shape in models]
    except NotImplementedError:
        tables = []
        print("Write model_table first.")
    if tables:
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
        for ax, (name, spec, rows) in zip(axes, tables):
            kept = [(f"{l[0]} {i + 1}", p, l[0]) for i, (l, (_, p)) in enumerate(zip(spec, rows)) if p > 0]
            ax.bar([k[0] for k in kept], [k[1] for k in kept],
                   color=["tab:orange" if k[2] == "dense" else "tab:blue" for k in kept])
            ax.set_yscale("log"); ax.set_ylabel("parameters"); ax.tick_params(axis="x", rotation=60)
            ax.set_title(f"{name}: {sum(p for _, p in rows):,} parameters")
        fig.tight_layout(); plt.show()
    """),
    markdown("""
    ## 4. 1x1 bottlenecks

    A 1x1 convolution mixes channels at every pixel without looking at neighbours: it can shrink
    a deep input before an expensive 3x3 layer. The lecture's example (weights only, no biases):
    32 filters of 3x3 on 256 channels cost $32 \\cdot 3 \\cdot 3 \\cdot 256 = 73{,}728$ weights; first
    reducing to 128 channels with a 1x1 layer costs $128 \\cdot 256 + 32 \\cdot 3 \\cdot 3 \\cdot 128 = 69{,}632$,
    and reducing to 64 only $34{,}816$.

    **Exercise 4.** Write `bottleneck_params(d_in, k, f=3, reduce=None)`: the weights (no biases) of
    `k` filters of size `f` on `d_in` channels, preceded when `reduce` is not `None` by a 1x1 layer
    with `reduce` filters.
    """, "md-bottleneck"),
    solution("""
    def bottleneck_params(d_in, k, f=3, reduce=None):
        \"\"\"Weights of an f x f layer with k filters, optionally behind a 1x1 reduction.\"\"\"
        ### BEGIN SOLUTION
        if reduce is None:
            return f * f * d_in * k
        return 1 * 1 * d_in * reduce + f * f * reduce * k
        ### END SOLUTION
    """, "bottleneck_params"),
    tests("""
    checks.check_bottleneck_params(bottleneck_params)
    ### BEGIN HIDDEN TESTS
    assert bottleneck_params(256, 32) == 73728
    assert bottleneck_params(256, 32, reduce=128) == 69632
    assert bottleneck_params(256, 32, reduce=64) == 34816
    assert bottleneck_params(64, 16, f=5, reduce=8) == 64 * 8 + 25 * 8 * 16
    ### END HIDDEN TESTS
    """, "test_bottleneck_params", points=2),
    markdown("""
    ## 5. The inception module

    GoogLeNet's inception module runs four branches side by side on the same input and stacks
    their outputs along the depth: a 1x1 convolution, a 3x3 convolution, a 5x5 convolution and a
    3x3 max pooling (stride 1). Every branch uses `"same"` padding and stride 1, so every output
    keeps the input's height and width. The lecture's example works on a 28x28x256 input with 128,
    192 and 96 filters: the concatenated output is 28x28x(128+192+96+256) = 28x28x672.

    Computing a conv layer's output takes, for each of its $H_\\text{out} W_\\text{out} K$ outputs,
    $F \\cdot F \\cdot D_\\text{in}$ multiplications. The naive module above needs about 854 million. The
    improved module puts 1x1 layers (`reduce3`, `reduce5` filters) before the 3x3 and 5x5
    convolutions and a 1x1 "projection" (`pool_proj` filters) after the pooling.

    **Exercise 5.** Write `inception_output_shape(size, d_in, n1x1, n3x3, n5x5, reduce3=None,
    reduce5=None, pool_proj=None)` and `inception_multiplies(...)` (same arguments) for a
    `size` x `size` x `d_in` input. `None` means that 1x1 layer is absent. Count only the
    multiplications of convolutions (pooling has none; ignore biases).
    """, "md-inception"),
    solution("""
    def inception_output_shape(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
        \"\"\"(height, width, depth) after concatenating the four branches.\"\"\"
        ### BEGIN SOLUTION
        pool_depth = pool_proj if pool_proj else d_in
        return (size, size, n1x1 + n3x3 + n5x5 + pool_depth)
        ### END SOLUTION


    def inception_multiplies(size, d_in, n1x1, n3x3, n5x5, reduce3=None, reduce5=None, pool_proj=None):
        \"\"\"Multiplications done by all the convolutions of an inception module.\"\"\"
        ### BEGIN SOLUTION
        def conv(f, depth, k):
            return size * size * k * f * f * depth

        total = conv(1, d_in, n1x1)
        total += conv(1, d_in, reduce3) + conv(3, reduce3, n3x3) if reduce3 else conv(3, d_in, n3x3)
        total += conv(1, d_in, reduce5) + conv(5, reduce5, n5x5) if reduce5 else conv(5, d_in, n5x5)
        if pool_proj:
            total += conv(1, d_in, pool_proj)
        return total
        ### END SOLUTION
    """, "inception"),
    tests("""
    checks.check_inception(inception_output_shape, inception_multiplies)
    ### BEGIN HIDDEN TESTS
    assert tuple(inception_output_shape(28, 256, 128, 192, 96)) == (28, 28, 672)
    assert tuple(inception_output_shape(28, 256, 128, 192, 96, 64, 64, 64)) == (28, 28, 480)
    assert inception_multiplies(28, 256, 128, 192, 96) == 854196224
    assert inception_multiplies(28, 256, 128, 192, 96, 64, 64, 64) == 271351808
    ### END HIDDEN TESTS
    """, "test_inception", points=3),
    markdown("""
    ### Reading the slide critically

    The lecture's slide of the improved module lists six layers and a total of **358M** operations.
    Your (Keras-checked) function gives about **271M**: the slide's total counts the 3x3 branch
    (28x28x192 outputs, each 3x3x64 multiplications: 86.7M) twice. Either way the point stands:
    the bottlenecks cut the cost by a factor of about three. Check a slide's arithmetic when you can.
    """, "md-inception-see"),
    code("""
    try:
        naive = inception_multiplies(28, 256, 128, 192, 96)
        better = inception_multiplies(28, 256, 128, 192, 96, reduce3=64, reduce5=64, pool_proj=64)
        print(f"naive:            {naive / 1e6:6.1f} M multiplications, output "
              f"{inception_output_shape(28, 256, 128, 192, 96)}")
        print(f"with bottlenecks: {better / 1e6:6.1f} M multiplications, output "
              f"{inception_output_shape(28, 256, 128, 192, 96, 64, 64, 64)}")
        print(f"the 3x3 branch alone: {28 * 28 * 192 * 9 * 64 / 1e6:.1f} M; yours plus it: "
              f"{(better + 28 * 28 * 192 * 9 * 64) / 1e6:.1f} M (the slide's figure)")
    except NotImplementedError:
        print("Write the inception functions first.")
    """),
    markdown("""
    ## 6. Separable convolutions

    Xception replaces a standard convolution by two cheaper steps:

    1. **depthwise**: one $F \\times F$ filter per input channel (or `depth_multiplier` $M$ of them),
       each looking at its own channel only: $F \\cdot F \\cdot D_1 \\cdot M$ weights;
    2. **pointwise**: $K$ 1x1 filters mixing the $D_1 M$ channels: $D_1 M K$ weights.

    Keras' `SeparableConv2D` adds biases only after the pointwise step ($K$ of them).

    **Exercise 6.** Write `separable_params(f, d_in, k, depth_multiplier=1, bias=True)` and
    `separable_ratio(f, d_in, k)`: separable parameters divided by standard-convolution parameters,
    both without biases, for `depth_multiplier=1`.
    """, "md-separable"),
    solution("""
    def separable_params(f, d_in, k, depth_multiplier=1, bias=True):
        \"\"\"Parameters of Keras' SeparableConv2D.\"\"\"
        ### BEGIN SOLUTION
        depthwise = f * f * d_in * depth_multiplier
        pointwise = d_in * depth_multiplier * k
        return depthwise + pointwise + (k if bias else 0)
        ### END SOLUTION


    def separable_ratio(f, d_in, k):
        \"\"\"Separable / standard parameter count (no biases).\"\"\"
        ### BEGIN SOLUTION
        return separable_params(f, d_in, k, bias=False) / conv_params(f, d_in, k, bias=False)
        ### END SOLUTION
    """, "separable"),
    tests("""
    checks.check_separable(separable_params, separable_ratio)
    ### BEGIN HIDDEN TESTS
    assert separable_params(3, 32, 64) == 9 * 32 + 32 * 64 + 64
    assert separable_params(3, 16, 32, depth_multiplier=2, bias=False) == 9 * 32 + 32 * 32
    assert abs(separable_ratio(3, 256, 256) - (1 / 256 + 1 / 9)) < 1e-12
    ### END HIDDEN TESTS
    """, "test_separable", points=2),
    markdown("""
    The ratio works out to $1/K + 1/F^2$: for wide layers a separable 3x3 convolution costs about a
    ninth of a standard one.
    """, "md-separable-see"),
    code("""
    try:
        widths = [8, 16, 32, 64, 128, 256, 512]
        for f in (3, 5):
            plt.plot(widths, [separable_ratio(f, w, w) for w in widths], "o-", label=f"{f}x{f}")
        plt.xscale("log", base=2); plt.xlabel("input = output channels"); plt.ylabel("separable / standard")
        plt.title("parameter ratio of a separable convolution"); plt.grid(alpha=0.3); plt.legend(); plt.show()
    except NotImplementedError:
        print("Write the separable functions first.")
    """),
    markdown("""
    ## 7. Receptive field

    The receptive field of a unit is the patch of the input image it depends on. One 3x3 layer sees
    3x3 pixels; a second 3x3 layer on top sees 3x3 of the first layer's outputs, which together cover
    5x5 input pixels: two stacked 3x3 layers see as far as one 5x5 layer (with fewer weights:
    $2 \\cdot 9 = 18$ against $25$ per channel pair), and three see 7x7. This is why VGG and
    Inception V3 replace large filters by stacks of 3x3 ones. A stride makes every later layer
    reach further: after a stride-2 layer, neighbouring outputs are 2 input pixels apart.

    **Exercise 7.** Write `receptive_field(layers)` for a list of `(f, stride)` pairs, first layer
    first: the side of the square input patch one output unit of the last layer sees. The check
    *measures* the answer with `tf.GradientTape`: which input pixels change the output.
    """, "md-rf"),
    solution("""
    def receptive_field(layers):
        \"\"\"Receptive field (in input pixels) of a stack of (f, stride) convolutions.\"\"\"
        ### BEGIN SOLUTION
        field, jump = 1, 1
        for f, stride in layers:
            field += (f - 1) * jump
            jump *= stride
        return field
        ### END SOLUTION
    """, "receptive_field"),
    tests("""
    checks.check_receptive_field(receptive_field)
    ### BEGIN HIDDEN TESTS
    assert receptive_field([(3, 1), (3, 1)]) == 5 and receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(3, 2), (3, 2), (3, 1)]) == 15
    assert receptive_field([(11, 4), (3, 2), (5, 1)]) == 51
    ### END HIDDEN TESTS
    """, "test_receptive_field", points=2),
    code("""
    try:
        depth = np.arange(1, 9)
        plt.plot(depth, [receptive_field([(3, 1)] * d) for d in depth], "o-", label="3x3, stride 1")
        plt.plot(depth, [receptive_field([(3, 2)] + [(3, 1)] * (d - 1)) for d in depth], "s-",
                 label="3x3, first layer stride 2")
        plt.plot(depth, [receptive_field([(3, 2)] * d) for d in depth], "^-", label="3x3, all stride 2")
        plt.yscale("log", base=2); plt.xlabel("layers"); plt.ylabel("receptive field (pixels)")
        plt.grid(alpha=0.3); plt.legend(); plt.show()
    except NotImplementedError:
        print("Write receptive_field first.")
    """),
    markdown("""
    ## 8. SqueezeNet's fire module

    SqueezeNet reaches AlexNet's accuracy with about 50 times fewer parameters by building everything
    from **fire modules**: a *squeeze* layer of $s_{1x1}$ 1x1 filters, followed by an *expand* layer
    of $e_{1x1}$ 1x1 and $e_{3x3}$ 3x3 filters side by side (concatenated). Two ratios describe it:

    $$SR = \\frac{s_{1x1}}{e_{1x1} + e_{3x3}} \\qquad PCT_{3x3} = \\frac{e_{3x3}}{e_{1x1} + e_{3x3}}$$

    The squeeze ratio $SR$ sets how tight the bottleneck is; $PCT_{3x3}$ how many expand filters are
    3x3 rather than 1x1. The paper found good accuracy for $SR$ from 12.5% to 100% and $PCT_{3x3}$
    from 25% to 100%.

    **Exercise 8.** Write `fire_filters(expand, sr, pct3x3)` returning `(s1x1, e1x1, e3x3)` for
    `expand` expand filters in all (round to the nearest whole filter; raise `ValueError` unless
    $0 < SR \\le 1$ and $0 \\le PCT_{3x3} \\le 1$), and `fire_params(d_in, s1x1, e1x1, e3x3)`: the
    parameters of a fire module on `d_in` channels, biases included.
    """, "md-fire"),
    solution("""
    def fire_filters(expand, sr, pct3x3):
        \"\"\"(s1x1, e1x1, e3x3) of a fire module with `expand` expand filters.\"\"\"
        ### BEGIN SOLUTION
        if not 0 < sr <= 1:
            raise ValueError(f"the squeeze ratio must be in (0, 1], got {sr}")
        if not 0 <= pct3x3 <= 1:
            raise ValueError(f"PCT_3x3 must be in [0, 1], got {pct3x3}")
        e3x3 = int(round(pct3x3 * expand))
        return int(round(sr * expand)), expand - e3x3, e3x3
        ### END SOLUTION


    def fire_params(d_in, s1x1, e1x1, e3x3):
        \"\"\"Parameters (with biases) of a fire module on d_in input channels.\"\"\"
        ### BEGIN SOLUTION
        return conv_params(1, d_in, s1x1) + conv_params(1, s1x1, e1x1) + conv_params(3, s1x1, e3x3)
        ### END SOLUTION
    """, "fire"),
    tests("""
    checks.check_fire(fire_filters, fire_params)
    ### BEGIN HIDDEN TESTS
    assert tuple(fire_filters(128, 0.125, 0.5)) == (16, 64, 64)
    assert tuple(fire_filters(512, 0.125, 0.5)) == (64, 256, 256)
    assert tuple(fire_filters(256, 0.25, 0.75)) == (64, 64, 192)
    assert fire_params(96, 16, 64, 64) == 11920
    ### END HIDDEN TESTS
    """, "test_fire", points=2),
    code("""
    try:
        ratios = [0.125, 0.25, 0.5, 0.75, 1.0]
        for pct in (0.25, 0.5, 1.0):
            plt.plot(ratios, [fire_params(256, *fire_filters(256, sr, pct)) for sr in ratios], "o-",
                     label=f"PCT_3x3 = {pct:.0%}")
        plt.axhline(conv_params(3, 256, 256), color="k", ls=":", label="one plain 3x3 layer, 256 -> 256")
        plt.xlabel("squeeze ratio SR"); plt.ylabel("parameters")
        plt.title("a fire module on 256 channels, 256 expand filters")
        plt.grid(alpha=0.3); plt.legend(); plt.show()
    except NotImplementedError:
        print("Write the fire-module functions first.")
    """),
]


def build():
    return notebook(CELLS)


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
