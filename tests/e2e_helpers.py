"""Helpers for the end-to-end tests: servers on loopback, a headless Chromium, the proxy from npm.

The browser test (tests/test_browser.py) drives JupyterLab in Debian's
``chromium`` through Playwright; the hub test (tests/test_jupyterhub.py)
starts a real JupyterHub with the templates in deploy/jupyterhub/. Every
server listens on 127.0.0.1 only, every wait is bounded in time, and every
process a test starts is stopped by its own process-group id.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Screenshots and server logs of the end-to-end tests land here (git-ignored).
OUTPUT = Path(os.environ.get("CNNCOURSE_E2E_OUTPUT", ROOT / "output" / "e2e"))

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without the background-networking flags Chromium keeps trying to reach
# Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The version pair the browser test is run with (see docs/deployment.md).
TESTED_PINS = {"jupyterlab": "4.6.6", "nbgrader": "0.9.6"}


# --------------------------------------------------------------------------
# What is installed
# --------------------------------------------------------------------------
def chromium_path():
    """Debian's chromium (or ``$CNNCOURSE_CHROMIUM``), or None when it is not installed."""
    explicit = os.environ.get("CNNCOURSE_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def venv_bin():
    """The folder of this interpreter's scripts (jupyter, jupyterhub, nbgrader, cnncourse)."""
    return Path(sys.executable).parent


def configurable_http_proxy(cache_dir=None, timeout=240):
    """Path of ``configurable-http-proxy``; installed from the npm registry into a cache when missing.

    Looked for in ``$CNNCOURSE_CHP``, on PATH, in the repository's ``node_modules/.bin``
    and in ``cache_dir`` (default ``~/.cache/cnncourse-e2e/node``). Returns None when
    neither the proxy nor node and npm are available.
    """
    explicit = os.environ.get("CNNCOURSE_CHP")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cache_dir = Path(cache_dir or Path.home() / ".cache" / "cnncourse-e2e" / "node")
    candidates = [
        shutil.which("configurable-http-proxy"),
        ROOT / "node_modules" / ".bin" / "configurable-http-proxy",
        cache_dir / "node_modules" / ".bin" / "configurable-http-proxy",
    ]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return str(c)
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(cache_dir),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "configurable-http-proxy",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    target = candidates[-1]
    if proc.returncode != 0 or not os.access(target, os.X_OK):
        raise RuntimeError(f"npm could not install configurable-http-proxy:\n{proc.stdout}\n{proc.stderr}")
    return str(target)


# --------------------------------------------------------------------------
# Processes and waiting
# --------------------------------------------------------------------------
def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.5):
    """Call ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 (kept for the failure message)
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(
        f"gave up after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else "")
    )


def http(method, url, token=None, body=None, timeout=30, headers=None):
    """One HTTP request; returns ``(status, parsed JSON or text)`` and never raises on HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Server:
    """A background process in its own session, with its output in a log file."""

    def __init__(self, name, cmd, cwd, env, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=str(cwd),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, tail=6000):
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def wait_for_http(self, url, timeout, ok=(200, 302)):
        """Wait until ``url`` answers with a status in ``ok``; fail early if the process died."""

        def ready():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return http("GET", url, timeout=5)[0] in ok
            except OSError:
                return False

        try:
            wait_until(ready, timeout, f"{self.name} at {url}")
        except (TimeoutError, RuntimeError) as exc:
            raise AssertionError(f"{exc}\n--- {self.name} log ---\n{self.log()}") from None

    def stop(self, grace=10):
        """SIGTERM to the process group this server started, then SIGKILL after ``grace`` seconds."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=grace)
        else:
            # Children (kernels) of a server that exited may still hold the group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


# --------------------------------------------------------------------------
# Jupyter environments
# --------------------------------------------------------------------------
def jupyter_env(base, extra=None):
    """A copy of this environment with Jupyter's own folders under ``base`` (nothing from ~ leaks in).

    nbgrader's extensions come from this interpreter's prefix (``sys.prefix``),
    which Jupyter always searches, so they stay enabled.
    """
    base = Path(base)
    env = dict(os.environ)
    for var in (
        "JUPYTER_CONFIG_PATH",
        "JUPYTER_PATH",
        "JUPYTERHUB_API_TOKEN",
        "JUPYTERHUB_API_URL",
        "JPY_API_TOKEN",
        "MPLBACKEND",
        "JUPYTER_TOKEN",
    ):
        env.pop(var, None)  # MPLBACKEND=Agg (set by the test suite) would hide the notebooks' plots
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "IPYTHONDIR": base / "ipython",
    }
    for var, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env["PATH"] = str(venv_bin()) + os.pathsep + env.get("PATH", "")
    env.setdefault("CNNCOURSE_PROFILE", "fast")
    for var in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"):
        env.pop(var, None)  # the course's kernelspec sets them, as for a student
    env.update(extra or {})
    return env


def write_lab_settings(config_dir):
    """JupyterLab user settings for a quiet, scriptable browser session.

    No news or update toasts over the notebook, and every cell kept in the page
    (JupyterLab's windowing would leave cells below the fold out of the DOM).
    """
    settings = Path(config_dir) / "lab" / "user-settings" / "@jupyterlab"
    files = {
        "apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
    }
    for rel, content in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def labextension_report(env):
    """``jupyter labextension list`` (text, ANSI colours removed) in ``env``."""
    import re

    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], env=env, capture_output=True, text=True, timeout=180
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)


def nbgrader_labextension_problem(report):
    """Why nbgrader's lab extension is not usable with this JupyterLab, or '' when it is.

    JupyterLab marks an extension whose dependencies do not match the
    installed JupyterLab with ``X`` instead of ``OK`` and names it under
    "incompatible with the current version of jupyterlab".
    """
    line = next((ln for ln in report.splitlines() if "@jupyter/nbgrader" in ln and " v" in ln), "")
    if not line:
        return "nbgrader's lab extension (@jupyter/nbgrader) is not installed"
    if "enabled" not in line.split() or "OK" not in line.split():
        return f"nbgrader's lab extension is not enabled and compatible: {line.strip()}"
    marker = "incompatible with the current version of jupyterlab"
    if marker in report:
        after = report.split(marker, 1)[1]
        listed = after.split("If you are a user", 1)[0]
        if "@jupyter/nbgrader" in listed or '"@jupyter/nbgrader@' in report:
            return "JupyterLab reports @jupyter/nbgrader as incompatible:\n" + report
    return ""


def installed_versions(*names):
    from importlib import metadata

    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out
