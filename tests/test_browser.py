"""The course as a student and an instructor meet it: JupyterLab with nbgrader's extensions, in a real browser.

A ``jupyter lab`` server runs on a loopback port in a temporary copy of the
course; Debian's headless ``chromium``, driven by Playwright, opens the
released Lab 1, fills in one exercise wrongly and sees the check's feedback,
fixes it and sees the check pass, runs nbgrader's Validate, and opens the
instructor's formgrader. Screenshots go to ``output/e2e/browser/``.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import tempfile
import time

import pytest

import e2e_helpers as e2e

LAB = "lab1-convolution"

# A make_kernel whose edge detector does not sum to 0: the visible check must say so.
WRONG_MAKE_KERNEL = '''import numpy as np

def make_kernel(name):
    """Return the lecture's 3x3 kernel called `name` (with a mistake in `edge`)."""
    if name == "edge":
        return np.array([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]], dtype=float)  # sums to 1: wrong
    if name == "sharpen":
        return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float)
    if name == "box_blur":
        return np.full((3, 3), 1 / 9)
    if name == "gaussian_blur":
        return np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16
    raise ValueError(f"unknown kernel {name!r}")
'''


@pytest.fixture(scope="module")
def chromium():
    path = e2e.chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the Python package 'playwright' is not installed (pip install playwright)")
    return path


@pytest.fixture(scope="module")
def shots():
    folder = e2e.OUTPUT / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory, shots):
    """JupyterLab (nbgrader's extensions enabled) in a student home holding the fetched lab and the course."""
    from autograder import course

    base = tmp_path_factory.mktemp("lab")
    home = base / "home"
    course_dir = course.make_course_copy(home / "course", [LAB])
    release = course.generate_release(course_dir, LAB)
    # What a student has after fetching: the released lab in its own folder.
    shutil.copytree(release, home / LAB)
    solutions = course.perfect_submission(course_dir / "source" / LAB / f"{LAB}.ipynb", release / f"{LAB}.ipynb")

    env = e2e.jupyter_env(base / "jupyter", {"HOME": str(home)})
    e2e.write_lab_settings(env["JUPYTER_CONFIG_DIR"])
    # A private exchange, set the way deploy/jupyterhub/nbgrader_config.global.py sets it on a hub.
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    (base / "jupyter" / "config" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.Exchange.path_includes_course = True\n"
    )
    port, token = e2e.free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--allow-root",
        "--no-browser",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={home}",
    ]
    # The server's working folder is the course: nbgrader reads nbgrader_config.py from there.
    server = e2e.Server("jupyterlab", cmd, cwd=course_dir, env=env, log_dir=shots)
    try:
        server.wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=120)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "token": token,
            "home": home,
            "env": env,
            "server": server,
            "course": course_dir,
            "solutions": solutions,
        }
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser_page(chromium, lab_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(dir=tmp_path_factory.mktemp("chromium"))
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=e2e.CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(60_000)
        page = context.new_page()
        console = []
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        page.console_log = console
        try:
            yield page
        finally:
            context.close()


# --------------------------------------------------------------------------
# Helpers that speak JupyterLab
# --------------------------------------------------------------------------
def _cell(page, index):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _cell_index(solutions, grade_id):
    for i, cell in enumerate(solutions.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise AssertionError(f"no cell {grade_id!r} in the lab")


def _set_cell_source(page, index, text):
    """Replace a code cell's text the way a student does: click, select all, type (paste)."""
    cell = _cell(page, index)
    cell.scroll_into_view_if_needed()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")
    # CodeMirror may re-indent typed text; what the kernel runs is what the editor holds.
    got = page.evaluate(
        """(i) => {
        const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
        return Array.from(cells[i].querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n');
    }""",
        index,
    )
    assert got.strip() == text.strip(), f"the editor of cell {index} holds:\n{got}"


def _menu(page, top, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{top}$")).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).first.click()


def _wait_idle(page, timeout=120):
    """Wait until the kernel is idle and no cell shows a pending ``[*]`` prompt."""
    page.wait_for_function(
        """() => {
        const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        if (!p) return false;
        const busy = Array.from(p.querySelectorAll('.jp-InputArea-prompt')).some(e => e.textContent.includes('*'));
        const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
        const idle = !ind || ind.getAttribute('data-status') === 'idle';
        return !busy && idle;
    }""",
        timeout=timeout * 1000,
        polling=500,
    )


def _output_text(page, index):
    return _cell(page, index).locator(".jp-OutputArea").inner_text()


def _dismiss_toasts(page):
    for button in page.locator(".Toastify__close-button").all():
        try:
            button.click(timeout=2000)
        except Exception:  # noqa: BLE001 (a toast may vanish on its own)
            pass


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------
def test_an_incompatible_nbgrader_extension_is_reported(tmp_path):
    """The check below sees what JupyterLab says of an nbgrader extension built for JupyterLab 3."""
    fake = tmp_path / "share" / "labextensions" / "@jupyter" / "nbgrader"
    (fake / "static").mkdir(parents=True)
    (fake / "package.json").write_text(
        json.dumps(
            {
                "name": "@jupyter/nbgrader",
                "version": "0.5.0",
                "dependencies": {"@jupyterlab/application": "^3.0.0"},
                "jupyterlab": {
                    "extension": True,
                    "_build": {"load": "static/remoteEntry.js", "extension": "./extension"},
                },
            }
        )
    )
    env = e2e.jupyter_env(tmp_path / "jupyter", {"JUPYTER_PATH": str(tmp_path / "share")})
    problem = e2e.nbgrader_labextension_problem(e2e.labextension_report(env))
    assert "not enabled and compatible" in problem and "v0.5.0" in problem, problem


def test_nbgrader_lab_extension_is_compatible_with_jupyterlab(tmp_path):
    """Fails when JupyterLab reports nbgrader's extension incompatible (pin a tested pair)."""
    report = e2e.labextension_report(e2e.jupyter_env(tmp_path / "jupyter"))
    problem = e2e.nbgrader_labextension_problem(report)
    versions = e2e.installed_versions("jupyterlab", "nbgrader")
    assert not problem, f"{problem}\nInstalled: {versions}; the tested pair is {e2e.TESTED_PINS}.\n{report}"


@pytest.mark.slow
def test_student_and_instructor_in_jupyterlab(browser_page, lab_server, shots):
    """One browser session (one server): the student's side, then the instructor's."""
    _student_runs_lab_sees_feedback_and_validates(browser_page, lab_server, shots)
    _instructor_opens_the_formgrader(browser_page, lab_server, shots)
    # the running server did not find nbgrader's extension incompatible either
    log = lab_server["server"].log(500_000)
    assert "is not compatible with the current JupyterLab" not in log, log


def _student_runs_lab_sees_feedback_and_validates(page, server, shots):
    solutions = server["solutions"]
    url = f"{server['url']}/lab/tree/{LAB}/{LAB}.ipynb?token={server['token']}"
    page.goto(url)
    # every cell of the lab is on the page, the kernel is up and idle (the status bar says so),
    # and nbgrader's Validate button is in the notebook's toolbar
    page.wait_for_function(
        """(n) => {
        const p = document.querySelector('.jp-NotebookPanel');
        return p && p.querySelectorAll('.jp-Notebook .jp-Cell').length === n && !p.querySelector('.jp-Spinner')
            && document.querySelector('#jp-main-statusbar')?.innerText.includes('| Idle');
    }""",
        arg=len(solutions.cells),
        timeout=120_000,
        polling=500,
    )
    page.wait_for_selector(".jp-NotebookPanel .validate-button", timeout=30_000)
    _dismiss_toasts(page)
    page.screenshot(path=str(shots / "01-lab-opened.png"))

    i_corr, i_corr_test = _cell_index(solutions, "corr2d"), _cell_index(solutions, "test_corr2d")
    i_kern, i_kern_test = _cell_index(solutions, "make_kernel"), _cell_index(solutions, "test_make_kernel")

    # 1. A right corr2d and a wrong make_kernel: Run All stops at the failing check.
    _set_cell_source(page, i_corr, solutions.cells[i_corr].source)
    _set_cell_source(page, i_kern, WRONG_MAKE_KERNEL)
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        "(i) => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[i]"
        ".querySelector('.jp-OutputArea')?.innerText.includes('\u2718')",
        arg=i_kern_test,
        timeout=120_000,
    )
    _wait_idle(page)
    passed_text = _output_text(page, i_corr_test)
    assert "\u2714 Exercise 1 (corr2d)" in passed_text, passed_text
    failed_text = _output_text(page, i_kern_test)
    assert "\u2718 Exercise 2 (make_kernel)" in failed_text, failed_text
    assert "edge should sum to 0" in failed_text and "expected" in failed_text and "found" in failed_text, failed_text
    _cell(page, i_kern_test).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "02-check-fails-with-feedback.png"))

    # 2. The student fixes make_kernel: both checks pass and the filtered photos appear.
    _set_cell_source(page, i_kern, solutions.cells[i_kern].source)
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        "(i) => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[i]"
        ".querySelector('.jp-OutputArea')?.innerText.includes('\u2714')",
        arg=i_kern_test,
        timeout=120_000,
    )
    _wait_idle(page, timeout=180)
    assert "\u2714 Exercise 2 (make_kernel)" in _output_text(page, i_kern_test)
    photos = _cell(page, i_kern_test + 2).locator(".jp-OutputArea img")
    assert photos.count() >= 1, "the 'See them work' cell shows no figure"
    _cell(page, i_kern_test).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "03-checks-pass.png"))
    photos.first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "04-kernels-on-the-photo.png"))

    # 3. Save, then nbgrader's Validate: it runs the whole notebook and lists what still fails.
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-NotebookPanel').title?.className?.includes?.('jp-mod-dirty')",
        timeout=30_000,
    )
    time.sleep(1)
    page.locator(".jp-NotebookPanel .validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=240_000)
    text = dialog.inner_text()
    assert "There was an error running the validate command" not in text, text
    # Exercises 1 and 2 pass now; the unattempted ones (3 and 4) fail in the validation too.
    assert "Exercise 3 (conv2d_forward)" in text or "NotImplementedError" in text or "not attempted" in text, text
    page.screenshot(path=str(shots / "05-validate.png"))
    dialog.locator("button", has_text="Ok").first.click()

    errors = [m for m in page.console_log if m.startswith("error:") and "nbgrader" in m.lower()]
    assert not errors, errors


def _instructor_opens_the_formgrader(page, server, shots):
    page.goto(f"{server['url']}/lab?token={server['token']}")
    page.wait_for_selector(".lm-MenuBar-itemLabel >> text=Nbgrader", timeout=120_000)
    _dismiss_toasts(page)
    _menu(page, "Nbgrader", "Formgrader")
    frame_el = page.wait_for_selector("iframe[src*='formgrader']", timeout=60_000)
    frame = frame_el.content_frame()
    frame.wait_for_selector(f"text={LAB}", timeout=60_000)
    body = frame.inner_text("body")
    assert "Manage Assignments" in body, body
    assert "not a subdirectory" not in body and "does not exist" not in body, body
    page.screenshot(path=str(shots / "06-formgrader.png"))
