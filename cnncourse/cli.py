"""The ``cnncourse`` command.

Subcommands are modules registered under the ``cnncourse.commands`` entry
point group; each provides ``add_arguments(parser)`` and ``run(args) -> int``,
and the first line of its docstring is its help. The student distribution
registers ``doctor`` and ``start``; the instructor distribution
(``cnncourse-instructor``, in the course repository's ``autograder/``) adds
``release``, ``grade``, ``watch``, ``report``, ``export``, ``demo``,
``calibrate`` and ``new-lab``.
This module never imports the instructor package: it only loads what is
installed.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

GROUP = "cnncourse.commands"
# Only for the message a student sees when they try one: never imported from here.
INSTRUCTOR_COMMANDS = ("release", "grade", "watch", "report", "export", "demo", "calibrate", "new-lab")


def commands():
    """Return the installed subcommands, sorted by name.

    Returns:
        ``{name: entry point}`` of the ``cnncourse.commands`` entry-point
        group.
    """
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    return dict(sorted(found.items()))


def _summary(module):
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else ""


def build_parser(available=None):
    """Return the argument parser, with one subparser per installed command.

    A command whose module cannot be loaded is left out, with a message on
    stderr, so one broken command does not take the others down.

    Args:
        available: ``{name: entry point}`` of the commands (``None``:
            :func:`commands`).

    Returns:
        An ``argparse.ArgumentParser``; each subparser's defaults hold the
        command's module as ``_module``.

    Example:
        >>> build_parser({}).prog
        'cnncourse'
    """
    from cnncourse import __version__

    available = commands() if available is None else available
    parser = argparse.ArgumentParser(prog="cnncourse", description="A self-grading lab course on CNNs.")
    parser.add_argument("--version", action="version", version=f"cnncourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, ep in available.items():
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 - one broken command must not take the others down
            print(
                f"cnncourse: the command {name!r} ({ep.value}) cannot be loaded: {type(exc).__name__}: {exc}. "
                "Reinstall the package that provides it.",
                file=sys.stderr,
            )
            continue
        text = _summary(module)
        p = sub.add_parser(name, help=text, description=text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv=None):
    """Run the ``cnncourse`` command.

    Args:
        argv: the arguments (``None``: ``sys.argv[1:]``).

    Returns:
        The exit status: the command's (0 when it returns ``None``); 2 when
        no command is given or an instructor command is asked for without the
        instructor package; 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    available = commands()
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in INSTRUCTOR_COMMANDS and first not in available:
        print(
            f"cnncourse {first}: this is an instructor command, and the instructor package is not installed "
            "here. In a clone of the course repository: pip install -e ./autograder",
            file=sys.stderr,
        )
        return 2
    parser = build_parser(available)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
