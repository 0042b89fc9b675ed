"""cnncourse-instructor: release, grade, report and calibrate the course (see the README)."""

import cnncourse  # noqa: F401  (first: every instructor process starts as the student package sets it up)
