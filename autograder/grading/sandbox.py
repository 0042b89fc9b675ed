"""The sandbox a submission's kernel runs in while it is graded.

nbgrader starts the kernel with the instructor's permissions, next to
``source/`` (the hidden tests), the gradebook and every other student's
work. Here the kernel is started through `bubblewrap`_ (Debian's
``bubblewrap`` package, the sandbox Flatpak uses) instead, with:

* a file system of its own: the Python installation, the ``cnncourse``
  package and the data directory, read-only; the submission's own grading
  folder (where the notebook runs) and a private home, writable; an empty
  ``/tmp``. Nothing else: not the course directory, not ``source/``, not
  the gradebook, not other students' folders, not the grader's home;
* no network (a network namespace of its own; the kernel talks to the
  grader through Unix sockets in a private folder);
* a process namespace of its own: the kernel cannot see or signal the
  grader, and when the kernel is stopped every process it started goes
  with it (``--die-with-parent``, and the namespace's first process takes
  the rest down);
* a new session (no access to the grader's terminal) and a clean
  environment from its very first process: bubblewrap itself starts with
  an empty environment (``env -i``), so no ``/proc/<pid>/environ`` inside
  holds the grader's, and the kernel gets only the variables a kernel
  needs (no tokens or secrets).

Where bubblewrap is missing or cannot create namespaces (some containers),
grading still works, unisolated, and says so loudly; ``--sandbox require``
makes that an error instead.

.. _bubblewrap: https://github.com/containers/bubblewrap
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnncourse.runtime import FULL_COLLECTION_EVERY, KERNEL_ENV

KERNEL_NAME = "cnncourse-graded"
MODES = ("auto", "require", "off")

# Environment variables a graded kernel keeps, named one by one (a prefix such as TF_ would also let
# secrets through: Terraform's TF_VAR_*, say); everything else is dropped.
ENV_KEEP = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "PYTHONHASHSEED",
    "KERAS_BACKEND",
    "CUDA_VISIBLE_DEVICES",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "TF_GPU_ALLOCATOR",
    "TF_DETERMINISTIC_OPS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "CNNCOURSE_PROFILE",
    "CNNCOURSE_DATA_DIR",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "LC_ALL",
    "LC_CTYPE",
)
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "timezone",
    "hosts",
    "mime.types",
    "matplotlibrc",
    "ssl",
)
NOT_ISOLATED = (
    "NOT ISOLATED: bubblewrap is not available ({why}). Submissions run with your permissions "
    "and can read the hidden tests, the gradebook and other students' work. Install it "
    "(Debian/Ubuntu: apt-get install bubblewrap) or grade inside a container."
)


class SandboxUnavailable(RuntimeError):
    """``--sandbox require`` was asked for, but bubblewrap cannot run here."""


@functools.lru_cache(maxsize=None)
def probe() -> str:
    """``""`` when bubblewrap can create a sandbox here, else why not."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "the bwrap command is not installed"
    try:
        proc = subprocess.run(
            [
                bwrap,
                *_system_binds(),
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--unshare-all",
                "--die-with-parent",
                "--",
                "true",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not run: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {(proc.stderr or '').strip()[:200]}"
    return ""


def resolve(mode: str) -> str:
    """The isolation grading will use for ``mode`` (auto, require, off): ``"bubblewrap"`` or ``"none"``.

    Raises :class:`SandboxUnavailable` for ``require`` when bubblewrap cannot run.
    """
    if mode not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}, not {mode!r}.")
    if mode == "off":
        return "none"
    why = probe()
    if not why:
        return "bubblewrap"
    if mode == "require":
        raise SandboxUnavailable(
            f"--sandbox require: {why}. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)."
        )
    return "none"


def warning(mode: str) -> str:
    """The loud line printed when grading is not isolated (``""`` when it is, or was switched off)."""
    if mode == "off":
        return "NOT ISOLATED: --sandbox off was given; submissions run with your permissions."
    why = probe()
    return NOT_ISOLATED.format(why=why) if why else ""


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_paths() -> list[str]:
    """Folders the kernel's Python needs: prefixes, and where cnncourse is imported from."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    spec = importlib.util.find_spec("cnncourse")
    if spec is not None and spec.origin:
        paths.add(os.path.dirname(spec.origin))
    for entry in sys.path:  # site-packages folders outside the prefixes (user installs)
        if entry and "site-packages" in entry and os.path.isdir(entry):
            paths.add(entry)
    # Keep the outermost folders only, and never the system's own roots.
    out: list[str] = []
    for p in sorted({os.path.realpath(p) for p in paths}, key=len):
        if p in ("/", "/usr", "/etc") or any(p == q or p.startswith(q + os.sep) for q in out):
            continue
        out.append(p)
    return [p for p in out if not p.startswith("/usr" + os.sep)]


def _data_paths(env: Mapping[str, str]) -> list[str]:
    from cnncourse.data._home import get_data_home, keras_cache_dirs

    paths = []
    for p in [get_data_home()] + keras_cache_dirs():
        p = Path(p)
        if p.is_dir():
            paths.append(str(p.resolve()))
    if env.get("CNNCOURSE_DATA_DIR") and os.path.isdir(env["CNNCOURSE_DATA_DIR"]):
        paths.append(os.path.realpath(env["CNNCOURSE_DATA_DIR"]))
    return sorted(set(paths))


def kernel_environment(env: Mapping[str, str], home: str | Path) -> dict[str, str]:
    """The kernel's environment: the kept variables of ``env``, the course's kernel variables, a private home."""
    out = {k: v for k, v in env.items() if k in ENV_KEEP}
    out.update(KERNEL_ENV)
    out.update(
        HOME=str(home),
        TMPDIR="/tmp",
        MPLCONFIGDIR=str(Path(home) / ".config" / "matplotlib"),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    out.setdefault("PATH", "/usr/bin:/bin")
    out["PATH"] = os.path.dirname(sys.executable) + os.pathsep + out["PATH"]
    from cnncourse.data._home import get_data_home

    out.setdefault("CNNCOURSE_DATA_DIR", str(get_data_home()))
    return out


def bwrap_command(cwd: str | Path, runtime_dir: str | Path, home: str | Path, env: Mapping[str, str]) -> list[str]:
    """The ``env -i bwrap ... --`` prefix for a kernel that runs in ``cwd`` (all three folders writable).

    ``env -i`` starts bubblewrap itself with an empty environment: the sandbox's
    first process would otherwise keep the grader's, readable in its
    ``/proc/<pid>/environ`` from inside.
    """
    args = [
        shutil.which("env") or "/usr/bin/env",
        "-i",
        shutil.which("bwrap") or "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-all",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "grading",
        "--tmpfs",
        "/tmp",
    ]
    args += _system_binds()
    for p in _python_paths():
        args += ["--ro-bind", p, p]
    for p in _data_paths(env):
        args += ["--ro-bind-try", p, p]
    # /sys read-only: CPU topology, huge pages and GPUs are looked up there (numerics are slower without it)
    args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind-try", "/sys", "/sys"]
    for dev in sorted(glob.glob("/dev/nvidia*")) + sorted(glob.glob("/dev/dri")):
        args += ["--dev-bind-try", dev, dev]  # GPUs stay usable
    if os.path.isdir("/proc/driver/nvidia"):
        args += ["--ro-bind-try", "/proc/driver/nvidia", "/proc/driver/nvidia"]
    for folder in (runtime_dir, home, cwd):
        args += ["--bind", str(folder), str(folder)]
    args += ["--chdir", str(cwd), "--clearenv"]
    for k, v in sorted(kernel_environment(env, home).items()):
        args += ["--setenv", k, v]
    return args + ["--"]


# The graded kernel's program: what ``python -m ipykernel_launcher`` runs, except that
# * its full garbage collections are rarer (cnncourse.runtime.collect_garbage_less_often, about
#   1 s less per lab), set inline so that the kernel imports nothing of the course's itself;
# * it ends as soon as it has been shut down, without Python's module teardown (about a second
#   once TensorFlow is imported), IPython's clearing of the notebook's names (a full garbage
#   collection more) or the exit handlers, ipykernel's among them (which can wait on each other
#   when the process ends this quickly). It first flushes the files the notebook left open, so
#   nothing they hold is lost. Files are found by io's C base class, which every file object
#   derives from (``isinstance`` with io's abstract class is 0.3 s slower after a lab). A kernel
#   that ends otherwise (an exception, ``SystemExit``) does the same after the exit handlers,
#   with the status it was ending with.
KERNEL_LAUNCHER = f"""\
import _io, atexit, gc, os, sys
gc.set_threshold(*gc.get_threshold()[:2], {FULL_COLLECTION_EVERY})
_status = [0]
def _end_without_teardown():
    for f in gc.get_objects():
        try:
            if isinstance(f, _io._IOBase) and not f.closed:
                f.flush()
        except Exception:
            pass
    os._exit(_status[0])
atexit.register(_end_without_teardown)
if sys.path and sys.path[0] == "":
    del sys.path[0]
from ipykernel import kernelapp
try:
    kernelapp.launch_new_instance()
except SystemExit as e:
    _status[0] = e.code if isinstance(e.code, int) else int(e.code is not None)
    raise
except BaseException:
    _status[0] = 1
    raise
_end_without_teardown()
"""


def _seed_home(home: str | Path) -> None:
    """A private home with matplotlib's font cache, so each kernel does not rebuild it."""
    mpl = Path(home) / ".config" / "matplotlib"
    mpl.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
        for f in cache.glob("fontlist-*.json"):
            shutil.copy2(f, mpl / f.name)
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


def write_kernel(workdir: str | Path, cwd: str | Path, env: Mapping[str, str], isolation: str) -> dict[str, str]:
    """Write the graded kernel's kernelspec under ``workdir``; return the environment for nbgrader.

    ``cwd`` is the folder the notebook runs in (nbgrader's autograded copy).
    With ``isolation == "none"`` the kernel is a plain ``ipykernel``.
    """
    workdir = Path(workdir)
    spec_dir = workdir / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    # History in memory, as nbclient asks of the kernels it knows by name ("python3"): no SQLite
    # file in the kernel's home, and no thread writing it after each cell.
    kernel = [sys.executable, "-c", KERNEL_LAUNCHER, "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
    out = dict(env)
    out["JUPYTER_PATH"] = os.pathsep.join(
        [str(workdir / "jupyter")] + ([env["JUPYTER_PATH"]] if env.get("JUPYTER_PATH") else [])
    )
    if isolation == "bubblewrap":
        runtime = Path(workdir) / "rt"
        home = Path(workdir) / "home"
        for p in (runtime, home, cwd):
            Path(p).mkdir(parents=True, exist_ok=True)
        _seed_home(home)
        kernel = bwrap_command(cwd, runtime, home, env) + kernel
        out["JUPYTER_RUNTIME_DIR"] = str(runtime)
    spec: dict[str, Any] = {
        "argv": kernel,
        "display_name": "Python 3 (graded)",
        "language": "python",
        "metadata": {"isolation": isolation},
    }
    if isolation == "bubblewrap":
        # Signals stop at the sandbox's first process: interrupts go as a message, and the
        # kernel interrupts itself.
        spec["interrupt_mode"] = "message"
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return out
