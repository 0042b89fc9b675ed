"""Hidden tests that speak the course's language and cannot be fooled.

A hidden test cell runs the student's function on inputs the visible check
never used, or checks a question's answer against the student's own results. Run inside :func:`hidden`, it gets the student's functions back
held to the exercise's :mod:`~cnncourse.checks.by_hand` rules, with their
results made :func:`~cnncourse.checks.core.plain` (so no answer fakes
equality), and any failure is told as feedback naming the exercise, not as a
bare ``AssertionError``. A visible check may be run again inside the block
on fresh cases (another seed): its failure is told without the values it
expected, which the student has not seen and should not learn from the
feedback::

    with checks.hidden("corr2d", corr2d) as corr2d_:
        assert np.allclose(corr2d_(np.ones((3, 5)), np.ones((2, 2))), 4.0)
"""

from __future__ import annotations

import contextlib
import functools
import io

from .by_hand import Refused, by_hand
from .core import CheckFailed, NotAttempted, plain


def _plain_results(fn):
    @functools.wraps(fn)
    def answered(*args, **kwargs):
        return plain(fn(*args, **kwargs))

    return answered


@contextlib.contextmanager
def hidden(exercise, *fns, rules=None):
    """Run a block of hidden tests on the student's functions ``fns``.

    What the block prints is swallowed: a hidden test speaks only when it
    fails.

    Args:
        exercise: the exercise's name as feedback shows it.
        *fns: the student's functions the block tests.
        rules: the exercise's :class:`~cnncourse.checks.by_hand.Forbidden`
            rules, or ``None``.

    Returns:
        A context manager giving the functions back (one, or a tuple of
        several; ``None`` when none was given) as the block must call them:
        held to ``rules`` and with their results made plain.

    Raises:
        NotAttempted: a function still raises ``NotImplementedError``.
        Refused: a function used what ``rules`` forbid.
        CheckFailed: anything else failed in the block: a visible check run
            again (told without the values it expected), an ``assert``, or
            any other exception.

    Example:
        >>> with hidden("Exercise 1 (corr2d)", corr2d) as corr2d_:  # doctest: +SKIP
        ...     assert corr2d_(x, k).shape == (3, 4)
    """
    wrapped = [_plain_results(by_hand(exercise, fn, rules) if rules is not None else fn) for fn in fns]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # a hidden test speaks only when it fails
            yield (wrapped[0] if len(wrapped) == 1 else tuple(wrapped)) if wrapped else None
    except (NotAttempted, Refused):
        raise
    except CheckFailed as exc:  # a visible check run on fresh cases: say what failed, not the values it wanted
        raise CheckFailed(exc.exercise, f"a hidden test failed: {exc.problem}", hint=exc.hint) from None
    except NotImplementedError:
        raise NotAttempted(
            exercise, "not attempted yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except AssertionError as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        detail = f" ({first})" if first else ""
        if not fns:  # a question: the block checks an answer, not a function
            raise CheckFailed(
                exercise,
                f"a hidden test failed: the answer is not right{detail}.",
                hint="Work it out as the question says, with your own functions and results (run the cells "
                "above it again first, so they are the results you have now).",
            ) from None
        raise CheckFailed(
            exercise,
            f"a hidden test failed: it tries your function on inputs the visible check does not use{detail}.",
            hint="Test your function on other sizes and values than the visible check's: "
            "odd sizes, uneven windows, strides that change the shape.",
        ) from None
    except Exception as exc:
        raise CheckFailed(
            exercise,
            f"a hidden test stopped with {type(exc).__name__}: {exc}",
            hint="Your function raised it, or returned something that is not an answer of the "
            "right kind (a wrong shape, None): try it on other sizes than the visible "
            "check's.",
        ) from exc


def hidden_for(exercises, rules):
    """The ``hidden`` of one lab's checks: exercise names and rules looked up by function name.

    Args:
        exercises: ``{name: "Exercise N (name)"}`` for the lab's graded exercises.
        rules: ``{name: Forbidden}`` for the exercises done by hand.

    Returns:
        ``hidden(name, *fns)``, as hidden test cells call it.
    """

    def lab_hidden(name, *fns):
        """Run a block of hidden tests of exercise ``name`` (see :func:`cnncourse.checks.hidden.hidden`)."""
        return hidden(exercises[name], *fns, rules=rules.get(name))

    return lab_hidden
