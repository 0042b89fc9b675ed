"""Grading into a PostgreSQL gradebook (``c.CourseDirectory.db_url``), on a real server the test starts.

The server runs as an unprivileged user (PostgreSQL refuses to run as
root): as ``postgres`` through ``runuser`` when the tests run as root, as
the current user otherwise. The test is skipped, with the reason, where no
PostgreSQL server binaries or no such user can be found.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (psycopg2-binary) is needed for a PostgreSQL gradebook")

from autograder.grading import Limits, grade_class  # noqa: E402
from autograder.grading.sample import tiny_course  # noqa: E402


def _pg_bin():
    if os.environ.get("PG_BIN"):
        return os.environ["PG_BIN"]
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres(tmp_path):
    bindir = _pg_bin()
    if not bindir:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); install postgresql")
    prefix = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser to drop privileges")
        prefix = ["runuser", "-u", "postgres", "--"]
        owner = (user.pw_uid, user.pw_gid)
    else:
        owner = None
    base = Path(tempfile.mkdtemp(prefix="cnncourse-pg-"))  # outside pytest's private (0700) folders
    data = base / "data"
    if owner:
        os.chown(base, *owner)
    port = _free_port()
    run = lambda *cmd: subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    run(os.path.join(bindir, "initdb"), "-D", str(data), "-A", "trust", "-U", "grader", "--no-sync")
    run(
        os.path.join(bindir, "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
        "start",
    )
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE gradebook")
        conn.close()
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(
            prefix + [os.path.join(bindir, "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def test_grading_into_postgresql(postgres, tmp_path):
    from nbgrader.api import Gradebook

    c = tiny_course(tmp_path / "course", ["perfect", "crashing", "blank"], db_url=postgres)
    summary = grade_class(
        c, "tiny", workers=2, limits=Limits(cell_timeout=60, timeout=300, memory=1 << 30), progress=False
    )
    assert {s: r["score"] for s, r in summary.results.items()} == {"perfect": 6.0, "crashing": 1.0, "blank": 0.0}
    assert not (c / "gradebook.db").exists()  # everything went to PostgreSQL
    with Gradebook(postgres, "cnncourse") as gb:
        a = gb.find_assignment("tiny")
        assert sorted(s.student_id for s in a.submissions) == ["blank", "crashing", "perfect"]
        assert gb.find_submission("tiny", "perfect").score == 6.0
        crashed = gb.find_submission_notebook("tiny", "tiny", "crashing")
        assert crashed.score == 1.0 and crashed.flagged
    again = grade_class(c, "tiny", workers=2, resume=True, progress=False)
    assert again.graded == []
