"""Processes of the course start without work they do not need.

* the parsers jsonschema would build for a format no notebook uses;
* the ``alembic`` program nbgrader runs to learn the schema version of a gradebook it creates;
* TensorFlow's optimisation of the tiny graphs every epoch of Keras's ``fit`` instantiates.
"""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

PROBE = """
import json, sys
{first}
import nbformat, jsonschema
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nb)  # notebooks are still validated
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
print(json.dumps({{"lark": "lark" in sys.modules,
                  "date_checked": not checker.conforms("2026-13-45", "date"), "iri": "iri" in checker.checkers}}))
"""


def _probe(first=""):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_without_the_course_jsonschema_builds_the_iri_parsers():
    """What the course avoids is real here (Jupyter's dependencies install rfc3987_syntax): the test can fail."""
    plain = _probe()
    assert plain["lark"] and plain["iri"] and plain["date_checked"], plain


def test_a_process_that_imports_the_course_first_skips_them_and_checks_every_other_format():
    for first in ("import cnncourse", "import autograder"):
        light = _probe(first=first)
        assert not light["lark"] and not light["iri"], (first, light)
        assert light["date_checked"], (first, light)


def test_the_course_runs_nbgrader_commands_without_them():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autograder.run_nbgrader", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), proc.stderr[-2000:]  # nbgrader printed its version
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "nbgrader" in imported and "jsonschema" in imported and "lark" not in imported


def _fake_alembic(folder):
    """A folder with an ``alembic`` program that fails and leaves a mark: put first on PATH."""
    folder.mkdir()
    script = folder / "alembic"
    script.write_text(f"#!/bin/sh\ntouch {folder / 'ran'}\nexit 3\n")
    script.chmod(0o755)
    return folder


def test_the_schema_version_read_in_process_is_the_one_alembic_prints():
    import nbgrader.api

    from autograder.gradebook_version import alembic_head

    assert nbgrader.api.get_alembic_version() == alembic_head()  # nbgrader's own lookup: runs `alembic heads`


def test_a_new_course_s_first_nbgrader_command_does_not_run_alembic(tmp_path):
    import nbformat

    from autograder import course
    from autograder.gradebook_version import alembic_head
    from autograder.grading import sample

    c = course.make_course_copy(tmp_path / "course", [])
    (c / "source" / "tiny").mkdir(parents=True)
    nbformat.write(sample.tiny_source(), str(c / "source" / "tiny" / "tiny.ipynb"))
    fake = _fake_alembic(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.run_nbgrader", "generate_assignment", "tiny"],
        cwd=c,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (fake / "ran").exists()
    with sqlite3.connect(c / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(alembic_head(),)]
    assert (c / "release" / "tiny" / "tiny.ipynb").exists()


def test_a_grading_template_without_a_gradebook_to_copy_from_does_not_run_alembic(tmp_path, monkeypatch):
    from autograder.gradebook_version import alembic_head
    from autograder.grading import spec as spec_mod

    fake = _fake_alembic(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    assignment = {"name": "tiny", "course_id": "default_course", "notebooks": []}
    template = tmp_path / "template.db"
    template.write_bytes(spec_mod.template_db(assignment))
    assert not (fake / "ran").exists()
    with sqlite3.connect(template) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(alembic_head(),)]


TF_OPTIONS = """
import json
{first}
import tensorflow as tf
print(json.dumps(tf.config.optimizer.get_experimental_options()))
"""


def _tf_options(first):
    proc = subprocess.run(
        [sys.executable, "-c", TF_OPTIONS.format(first=first)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_tensorflow_skips_optimising_small_graphs_in_a_course_process_whichever_comes_first():
    from cnncourse.runtime import SMALL_GRAPH_NODES

    assert "min_graph_nodes" not in _tf_options("import keras")  # TensorFlow's default: the test can fail
    for first in (
        "import cnncourse",  # the hook
        "import keras; from cnncourse import data",  # a lab's imports cell
        "import cnncourse, importlib.util; assert importlib.util.find_spec('tensorflow')",  # is it installed?
    ):
        assert _tf_options(first).get("min_graph_nodes") == SMALL_GRAPH_NODES, first


def test_every_import_after_the_course_s_still_works_in_a_bare_interpreter():
    """No site-packages, no editable-install finder: importlib.util is not imported before the course's hook runs."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (
        f"import sys; sys.path.insert(0, {root!r}); import cnncourse; import csv, json.tool, email.parser; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_the_tests_measure_the_calibration_records_with_small_graphs_unoptimised():
    """The records were measured without the setting: tests/test_calibration.py measures them again with it."""
    import tensorflow as tf

    from cnncourse.runtime import SMALL_GRAPH_NODES

    assert tf.config.optimizer.get_experimental_options().get("min_graph_nodes") == SMALL_GRAPH_NODES


def test_the_import_hook_calls_back_once_after_the_module_has_run_and_is_not_used_up_by_a_lookup_or_a_failure(
    tmp_path, monkeypatch
):
    import importlib.util

    from cnncourse.runtime import _AfterImport

    (tmp_path / "hooked_fine.py").write_text("VALUE = 41 + 1\n")
    (tmp_path / "hooked_flaky.py").write_text(
        "import os\nif os.environ.get('HOOKED_BROKEN'):\n    raise RuntimeError('broken')\nVALUE = 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    hooks = [
        _AfterImport(name, lambda m: seen.append((m.__name__, m.VALUE))) for name in ("hooked_fine", "hooked_flaky")
    ]
    for hook in hooks:
        monkeypatch.delitem(sys.modules, hook.name, raising=False)
        sys.meta_path.insert(0, hook)
    try:
        assert importlib.util.find_spec("hooked_fine") is not None  # only looked up: nothing runs, nothing is used up
        assert seen == []
        import hooked_fine  # noqa: F401

        assert seen == [("hooked_fine", 42)]
        monkeypatch.setenv("HOOKED_BROKEN", "1")
        with pytest.raises(RuntimeError, match="broken"):
            import hooked_flaky
        assert seen == [("hooked_fine", 42)]  # a failed import calls nothing
        monkeypatch.delenv("HOOKED_BROKEN")
        monkeypatch.delitem(sys.modules, "hooked_flaky", raising=False)
        import hooked_flaky  # noqa: F401 - the retry

        assert seen == [("hooked_fine", 42), ("hooked_flaky", 7)]
        importlib.reload(sys.modules["hooked_fine"])
        assert len(seen) == 2  # once only
    finally:
        for hook in hooks:
            if hook in sys.meta_path:
                sys.meta_path.remove(hook)
        for name in ("hooked_fine", "hooked_flaky"):
            sys.modules.pop(name, None)


def test_the_course_imports_where_tensorflow_is_hidden_or_cannot_take_the_setting(monkeypatch):
    from cnncourse import runtime

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # the usual way to hide a package
    assert runtime.skip_optimising_small_graphs() == "not set"
    half_imported = type(sys)("tensorflow")  # as while another thread is importing it
    monkeypatch.setitem(sys.modules, "tensorflow", half_imported)
    assert runtime.skip_optimising_small_graphs() == "not set"
