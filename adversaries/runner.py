"""Parallel evaluation through an existing engine (issue 6, deliverable 6).

:class:`LocalRunner` evaluates in this process (``workers=1``) or in a
:class:`concurrent.futures.ProcessPoolExecutor`; :class:`RayRunner` sends the same task to Ray
(``--ray auto`` joins a running cluster or starts a local instance; ``--ray ADDRESS`` joins that
cluster). The task is a plain function of JSON-able arguments, so results are identical whichever
runner computes them, and the order of results is the order of the tasks.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from typing import Any, Protocol

__all__ = ["Runner", "LocalRunner", "RayRunner", "make_runner", "evaluate_task"]

#: ``(point, policy, threshold "p/q", options)``; the point is ``[M, rows]`` (rows of ``[a, s,
#: o]``) or a genome ``[M, block, reps]`` (rows of ``[a, s, o, copies]``), expanded here.
Task = tuple[list[Any], str, str, dict[str, Any]]


def evaluate_task(task: Task) -> dict[str, Any]:
    """Evaluate one point: ``(point, policy, threshold "p/q", options)`` -> evaluation dict,
    or ``{"violation": ...}`` when SVF's waiting-time certificate fails (model §12)."""
    from adversaries.objective import CertificateViolation, evaluate
    from adversaries.space import expand, to_instance

    point, policy, threshold, opts = task
    if len(point) == 3:
        M, block, reps = point
        rows4 = tuple((int(a), int(s), int(o), int(c)) for a, s, o, c in block)
        plain = expand((int(M), rows4, int(reps)))
    else:
        M, rows = point
        plain = (int(M), tuple((int(a), int(s), int(o)) for a, s, o in rows))
    inst = to_instance(plain)
    try:
        ev = evaluate(inst, policy, threshold=Fraction(threshold), **opts)
    except CertificateViolation as exc:
        return {"violation": str(exc), "certificate": exc.certificate.to_dict()}
    return ev.to_dict()


class Runner(Protocol):
    name: str

    def map(self, tasks: Sequence[Task]) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class LocalRunner:
    """In-process (``workers == 1``) or a local process pool."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            from ratio.errors import InputError

            raise InputError(f"--workers must be >= 1, got {workers}")
        self.workers = workers
        self.name = f"local:{workers}"
        from ratio.cli import ignore_sigint

        self.pool = (
            ProcessPoolExecutor(max_workers=workers, initializer=ignore_sigint)
            if workers > 1
            else None
        )

    def map(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:
        if self.pool is None:
            return [evaluate_task(t) for t in tasks]
        try:
            return list(self.pool.map(evaluate_task, tasks))
        except KeyboardInterrupt:
            # Ctrl-C: stop now; what finished is already in the run's log.
            from ratio.cli import stop_pool

            stop_pool(self.pool)
            self.pool = None
            raise

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class RayRunner:
    """Ray tasks (the ``kvratio[ray]`` extra). ``address="auto"``: join a running cluster if
    there is one, else start a local instance; otherwise join the cluster at ``address``."""

    def __init__(self, address: str = "auto", num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            from ratio.errors import InputError

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
        self.remote = ray.remote(evaluate_task)
        self.name = f"ray:{address}"

    def map(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:
        return list(self.ray.get([self.remote.remote(t) for t in tasks]))

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def make_runner(workers: int = 1, ray: str | None = None) -> LocalRunner | RayRunner:
    """The runner the CLI asks for: Ray when ``ray`` is given, else local processes."""
    if ray:
        return RayRunner(ray, num_cpus=workers if workers > 1 else None)
    return LocalRunner(workers)
