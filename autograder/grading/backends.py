"""Where submissions are graded: a local process pool, or a Dask cluster.

Both backends are given the work function, ``work(task, slot, launcher)``
(the runner passes :func:`autograder.grading.worker.grade_task`; it must be
importable by name, since it travels to other processes), take an iterable of
:class:`~autograder.grading.task.GradingTask` and call ``on_result(result)``
(a :class:`~autograder.grading.result.GradingResult`) in the calling thread
for each finished one (the caller is the single writer). At most two tasks
per worker are in flight, so a class of hundreds is never held in memory at
once. A task whose worker never answers gets
:meth:`GradingResult.failure <autograder.grading.result.GradingResult.failure>`.

``LocalBackend``
    A ``ProcessPoolExecutor`` of N workers. Each worker takes one slot at
    start-up (its share of CPU threads, its GPU; see
    :mod:`autograder.grading.resources`), imports nbgrader once, and forks a
    fresh process group for every submission. Workers die with the grader
    (``PR_SET_PDEATHSIG`` on Linux), so a killed grader leaves no kernels
    behind. If a worker process itself dies, the pool is rebuilt and its
    tasks are tried once more.

``DaskBackend``
    One task per submission on a Dask cluster: a ``LocalCluster`` by default,
    or the scheduler at ``--scheduler`` (e.g. workers started by
    ``dask_jobqueue.SLURMCluster`` or the Dask Kubernetes operator). Each
    Dask worker's slot is worked out from the workers on its host; a worker
    whose environment already names its GPU (``CUDA_VISIBLE_DEVICES`` set by
    Slurm's ``--gres=gpu:1``) keeps it.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol

from autograder.grading.limits import die_with_parent
from autograder.grading.resources import Slot, assign_slots, cpu_count, visible_gpus
from autograder.grading.result import GradingResult
from autograder.grading.task import GradingTask

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from dask.typing import Key
    from distributed import Client, LocalCluster

Work = Callable[..., GradingResult]
"""``work(task, slot, launcher=...)``: grade one task with one worker's share of the machine."""
OnResult = Callable[[GradingResult], None]


class Backend(Protocol):
    """What the runner asks of a backend (and of the one-task backend of ``--one``)."""

    def run(self, tasks: Iterable[GradingTask], on_result: OnResult) -> None:
        """Grade ``tasks``, calling ``on_result`` for each result in the calling thread."""


PRELOAD = ("nbgrader.apps.nbgraderapp", "nbgrader.converters", "autograder.grading.execute")
"""Modules each local worker imports once, so every forked grading process starts at once."""

_SLOT: Slot | None = None
"""This local worker's slot (set in each worker process by :func:`_init_local_worker`)."""


def _init_local_worker(slots_queue: Queue[Slot]) -> None:
    global _SLOT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    die_with_parent()
    _SLOT = slots_queue.get()
    for name in PRELOAD:
        importlib.import_module(name)


def _noop() -> None:
    return None


def _run_local(work: Work, task: GradingTask) -> GradingResult:
    return work(task, _SLOT)


class LocalBackend:
    """A pool of ``workers`` local processes, each with its slot of CPU threads and GPU.

    Args:
        work: the work function (see the module's docstring).
        workers: how many submissions are graded at once.
        cpus: CPU cores to share out (default: this machine's).
        gpus: GPU ids to share out (default: the visible ones).
        fork_is_safe: ``() -> bool``, whether this process may be forked (else fresh interpreters start).
    """

    name = "local"
    _pool_now: ProcessPoolExecutor | None = None  # the running pool, from start() to close()

    def __init__(
        self,
        work: Work,
        workers: int,
        cpus: int | None = None,
        gpus: list[str] | None = None,
        fork_is_safe: Callable[[], bool] = lambda: False,
    ) -> None:
        self.work = work
        self.workers = max(1, int(workers))
        self.slots = assign_slots(self.workers, cpus, gpus)
        self.fork_is_safe = fork_is_safe

    def describe(self) -> str:
        s = self.slots[0]
        gpus = sorted({x.gpu for x in self.slots if x.gpu is not None})
        return (
            f"local pool of {self.workers} worker{'s' if self.workers != 1 else ''}, {s.threads} CPU "
            f"thread{'s' if s.threads != 1 else ''} each, " + (f"GPUs {', '.join(gpus)}" if gpus else "no GPU")
        )

    def _pool(self, method: str | None = None) -> ProcessPoolExecutor:
        if method is None:
            # Forking this process gives workers that start at once, with nbgrader already
            # imported; where that is not safe, start fresh interpreters.
            method = "fork" if self.fork_is_safe() else "spawn"
        if method == "fork":
            for name in PRELOAD + (self.work.__module__,):  # imported once, inherited by every worker
                importlib.import_module(name)
        ctx = mp.get_context(method)
        queue: Queue[Slot] = ctx.Queue()
        for slot in self.slots:
            queue.put(slot)
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_local_worker, initargs=(queue,))
        if method == "fork":
            pool.submit(_noop).result()  # fork all workers now, before any thread starts here
        return pool

    def start(self) -> LocalBackend:
        """Start the workers (call before starting threads, e.g. a progress bar); idempotent."""
        if self._pool_now is None:
            self._pool_now = self._pool()
        return self

    def close(self) -> None:
        """Stop the workers."""
        pool, self._pool_now = self._pool_now, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, tasks: Iterable[GradingTask], on_result: OnResult) -> None:
        """Grade ``tasks``, calling ``on_result`` for each; the workers stay up for the next run."""
        remaining = iter(tasks)
        retry: list[tuple[GradingTask, int]] = []  # tasks whose worker died under them, with the tries so far
        pool = self.start()._pool_now
        assert pool is not None
        pending: dict[Future[GradingResult], tuple[GradingTask, int, float]] = {}
        exhausted = False
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    if retry:
                        task, tries = retry.pop(0)
                    elif not exhausted:
                        nxt = next(remaining, None)
                        if nxt is None:
                            exhausted = True
                            continue
                        task, tries = nxt, 0
                    else:
                        break
                    pending[pool.submit(_run_local, self.work, task)] = (task, tries, time.monotonic())
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    task, tries, t0 = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if tries >= 1:
                            on_result(
                                GradingResult.failure(
                                    task, "grading worker process died (twice)", time.monotonic() - t0
                                )
                            )
                        else:
                            retry.append((task, tries + 1))
                        continue
                    except Exception as exc:  # noqa: BLE001 - recorded, never lost
                        result = GradingResult.failure(
                            task, f"grader error: {type(exc).__name__}: {exc}"[:300], time.monotonic() - t0
                        )
                    on_result(result)
                if broken:
                    for task, tries, _t0 in list(pending.values()):
                        retry.append((task, tries))  # not at fault: same count
                    pending.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool_now = pool = self._pool("spawn")
        except BaseException:
            self._kill(self._pool_now)
            self.close()
            raise

    @staticmethod
    def _kill(pool: ProcessPoolExecutor | None) -> None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                proc.kill()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------
def slot_map(workers_info: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """``{worker address: (index on its host, workers on its host)}`` from ``scheduler_info()["workers"]``."""
    by_host: dict[str, list[tuple[str, str]]] = {}
    for address, info in workers_info.items():
        by_host.setdefault(info.get("host", address), []).append((str(info.get("name", address)), address))
    out: dict[str, tuple[int, int]] = {}
    for members in by_host.values():
        members.sort()
        for i, (_name, address) in enumerate(members):
            out[address] = (i, len(members))
    return out


def _run_dask(work: Work, task: GradingTask, slots: Mapping[str, tuple[int, int]]) -> GradingResult:
    """Runs on a Dask worker: grade one task with this worker's share of its host."""
    from distributed import get_worker

    index, count = slots.get(get_worker().address, (0, 1))
    gpus = visible_gpus()
    slot = assign_slots(count, cpu_count(), gpus)[index % count]
    return work(task, slot, launcher="exec")


class DaskBackend:
    """One task per submission on a Dask cluster.

    Args:
        work: the work function (see the module's docstring).
        workers: the size of the ``LocalCluster`` started when no scheduler is given.
        scheduler: the address of an existing scheduler (``tcp://host:8786``).
    """

    name = "dask"
    _client_now: Client | None = None  # from start() to close()
    _cluster: LocalCluster | None = None  # the LocalCluster start() made (none with a scheduler)

    def __init__(self, work: Work, workers: int, scheduler: str | None = None) -> None:
        self.work = work
        self.workers = max(1, int(workers))
        self.scheduler = scheduler

    def describe(self) -> str:
        where = f"scheduler {self.scheduler}" if self.scheduler else f"a local Dask cluster of {self.workers} workers"
        return f"Dask, {where}, one submission per task"

    def _client(self) -> tuple[Client, LocalCluster | None]:
        from distributed import Client, LocalCluster

        if self.scheduler:
            return Client(self.scheduler), None
        cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=0,
            dashboard_address=None,
            silence_logs=40,
        )
        return Client(cluster), cluster

    def start(self) -> DaskBackend:
        """Connect to the scheduler (or start a LocalCluster); idempotent."""
        if self._client_now is None:
            self._client_now, self._cluster = self._client()
            self._client_now.wait_for_workers(1, timeout=120)
        return self

    def close(self) -> None:
        client, self._client_now = self._client_now, None
        if client is not None:
            client.close()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> DaskBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, tasks: Iterable[GradingTask], on_result: OnResult) -> None:
        """Grade ``tasks`` on the cluster, calling ``on_result`` for each; the connection stays open."""
        from distributed import as_completed

        client = self.start()._client_now
        assert client is not None
        try:
            slots = slot_map(client.scheduler_info()["workers"])
            n = max(1, len(client.scheduler_info()["workers"]))
            remaining = iter(tasks)
            meta: dict[Key, tuple[GradingTask, float]] = {}
            queue = as_completed()

            def submit() -> bool:
                task = next(remaining, None)
                if task is None:
                    return False
                fut = client.submit(
                    _run_dask,
                    self.work,
                    task,
                    slots,
                    pure=False,
                    key=f"grade-{task.assignment}-{task.student}-{os.urandom(4).hex()}",
                )
                meta[fut.key] = (task, time.monotonic())
                queue.add(fut)
                return True

            for _ in range(2 * n):
                if not submit():
                    break
            for fut in queue:
                task, t0 = meta.pop(fut.key)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: recorded, never lost
                    result = GradingResult.failure(
                        task, f"Dask task failed: {type(exc).__name__}: {exc}"[:300], time.monotonic() - t0
                    )
                fut.release()
                on_result(result)
                submit()
        except BaseException:
            self.close()
            raise
