"""Keep hidden tests honest: what a submission changes, the grader puts back.

A graded test cell runs in the student's kernel, after the student's own
code, so a submission could redefine the names a test uses (``np``,
``checks``), replace ``numpy.allclose`` or a ``cnncourse`` check with one
that always passes, or hide the error a failing test raises. The grader
(:class:`~autograder.grading.execute.ResilientExecute`) defends the tests
from outside the notebook, with code the student never sees:

1. **snapshot**, silently, before the first answer cell runs (and again,
   adding only what is new, after each instructor cell): the attributes of
   the modules tests rely on (``builtins``, ``numpy``, ``cnncourse``,
   ``keras``...), the methods of their classes, their entries in
   ``sys.modules``, the notebook names bound to them (``np``, ``checks``),
   and the IPython machinery that runs cells and shows errors. The oracles
   checks compare with (SciPy's and TensorFlow's convolutions, Keras's layers
   and their base classes) are among those modules. A guarded module that an
   answer imports first and patches before a snapshot sees it cannot be put
   back: a value defined in the notebook found in it flags the submission and
   zeroes every test from then on;
2. **restore** before each graded test cell: whatever the answers changed is
   put back, so the test runs against the real ``numpy.allclose``, the real
   checks, and its own names;
3. **audit** after it: if anything changed *while the test ran* (an answer
   function that patches ``numpy`` when it is called), the test scores zero
   and the submission is flagged for a human; the audit also proves that the
   test cell really ran in IPython's unpatched machinery (it answers with a
   per-run secret);
4. a test whose error was hidden (IPython's ``showtraceback`` replaced)
   still fails: nbgrader's ``Execute`` adds the error from the kernel's
   reply, and the guard puts ``showtraceback`` back before the next test.

What this does not stop is said in the README (section *What grading
protects against*): code that reaches the grader's objects through the
interpreter itself (``gc``, stack frames, ``ctypes``), or that patches and
un-patches within one call, can defeat any check that runs in the same
process as the student's code. A submission caught changing what tests
rely on is *flagged*, so a person looks at it.
"""

from __future__ import annotations

import ast
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

# Modules whose attributes tests rely on: exact names, and package prefixes (all submodules).
GUARDED_MODULES = (
    "builtins",
    "math",
    "operator",
    "functools",
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "numpy.random",
    "numpy.fft",
    "unittest",
    "keras",
    "keras.layers",
    "keras.ops",
    "keras.models",
    "keras.optimizers",
    "keras.losses",
    "keras.metrics",
    "keras.callbacks",
    "keras.utils",
    "keras.random",
    "keras.backend",
    "IPython",
    "ipykernel",
    # the oracles checks compare with: SciPy's and TensorFlow's convolution, pooling, gradients
    "scipy.signal",
    "scipy.ndimage",
    "tensorflow",
    "tensorflow._api.v2.nn",
    "tensorflow._api.v2.math",
    "tensorflow._api.v2.image",
    "tensorflow._api.v2.signal",
)
GUARDED_PACKAGES = ("cnncourse",)
TRUSTED_TOPS = (
    "numpy",
    "cnncourse",
    "keras",
    "matplotlib",
    "matplotlib_inline",
    "seaborn",
    "math",
    "builtins",
    "IPython",
    "ipykernel",
    "unittest",
    "scipy",
    "sklearn",
    "skimage",
    "tensorflow",
    "pandas",
)

# The code run silently in the kernel. It defines one function under a per-run secret name.
_KERNEL_CODE = r"""
def __GUARD__factory(token, modules_exact, packages, trusted_tops):
    import sys
    _mods = sys.modules
    _ip = get_ipython()
    _ns = _ip.user_ns
    _id, _type, _len, _list, _sorted = id, type, len, list, sorted
    _setattr, _delattr, _callable, _isinstance = setattr, delattr, callable, isinstance
    _getattr, _str, _dict = getattr, str, dict
    _ModuleType = _type(sys)
    _dumps = __import__("json").dumps
    SHELL_METHODS = ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "transform_cell",
                     "transform_ast", "should_run_async", "showtraceback", "_showtraceback", "showsyntaxerror",
                     "showindentationerror", "_get_exc_info", "get_exception_only")
    snap = {"modules": {}, "classes": {}, "sysmods": {}, "names": {}, "planted": []}

    ROUTINES = ("function", "builtin_function_or_method", "ufunc", "_ArrayFunctionDispatcher", "method")
    SKIP_KEYS = ("_", "__", "___", "__warningregistry__")

    def trusted(obj):
        mod = _getattr(obj, "__module__", None)
        return _isinstance(mod, _str) and mod.split(".")[0] in trusted_tops

    def named_thing(value):
        return _isinstance(value, (_ModuleType, _type)) or _type(value).__name__ in ROUTINES

    def from_notebook(value):
        # Defined in the notebook's cells (a function, a class, an instance of one, a partial of one).
        value = _getattr(value, "func", value) if _type(value).__name__ == "partial" else value
        return (_getattr(value, "__module__", None) == "__main__"
                or _getattr(_type(value), "__module__", None) == "__main__")

    def snap_class(cls):
        # The class and its trusted bases: a method inherited from a base lives in the base's __dict__.
        for c in _getattr(cls, "__mro__", (cls,)):
            if c is not object and trusted(c) and _id(c) not in snap["classes"]:
                snap["classes"][_id(c)] = (c, _dict(c.__dict__))

    def guarded_names():
        for name in _list(_mods):
            if name in modules_exact or any(name == p or name.startswith(p + ".") for p in packages):
                yield name

    def take(extend, names=()):
        for name in guarded_names():
            mod = _mods.get(name)
            if not _isinstance(mod, _ModuleType) or name in snap["modules"]:
                continue
            d = _dict(mod.__dict__)
            snap["modules"][name] = (mod, d)
            snap["sysmods"][name] = mod
            for k, value in d.items():
                if from_notebook(value):  # first imported by an answer, and patched before this snapshot
                    snap["planted"].append(f"{name}.{k}")
                elif _isinstance(value, _type) and trusted(value):
                    snap_class(value)
        for cls in _type(_ip).__mro__ + _type(_getattr(_ip, "kernel", None)).__mro__:
            if _id(cls) not in snap["classes"] and cls is not object:
                snap["classes"][_id(cls)] = (cls, _dict(cls.__dict__))
        # Names the instructor's cells bound: everything before the first answer, then the names given.
        for name in (_list(_ns) if not extend else names):
            if name.startswith("_") or name in snap["names"] or name not in _ns:
                continue
            if named_thing(_ns[name]):
                snap["names"][name] = _ns[name]
        if not extend:
            snap["shell"] = {k: _ip.__dict__[k] for k in SHELL_METHODS if k in _ip.__dict__}
            snap["lists"] = {k: (_getattr(_ip, k), _list(_getattr(_ip, k)))
                             for k in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")}
            snap["events"] = {k: _list(v) for k, v in _ip.events.callbacks.items()}
            snap["hooks"] = (sys.excepthook, sys.displayhook, sys.gettrace(), sys.getprofile())

    def check(fix):
        changed = _list(snap["planted"])  # what cannot be put back: the module's own value is unknown
        for name in guarded_names():  # a guarded module the answers imported since the last snapshot
            mod = _mods.get(name)
            if name not in snap["modules"] and _isinstance(mod, _ModuleType):
                changed += [f"{name}.{k}" for k, v in _list(mod.__dict__.items()) if from_notebook(v)]
        for name, (mod, d) in snap["modules"].items():
            if _mods.get(name) is not mod:
                changed.append(f"sys.modules[{name!r}]")
                if fix:
                    _mods[name] = mod
            cur = mod.__dict__
            for k, v in d.items():
                if k not in SKIP_KEYS and cur.get(k, changed) is not v:
                    changed.append(f"{name}.{k}")
                    if fix:
                        cur[k] = v
        for cls, d in snap["classes"].values():
            cur = cls.__dict__
            for k, v in d.items():
                if cur.get(k, changed) is not v:
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{k}")
                    if fix:
                        try:
                            _setattr(cls, k, v)
                        except (TypeError, AttributeError):
                            pass
            for k in [k for k in cur if k not in d and _callable(cur[k])]:
                changed.append(f"{cls.__module__}.{cls.__qualname__}.{k}")
                if fix:
                    try:
                        _delattr(cls, k)
                    except (TypeError, AttributeError):
                        pass
        for name, value in snap["names"].items():
            if _ns.get(name, changed) is not value:
                changed.append(f"the notebook name {name!r}")
                if fix:
                    _ns[name] = value
        cur = _ip.__dict__
        for k in SHELL_METHODS:
            if cur.get(k, changed) is not snap["shell"].get(k, changed):
                changed.append(f"IPython's {k}")
                if fix:
                    if k in snap["shell"]:
                        cur[k] = snap["shell"][k]
                    else:
                        del cur[k]
        for k, (lst, items) in snap["lists"].items():
            if _getattr(_ip, k) is not lst or _len(lst) != _len(items) or any(a is not b for a, b in zip(lst, items)):
                changed.append(f"IPython's {k}")
                if fix:
                    lst[:] = items
                    if _getattr(_ip, k) is not lst:
                        owner, attr = _ip, k
                        if k == "input_transformers_cleanup":  # a read-only property in front of this
                            owner, attr = _ip.input_transformer_manager, "cleanup_transforms"
                        try:
                            _setattr(owner, attr, lst)
                        except (AttributeError, TypeError):
                            pass
        callbacks = _ip.events.callbacks
        for k, items in snap["events"].items():
            cur_list = callbacks.get(k, [])
            # Libraries add their own callbacks (matplotlib's inline backend, on the first figure):
            # only the snapshot's callbacks, in order, plus trusted additions, are left alone.
            kept = [f for f in cur_list if any(f is g for g in items)]
            added = [f for f in cur_list if not any(f is g for g in items)]
            foreign = [f for f in added if not trusted(f)]
            if _len(kept) != _len(items) or any(a is not b for a, b in zip(kept, items)) or foreign:
                changed.append(f"IPython's {k} event callbacks")
                if fix:
                    callbacks[k] = _list(items) + [f for f in added if trusted(f)]
        hooks = (sys.excepthook, sys.displayhook, sys.gettrace(), sys.getprofile())
        for label, a, b in zip(("sys.excepthook", "sys.displayhook", "sys.settrace", "sys.setprofile"),
                               hooks, snap["hooks"]):
            if a is not b:
                changed.append(label)
        if fix and hooks != snap["hooks"]:
            sys.excepthook, sys.displayhook = snap["hooks"][0], snap["hooks"][1]
            sys.settrace(snap["hooks"][2])
            sys.setprofile(snap["hooks"][3])
        return changed

    def guard(action, names=()):
        if action in ("snapshot", "extend"):
            take(action == "extend", names)
            return _dumps({"token": token, "changed": []})
        found = check(fix=True)
        return _dumps({"token": token, "changed": _sorted(set(found))[:20], "count": _len(set(found))})

    return guard

__GUARD__ = __GUARD__factory(__TOKEN__, __MODULES__, __PACKAGES__, __TOPS__)
del __GUARD__factory
"""


def bound_names(source: str) -> list[str]:
    """Names a cell's code binds at its top level (imports, definitions, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


class Guard:
    """The grader's side: the code to send, and how to read the kernel's answers."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.name = "_cnncourse_guard_" + secrets.token_hex(6)

    def setup_code(self) -> str:
        return (
            _KERNEL_CODE.replace("__GUARD__", self.name)
            .replace("__TOKEN__", repr(self.token))
            .replace("__MODULES__", repr(GUARDED_MODULES))
            .replace("__PACKAGES__", repr(GUARDED_PACKAGES))
            .replace("__TOPS__", repr(TRUSTED_TOPS))
        )

    def expression(self, action: str, names: Iterable[str] = ()) -> str:
        return f"{self.name}({action!r}, {tuple(names)!r})"

    def read(self, reply: Mapping[str, Any] | None) -> tuple[bool, list[str]]:
        """``(ok, changed)`` from an execute reply whose user expression ``r`` called the guard.

        ``ok`` is False when the guard did not answer with this run's secret (the
        kernel's machinery was tampered with, or the guard itself was replaced).
        """
        content = (reply or {}).get("content", {})
        expr = content.get("user_expressions", {}).get("r", {})
        if content.get("status") != "ok" or expr.get("status") != "ok":
            return False, [
                f"the grader's check could not run ({expr.get('ename') or content.get('ename') or 'no answer'})"
            ]
        try:
            answer = json.loads(ast.literal_eval(expr["data"]["text/plain"]))
        except (KeyError, ValueError, SyntaxError, TypeError):
            return False, ["the grader's check gave an unreadable answer"]
        if not isinstance(answer, dict) or answer.get("token") != self.token:
            return False, ["the grader's check was answered by something else"]
        changed = list(answer.get("changed", []))
        extra = int(answer.get("count", len(changed))) - len(changed)
        if extra > 0:
            changed.append(f"and {extra} more")
        return True, changed
