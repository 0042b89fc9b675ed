"""Sample submissions: what a class hands in, good and bad.

Made from any lab's source and release notebooks, so nothing here is
lab-specific. Used by ``cnncourse demo``, the benchmark and the tests.

========== ==================================================================
kind       what the student did
========== ==================================================================
perfect    every answer is the source's solution
partial    the first half of the answers, the rest left as released
blank      handed the released notebook in unchanged
crashing   the kernel dies (SIGKILL, as a segfault would) in a middle answer
endless    an endless loop in a middle answer (the cell limit interrupts it)
stuck      an endless loop that ignores interrupts (the submission limit
           stops it)
memory     allocates without end in a middle answer (the memory limit stops it)
malformed  the notebook file is cut off half-way (not valid JSON)
========== ==================================================================
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder import course
from autograder.course import blank_submission, perfect_submission

KINDS = ("perfect", "partial", "blank", "crashing", "endless", "stuck", "memory", "malformed")

CRASH = "import os as _os\n_os.kill(_os.getpid(), 9)  # dies like a segfault in compiled code\n"
ENDLESS = "while True:  # never finishes\n    pass\n"
STUCK = (
    "import time as _time\nwhile True:  # never finishes, and swallows interrupts\n"
    "    try:\n        _time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass\n"
)
MEMORY = (
    "import numpy as _np\n_hog = []\nwhile True:  # 128 MiB more each time round\n    _hog.append(_np.ones(1 << 24))\n"
)


def _answer_cells(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c.cell_type == "code"]


def make(kind: str, source_nb: str | Path, release_nb: str | Path) -> NotebookNode | bytes:
    """A submission of ``kind`` (see the table above): a NotebookNode, or bytes for ``malformed``."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; choose from {', '.join(KINDS)}.")
    if kind == "blank":
        return blank_submission(release_nb)
    perfect = perfect_submission(source_nb, release_nb)
    if kind == "perfect":
        return perfect
    if kind == "malformed":
        text: str = nbformat.writes(perfect)
        return text[: len(text) // 2].encode()
    nb = copy.deepcopy(perfect)
    answers = _answer_cells(nb)
    if kind == "partial":
        released = {c.metadata.nbgrader.get("grade_id"): c.source for c in _answer_cells(blank_submission(release_nb))}
        for cell in answers[(len(answers) + 1) // 2 :]:
            cell.source = released.get(cell.metadata.nbgrader.get("grade_id"), cell.source)
        return nb
    if not answers:
        raise ValueError("The notebook has no answer cells to break.")
    target = answers[len(answers) // 2]
    prefix = {"crashing": CRASH, "endless": ENDLESS, "stuck": STUCK, "memory": MEMORY}[kind]
    target.source = prefix + target.source
    return nb


def tiny_source(sleep: float = 0.0) -> NotebookNode:
    """A three-question nbgrader source notebook that runs in a second (for tests).

    ``sleep`` seconds are spent in the first answer (to make grading take a while).
    """

    def meta(grade_id: str, **kw: Any) -> dict[str, dict[str, Any]]:
        m = {
            "grade": False,
            "grade_id": grade_id,
            "locked": False,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
        m.update(kw)
        return {"nbgrader": m}

    cells = [nbformat.v4.new_markdown_cell("# A tiny assignment", metadata=meta("intro", locked=True))]
    answers = [
        (
            "add",
            "def add(a, b):\n    ### BEGIN SOLUTION\n"
            + (f"    import time\n    time.sleep({sleep})\n" if sleep else "")
            + "    return a + b\n    ### END SOLUTION\n",
            "assert add(1, 2) == 3\n",
            1,
        ),
        (
            "mul",
            "def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b\n    ### END SOLUTION\n",
            "assert mul(2, 3) == 6\n### BEGIN HIDDEN TESTS\nassert mul(0, 5) == 0, 'mul(0, 5) must be 0'\n"
            "### END HIDDEN TESTS\n",
            2,
        ),
        (
            "neg",
            "def neg(a):\n    ### BEGIN SOLUTION\n    return -a\n    ### END SOLUTION\n",
            "assert neg(1) == -1\n",
            3,
        ),
    ]
    for name, answer, test, points in answers:
        cells.append(nbformat.v4.new_code_cell(answer, metadata=meta(name, solution=True)))
        cells.append(
            nbformat.v4.new_code_cell(test, metadata=meta(f"test_{name}", grade=True, locked=True, points=points))
        )
    nb: NotebookNode = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def tiny_course(
    path: str | Path,
    kinds: Iterable[str] = (),
    sleep: float = 0.0,
    db_url: str | None = None,
    root: str | Path | None = None,
) -> Path:
    """A course copy at ``path`` with :func:`tiny_source` released as ``tiny`` and one submission per kind.

    ``db_url`` points the course at another gradebook (e.g. PostgreSQL).
    """
    c = course.make_course_copy(Path(path), [], root)
    if db_url:
        with open(c / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    (c / "source" / "tiny").mkdir(parents=True, exist_ok=True)
    nbformat.write(tiny_source(sleep), str(c / "source" / "tiny" / "tiny.ipynb"))
    rel = course.generate_release(c, "tiny")
    for kind in kinds:
        course.write_submission(c, "tiny", kind, make(kind, c / "source" / "tiny" / "tiny.ipynb", rel / "tiny.ipynb"))
    return c
