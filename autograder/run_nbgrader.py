"""``python -m autograder.run_nbgrader ARGS``: nbgrader's command line, as ``python -m nbgrader ARGS``.

The course starts every nbgrader command this way: :mod:`cnncourse` is imported first, so
the command skips the format checker no notebook uses (see ``cnncourse/__init__.py``), about
a second less per command.
"""

import cnncourse  # noqa: F401  (before nbgrader imports jsonschema)
from nbgrader.apps.nbgraderapp import main

if __name__ == "__main__":
    main()
