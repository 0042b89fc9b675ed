"""Start a new lab from the course's template.

Writes ``source/ID/ID.ipynb`` with the course's conventions, ready to edit in
JupyterLab (nbgrader's *Create Assignment* toolbar shows the cell types):

* an introduction (locked) and an ``imports`` cell (locked; calibration and
  the tests run it before the solutions);
* one exercise: its text, an answer cell between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, and a test cell whose visible part gives feedback with
  :mod:`cnncourse.checks` and whose hidden part (``### BEGIN HIDDEN TESTS``)
  tests inputs the student never sees;

and a companion lecture demo ``labs/ID-demo.ipynb``. Then: write the lab,
``cnncourse release ID``, grade it (``cnncourse grade`` proves the solution
earns full marks before it grades anyone), calibrate training checks, commit.
See the instructor README.
"""

from __future__ import annotations

import re
import sys

from autograder import authoring
from autograder.course import CourseError, course_root

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def template(lab, title):
    """The source notebook of a new lab: one exercise with its visible check and hidden test."""
    ex = "Exercise 1 (relu)"
    return authoring.notebook(
        [
            authoring.markdown(
                f"""
            # {title}

            What this lab teaches, in two or three sentences, and which lecture it follows.

            Run each check cell after you write a function: it prints a ✔ line, or says what it
            expected and what it found. Hidden tests run more cases when the lab is graded.
            """,
                "intro",
            ),
            authoring.code(
                """
            import numpy as np
            import matplotlib.pyplot as plt

            from cnncourse import plots
            from cnncourse.checks import call, expect_array, passed
            """,
                "imports",
            ),
            authoring.markdown(
                f"""
            ## 1. A first exercise

            Short text, then a figure, then the exercise. **{ex}.** Write `relu(x)`, the
            element-wise $\\max(x, 0)$ of an array.
            """,
                "md-relu",
            ),
            authoring.solution(
                """
            def relu(x):
                \"\"\"Element-wise max(x, 0) of an array.\"\"\"
                ### BEGIN SOLUTION
                return np.maximum(np.asarray(x, dtype=float), 0.0)
                ### END SOLUTION
            """,
                "relu",
            ),
            authoring.tests(
                f"""
            found = call("{ex}", relu, np.array([-2.0, -0.5, 0.0, 1.5]))
            expect_array("{ex}", found, np.array([0.0, 0.0, 0.0, 1.5]), hint="Negative values become 0.")
            passed("{ex}", "right on the visible case")
            ### BEGIN HIDDEN TESTS
            _x = np.random.default_rng(11).normal(size=(4, 3, 2))
            _y = np.asarray(relu(_x), dtype=float)
            assert _y.shape == _x.shape, "relu must keep the input's shape"
            assert np.array_equal(_y, np.where(_x > 0, _x, 0.0)), "relu is wrong on a random 3-D array"
            ### END HIDDEN TESTS
            """,
                "test_relu",
                points=1,
            ),
        ]
    )


def demo(lab, title):
    """The companion lecture demo: ungraded, runs as it is."""
    return authoring.notebook(
        [
            authoring.markdown(f"""
            # {title}: lecture demo

            The ideas of `{lab}` shown, not graded: run it top to bottom.
            """),
            authoring.code("""
            import numpy as np
            import matplotlib.pyplot as plt

            x = np.linspace(-3, 3, 200)
            plt.plot(x, np.maximum(x, 0))
            plt.title("ReLU")
            plt.show()
            """),
        ]
    )


def new_lab(lab, title=None, root=None):
    """Write the source notebook and the demo of a new lab; return their paths.

    Raises:
        CourseError: the id is not a valid assignment id, or the lab exists already.
    """
    if not ID_PATTERN.match(lab):
        raise CourseError(
            f"{lab!r} is not a lab id: use lower-case letters, digits and dashes, e.g. lab9-optimization."
        )
    root = course_root(root)
    source = root / "source" / lab / f"{lab}.ipynb"
    demo_path = root / "labs" / f"{lab}-demo.ipynb"
    for path in (source, demo_path):
        if path.exists():
            raise CourseError(f"{path} exists already: a new lab needs an id of its own.")
    title = title or lab.split("-", 1)[-1].replace("-", " ").capitalize()
    authoring.write(template(lab, title), source)
    authoring.write(demo(lab, title), demo_path)
    return source, demo_path


def add_arguments(parser):
    parser.add_argument("lab", help="the new lab's id, e.g. lab9-optimization")
    parser.add_argument("--title", default=None, help="the lab's title (default: from the id)")
    parser.add_argument("--course-dir", default=None, help="course directory (default: the current one)")


def run(args):
    try:
        source, demo_path = new_lab(args.lab, args.title, args.course_dir)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {source}\n  and {demo_path}.")
    print(
        f"Next: edit it in JupyterLab, then `cnncourse release {args.lab}` and "
        f"`cnncourse grade {args.lab}` (the solution must earn full marks)."
    )
    return 0
