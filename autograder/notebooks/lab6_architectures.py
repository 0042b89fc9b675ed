"""Build Lab 6 and its lecture demo (run: python -m autograder.notebooks.lab6_architectures).

Writes ``source/lab6-architectures/lab6-architectures.ipynb`` (graded) and
``labs/lab6-architectures-demo.ipynb`` (the ungraded lecture demo, without
outputs).
"""

from autograder.authoring import code, markdown, notebook, solution, tests, write

LAB = "lab6-architectures"
DEMO = f"labs/{LAB}-demo.ipynb"

CELLS = [
    markdown("""
    # Lab 6: Modern CNN architectures, block by block

    From AlexNet (2012) to EfficientNet (2019), most progress in CNN design came from a handful of
    reusable **blocks**. Each one answers a question the previous generation raised:

    | year | network | the block's idea |
    | --- | --- | --- |
    | 2014 | VGG | stacks of small 3x3 convolutions, then pooling |
    | 2014 | GoogLeNet | parallel paths with different kernel sizes, 1x1 "bottlenecks" to keep them cheap |
    | 2015 | ResNet | add the block's input back to its output, so a deep net can be as good as a shallow one |
    | 2017 | ResNeXt | split the 3x3 convolution into groups |
    | 2017 | Xception | separable convolutions: one filter per channel, then a 1x1 mix |
    | 2016-18 | SqueezeNet | squeeze with 1x1, expand with a mix of 1x1 and 3x3 |
    | 2019 | EfficientNet | scale depth, width and resolution together |

    You write each block with the Keras **functional API**: a block is a function that takes a tensor
    `x` and returns a new tensor, `y = Layer(...)(x)`. Then you assemble two small networks from your
    blocks, train them on texture patches, and put them on the accuracy-versus-size picture of the
    published ImageNet networks.

    Each check cell prints a ✔ line or says what it expected, what it found and, often, why. Hidden
    tests repeat the ideas with other sizes when the lab is graded.
    """, "intro"),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import math

    import numpy as np
    import matplotlib.pyplot as plt
    import keras
    from keras import layers

    from cnncourse import data, plots, runtime
    from cnncourse.checks import lab6 as checks
    from cnncourse.models import applications

    print("profile:", runtime.profile())
    """, "imports"),
    # ------------------------------------------------------------------ VGG
    markdown("""
    ## 1. VGG block

    VGG replaced AlexNet's large kernels (11x11, 5x5) with stacks of **3x3** convolutions: two 3x3
    layers see a 5x5 window with fewer weights and one more non-linearity. A VGG block is

    * `num_convs` times `Conv2D(filters, 3, padding="same", activation="relu")`: padding 1 keeps
      the height and width;
    * then `MaxPooling2D(pool_size=2)`: the height and width are halved (rounded down).

    **Exercise 1.** Write `vgg_block(x, num_convs, filters)` returning the block's output tensor.
    Put the ReLU inside each `Conv2D` (`activation="relu"`), not in separate layers.
    """, "md-vgg"),
    solution("""
    def vgg_block(x, num_convs, filters):
        \"\"\"num_convs same-padded 3x3 convolutions with ReLU, then a 2x2 max pool.\"\"\"
        ### BEGIN SOLUTION
        for _ in range(num_convs):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return layers.MaxPooling2D(pool_size=2)(x)
        ### END SOLUTION
    """, "vgg_block"),
    tests("""
    checks.check_vgg_block(vgg_block)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(32, 32, 3))
    _m = keras.Model(_inp, vgg_block(_inp, 2, 64))
    assert tuple(_m.output.shape) == (None, 16, 16, 64)
    assert _m.count_params() == (3 * 3 * 3 * 64 + 64) + (3 * 3 * 64 * 64 + 64) == 38720
    _inp = keras.Input(shape=(7, 7, 1))
    assert tuple(keras.Model(_inp, vgg_block(_inp, 4, 2)).output.shape) == (None, 3, 3, 2)
    ### END HIDDEN TESTS
    """, "test_vgg_block", points=3),
    # ------------------------------------------------------------ Inception
    markdown("""
    ## 2. Inception block (GoogLeNet)

    Which kernel size is best? GoogLeNet does not choose: an **inception block** runs four paths in
    parallel on the same input and stacks their outputs along the channels.

    1. `Conv2D(c1, 1)`;
    2. `Conv2D(c3_reduce, 1)` then `Conv2D(c3, 3)`;
    3. `Conv2D(c5_reduce, 1)` then `Conv2D(c5, 5)`;
    4. `MaxPooling2D(pool_size=3, strides=1, padding="same")` then `Conv2D(pool_proj, 1)`.

    Every convolution has `padding="same"` and `activation="relu"`, so all four paths keep the height
    and width and can be joined with `layers.Concatenate(axis=-1)([p1, p2, p3, p4])` (in this order).
    The output has `c1 + c3 + c5 + pool_proj` channels. GoogLeNet's first block, "3a", uses
    (64, 96, 128, 16, 32, 32): 64 + 128 + 32 + 32 = 256 channels.

    **Exercise 2.** Write `inception_block(x, c1, c3_reduce, c3, c5_reduce, c5, pool_proj)`.
    """, "md-inception"),
    solution("""
    def inception_block(x, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        \"\"\"GoogLeNet's four parallel paths, concatenated along the channels.\"\"\"
        ### BEGIN SOLUTION
        p1 = layers.Conv2D(c1, 1, padding="same", activation="relu")(x)
        p2 = layers.Conv2D(c3_reduce, 1, padding="same", activation="relu")(x)
        p2 = layers.Conv2D(c3, 3, padding="same", activation="relu")(p2)
        p3 = layers.Conv2D(c5_reduce, 1, padding="same", activation="relu")(x)
        p3 = layers.Conv2D(c5, 5, padding="same", activation="relu")(p3)
        p4 = layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(x)
        p4 = layers.Conv2D(pool_proj, 1, padding="same", activation="relu")(p4)
        return layers.Concatenate(axis=-1)([p1, p2, p3, p4])
        ### END SOLUTION
    """, "inception_block"),
    tests("""
    checks.check_inception_block(inception_block)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(28, 28, 192))
    _m = keras.Model(_inp, inception_block(_inp, 64, 96, 128, 16, 32, 32))
    assert tuple(_m.output.shape) == (None, 28, 28, 256)
    assert _m.count_params() == 163696
    _inp = keras.Input(shape=(14, 14, 480))
    _m = keras.Model(_inp, inception_block(_inp, 192, 96, 208, 16, 48, 64))
    assert tuple(_m.output.shape) == (None, 14, 14, 512)
    ### END HIDDEN TESTS
    """, "test_inception_block", points=3),
    markdown("""
    ### What the 1x1 bottleneck saves

    The lecture's example: 32 filters of size 3x3 on 256 input channels (weights only, no biases).
    Reducing to 128 or 64 channels with a 1x1 convolution first cuts the count, and the cut is
    larger the narrower the bottleneck. Keras counts them below; then the same comparison for your
    block "3a", with and without its reductions.
    """, "md-bottleneck"),
    code("""
    def count(*convs, channels=256, size=28):
        inp = keras.Input(shape=(size, size, channels))
        x = inp
        for filters, k in convs:
            x = layers.Conv2D(filters, k, padding="same", use_bias=False)(x)
        return keras.Model(inp, x).count_params()

    print(f"3x3 directly on 256 channels : {count((32, 3)):>7,}")
    print(f"1x1 to 128, then 3x3         : {count((128, 1), (32, 3)):>7,}")
    print(f"1x1 to 64, then 3x3          : {count((64, 1), (32, 3)):>7,}")

    try:
        inp = keras.Input(shape=(28, 28, 192))
        with_reduce = keras.Model(inp, inception_block(inp, 64, 96, 128, 16, 32, 32)).count_params()
        no_reduce = (192 * 64 + 64) + (9 * 192 * 128 + 128) + (25 * 192 * 32 + 32) + (192 * 32 + 32)
        print(f"inception 3a with its 1x1 reductions: {with_reduce:,} parameters; "
              f"without them: {no_reduce:,} ({no_reduce / with_reduce:.1f} times more)")
    except NotImplementedError:
        print("Write inception_block first.")
    """),
    # ------------------------------------------------------------- ResNet
    markdown("""
    ## 3. Residual block (ResNet)

    Adding layers to a network should never make it worse: at worst the new layers could learn to do
    nothing. In practice plain deep stacks train *worse* than shallow ones, because "do nothing"
    (the identity) is hard to learn for a stack of convolutions. A **residual block** makes the
    identity the default: it computes

    $$y = \\mathrm{ReLU}\\big(F(x) + \\text{shortcut}(x)\\big),$$

    so when $F$'s weights are zero the block just passes (the ReLU of) its input on.

    * main path $F$: `Conv2D(filters, 3, strides=stride, padding="same", activation="relu")`, then
      `Conv2D(filters, 3, padding="same")` with **no** activation;
    * shortcut: `x` itself when the shapes match; when `stride != 1` or the number of channels
      changes, a **projection** `Conv2D(filters, 1, strides=stride)` so that the shapes fit;
    * `layers.Add()([main, shortcut])`, then `layers.ReLU()`.

    (`x.shape[-1]` is the number of input channels.) ResNet also puts batch normalisation after each
    convolution; we leave it out here, so the block is small enough to check by hand.

    **Exercise 3.** Write `residual_block(x, filters, stride=1)`.
    """, "md-residual"),
    solution("""
    def residual_block(x, filters, stride=1):
        \"\"\"Two 3x3 convolutions plus a shortcut (projected when shapes differ), then ReLU.\"\"\"
        ### BEGIN SOLUTION
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
        y = layers.Conv2D(filters, 3, padding="same")(y)
        shortcut = x
        if stride != 1 or x.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride)(x)
        return layers.ReLU()(layers.Add()([y, shortcut]))
        ### END SOLUTION
    """, "residual_block"),
    tests("""
    checks.check_residual_block(residual_block)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(16, 16, 64))
    _m = keras.Model(_inp, residual_block(_inp, 64, 1))
    assert _m.count_params() == 2 * (9 * 64 * 64 + 64) == 73856
    _m = keras.Model(_inp, residual_block(_inp, 128, 2))
    assert tuple(_m.output.shape) == (None, 8, 8, 128)
    assert _m.count_params() == (9 * 64 * 128 + 128) + (9 * 128 * 128 + 128) + (64 * 128 + 128)
    _proj = None
    for _l in _m.layers:
        if type(_l).__name__ == "Conv2D" and tuple(_l.get_config()["kernel_size"]) == (3, 3):
            _l.set_weights([np.zeros_like(w) for w in _l.get_weights()])
        elif type(_l).__name__ == "Conv2D":
            _proj = _l
    _x = np.random.default_rng(3).normal(size=(1, 16, 16, 64)).astype("float32")
    _w, _b = _proj.get_weights()
    assert np.allclose(np.asarray(_m(_x)), np.maximum(_x[:, ::2, ::2] @ _w[0, 0] + _b, 0), atol=1e-4)
    ### END HIDDEN TESTS
    """, "test_residual_block", points=4),
    # ------------------------------------------------------------- ResNeXt
    markdown("""
    ## 4. ResNeXt block: grouped convolutions

    ResNeXt keeps the residual idea and splits the expensive 3x3 convolution into `groups`
    independent convolutions, each seeing only `filters / groups` of the channels
    (`Conv2D(..., groups=groups)`). Its weights shrink from $3 \\cdot 3 \\cdot C \\cdot C$ to
    $3 \\cdot 3 \\cdot (C / g) \\cdot C$: about $g$ times fewer.

    The block: `Conv2D(filters, 1, activation="relu")`, then
    `Conv2D(filters, 3, padding="same", groups=groups, activation="relu")`, then `Conv2D(filters, 1)`
    (no activation); add the shortcut (`x`, or `Conv2D(filters, 1)(x)` when the channels differ);
    then `layers.ReLU()`. `filters` is a multiple of `groups`.

    **Exercise 4.** Write `resnext_block(x, filters, groups)`.
    """, "md-resnext"),
    solution("""
    def resnext_block(x, filters, groups):
        \"\"\"1x1 -> grouped 3x3 -> 1x1, plus a shortcut, then ReLU.\"\"\"
        ### BEGIN SOLUTION
        y = layers.Conv2D(filters, 1, activation="relu")(x)
        y = layers.Conv2D(filters, 3, padding="same", groups=groups, activation="relu")(y)
        y = layers.Conv2D(filters, 1)(y)
        shortcut = x if x.shape[-1] == filters else layers.Conv2D(filters, 1)(x)
        return layers.ReLU()(layers.Add()([y, shortcut]))
        ### END SOLUTION
    """, "resnext_block"),
    tests("""
    checks.check_resnext_block(resnext_block)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(8, 8, 64))
    _m32 = keras.Model(_inp, resnext_block(_inp, 64, 32))
    _m1 = keras.Model(_inp, resnext_block(_inp, 64, 1))
    assert _m32.count_params() == 2 * (64 * 64 + 64) + (9 * 2 * 64 + 64)
    assert _m1.count_params() - _m32.count_params() == 9 * 64 * 64 - 9 * 2 * 64
    ### END HIDDEN TESTS
    """, "test_resnext_block", points=3),
    # ----------------------------------------------------------- Separable
    markdown("""
    ## 5. Separable convolutions (Xception)

    A standard $k \\times k$ convolution mixes space and channels at once: every one of its $C_{out}$
    filters has $k \\cdot k \\cdot C_{in}$ weights. A **depthwise separable** convolution splits that
    into two cheap steps:

    1. **depthwise**: one $k \\times k$ filter per input channel, each on its own channel
       ($k \\cdot k \\cdot C_{in}$ weights, the size of *one* standard filter);
    2. **pointwise**: a 1x1 convolution mixing the channels ($C_{in} \\cdot C_{out}$ weights).

    Keras' `SeparableConv2D` has no bias in the depthwise step and one bias per output channel in
    the pointwise step.

    **Exercise 5a.** Write `conv_params(k, c_in, c_out)` and `separable_params(k, c_in, c_out)`,
    the parameter counts (biases included) of a `Conv2D` and of a `SeparableConv2D`.

    **Exercise 5b.** Write `separable_block(x, filters)` from the two steps as separate layers:
    `layers.DepthwiseConv2D(3, padding="same", use_bias=False)`, then
    `layers.Conv2D(filters, 1, activation="relu")`.
    """, "md-separable"),
    solution("""
    def conv_params(k, c_in, c_out):
        \"\"\"Parameters of Conv2D(c_out, k) on c_in channels, biases included.\"\"\"
        ### BEGIN SOLUTION
        return k * k * c_in * c_out + c_out
        ### END SOLUTION


    def separable_params(k, c_in, c_out):
        \"\"\"Parameters of SeparableConv2D(c_out, k) on c_in channels, biases included.\"\"\"
        ### BEGIN SOLUTION
        return k * k * c_in + c_in * c_out + c_out
        ### END SOLUTION
    """, "param_formulas"),
    tests("""
    checks.check_param_formulas(conv_params, separable_params)
    ### BEGIN HIDDEN TESTS
    assert conv_params(3, 256, 32) == 73760
    assert separable_params(3, 256, 32) == 2304 + 8192 + 32
    assert conv_params(1, 64, 10) == 650 and separable_params(1, 64, 10) == 64 + 640 + 10
    ### END HIDDEN TESTS
    """, "test_param_formulas", points=2),
    solution("""
    def separable_block(x, filters):
        \"\"\"Depthwise 3x3 (no bias), then pointwise 1x1 with ReLU.\"\"\"
        ### BEGIN SOLUTION
        y = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        return layers.Conv2D(filters, 1, activation="relu")(y)
        ### END SOLUTION
    """, "separable_block"),
    tests("""
    checks.check_separable_block(separable_block)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(12, 12, 128))
    _m = keras.Model(_inp, separable_block(_inp, 256))
    assert _m.count_params() == separable_params(3, 128, 256) == 1152 + 32768 + 256
    assert tuple(_m.output.shape) == (None, 12, 12, 256)
    ### END HIDDEN TESTS
    """, "test_separable_block", points=2),
    markdown("""
    How much smaller is a separable layer? The ratio grows with the number of output channels and
    approaches $k^2 = 9$ for wide 3x3 layers.
    """, "md-ratio"),
    code("""
    try:
        for c_in, c_out in [(16, 16), (64, 64), (128, 256), (256, 512), (728, 728)]:
            std, sep = conv_params(3, c_in, c_out), separable_params(3, c_in, c_out)
            print(f"3x3, {c_in:>3} -> {c_out:>3} channels: standard {std:>9,}  separable {sep:>7,}  "
                  f"ratio {std / sep:4.1f}")
    except NotImplementedError:
        print("Write conv_params and separable_params first.")
    """),
    # ------------------------------------------------------------- Fire
    markdown("""
    ## 6. Fire module (SqueezeNet)

    SqueezeNet reached AlexNet's accuracy with 50 times fewer parameters. Its **fire module**
    *squeezes* the input with a few 1x1 filters, then *expands* with two parallel layers, 1x1 and
    3x3 filters, concatenated along the channels. Two ratios decide the sizes, given the total number
    of expand filters $E = |F_{e1x1}| + |F_{e3x3}|$:

    $$SR = \\frac{|F_{s1x1}|}{E}, \\qquad PCT_{3x3} = \\frac{|F_{e3x3}|}{E}.$$

    The paper found good accuracy for SR between 12.5% and 100% and PCT between 25% and 100%; its
    fire2 module has E = 128, SR = 0.125 and PCT = 0.5: 16 squeeze, 64 + 64 expand filters.

    **Exercise 6a.** Write `fire_sizes(expand, sr, pct3x3)` returning the integers
    `(squeeze, expand1x1, expand3x3)`: round `sr * expand` and `pct3x3 * expand` to the nearest
    integer, and make the two expand counts add up to `expand`.

    **Exercise 6b.** Write `fire_module(x, squeeze, expand1x1, expand3x3)`: `Conv2D(squeeze, 1)`,
    then `Conv2D(expand1x1, 1)` and `Conv2D(expand3x3, 3, padding="same")` both on the squeezed
    tensor, joined by `Concatenate(axis=-1)` (1x1 first). Every convolution uses ReLU.
    """, "md-fire"),
    solution("""
    def fire_sizes(expand, sr, pct3x3):
        \"\"\"(squeeze, expand1x1, expand3x3) filter counts from SR and PCT_3x3.\"\"\"
        ### BEGIN SOLUTION
        squeeze = max(1, int(round(sr * expand)))
        e3 = int(round(pct3x3 * expand))
        return squeeze, expand - e3, e3
        ### END SOLUTION
    """, "fire_sizes"),
    tests("""
    checks.check_fire_sizes(fire_sizes)
    ### BEGIN HIDDEN TESTS
    assert tuple(fire_sizes(128, 0.125, 0.5)) == (16, 64, 64)
    assert tuple(fire_sizes(512, 0.125, 0.5)) == (64, 256, 256)
    assert tuple(fire_sizes(80, 0.25, 0.75)) == (20, 20, 60)
    ### END HIDDEN TESTS
    """, "test_fire_sizes", points=1),
    solution("""
    def fire_module(x, squeeze, expand1x1, expand3x3):
        \"\"\"SqueezeNet's fire module: squeeze 1x1, expand 1x1 and 3x3, concatenate.\"\"\"
        ### BEGIN SOLUTION
        s = layers.Conv2D(squeeze, 1, activation="relu")(x)
        e1 = layers.Conv2D(expand1x1, 1, activation="relu")(s)
        e3 = layers.Conv2D(expand3x3, 3, padding="same", activation="relu")(s)
        return layers.Concatenate(axis=-1)([e1, e3])
        ### END SOLUTION
    """, "fire_module"),
    tests("""
    checks.check_fire_module(fire_module)
    ### BEGIN HIDDEN TESTS
    _inp = keras.Input(shape=(55, 55, 96))
    _m = keras.Model(_inp, fire_module(_inp, 16, 64, 64))
    assert tuple(_m.output.shape) == (None, 55, 55, 128)
    assert _m.count_params() == (96 * 16 + 16) + (16 * 64 + 64) + (9 * 16 * 64 + 64) == 11920
    ### END HIDDEN TESTS
    """, "test_fire_module", points=2),
    # ------------------------------------------------------- EfficientNet
    markdown("""
    ## 7. Compound scaling (EfficientNet)

    A bigger budget can buy a deeper network, a wider one, or a larger input image. EfficientNet
    scales all three together with one coefficient $\\phi$:

    $$\\text{depth } d = \\alpha^{\\phi}, \\quad \\text{width } w = \\beta^{\\phi}, \\quad
      \\text{resolution } r = \\gamma^{\\phi}, \\qquad \\alpha \\cdot \\beta^2 \\cdot \\gamma^2 \\approx 2,$$

    with $\\alpha = 1.2$, $\\beta = 1.1$, $\\gamma = 1.15$ found by a small grid search. The work of a
    convolutional network grows with depth, with the square of the width and with the square of the
    resolution, so each step of $\\phi$ roughly doubles it.

    **Exercise 7.** Write `compound_scale(phi, alpha=1.2, beta=1.1, gamma=1.15)` returning the tuple
    `(depth, width, resolution)` of multipliers.
    """, "md-efficientnet"),
    solution("""
    def compound_scale(phi, alpha=1.2, beta=1.1, gamma=1.15):
        \"\"\"EfficientNet's (depth, width, resolution) multipliers for coefficient phi.\"\"\"
        ### BEGIN SOLUTION
        return alpha ** phi, beta ** phi, gamma ** phi
        ### END SOLUTION
    """, "compound_scale"),
    tests("""
    checks.check_compound_scale(compound_scale)
    ### BEGIN HIDDEN TESTS
    _d, _w, _r = compound_scale(2)
    assert np.allclose((_d, _w, _r), (1.44, 1.21, 1.3225))
    assert abs(_d * _w ** 2 * _r ** 2 - 1.2 ** 2 * 1.1 ** 4 * 1.15 ** 4) < 1e-9
    ### END HIDDEN TESTS
    """, "test_compound_scale", points=2),
    code("""
    try:
        print(" phi  depth  width  resolution (from 224 px)  FLOPs x")
        for phi in range(0, 8):
            d, w, r = compound_scale(phi)
            print(f"{phi:>4}  {d:5.2f}  {w:5.2f}  {r:5.2f} ({round(224 * r):>4} px)        {d * w**2 * r**2:6.1f}")
    except NotImplementedError:
        print("Write compound_scale first.")
    """),
    # --------------------------------------------------------- mini nets
    markdown("""
    ## 8. Two small networks from your blocks

    Time to use the blocks. The task: 16x16 grey patches of three textures (brick, grass, gravel)
    cut from scikit-image's photos. A patch is too small to show a whole brick, so the network must
    recognise the texture from local patterns.
    """, "md-mini"),
    code("""
    x_tex, y_tex = checks.mini_net_data()
    names = data.TEXTURES
    picks = [int(np.flatnonzero(y_tex == c)[i]) for c in range(3) for i in (0, 40, 80, 120)]
    fig = plots.image_grid(x_tex[picks], titles=[names[y_tex[i]] for i in picks], ncols=12, size=1.1)
    plt.show()
    print(x_tex.shape, "patches;", np.bincount(y_tex), "per class")
    """),
    markdown("""
    **Exercise 8a.** Write `mini_vgg(input_shape, num_classes)`, a `keras.Model`:
    `keras.Input(shape=input_shape)`, `vgg_block(x, 1, 16)`, `vgg_block(x, 2, 32)`, `Flatten()`,
    `Dense(num_classes, activation="softmax")`.

    **Exercise 8b.** Write `mini_resnet(input_shape, num_classes)`:
    `keras.Input(shape=input_shape)`, `Conv2D(16, 3, padding="same", activation="relu")`,
    `MaxPooling2D(2)`, `residual_block(x, 16, 1)`, `residual_block(x, 32, 2)`,
    `GlobalAveragePooling2D()`, `Dense(num_classes, activation="softmax")`.
    """, "md-mini-ex"),
    solution("""
    def mini_vgg(input_shape, num_classes):
        \"\"\"Two VGG blocks and a softmax classifier.\"\"\"
        ### BEGIN SOLUTION
        inp = keras.Input(shape=input_shape)
        x = vgg_block(inp, 1, 16)
        x = vgg_block(x, 2, 32)
        x = layers.Flatten()(x)
        out = layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inp, out, name="mini_vgg")
        ### END SOLUTION


    def mini_resnet(input_shape, num_classes):
        \"\"\"A stem, two residual blocks, global average pooling and a softmax classifier.\"\"\"
        ### BEGIN SOLUTION
        inp = keras.Input(shape=input_shape)
        x = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
        x = layers.MaxPooling2D(2)(x)
        x = residual_block(x, 16, 1)
        x = residual_block(x, 32, 2)
        x = layers.GlobalAveragePooling2D()(x)
        out = layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inp, out, name="mini_resnet")
        ### END SOLUTION
    """, "mini_nets"),
    tests("""
    checks.check_mini_vgg(mini_vgg)
    checks.check_mini_resnet(mini_resnet)
    ### BEGIN HIDDEN TESTS
    assert mini_vgg((16, 16, 1), 3).count_params() == 15587
    assert mini_resnet((16, 16, 1), 3).count_params() == 19331
    assert mini_vgg((24, 24, 1), 10).count_params() == 160 + 4640 + 9248 + 6 * 6 * 32 * 10 + 10
    ### END HIDDEN TESTS
    """, "test_mini_nets", points=2),
    markdown("""
    ### Train both

    The next cell trains each network the way the grader does: the profile's budget
    (`runtime.budget("lab6.mini_nets")`), Adam, a fixed seed, and accuracy measured on patches the
    network never trained on. In the `fast` profile this takes a few seconds per network. The two
    check cells after it compare your accuracies with the bar; when the lab is graded, each
    network is trained again from scratch and that run's accuracy counts (full points at the bar,
    half points a little below it).
    """, "md-train"),
    code("""
    print(runtime.budget("lab6.mini_nets"))
    results, histories = {}, {}
    try:
        for label, builder in [("mini-VGG", mini_vgg), ("mini-ResNet", mini_resnet)]:
            run = checks.train_mini_net(builder, seed=0)
            results[label] = {"params": run.params, "accuracy": run.accuracy}
            histories[label] = run.history
            print(f"{label:12s} {run.params:>7,} parameters  held-out accuracy {run.accuracy:.3f}  "
                  f"({run.seconds:.1f} s)")
        fig = plots.compare_histories(histories, metric="val_accuracy", title="held-out accuracy per epoch")
        plt.show()
    except (NotImplementedError, checks.CheckFailed) as exc:
        print("Write the blocks, mini_vgg and mini_resnet first.", exc)
    """, "train"),
    tests("""
    checks.check_mini_vgg(mini_vgg)
    checks.report_mini_net(results, "mini-VGG", "mini_vgg")
    ### BEGIN HIDDEN TESTS
    from autograder import calibration
    _run = checks.train_mini_net(mini_vgg, seed=0, exercise="mini_vgg (graded run)", validation=False)
    calibration.grade("lab6-architectures", "mini_vgg", _run.accuracy, 3, what="mini-VGG held-out accuracy")
    ### END HIDDEN TESTS
    """, "test_train_mini_vgg", points=3),
    tests("""
    checks.check_mini_resnet(mini_resnet)
    checks.report_mini_net(results, "mini-ResNet", "mini_resnet")
    ### BEGIN HIDDEN TESTS
    from autograder import calibration
    _run = checks.train_mini_net(mini_resnet, seed=0, exercise="mini_resnet (graded run)", validation=False)
    calibration.grade("lab6-architectures", "mini_resnet", _run.accuracy, 3, what="mini-ResNet held-out accuracy")
    ### END HIDDEN TESTS
    """, "test_train_mini_resnet", points=3),
    # ------------------------------------------------------------ figure
    markdown("""
    ## 9. Accuracy against size

    The lecture's picture: the published ImageNet networks of Keras Applications, top-1 accuracy
    against parameter count (log scale), with your two networks added as stars. Your accuracies are
    on a 3-class texture task, not on ImageNet's 1,000 classes, so compare the **sizes** honestly and
    the accuracies only loosely. Notice how far to the left your networks sit, and how the later
    families (MobileNet, EfficientNet) moved up and to the left of VGG.
    """, "md-figure"),
    code("""
    fig = applications.plot_accuracy_vs_params(own=results, own_task="textures, held-out")
    plt.show()
    for name, r in results.items():
        print(f"{name:12s} {r['params']:>7,} parameters  accuracy {r['accuracy']:.3f}")
    """, "figure"),
    markdown("""
    **Exercise 9.** Read your own numbers (the `results` dict, printed under the figure). Set

    * `acc_per_kparam`: a dict with, for each network in `results`, its accuracy divided by its
      parameter count in thousands;
    * `more_efficient`: the name (a key of `results`) of the network with the higher accuracy per
      parameter *in your runs*.

    Compute both from `results`; your numbers, not anybody else's, decide the answer.
    """, "md-efficiency"),
    solution("""
    ### BEGIN SOLUTION
    acc_per_kparam = {name: r["accuracy"] / (r["params"] / 1000) for name, r in results.items()}
    more_efficient = max(acc_per_kparam, key=acc_per_kparam.get)
    ### END SOLUTION
    print(acc_per_kparam, "->", more_efficient)
    """, "efficiency"),
    tests("""
    checks.check_efficiency(results, acc_per_kparam, more_efficient)
    ### BEGIN HIDDEN TESTS
    assert more_efficient == max(results, key=lambda k: results[k]["accuracy"] / results[k]["params"])
    ### END HIDDEN TESTS
    """, "test_efficiency", points=2),
]


# --------------------------------------------------------------------------
# The lecture demo (ungraded)
# --------------------------------------------------------------------------
DEMO_CELLS = [
    markdown("""
    # Lecture demo: from AlexNet to residual networks

    This notebook replays the lecture's Keras demo at toy scale, on a CPU, in a couple of minutes:

    1. the **AlexNet-with-augmentation** network: big early kernels, overlapping pooling, ReLU,
       dropout, and augmentation layers inside the model;
    2. its **inception variant**: after the first convolution, the network branches into parallel
       paths (1x1; 1x1 then 3x3; 1x1 then two 3x3) that are concatenated;
    3. its **residual variant**: bottleneck paths whose output is *added* to their input.

    Each network trains on the same 32x32 texture patches (brick, grass, gravel) for a few epochs.
    The point is the architectures and their sizes, not the last percent of accuracy. It needs no
    download and runs top to bottom as it is.
    """),
    code("""
    import cnncourse  # first: importing it quietens TensorFlow's start-up messages
    import numpy as np
    import matplotlib.pyplot as plt
    import keras
    from keras import layers
    from keras.regularizers import l2

    from cnncourse import data, plots, runtime
    from cnncourse.models import applications, small

    runtime.set_seed(0)
    x, y = data.load_textures(patch_size=32, return_X_y=True)
    (x_train, y_train), (x_val, y_val) = data.train_val_split(x, y, val_fraction=0.25, seed=0)
    x_train, y_train = data.stratified_subsample(x_train, y_train, 900, seed=0)
    print("train", x_train.shape, "validation", x_val.shape)
    fig = plots.image_grid(x_train[:16], titles=[data.TEXTURES[c] for c in y_train[:16]], ncols=8, size=1.2)
    plt.show()
    EPOCHS = 4 if runtime.profile() == "fast" else 20
    """),
    markdown("""
    ## 1. AlexNet with augmentation

    `cnncourse.models.small.mini_alexnet` follows the lecture's `AlexNet_Aug`: random flips,
    rotations, translations, brightness and contrast changes as the first layers (active only
    while training), a large strided first convolution, then 5x5 and 3x3 convolutions with pooling,
    two dense layers with L2 penalties and dropout. The filter counts are divided by `width` to fit
    a CPU.
    """),
    code("""
    alexnet = small.mini_alexnet(input_shape=x_train.shape[1:], num_classes=3)
    alexnet.summary()
    """),
    code("""
    def train(model):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=32,
                         verbose=0)

    histories, sizes = {}, {}
    runtime.set_seed(0)
    histories["AlexNet + aug"] = train(alexnet)
    sizes["AlexNet + aug"] = alexnet.count_params()
    fig = plots.plot_history(histories["AlexNet + aug"], title="AlexNet with augmentation")
    plt.show()
    """),
    markdown("""
    ## 2. The inception variant

    The lecture's version keeps AlexNet's first convolution, then branches. Each branch is a
    `keras.Sequential` used as a function; `Concatenate(axis=-1)` stacks their outputs along the
    channels. Every branch starts with a cheap 1x1 convolution.
    """),
    code("""
    def alexnet_branches(input_shape, num_classes, width=8):
        inp = keras.Input(shape=input_shape)
        x = small.augmentation()(inp)
        x = layers.Conv2D(96 // width, 11, strides=2, padding="same", activation="relu",
                          kernel_initializer="he_uniform", kernel_regularizer=l2(1e-6))(x)
        split = layers.MaxPooling2D(2, name="branch_point1")(x)

        def conv(filters, k, act="relu"):
            return layers.Conv2D(filters, k, padding="same", activation=act,
                                 kernel_initializer="he_uniform", kernel_regularizer=l2(1e-5))

        one = conv(64 // width, 1)
        three = keras.Sequential([conv(32 // width, 1), conv(128 // width, 3)])
        two_threes = keras.Sequential([conv(32 // width, 1), conv(64 // width, 3), conv(64 // width, 3)])
        x = layers.Concatenate(axis=-1, name="ens_concat1")([one(split), three(split), two_threes(split)])
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(512 // width, activation="relu", kernel_regularizer=l2(1e-4))(x)
        x = layers.Dropout(0.5)(x)
        return keras.Model(inp, layers.Dense(num_classes, activation="softmax")(x), name="AlexNet_branches")

    runtime.set_seed(0)
    branched = alexnet_branches(x_train.shape[1:], 3)
    print(f"{branched.count_params():,} parameters;",
          "concatenated channels:", branched.get_layer("ens_concat1").output.shape[-1])
    histories["inception variant"] = train(branched)
    sizes["inception variant"] = branched.count_params()
    """),
    markdown("""
    ## 3. The residual variant

    Here each path is a bottleneck (1x1 down, 3x3, 1x1 back up) whose output is **added** to the
    tensor it started from. The gradient then has a path through the `Add` that no weight can
    shrink, which is what lets ResNets grow to a hundred layers and more.
    """),
    code("""
    def alexnet_residual(input_shape, num_classes, width=8, channels=128):
        c = channels // width
        inp = keras.Input(shape=input_shape)
        x = small.augmentation()(inp)
        x = layers.Conv2D(96 // width, 11, strides=2, padding="same", activation="relu",
                          kernel_initializer="he_uniform", kernel_regularizer=l2(1e-6))(x)
        x = layers.MaxPooling2D(2, name="branch_point1")(x)
        split = layers.Conv2D(c, 1, padding="same", kernel_initializer="he_uniform")(x)

        def bottleneck():
            return keras.Sequential([
                layers.Conv2D(32 // width, 1, padding="same", activation="relu", kernel_initializer="he_uniform"),
                layers.Conv2D(32 // width, 3, padding="same", activation="relu", kernel_initializer="he_uniform"),
                layers.Conv2D(c, 1, padding="same", kernel_initializer="he_uniform"),
            ])

        x = layers.Activation("relu")(layers.Add()([bottleneck()(split), split]))
        split = layers.MaxPooling2D(2)(x)
        x = layers.Activation("relu")(layers.Add()([bottleneck()(split), split]))
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(512 // width, activation="relu", kernel_regularizer=l2(1e-4))(x)
        x = layers.Dropout(0.5)(x)
        return keras.Model(inp, layers.Dense(num_classes, activation="softmax")(x), name="AlexNet_residual")

    runtime.set_seed(0)
    residual = alexnet_residual(x_train.shape[1:], 3)
    print(f"{residual.count_params():,} parameters")
    histories["residual variant"] = train(residual)
    sizes["residual variant"] = residual.count_params()
    """),
    markdown("""
    ## Side by side

    Validation accuracy per epoch for the three networks, and their sizes. With a handful of epochs
    the curves are noisy: rerun with `CNNCOURSE_PROFILE=full` (more epochs) to see them settle.
    """),
    code("""
    fig = plots.compare_histories(histories, metric="val_accuracy", title="validation accuracy")
    plt.show()
    results = {}
    for name, h in histories.items():
        results[name] = {"params": sizes[name], "accuracy": float(h.history["val_accuracy"][-1])}
        print(f"{name:20s} {sizes[name]:>9,} parameters  final validation accuracy {results[name]['accuracy']:.3f}")
    """),
    markdown("""
    ## How big are the famous networks?

    The published parameter counts and ImageNet top-1 accuracies of Keras Applications, with our
    three toy networks (on textures, so their accuracies are not comparable, their sizes are).
    VGG16 has 138 million parameters; MobileNetV2 matches its accuracy with 3.5 million, and
    EfficientNet-B0 beats it with 5.3 million.
    """),
    code("""
    fig = applications.plot_accuracy_vs_params(own=results, own_task="textures")
    plt.show()
    for row in sorted(applications.table(), key=lambda r: r["params"])[:5]:
        print(f"{row['name']:18s} {row['params_m']:6.1f} M parameters  top-1 {row['top1']:.3f}")
    """),
]


def build():
    return notebook(CELLS)


def build_demo():
    nb = notebook(DEMO_CELLS)
    for cell in nb.cells:  # the demo is ungraded: no nbgrader metadata, no outputs
        cell.metadata.pop("nbgrader", None)
    return nb


if __name__ == "__main__":
    print(write(build(), f"source/{LAB}/{LAB}.ipynb"))
    print(write(build_demo(), DEMO))
