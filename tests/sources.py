"""Reading a lab's solutions and hidden tests from its source notebook, the one place they live."""

from __future__ import annotations

import functools
import itertools
import linecache
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


_CELL_NUMBERS = itertools.count()


def run_cells(*sources, **names):
    """Run code as notebook cells run in IPython: each cell's source kept in ``linecache`` (so the checks
    can read a function's source) under a name of its own, all in one ``__main__`` namespace."""
    namespace = {"__name__": "__main__", **names}
    for source in sources:
        name = f"<cell-{next(_CELL_NUMBERS)}>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        exec(compile(source, name, "exec"), namespace)
    return namespace


def notebook_path(lab):
    return ROOT / "source" / lab / f"{lab}.ipynb"


@functools.lru_cache(maxsize=None)
def _notebook(lab):
    return nbformat.read(str(notebook_path(lab)), as_version=4)


def cell_source(lab, grade_id):
    """The source of the cell with ``grade_id`` in ``lab``'s source notebook."""
    for cell in _notebook(lab).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"{lab} has no cell {grade_id!r}")


def hidden_tests(lab, grade_id):
    """The lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of one test cell."""
    lines = cell_source(lab, grade_id).splitlines()
    start, end = lines.index("### BEGIN HIDDEN TESTS"), lines.index("### END HIDDEN TESTS")
    return "\n".join(lines[start + 1 : end])


def solutions(lab, grade_ids=None, skip=()):
    """The namespace of the lab's import and solution cells, run (markers stripped)."""
    from autograder.calibrations import solution_namespace

    return solution_namespace(lab, grade_ids, root=ROOT, skip=skip)


# --------------------------------------------------------------------------
# Lines that may exist only in source/: solutions and hidden tests
# --------------------------------------------------------------------------
MARKERS = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
WINDOW = 3  # this many consecutive meaningful lines make a copy


def _norm(line):
    return " ".join(line.split())


def _meaningful(line):
    """Lines that say something: not blank, not a comment or docstring fence, not a one-word statement."""
    return len(line) >= 12 and not line.startswith(("#", '"""', "'''"))


def _blocks(text, begin, end):
    out, cur = [], None
    for line in text.splitlines():
        mark = line.strip()
        if mark == begin:
            cur = []
        elif mark == end and cur is not None:
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def _windows(lines):
    kept = [n for n in (_norm(x) for x in lines) if _meaningful(n)]
    return {tuple(kept[i : i + WINDOW]) for i in range(len(kept) - WINDOW + 1)}


def notebook_text(raw):
    """The code and text of a notebook's cells, or ``raw`` itself when it is not a notebook."""
    import json

    try:
        cells = json.loads(raw)["cells"]
    except (ValueError, KeyError, TypeError):
        return raw
    return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells)


@functools.lru_cache(maxsize=None)
def protected_windows():
    """``{(line, line, line): lab}`` for every run of meaningful lines in a solution or a hidden test."""
    out = {}
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        text = notebook_text(path.read_text(encoding="utf-8"))
        for begin, end in MARKERS:
            for block in _blocks(text, begin, end):
                for w in _windows(block):
                    out.setdefault(w, path.parent.name)
    return out


def copies_in(text):
    """The protected windows ``text`` repeats: ``[(lab, window), ...]``."""
    protected = protected_windows()
    return sorted((protected[w], w) for w in _windows(notebook_text(text).splitlines()) if w in protected)
