"""Answers that claim to equal anything earn nothing: checks compare plain values.

A student can return an object of an ``int`` or ``str`` subclass whose ``==`` is
always true (and ``!=`` always false). :func:`cnncourse.checks.core.plain`, applied
to every answer a check receives through :func:`~cnncourse.checks.core.call`, turns
it into the plain value it holds, so the comparison is the value's own.
"""

import numpy as np
import pytest

import sources
from cnncourse.checks import CheckFailed, lab2, lab3, lab6, lab7
from cnncourse.checks.core import call, plain


class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class AlwaysEqualStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def strip(self, *args):
        return "A"

    def upper(self):
        return "A"

    __hash__ = str.__hash__


class AlwaysEqualArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


def test_plain_reads_the_value_not_the_override():
    assert plain(AlwaysEqualInt(3)) != 4 and type(plain(AlwaysEqualInt(3))) is int
    assert plain(AlwaysEqualStr("b")) != "a" and type(plain(AlwaysEqualStr("b"))) is str
    assert plain((AlwaysEqualInt(1), [AlwaysEqualStr("x")])) == (1, ["x"])
    assert plain({AlwaysEqualStr("k"): AlwaysEqualInt(2)}) == {"k": 2}
    assert type(plain(np.arange(3).view(AlwaysEqualArray))) is np.ndarray
    # what is already plain, and NumPy's own scalars, stay what they are
    assert plain(True) is True and type(plain(np.float64(2.5))) is np.float64
    marker = object()
    assert plain(marker) is marker


def test_call_hands_checks_plain_values():
    got = call("Exercise 0 (demo)", lambda: AlwaysEqualInt(7))
    assert type(got) is int and got == 7 and got != 8


def test_lab2_output_size_that_equals_anything_fails():
    def conv_output_size(n, f, stride=1, pad=0, dilation=1):
        return AlwaysEqualInt(1)

    with pytest.raises(CheckFailed, match="output size"):
        lab2.check_conv_output_size(conv_output_size)


def test_lab6_parameter_count_that_equals_anything_fails():
    def head_params(height, width, channels, num_classes, pooling):
        return AlwaysEqualInt(0)

    with pytest.raises(CheckFailed, match="head_params"):
        lab6.check_head_params(head_params)


def test_lab7_strategy_that_equals_anything_fails():
    def choose_strategy(dataset_size, similarity):
        return AlwaysEqualStr("no idea")

    with pytest.raises(CheckFailed, match="choose_strategy"):
        lab7.check_choose_strategy(choose_strategy)


def test_lab3_backward_products_that_equals_anything_fails():
    with pytest.raises(AssertionError, match="backward_products"):
        _run_hidden(
            "lab3-dropout-init",
            "test_backward_products",
            {"np": np, "checks": lab3, "backward_products": lambda *args: AlwaysEqualInt(7)},
        )


def _run_hidden(lab, grade_id, namespace):
    exec(sources.hidden_tests(lab, grade_id), namespace)


def test_lab7_hidden_test_reads_a_strategy_that_equals_anything_as_what_it_is():
    table = {
        ("small", "similar"): "finetune_many_layers",
        ("small", "different"): "finetune_a_few_layers",
        ("large", "similar"): "classifier_from_earlier_layers",
        ("large", "different"): "classifier_on_top",
    }

    def choose_strategy(dataset_size, similarity):  # four different strategies, each in the wrong cell
        if (dataset_size, similarity) not in table:
            raise ValueError(f"{dataset_size!r}, {similarity!r}")
        return AlwaysEqualStr(table[(dataset_size, similarity)])

    lab7.check_choose_strategy(choose_strategy)  # the visible check cannot know which is which
    with pytest.raises(CheckFailed, match="choose_strategy.*hidden test failed"):
        _run_hidden("lab7-transfer", "test_choose_strategy", {"checks": lab7, "choose_strategy": choose_strategy})
    right = sources.solutions("lab7-transfer", ["choose_strategy"])["choose_strategy"]
    _run_hidden("lab7-transfer", "test_choose_strategy", {"checks": lab7, "choose_strategy": right})


def test_lab6_hidden_test_reads_the_more_efficient_network_as_what_it_is():
    results = {"mini-VGG": {"accuracy": 0.9, "params": 1000}, "mini-ResNet": {"accuracy": 0.9, "params": 5000}}
    with pytest.raises(AssertionError):
        _run_hidden(
            "lab6-architectures",
            "test_efficiency",
            {"results": results, "more_efficient": AlwaysEqualStr("mini-ResNet")},
        )
    _run_hidden("lab6-architectures", "test_efficiency", {"results": results, "more_efficient": "mini-VGG"})


def test_lab6_visible_efficiency_check_reads_the_answer_as_what_it_is():
    results = {"mini-VGG": {"accuracy": 0.9, "params": 1000}, "mini-ResNet": {"accuracy": 0.9, "params": 5000}}
    per_k = {k: r["accuracy"] / (r["params"] / 1000) for k, r in results.items()}
    with pytest.raises(CheckFailed, match="other network"):
        lab6.check_efficiency(results, per_k, AlwaysEqualStr("mini-ResNet"))
    lab6.check_efficiency(results, per_k, "mini-VGG")
