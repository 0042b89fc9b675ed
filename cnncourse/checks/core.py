"""Instant, specific feedback for students.

A visible test cell calls a check; the check prints one line saying which
exercise passed, or raises :class:`CheckFailed` with what was expected, what
was found and, optionally, a hint::

    from cnncourse.checks import lab1
    lab1.check_corr2d(corr2d)

    ✔ Exercise 1 (corr2d): matches scipy.signal.correlate2d on 5 cases

A check never contains the answer it checks for: it compares with an
independent oracle (TensorFlow, SciPy, Keras) or with properties the answer
must have.
"""

from __future__ import annotations

import numpy as np

PASS_MARK = "\u2714"
FAIL_MARK = "\u2718"


class CheckFailed(AssertionError):
    """Raised by a check: what was expected and what was found.

    The message is one line, ``✘ <exercise>: <problem>``, then an
    ``expected:``, a ``found:`` and a ``hint:`` line for those given. Arrays
    are shown compactly and any value longer than 300 characters is cut. In
    IPython the feedback is shown instead of a traceback into the checker's
    source.

    Args:
        exercise: the exercise's name as feedback shows it, e.g.
            ``"Exercise 1 (corr2d)"``.
        problem: what is wrong, in one sentence.
        expected: what the check wanted (``None``: no ``expected:`` line).
        found: what the student's code gave (``None``: no ``found:`` line).
        hint: how to fix it (``None`` or empty: no ``hint:`` line).

    Example:
        >>> print(CheckFailed("Exercise 1 (corr2d)", "the output has the wrong shape.",
        ...                   expected=(3, 3), found=(4, 4)))
        ✘ Exercise 1 (corr2d): the output has the wrong shape.
          expected: (3, 3)
          found:    (4, 4)
    """

    def __init__(self, exercise, problem, expected=None, found=None, hint=None):
        self.exercise, self.problem = exercise, problem
        self.expected, self.found, self.hint = expected, found, hint
        lines = [f"{FAIL_MARK} {exercise}: {problem}"]
        if expected is not None:
            lines.append(f"  expected: {_short(expected)}")
        if found is not None:
            lines.append(f"  found:    {_short(found)}")
        if hint:
            lines.append(f"  hint: {hint}")
        super().__init__("\n".join(lines))

    def _render_traceback_(self):
        """What IPython shows: the feedback itself, not the checker's source code."""
        return str(self).splitlines()


class NotAttempted(CheckFailed):
    """The exercise still raises ``NotImplementedError``.

    Raised by :func:`call` and :func:`expect_raises` (and the hidden tests)
    when the student's function is still the notebook's stub.
    """


def _short(value, limit=300):
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=40)
        text = f"array of shape {value.shape}:\n    " + text.replace("\n", "\n    ")
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def passed(exercise, detail=""):
    """Print the line a student sees when a check passes.

    Checks end with it and return ``None``, so a passing check cell shows its
    ✔ line and no ``Out[...]`` (nbgrader would read a returned value as the
    cell's score).

    Args:
        exercise: the exercise's name as feedback shows it.
        detail: what was checked, printed after a colon (empty: nothing is
            added).

    Returns:
        None.

    Example:
        >>> passed("Exercise 1 (corr2d)", "matches scipy.signal.correlate2d on 5 cases")
        ✔ Exercise 1 (corr2d): matches scipy.signal.correlate2d on 5 cases
    """
    tail = f": {detail}" if detail else ""
    print(f"{PASS_MARK} {exercise}{tail}")


_EXACT = (bool, int, float, complex, str, bytes, type(None))


def plain(value):
    """The value as built-in types that compare by value alone.

    An answer may be an object of a subclass that answers comparisons for
    itself (``class Yes(int): __eq__ = lambda *a: True``): it is turned into
    the plain ``int``, ``float``, ``complex``, ``str`` or ``bytes`` it holds,
    read with the built-in type's own method so no override is called; lists,
    tuples (named ones too), sets and dicts are rebuilt as the built-in container, their
    contents made plain too; arrays become plain ``np.ndarray``. NumPy's own
    scalars and every other object (a Keras model, a history) are kept as
    they are.

    Args:
        value: what a student's function returned.

    Returns:
        The same value, in types whose comparisons no answer can change.

    Example:
        >>> class Yes(int):
        ...     def __eq__(self, other):
        ...         return True
        >>> plain(Yes(3)) == 4
        False
    """
    kind = type(value)  # type(), not isinstance(): a __class__ property cannot change it
    if kind in _EXACT:
        return value
    if issubclass(kind, np.generic):  # a subclass of a NumPy scalar gives up the number it holds
        return value if kind.__module__ == "numpy" else plain(np.generic.item(value))
    if issubclass(kind, np.ndarray):
        return np.array(value, copy=True, subok=False) if kind is not np.ndarray else value
    for base, read in (
        (bool, bool.__bool__),
        (int, int.__index__),
        (float, float.__float__),
        (complex, complex.__complex__),
        (str, str.__str__),
        (bytes, bytes.__bytes__),
    ):
        if issubclass(kind, base):
            return read(value)
    for base in (list, tuple, set, frozenset):
        if issubclass(kind, base):
            return base(plain(v) for v in base.__iter__(value))
    if issubclass(kind, dict):
        return {plain(k): plain(v) for k, v in dict.items(value)}
    return value


def call(exercise, fn, *args, **kwargs):
    """Call a student's function, turning "not done yet" and crashes into clear feedback.

    What it returns is made :func:`plain`, so a check compares values, never
    an object's own idea of equality. A :class:`CheckFailed` raised inside
    the call (a check the function runs itself) passes through unchanged.

    Args:
        exercise: the exercise's name as feedback shows it.
        fn: the student's function.
        *args: the positional arguments to call ``fn`` with.
        **kwargs: the keyword arguments to call ``fn`` with.

    Returns:
        ``plain(fn(*args, **kwargs))``.

    Raises:
        NotAttempted: ``fn`` raised ``NotImplementedError``.
        CheckFailed: ``fn`` raised any other exception; the message shows the
            call (arrays as their shape and dtype) and the exception.

    Example:
        >>> call("Exercise 1", lambda a, b: a + b, 2, b=3)
        5
        >>> def todo(x):
        ...     raise NotImplementedError()
        >>> try:
        ...     call("Exercise 1", todo, 1)
        ... except NotAttempted as exc:
        ...     print(exc.problem)
        not attempted yet: replace `raise NotImplementedError()` with your code.
    """
    try:
        return plain(fn(*args, **kwargs))
    except NotImplementedError:
        raise NotAttempted(
            exercise, "not attempted yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:  # the student's code crashed: show how it was called
        shown = ", ".join([_arg_repr(a) for a in args] + [f"{k}={_arg_repr(v)}" for k, v in kwargs.items()])
        raise CheckFailed(
            exercise, f"calling it as {getattr(fn, '__name__', 'fn')}({shown}) raised {type(exc).__name__}: {exc}"
        ) from exc


def _arg_repr(a):
    if isinstance(a, np.ndarray):
        return f"<array {a.shape} {a.dtype}>"
    text = repr(a)
    return text if len(text) < 40 else text[:37] + "..."


def expect_array(exercise, found, expected, atol=1e-5, rtol=1e-5, what="result", hint=None):
    """Fail unless ``found`` has ``expected``'s shape and values (within tolerance).

    Values are compared with ``np.allclose(found, expected, atol=atol,
    rtol=rtol)``; the message about wrong values names the index of the
    largest difference and shows both arrays.

    Args:
        exercise: the exercise's name as feedback shows it.
        found: what the student's function returned (anything
            ``np.asarray`` reads).
        expected: the right values, an array or anything ``np.shape`` reads.
        atol: the absolute tolerance.
        rtol: the relative tolerance.
        what: what the array is, for the message ("the {what} has the wrong
            shape.").
        hint: how to fix it, shown on failure (``None``: no hint).

    Returns:
        None.

    Raises:
        CheckFailed: ``found`` is ``None``, has another shape, or other values.

    Example:
        >>> expect_array("Exercise 1", [1.0, 2.0], np.array([1.0, 2.0]))
        >>> try:
        ...     expect_array("Exercise 1", [[1.0, 2.0]], np.array([1.0, 2.0]), what="output")
        ... except CheckFailed as exc:
        ...     print(exc.problem)
        the output has the wrong shape.
    """
    found = np.asarray(found) if found is not None else found
    if found is None:
        raise CheckFailed(exercise, f"the {what} is None: did you forget to `return` it?", hint=hint)
    if found.shape != np.shape(expected):
        raise CheckFailed(
            exercise, f"the {what} has the wrong shape.", expected=np.shape(expected), found=found.shape, hint=hint
        )
    if not np.allclose(found, expected, atol=atol, rtol=rtol):
        worst = np.unravel_index(np.argmax(np.abs(found - expected)), found.shape)
        raise CheckFailed(
            exercise,
            f"the {what} has the right shape but wrong values "
            f"(largest difference at index {tuple(int(i) for i in worst)}).",
            expected=np.asarray(expected),
            found=found,
            hint=hint,
        )


def expect_equal(exercise, found, expected, what="result", hint=None):
    """Fail unless ``found == expected``.

    Args:
        exercise: the exercise's name as feedback shows it.
        found: the value to check (what :func:`call` returned: already
            plain).
        expected: the right value.
        what: what the value is, for the message ("the {what} is wrong.").
        hint: how to fix it, shown on failure (``None``: no hint).

    Returns:
        None.

    Raises:
        CheckFailed: the two differ; the message shows both.

    Example:
        >>> expect_equal("Exercise 1", 7, 7, what="output size")
        >>> try:
        ...     expect_equal("Exercise 1", 6, 7, what="output size")
        ... except CheckFailed as exc:
        ...     print(exc.problem, exc.expected, exc.found)
        the output size is wrong. 7 6
    """
    if found != expected:
        raise CheckFailed(exercise, f"the {what} is wrong.", expected=expected, found=found, hint=hint)


def expect_raises(exercise, exc_type, fn, *args, what="this input", hint=None, **kwargs):
    """Fail unless ``fn(*args, **kwargs)`` raises ``exc_type``.

    Args:
        exercise: the exercise's name as feedback shows it.
        exc_type: the exception class the call must raise (a subclass of it
            counts too).
        fn: the student's function.
        *args: the positional arguments of the call.
        what: the input, for the message ("{what} should raise ...").
        hint: how to fix it, shown on failure (``None``: no hint).
        **kwargs: the keyword arguments of the call.

    Returns:
        None (the expected exception is swallowed).

    Raises:
        NotAttempted: the call raised ``NotImplementedError``.
        CheckFailed: the call raised another exception, or nothing.

    Example:
        >>> expect_raises("Exercise 2", ValueError, int, "seven", what="int('seven')")
    """
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(
            exercise, "not attempted yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except exc_type:
        return
    except Exception as exc:  # noqa: BLE001 - any other exception is the student's, told as such
        raise CheckFailed(
            exercise, f"{what} should raise {exc_type.__name__}, but raised {type(exc).__name__}: {exc}", hint=hint
        ) from None
    raise CheckFailed(exercise, f"{what} should raise {exc_type.__name__}, but nothing was raised.", hint=hint)
