"""By hand means by hand: exercises that must not call the library that solves them.

Lab 1 asks for a cross-correlation written with loops; a ``corr2d`` that
returns ``scipy.signal.correlate2d(...)`` computes the right numbers and has
learnt nothing. An exercise declares what it must not use as
:class:`Forbidden` rules, and :func:`by_hand` holds the student's function to
them twice over, since either way alone is easy to get round:

- **statically**: the function's source (and the source of the notebook
  functions it calls) is parsed, and every name it uses is looked up in the
  notebook, so an alias (``from scipy.signal import correlate2d as c``) is
  seen for what it is;
- **dynamically**: while the function runs, every Python call it makes is
  watched (:func:`sys.setprofile`), so a forbidden function reached through
  ``getattr``, ``importlib`` or a helper in another cell is caught too.

The checks of :mod:`cnncourse.checks` are forbidden in every exercise.
"""

from __future__ import annotations

import ast
import builtins
import functools
import gc
import inspect
import linecache
import sys
import textwrap
import threading
import types
from dataclasses import dataclass, field

import numpy as np

from .core import CheckFailed

ALWAYS = ("cnncourse.checks", "cnncourse.calibration")
_ML = ("tensorflow", "keras", "torch", "jax")


@dataclass(frozen=True)
class Forbidden:
    """What an exercise must not call, and how to say so.

    Args:
        task: what the exercise asks for, as the message ends a sentence
            ("this exercise asks you to {task}").
        modules: module names; a module and all its submodules are forbidden.
        functions: single functions of an allowed module (``numpy.convolve``).

    Example:
        >>> LOOPS = Forbidden("write the loops yourself", modules=("scipy.signal",))
    """

    task: str
    modules: tuple[str, ...] = ()
    functions: tuple = field(default=())

    def module_forbidden(self, name):
        """Whether the module called ``name`` (or a package it is in) is forbidden."""
        name = name or ""
        return any(name == m or name.startswith(m + ".") for m in self.modules + ALWAYS)

    def matching(self, name):
        """The forbidden module that ``name`` is, or lies in (``None`` when it is allowed)."""
        name = name or ""
        return next((m for m in self.modules + ALWAYS if name == m or name.startswith(m + ".")), None)

    def codes(self):
        return {_code_of(f) for f in self.functions} - {None}


def _code_of(fn):
    fn = getattr(fn, "_implementation", fn)  # NumPy's array-function dispatchers
    fn = inspect.unwrap(fn) if callable(fn) else fn
    return getattr(fn, "__code__", None)


def _dotted(obj):
    """The name a student would recognise (``scipy.signal.correlate2d``)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    public = ".".join(part for part in module.split(".") if not part.startswith("_"))
    return f"{public}.{name}" if public else name


def _is_forbidden(obj, rules, codes):
    if isinstance(obj, types.ModuleType):
        return rules.module_forbidden(obj.__name__)
    if _code_of(obj) in codes and codes:
        return True
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and rules.module_forbidden(module) and callable(obj)


# --- static: read the source --------------------------------------------------------------------

def _source_tree(fn):
    """The syntax tree of ``fn`` alone (a lambda's source line may hold the code around it too)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if getattr(fn, "__name__", "") == "<lambda>":
        return ast.Module(body=[ast.Expr(n) for n in ast.walk(tree) if isinstance(n, ast.Lambda)], type_ignores=[])
    return tree


def _resolve(node, namespace):
    """The object a ``Name`` or ``a.b.c`` expression names, following modules only (no code runs)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    missing = object()
    obj = namespace.get(node.id, getattr(builtins, node.id, missing))
    if obj is missing:
        return None
    for attr in reversed(parts):
        if not isinstance(obj, types.ModuleType):
            break
        obj = obj.__dict__.get(attr, missing)
        if obj is missing:
            return None
    return obj


def static_violations(fn, rules, _seen=None):
    """Forbidden names the source of ``fn`` (and of the notebook functions it calls) uses.

    Args:
        fn: the student's function.
        rules: a :class:`Forbidden`.

    Returns:
        A sorted list of the forbidden names found (empty when there are none,
        or when the source cannot be read: the dynamic check still applies).
    """
    seen = set() if _seen is None else _seen
    if id(fn) in seen:
        return []
    seen.add(id(fn))
    codes = rules.codes()
    if _is_forbidden(fn, rules, codes):
        return [_dotted(fn)]
    fn = inspect.unwrap(fn) if isinstance(fn, types.FunctionType) else fn  # the source, read where it was written
    tree = _source_tree(fn)
    if tree is None:
        return []
    namespace = dict(getattr(fn, "__globals__", {}))
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    for name, cell in zip(code.co_freevars if code else (), cells):  # names a closure holds
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    found, inner = set(), set()
    for node in ast.walk(tree):  # outer nodes first: ``a.b.c`` is judged whole, not by ``a``
        if id(node) in inner:
            continue
        if isinstance(node, ast.Attribute):
            part = node.value
            while isinstance(part, (ast.Attribute, ast.Name)):
                inner.add(id(part))
                part = getattr(part, "value", None)
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if rules.module_forbidden(a.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if rules.module_forbidden(node.module):
                found.add(node.module)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            obj = _resolve(node, namespace)
            if obj is None:
                continue
            if _is_forbidden(obj, rules, codes):
                found.add(_dotted(obj))
            elif (isinstance(obj, types.FunctionType) and obj is not fn
                  and obj.__module__ == getattr(fn, "__module__", None)):
                found.update(static_violations(obj, rules, seen))  # a helper from another cell
    return sorted(found)


# --- dynamic: watch the calls --------------------------------------------------------------------

class _Monitor:
    """A profile hook that records the first forbidden call made while it is on."""

    def __init__(self, rules):
        self.rules, self.codes, self.found = rules, rules.codes(), None

    def __call__(self, frame, event, arg):
        if self.found is not None:
            return
        if event == "call":
            if frame.f_code in self.codes:
                self.found = (_dotted_code(frame), _caller_line(frame.f_back))
            else:
                module = self.rules.matching(frame.f_globals.get("__name__", ""))
                if module:
                    self.found = (module, _caller_line(frame.f_back))
        elif event == "c_call":
            owner = getattr(arg, "__module__", None) or getattr(type(getattr(arg, "__self__", None)), "__module__", "")
            module = self.rules.matching(owner)
            if module:
                self.found = (module, _caller_line(frame))


def _dotted_code(frame):
    module = frame.f_globals.get("__name__", "")
    public = ".".join(part for part in module.split(".") if not part.startswith("_"))
    return f"{public}.{frame.f_code.co_name}"


def _caller_line(frame):
    """The line of code that made a call, when its source can be read."""
    if frame is None:
        return ""
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()


class Refused(CheckFailed):
    """The student's function used what its exercise forbids: zero for the exercise, whatever it returned."""


def _refusal(exercise, rules, name, line=""):
    where = f" (your code reached it through `{line}`)" if line else ""
    return Refused(exercise, f"this exercise asks you to {rules.task}: `{name}` is not allowed here{where}.",
                       hint="Write it with NumPy (or plain Python) yourself; the check compares your "
                            "result with the library's, so you can see when you have it right.")


def by_hand(exercise, fn, rules):
    """Hold a student's function to an exercise's :class:`Forbidden` rules.

    The source is read at once (a forbidden name raises :class:`CheckFailed`
    here); the function returned watches every call the student's function
    makes and raises :class:`CheckFailed` after any call that reached a
    forbidden function, or that switched the watching off.

    Args:
        exercise: the exercise's name as feedback shows it.
        fn: the student's function.
        rules: a :class:`Forbidden`.

    Returns:
        A function that behaves like ``fn`` under the rules.

    Example:
        >>> corr2d = by_hand("Exercise 1 (corr2d)", corr2d, LOOPS)  # doctest: +SKIP
    """
    names = static_violations(fn, rules)
    if names:
        raise _refusal(exercise, rules, names[0])

    @functools.wraps(fn)
    def watched(*args, **kwargs):
        monitor = _Monitor(rules)
        previous, previous_threads = sys.getprofile(), threading.getprofile()
        collecting = gc.isenabled()
        gc.disable()  # a finaliser run by the collector is not the student's call
        sys.setprofile(monitor)
        threading.setprofile(monitor)
        try:
            result = fn(*args, **kwargs)
        finally:
            tampered = sys.getprofile() is not monitor
            sys.setprofile(previous)
            threading.setprofile(previous_threads)
            if collecting:
                gc.enable()
        if monitor.found is not None:
            raise _refusal(exercise, rules, *monitor.found)
        if tampered:
            raise Refused(exercise, "your function switched off the check's watch on the calls it makes "
                                        "(sys.setprofile); the exercise cannot be graded that way.")
        return result

    return watched


OWN_WORK = Forbidden("write it yourself")
"""Any exercise: only the course's own checks (their oracles, their helpers) are out of bounds."""

LOOPS = Forbidden("write the loops yourself",
                  modules=_ML + ("scipy.signal", "scipy.ndimage", "skimage", "cv2"),
                  functions=(np.convolve, np.correlate))
"""Convolution and pooling written out: no library that convolves or pools."""

GRADIENTS = Forbidden("derive the gradients yourself",
                      modules=_ML + ("scipy.signal", "scipy.ndimage", "autograd"),
                      functions=(np.convolve, np.correlate))
"""Backward passes: no automatic differentiation, no library convolution."""

ARITHMETIC = Forbidden("work the numbers out from the formulas", modules=_ML)
"""Shapes and parameter counts: no Keras model to read them from."""

NUMPY_ONLY = Forbidden("write it with NumPy", modules=_ML)
"""Initialisers and dropout: NumPy's random generator, not Keras's layers."""
