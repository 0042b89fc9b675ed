"""The course's Jupyter kernel: the default ``python3`` kernel of this environment, quiet from its start.

TensorFlow decides at start-up what it logs, so a notebook cannot quieten it
by importing something first. The course therefore sets its variables
(:data:`cnncourse.runtime.KERNEL_ENV`) in the kernelspec, where every kernel
of this environment starts: JupyterLab's, ``nbgrader validate``'s and
``nbgrader autograde``'s alike.

Example:

>>> from cnncourse import kernel
>>> kernel.missing_env({"env": {"TF_CPP_MIN_LOG_LEVEL": "3"}})
['TF_ENABLE_ONEDNN_OPTS']
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (cnncourse)"


def spec_path(prefix=None):
    """Return where this environment's default kernelspec file lives.

    Args:
        prefix: the environment (``None``: the running one, ``sys.prefix``).

    Returns:
        ``<prefix>/share/jupyter/kernels/python3/kernel.json``, a
        :class:`~pathlib.Path` (it may not exist).

    Example:
        >>> spec_path("/opt/env").as_posix()
        '/opt/env/share/jupyter/kernels/python3/kernel.json'
    """
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"


def read_spec(prefix=None):
    """Return the kernelspec as a dict, or ``None`` when there is none.

    Args:
        prefix: the environment (``None``: the running one, ``sys.prefix``).

    Returns:
        The parsed ``kernel.json``; ``None`` when it is missing, cannot be
        read or is not valid JSON.
    """
    try:
        return json.loads(spec_path(prefix).read_text())
    except (OSError, ValueError):
        return None


def missing_env(spec):
    """Return the names of the course's kernel variables that ``spec`` does not set to the course's values.

    Args:
        spec: a kernelspec dict (its ``"env"`` is read), or ``None``.

    Returns:
        A list of names of :data:`cnncourse.runtime.KERNEL_ENV`, in its
        order; empty when the kernel is set up.

    Example:
        >>> missing_env(None)
        ['TF_CPP_MIN_LOG_LEVEL', 'TF_ENABLE_ONEDNN_OPTS']
    """
    from cnncourse.runtime import KERNEL_ENV

    env = (spec or {}).get("env") or {}
    return [k for k, v in KERNEL_ENV.items() if env.get(k) != v]


def install(prefix=None):
    """Write this environment's ``python3`` kernelspec with the course's variables.

    Args:
        prefix: the environment (default: the running one, ``sys.prefix``).

    Returns:
        The folder written.
    """
    from ipykernel.kernelspec import install as ipykernel_install

    from cnncourse.runtime import KERNEL_ENV

    return ipykernel_install(
        kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=str(prefix or sys.prefix), env=dict(KERNEL_ENV)
    )


def ensure(prefix=None, out=None):
    """Install the kernelspec when it lacks the course's variables.

    Args:
        prefix: the environment (``None``: the running one, ``sys.prefix``).
        out: where to print the line that says it was set up (``None``:
            ``sys.stdout``).

    Returns:
        True when the kernelspec was written, False when it was already
        right.
    """
    if not missing_env(read_spec(prefix)):
        return False
    path = install(prefix)
    print(f"Set up the course's Jupyter kernel ({DISPLAY_NAME}) in {path}.", file=out or sys.stdout)
    return True


def main(argv=None):
    """Install the kernelspec: ``python -m cnncourse.kernel [--prefix DIR]`` (setup scripts and images run it).

    Args:
        argv: the command's arguments (``None``: ``sys.argv[1:]``); ``--prefix``
            names another environment than the running one.

    Returns:
        The exit status, 0 (a wrong argument exits with argparse's status 2
        and its message).
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.kernel",
        description=f"Install the course's Jupyter kernel ({DISPLAY_NAME}): this environment's python3 "
        "kernel with TensorFlow quiet from its start.",
    )
    parser.add_argument("--prefix", default=None, help="the environment to install it in (default: the running one)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = install(args.prefix)
    print(f"Installed the course's Jupyter kernel in {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
