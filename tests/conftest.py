import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Course commands find the course directory as nbgrader does (the current one): the repository's.
os.chdir(ROOT)
# What every course kernel starts with (cnncourse.runtime.KERNEL_ENV), set before TensorFlow is
# imported, so checks run in this process compute what graded kernels compute.
os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"})
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests run the CPU profile unless the caller chose one.
os.environ.setdefault("CNNCOURSE_PROFILE", "fast")
# As in every process of the course: the package first (it keeps jsonschema's unused IRI parsers out).
import cnncourse  # noqa: E402, F401
from cnncourse import runtime  # noqa: E402
from cnncourse.calibration import RECORD_THREADS  # noqa: E402

# TensorFlow's threads within an operation as when the calibration records were measured, on any
# machine: some trainings end on other numbers with another count (cnncourse.calibration).
os.environ["TF_NUM_INTRAOP_THREADS"] = str(RECORD_THREADS)

# As in the grader's kernels: full garbage collections ten times rarer (each walks every object of
# a process that has imported TensorFlow; about 6% of a lab's check tests went to them).
runtime.collect_garbage_less_often()

# absl (TensorFlow's logging) writes to the stderr of the moment it is imported: under pytest, the
# capture's file. Every traitlets application made in this process (nbgrader's, in-process)
# reconfigures logging, which closes all handlers; absl's then closes its stream unless it is the
# current sys.stderr, so under capsys pytest's own capture file was closed. The real stderr is
# never closed by it.
try:
    from absl import logging as _absl_logging
except ImportError:  # pragma: no cover - TensorFlow brings absl
    pass
else:
    _absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


STRICT = os.environ.get("CNNCOURSE_TEST_STRICT") == "1"
"""Set by .ci/run: continuous integration installs everything the tests need, so a skip there
(no bubblewrap, no PostgreSQL, no browser, no Keras) is a failure, not a quiet gap."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where nothing may be ({reason}): CNNCOURSE_TEST_STRICT=1 asks for every test to run"


def pytest_sessionfinish(session, exitstatus):
    """A whole module skipped at collection (``pytest.importorskip``) fails a strict run too."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if STRICT and skipped and exitstatus == 0:
        reporter.write_line(f"CNNCOURSE_TEST_STRICT=1: {len(skipped)} skip(s) where nothing may be skipped", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config, items):
    """Under xdist, the tests marked ``slow`` first: no long test starts last while the other worker idles.

    ``--dist loadgroup`` hands out the groups first (most tests first), then single tests in
    collection order, so a minute-long test collected near the end (the watch's end-to-end test
    is in the last module) could keep one worker busy while the other has nothing left. Longest
    first is the usual cure; ``slow`` is the mark the long tests carry. The sort is stable and
    the same on every worker (xdist requires identical collections). A run without xdist keeps
    the collection order, so a module's tests stay together there.
    """
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
