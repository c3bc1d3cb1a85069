"""The extended round engine (``docs/queueing.md`` Q1-Q5).

The round loop of ``model.md`` generalised to token budgets and request caps per round, whole
or chunked prefill, the two first-token conventions, batch-time models, several engines, agent
jobs with dependencies, and eviction with wasted-token accounting. With every parameter at its
default (one engine of capacity ``M``, no budget or request cap, ``unit`` time, whole prefill,
``first_token="with_prefill"``, no jobs or pins) and a base policy (:mod:`ratio.policies`),
:func:`run_engine` takes its fast path, the base model's loop (:mod:`ratio.simulator`), and
reports the run as the general loop below would: the tests run both (``fast=False`` forces the
general loop) and require the same starts, completions, evictions, costs, memory and step
counts (``tests/queueing/test_equivalence.py``). So the extended features cost only where
they are used.

The loop. Each engine has its own clock (``free_at``); at an event time ``T`` the engines whose
previous round has ended are *ready*. At ``T`` the engine

1. ends the rounds that finished by ``T``: requests that produced their last token complete
   (memory freed, dependants of the same job released, Q4);
2. moves requests that are available (``max(arrival, completion of after)``) to the waiting
   queue; a request's arrival round is the first round that starts at or after its arrival
   (Q2);
3. on each ready engine whose memory would overflow if every decoding request advanced one
   token, evicts by the policy's victim rule until it fits (Q5, ``model.md`` section 7);
4. asks the policy for this step's work on the ready engines (:meth:`EnginePolicy.plan`);
5. checks the plan (budget, request cap, prefill mode, first-token convention, memory) and
   applies it; each engine's round lasts ``tau(batch)`` of its batch-time model.

A running request left out of a batch keeps its memory and makes no progress (Q1; WAIT pauses
this way). Rounds are counted as time when every engine uses ``unit`` time (so starts and
completions are the base model's rounds); otherwise the round index counts scheduling steps.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ratio.costs import Costs, compute_costs, summarise
from ratio.errors import InputError, StuckError
from ratio.model import Instance, Run, Schedule
from ratio.policies.base import RequestView
from ratio.queueing.views import (
    BatchRecord,
    EngineSetup,
    EngineSpec,
    EngineState,
    Number,
    Progress,
    QRequest,
    QView,
    Work,
    held_tokens,
)
from ratio.simulator import SimResult, make_view

if TYPE_CHECKING:
    from ratio.policies.extended import EnginePolicy

__all__ = [
    "QRequest",
    "EngineSpec",
    "EngineSetup",
    "QView",
    "Progress",
    "Work",
    "BatchRecord",
    "EngineState",
    "ExtResult",
    "run_engine",
    "requests_of",
    "held_tokens",
    "FIRST_TOKEN",
    "PREFILL",
]

FIRST_TOKEN = ("with_prefill", "separate")
PREFILL = ("whole", "chunked")

_FUTURE, _WAITING, _RUNNING, _DONE = 0, 1, 2, 3


def requests_of(instance: Instance) -> tuple[QRequest, ...]:
    """The extended requests of a base instance (no jobs, no pins)."""
    return tuple(QRequest(r.arrival, r.prompt, r.output, r.id) for r in instance.requests)


@dataclass(frozen=True)
class ExtResult:
    """A run of the extended engine.

    Rounds (``starts``, ``completions``, ``arrival_rounds``; ``-1`` where a request never
    started or completed before ``until``) and times (``start_times``, ``completion_times``)
    are both reported (Q2). ``evicted`` lists evicted runs as ``Run(request, start, rounds)``;
    ``wasted_tokens`` counts prefill and decode tokens thrown away by eviction (Q5).
    """

    requests: tuple[QRequest, ...]
    policy: str
    starts: tuple[int, ...]
    completions: tuple[int, ...]
    arrival_rounds: tuple[int, ...]
    start_times: tuple[Number, ...]
    completion_times: tuple[Number | None, ...]
    engine_of: tuple[int, ...]
    evicted: tuple[Run, ...]
    wasted_tokens: int
    end_time: Number
    rounds: int
    tokens_processed: int
    memory_rounds: tuple[tuple[int, int, int], ...] = field(repr=False)
    batches: tuple[BatchRecord, ...] = field(default=(), repr=False)
    backlog: np.ndarray | None = field(default=None, repr=False)
    instance: Instance | None = field(default=None, repr=False)
    convention: str = "model"
    block_size: int = 1

    @property
    def evictions(self) -> int:
        return len(self.evicted)

    @property
    def complete(self) -> bool:
        return all(c >= 0 for c in self.completions)

    @property
    def total_latency(self) -> int:
        """``sum_i (C_i - a_i)`` in rounds over completed requests (``model.md`` section 3)."""
        return sum(
            c - a for c, a in zip(self.completions, self.arrival_rounds, strict=False) if c >= 0
        )

    @property
    def total_latency_time(self) -> Number:
        """The same in time units (Q2)."""
        return sum(
            (
                c - r.arrival
                for c, r in zip(self.completion_times, self.requests, strict=False)
                if c is not None
            ),
            start=0,
        )

    @cached_property
    def schedule(self) -> Schedule:
        if not self.complete:
            raise InputError("the run stopped before every request completed: no schedule")
        return Schedule(self.starts, self.evicted)

    @cached_property
    def costs(self) -> Costs:
        """Costs of ``model.md`` section 3 in rounds.

        When every request ran uninterrupted on one engine (``C_i = p_i + o_i``), these are the
        foundation's costs of the schedule, bit for bit. Otherwise (a policy paused requests,
        or several engines) they come from the engine's own records: completions, start
        rounds, and the memory it held in each round that ran a batch (``mean_utilisation``
        averages over those rounds).
        """
        if self.instance is None:
            raise InputError("costs need the base instance (use simulate_extended)")
        inst = self.instance
        uninterrupted = len(set(self.engine_of)) <= 1 and all(
            c == p + r.output
            for c, p, r in zip(self.completions, self.starts, inst.requests, strict=True)
        )
        if uninterrupted:
            return compute_costs(
                inst, self.schedule, convention=self.convention, block_size=self.block_size
            )
        if not self.complete:
            raise InputError("the run stopped before every request completed: no costs")
        return summarise(
            inst,
            self.starts,
            self.completions,
            np.array([m for _, _, m in self.memory_rounds], dtype=np.int64),
            evictions=len(self.evicted),
            wasted_tokens=self.wasted_tokens,
            arrivals=self.arrival_rounds,
        )

    def job_latencies(self) -> dict[str, Number]:
        """Per job: completion of its last request minus the job's arrival (Q4), in time."""
        first: dict[str, Number] = {}
        last: dict[str, Number] = {}
        for r, c in zip(self.requests, self.completion_times, strict=False):
            if r.job is None or c is None:
                continue
            first[r.job] = min(first.get(r.job, r.arrival), r.arrival)
            last[r.job] = max(last.get(r.job, c), c)
        done = {
            j
            for j in last
            if all(
                c is not None
                for r, c in zip(self.requests, self.completion_times, strict=False)
                if r.job == j
            )
        }
        return {j: last[j] - first[j] for j in sorted(done)}


def run_engine(
    requests: Sequence[QRequest],
    policy: EnginePolicy,
    *,
    engines: Sequence[EngineSpec] | None = None,
    prefill: str | None = None,
    first_token: str | None = None,
    convention: str = "model",
    block_size: int = 1,
    until: Number | None = None,
    max_rounds: int | None = None,
    record_batches: bool = False,
    record_backlog: bool = False,
    on_batch: Callable[[EngineState, list[Work]], None] | None = None,
    instance: Instance | None = None,
    initial: dict[int, tuple[int, int, int]] | None = None,
    fast: bool = True,
) -> ExtResult:
    """Run ``policy`` on ``requests`` (``docs/queueing.md`` Q1-Q5).

    Parameters
    ----------
    requests
        The workload; request ``i`` is index ``i``.
    policy
        An :class:`~ratio.policies.extended.EnginePolicy`
        (see :func:`ratio.queueing.get_engine_policy`).
    engines
        One :class:`EngineSpec` per engine (Q3); default one unit-time engine, unbounded.
    prefill, first_token
        ``"whole"|"chunked"`` and ``"with_prefill"|"separate"`` (Q1); default: the policy's.
    convention, block_size
        Memory counting as in ``model.md`` sections 2 and 9.
    until
        Stop at the first step at or after this time (stability runs); requests not done by
        then have completion ``-1``.
    record_batches, record_backlog
        Keep every round's batch; keep ``(time, requests, tokens)`` of the backlog after each
        step (Q6).
    on_batch
        Called with the state and the planned batch before it is applied (property checks).
    initial
        Requests already running at time 0: ``index -> (engine, prefilled, produced)``
        (warm starts such as Dai et al.'s worked example); they must arrive at time 0.
    fast
        With a base policy and the base model's parameters (one engine of the instance's
        capacity, unit time, no budget or request cap, whole prefill with the first token,
        no jobs or pins, nothing recorded, no ``until``), the run takes the base model's loop
        (:mod:`ratio.simulator`), the engine's fast path, and returns the same result as the
        general loop. ``False`` forces the general loop (the tests cross-check the two).

    Raises
    ------
    InputError
        Bad parameters, a request that fits no engine, or a plan that breaks the rules.
    StuckError
        Work remains, nothing more will arrive and the policy plans nothing.
    """
    if fast and not initial and _base_fast_path(
        requests, policy, engines, prefill, first_token, block_size, instance, until,
        record_batches, record_backlog, on_batch,
    ):  # fmt: skip
        assert instance is not None
        return _run_base(tuple(requests), instance, policy, convention, block_size, max_rounds)
    sim = _Engine(
        requests,
        policy,
        list(engines) if engines else [EngineSpec()],
        prefill or policy.default_prefill,
        first_token or policy.default_first_token,
        convention,
        block_size,
        until,
        max_rounds,
        record_batches,
        record_backlog,
        on_batch,
    )
    if initial:
        sim.warm_start(initial)
    return sim.run(instance)


def _base_fast_path(
    requests: Sequence[QRequest],
    policy: EnginePolicy,
    engines: Sequence[EngineSpec] | None,
    prefill: str | None,
    first_token: str | None,
    block_size: int,
    instance: Instance | None,
    until: Number | None,
    record_batches: bool,
    record_backlog: bool,
    on_batch: Callable[[EngineState, list[Work]], None] | None,
) -> bool:
    """Whether a run is the base model's: a base policy with every engine parameter at its
    default, on the requests of ``instance`` itself."""
    from ratio.queueing.policy import BasePolicyAdapter

    if type(policy) is not BasePolicyAdapter or instance is None:
        return False
    if policy.base.admission == "batch" and block_size != 1:
        # A batch policy chooses in tokens; in blocks its batch can outgrow M later, which
        # only the general loop checks (it evicts).
        return False
    if until is not None or record_batches or record_backlog or on_batch is not None:
        return False
    if prefill not in (None, "whole") or first_token not in (None, "with_prefill"):
        return False
    if engines:
        if len(engines) != 1:
            return False
        sp = engines[0]
        if sp.capacity != instance.capacity or sp.token_budget is not None:
            return False
        if sp.max_requests is not None or not sp.tau.is_unit:
            return False
    else:
        return False  # one unbounded engine: not the base model's M
    if len(requests) != instance.n:
        return False
    return all(
        q.after == () and q.engine is None and q.job is None
        and (q.arrival, q.prompt, q.output) == (r.arrival, r.prompt, r.output)
        for q, r in zip(requests, instance.requests, strict=True)
    )  # fmt: skip


def _run_base(
    requests: tuple[QRequest, ...],
    instance: Instance,
    policy: EnginePolicy,
    convention: str,
    block_size: int,
    max_rounds: int | None,
) -> ExtResult:
    """The fast path: the base model's loop, its schedule reported as the engine reports it
    (every running request decodes each round: one step per round that runs a batch)."""
    from ratio.queueing.policy import BasePolicyAdapter
    from ratio.simulator import simulate

    assert isinstance(policy, BasePolicyAdapter)
    res = simulate(
        instance, policy.base, convention=convention, block_size=block_size, max_rounds=max_rounds
    )
    n = instance.n
    prompts = [r.prompt for r in instance.requests]
    outputs = [r.output for r in instance.requests]
    starts = res.schedule.starts
    completions = tuple(p + o for p, o in zip(starts, outputs, strict=True))
    evicted = res.schedule.evicted
    # Each run holds memory and has one batch item per round; a run of k rounds processes its
    # prompt and k - 1 decode tokens (the first output comes with the prefill).
    tokens = sum(prompts) + sum(outputs) - n
    tokens += sum(prompts[r.request] + r.rounds - 1 for r in evicted)
    wasted = sum(prompts[r.request] + r.rounds for r in evicted)
    end = max(completions, default=0)
    mem_rounds, steps = _steps(res, outputs, end)
    return ExtResult(
        requests,
        policy.spec,
        starts,
        completions,
        tuple(r.arrival for r in instance.requests),
        starts,
        completions,
        (0,) * n,
        evicted,
        wasted,
        end,
        steps,
        tokens,
        mem_rounds,
        (),
        None,
        instance,
        convention,
        block_size,
    )


def _steps(
    res: SimResult, outputs: list[int], end: int
) -> tuple[tuple[tuple[int, int, int], ...], int]:
    """The general loop's memory records ``(round, engine, tokens)`` and step count for a base
    run that ends at ``end``: a step per round in which something runs, and one with no work
    where the cache empties before the end (the engine then idles until the next arrival)."""
    if not outputs:
        return (), 0
    evicted = res.schedule.evicted
    run_p = np.array([*res.starts, *(r.start for r in evicted)], dtype=np.int64)
    run_k = np.array([*outputs, *(r.rounds for r in evicted)], dtype=np.int64)
    count = np.zeros(end + 1, dtype=np.int64)
    np.add.at(count, run_p, 1)
    np.add.at(count, run_p + run_k, -1)
    busy = np.cumsum(count)[:end] > 0
    rounds = np.flatnonzero(busy)
    held = res.memory[rounds]
    mem_rounds = tuple(zip(rounds.tolist(), [0] * len(rounds), held.tolist(), strict=True))
    return mem_rounds, len(mem_rounds) + int(np.count_nonzero(busy[:-1] & ~busy[1:]))


class _Engine:
    """The loop's state. Internal: use :func:`run_engine`."""

    def __init__(
        self,
        requests: Sequence[QRequest],
        policy: EnginePolicy,
        engines: list[EngineSpec],
        prefill: str,
        first_token: str,
        convention: str,
        block_size: int,
        until: Number | None,
        max_rounds: int | None,
        record_batches: bool,
        record_backlog: bool,
        on_batch: Callable[[EngineState, list[Work]], None] | None,
    ) -> None:
        if prefill not in PREFILL:
            raise InputError(f"prefill must be one of {', '.join(PREFILL)}, got {prefill!r}")
        if first_token not in FIRST_TOKEN:
            raise InputError(
                f"first_token must be one of {', '.join(FIRST_TOKEN)}, got {first_token!r}"
            )
        if convention not in ("model", "engine"):
            raise InputError(f"convention must be 'model' or 'engine', got {convention!r}")
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise InputError(f"block_size must be an integer >= 1, got {block_size!r}")
        self.reqs = tuple(requests)
        self.pol = policy
        self.engines = tuple(engines)
        self.prefill = prefill
        self.first_token = first_token
        self.with_prefill = first_token == "with_prefill"
        self.chunked = prefill == "chunked"
        self.e = 1 if convention == "engine" else 0
        self.convention = convention
        self.block = block_size
        self.until = until
        self.max_rounds = max_rounds
        self.record_batches = record_batches
        self.record_backlog = record_backlog
        self.on_batch = on_batch
        self.unit_time = all(sp.tau.is_unit for sp in self.engines)
        self.instance: Instance | None = None
        self.setup = EngineSetup(
            self.engines, prefill, first_token, convention, block_size, len(self.reqs)
        )
        n = len(self.reqs)
        self.n = n
        self.S = [r.prompt for r in self.reqs]
        self.O = [r.output for r in self.reqs]
        self._validate()
        self.status = [_FUTURE] * n
        self.prefilled = [0] * n
        self.produced = [0] * n
        self.engine_of = [-1] * n
        self.start = [-1] * n
        self.start_time: list[Number] = [-1] * n
        self.seq = [-1] * n
        self.arrival_round = [-1] * n
        self.completion = [-1] * n
        self.completion_time: list[Number | None] = [None] * n
        self.avail: list[Number] = [r.arrival for r in self.reqs]
        self.run_on: list[dict[int, None]] = [{} for _ in self.engines]
        self.waiting: list[tuple[Any, Any, int]] = []
        self.views: list[QView] = [None] * n  # type: ignore[list-item]
        self.next_seq = 0
        self.r = 0
        self.T: Number = 0
        self.evicted: list[Run] = []
        self.wasted = 0
        self.tokens = 0
        self.batches: list[BatchRecord] = []
        self.mem_rounds: list[tuple[int, int, int]] = []
        self.backlog_rows: list[tuple[float, int, int]] = []
        self.backlog_tokens = 0
        self.backlog_reqs = 0
        # Jobs (Q4): dependants and unmet dependencies.
        self.dependants: list[list[int]] = [[] for _ in range(n)]
        self.unmet = [0] * n
        for i, r in enumerate(self.reqs):
            for j in r.after:
                if not isinstance(j, int) or not 0 <= j < n or j == i:
                    raise InputError(f"request {i}: 'after' names {j!r}, not another request")
                self.dependants[j].append(i)
                self.unmet[i] += 1
            if r.engine is not None and not 0 <= r.engine < len(self.engines):
                raise InputError(
                    f"request {i} is pinned to engine {r.engine}, which does not exist"
                )
        self.warm: list[tuple[int, int, int, int]] = []
        self.future: list[tuple[Any, int]] = [
            (self.avail[i], i) for i in range(n) if not self.unmet[i]
        ]
        heapq.heapify(self.future)

    def _validate(self) -> None:
        for i, r in enumerate(self.reqs):
            if r.prompt < 1 or r.output < 1:
                raise InputError(f"request {i}: prompt and output must be >= 1")
            if r.arrival < 0:
                raise InputError(f"request {i}: arrival must be >= 0")
            top = held_tokens(r.prompt, r.prompt, r.output, self.e, self.block)
            first = held_tokens(
                r.prompt, r.prompt, 1 if self.with_prefill else 0, self.e, self.block
            )
            need = max(top, first)
            places = [r.engine] if r.engine is not None else range(len(self.engines))
            caps = [self.engines[k].capacity for k in places if 0 <= k < len(self.engines)]
            if caps and all(c is not None and need > c for c in caps):
                raise InputError(
                    f"request {i} needs {need} tokens > capacity {max(c for c in caps if c)}: "
                    "it can never run"
                )

    def warm_start(self, initial: dict[int, tuple[int, int, int]]) -> None:
        for i, (x, pf, pr) in sorted(initial.items()):
            r = self.reqs[i]
            if r.arrival != 0 or self.unmet[i] or not 0 <= x < len(self.engines):
                raise InputError(f"initial state: request {i} must arrive at 0 with no 'after'")
            if not (0 <= pf <= r.prompt and 0 <= pr < r.output) or (pr and pf < r.prompt):
                raise InputError(f"initial state: request {i} progress ({pf}, {pr}) is impossible")
            self.future.remove((self.avail[i], i))
            self.warm.append((i, x, pf, pr))
        heapq.heapify(self.future)

    # --- memory ---------------------------------------------------------------------------
    def can_decode(self, i: int) -> bool:
        if self.prefilled[i] < self.S[i] or self.produced[i] >= self.O[i]:
            return False
        return self.produced[i] >= 1 or not self.with_prefill

    # --- what EngineState reads (views at the policy's information level) -------------------
    def waiting_views(self, engine: int | None) -> list[QView]:
        out = [self.views[k[2]] for k in self.waiting]
        if engine is not None:
            out = [v for v in out if v.engine is None or v.engine == engine]
        return out

    def running_progress(self, engine: int | None) -> list[Progress]:
        engines = range(len(self.engines)) if engine is None else (engine,)
        out = [self.progress(i) for x in engines for i in self.run_on[x]]
        if engine is None:
            out.sort(key=lambda p: p.seq)
        return out

    def view_of(self, i: int) -> QView | None:
        return self.views[i] if 0 <= i < self.n else None

    def progress_of(self, i: int) -> Progress | None:
        if not 0 <= i < self.n or self.status[i] != _RUNNING:
            return None
        return self.progress(i)

    def held_after(self, i: int, prefill: int, decode: bool) -> int:
        s = self.S[i]
        running = self.status[i] == _RUNNING
        pf, pr = (self.prefilled[i], self.produced[i]) if running else (0, 0)
        pf += prefill
        if prefill and pf == s and self.with_prefill:
            pr += 1
        if decode:
            pr += 1
        return held_tokens(s, pf, pr, self.e, self.block)

    def held_now(self, i: int) -> int:
        if self.status[i] != _RUNNING:
            return 0
        return held_tokens(self.S[i], self.prefilled[i], self.produced[i], self.e, self.block)

    def _state(self, ready: tuple[int, ...], preempted: dict[int, bool]) -> EngineState:
        return EngineState(self, self.r, self.T, ready, self.setup, preempted)

    def held_next(self, i: int) -> int:
        pr = self.produced[i] + (1 if self.can_decode(i) else 0)
        return held_tokens(self.S[i], self.prefilled[i], pr, self.e, self.block)

    def memory(self, engine: int, advance: bool) -> int:
        S, pf, pr, e, b = self.S, self.prefilled, self.produced, self.e, self.block
        total = 0
        for i in self.run_on[engine]:
            if advance:
                total += self.held_next(i)
            else:
                total += held_tokens(S[i], pf[i], pr[i], e, b)
        return total

    def progress(self, i: int) -> Progress:
        return Progress(
            self.views[i],
            self.engine_of[i],
            self.prefilled[i],
            self.produced[i],
            self.start[i],
            self.start_time[i],
            self.seq[i],
            held_tokens(self.S[i], self.prefilled[i], self.produced[i], self.e, self.block),
            self.can_decode(i),
        )

    def remaining_work(self, i: int) -> int:
        """Tokens of work left (prefill + decode; the first output is free with_prefill)."""
        left = (self.S[i] - self.prefilled[i]) + (self.O[i] - self.produced[i])
        if self.with_prefill and self.produced[i] == 0:
            left -= 1
        return left

    # --- state changes --------------------------------------------------------------------
    def _make_view(self, i: int) -> QView:
        """Request ``i``'s view at the policy's information level (``model.md`` section 5),
        built here and never by the policy."""
        r = self.reqs[i]
        info = self.pol.info
        rnd = self.arrival_round[i]
        base: RequestView
        if self.instance is not None:
            base = make_view(self.instance, i, info, getattr(self.pol, "theta", None))
            if base.arrival != rnd:
                base = replace(base, arrival=rnd)
        elif info == "full":
            base = RequestView(i, rnd, r.prompt, output=r.output)
        elif info == "none":
            base = RequestView(i, rnd, r.prompt)
        else:
            raise InputError(
                f"policy {self.pol.spec!r}: information level {info!r} needs the base instance "
                "(use simulate_extended)"
            )
        out = r.output if info == "full" else None
        return QView(i, r.arrival, r.prompt, out, r.job, r.cls, r.engine, self.avail[i], base)

    def _enqueue(self, i: int) -> None:
        self.status[i] = _WAITING
        bisect.insort(self.waiting, (self.avail[i], self.reqs[i].arrival, i))
        self.pol.on_waiting(self.views[i])

    def _evict(self, i: int) -> None:
        e = self.engine_of[i]
        del self.run_on[e][i]
        self.evicted.append(Run(i, self.start[i], self.r - self.start[i]))
        lost = self.prefilled[i] + self.produced[i]
        if self.with_prefill and self.produced[i] > 0:
            lost -= 1
        self.wasted += self.prefilled[i] + self.produced[i]
        self.backlog_tokens += lost
        self.prefilled[i] = 0
        self.produced[i] = 0
        self.engine_of[i] = -1
        self.pol.on_evict(i)
        self._enqueue(i)

    def _retire(self, i: int, end: Number, end_round: int) -> None:
        e = self.engine_of[i]
        del self.run_on[e][i]
        self.status[i] = _DONE
        self.completion[i] = end_round
        self.completion_time[i] = end
        self.backlog_reqs -= 1
        self.done += 1
        self.pol.on_complete(i, self.O[i])  # a completion reveals the length
        for d in self.dependants[i]:
            self.unmet[d] -= 1
            if self.avail[d] < end:
                self.avail[d] = end
            if self.unmet[d] == 0:
                heapq.heappush(self.future, (self.avail[d], d))

    def _round_of(self, T: Number) -> int:
        return int(T) if self.unit_time else self.r

    # --- the loop -------------------------------------------------------------------------
    def run(self, instance: Instance | None) -> ExtResult:
        n = self.n
        self.done = 0
        pol = self.pol
        self.instance = instance
        pol.reset(self.setup)
        for i, x, pf, pr in self.warm:
            self.arrival_round[i] = 0
            self.views[i] = self._make_view(i)
            self.status[i] = _RUNNING
            self.engine_of[i] = x
            self.start[i] = 0
            self.start_time[i] = 0
            self.seq[i] = self.next_seq
            self.next_seq += 1
            self.run_on[x][i] = None
            self.prefilled[i] = pf
            self.produced[i] = pr
            self.backlog_reqs += 1
            self.backlog_tokens += self.remaining_work(i)
            pol.on_admit(i, x)
        engines = self.engines
        k = len(engines)
        free_at: list[Number] = [0] * k
        # In flight: (end time, engine, round index of the round, completing requests).
        inflight: list[tuple[Any, int, int, list[int]]] = []
        T: Number = self.future[0][0] if self.future else 0
        if self.warm:
            T = 0
        if self.unit_time:
            T = _ceil(T)
        self.T = T
        self.r = self._round_of(T)
        steps = 0
        while True:
            # 1. end rounds.
            while inflight and inflight[0][0] <= T:
                end, eng, _rnd, finishing = heapq.heappop(inflight)
                for i in finishing:
                    self._retire(i, end, self.r)
            # 2. arrivals and released dependants.
            fut = self.future
            while fut and fut[0][0] <= T:
                _, i = heapq.heappop(fut)
                self.arrival_round[i] = self.r
                self.views[i] = self._make_view(i)
                self.backlog_reqs += 1
                self.backlog_tokens += self.remaining_work(i)
                self._enqueue(i)
            if self.done == n:
                break
            if self.until is not None and self.until <= T:
                break
            if self.max_rounds is not None and self.r > self.max_rounds:
                raise StuckError(
                    f"{pol.spec}: no completion of all requests by round {self.max_rounds}",
                    round=self.r,
                    waiting=[w[2] for w in self.waiting],
                )
            ready = tuple(x for x in range(k) if free_at[x] <= T)
            # 3. evictions (Q5).
            preempted = {}
            for x in ready:
                cap = engines[x].capacity
                victims: list[int] = []
                if cap is not None and self.run_on[x] and self.memory(x, advance=True) > cap:
                    victims = pol.evict(self._state(ready, {}), x)
                    for i in victims:
                        if self.status[i] != _RUNNING or self.engine_of[i] != x:
                            raise InputError(
                                f"{pol.spec}: evicted request {i}, not running on engine {x}"
                            )
                        self._evict(i)
                    if self.memory(x, advance=True) > cap:
                        raise InputError(
                            f"{pol.spec}: round {self.r}: engine {x} still overflows after evicting"
                        )
                preempted[x] = bool(victims)
            # 4. plan.
            state = self._state(ready, preempted)
            plan = list(pol.plan(state))
            if self.on_batch is not None:
                self.on_batch(state, plan)
            # 5. apply.
            self._apply(plan, ready, free_at, inflight)
            steps += 1
            if self.record_backlog:
                self.backlog_rows.append((float(T), self.backlog_reqs, self.backlog_tokens))
            # Next event.
            nxt: Number | None = None
            busy = [free_at[x] for x in range(k) if free_at[x] > T]
            if busy:
                nxt = min(busy)
            idle = any(free_at[x] <= T for x in range(k))
            if fut and (idle or not busy):
                # Arrivals wake only an idle engine; a busy one sees them at its next round.
                a = fut[0][0]
                if self.unit_time:
                    a = _ceil(a)
                if nxt is None or a < nxt:
                    nxt = a
            # A policy that waits on purpose (WAIT pauses every request) may ask to be
            # called again at a time of its choosing even if nothing happens by then.
            wake = pol.wake_time(state)
            if wake is not None and wake > T and (nxt is None or wake < nxt):
                nxt = _ceil(wake) if self.unit_time else wake
            if nxt is None:
                if self.until is not None:
                    break
                raise StuckError(
                    f"{pol.spec}: round {self.r}: {n - self.done} request(s) left, nothing "
                    "running or arriving, and the policy plans no work",
                    round=self.r,
                    waiting=[w[2] for w in self.waiting],
                )
            for x in ready:
                if free_at[x] <= T:
                    free_at[x] = nxt  # idle until the next event
            if self.unit_time:
                self.r = int(nxt)
            else:
                self.r += 1
            T = nxt
            self.T = T

        starts = tuple(self.start)
        backlog = None
        if self.record_backlog:
            backlog = np.array(self.backlog_rows, dtype=float).reshape(-1, 3)
        return ExtResult(
            self.reqs,
            pol.spec,
            starts,
            tuple(self.completion),
            tuple(self.arrival_round),
            tuple(self.start_time),
            tuple(self.completion_time),
            tuple(self.engine_of),
            tuple(self.evicted),
            self.wasted,
            T,
            steps,
            self.tokens,
            tuple(self.mem_rounds),
            tuple(self.batches),
            backlog,
            instance,
            self.convention,
            self.block,
        )

    def _apply(
        self,
        plan: list[Work],
        ready: tuple[int, ...],
        free_at: list[Number],
        inflight: list[tuple[Any, int, int, list[int]]],
    ) -> bool:
        pol = self.pol
        per: dict[int, list[Work]] = {}
        seen: set[int] = set()
        for w in plan:
            if w.engine not in ready:
                raise InputError(f"{pol.spec}: round {self.r}: engine {w.engine} is not ready")
            if w.request in seen:
                raise InputError(
                    f"{pol.spec}: round {self.r}: request {w.request} twice in a batch"
                )
            seen.add(w.request)
            per.setdefault(w.engine, []).append(w)
        ran = False
        S, outs = self.S, self.O
        for x, items in per.items():
            spec = self.engines[x]
            n_prefill = 0
            n_decode = 0
            finishing: list[int] = []
            for w in items:
                i = w.request
                st = self.status[i]
                if st == _WAITING:
                    pin = self.reqs[i].engine
                    if pin is not None and pin != x:
                        raise InputError(
                            f"{pol.spec}: request {i} is pinned to engine {pin}, placed on {x}"
                        )
                    if w.prefill <= 0:
                        raise InputError(f"{pol.spec}: request {i} admitted without prefill work")
                    self.waiting.remove((self.avail[i], self.reqs[i].arrival, i))
                    self.status[i] = _RUNNING
                    self.engine_of[i] = x
                    self.start[i] = self.r
                    self.start_time[i] = self.T
                    self.seq[i] = self.next_seq
                    self.next_seq += 1
                    self.run_on[x][i] = None
                    pol.on_admit(i, x)
                elif (
                    st == _RUNNING
                    and self.engine_of[i] != x
                    and getattr(pol, "migrates", False)
                    and self.engine_of[i] in ready
                    and w.decode
                    and not w.prefill
                ):
                    # KV transfer (Q3): a policy that models it moves a prefilled request to
                    # another ready engine, where it decodes (Zhang et al.'s solo decode GPUs).
                    del self.run_on[self.engine_of[i]][i]
                    self.engine_of[i] = x
                    self.run_on[x][i] = None
                elif st != _RUNNING or self.engine_of[i] != x:
                    raise InputError(
                        f"{pol.spec}: round {self.r}: request {i} is not waiting or running "
                        f"on engine {x}"
                    )
                left = S[i] - self.prefilled[i]
                if w.prefill < 0 or w.prefill > left:
                    raise InputError(f"{pol.spec}: request {i}: prefill {w.prefill} of {left} left")
                if w.prefill and not self.chunked and w.prefill != left:
                    raise InputError(
                        f"{pol.spec}: request {i}: whole prefill must process all {left} "
                        "prompt tokens"
                    )
                if w.decode:
                    if w.prefill or not self.can_decode(i):
                        raise InputError(f"{pol.spec}: request {i} cannot decode in round {self.r}")
                elif not w.prefill:
                    raise InputError(f"{pol.spec}: request {i}: empty work item")
                n_prefill += w.prefill
                n_decode += 1 if w.decode else 0
                self.prefilled[i] += w.prefill
                if w.prefill and self.prefilled[i] == S[i] and self.with_prefill:
                    self.produced[i] += 1
                if w.decode:
                    self.produced[i] += 1
                if self.produced[i] == outs[i]:
                    finishing.append(i)
            if spec.token_budget is not None and n_prefill + n_decode > spec.token_budget:
                raise InputError(
                    f"{pol.spec}: round {self.r}: engine {x} batch of "
                    f"{n_prefill + n_decode} tokens "
                    f"> token budget {spec.token_budget}"
                )
            if spec.max_requests is not None and len(items) > spec.max_requests:
                raise InputError(
                    f"{pol.spec}: round {self.r}: engine {x} batch of {len(items)} requests "
                    f"> max_requests {spec.max_requests}"
                )
            mem = self.memory(x, advance=False)
            if spec.capacity is not None and mem > spec.capacity:
                raise InputError(
                    f"{pol.spec}: round {self.r}: engine {x} holds {mem} tokens > capacity "
                    f"{spec.capacity} (a policy must admit within memory)"
                )
            dur = spec.tau.duration(n_prefill, n_decode)
            end = self.T + dur
            free_at[x] = end
            heapq.heappush(inflight, (end, x, self.r, finishing))
            self.tokens += n_prefill + n_decode
            self.backlog_tokens -= n_prefill + n_decode
            self.mem_rounds.append((self.r, x, mem))
            if self.record_batches:
                self.batches.append(BatchRecord(self.r, self.T, x, tuple(items), dur, mem))
            ran = True
        return ran


def _ceil(x: Number) -> int:
    if isinstance(x, int):
        return x
    return -int(-x // 1)
