"""Core data types of the scheduling model (``docs/model.md`` sections 1, 2, 4).

Every type here is a small frozen dataclass validated on construction; token counts, rounds and
capacities are exact Python ``int``s. ``numpy`` views for hot loops are derived on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from ratio.errors import InputError

__all__ = [
    "Request",
    "Instance",
    "Run",
    "Schedule",
    "EVICTION_MODES",
    "check_eviction",
    "volume",
    "peak",
]


def _check_int(name: str, value: Any, minimum: int) -> int:
    # bool is an int subclass; a trace saying `"prompt": true` is a bug, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def volume(prompt: int, output: int) -> int:
    """Volume ``V = s*o + o*(o+1)/2`` in token-rounds (model §4).

    >>> volume(3, 2)
    9
    """
    return prompt * output + output * (output + 1) // 2


def peak(prompt: int, output: int) -> int:
    """Peak memory ``P = s + o`` of a request in the model convention (model §4)."""
    return prompt + output


@dataclass(frozen=True, slots=True)
class Request:
    """One request ``(a_i, s_i, o_i)`` (model §1).

    Parameters
    ----------
    arrival
        Arrival round ``a_i >= 0``.
    prompt
        Prompt (prefill) length ``s_i >= 1``.
    output
        Output (decode) length ``o_i >= 1``.
    id
        Optional label; the request index in its instance is what the model uses.
    """

    arrival: int
    prompt: int
    output: int
    id: str | None = None

    def __post_init__(self) -> None:
        label = f"request {self.id!r}" if self.id is not None else "request"
        object.__setattr__(self, "arrival", _check_int(f"{label}: arrival", self.arrival, 0))
        object.__setattr__(self, "prompt", _check_int(f"{label}: prompt", self.prompt, 1))
        object.__setattr__(self, "output", _check_int(f"{label}: output", self.output, 1))
        if self.id is not None and not isinstance(self.id, str):
            raise InputError(f"request id must be a string, got {self.id!r}")

    @property
    def volume(self) -> int:
        """``V_i = s_i*o_i + o_i*(o_i+1)/2`` (model §4)."""
        return volume(self.prompt, self.output)

    @property
    def peak(self) -> int:
        """``P_i = s_i + o_i`` (model §4)."""
        return self.prompt + self.output

    def memory(self, k: int, convention: str = "model") -> int:
        """KV tokens held in the request's ``k``-th round, ``k = 1..o`` (model §2)."""
        return self.prompt + k - (1 if convention == "engine" else 0)


@dataclass(frozen=True)
class Instance:
    """A capacity ``M`` and requests ``0..n-1`` (model §1).

    Rejects, with a clear :class:`~ratio.errors.InputError`, any request whose peak exceeds ``M``
    (it could never run), duplicate ids and non-integers.

    Parameters
    ----------
    capacity
        ``M``, KV-cache capacity in tokens.
    requests
        The requests, in index order.
    meta
        Free-form metadata (seed, generator, notes); not part of equality.
    predictions
        Optional predicted output lengths ``o_hat_i`` for policies at the ``predicted``
        information level (model §5).
    intervals
        Optional interval predictions ``[l_i, u_i]`` (``1 <= l_i <= u_i``), shown to
        ``predicted``-level policies with ``predictions`` (noise models, ``ratio.interop.noise``).
    classes
        Optional observed 1-bit classes (``True`` = long) for ``one_bit``-level policies, which
        then see these instead of ``o_i > theta`` (a noisy classifier); needs ``class_theta``.
    class_theta
        The threshold the ``classes`` were made for; a policy with another ``theta`` is refused.
    """

    capacity: int
    requests: tuple[Request, ...]
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    predictions: tuple[int, ...] | None = None
    intervals: tuple[tuple[int, int], ...] | None = None
    classes: tuple[bool, ...] | None = None
    class_theta: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "capacity", _check_int("capacity M", self.capacity, 1))
        reqs = tuple(self.requests)
        for r in reqs:
            if not isinstance(r, Request):
                raise InputError(f"requests must be Request objects, got {type(r).__name__}")
        object.__setattr__(self, "requests", reqs)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        seen: set[str] = set()
        for i, r in enumerate(reqs):
            if r.id is not None:
                if r.id in seen:
                    raise InputError(f"duplicate request id {r.id!r}")
                seen.add(r.id)
            if r.peak > self.capacity:
                raise InputError(
                    f"request {self._label(i)} has peak s+o = {r.prompt}+{r.output} = {r.peak} "
                    f"> M = {self.capacity}: it can never run"
                )
        if self.predictions is not None:
            preds = tuple(
                _check_int(f"prediction {i}", p, 1) for i, p in enumerate(self.predictions)
            )
            if len(preds) != len(reqs):
                raise InputError(f"{len(preds)} predictions given for {len(reqs)} requests")
            object.__setattr__(self, "predictions", preds)
        if self.intervals is not None:
            ivs = []
            for i, iv in enumerate(self.intervals):
                lo, hi = (_check_int(f"interval {i}", x, 1) for x in iv)
                if lo > hi:
                    raise InputError(f"interval {i}: lower {lo} > upper {hi}")
                ivs.append((lo, hi))
            if len(ivs) != len(reqs):
                raise InputError(f"{len(ivs)} intervals given for {len(reqs)} requests")
            object.__setattr__(self, "intervals", tuple(ivs))
        if self.classes is not None:
            cls = tuple(self.classes)
            if len(cls) != len(reqs) or not all(isinstance(c, bool) for c in cls):
                raise InputError(f"classes must be {len(reqs)} booleans")
            if self.class_theta is None:
                raise InputError("classes need class_theta, the threshold they were made for")
            object.__setattr__(self, "classes", cls)
            object.__setattr__(self, "class_theta", _check_int("class_theta", self.class_theta, 1))

    def _label(self, i: int) -> str:
        rid = self.requests[i].id
        return f"{i} ({rid!r})" if rid is not None else str(i)

    @classmethod
    def from_tuples(
        cls,
        capacity: int,
        rows: Iterable[Sequence[int]],
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> Instance:
        """Build from ``(arrival, prompt, output)`` triples; ids are ``r0, r1, ...``.

        >>> Instance.from_tuples(10, [(0, 3, 2), (1, 4, 1)]).n
        2
        """
        reqs = tuple(Request(a, s, o, f"r{i}") for i, (a, s, o) in enumerate(rows))
        return cls(capacity, reqs, meta or {})

    @property
    def n(self) -> int:
        return len(self.requests)

    @cached_property
    def arrivals(self) -> np.ndarray:
        return np.array([r.arrival for r in self.requests], dtype=np.int64)

    @cached_property
    def prompts(self) -> np.ndarray:
        return np.array([r.prompt for r in self.requests], dtype=np.int64)

    @cached_property
    def outputs(self) -> np.ndarray:
        return np.array([r.output for r in self.requests], dtype=np.int64)

    @property
    def volumes(self) -> list[int]:
        return [r.volume for r in self.requests]

    @property
    def peaks(self) -> list[int]:
        return [r.peak for r in self.requests]

    @property
    def all_at_zero(self) -> bool:
        """True in the ``all_at_zero`` ("burst") regime of model §10."""
        return all(r.arrival == 0 for r in self.requests)

    @property
    def alpha(self) -> Fraction:
        """Concurrency parameter ``alpha = max_i P_i / M`` (model §10)."""
        if not self.requests:
            return Fraction(0)
        return Fraction(max(self.peaks), self.capacity)

    def with_capacity(self, capacity: int) -> Instance:
        return Instance(
            capacity,
            self.requests,
            dict(self.meta),
            self.predictions,
            self.intervals,
            self.classes,
            self.class_theta,
        )

    def with_requests(self, requests: Iterable[Request]) -> Instance:
        return Instance(self.capacity, tuple(requests), dict(self.meta))


#: The eviction modes of model §7: ``restart`` (default) loses an evicted run's progress;
#: ``resume`` (vLLM 0.32) keeps its tokens, so the next run starts with the prompt grown by them.
EVICTION_MODES = ("restart", "resume")


def check_eviction(mode: Any) -> str:
    """``mode`` if it names an eviction mode of model §7, else a clear :class:`InputError`."""
    if mode not in EVICTION_MODES:
        raise InputError(f"eviction must be 'restart' or 'resume', got {mode!r}")
    return str(mode)


@dataclass(frozen=True, slots=True)
class Run:
    """An interrupted run of a request (model §7): it started at ``start`` and was evicted
    after producing ``rounds`` tokens (it held memory in rounds ``start .. start+rounds-1``).

    Under ``eviction=restart`` every run of request ``i`` has prompt ``s_i``; under
    ``eviction=resume`` a run's prompt is ``s_i`` plus the rounds of the request's earlier runs
    (see :meth:`Schedule.runs`)."""

    request: int
    start: int
    rounds: int

    def __post_init__(self) -> None:
        _check_int("run request", self.request, 0)
        _check_int("run start", self.start, 0)
        _check_int("run rounds", self.rounds, 1)


@dataclass(frozen=True)
class Schedule:
    """Start rounds ``p_i`` of the final (completing) runs, plus evicted runs (model §2, 7).

    ``eviction="restart"`` (default): request ``i``'s final run is rounds
    ``p_i .. p_i + o_i - 1`` and it completes at ``C_i = p_i + o_i``.
    ``eviction="resume"``: with ``J_i`` the rounds of its evicted runs, the final run has prompt
    ``s_i + J_i`` and ``o_i - J_i`` rounds, so ``C_i = p_i + o_i - J_i``.
    """

    starts: tuple[int, ...]
    evicted: tuple[Run, ...] = ()
    eviction: str = "restart"

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "starts", tuple(_check_int(f"start {i}", p, 0) for i, p in enumerate(self.starts))
        )
        object.__setattr__(self, "evicted", tuple(self.evicted))
        object.__setattr__(self, "eviction", check_eviction(self.eviction))

    def produced_before_final(self) -> dict[int, int]:
        """``J_i``: tokens request ``i`` keeps from its evicted runs (resume mode; empty under
        restart, where an evicted run keeps nothing)."""
        if self.eviction != "resume":
            return {}
        out: dict[int, int] = {}
        for run in self.evicted:
            out[run.request] = out.get(run.request, 0) + run.rounds
        return out

    def runs(self, instance: Instance) -> list[tuple[int, int, int, int]]:
        """Every run as ``(request, prompt, start, rounds)``, evicted runs first (by start
        within a request) then the final runs, with the prompt each run holds in its mode."""
        reqs = instance.requests
        resume = self.eviction == "resume"
        kept: dict[int, int] = {}
        out = []
        for run in sorted(self.evicted, key=lambda r: (r.request, r.start)):
            before = kept.get(run.request, 0)
            out.append((run.request, reqs[run.request].prompt + before, run.start, run.rounds))
            if resume:
                kept[run.request] = before + run.rounds
        for i, (p, r) in enumerate(zip(self.starts, reqs, strict=False)):
            j = kept.get(i, 0)
            out.append((i, r.prompt + j, p, r.output - j))
        return out

    def completions(self, instance: Instance) -> tuple[int, ...]:
        kept = self.produced_before_final()
        return tuple(
            p + r.output - kept.get(i, 0)
            for i, (p, r) in enumerate(zip(self.starts, instance.requests, strict=True))
        )

    def total_latency(self, instance: Instance) -> int:
        """``L = sum_i (C_i - a_i)`` (model §3)."""
        return sum(
            c - r.arrival
            for c, r in zip(self.completions(instance), instance.requests, strict=True)
        )
