"""One unit of work: grade one student's submission of one assignment.

A :class:`GradingTask` carries everything a worker needs *by value* (the
submitted files, the assignment's definition from the gradebook, the
course's nbgrader configuration, the limits), so it can run in a local
process, on a Dask worker on another machine, or as one task of a Slurm
job array, without sharing a database with anyone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from autograder.grading.limits import Limits
from autograder.grading.spec import AssignmentSpec, StudentInfo

SKIP_PARTS = {".ipynb_checkpoints", "__pycache__"}


def read_folder(
    folder: str | Path,
    skip_notebooks: bool = False,
    max_file_bytes: int | None = None,
    dropped: list[str] | None = None,
) -> dict[str, bytes]:
    """``{relative path: bytes}`` of the regular files under ``folder`` (sorted, caches skipped).

    Symbolic links are never followed (a graded kernel could plant one that points at the
    hidden tests). Files over ``max_file_bytes`` are left out and their names added to
    ``dropped``.
    """
    folder = Path(folder)
    out: dict[str, bytes] = {}
    if not folder.is_dir() or folder.is_symlink():
        return out
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS)
        for name in sorted(files):
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if skip_notebooks and p.suffix == ".ipynb":
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # links, sockets, fifos...
            if max_file_bytes is not None and st.st_size > max_file_bytes:
                if dropped is not None:
                    dropped.append(rel)
                continue
            with open(p, "rb") as f:
                out[rel] = f.read()
    return dict(sorted(out.items()))


def digest(files: Mapping[str, bytes]) -> str:
    """A checksum of a submission's files (names and contents)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def submission_folder(course_dir: str | Path, assignment: str, student: str) -> Path:
    return Path(course_dir) / "submitted" / student / assignment


def list_submissions(course_dir: str | Path, assignment: str) -> list[str]:
    """Student ids with a submission of ``assignment``, sorted."""
    root = Path(course_dir) / "submitted"
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


@dataclasses.dataclass
class GradingTask:
    assignment: str
    student: str
    files: dict[str, bytes]
    source_files: dict[str, bytes]
    spec: AssignmentSpec
    config_text: str
    limits: Limits
    student_info: StudentInfo = dataclasses.field(default_factory=dict)
    profile: str | None = None
    seed_db: bytes = b""  # the assignment's gradebook template (see spec.template_db)
    sandbox: str = "auto"  # auto, require or off (see autograder.grading.sandbox)
    extension: float | None = None  # seconds added to the due date for this student (nbgrader's extension)

    @property
    def digest(self) -> str:
        return digest(self.files)


def build_task(
    course_dir: str | Path,
    assignment: str,
    student: str,
    spec: AssignmentSpec,
    limits: Limits,
    profile: str | None = None,
    info: StudentInfo | None = None,
    config_text: str | None = None,
    source_files: dict[str, bytes] | None = None,
    seed_db: bytes = b"",
    sandbox: str = "auto",
    extension: float | None = None,
) -> GradingTask:
    course_dir = Path(course_dir)
    if config_text is None:
        config_text = (course_dir / "nbgrader_config.py").read_text()
    if source_files is None:
        source_files = read_folder(course_dir / "source" / assignment, skip_notebooks=True)
    return GradingTask(
        assignment=assignment,
        student=student,
        files=read_folder(submission_folder(course_dir, assignment, student)),
        source_files=source_files,
        spec=spec,
        config_text=config_text,
        limits=limits,
        student_info=info or {},
        profile=profile,
        seed_db=seed_db,
        sandbox=sandbox,
        extension=extension,
    )
