"""A similarity check between students' solution cells (``cnncourse report LAB --similarity``).

Every student's answer cells (the code cells nbgrader marks ``solution: true``) are read from
``submitted/<student>/<lab>/*.ipynb`` and fingerprinted with copydetect: the code is tokenised
(names become one symbol, so renamed variables still match; comments, docstrings, strings and
spacing do not count), cut into k-grams and hashed (MOSS's method). The released cells (the
scaffolding and the ``# YOUR CODE HERE`` stubs every student starts from) are fingerprinted too
and their k-grams subtracted. Each cell is compared with the same cell of the other student. A
pair's score is the larger of the two shares of a student's remaining code that the other's also
has: 1.0 when one submission is contained in the other.

A high score says two submissions share long runs of the same token sequence beyond what the
release gave them; it does not say who wrote it, nor that it was copied (a short exercise with one
natural answer is written alike by many). It is a list of pairs for a person to read.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import itertools
import json
from pathlib import Path

THRESHOLD = 0.6
"""Pairs scoring at least this are flagged (``--threshold``)."""

NOISE = 25
"""Shortest match that counts, in characters of tokenised code (copydetect's noise threshold, its default)."""

GUARANTEE = 25
"""Any match this long is found (copydetect's guarantee threshold, its default): equal to ``NOISE``, every
k-gram is kept (a winnowing window of 1), so the scores do not depend on the process's string hashing."""

MIN_SHARED = 40
"""A pair whose shared code is shorter than this (in characters of tokenised code) is never flagged."""

INSTALL_HINT = "pip install cnncourse-instructor[similarity]"


class MissingLibrary(ImportError):
    """The similarity check's optional library is not installed."""


@dataclasses.dataclass
class Cell:
    """One solution cell of a pair, compared.

    Attributes:
        key: ``"notebook:grade_id"``.
        shares: for each student, the fraction of their own code in this cell the other's cell also has.
        lines: for each student, ``(line, shared)`` for every line of their cell.
    """

    key: str
    shares: tuple[float, float]
    lines: tuple[list[tuple[str, bool]], list[tuple[str, bool]]]


@dataclasses.dataclass
class Pair:
    """Two students' solution code, compared cell by cell.

    Attributes:
        students: the two student ids, sorted.
        score: the larger of ``shares``; what the threshold is compared with.
        shares: for each student, the fraction of their own code (what the release did not give,
            all cells together) that the other's same cells also have.
        shared: characters of tokenised code the two have in common (the smaller of the two sides' counts).
        cells: the cells with code in common, in the released notebook's order.
    """

    students: tuple[str, str]
    score: float
    shares: tuple[float, float]
    shared: int
    cells: list[Cell]

    def shared_lines(self):
        """The lines that hold shared code, for each student.

        Returns:
            Two lists of lines, cell after cell.
        """
        return tuple([line for cell in self.cells for line, hit in cell.lines[side] if hit] for side in (0, 1))


def require():
    """Import copydetect, or say how to install it.

    Returns:
        The ``copydetect`` module.

    Raises:
        MissingLibrary: it is not installed.
    """
    try:
        # By name: an optional library without type information (mypy need not know it).
        return importlib.import_module("copydetect")
    except ImportError:
        raise MissingLibrary(
            f"The similarity check needs the copydetect library: {INSTALL_HINT} "
            "(or pip install -e './autograder[similarity]' in the course repository)."
        ) from None


def solution_cells(notebook):
    """The code of a notebook's solution cells.

    Args:
        notebook: path to an ``.ipynb`` file.

    Returns:
        ``{grade_id: source}`` for the code cells nbgrader marks ``solution: true``, in order;
        ``{}`` when the file is not a readable notebook.
    """
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    found = {}
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution"):
            source = cell.get("source", "")
            found[meta.get("grade_id") or f"cell-{i}"] = "".join(source) if isinstance(source, list) else source
    return found


def _lab_cells(folder):
    """``{"notebook:grade_id": source}`` for every notebook in ``folder``."""
    cells = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        for gid, source in solution_cells(path).items():
            cells[f"{path.stem}:{gid}"] = source
    return cells


def released_code(course_dir, lab):
    """The released solution cells of a lab: the code every student starts from.

    Args:
        course_dir: the course directory.
        lab: the assignment id.

    Returns:
        ``{"notebook:grade_id": source}``.

    Raises:
        LookupError: the lab has no released notebook.
    """
    folder = Path(course_dir) / "release" / lab
    if not any(folder.glob("*.ipynb")):
        raise LookupError(f"No released notebook in {folder}: run `cnncourse release {lab}` first.")
    return _lab_cells(folder)


def student_code(course_dir, lab):
    """Every student's solution cells, from their submitted notebooks.

    Args:
        course_dir: the course directory.
        lab: the assignment id.

    Returns:
        ``{student: {"notebook:grade_id": source}}``, students in order; a student whose
        notebooks have no readable solution cell is left out.
    """
    codes = {}
    for folder in sorted(Path(course_dir).glob(f"submitted/*/{lab}")):
        cells = _lab_cells(folder)
        if cells:
            codes[folder.parent.name] = cells
    return codes


def _fingerprint(copydetect, text, win_size, boilerplate=None):
    """copydetect's fingerprint of one cell's Python code, the ``boilerplate`` hashes left out."""
    return copydetect.CodeFingerprint(
        "solution.py", NOISE, win_size, boilerplate=boilerplate, language="python", fp=io.StringIO(text)
    )


def _line_marks(text, slices, released):
    """``(line, shared)`` per line of ``text``: shared where a slice touches it, unless the release has the line."""
    starts = list(itertools.accumulate((len(line) for line in text.splitlines(keepends=True)), initial=0))
    lines = text.splitlines()
    given = {line.strip() for line in released.splitlines()}
    hit = [False] * len(lines)
    for start, end in zip(*slices) if len(slices) else ():
        for i, line in enumerate(lines):
            if starts[i] < end and starts[i + 1] > start and line.strip() and line.strip() not in given:
                hit[i] = True
    return list(zip(lines, hit))


def compare(codes, released=None):
    """Compare every pair of students' solution code, cell by cell.

    A cell is compared with the same cell (same notebook, same grade id) of the other student.

    Args:
        codes: ``{student: {cell: source}}``, as :func:`student_code` returns.
        released: ``{cell: source}`` of the released cells (:func:`released_code`), subtracted
            from every student's code; ``None`` subtracts nothing.

    Returns:
        A list of :class:`Pair`, highest score first (ties by student ids).

    Raises:
        MissingLibrary: copydetect is not installed.
    """
    copydetect = require()
    released = released or {}
    boilerplate = None
    if released:
        # Every k-gram of the release (a window of 1), as copydetect takes boilerplate files.
        grams = set()
        for source in released.values():
            grams |= _fingerprint(copydetect, source, 1).hashes
        boilerplate = sorted(grams)
    win_size = GUARANTEE - NOISE + 1
    prints = {
        student: {key: _fingerprint(copydetect, source, win_size, boilerplate) for key, source in cells.items()}
        for student, cells in codes.items()
    }
    order = {key: i for i, key in enumerate(released)}
    pairs = []
    for a, b in itertools.combinations(sorted(codes), 2):
        own = [sum(float(fp.token_coverage) for fp in prints[s].values()) for s in (a, b)]
        overlap = [0.0, 0.0]
        cells = []
        for key in sorted(set(prints[a]) & set(prints[b]), key=lambda k: (order.get(k, len(order)), k)):
            fa, fb = prints[a][key], prints[b][key]
            if not (fa.hashes and fb.hashes):
                continue
            _, (share_a, share_b), slices = copydetect.compare_files(fa, fb)
            if not (share_a or share_b):
                continue
            overlap[0] += float(share_a) * fa.token_coverage
            overlap[1] += float(share_b) * fb.token_coverage
            given = released.get(key, "")
            cells.append(
                Cell(
                    key=key,
                    shares=(min(float(share_a), 1.0), min(float(share_b), 1.0)),
                    lines=(_line_marks(fa.raw_code, slices[0], given), _line_marks(fb.raw_code, slices[1], given)),
                )
            )
        shares = tuple(min(float(o / n), 1.0) if n else 0.0 for o, n in zip(overlap, own))
        pairs.append(Pair(students=(a, b), score=max(shares), shares=shares, shared=round(min(overlap)), cells=cells))
    pairs.sort(key=lambda p: (-p.score, p.students))
    return pairs


def flagged(pairs, threshold=THRESHOLD):
    """The pairs a person should read.

    Args:
        pairs: from :func:`compare`.
        threshold: the lowest score flagged.

    Returns:
        The pairs scoring at least ``threshold`` and sharing at least ``MIN_SHARED`` characters
        of tokenised code, highest score first.
    """
    return [p for p in pairs if p.score >= threshold and p.shared >= MIN_SHARED]


def check(course_dir, lab, threshold=THRESHOLD):
    """Compare a lab's submissions, the released code subtracted.

    Args:
        course_dir: the course directory.
        lab: the assignment id.
        threshold: the lowest score flagged.

    Returns:
        ``(flagged_pairs, all_pairs, students)``: the pairs at or above ``threshold``, every
        pair, and the students compared.

    Raises:
        MissingLibrary: copydetect is not installed.
        LookupError: the lab has no released notebook.
    """
    require()
    released = released_code(course_dir, lab)
    codes = student_code(course_dir, lab)
    pairs = compare(codes, released)
    return flagged(pairs, threshold), pairs, sorted(codes)


TEMPLATE = "similarity.html.j2"
"""The page's Jinja2 template, in ``autograder/templates/``."""


def render_html(lab, pairs, students, threshold=THRESHOLD):
    """The similarity page: the flagged pairs, their scores, their shared lines side by side.

    Args:
        lab: the assignment id.
        pairs: the flagged pairs (:func:`flagged`).
        students: the students compared.
        threshold: the threshold used.

    Returns:
        The HTML page, as a string.
    """
    from autograder.pages import environment

    env = environment()
    return env.get_template(TEMPLATE).render(
        assignment=lab,
        pairs=pairs,
        students=students,
        threshold=threshold,
        noise=NOISE,
        min_shared=MIN_SHARED,
    )


def write_html(course_dir, lab, out, threshold=THRESHOLD):
    """Run the check and write ``similarity.html``.

    Args:
        course_dir: the course directory.
        lab: the assignment id.
        out: the folder to write into.
        threshold: the lowest score flagged.

    Returns:
        ``(path, flagged_pairs, students)``.
    """
    pairs, _, students = check(course_dir, lab, threshold)
    path = Path(out) / "similarity.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(lab, pairs, students, threshold), encoding="utf-8")
    return path, pairs, students


def summary(pairs, students, threshold=THRESHOLD, most=10):
    """A few lines on the flagged pairs, for the terminal.

    Args:
        pairs: the flagged pairs, highest score first.
        students: the students compared.
        threshold: the threshold used.
        most: how many pairs to list; the page has them all.

    Returns:
        The text, without a final newline.
    """
    head = (
        f"Similarity: {len(pairs)} of {len(students) * (len(students) - 1) // 2} pair(s) "
        f"of {len(students)} student(s) at or above {threshold:.2f}"
    )
    lines = [head + (":" if pairs else ".")]
    lines += [
        f"  {p.score:.2f}  {p.students[0]} / {p.students[1]}  ({p.shared} tokenised characters shared)"
        for p in pairs[:most]
    ]
    if len(pairs) > most:
        lines.append(f"  ... and {len(pairs) - most} more (see the page)")
    return "\n".join(lines)
