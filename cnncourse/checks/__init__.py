"""Checks that visible test cells call for instant feedback.

``core`` has the building blocks (:class:`CheckFailed`, :func:`call`,
:func:`expect_array`...), ``architecture`` compares Keras models with a
specification, and one module per lab (``lab1``, ``lab2``, ...) holds that
lab's checks.
"""

from .architecture import LayerSpec, check_architecture, compare, describe
from .core import CheckFailed, NotAttempted, call, expect_array, expect_equal, expect_raises, passed, plain

__all__ = [
    "CheckFailed",
    "NotAttempted",
    "call",
    "expect_array",
    "expect_equal",
    "expect_raises",
    "passed",
    "plain",
    "LayerSpec",
    "check_architecture",
    "compare",
    "describe",
]
