"""Sharing a machine between grading workers: CPU threads and GPUs.

Every worker gets an equal share of the CPU threads and, where GPUs exist,
one GPU of its own (round-robin when there are more workers than GPUs).
The share is handed to the kernel through its environment:

* ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``NUMEXPR_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS`` and
  ``TF_NUM_INTEROP_THREADS`` cap the threads of NumPy's BLAS and TensorFlow,
  so two workers on a 2-core machine do not fight over 4 threads each;
* ``CUDA_VISIBLE_DEVICES`` names the worker's GPU, so TensorFlow in that
  kernel sees exactly one card (``TF_FORCE_GPU_ALLOW_GROWTH`` lets workers
  that share a card coexist).

:func:`assign_slots` is pure (tests pass a simulated device list);
:func:`visible_gpus` looks at the machine.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)


@dataclasses.dataclass(frozen=True)
class Slot:
    """One worker's share of the machine."""

    index: int
    threads: int
    gpu: str | None = None  # a CUDA device id (index or UUID), None on a CPU

    def environment(self) -> dict[str, str]:
        """The environment variables that give a kernel this share."""
        env = {name: str(self.threads) for name in THREAD_VARIABLES}
        env["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, self.threads)))
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu)
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        return env

    def describe(self) -> str:
        gpu = f"GPU {self.gpu}" if self.gpu is not None else "no GPU"
        return f"worker {self.index}: {self.threads} thread{'s' if self.threads != 1 else ''}, {gpu}"


def cpu_count() -> int:
    """CPUs this process may use (honours affinity masks, e.g. a Slurm allocation)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _nvidia_smi_gpus() -> str:
    """``nvidia-smi``'s list of GPU indices, one a line (``""`` when it fails)."""
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
    )
    return out.stdout if out.returncode == 0 else ""


def visible_gpus(environ: Mapping[str, str] | None = None, query: Callable[[], str] | None = None) -> list[str]:
    """CUDA device ids this process may hand out.

    ``CUDA_VISIBLE_DEVICES`` wins when it is set (a scheduler such as Slurm
    sets it to the GPUs of the allocation; ``""`` or ``-1`` means none).
    Otherwise ``nvidia-smi`` is asked; no ``nvidia-smi`` means no GPU.
    ``query`` replaces the ``nvidia-smi`` call in tests.
    """
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
        return [] if ids in ([], ["-1"]) else ids
    if query is None:
        if shutil.which("nvidia-smi") is None:
            return []
        query = _nvidia_smi_gpus
    try:
        text = query()
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def assign_slots(workers: int, cpus: int | None = None, gpus: Iterable[str] | None = None) -> list[Slot]:
    """Split ``cpus`` threads and the GPU ids ``gpus`` between ``workers`` workers.

    Threads are shared evenly (at least one each); GPUs go round-robin.

    >>> [s.gpu for s in assign_slots(3, cpus=6, gpus=["0", "1"])]
    ['0', '1', '0']
    >>> assign_slots(2, cpus=2, gpus=[])[1].threads
    1
    """
    workers = max(1, int(workers))
    cpus = cpu_count() if cpus is None else max(1, int(cpus))
    ids = visible_gpus() if gpus is None else list(gpus)
    threads = max(1, cpus // workers)
    return [Slot(i, threads, ids[i % len(ids)] if ids else None) for i in range(workers)]


def slot_for(index: int, workers: int, cpus: int | None = None, gpus: Iterable[str] | None = None) -> Slot:
    """The slot of worker ``index`` among ``workers`` (see :func:`assign_slots`)."""
    return assign_slots(workers, cpus, gpus)[index % max(1, workers)]
