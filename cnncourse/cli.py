"""The ``cnncourse`` command.

Every subcommand lives in its own module, which provides
``add_arguments(parser)`` and ``run(args) -> int``:

=========  ============================  ==============================================
command    module                        what it does
=========  ============================  ==============================================
doctor     cnncourse.doctor              checks this machine and prints fixes
release    autograder.release_cmd        regenerates release/ from source/ (nbgrader)
demo       autograder.demo               the built-in sample class, graded end to end
grade      autograder.grade              grades a class in parallel
report     autograder.report             per-question CSV and an HTML class report
=========  ============================  ==============================================

Instructor commands come from the ``autograder`` package of the course
repository; a student's install needs only ``doctor``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "doctor": ("cnncourse.doctor", "check versions, GPU, datasets and nbgrader's extensions"),
    "release": ("autograder.release_cmd", "regenerate release/ from source/ with nbgrader"),
    "demo": ("autograder.demo", "grade a built-in sample class and print the grade table"),
    "grade": ("autograder.grade", "autograde a class in parallel (local pool or Dask)"),
    "report": ("autograder.report", "write per-question grades (CSV) and an HTML class report"),
}


def _load(module_name):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            return None
        raise


def build_parser():
    parser = argparse.ArgumentParser(prog="cnncourse", description="A self-grading lab course on CNNs.")
    from cnncourse import __version__

    parser.add_argument("--version", action="version", version=f"cnncourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = _load(module_name)
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().splitlines()[0]
                           if module else help_text)
        if module is not None:
            module.add_arguments(p)
        p.set_defaults(_module=module_name)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = _load(args._module)
    if module is None:
        print(f"cnncourse {args.command}: this is an instructor command and needs the course repository's "
              f"'autograder' package. Run it from a clone of the course, installed with `pip install -e .`.",
              file=sys.stderr)
        return 2
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
