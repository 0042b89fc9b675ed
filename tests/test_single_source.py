"""A lab's solutions and hidden tests live in source/ only: no other file repeats them.

Three consecutive meaningful lines (blank lines, comments and short
statements aside) of a solution or a hidden test, found anywhere else in the
repository (the student package, the instructor package, the tests, the
releases, the demos, the docs), are a copy: a second place to keep in step,
and for the packages and the releases, an answer handed to students.
"""

import subprocess

import pytest

import sources


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=sources.ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name and not name.startswith("source/")]


def test_the_detector_finds_a_pasted_solution():
    window = next(iter(sources.protected_windows()))
    pasted = "x = 1\n" + "\n".join(window) + "\nprint(x)\n"
    assert sources.copies_in(pasted) and not sources.copies_in("x = 1\nprint(x)\n")


def test_there_are_solutions_to_protect():
    labs = set(sources.protected_windows().values())
    assert len(labs) >= 8, labs


@pytest.mark.parametrize("name", _tracked_files())
def test_no_file_outside_source_repeats_a_solution_or_a_hidden_test(name):
    path = sources.ROOT / name
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return  # binary files (weights, images)
    copies = sources.copies_in(text)
    assert not copies, (
        f"{name} repeats lines of {copies[0][0]}'s solutions or hidden tests, which live in "
        f"source/ only; read them from there (tests/sources.py) instead:\n  " + "\n  ".join(copies[0][1])
    )
