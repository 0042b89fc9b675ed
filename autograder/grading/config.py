"""The course's nbgrader settings that grading needs (gradebook URL, course id)."""

from __future__ import annotations

from pathlib import Path


class NoGradebook(LookupError):
    """The course has no gradebook yet (nothing was released or graded in it)."""


def load(course_dir: str | Path) -> tuple[str, str]:
    """``(db_url, course_id)`` from the course's ``nbgrader_config.py`` (nbgrader's own defaults otherwise)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    cd = CourseDirectory(config=cfg)
    if not cfg.get("CourseDirectory", {}).get("root"):
        cd.root = str(course_dir)
    return cd.db_url, cd.course_id


def existing_gradebook(course_dir: str | Path) -> tuple[str, str]:
    """``(db_url, course_id)`` of a gradebook that exists; never creates one.

    nbgrader creates an empty SQLite gradebook wherever it is asked to open a
    missing one; a command that only reads (a report) must not leave one behind.

    Raises:
        NoGradebook: the SQLite file is missing.
    """
    db_url, course_id = load(course_dir)
    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///") :])
        if not path.is_file():
            raise NoGradebook(
                f"{Path(course_dir).resolve()} has no gradebook yet ({path.name}): run `cnncourse "
                "release LAB` first: it records the lab in the gradebook, then `cnncourse grade LAB`."
            )
    return db_url, course_id
