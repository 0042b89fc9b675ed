"""Check this machine for the course and print each problem with its fix.

``cnncourse doctor`` prints versions (Python, TensorFlow, Keras, nbgrader,
JupyterLab), whether a GPU was found and which grading profile applies,
whether the course's Jupyter kernel is set up, which datasets and weights are
in the data directory, and whether nbgrader's extensions are enabled. Every
problem comes with its fix. Exit status 1 when something needs fixing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

OK, WARN, FAIL = "ok", "note", "problem"
MARKS = {OK: "\u2714", WARN: "\u2022", FAIL: "\u2718"}

# What the optional datasets and weights look like on disk, relative to the data directory.
OPTIONAL_FILES = {
    "MNIST": "mnist.npz",
    "Fashion-MNIST": "fashion-mnist/train-images-idx3-ubyte.gz",
    "CIFAR-10": "cifar-10-batches-py/test_batch",
    "MobileNetV2 ImageNet weights": "models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
}
MIN_VERSIONS = {"tensorflow": (2, 16), "keras": (3, 0), "nbgrader": (0, 9), "jupyterlab": (4, 0)}
INSTALL_FIX = (
    "pip install -e '.[cpu]' in the course repository (or '.[gpu]' on a Linux machine with an "
    "NVIDIA GPU); or bash setup.sh demo"
)


@dataclass
class Finding:
    """One line of the report: a topic, its status, what was found and the fix.

    Args:
        topic: what was checked, e.g. ``"GPU"``.
        status: :data:`OK`, :data:`WARN` or :data:`FAIL` (``"ok"``,
            ``"note"``, ``"problem"``); only a problem makes the command fail.
        detail: what was found.
        fix: what to do about it (shown unless the status is :data:`OK`).
    """

    topic: str
    status: str
    detail: str
    fix: str = ""

    def line(self):
        """Return the finding as the report prints it.

        Returns:
            ``"<mark> <topic>: <detail>"``, followed by an indented ``fix:`` line
            when there is a fix and the status is not :data:`OK`.

        Example:
            >>> print(Finding("GPU", WARN, "none found", "install with '.[gpu]'").line())
            • GPU: none found
                fix: install with '.[gpu]'
        """
        text = f"{MARKS[self.status]} {self.topic}: {self.detail}"
        if self.fix and self.status != OK:
            text += f"\n    fix: {self.fix}"
        return text


def _version_tuple(text):
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _dist_version(*names):
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_versions():
    """Check the versions of Python, TensorFlow, Keras, nbgrader and JupyterLab.

    Python must be 3.10 or newer and the packages at least
    :data:`MIN_VERSIONS` (TensorFlow under any of its distribution names);
    having both ``tensorflow`` and ``tensorflow-cpu`` installed is a problem
    too.

    Returns:
        A list of :class:`Finding`.
    """
    out = []
    py = sys.version_info
    out.append(
        Finding(
            "Python",
            OK if py >= (3, 10) else FAIL,
            f"{py.major}.{py.minor}.{py.micro}",
            "install Python 3.10 or newer (3.11 is what the course is tested on)",
        )
    )
    dists = {
        "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
        "keras": ("keras",),
        "nbgrader": ("nbgrader",),
        "jupyterlab": ("jupyterlab",),
    }
    for pkg, names in dists.items():
        v = _dist_version(*names)
        if v is None:
            out.append(Finding(pkg, FAIL, "not installed", INSTALL_FIX))
        elif _version_tuple(v) < MIN_VERSIONS[pkg]:
            need = ".".join(map(str, MIN_VERSIONS[pkg]))
            out.append(Finding(pkg, FAIL, f"{v} is too old (need {need} or newer)", INSTALL_FIX))
        else:
            out.append(Finding(pkg, OK, v))
    if _dist_version("tensorflow") and _dist_version("tensorflow-cpu"):
        out.append(
            Finding(
                "TensorFlow builds",
                FAIL,
                "both 'tensorflow' and 'tensorflow-cpu' are installed",
                "pip uninstall -y tensorflow tensorflow-cpu, then reinstall with " + INSTALL_FIX,
            )
        )
    return out


def check_backend_and_device():
    """Check the Keras backend, the GPUs TensorFlow sees, and the grading profile.

    Imports TensorFlow. ``KERAS_BACKEND`` set to anything but
    ``tensorflow`` is a problem; no GPU is a note.

    Returns:
        A list of :class:`Finding`; a problem in place of the GPU and profile
        findings when TensorFlow does not import or ``CNNCOURSE_PROFILE``
        holds no profile.
    """
    out = []
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        out.append(
            Finding(
                "Keras backend",
                FAIL,
                f"KERAS_BACKEND={backend}",
                "unset KERAS_BACKEND (the course runs Keras on TensorFlow)",
            )
        )
    try:
        from cnncourse import runtime

        found = runtime.gpus()
        prof = runtime.profile()
    except ImportError as exc:
        return out + [Finding("GPU", FAIL, f"TensorFlow does not import ({exc})", INSTALL_FIX)]
    except ValueError as exc:
        return out + [Finding("profile", FAIL, str(exc), "export CNNCOURSE_PROFILE=fast (or full), or unset it")]
    if found:
        out.append(Finding("GPU", OK, f"{len(found)} found: {', '.join(d.name for d in found)}"))
    else:
        out.append(
            Finding(
                "GPU",
                WARN,
                "none found: training runs on the CPU",
                "nothing to fix on a laptop; on a GPU machine install with '.[gpu]'",
            )
        )
    source = "CNNCOURSE_PROFILE" if os.environ.get(runtime.PROFILE_ENV, "").strip() else "automatic"
    out.append(Finding("grading profile", OK, f"{prof} ({source})"))
    return out


def check_kernel():
    """Check the course's kernelspec: TensorFlow quiet from the kernel's start (see :mod:`cnncourse.kernel`).

    Returns:
        A list of one :class:`Finding`: a problem when the ``python3``
        kernelspec lacks the course's variables.
    """
    from cnncourse import kernel

    missing = kernel.missing_env(kernel.read_spec())
    if not missing:
        return [Finding("Jupyter kernel", OK, f"{kernel.DISPLAY_NAME} ({kernel.spec_path().parent})")]
    return [
        Finding(
            "Jupyter kernel",
            FAIL,
            f"the python3 kernel does not set {', '.join(missing)}: TensorFlow's "
            "start-up lines land in check cells and nbgrader validate fails",
            "python -m cnncourse.kernel",
        )
    ]


def check_data():
    """Check the data directory and which optional datasets and weights are in it.

    Returns:
        A list of :class:`Finding`: the data directory (a note when it does
        not exist), the offline datasets, and one per entry of
        :data:`OPTIONAL_FILES` (a note when absent).
    """
    from cnncourse.data._home import find_file, get_data_home

    home = get_data_home()
    out = [
        Finding(
            "data directory",
            OK if home.exists() else WARN,
            f"{home}" + ("" if home.exists() else " (does not exist)"),
            "optional: create it, or set CNNCOURSE_DATA_DIR to the course's shared data folder",
        )
    ]
    out.append(
        Finding("offline datasets", OK, "digits, faces, textures and photos ship with scikit-learn and scikit-image")
    )
    for name, rel in OPTIONAL_FILES.items():
        path = find_file(rel)
        if path is not None:
            out.append(Finding(name, OK, str(path)))
        else:
            out.append(
                Finding(name, WARN, "absent (only the optional parts of the labs use it)", f"copy it to {home / rel}")
            )
    return out


def _run(cmd, timeout=60):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"<{exc}>"


def check_nbgrader_extensions(runner=_run):
    """Check that nbgrader's JupyterLab and server extensions are installed and enabled.

    Args:
        runner: ``runner(command) -> str``, the output (stdout and stderr) of
            a command given as a list; the default runs it with a 60 s
            timeout. Tests pass a stand-in.

    Returns:
        A list of two :class:`Finding`.
    """
    jupyter = [sys.executable, "-m", "jupyter"]
    labext = runner(jupyter + ["labextension", "list"])
    server = runner(jupyter + ["server", "extension", "list"])
    out = []
    lab_line = next((ln for ln in labext.splitlines() if "@jupyter/nbgrader" in ln), "")
    if not lab_line:
        out.append(Finding("nbgrader lab extension", FAIL, "not installed", "pip install nbgrader"))
    elif "enabled" in lab_line and "OK" in lab_line:
        out.append(Finding("nbgrader lab extension", OK, "enabled"))
    else:
        out.append(
            Finding(
                "nbgrader lab extension",
                FAIL,
                lab_line.strip(),
                "jupyter labextension enable @jupyter/nbgrader (and check JupyterLab 4)",
            )
        )
    server_ok = any("nbgrader" in ln and "enabled" in ln for ln in server.splitlines())
    out.append(
        Finding(
            "nbgrader server extension",
            OK if server_ok else FAIL,
            "enabled" if server_ok else "not enabled",
            "jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader",
        )
    )
    return out


def diagnose(include_extensions=True):
    """Return every finding, in the order they are printed.

    The backend and device checks are left out when TensorFlow is missing or
    too old.

    Args:
        include_extensions: whether to ask Jupyter about nbgrader's
            extensions (slow).

    Returns:
        A list of :class:`Finding`.
    """
    findings = check_versions()
    if not any(f.topic == "tensorflow" and f.status == FAIL for f in findings):
        findings += check_backend_and_device()
    findings += check_kernel()
    findings += check_data()
    if include_extensions:
        findings += check_nbgrader_extensions()
    return findings


def add_arguments(parser):
    """Add the ``doctor`` command's arguments to its parser.

    Args:
        parser: the ``argparse`` subparser of ``cnncourse doctor``.

    Returns:
        None.
    """
    parser.add_argument(
        "--skip-extensions", action="store_true", help="do not ask Jupyter about nbgrader's extensions (faster)"
    )


def run(args):
    """Run ``cnncourse doctor``: print every finding and a summary.

    The course kernel's variables (:data:`cnncourse.runtime.KERNEL_ENV`) are
    set first where unset, so TensorFlow is as quiet here as in the kernel.

    Args:
        args: the parsed arguments (``skip_extensions``).

    Returns:
        The exit status: 1 when something needs fixing, else 0.
    """
    from cnncourse.runtime import KERNEL_ENV

    for name, value in KERNEL_ENV.items():  # TensorFlow as quiet here as in the course's kernel
        os.environ.setdefault(name, value)
    findings = diagnose(include_extensions=not args.skip_extensions)
    for f in findings:
        print(f.line())
    problems = [f for f in findings if f.status == FAIL]
    print()
    print("All good." if not problems else f"{len(problems)} problem(s) to fix (see 'fix:' above).")
    return 1 if problems else 0
