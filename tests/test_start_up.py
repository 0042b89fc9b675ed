"""Processes of the course start without the parsers jsonschema would build for a format no notebook uses."""

import json
import subprocess
import sys

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
