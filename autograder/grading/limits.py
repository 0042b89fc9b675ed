"""Limits on one submission, and the supervisor that enforces them.

Three limits apply to every submission:

* ``cell_timeout``: seconds one cell may run. nbgrader's own executor
  enforces it: it interrupts the cell, gives it an error (so a test cell
  scores zero) and goes on with the next cell.
* ``timeout``: seconds the whole submission may take.
* ``memory``: bytes the kernel and everything it starts may use together
  (proportional set sizes, so shared pages count once; sampled several
  times a second; see :func:`memory_used`).
* ``processes``: how many processes the kernel may have at once (a fork
  bomb is stopped; counted once a second).

:class:`Supervisor` watches one grading process (``nbgrader autograde`` for
one student, in its own process group). When the submission runs past its
time or memory, it first writes down why (``kill.json``) and kills the
kernel's whole process tree: nbgrader then sees a dead kernel, marks the
cells that did not run, and still saves the scores of the cells that did.
If the grading process is not done ``grace`` seconds later, its whole
process group is killed. Whatever happens, no process of the submission
outlives it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil

from cnncourse import runtime

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}


def parse_size(text: str | float | None) -> int | None:
    """Bytes in a size such as ``"4G"``, ``"512MiB"`` or ``"1.5gb"`` (``None``, ``"0"``, ``"none"``: no limit).

    >>> parse_size("1.5G")
    1610612736
    """
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return int(text) or None
    s = str(text).strip().lower()
    if s in ("", "0", "none", "off", "unlimited"):
        return None
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([a-z]*)", s)
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a size; write e.g. 4G, 512M or 2GiB.")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def format_size(n: float | None) -> str:
    if n is None:
        return "no limit"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def default_memory_limit(workers: int) -> int:
    """80% of the machine's memory, shared between the workers."""
    return int(psutil.virtual_memory().total * 0.8 / max(1, workers))


# The defaults, in one place: a submission may take this many cell limits in all,
# start this many processes, and keep this much output per cell (a lab's own
# figures are far smaller: tests/test_lab_harness.py checks that none is cut).
TIMEOUT_CELLS = 5
MAX_PROCESSES = 256
MAX_OUTPUT = 8 * 1024**2


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of one submission (seconds and bytes; ``None``: no limit).

    ``Limits.default(workers)`` gives the defaults ``cnncourse grade`` uses.
    """

    cell_timeout: float | None = None
    timeout: float | None = None
    memory: int | None = None
    grace: float = 30.0
    processes: int | None = MAX_PROCESSES
    output: int | None = MAX_OUTPUT

    @classmethod
    def default(cls, workers: int = 1, profile: str | None = None, **changes: Any) -> Limits:
        """The default limits for ``workers`` parallel workers under ``profile`` (default: the active one).

        The cell limit is the profile's (``cnncourse.runtime.CELL_TIMEOUTS``), the
        submission limit :data:`TIMEOUT_CELLS` times that, the memory limit a
        share of 80% of the machine's; ``changes`` replace any of them.
        """
        # (cnncourse.runtime is not annotated yet)
        cell = changes.pop("cell_timeout", None) or runtime.cell_timeout(profile)  # type: ignore[no-untyped-call]
        values: dict[str, Any] = {
            "cell_timeout": cell,
            "timeout": TIMEOUT_CELLS * cell,
            "memory": default_memory_limit(workers),
        }
        values.update(changes)
        return cls(**values)

    def describe(self) -> str:
        cell = "nbgrader's default" if self.cell_timeout is None else f"{self.cell_timeout:g} s"
        sub = "none" if self.timeout is None else f"{self.timeout:g} s"
        return (
            f"cell {cell}, submission {sub}, memory {format_size(self.memory)}, "
            f"output per cell {format_size(self.output)}"
        )


KILL_FILE = "kill.json"

Poll = Callable[[], int | None]
"""``poll()``: the exit status of a process once it has ended, else ``None`` (``Popen.poll``, a ``waitpid`` wrapper)."""


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere).

    Grading workers and grading processes use it, so killing the grader stops
    everything it started (kernels exit on their own once their parent is gone).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def read_kill(workdir: str | Path) -> dict[str, Any]:
    """What the supervisor recorded when it stopped a kernel (``{}`` when it did not)."""
    try:
        killed: dict[str, Any] = json.loads((Path(workdir) / KILL_FILE).read_text())
        return killed
    except (OSError, ValueError):
        return {}


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


def _has_pss() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")


HAS_PSS = _has_pss()
"""Whether this kernel gives each process's proportional set size cheaply (``/proc/PID/smaps_rollup``, Linux 4.14+)."""


def memory_used(procs: Iterable[psutil.Process], pss: bool | None = None) -> int:
    """Bytes of memory ``procs`` use together.

    Each process counts its proportional set size (PSS): a page shared by
    ``n`` of them counts ``1/n`` in each, so forked children that share their
    parent's pages (a kernel's workers, a fork bomb) are not counted again and
    again, as they are when resident sizes are summed. Where the kernel has no
    ``smaps_rollup`` (older Linux, macOS), resident sizes are summed instead.
    Reading a PSS costs about 0.4 ms a process.
    """
    pss = HAS_PSS if pss is None else pss
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss if pss else p.memory_info().rss
        except (psutil.Error, AttributeError):
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    return total


def _alive(p: psutil.Process) -> bool:
    try:
        return bool(p.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def kill_tree(procs: Iterable[psutil.Process]) -> None:
    """SIGKILL every process in ``procs`` and wait for them (already-gone ones and zombies are fine)."""
    procs = [p for p in procs if _alive(p)]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    # A zombie is dead; it only waits for its parent (or init) to reap it.
    deadline = time.monotonic() + 5
    while procs and time.monotonic() < deadline:
        procs = [p for p in procs if _alive(p)]
        if procs:
            time.sleep(0.02)


def _is_kernel(proc: psutil.Process) -> bool:
    try:
        return any("ipykernel" in part for part in proc.cmdline())
    except psutil.Error:
        return False


def kernel_trees(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The kernels among ``procs`` and every process under them; all of ``procs`` when none is a kernel.

    Args:
        procs: the grading process's descendants, read once (:func:`_tree`).

    Returns:
        The processes to stop, from the one reading of the tree: a fork bomb's
        hundreds of copies look like kernels too, and walking each one's own tree
        would read all of ``/proc`` once per copy (seconds, while the bomb and
        the notebook run on).
    """
    procs = list(procs)
    kernels = {p.pid for p in procs if _is_kernel(p)}
    if not kernels:
        return procs
    parent: dict[int, int] = {}
    for p in procs:
        try:
            parent[p.pid] = p.ppid()
        except psutil.Error:
            pass

    def under_a_kernel(pid: int) -> bool:
        seen: set[int] = set()
        while pid not in kernels:
            if pid not in parent or pid in seen:
                return False
            seen.add(pid)
            pid = parent[pid]
        return True

    return [p for p in procs if under_a_kernel(p.pid)]


@dataclasses.dataclass
class Outcome:
    """How the supervised process ended."""

    returncode: int | None
    seconds: float
    killed: str = ""  # "", "timeout" or "out_of_memory": the supervisor stopped the kernel
    hard_killed: bool = False  # the grading process itself had to be killed
    peak_memory: int = 0


class Supervisor:
    """Enforce :class:`Limits` on the grading process ``pid`` (a process group leader).

    ``poll`` returns the exit status once the process has ended, else ``None``
    (``Popen.poll`` or a ``waitpid`` wrapper). ``workdir`` receives ``kill.json``.
    """

    interval = 0.1  # seconds between memory samples
    scan_interval = 1.0  # seconds between walks of the process tree

    def __init__(
        self, pid: int, poll: Poll, limits: Limits, workdir: str | Path, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.pid = pid
        self.poll = poll
        self.limits = limits
        self.workdir = Path(workdir)
        self.clock = clock

    def _record(self, kind: str, detail: str) -> None:
        tmp = self.workdir / (KILL_FILE + ".tmp")
        tmp.write_text(json.dumps({"kind": kind, "detail": detail, "time": time.time()}))
        os.replace(tmp, self.workdir / KILL_FILE)

    def run(self) -> Outcome:
        start = self.clock()
        limits = self.limits
        root: psutil.Process | None
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            root = None
        killed = ""
        hard_deadline: float | None = None  # set when the kernel is stopped
        peak = 0
        returncode = None
        last_seen: list[psutil.Process] = []
        procs: list[psutil.Process] = []
        next_scan = start
        while True:
            returncode = self.poll()
            if returncode is not None:
                break
            now = self.clock()
            if now >= next_scan:
                # Walking the process tree reads all of /proc: done once a second; the
                # memory of the processes found is sampled every interval (cheap).
                procs = _tree(root)[1:] if root is not None else []
                next_scan = now + self.scan_interval
                if procs:
                    last_seen = procs
                if limits.processes and len(procs) > limits.processes + 3 and not killed:
                    # (+3: the grading process's own helpers and the sandbox's first process)
                    killed = "too_many_processes"
                    self._record(killed, f"{len(procs)} processes, limit {limits.processes}")
                    kill_tree(kernel_trees(procs))
                    hard_deadline = now + limits.grace
            used = memory_used(procs)
            peak = max(peak, used)
            if not killed:
                if limits.memory and used > limits.memory:
                    many = len(_tree(root)) - 1 if root is not None else 0
                    if limits.processes and many > limits.processes + 3:
                        # A fork bomb fills memory too: name the cause, not the symptom.
                        killed = "too_many_processes"
                        self._record(killed, f"{many} processes, limit {limits.processes}")
                    else:
                        killed = "out_of_memory"
                        self._record(killed, f"used {format_size(used)}, limit {format_size(limits.memory)}")
                elif limits.timeout and now - start > limits.timeout:
                    killed = "timeout"
                    self._record(killed, f"submission limit {limits.timeout:g} s")
                if killed:
                    procs = _tree(root)[1:] if root is not None else []
                    kill_tree(kernel_trees(procs))
                    hard_deadline = now + limits.grace
            elif hard_deadline is not None and now > hard_deadline:
                self._kill_group(root)
                returncode = self._wait_after_kill()
                return Outcome(returncode, self.clock() - start, killed, True, peak)
            time.sleep(self.interval)
        # The grading process is done: nothing it started may outlive it.
        self._kill_group(None)
        kill_tree(last_seen)
        return Outcome(returncode, self.clock() - start, killed, False, peak)

    def _kill_group(self, root: psutil.Process | None) -> None:
        procs = _tree(root) if root is not None else []
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        kill_tree(procs)

    def _wait_after_kill(self) -> int:
        for _ in range(100):
            rc = self.poll()
            if rc is not None:
                return rc
            time.sleep(0.05)
        return -9
