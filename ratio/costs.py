"""Costs of a schedule (``docs/model.md`` section 3) and its per-round memory.

Computed from the instance and the schedule alone, never from simulator state, so any
schedule (a solver's, a hand-written one) gets the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ratio.model import Instance, Schedule

__all__ = [
    "Costs",
    "compute_costs",
    "memory_trace",
    "memory_stats",
    "summarise",
    "total_latency",
    "volume_engine",
    "run_volume",
    "wasted_tokens",
]


def total_latency(instance: Instance, starts: tuple[int, ...] | list[int]) -> int:
    """``L = sum_i (C_i - a_i)`` with ``C_i = p_i + o_i`` (model §3)."""
    return sum(p + r.output - r.arrival for p, r in zip(starts, instance.requests, strict=True))


def volume_engine(prompt: int, output: int) -> int:
    """Engine-convention volume ``V - o`` (model §4)."""
    return prompt * output + output * (output + 1) // 2 - output


def _runs(instance: Instance, schedule: Schedule) -> list[tuple[int, int, int]]:
    """Every run as ``(prompt, start, rounds)``: evicted runs and final runs, each with the
    prompt it holds in the schedule's eviction mode (model §7: under ``resume`` a run's prompt
    includes the tokens its request kept from earlier runs)."""
    if not schedule.evicted:
        return [
            (r.prompt, p, r.output)
            for p, r in zip(schedule.starts, instance.requests, strict=False)
        ]
    return [(s, p, k) for _i, s, p, k in schedule.runs(instance)]


def run_volume(instance: Instance, schedule: Schedule) -> int:
    """Area (token-rounds, model convention) of every run, evicted ones included.

    Under ``eviction=resume`` a request evicted after ``j`` tokens holds ``s + j + k`` in the
    k-th round of its next run, which is what it would have held uninterrupted, so the runs of
    each request add up to exactly ``V_i`` (model §4, §7): the area spent before an eviction is
    not lost, and the recomputed prompt ``s + j`` is counted in the readmitted run's area."""
    return sum(s * k + k * (k + 1) // 2 for s, _p, k in _runs(instance, schedule))


def wasted_tokens(instance: Instance, schedule: Schedule) -> int:
    """KV tokens thrown away by evictions (model §7): for each evicted run, the prompt it held
    plus the tokens it produced, all of which must be recomputed. Under ``restart`` that is
    ``s + j``; under ``resume`` the run's prompt already includes the tokens kept from earlier
    runs, so it is ``s + J_before + j``."""
    runs = schedule.runs(instance)[: len(schedule.evicted)]  # evicted runs come first
    return sum(s + k for _i, s, _p, k in runs)


def memory_trace(
    instance: Instance,
    schedule: Schedule,
    *,
    convention: str = "model",
    block_size: int = 1,
) -> np.ndarray:
    """Tokens held in each round ``0 .. makespan-1`` (model §2).

    A run of prompt ``s`` from round ``p`` holds ``s + k - e`` tokens in its k-th round
    (``e = 1`` in the engine convention), rounded up to whole blocks when ``block_size > 1``.
    """
    runs = _runs(instance, schedule)
    if not runs:
        return np.zeros(0, dtype=np.int64)
    e = 1 if convention == "engine" else 0
    horizon = max(p + k for _, p, k in runs)
    if block_size == 1:
        # Linear in the round: s + (t - p + 1) - e = (s - p + 1 - e) + t.
        const = np.zeros(horizon + 1, dtype=np.int64)
        count = np.zeros(horizon + 1, dtype=np.int64)
        arr = np.array(runs, dtype=np.int64)
        s, p, k = arr[:, 0], arr[:, 1], arr[:, 2]
        np.add.at(const, p, s - p + 1 - e)
        np.add.at(const, p + k, -(s - p + 1 - e))
        np.add.at(count, p, 1)
        np.add.at(count, p + k, -1)
        level = np.cumsum(const)[:horizon]
        active = np.cumsum(count)[:horizon]
        return level + active * np.arange(horizon, dtype=np.int64)
    mem = np.zeros(horizon, dtype=np.int64)
    for prompt, first, rounds in runs:
        tokens = prompt + np.arange(1, rounds + 1, dtype=np.int64) - e
        mem[first : first + rounds] += -(-tokens // block_size) * block_size
    return mem


#: Above this many rounds, :func:`compute_costs` works from the runs' start and end events
#: instead of a per-round array, so an idle stretch of 10^15 rounds costs nothing.
DENSE_MAX_ROUNDS = 1 << 22


def _ceil_sum(m: int, b: int) -> int:
    """``sum_{x=1..m} ceil(x / b) * b`` (0 for ``m <= 0``)."""
    if m <= 0:
        return 0
    q, r = divmod(m, b)
    return b * (b * q * (q + 1) // 2 + r * (q + 1))


def memory_stats(
    instance: Instance, schedule: Schedule, *, convention: str = "model", block_size: int = 1
) -> tuple[int, int]:
    """``(peak, token_rounds)`` of :func:`memory_trace` without building it: the peak memory and
    the sum of the memory over all rounds, from the runs alone (exact integers).

    Memory only changes at a run's start or end and is nondecreasing in between (every running
    request grows by one token a round), so the peak is attained in a round just before some
    start or end; a sweep over those events costs ``O(R log R + R x active)`` for ``R`` runs,
    whatever the number of idle rounds.
    """
    runs = _runs(instance, schedule)
    if not runs:
        return 0, 0
    e = 1 if convention == "engine" else 0
    b = block_size
    total = 0
    for s, _p, k in runs:
        a = s - e
        total += (a * k + k * (k + 1) // 2) if b == 1 else _ceil_sum(a + k, b) - _ceil_sum(a, b)
    events: dict[int, list[tuple[int, int]]] = {}
    for idx, (_s, p, k) in enumerate(runs):
        events.setdefault(p, []).append((1, idx))
        events.setdefault(p + k, []).append((-1, idx))
    active: set[int] = set()
    const = 0  # block_size 1: sum over active runs of s - p + 1 - e
    peak = 0
    for t in sorted(events):
        if active:
            r = t - 1
            if b == 1:
                mem = const + len(active) * r
            else:
                mem = 0
                for idx in active:
                    s, p, _k = runs[idx]
                    tok = s + r - p + 1 - e
                    mem += -(-tok // b) * b
            peak = max(peak, mem)
        for sign, idx in events[t]:
            s, p, _k = runs[idx]
            if sign > 0:
                active.add(idx)
                const += s - p + 1 - e
            else:
                active.discard(idx)
                const -= s - p + 1 - e
    return peak, total


@dataclass(frozen=True)
class Costs:
    """The figures of model §3. Latencies in rounds; memory in tokens."""

    total_latency: int
    mean_latency: float
    p50_latency: float
    p90_latency: float
    p99_latency: float
    mean_ttft: float
    makespan: int
    throughput: float
    peak_memory: int
    mean_utilisation: float
    evictions: int
    wasted_tokens: int
    volume: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(
    instance: Instance,
    starts: Sequence[int],
    completions: Sequence[int],
    memory: np.ndarray,
    *,
    evictions: int,
    wasted_tokens: int,
    arrivals: Sequence[int] | None = None,
    peak_memory: int | None = None,
    mean_memory: float | None = None,
    volume: int | None = None,
) -> Costs:
    """The costs of model §3 from start and completion rounds and the memory held in
    the rounds to average over (shared by the base model and the extended engine, whose
    paused requests complete later than ``p_i + o_i`` and whose arrival rounds may come from
    a batch-time model: ``arrivals`` overrides the instance's). ``peak_memory`` and
    ``mean_memory``, when given, replace the figures taken from ``memory`` (which may then be
    empty): a caller that skipped idle rounds computes them from events. ``volume``, when
    given, replaces ``sum_i V_i`` (the resume mode counts its runs' area, model §7)."""
    if instance.n == 0:
        return Costs(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0, 0, 0)
    a = instance.arrivals if arrivals is None else np.asarray(arrivals, dtype=np.int64)
    p = np.asarray(starts, dtype=np.int64)
    c = np.asarray(completions, dtype=np.int64)
    lat = c - a
    makespan = int(c.max())
    span = max(1, makespan - int(a.min()))
    return Costs(
        total_latency=int(lat.sum()),
        mean_latency=float(lat.mean()),
        p50_latency=float(np.percentile(lat, 50)),
        p90_latency=float(np.percentile(lat, 90)),
        p99_latency=float(np.percentile(lat, 99)),
        mean_ttft=float((p - a + 1).mean()),
        makespan=makespan,
        throughput=float(instance.outputs.sum()) / span,
        peak_memory=(
            peak_memory if peak_memory is not None else (int(memory.max()) if memory.size else 0)
        ),
        mean_utilisation=(
            mean_memory / instance.capacity
            if mean_memory is not None
            else (float(memory.mean()) / instance.capacity if memory.size else 0.0)
        ),
        evictions=evictions,
        wasted_tokens=wasted_tokens,
        volume=sum(instance.volumes) if volume is None else volume,
    )


def compute_costs(
    instance: Instance,
    schedule: Schedule,
    *,
    convention: str = "model",
    block_size: int = 1,
) -> Costs:
    """All costs of model §3 from the schedule alone."""
    if instance.n == 0:
        return summarise(instance, (), (), np.zeros(0), evictions=0, wasted_tokens=0)
    completions = schedule.completions(instance)
    makespan = max(completions)
    first = min(r.arrival for r in instance.requests)
    wasted = wasted_tokens(instance, schedule)
    vol = run_volume(instance, schedule) if schedule.eviction == "resume" else None
    if makespan > DENSE_MAX_ROUNDS:
        # Every run lies in [first arrival, makespan), so the busy rounds hold all the tokens.
        peak, token_rounds = memory_stats(
            instance, schedule, convention=convention, block_size=block_size
        )
        return summarise(
            instance,
            schedule.starts,
            completions,
            np.zeros(0, dtype=np.int64),
            evictions=len(schedule.evicted),
            wasted_tokens=wasted,
            peak_memory=peak,
            mean_memory=token_rounds / max(1, makespan - first),
            volume=vol,
        )
    mem = memory_trace(instance, schedule, convention=convention, block_size=block_size)
    busy = mem[first:makespan] if makespan > first else mem
    return summarise(
        instance,
        schedule.starts,
        completions,
        busy,
        evictions=len(schedule.evicted),
        wasted_tokens=wasted,
        volume=vol,
    )
