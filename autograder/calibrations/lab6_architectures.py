"""Calibration of Lab 6's training checks: the mini-VGG, the mini-ResNet and the budget network on texture patches.

The reference answers are the solutions in the lab's source notebook, run as
they are (this module holds no copy of them, so the installed package
carries no answers). Every check trains with
:func:`cnncourse.checks.lab6.train_mini_net`, exactly as the hidden tests do.

Weak answer: a softmax on the raw pixels (no convolution), what a network
whose blocks do nothing useful amounts to. Texture classes differ in local
patterns, not in where bright pixels are, so it stays near chance.

The budget network was also measured against a far smaller design, one
3x3 convolution of 4 filters pooled 4x4 into the classifier (235
parameters): 0.60 to 0.72 over the 10 seeds, too close to the reference's
worst seed (0.74) to be a weak answer. The bar therefore asks for a working
convolutional design within the budget, not for the best one.
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace

LAB = "lab6-architectures"


@functools.lru_cache(maxsize=None)
def solutions():
    """The namespace of the source notebook's import and solution cells, executed."""
    return solution_namespace(LAB, skip=("efficiency", "lower_training_loss"))  # those cells need trained results


def pixels_softmax(input_shape, num_classes):
    """Weak answer: no convolution at all."""
    import keras

    inp = keras.Input(shape=input_shape)
    out = keras.layers.Dense(num_classes, activation="softmax")(keras.layers.Flatten()(inp))
    return keras.Model(inp, out)


def _accuracy(builder, seed):
    from cnncourse.checks import lab6

    return lab6.train_mini_net(builder, seed=seed, validation=False).accuracy


def _reference(name):
    def run(seed, profile):
        return _accuracy(solutions()[name], seed)

    return run


@functools.lru_cache(maxsize=None)
def _weak(seed, profile):
    # Both checks share this weak answer and its data: train it once per seed.
    return _accuracy(pixels_softmax, seed)


CHECKS = {
    "mini_vgg": Spec(
        metric="held-out accuracy",
        budget="lab6.mini_nets",
        reference=_reference("mini_vgg"),
        weak={"pixels_softmax": _weak},
        notes="mini-VGG (vgg_block 1x16, 2x32, Flatten, Dense) on 16x16 texture patches, Adam 3e-3",
    ),
    "mini_resnet": Spec(
        metric="held-out accuracy",
        budget="lab6.mini_nets",
        reference=_reference("mini_resnet"),
        weak={"pixels_softmax": _weak},
        notes="mini-ResNet (stem, pool, residual 16 and 32/2, GAP, Dense) on 16x16 texture patches, Adam 3e-3",
    ),
    "budget_net": Spec(
        metric="held-out accuracy",
        budget="lab6.mini_nets",
        reference=_reference("budget_net"),
        weak={"pixels_softmax": _weak},
        notes="a network of at most 4,000 parameters (conv 8, pool, conv 16, pool, conv 16, GAP, Dense: "
        "3,619) on 16x16 texture patches, Adam 3e-3",
    ),
}
