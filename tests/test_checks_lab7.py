"""Lab 7's checks accept right answers and refuse plausible wrong ones."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnncourse.checks import CheckFailed, lab7  # noqa: E402


# ---------------------------------------------------------------- right answers
def build_transfer_model(base, num_classes):
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:])
    x = base(inputs, training=False)
    x = keras.layers.Dropout(0.2)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


def unfreeze_top(base, n_layers):
    base.trainable = True
    cut = len(base.layers) - n_layers
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
    return base


def compile_for_finetuning(model, base_lr=None):
    if base_lr is None:
        base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    model.compile(optimizer=keras.optimizers.Adam(base_lr / 10), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


MATRIX = {("small", "similar"): "classifier_on_top", ("small", "different"): "classifier_from_earlier_layers",
          ("large", "similar"): "finetune_a_few_layers", ("large", "different"): "finetune_many_layers"}


def choose_strategy(dataset_size, similarity):
    if (dataset_size, similarity) not in MATRIX:
        raise ValueError("unknown")
    return MATRIX[(dataset_size, similarity)]


# ---------------------------------------------------------------- wrong answers
def transfer_not_frozen(base, num_classes):
    inputs = keras.Input(shape=base.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(base(inputs, training=False)))


def transfer_sequential(base, num_classes):
    base.trainable = False
    return keras.Sequential([base, keras.layers.Dense(num_classes, activation="softmax")])


def transfer_no_training_flag(base, num_classes):
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(base(inputs)))


def transfer_logits(base, num_classes):
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:])
    return keras.Model(inputs, keras.layers.Dense(num_classes)(base(inputs, training=False)))


def transfer_flattened(base, num_classes):
    base.trainable = False
    return keras.Model(base.input, keras.layers.Dense(num_classes, activation="softmax")(base.output))


def unfreeze_keeps_bn_trainable(base, n_layers):
    base.trainable = True
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= len(base.layers) - n_layers
    return base


def unfreeze_bottom(base, n_layers):
    base.trainable = True
    for i, layer in enumerate(base.layers):
        layer.trainable = i < n_layers and not isinstance(layer, keras.layers.BatchNormalization)
    return base


def unfreeze_layers_but_not_model(base, n_layers):
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= len(base.layers) - n_layers and not isinstance(layer, keras.layers.BatchNormalization)
    return base


def unfreeze_off_by_one(base, n_layers):
    base.trainable = True
    for i, layer in enumerate(base.layers):
        layer.trainable = i > len(base.layers) - n_layers and not isinstance(layer, keras.layers.BatchNormalization)
    return base


def compile_same_lr(model, base_lr=None):
    if base_lr is None:
        base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    model.compile(optimizer=keras.optimizers.Adam(base_lr), loss="sparse_categorical_crossentropy")
    return model


def compile_hundredth(model, base_lr=None):
    if base_lr is None:
        base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    model.compile(optimizer=keras.optimizers.Adam(base_lr / 100), loss="sparse_categorical_crossentropy")
    return model


def compile_keras2_attribute(model, base_lr=None):
    base_lr = base_lr or float(model.optimizer.lr)  # Keras 2 name: gone in Keras 3
    model.compile(optimizer=keras.optimizers.Adam(base_lr / 10), loss="sparse_categorical_crossentropy")
    return model


def compile_ignores_old_optimizer(model, base_lr=None):
    model.compile(optimizer=keras.optimizers.Adam((base_lr or 1e-3) / 10), loss="sparse_categorical_crossentropy")
    return model


def compile_wrong_loss(model, base_lr=None):
    if base_lr is None:
        base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    model.compile(optimizer=keras.optimizers.Adam(base_lr / 10), loss="categorical_crossentropy")
    return model


def strategy_always_top(dataset_size, similarity):
    return "classifier_on_top"


def strategy_no_validation(dataset_size, similarity):
    return MATRIX.get((dataset_size, similarity), "classifier_on_top")


def strategy_unknown_name(dataset_size, similarity):
    if (dataset_size, similarity) not in MATRIX:
        raise ValueError("unknown")
    return MATRIX[(dataset_size, similarity)].replace("_", " ")


# ---------------------------------------------------------------- tests
def test_right_answers_pass(capsys):
    assert lab7.check_build_transfer_model(build_transfer_model) is None
    assert lab7.check_unfreeze_top(unfreeze_top) is None
    assert lab7.check_compile_for_finetuning(compile_for_finetuning) is None
    assert lab7.check_choose_strategy(choose_strategy) is None
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize("wrong", [transfer_not_frozen, transfer_sequential, transfer_no_training_flag,
                                   transfer_logits, transfer_flattened])
def test_wrong_transfer_models_fail(wrong):
    with pytest.raises(CheckFailed):
        lab7.check_build_transfer_model(wrong)


@pytest.mark.parametrize("wrong", [unfreeze_keeps_bn_trainable, unfreeze_bottom, unfreeze_layers_but_not_model,
                                   unfreeze_off_by_one])
def test_wrong_unfreezing_fails(wrong):
    with pytest.raises(CheckFailed):
        lab7.check_unfreeze_top(wrong)


def test_batchnorm_mistake_gets_its_own_hint():
    with pytest.raises(CheckFailed, match="batch-norm"):
        lab7.check_unfreeze_top(unfreeze_keeps_bn_trainable)


@pytest.mark.parametrize("wrong", [compile_same_lr, compile_hundredth, compile_keras2_attribute,
                                   compile_ignores_old_optimizer, compile_wrong_loss])
def test_wrong_finetuning_compile_fails(wrong):
    with pytest.raises(CheckFailed):
        lab7.check_compile_for_finetuning(wrong)


@pytest.mark.parametrize("wrong", [strategy_always_top, strategy_no_validation, strategy_unknown_name])
def test_wrong_strategies_fail(wrong):
    with pytest.raises(CheckFailed):
        lab7.check_choose_strategy(wrong)


def test_unattempted_exercise_says_so():
    def todo(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not attempted"):
        lab7.check_choose_strategy(todo)


def test_experiment_results_are_checked():
    ok = {"transfer": [{"val_accuracy": [0.5]}] * 2, "scratch": [{"val_accuracy": [0.3]}] * 2}
    assert lab7.check_experiment(ok, [0, 1]) is None
    with pytest.raises(CheckFailed):
        lab7.check_experiment({"transfer": ok["transfer"]}, [0, 1])
    with pytest.raises(CheckFailed):
        lab7.check_experiment({"transfer": [{"accuracy": [0.5]}] * 2, "scratch": ok["scratch"]}, [0, 1])


@pytest.mark.slow
def test_train_transfer_check():
    from cnncourse.models import source

    def train_transfer(x, y, epochs, batch_size, validation_data=None):
        model = build_transfer_model(source.load_base(), 5)
        model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model, model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)

    def train_unfrozen(x, y, epochs, batch_size, validation_data=None):
        base = source.load_base()
        inputs = keras.Input(shape=(32, 32, 1))
        model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(base(inputs, training=False)))
        model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy")
        return model, model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)

    data = source.digits_on_canvas((5, 6, 7, 8, 9), seed=1)
    x, y = data.images[:40], data.target[:40]
    assert lab7.check_train_transfer(train_transfer, x, y) is None
    with pytest.raises(CheckFailed):
        lab7.check_train_transfer(train_unfrozen, x, y)
