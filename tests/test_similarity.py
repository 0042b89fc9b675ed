"""The similarity check (``cnncourse report LAB --similarity``) on a small made-up class.

A released notebook with two exercises (one a bare stub, one with scaffolding to keep), and
submissions: an original, a verbatim copy of it, a copy with every name changed and the comments
rewritten, honest answers written differently, and two students whose code has only the
scaffolding in common. Nothing is executed.
"""

import itertools

import nbformat
import pytest

from autograder import similarity

LAB = "lab0-sim"

IMPORTS = "import numpy as np\n"

STUB_CORR = '''def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''

SCAFFOLD_POOL = '''def pool2d(x, size, stride, mode="max"):
    """Max or average pooling of `x` (H, W) with square windows, no padding."""
    if mode not in ("max", "mean"):
        raise ValueError(f"pool2d: unknown mode {mode!r}")
    x = np.array(x, dtype=float)
    h_out = (x.shape[0] - size) // stride + 1
    w_out = (x.shape[1] - size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    out = np.empty((h_out, w_out))
'''
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
STUB_POOL = SCAFFOLD_POOL + STUB

TESTS = "assert corr2d(np.ones((3, 3)), np.ones((2, 2))).shape == (2, 2)\n"

# ada's answers: the original.
ADA = {
    "corr2d": '''def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    image = np.array(image, dtype=float)
    kernel = np.array(kernel, dtype=float)
    kh, kw = np.shape(kernel)
    out = np.zeros((len(image) - kh + 1, image.shape[1] - kw + 1))
    for row in range(out.shape[0]):
        for col in range(out.shape[1]):
            out[row, col] = np.sum(image[row:row + kh, col:col + kw] * kernel)
    return out
''',
    "pool2d": SCAFFOLD_POOL
    + """    for i in range(h_out):
        for j in range(w_out):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            out[i, j] = reduce(window)
    return out
""",
}

# cy: ada's answers, every name changed, comments added, spacing changed, one sum written as a method.
CY = {
    "corr2d": '''def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    img = np.asarray(image, dtype=float)   # make sure we have floats
    k = np.asarray(kernel, dtype=float)
    rows, cols = k.shape
    result = np.zeros((img.shape[0]-rows+1, img.shape[1]-cols+1))
    # slide the kernel over the image
    for r in range(result.shape[0]):
        for c in range(result.shape[1]):
            result[r, c] = (img[r:r+rows, c:c+cols] * k).sum()
    return result
''',
    "pool2d": SCAFFOLD_POOL
    + """    # go over every output position
    for row in range(h_out):
        for col in range(w_out):
            patch = x[row*stride:row*stride+size, col*stride:col*stride+size]
            out[row, col] = reduce(patch)  # max or mean of the patch
    return out
""",
}

# dan: honest; correlation as a sum of shifted slices, pooling with a comprehension.
DAN = {
    "corr2d": '''def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    a = np.asarray(image, dtype=float)
    w = np.asarray(kernel, dtype=float)
    oh = a.shape[0] - w.shape[0] + 1
    ow = a.shape[1] - w.shape[1] + 1
    total = np.zeros((oh, ow))
    for di in range(w.shape[0]):
        for dj in range(w.shape[1]):
            total += w[di, dj] * a[di:di + oh, dj:dj + ow]
    return total
''',
    "pool2d": SCAFFOLD_POOL
    + """    rows = [[reduce(x[r:r + size, c:c + size]) for c in range(0, w_out * stride, stride)]
            for r in range(0, h_out * stride, stride)]
    return np.array(rows, dtype=float).reshape(h_out, w_out)
""",
}

# eve: honest; vectorised with NumPy's sliding windows.
EVE = {
    "corr2d": '''from numpy.lib.stride_tricks import sliding_window_view


def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    kernel = np.asarray(kernel, dtype=float)
    windows = sliding_window_view(np.asarray(image, dtype=float), kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)
''',
    "pool2d": SCAFFOLD_POOL
    + """    views = sliding_window_view(x, (size, size))[::stride, ::stride]
    return reduce(views, axis=(2, 3))
""",
}

# hal: honest; loops too (the natural answer), written independently of ada.
HAL = {
    "corr2d": '''def corr2d(image, kernel):
    """Valid 2-D cross-correlation of `image` (H, W) with `kernel` (kh, kw)."""
    H, W = np.shape(image)
    kh, kw = np.shape(kernel)
    result = []
    for top in range(H - kh + 1):
        line = []
        for left in range(W - kw + 1):
            acc = 0.0
            for u in range(kh):
                for v in range(kw):
                    acc += image[top + u][left + v] * kernel[u][v]
            line.append(acc)
        result.append(line)
    return np.array(result)
''',
    "pool2d": SCAFFOLD_POOL
    + """    i = 0
    while i < h_out:
        j = 0
        while j < w_out:
            top, left = i * stride, j * stride
            out[i, j] = reduce(x[top:top + size, left:left + size])
            j += 1
        i += 1
    return out
""",
}

# fay and gus: no correlation handed in; pooling answers that share only the released scaffolding.
FAY = {
    "corr2d": STUB_CORR,
    "pool2d": SCAFFOLD_POOL
    + """    for i in range(h_out):
        out[i] = [reduce(x[i * stride:i * stride + size, j * stride:j * stride + size]) for j in range(w_out)]
    return out
""",
}
GUS = {
    "corr2d": STUB_CORR,
    "pool2d": SCAFFOLD_POOL
    + """    cells = np.lib.stride_tricks.sliding_window_view(x, (size, size))
    picked = cells[::stride, ::stride]
    flat = picked.reshape(h_out, w_out, -1)
    return flat.max(axis=-1) if mode == "max" else flat.mean(axis=-1)
""",
}

CLASS = {"ada": ADA, "bob": dict(ADA), "cy": CY, "dan": DAN, "eve": EVE, "hal": HAL, "fay": FAY, "gus": GUS}
COPIES = {("ada", "bob"), ("ada", "cy"), ("bob", "cy")}
"""The pairs that must be flagged: the verbatim and the renamed copies (and so each other)."""


def notebook(answers):
    """An nbgrader notebook: imports, the two exercises (solution cells), a test cell, prose."""

    def meta(grade_id, solution=False, grade=False, locked=False):
        return {
            "nbgrader": {
                "grade_id": grade_id,
                "solution": solution,
                "grade": grade,
                "locked": locked,
                "schema_version": 3,
                "task": False,
                **({"points": 1} if grade else {}),
            }
        }

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lab 0", metadata=meta("intro", locked=True)),
        nbformat.v4.new_code_cell(IMPORTS, metadata=meta("imports", locked=True)),
        nbformat.v4.new_code_cell(answers["corr2d"], metadata=meta("corr2d", solution=True)),
        nbformat.v4.new_code_cell(TESTS, metadata=meta("test_corr2d", grade=True, locked=True)),
        nbformat.v4.new_markdown_cell("Pooling keeps the largest (or the mean) of each window."),
        nbformat.v4.new_code_cell(answers["pool2d"], metadata=meta("pool2d", solution=True)),
    ]
    return nb


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    release = root / "release" / LAB
    release.mkdir(parents=True)
    nbformat.write(notebook({"corr2d": STUB_CORR, "pool2d": STUB_POOL}), release / f"{LAB}.ipynb")
    for student, answers in CLASS.items():
        folder = root / "submitted" / student / LAB
        folder.mkdir(parents=True)
        nbformat.write(notebook(answers), folder / f"{LAB}.ipynb")
    (root / "submitted" / "ivy" / LAB).mkdir(parents=True)  # handed nothing in
    return root


def test_solution_cells_are_the_answer_cells_only(course_dir):
    cells = similarity.solution_cells(course_dir / "submitted" / "ada" / LAB / f"{LAB}.ipynb")
    assert list(cells) == ["corr2d", "pool2d"]
    assert cells["corr2d"] == ADA["corr2d"]
    codes = similarity.student_code(course_dir, LAB)
    assert sorted(codes) == sorted(CLASS)  # ivy handed nothing in
    assert set(codes["fay"]) == {f"{LAB}:corr2d", f"{LAB}:pool2d"}
    assert similarity.released_code(course_dir, LAB) == {f"{LAB}:corr2d": STUB_CORR, f"{LAB}:pool2d": STUB_POOL}


@pytest.fixture(scope="module")
def pairs(course_dir):
    pytest.importorskip("copydetect", reason="the similarity extra: pip install -e './autograder[similarity]'")
    flagged, everything, students = similarity.check(course_dir, LAB)
    assert students == sorted(CLASS)
    assert len(everything) == len(CLASS) * (len(CLASS) - 1) // 2
    return flagged, {p.students: p for p in everything}


def test_the_copies_and_only_they_are_flagged(pairs):
    flagged, _ = pairs
    assert {p.students for p in flagged} == COPIES


def test_scores_rank_copies_above_every_honest_pair(pairs):
    _, everything = pairs
    assert everything["ada", "bob"].shares == pytest.approx((1.0, 1.0))
    verbatim, renamed = everything["ada", "bob"].score, everything["ada", "cy"].score
    assert everything["bob", "cy"].score == pytest.approx(renamed)
    honest = max(p.score for key, p in everything.items() if key not in COPIES)
    assert verbatim > renamed >= similarity.THRESHOLD > honest
    assert renamed - honest > 0.3  # a wide margin, not a near miss
    # The cell a renamed copy left intact (pooling, names aside) is shared whole.
    cells = {c.key: c for c in everything["ada", "cy"].cells}
    assert cells[f"{LAB}:pool2d"].shares == pytest.approx((1.0, 1.0))
    assert max(cells[f"{LAB}:corr2d"].shares) < 1.0


def test_released_scaffolding_does_not_count(course_dir, pairs):
    _, everything = pairs
    assert everything["fay", "gus"].score < similarity.THRESHOLD / 2
    # Without the release subtracted, the scaffolding alone would flag them: the subtraction matters.
    codes = similarity.student_code(course_dir, LAB)
    unsubtracted = {p.students: p for p in similarity.compare(codes)}
    assert unsubtracted["fay", "gus"].score >= similarity.THRESHOLD
    assert ("fay", "gus") in {p.students for p in similarity.flagged(unsubtracted.values())}


def test_shared_lines_are_the_copied_ones(pairs):
    _, everything = pairs
    ada_lines, cy_lines = everything["ada", "cy"].shared_lines()
    assert "            out[row, col] = np.sum(image[row:row + kh, col:col + kw] * kernel)" in ada_lines
    assert "            result[r, c] = (img[r:r+rows, c:c+cols] * k).sum()" in cy_lines
    assert "            patch = x[row*stride:row*stride+size, col*stride:col*stride+size]" in cy_lines
    # Lines the release has (the signature, the scaffolding) are never shown as shared.
    released = (STUB_CORR + STUB_POOL).splitlines()
    assert not set(ada_lines + cy_lines) & set(released)
    assert everything["fay", "gus"].cells == [] and everything["fay", "gus"].shared_lines() == ([], [])


def test_page_and_summary(course_dir, pairs, tmp_path):
    path, flagged, students = similarity.write_html(course_dir, LAB, tmp_path)
    page = path.read_text(encoding="utf-8")
    for a, b in COPIES:
        assert f"{a} / {b}" in page
    assert "fay / gus" not in page and "dan /" not in page
    assert (
        '<span class="hit">            out[row, col] = np.sum(image[row:row + kh, col:col + kw] * kernel)</span>'
        in page
    )
    assert "mode=&#34;max&#34;" in page and 'mode="max"' not in page  # the code is escaped
    text = similarity.summary(flagged, students)
    assert text.startswith(f"Similarity: 3 of 28 pair(s) of 8 student(s) at or above {similarity.THRESHOLD:.2f}:")
    assert "ada / bob" in text.splitlines()[1]


def test_thresholds_filter(pairs):
    _, everything = pairs
    ranked = sorted(everything.values(), key=lambda p: -p.score)
    assert similarity.flagged(ranked, threshold=1.01) == []
    assert {p.students for p in similarity.flagged(ranked, threshold=0.0)} == {
        p.students for p in ranked if p.shared >= similarity.MIN_SHARED
    }


def test_a_missing_library_names_the_fix(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "copydetect", None)
    with pytest.raises(similarity.MissingLibrary, match=r"pip install cnncourse-instructor\[similarity\]"):
        similarity.compare({"a": {"x": "pass\n"}, "b": {"x": "pass\n"}})


def test_no_release_is_an_error(tmp_path):
    pytest.importorskip("copydetect")
    with pytest.raises(LookupError, match="cnncourse release"):
        similarity.check(tmp_path, LAB)


def test_every_pair_appears_once(pairs):
    _, everything = pairs
    assert set(everything) == set(itertools.combinations(sorted(CLASS), 2))


def run_report(argv, monkeypatch):
    """``cnncourse report`` with these arguments, the gradebook left out (no lab is graded here)."""
    import argparse

    from autograder import report

    monkeypatch.setattr(report, "collect", lambda course_dir, assignment: ([], []))
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.run(parser.parse_args(argv))


def test_report_command_writes_the_page_and_a_summary(course_dir, pairs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run_report([LAB, "--course-dir", str(course_dir), "--output", str(out), "--similarity"], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert f"Similar solutions:   {out / 'similarity.html'}" in printed
    assert "Similarity: 3 of 28 pair(s)" in printed and "1.00  ada / bob" in printed
    assert "ada / bob" in (out / "similarity.html").read_text(encoding="utf-8")
    # A lower threshold flags an honest pair too; without --similarity there is no page.
    assert (
        run_report(
            [LAB, "--course-dir", str(course_dir), "--output", str(out), "--similarity", "--threshold", "0.3"],
            monkeypatch,
        )
        == 0
    )
    assert "ada / dan" in capsys.readouterr().out
    other = tmp_path / "plain"
    assert run_report([LAB, "--course-dir", str(course_dir), "--output", str(other)], monkeypatch) == 0
    assert not (other / "similarity.html").exists() and "Similar" not in capsys.readouterr().out


def test_report_command_without_the_library_says_how_to_install_it(course_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "copydetect", None)
    argv = [LAB, "--course-dir", str(course_dir), "--output", str(tmp_path / "out"), "--similarity"]
    assert run_report(argv, monkeypatch) == 2
    assert "pip install cnncourse-instructor[similarity]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_summary_lists_the_first_pairs_only(pairs):
    flagged, _ = pairs
    text = similarity.summary(flagged, sorted(CLASS), most=2)
    assert text.splitlines()[1:] == [
        f"  1.00  ada / bob  ({flagged[0].shared} tokenised characters shared)",
        f"  {flagged[1].score:.2f}  {' / '.join(flagged[1].students)}  ({flagged[1].shared} tokenised characters shared)",
        "  ... and 1 more (see the page)",
    ]
    assert type(flagged[1].score) is float
