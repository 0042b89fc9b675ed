"""The course's nbgrader settings that grading needs (gradebook URL, course id)."""

from __future__ import annotations

from pathlib import Path


def load(course_dir):
    """``(db_url, course_id)`` from the course's ``nbgrader_config.py`` (nbgrader's own defaults otherwise)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    cd = CourseDirectory(config=cfg)
    if not cfg.get("CourseDirectory", {}).get("root"):
        cd.root = str(course_dir)
    return cd.db_url, cd.course_id
