"""Costs of a schedule (spec ``model.md`` section 3) and its per-round memory.

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
    "summarise",
    "total_latency",
    "volume_engine",
]


def total_latency(instance: Instance, starts: tuple[int, ...] | list[int]) -> int:
    """``L = sum_i (C_i - a_i)`` with ``C_i = p_i + o_i`` (spec section 3)."""
    return sum(p + r.output - r.arrival for p, r in zip(starts, instance.requests, strict=True))


def volume_engine(prompt: int, output: int) -> int:
    """Engine-convention volume ``V - o`` (spec section 4)."""
    return prompt * output + output * (output + 1) // 2 - output


def _runs(instance: Instance, schedule: Schedule) -> list[tuple[int, int, int]]:
    """Every run as ``(prompt, start, rounds)``: evicted runs and final runs."""
    out = [(instance.requests[r.request].prompt, r.start, r.rounds) for r in schedule.evicted]
    out.extend(
        (r.prompt, p, r.output) for p, r in zip(schedule.starts, instance.requests, strict=False)
    )
    return out


def memory_trace(
    instance: Instance,
    schedule: Schedule,
    *,
    convention: str = "model",
    block_size: int = 1,
) -> np.ndarray:
    """Tokens held in each round ``0 .. makespan-1`` (spec section 2).

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


@dataclass(frozen=True)
class Costs:
    """The figures of spec section 3. Latencies in rounds; memory in tokens."""

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
) -> Costs:
    """The costs of spec section 3 from start and completion rounds and the memory held in
    the rounds to average over (shared by the base model and the extended engine, whose
    paused requests complete later than ``p_i + o_i`` and whose arrival rounds may come from
    a batch-time model: ``arrivals`` overrides the instance's)."""
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
        peak_memory=int(memory.max()) if memory.size else 0,
        mean_utilisation=float(memory.mean()) / instance.capacity if memory.size else 0.0,
        evictions=evictions,
        wasted_tokens=wasted_tokens,
        volume=sum(instance.volumes),
    )


def compute_costs(
    instance: Instance,
    schedule: Schedule,
    *,
    convention: str = "model",
    block_size: int = 1,
) -> Costs:
    """All costs of spec section 3 from the schedule alone."""
    if instance.n == 0:
        return summarise(instance, (), (), np.zeros(0), evictions=0, wasted_tokens=0)
    mem = memory_trace(instance, schedule, convention=convention, block_size=block_size)
    completions = schedule.completions(instance)
    makespan = max(completions)
    first = int(instance.arrivals.min())
    busy = mem[first:makespan] if makespan > first else mem
    return summarise(
        instance,
        schedule.starts,
        completions,
        busy,
        evictions=len(schedule.evicted),
        wasted_tokens=sum(instance.requests[r.request].prompt + r.rounds for r in schedule.evicted),
    )
