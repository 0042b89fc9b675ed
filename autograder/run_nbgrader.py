"""``python -m autograder.run_nbgrader ARGS``: nbgrader's command line, as ``python -m nbgrader ARGS``.

The course starts every nbgrader command this way, which saves time on each:

* :mod:`cnncourse` is imported first, so the command skips the format checker no
  notebook uses (see ``cnncourse/__init__.py``), about a second;
* a gradebook the command creates is stamped with the schema version read in this
  process (:mod:`autograder.gradebook_version`), not by running ``alembic``: 2 to 3
  seconds for the first command in a new course.
"""

import cnncourse  # noqa: F401  (before nbgrader imports jsonschema)
from autograder.gradebook_version import use_in_process_head
from nbgrader.apps.nbgraderapp import main

if __name__ == "__main__":
    use_in_process_head()
    main()
