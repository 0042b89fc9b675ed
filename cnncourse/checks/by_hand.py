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
import contextlib
import dataclasses
import functools
import gc
import inspect
import linecache
import os
import sys
import textwrap
import threading
import _thread
import types
from dataclasses import dataclass, field

import numpy as np

from .core import CheckFailed

ALWAYS = ("cnncourse.checks", "cnncourse.calibration")
_ML = ("tensorflow", "keras", "torch", "jax")
ESCAPES = ("threading", "_thread", "concurrent", "multiprocessing", "subprocess", "ctypes", "_ctypes")
"""Ways out of the watched call: other threads and processes, C calls (strict rules; ``importlib`` too, in
the source: NumPy's own lazy imports run it while an honest function is watched)."""
_ESCAPE_FUNCTIONS = tuple(
    getattr(os, name)
    for name in ("system", "popen", "fork", "execv", "execve", "spawnv", "posix_spawn", "posix_spawnp", "forkpty")
    if hasattr(os, name)
)
_HARMLESS = (threading.RLock, _thread.allocate_lock, _thread.RLock, _thread.get_ident)
"""Escape-module functions that only make or name a lock (NumPy's random generators make one): no way out."""
_BY_NAME = frozenset({"getattr", "__import__", "eval", "exec", "compile", "globals", "vars", "locals", "breakpoint"})
"""Built-ins that reach a function by its name, out of sight of the source (refused by strict rules)."""
_INTROSPECTION = frozenset(
    {
        "__dict__",
        "__globals__",
        "__builtins__",
        "__closure__",
        "__code__",
        "__getattribute__",
        "__subclasses__",
        "f_globals",
        "f_locals",
        "f_back",
        "modules",
        "_getframe",
        "setprofile",
        "getprofile",
        "settrace",
        "gettrace",
    }
)
"""Attributes that open the interpreter's own tables (refused by strict rules)."""
_WATCH = (sys.setprofile, sys.getprofile, sys.settrace, sys.gettrace)


@dataclass(frozen=True)
class Forbidden:
    """What an exercise must not call, and how to say so.

    The course's checks and calibration (:data:`ALWAYS`) are forbidden under
    every rule.

    Args:
        task: what the exercise asks for, as the message ends a sentence
            ("this exercise asks you to {task}").
        modules: module names; a module and all its submodules are forbidden.
        functions: single functions of an allowed module (``numpy.convolve``).
        strict: also refuse the ways around the watch: other threads and
            processes and C calls (:data:`ESCAPES`, ``importlib``), the
            built-ins that reach a function by its name (``getattr``,
            ``eval``...), attributes that open the interpreter's tables
            (``__globals__``...), source that cannot be read, and a result
            that is not numbers, arrays or containers of them.

    Example:
        >>> LOOPS = Forbidden("write the loops yourself", modules=("scipy.signal",))
    """

    task: str
    modules: tuple[str, ...] = ()
    functions: tuple = field(default=())
    strict: bool = False

    def _all_modules(self):
        return self.modules + ALWAYS + (ESCAPES if self.strict else ())

    def module_forbidden(self, name):
        """Return whether the module called ``name`` (or a package it is in) is forbidden in the source.

        Args:
            name: a dotted module name (``None`` counts as ``""``).

        Returns:
            True when ``name`` is, or lies in, a forbidden module; under strict
            rules ``importlib`` is forbidden too.

        Example:
            >>> LOOPS.module_forbidden("scipy.signal.windows")
            True
            >>> LOOPS.module_forbidden("numpy.linalg")
            False
        """
        name = name or ""
        named = self._all_modules() + (("importlib",) if self.strict else ())
        return any(name == m or name.startswith(m + ".") for m in named)

    def matching(self, name):
        """Return the forbidden module that ``name`` is, or lies in (``None`` when it is allowed).

        Args:
            name: a dotted module name (``None`` counts as ``""``).

        Returns:
            The forbidden module's name, or ``None``.

        Example:
            >>> OWN_WORK.matching("cnncourse.checks.lab1")
            'cnncourse.checks'
        """
        name = name or ""
        return next((m for m in self._all_modules() if name == m or name.startswith(m + ".")), None)

    def codes(self):
        """Return the code objects of the forbidden functions written in Python.

        Returns:
            A set of code objects (functions written in C have none: see
            :meth:`builtin_functions`).
        """
        return {_code_of(f) for f in self.functions} - {None}

    def builtin_functions(self, known=None):
        """Return the functions written in C the rules forbid, by identity (they have no code object to match).

        Args:
            known: ``{id(module): name}`` of ``sys.modules``, when the caller
                has it (``None``: made here, once).

        Returns:
            ``{id(function): dotted name}``; under strict rules ``os.system``,
            ``os.fork`` and the like too.
        """
        extra = _ESCAPE_FUNCTIONS if self.strict else ()
        known = _module_ids() if known is None else known
        return {id(f): _dotted(f, known) for f in tuple(self.functions) + extra if _code_of(f) is None}


def _module_ids():
    """``{id(module): name}`` of every module imported so far."""
    return {id(m): name for name, m in list(sys.modules.items())}


def _code_of(fn):
    fn = getattr(fn, "_implementation", fn)  # NumPy's array-function dispatchers
    fn = inspect.unwrap(fn) if callable(fn) else fn
    return getattr(fn, "__code__", None)


def _dotted(obj, known=None):
    """The name a student would recognise (``scipy.signal.correlate2d``); ``known`` as for :func:`_owner_modules`."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None) or ""
    if isinstance(getattr(obj, "__self__", None), types.ModuleType):  # a C function: where it really lives
        module = _owner_modules(obj, known)[-1] or module
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    public = ".".join(part for part in module.split(".") if not part.startswith("_")) or module
    return f"{public}.{name}" if public else name


def _owner_modules(obj, known=None):
    """The names of the module ``obj`` belongs to: the one it states, and for a C function the one holding it.

    A C function's ``__module__`` can be rewritten; its ``__self__`` is the extension module itself,
    looked up in ``sys.modules`` by identity (``known``: a prepared ``{id(module): name}``).
    """
    names = []
    stated = getattr(obj, "__module__", None)
    if isinstance(stated, str):
        names.append(stated)
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, types.ModuleType):
        known = known if known is not None else _module_ids()
        names.append(known.get(id(owner)) or getattr(owner, "__name__", ""))
    elif owner is not None:
        names.append(getattr(type(owner), "__module__", "") or "")
    return names


def _unwrap_partial(obj):
    """The function a ``functools.partial`` (of a partial...) calls in the end."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return obj


def _is_forbidden(obj, rules, codes):
    if isinstance(obj, types.ModuleType):
        return rules.module_forbidden(obj.__name__)
    obj = _unwrap_partial(obj)
    if _code_of(obj) in codes and codes:
        return True
    return callable(obj) and any(rules.module_forbidden(m) for m in _owner_modules(obj))


# --- static: read the source --------------------------------------------------------------------


def _lambda_tree(text):
    """A lambda read out of the lines that hold it, when they hold the code around it too (a call's argument)."""
    start = text.find("lambda")
    if start < 0:
        return None
    text = text[start:]
    for end in range(min(len(text), 2000), 6, -1):  # the longest piece that is a whole expression
        try:
            tree = ast.parse("(" + text[:end] + "\n)", mode="eval")
        except SyntaxError:
            continue
        if isinstance(tree.body, ast.Lambda):
            return tree
    return None


def _source_tree(fn):
    """The syntax tree of ``fn`` alone (a lambda's source line may hold the code around it too)."""
    is_lambda = getattr(fn, "__name__", "") == "<lambda>"
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, IndentationError):
        tree = _lambda_tree(text) if is_lambda else None
        if tree is None:
            return None
    if is_lambda:
        return ast.Module(body=[ast.Expr(n) for n in ast.walk(tree) if isinstance(n, ast.Lambda)], type_ignores=[])
    return tree


def _resolve(node, namespace):
    """The object a ``Name``, ``a.b.c`` or ``a["key"].b`` expression names, without running any code."""
    steps = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
        elif isinstance(node.slice, ast.Constant):
            steps.append(("item", node.slice.value))
        else:
            return None
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    missing = object()
    obj = namespace.get(node.id, getattr(builtins, node.id, missing))
    if obj is missing:
        return None
    for kind, key in reversed(steps):
        try:
            if kind == "attr":  # the attribute as stored: no property, __getattr__ or descriptor code runs
                obj = inspect.getattr_static(obj, key)
            elif isinstance(obj, dict):
                obj = dict.__getitem__(obj, key)
            elif isinstance(obj, (list, tuple)) and isinstance(key, int):
                obj = (list if isinstance(obj, list) else tuple).__getitem__(obj, key)
            else:
                return None
        except (AttributeError, KeyError, IndexError, TypeError):
            return None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


def _held(obj, depth=2):
    """Callables a container (or a notebook object's attributes) holds, a couple of levels down."""
    if depth == 0:
        return []
    if isinstance(obj, dict):
        values = list(dict.values(obj))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        values = list(obj)
    elif isinstance(obj, types.SimpleNamespace) or (
        not isinstance(obj, (type, types.ModuleType, types.FunctionType))
        and isinstance(inspect.getattr_static(obj, "__dict__", None), dict)
    ):
        values = list(object.__getattribute__(obj, "__dict__").values())
    else:
        return []
    held = []
    for value in values[:1000]:
        if isinstance(value, (types.ModuleType, type)):
            continue  # a namespace that holds a module holds everything: only functions held count
        held.append(value)
        held.extend(_held(value, depth - 1))
    return held


def _locally_bound(tree):
    """Names a function's own code binds (parameters, assignments, loops...): they are not the notebook's."""
    bound, declared_global = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound - declared_global


def _class_violations(cls, rules, seen):
    """What the methods of a notebook class use (properties and other descriptors included)."""
    found = set()
    generated = dataclasses.is_dataclass(cls)
    for name, member in vars(cls).items():
        parts = (
            [getattr(member, attr, None) for attr in ("fget", "fset", "fdel")]
            if isinstance(member, property)
            else [getattr(member, "__func__", member)]
        )
        for part in parts:
            if not isinstance(part, types.FunctionType):
                continue
            if generated and name.startswith("__") and _source_tree(part) is None:
                continue  # written by the dataclass decorator, not by the student
            found.update(static_violations(part, rules, seen))
    return found


def static_violations(fn, rules, _seen=None):
    """Return the forbidden names the source of ``fn`` (and of the notebook functions it calls) uses.

    Args:
        fn: the student's function.
        rules: a :class:`Forbidden`.
        _seen: the ids of the functions already read (the recursion's own;
            leave it out).

    Returns:
        A sorted list of the forbidden names found (empty when there are none,
        or when the source cannot be read under rules that are not strict: the
        dynamic check still applies; under strict rules unreadable source is
        reported as :data:`UNREADABLE`).
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
        return [UNREADABLE] if rules.strict else []
    namespace = dict(getattr(fn, "__globals__", {}))
    code, cells = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    for name, cell in zip(code.co_freevars if code else (), cells):  # names a closure holds
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    local = _locally_bound(tree)
    for name in local:
        namespace.pop(name, None)
    found, inner = set(), set()
    home = getattr(fn, "__module__", None)
    builtin_ids = rules.builtin_functions()
    if rules.strict:
        found.update(
            ast.unparse(node)
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in _INTROSPECTION
        )
    for node in ast.walk(tree):  # outer nodes first: ``a.b.c`` is judged whole, not by ``a``
        if id(node) in inner:
            continue
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            part = node.value
            while isinstance(part, (ast.Attribute, ast.Name, ast.Subscript)):
                inner.add(id(part))
                part = getattr(part, "value", None)
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if rules.module_forbidden(a.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if rules.module_forbidden(node.module):
                found.add(node.module)
        elif isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            if rules.strict and isinstance(node, ast.Name) and node.id in _BY_NAME and node.id not in local:
                found.add(node.id)
                continue
            obj = _resolve(node, namespace)
            if obj is None and isinstance(node, ast.Subscript):  # x[i]: what x holds, whichever i is
                obj = _resolve(node.value, namespace)
            if obj is None:
                continue
            for held in [obj] + _held(obj):
                held = _unwrap_partial(held)  # a partial hides the function it calls from a plain look
                if _is_forbidden(held, rules, codes) or id(held) in builtin_ids:
                    found.add(_dotted(held))
                elif isinstance(held, types.FunctionType) and held is not fn and held.__module__ == home:
                    found.update(static_violations(held, rules, seen))  # a helper from another cell
                elif isinstance(held, type) and held.__module__ == home:  # a class from another cell
                    found.update(_class_violations(held, rules, seen))
                elif not isinstance(held, type) and type(held).__module__ == home and type(held) is not type(fn):
                    found.update(_class_violations(type(held), rules, seen))  # an object of a notebook class
    return sorted(found)


# --- dynamic: watch the calls --------------------------------------------------------------------

UNREADABLE = "<source that cannot be read>"
TAMPERED = "the check's watch on the calls your function makes (sys.setprofile)"


def _monitor(rules):
    """A profile hook recording the first forbidden call made while it is on, and a way to read it.

    What it found lives in the hook's closure, out of reach of the code it watches;
    This module's own frames (the wrapper switching the hook on and off,
    :func:`_settle` reading the result) are not the student's, though what they call is.
    """
    modules = _module_ids()
    codes, builtin_ids = rules.codes(), rules.builtin_functions(modules)
    watch_ids = {id(f) for f in _WATCH}
    watch_codes = {threading.setprofile.__code__}
    harmless_codes = {f.__code__ for f in _HARMLESS if hasattr(f, "__code__")}
    harmless_ids = {id(f) for f in _HARMLESS}
    # The hook runs on every call the watched code makes: each module name is matched against the
    # rules once (a C cache; the hook's own calls are not watched). A name that cannot be a cache
    # key (no real module has one) is matched without it, as before.
    cached = functools.lru_cache(maxsize=None)(rules.matching)
    found = []

    def hook(frame, event, arg):
        # Half the events are returns, which say nothing: the event is read first.
        if event == "call":
            code = frame.f_code
            if found or code in _OWN_CODES:
                return
            if code in watch_codes:
                found.append((TAMPERED, _caller_line(frame.f_back)))
            elif code in codes:
                found.append((_dotted_code(frame), _caller_line(frame.f_back)))
            elif code in harmless_codes:
                return
            else:
                name = frame.f_globals.get("__name__", "")
                try:
                    module = cached(name)
                except TypeError:  # not a cache key
                    module = rules.matching(name)
                if module and not (module in ESCAPES and _importing(frame)):
                    found.append((module, _caller_line(frame.f_back)))
        elif event == "c_call":
            if found or frame.f_code in _OWN_CODES:
                return
            if frame.f_globals.get("__name__") == "importlib._bootstrap":
                return  # the import machinery's own locks (a library importing lazily), not the student's call
            if id(arg) in harmless_ids:
                return
            if id(arg) in watch_ids:
                found.append((TAMPERED, _caller_line(frame)))
                return
            if id(arg) in builtin_ids:
                found.append((builtin_ids[id(arg)], _caller_line(frame)))
                return
            names = _owner_modules(arg, modules)
            try:
                module = next(filter(None, map(cached, names)), None)
            except TypeError:  # not a cache key
                module = next(filter(None, map(rules.matching, names)), None)
            if module:
                found.append((module, _caller_line(frame)))

    return hook, lambda: found[0] if found else None


def _importing(frame, depth=60):
    """Whether ``frame`` runs inside an import: a module's first execution making its locks and threads' state.

    Only the escape modules (``threading``) are let through there: a library that NumPy imports
    lazily sets up its locks while an honest function is watched. Forbidden libraries stay
    forbidden inside an import too.
    """
    while frame is not None and depth:
        if frame.f_globals.get("__name__") == "importlib._bootstrap":
            return True
        frame, depth = frame.f_back, depth - 1
    return False


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
    if name == UNREADABLE:
        return Refused(
            exercise,
            f"this exercise asks you to {rules.task}, and the source of your function (or of a "
            "helper it calls) cannot be read, so the check cannot see how it works.",
            hint="Define your functions with `def` in the notebook's cells.",
        )
    if name in _BY_NAME or name.startswith("importlib"):
        return Refused(
            exercise,
            f"this exercise asks you to {rules.task}: `{name}` (looking code up by its name) is not allowed here.",
            hint="Call the functions you need by their names in your code (np.max, np.mean...), "
            "for instance with an if on the mode.",
        )
    if name == TAMPERED:
        return Refused(exercise, f"your function reached {TAMPERED}{where}; the exercise cannot be graded that way.")
    return Refused(
        exercise,
        f"this exercise asks you to {rules.task}: `{name}` is not allowed here{where}.",
        hint="Write it with NumPy (or plain Python) yourself; the check compares your "
        "result with the library's, so you can see when you have it right.",
    )


class NotAnAnswer(TypeError):
    """A result that is not numbers, arrays or containers of them (an object that would answer for itself)."""


if sys.version_info >= (3, 11):
    _READ = (
        (int, int.__index__),
        (float, float.__float__),
        (complex, complex.__complex__),
        (str, str.__str__),
        (bytes, bytes.__bytes__),
    )
else:  # complex.__complex__ and bytes.__bytes__ are new in 3.11: the base types' own +z and b"" + b read the same
    _READ = (
        (int, int.__index__),
        (float, float.__float__),
        (complex, complex.__pos__),
        (str, str.__str__),
        (bytes, functools.partial(bytes.__add__, b"")),
    )


def _settle(value, depth=0):
    """A result read into plain numbers and arrays now, while the call is still watched.

    An object whose ``__array__``, ``__getitem__`` or ``__float__`` computes the
    answer would otherwise do its work when the check reads it, unwatched; one
    that is not numbers at all (its ``==`` may say yes to anything) is refused.
    Types are read with ``type()``, which no ``__class__`` property can change.
    """
    kind = type(value)
    if kind in (bool, int, float, complex, str, bytes, type(None)) or depth > 4:
        return value
    for base, read in _READ:
        if issubclass(kind, base):
            return read(value)
    if issubclass(kind, np.generic):  # NumPy's own scalars stay; a subclass gives up the number it holds
        return value if kind.__module__ == "numpy" else np.generic.item(value)
    if issubclass(kind, (list, tuple)):
        items = [_settle(v, depth + 1) for v in (list.__iter__ if issubclass(kind, list) else tuple.__iter__)(value)]
        return items if issubclass(kind, list) else tuple(items)
    if issubclass(kind, dict):
        return {_settle(k, depth + 1): _settle(v, depth + 1) for k, v in dict.items(value)}
    array = np.array(value, copy=True, subok=False) if issubclass(kind, np.ndarray) else np.asarray(value)
    array = np.array(array, copy=True, subok=False)
    if array.dtype == object:
        raise NotAnAnswer(kind.__name__)
    return array


def by_source(exercise, fn, rules):
    """Hold a student's function to an exercise's rules by reading its source only (no watch while it runs).

    For functions that train a model: watching every call of a Keras training loop would slow it
    many times over. What the source (and the notebook functions it uses) names is refused.

    Args:
        exercise: the exercise's name as feedback shows it.
        fn: the student's function.
        rules: a :class:`Forbidden`.

    Returns:
        ``fn`` itself, when its source names nothing forbidden.

    Raises:
        Refused: the source of ``fn`` (or of a notebook function it uses) names something forbidden.

    Example:
        >>> train_model = by_source("Exercise 2 (train_model)", train_model, OWN_WORK)  # doctest: +SKIP
    """
    names = static_violations(fn, rules)
    if names:
        raise _refusal(exercise, rules, names[0])
    return fn


def by_hand(exercise, fn, rules):
    """Hold a student's function to an exercise's :class:`Forbidden` rules.

    The source is read at once (a forbidden name is refused here); the
    function returned watches every call the student's function makes and
    refuses it after any call that reached a forbidden function, or that
    switched the watching off.

    Args:
        exercise: the exercise's name as feedback shows it.
        fn: the student's function.
        rules: a :class:`Forbidden`.

    Returns:
        A function that behaves like ``fn`` under the rules; under strict
        rules its result is read into plain numbers and arrays while still
        watched. It raises :class:`Refused` when ``fn`` breaks the rules.

    Raises:
        Refused: the source of ``fn`` (or of a notebook function it uses)
            names something forbidden (a :class:`CheckFailed`).

    Example:
        >>> corr2d = by_hand("Exercise 1 (corr2d)", corr2d, LOOPS)  # doctest: +SKIP
    """
    names = static_violations(fn, rules)
    if names:
        raise _refusal(exercise, rules, names[0])

    @functools.wraps(fn)
    def watched(*args, **kwargs):
        hook, first = _monitor(rules)
        previous, previous_threads = sys.getprofile(), threading.getprofile()
        collecting = gc.isenabled()
        gc.disable()  # a finaliser run by the collector is not the student's call
        threading.setprofile(hook)
        sys.setprofile(hook)
        not_an_answer = None
        try:
            result = fn(*args, **kwargs)
            if rules.strict:  # what the result computes when it is read is the function's work too
                try:
                    result = _settle(result)
                except NotAnAnswer as exc:
                    not_an_answer = str(exc)
        finally:
            tampered = sys.getprofile() is not hook
            sys.setprofile(previous)
            threading.setprofile(previous_threads)
            if collecting:
                gc.enable()
        if first() is not None:
            raise _refusal(exercise, rules, *first())
        if tampered:
            raise _refusal(exercise, rules, TAMPERED)
        if not_an_answer:
            raise Refused(
                exercise,
                f"your function returned a {not_an_answer} object: this exercise's answer is "
                "numbers (int, float, NumPy arrays, or tuples and lists of them).",
            )
        return result

    return watched


OWN_WORK = Forbidden("write it yourself")
"""Any exercise: only the course's own checks (their oracles, their helpers) are out of bounds."""


def _numpy_cores(*names):
    """NumPy's C functions behind ``np.correlate`` and ``np.convolve`` (where this NumPy has them)."""
    import importlib

    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # NumPy 2, else NumPy 1 (deprecated in 2)
        try:
            core = importlib.import_module(module)
        except ImportError:
            continue
        return tuple(getattr(core, n) for n in names if hasattr(core, n))
    return ()


LOOPS = Forbidden(
    "write the loops yourself",
    modules=_ML + ("scipy.signal", "scipy.ndimage", "scipy.fft", "numpy.fft", "skimage", "cv2", "pandas"),
    functions=(np.convolve, np.correlate) + _numpy_cores("correlate", "correlate2"),
    strict=True,
)
"""Convolution and pooling written out: no library that convolves or pools."""

GRADIENTS = Forbidden(
    "derive the gradients yourself",
    modules=_ML + ("scipy.signal", "scipy.ndimage", "autograd"),
    functions=(np.convolve, np.correlate) + _numpy_cores("correlate", "correlate2"),
    strict=True,
)
"""Backward passes: no automatic differentiation, no library convolution."""

ARITHMETIC = Forbidden("work the numbers out from the formulas", modules=_ML, strict=True)
"""Shapes and parameter counts: no Keras model to read them from."""

NUMPY_ONLY = Forbidden("write it with NumPy", modules=_ML, strict=True)
"""Initialisers and dropout: NumPy's random generator, not Keras's layers."""


@contextlib.contextmanager
def recording_calls(owner, name, before=None):
    """Record the arguments of every call to ``owner.name`` while the block runs.

    For checks of what a function did (which data a training function fitted
    on). The recording wrapper is this module's code, so a watched call that
    goes through it is not taken for a call into the checks.

    Args:
        owner: a class, such as ``keras.Model``.
        name: the method's name, such as ``"fit"``.
        before: called with each call's arguments just before the call (the
            instance first, for a method), or ``None``; it must not be the
            checks' own code, which a watched call may not reach.

    Returns:
        A context manager giving the list of ``(args, kwargs)`` of the calls.

    Example:
        >>> with recording_calls(keras.Model, "fit") as fits:  # doctest: +SKIP
        ...     train(x, y)
    """
    calls = []
    had_own = name in vars(owner)
    original = vars(owner)[name] if had_own else getattr(owner, name)

    def recorded(*args, **kwargs):
        calls.append((args, kwargs))
        if before is not None:
            before(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(owner, name, recorded)
    try:
        yield calls
    finally:
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


def recording_fits():
    """Record every ``keras.Model.fit`` call while the block runs, each model's training variables built first.

    :func:`recording_calls` on ``fit``, with
    :func:`cnncourse.runtime.build_for_fit` before each call: TensorFlow
    then traces each model's training step once, not twice, and the numbers
    are the same.

    Returns:
        A context manager giving the list of ``(args, kwargs)`` of the calls
        (``args[0]`` is the model).

    Example:
        >>> with recording_fits() as fits:  # doctest: +SKIP
        ...     train(x, y)
    """
    import keras

    from cnncourse.runtime import build_for_fit

    return recording_calls(keras.Model, "fit", before=build_for_fit)


def _codes_within(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes_within(const)


_OWN_CODES = frozenset(
    inner
    for fn in (by_hand, _settle, _monitor, inspect.unwrap(recording_calls))
    for inner in _codes_within(fn.__code__)
)
"""This module's own code while it watches (by identity: a student's code cannot claim to be it)."""
