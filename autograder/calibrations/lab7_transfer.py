"""Calibration of Lab 7's training check (``python -m autograder.calibrate lab7-transfer``).

The check: held-out accuracy on the digits 5-9 of the student's
``train_transfer`` with 10 labels per class (budget ``lab7.transfer``),
measured by :func:`cnncourse.checks.lab7.measure_transfer`. The reference is
the source notebook's own solution. The weak answers are what transfer must
beat:

* ``scratch``: the same network trained from random weights on the same
  labels and budget (:func:`cnncourse.models.source.fit_scratch`);
* ``untrained_base``: the recipe of the solution on a frozen base that was
  never trained (random features: transfer without anything to transfer).

The second check: the gain in accuracy of the student's ``fine_tune`` with
the whole base opened over the same function with nothing opened, on the
digits in dark ink (budget ``lab7.finetune``), measured by
:func:`cnncourse.checks.lab7.measure_finetuning`. The weak answers are the
fine-tuning mistakes:

* ``never_opens``: a ``fine_tune`` that never unfreezes the base (the gain is
  the noise of training the head longer);
* ``top_block_only``: one that opens only ``conv3`` whatever it is asked;
* ``full_rate``: one that fine-tunes at the head's learning rate (0.03)
  instead of a tenth.
"""

from __future__ import annotations

import functools

from autograder.calibrations import Spec, solution_namespace
from cnncourse.checks import lab7

LAB = "lab7-transfer"


@functools.lru_cache(maxsize=1)
def reference():
    ns = solution_namespace(LAB, ["build_transfer_model", "train_transfer"])
    return ns["build_transfer_model"], ns["train_transfer"]


def _scratch(x, y, epochs, batch_size, validation_data=None):
    from cnncourse.models import source

    return source.fit_scratch(x, y, epochs, batch_size, validation_data)


def _untrained_base(x, y, epochs, batch_size, validation_data=None):
    import keras

    from cnncourse.models import source

    build, _ = reference()
    net = source.build_digits_cnn(5)
    base = keras.Model(net.input, net.get_layer(source.FEATURES).output)
    model = build(base, 5)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)


@functools.lru_cache(maxsize=1)
def reference_fine_tune():
    ns = solution_namespace(LAB, ["build_transfer_model", "unfreeze_top", "compile_for_finetuning", "fine_tune"])
    return ns


def _fine_tune_variant(open_layers=None, rate_factor=0.1):
    """The reference ``fine_tune`` with one mistake: which layers it opens, or the fine-tuning rate."""
    import keras

    from cnncourse.models import source

    ns = reference_fine_tune()

    def fine_tune(x, y, n_layers, head_epochs, tune_epochs, batch_size, validation_data=None):
        base = source.load_base()
        model = ns["build_transfer_model"](base, 5)
        model.compile(
            optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        model.fit(x, y, epochs=head_epochs, batch_size=batch_size, verbose=0)
        ns["unfreeze_top"](base, n_layers if open_layers is None else open_layers)
        model.compile(
            optimizer=keras.optimizers.Adam(0.03 * rate_factor),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(x, y, epochs=tune_epochs, batch_size=batch_size, validation_data=validation_data, verbose=0)
        return model, history

    return fine_tune


def _measure_finetuning(fine_tune=None):
    def run(seed, profile):
        return lab7.measure_finetuning(fine_tune or reference_fine_tune()["fine_tune"], seed, profile)

    return run


def _measure(train_fn=None):
    def run(seed, profile):
        return lab7.measure_transfer(train_fn or reference()[1], seed, profile)

    return run


CHECKS = {
    "transfer": Spec(
        metric="held-out accuracy with 10 labels per class",
        budget="lab7.transfer",
        reference=_measure(),
        weak={"scratch": _measure(_scratch), "untrained_base": _measure(_untrained_base)},
        notes="Frozen digits04 base + softmax head trained on 10 labels per class of the digits 5-9 "
        "(Adam 0.03); accuracy on the 20% of the target digits kept for grading (in neither the pool "
        "nor the test set the notebook is given). The hidden test averages seeds 0..budget.seeds-1, all calibrated here.",
    ),
    "finetune": Spec(
        metric="accuracy gained by fine-tuning the whole base over the frozen base",
        budget="lab7.finetune",
        reference=_measure_finetuning(),
        weak={
            "never_opens": _measure_finetuning(_fine_tune_variant(open_layers=0)),
            "top_block_only": _measure_finetuning(_fine_tune_variant(open_layers=3)),
            "full_rate": _measure_finetuning(_fine_tune_variant(rate_factor=1.0)),
        },
        notes="The digits 5-9 in dark ink on white (1 - image), 100 labels per class: the student's fine_tune "
        "trains the head (Adam 0.03, lab7.finetune_head's epochs), then opens the last n_layers of the base and "
        "trains at a tenth of the rate (lab7.finetune's epochs); the metric is the accuracy on the graded ink "
        "digits with every layer opened minus with none opened, same seed. The hidden test averages seeds "
        "0..budget.seeds-1, all calibrated here.",
    ),
}
