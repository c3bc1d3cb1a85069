"""One parallel map for every long computation: local processes by default, Ray as an option.

The search (:func:`adversaries.search.run_search`, issue 6) and the stability sweeps
(:func:`ratio.queueing.stability.run_stability`, issue 8) both map one plain function over a list
of JSON-able tasks. A runner does that and nothing else:

- :class:`LocalRunner` runs in this process (``workers == 1``) or in a
  :class:`concurrent.futures.ProcessPoolExecutor`;
- :class:`RayRunner` sends the same tasks to Ray (the ``kvratio[ray]`` extra): ``address="auto"``
  joins a running cluster or starts a local instance, any other address joins that cluster.

Results come back in the order of the tasks, and a task's result depends on the task alone (its
seed is in it), so a run gives the same answer whichever runner computes it and however many
workers it has; resumable runs replay their log and send only the rest here.

Ctrl-C stops a local pool at once (queued tasks cancelled, running workers terminated) and
re-raises :class:`KeyboardInterrupt`; the workers ignore SIGINT so only the parent reports it.

Examples
--------
>>> parallel_map(abs, [-2, 3, -5])
[2, 3, 5]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from ratio.errors import InputError

__all__ = [
    "Runner",
    "LocalRunner",
    "RayRunner",
    "make_runner",
    "parallel_map",
    "ignore_sigint",
    "stop_pool",
]

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


def ignore_sigint() -> None:
    """Initializer of worker processes: Ctrl-C reaches the whole process group, but only the
    parent should react (stop the pool, keep what finished, print one line); a worker prints
    no traceback of its own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: Any) -> None:
    """Stop a :class:`~concurrent.futures.ProcessPoolExecutor` at once after an interrupt:
    cancel the queued tasks and terminate the running workers instead of waiting for them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


class Runner(Protocol[T_contra, R_co]):
    """Maps its function over tasks, in order; ``name`` goes into results (``local:2``,
    ``ray:auto``)."""

    name: str

    def map(self, tasks: Sequence[T_contra]) -> Sequence[R_co]: ...

    def close(self) -> None: ...


class LocalRunner(Generic[T, R]):
    """``fn`` in this process (``workers == 1``) or in a local pool of ``workers`` processes
    (``fn`` must then be picklable: a module-level function)."""

    def __init__(self, fn: Callable[[T], R], workers: int = 1) -> None:
        if workers < 1:
            raise InputError(f"--workers must be >= 1, got {workers}")
        self.fn = fn
        self.workers = workers
        self.name = f"local:{workers}"
        self.pool = (
            ProcessPoolExecutor(max_workers=workers, initializer=ignore_sigint)
            if workers > 1
            else None
        )

    def map(self, tasks: Sequence[T]) -> list[R]:
        if self.pool is None:
            return [self.fn(t) for t in tasks]
        try:
            return list(self.pool.map(self.fn, tasks))
        except KeyboardInterrupt:
            # Ctrl-C: stop now; what finished is already in the caller's log.
            stop_pool(self.pool)
            self.pool = None
            raise

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


class RayRunner(Generic[T, R]):
    """``fn`` as Ray tasks. ``address="auto"``: join a running cluster if there is one, else
    start a local instance (``num_cpus`` CPUs, all if ``None``); otherwise join the cluster at
    ``address``. :meth:`close` shuts down only an instance this runner started."""

    def __init__(
        self, fn: Callable[[T], R], address: str = "auto", num_cpus: int | None = None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs Ray: pip install 'kvratio[ray]'") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            if address == "auto":
                try:
                    ray.init(address="auto", log_to_driver=False)
                except (ConnectionError, RuntimeError):
                    print(
                        "ray: no running cluster found, starting a local instance", file=sys.stderr
                    )
                    ray.init(num_cpus=num_cpus, log_to_driver=False, include_dashboard=False)
            else:
                ray.init(address=address, log_to_driver=False)
            self.started = True
        self.remote = ray.remote(fn)
        self.name = f"ray:{address}"

    def map(self, tasks: Sequence[T]) -> list[R]:
        return list(self.ray.get([self.remote.remote(t) for t in tasks]))

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False


def make_runner(
    fn: Callable[[T], R], workers: int = 1, ray: str | None = None
) -> LocalRunner[T, R] | RayRunner[T, R]:
    """The runner a CLI asks for: Ray at ``ray`` (``"auto"`` or an address) when it is given,
    with ``workers`` CPUs if it starts a local instance; else ``workers`` local processes."""
    if ray:
        return RayRunner(fn, ray, num_cpus=workers if workers > 1 else None)
    return LocalRunner(fn, workers)


def parallel_map(
    fn: Callable[[T], R], tasks: Sequence[T], *, workers: int = 1, ray: str | None = None
) -> list[R]:
    """``[fn(t) for t in tasks]`` through one runner that is closed afterwards; a local pool
    has at most one process per task and per CPU (``workers`` is an upper bound)."""
    if not ray:
        if workers < 1:
            raise InputError(f"--workers must be >= 1, got {workers}")
        workers = max(1, min(workers, len(tasks), os.cpu_count() or 1))
    runner = make_runner(fn, workers, ray)
    try:
        return runner.map(tasks)
    finally:
        runner.close()
