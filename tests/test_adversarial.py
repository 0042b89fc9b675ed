"""Hostile and broken submissions (tests/corpus.py), graded as one class in the sandbox.

For every case: the grader finishes within its limits, the submission gets
its expected grade or recorded reason, no other student's result changes
(control submissions among them keep their grades), and nothing outside the
submission's own output folder is written. The attempts on the hidden tests
are graded a second time with the guard switched off, to show that each one
would have gained points without it. The secret hunts search for secrets
planted in the grader's environment (and in its files outside the sandbox);
each is also run with one protection taken away, to show that it would then
find them.
"""

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

import corpus
from autograder import course
from autograder.grading import Limits, grade_class, sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("adversarial"),  # the corpus is graded once, on one worker
    pytest.mark.skipif(bool(sandbox.probe()), reason=f"no sandbox here: {sandbox.probe()}"),
]

# output: the output cases (tests/corpus.py) are sized for a 1 MiB cap, below the 8 MiB default. cell_timeout:
# long enough that the memory and fork bombs meet their own limits first on a loaded machine (3 test workers).
LIMITS = Limits(cell_timeout=6, timeout=25, memory=1 << 30, processes=8, grace=10, output=1 << 20)
SECRET = "JUPYTERHUB_API_TOKEN"
# Planted in the grader's environment while the corpus is graded; the values appear nowhere else. A TF_ prefix
# in the kernel's whitelist would let TF_VAR_db_password through, a CNNCOURSE_ one CNNCOURSE_DB_PASSWORD.
SECRETS = {
    name: f"tok-{secrets.token_hex(16)}"
    for name in (SECRET, "AWS_SECRET_ACCESS_KEY", "TF_VAR_db_password", "CNNCOURSE_DB_PASSWORD")
}
HUNTS = [c for c in corpus.CASES if c.hunt]
NAMES = [c.name for c in corpus.CASES]


def _tree(root, skip=("autograded", "gradebook.db", "gradebook.db-journal")):
    """``{relative path: sha256}`` of every file under ``root`` except the grader's own outputs."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] in skip or not p.is_file():
            continue
        out[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class _Server:
    """A TCP server on the grading machine's loopback that records who connects."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def _build_course(path, cases, ctx, controls=True, guard=True):
    c = course.make_course_copy(path, [])
    if not guard:
        with open(c / "nbgrader_config.py", "a") as f:
            f.write("\nc.ResilientExecute.guard_tests = False\n")
    (c / "source" / corpus.ASSIGNMENT).mkdir(parents=True)
    src = c / "source" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
    nbformat.write(corpus.source_notebook(), str(src))
    rel = course.generate_release(c, corpus.ASSIGNMENT) / f"{corpus.ASSIGNMENT}.ipynb"
    perfect = course.perfect_submission(src, rel)
    if controls:
        for name, _ in corpus.CONTROLS.items():
            nb = course.blank_submission(rel) if "blank" in name else perfect
            course.write_submission(c, corpus.ASSIGNMENT, name, nb)
    for case in cases:
        sub = case.build(nbformat.reads(nbformat.writes(perfect), as_version=4), ctx)
        if isinstance(sub, bytes):
            folder = c / "submitted" / case.name / corpus.ASSIGNMENT
            folder.mkdir(parents=True)
            (folder / f"{corpus.ASSIGNMENT}.ipynb").write_bytes(sub)
        else:
            course.write_submission(c, corpus.ASSIGNMENT, case.name, sub)
    return c


def _plant_secret_files(ctx):
    """The grader's own secret files, where a grader keeps them: outside the sandbox, but guessable."""
    Path(ctx.course, ".env").write_text(f"{SECRET}={SECRETS[SECRET]}\n")
    Path(ctx.outside, "credentials").write_text(f"aws_secret_access_key = {SECRETS['AWS_SECRET_ACCESS_KEY']}\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    server = _Server()
    outside = root / "outside"
    outside.mkdir()
    ctx = corpus.Context(
        course=str(root / "course"),
        victim="control_perfect_1",
        outside=str(outside),
        port=server.port,
        secret_var=SECRET,
        secrets=SECRETS,
    )
    c = _build_course(root / "course", corpus.CASES, ctx)
    _plant_secret_files(ctx)
    before = _tree(c)
    before_outside = _tree(outside)
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    os.environ.update(SECRETS)
    t0 = time.monotonic()
    try:
        summary = grade_class(c, corpus.ASSIGNMENT, workers=2, limits=LIMITS, progress=False)
    finally:
        for name in SECRETS:
            os.environ.pop(name, None)
    return {
        "course": c,
        "summary": summary,
        "seconds": time.monotonic() - t0,
        "before": before,
        "before_outside": before_outside,
        "outside": outside,
        "server": server,
        "me": me,
        "children_before": children_before,
    }


def _outputs_text(c, student):
    path = c / "autograded" / student / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
    if not path.exists():
        return ""
    nb = json.loads(path.read_text())
    return json.dumps([cell.get("outputs", []) for cell in nb["cells"]])


def test_the_corpus_is_big_enough():
    assert len(corpus.CASES) >= 40 and len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_case_gets_its_grade_or_reason(graded, name):
    case = next(c for c in corpus.CASES if c.name == name)
    r = graded["summary"].results[name]
    assert r["isolation"] == "bubblewrap" or r["status"] == "malformed"
    assert (r["status"], r["score"]) == (case.status, case.score), r["reason"]
    assert case.reason in r["reason"]
    # within its limits: cell and submission limits, and the grace to stop it
    assert r["seconds"] < LIMITS.timeout + LIMITS.grace + 15, r["seconds"]
    assert corpus.SUCCESS not in _outputs_text(graded["course"], name)


def test_other_students_keep_their_grades(graded):
    for name, (status, score) in corpus.CONTROLS.items():
        r = graded["summary"].results[name]
        assert (r["status"], r["score"]) == (status, score), r["reason"]
    grades = course.read_grades(graded["course"], corpus.ASSIGNMENT)  # the gradebook reads back whole
    for name, r in graded["summary"].results.items():
        assert grades[name].score == pytest.approx(r["score"]), name


def test_nothing_outside_the_submissions_own_output_is_written(graded):
    c = graded["course"]
    assert _tree(c) == graded["before"]  # source/, release/, submitted/, the config...
    assert _tree(graded["outside"]) == graded["before_outside"]
    assert not list(c.rglob("planted.txt"))
    assert graded["server"].connections == 0
    victim = c / "autograded" / "control_perfect_1" / corpus.ASSIGNMENT
    assert sorted(p.name for p in victim.iterdir()) == [f"{corpus.ASSIGNMENT}.ipynb"]


def test_hidden_tests_and_links_do_not_leak_into_outputs(graded):
    c = graded["course"]
    for name in ("read_hidden_tests", "read_gradebook", "symlink_to_hidden_tests"):
        assert corpus.HIDDEN_MARK not in _outputs_text(c, name)
    out = c / "autograded" / "symlink_to_hidden_tests" / corpus.ASSIGNMENT
    assert sorted(p.name for p in out.iterdir()) == [f"{corpus.ASSIGNMENT}.ipynb"]  # links are not copied
    assert not (c / "autograded" / "huge_file_written" / corpus.ASSIGNMENT / "big.bin").exists()


def test_outputs_are_capped(graded):
    c = graded["course"]
    for name in ("hundred_megabytes_printed", "huge_image", "warnings_spam"):
        path = c / "autograded" / name / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
        assert path.stat().st_size < 4 * 2**20, name
        assert "the grader cut this cell's output" in path.read_text()


def test_no_process_is_left_behind(graded):
    time.sleep(1)
    left = [
        p
        for p in graded["me"].children(recursive=True)
        if p.pid not in graded["children_before"]
        and p.status() != psutil.STATUS_ZOMBIE
        and "multiprocessing.resource_tracker" not in " ".join(p.cmdline())
    ]  # the pool's own helper
    assert not left, [p.cmdline() for p in left]
    sleepers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "kernelapp.launch_new_instance" in " ".join(p.info["cmdline"] or [])
        and "grade-checked" in " ".join(p.info["cmdline"] or [])
    ]
    assert not sleepers


def test_without_the_guard_each_attempt_would_have_gained_points(tmp_path):
    """The same attempts, with the guard off: the tests are fooled (so the corpus can fail)."""
    tampering = [c for c in corpus.CASES if c.tamper and c.name != "hide_tracebacks"]
    ctx = corpus.Context(course=str(tmp_path / "course"), victim="x", outside=str(tmp_path), port=1, secret_var=SECRET)
    c = _build_course(tmp_path / "course", tampering, ctx, controls=False, guard=False)
    summary = grade_class(c, corpus.ASSIGNMENT, workers=2, limits=LIMITS, progress=False)
    for case in tampering:
        r = summary.results[case.name]
        assert r["score"] == corpus.MAX_SCORE, (case.name, r["status"], r["score"], r["reason"])


def test_no_secret_of_the_grader_reaches_a_submission(graded):
    """The hunts ran to the end and found nothing; no value of a planted secret is in any result."""
    c = graded["course"]
    for case in HUNTS:
        text = _outputs_text(c, case.name)
        assert "no secret found - looked at" in text and "looked at 0 sources" not in text, case.name
    for name, r in graded["summary"].results.items():
        path = c / "autograded" / name / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
        seen = [
            path.read_bytes() if path.exists() else b"",
            json.dumps({k: v for k, v in r.items() if k != "files"}, default=str).encode(),
        ]
        for value in SECRETS.values():
            assert not any(value.encode() in s for s in seen), name


def _hunt_code(case, ctx):
    return corpus._answer(case.build(corpus.source_notebook(), ctx), "add").source


def test_without_a_protection_each_hunt_finds_the_secrets(tmp_path, monkeypatch):
    """Each hunt, run with one protection taken away, finds a planted secret (so the corpus can fail).

    sandbox: no sandbox at all (the grader's environment and files); env -i: bubblewrap itself keeps the
    grader's environment (the old behaviour, readable in /proc/1/environ); whitelist: variables kept by
    a ``TF_`` prefix (the old rule: TF_VAR_db_password reaches the kernel, and bwrap's command line).
    """
    ctx = corpus.Context(
        course=str(tmp_path / "course"),
        victim="x",
        outside=str(tmp_path / "outside"),
        port=1,
        secret_var=SECRET,
        secrets=SECRETS,
    )
    folders = {k: tmp_path / k for k in ("course", "outside", "cwd", "rt", "home")}
    for p in folders.values():
        p.mkdir()
    _plant_secret_files(ctx)
    env = {**os.environ, **SECRETS}

    def sandboxed():
        return sandbox.bwrap_command(folders["cwd"], folders["rt"], folders["home"], env)

    def without_env_i():
        cmd = sandboxed()
        assert cmd[1] == "-i"
        return cmd[2:]

    def prefix_whitelist():
        keep = sandbox.kernel_environment

        def by_prefix(environ, home):
            return {**keep(environ, home), **{k: v for k, v in environ.items() if k.startswith("TF_")}}

        with monkeypatch.context() as m:
            m.setattr(sandbox, "kernel_environment", by_prefix)
            return sandboxed()

    weakened = {"sandbox": lambda: [], "env -i": without_env_i, "whitelist": prefix_whitelist}
    assert {p for case in HUNTS for p in case.hunt} == set(weakened)
    for protection, prefix in weakened.items():
        for case in [c for c in HUNTS if protection in c.hunt]:
            out = subprocess.run(
                prefix() + [sys.executable, "-c", _hunt_code(case, ctx)],
                cwd=folders["cwd"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, (case.name, protection, out.stderr[-2000:])
            assert corpus.SUCCESS in out.stdout, (case.name, protection, out.stdout[-2000:])
            assert not any(v in out.stdout for v in SECRETS.values())  # it says where, never what


def test_plain_nbgrader_autograde_keeps_the_hidden_tests_honest_too(tmp_path):
    """The formgrader's Autograde button runs ``nbgrader autograde``: the course's config gives it the guard.

    Without it, this submission (it patches ``numpy.allclose`` and the check) earns 4 of 4
    (``test_without_the_guard_each_attempt_would_have_gained_points``).
    """
    from nbgrader.api import Gradebook

    case = next(c for c in corpus.CASES if c.name == "patch_numpy_and_check")
    ctx = corpus.Context(course=str(tmp_path / "course"), victim="x", outside=str(tmp_path), port=1, secret_var=SECRET)
    c = _build_course(tmp_path / "course", [case], ctx, controls=False)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", corpus.ASSIGNMENT, "--student", case.name, "--force"],
        cwd=c,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with Gradebook(f"sqlite:///{c / 'gradebook.db'}") as gb:
        score = gb.find_submission(corpus.ASSIGNMENT, case.name).score
    assert score == case.score, (score, run.stderr[-2000:])
