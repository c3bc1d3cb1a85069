"""The round engine: one loop for the base model (``docs/model.md``) and its queueing
extensions (``docs/queueing.md`` Q1-Q5).

The loop (:func:`_loop`) is written once. At each event time it

1. ends the rounds that finished: requests that produced their last token complete (memory
   freed; with jobs, dependants released, Q4);
2. moves arrivals to the waiting queue, as views built for the policy's information level
   (``model.md`` section 5; a request's arrival round is the first round that starts at or
   after its arrival, Q2);
3. evicts on overflow by the policy's victim rule (``model.md`` section 7, Q5);
4. lets the policy decide (admission of ``model.md`` sections 6-7, from
   :mod:`ratio.admission`, or a plan of work) and applies the decision;
5. asks its clock for the next event.

What changes between the base model and the extensions is the *progress layer* the loop runs:

- :class:`_Rounds`, the base model: every running request produces one token per round, so
  progress is implied by the start round, completions are known at admission, memory is two
  running sums, and rounds in which nothing can change are skipped. It is used when no
  request can pause: a base policy (:mod:`ratio.policies`), one engine of the instance's
  capacity, unit time, no token budget or request cap, whole prefill with the first token, no
  jobs or pins. :func:`ratio.simulate` is this engine with those defaults.
- :class:`_Steps`, everything else: per-request prefill and decode progress (a request left
  out of a batch keeps its memory and makes no progress, Q1), token budgets and request caps,
  chunked prefill and a separate first token, a batch-time model and clock per engine, several
  engines, agent jobs, and policies that plan batches (:class:`EnginePolicy`). A base policy
  runs here through :class:`ratio.queueing.policy.BasePolicyAdapter`, which applies the same
  admission tests.

On base-model settings the two layers give the same starts, completions, evictions, costs,
memory and step counts (``tests/queueing/test_equivalence.py``: ``run_engine(..., fast=False)``
forces :class:`_Steps`), so the extended features cost only where they are used. Rounds are
counted as time when every engine uses ``unit`` time; otherwise the round index counts
scheduling steps.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ratio.admission import blocks as _blocks
from ratio.admission import fits_lookahead, fits_reactive, fits_reservation
from ratio.costs import Costs, compute_costs, memory_trace, summarise
from ratio.errors import InputError, StuckError
from ratio.model import Instance, Run, Schedule, check_eviction
from ratio.policies.base import Policy, RequestView, RunningView, SystemView
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

if TYPE_CHECKING:
    from ratio.policies.extended import EnginePolicy

__all__ = [
    "ExtResult",
    "run_engine",
    "run_rounds",
    "requests_of",
    "make_view",
    "FIRST_TOKEN",
    "PREFILL",
]

FIRST_TOKEN = ("with_prefill", "separate")
PREFILL = ("whole", "chunked")

_FUTURE, _WAITING, _RUNNING, _DONE = 0, 1, 2, 3
_NEVER = 1 << 62  # a round after every arrival


def make_view(instance: Instance, i: int, info: str, theta: int | None = None) -> RequestView:
    """The view of request ``i`` at information level ``info`` (model §5)."""
    r = instance.requests[i]
    if info == "full":
        return RequestView(i, r.arrival, r.prompt, output=r.output)
    if info == "one_bit":
        if theta is None:
            raise InputError("one_bit information needs a threshold theta")
        if instance.classes is not None:  # a noisy classifier's bits (ratio.interop.noise)
            if instance.class_theta != theta:
                raise InputError(
                    f"the instance's 1-bit classes are for theta = {instance.class_theta}, "
                    f"the policy uses theta = {theta}"
                )
            return RequestView(i, r.arrival, r.prompt, long=instance.classes[i])
        return RequestView(i, r.arrival, r.prompt, long=r.output > theta)
    if info == "predicted":
        if instance.predictions is None:
            raise InputError(
                "this policy needs predicted output lengths; the instance has none "
                "(add 'predictions' to the trace or attach a noise model)"
            )
        iv = instance.intervals[i] if instance.intervals is not None else None
        return RequestView(i, r.arrival, r.prompt, predicted=instance.predictions[i], interval=iv)
    if info == "none":
        return RequestView(i, r.arrival, r.prompt)
    raise InputError(f"unknown information level {info!r}")


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
    eviction: str = "restart"
    #: Whether some evicted run paused (made fewer tokens than it had rounds): its ``Run``
    #: then does not read as a base-model run.
    evicted_paused: bool = False

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
    def uninterrupted(self) -> bool:
        """Whether the run is a base-model schedule: complete, on one engine, and every run
        of a request went on without a pause (an evicted run made a token in each of its
        rounds, and each completion is the schedule's)."""
        return (
            self.instance is not None
            and self.complete
            and not self.evicted_paused
            and len(set(self.engine_of)) <= 1
            and self.completions == self.schedule.completions(self.instance)
        )

    @cached_property
    def schedule(self) -> Schedule:
        if not self.complete:
            raise InputError("the run stopped before every request completed: no schedule")
        return Schedule(self.starts, self.evicted, self.eviction)

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
        if self.uninterrupted:
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


def _check_counting(convention: str, block_size: int) -> None:
    """Memory counting as ``docs/model.md`` sections 2 and 9 define it: the ``model`` or
    ``engine`` convention, whole blocks of ``block_size >= 1`` tokens."""
    if convention not in ("model", "engine"):
        raise InputError(f"convention must be 'model' or 'engine', got {convention!r}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise InputError(f"block_size must be an integer >= 1, got {block_size!r}")


def run_rounds(
    instance: Instance,
    policy: Policy,
    *,
    convention: str = "model",
    block_size: int = 1,
    max_rounds: int | None = None,
    eviction: str = "restart",
) -> _Rounds:
    """Run a base policy on the base model: the engine with every parameter at its default
    (the :class:`_Rounds` layer). :func:`ratio.simulate` is the public entry; this returns the
    finished layer (``schedule()``, ``admitted_order``)."""
    _check_counting(convention, block_size)
    if policy.admission not in ("lookahead", "reactive", "batch"):
        raise InputError(
            f"policy {policy.spec!r} needs the extended engine (ratio.queueing), "
            "not the base simulator"
        )
    layer = _Rounds(instance, policy, convention, block_size, check_eviction(eviction))
    _loop(layer, None, max_rounds)
    return layer


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
    eviction: str = "restart",
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
        no jobs or pins, nothing recorded, no ``until``), the loop runs the base model's
        progress layer (:class:`_Rounds`) and reports the run as :class:`_Steps` would.
        ``False`` forces :class:`_Steps` (the tests cross-check the two).
    eviction
        What an evicted request keeps (``model.md`` section 7): ``"restart"`` (default) loses
        its progress; ``"resume"`` keeps the ``j`` tokens produced, and the request comes back
        as one with prompt ``s + j`` and ``o - j`` tokens left (its re-prefill is that of
        ``s + j`` tokens).

    Raises
    ------
    InputError
        Bad parameters, a request that fits no engine, or a plan that breaks the rules.
    StuckError
        Work remains, nothing more will arrive and the policy plans nothing.
    """
    if fast and not initial and _no_pauses(
        requests, policy, engines, prefill, first_token, block_size, instance, until,
        record_batches, record_backlog, on_batch,
    ):  # fmt: skip
        assert instance is not None
        base = policy.base  # type: ignore[attr-defined]
        layer = run_rounds(
            instance,
            base,
            convention=convention,
            block_size=block_size,
            max_rounds=max_rounds,
            eviction=eviction,
        )
        return _report_rounds(tuple(requests), instance, layer, convention, block_size)
    steps = _Steps(
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
        instance,
        check_eviction(eviction),
    )
    if initial:
        steps.warm_start(initial)
    _loop(steps, until, max_rounds)
    return steps.result()


def _no_pauses(
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
    """Whether no request of the run can pause, so that the base model's progress layer
    applies: a base policy with every engine parameter at its default, on the requests of
    ``instance`` itself, and nothing asked that only :class:`_Steps` records."""
    from ratio.queueing.policy import BasePolicyAdapter

    if type(policy) is not BasePolicyAdapter or instance is None:
        return False
    if policy.base.admission == "batch" and block_size != 1:
        # A batch policy chooses in tokens; in blocks its batch can outgrow M later, which
        # only the per-request layer checks (it evicts).
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


def _report_rounds(
    requests: tuple[QRequest, ...],
    instance: Instance,
    layer: _Rounds,
    convention: str,
    block_size: int,
) -> ExtResult:
    """A :class:`_Rounds` run reported as :class:`_Steps` reports it (every running request
    decodes each round: one step per round that runs a batch)."""
    n = instance.n
    schedule = layer.schedule()
    prompts = [r.prompt for r in instance.requests]
    outputs = [r.output for r in instance.requests]
    starts = schedule.starts
    completions = schedule.completions(instance)
    evicted = schedule.evicted
    # Each run holds memory and has one batch item per round; a run of k rounds processes its
    # prompt (s, or s + j when it resumes j kept tokens) and k - 1 decode tokens (the first
    # output comes with the prefill); an evicted run wastes its prompt and its k tokens.
    kept = [0] * n
    tokens = sum(prompts) + sum(outputs) - n
    wasted = 0
    for r in evicted:  # in the order they happened
        s_run = prompts[r.request] + kept[r.request]
        tokens += s_run + r.rounds - 1
        wasted += s_run + r.rounds
        if schedule.eviction == "resume":
            kept[r.request] += r.rounds
    end = max(completions, default=0)
    memory = memory_trace(instance, schedule, convention=convention, block_size=block_size)
    final = [c - p for c, p in zip(completions, starts, strict=True)]
    mem_rounds, steps = _step_records(schedule, memory, final, end)
    return ExtResult(
        requests,
        layer.pol.spec,
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
        schedule.eviction,
    )


def _step_records(
    schedule: Schedule, memory: np.ndarray, final: list[int], end: int
) -> tuple[tuple[tuple[int, int, int], ...], int]:
    """:class:`_Steps`'s memory records ``(round, engine, tokens)`` and step count for a base
    run that ends at ``end`` (``final``: each request's last run's rounds): a step per round in
    which something runs, and one with no work where the cache empties before the end (the
    engine then idles until the next arrival)."""
    if not final:
        return (), 0
    evicted = schedule.evicted
    run_p = np.array([*schedule.starts, *(r.start for r in evicted)], dtype=np.int64)
    run_k = np.array([*final, *(r.rounds for r in evicted)], dtype=np.int64)
    count = np.zeros(end + 1, dtype=np.int64)
    np.add.at(count, run_p, 1)
    np.add.at(count, run_p + run_k, -1)
    busy = np.cumsum(count)[:end] > 0
    rounds = np.flatnonzero(busy)
    held = memory[rounds]
    mem_rounds = tuple(zip(rounds.tolist(), [0] * len(rounds), held.tolist(), strict=True))
    return mem_rounds, len(mem_rounds) + int(np.count_nonzero(busy[:-1] & ~busy[1:]))


class _Rounds:
    """The progress layer of the base model (``docs/model.md`` sections 2, 5-7): every running
    request produces one token per round, so its progress is implied by its start round and
    its completion ``p + o`` is known when it starts. Nothing per request is touched in a round
    where nothing happens, and rounds in which nothing can change are skipped: an empty system
    jumps to the next arrival; a reactive policy to the next arrival, completion or overflow;
    a blocked look-ahead head to the first round its test could pass (``retry_at``).

    The engine uses this layer when no request can pause: a base policy, one engine of the
    instance's capacity, unit time, no token budget or request cap, whole prefill with the
    first token, no jobs (:func:`run_engine`); otherwise :class:`_Steps`."""

    def __init__(
        self,
        instance: Instance,
        pol: Policy,
        convention: str,
        block_size: int,
        eviction: str = "restart",
    ) -> None:
        self.inst = instance
        self.eviction = eviction
        self.pol = pol
        self.M = instance.capacity
        self.e = 1 if convention == "engine" else 0
        self.B = block_size
        # Prompt and output of each request's next run: under eviction=resume an eviction
        # after j tokens moves j tokens from O to S (model §7); ``kept`` counts them.
        self.S = [r.prompt for r in instance.requests]
        self.O = [r.output for r in instance.requests]
        self.kept = [0] * instance.n
        self.A = [r.arrival for r in instance.requests]
        for i in range(instance.n):
            first = self.S[i] + 1 - self.e
            top = self.S[i] + self.O[i] - self.e
            if _blocks(max(first, top), self.B) > self.M:
                raise InputError(
                    f"request {i} needs {_blocks(top, self.B)} tokens in blocks of {self.B} "
                    f"> M = {self.M}: it can never run"
                )
        self.info = pol.info
        self.theta = getattr(pol, "theta", None)
        self.exact = pol.info == "full"
        self.reservation = pol.test == "reservation"
        self.may_overflow = pol.admission == "reactive" or not self.exact
        self.lookahead = pol.admission == "lookahead"
        self.reactive = pol.admission == "reactive"
        self.batch = pol.admission == "batch"
        self.blocking = pol.blocking
        # Running state (request index -> values); the look-ahead list is sorted by believed
        # completion round, ascending.
        self.start: dict[int, int] = {}
        self.seq: dict[int, int] = {}
        self.believed: dict[int, int] = {}
        self.views: list[RequestView | None] = [None] * instance.n
        self.la_C: list[int] = []
        self.la_i: list[int] = []
        self.la_b: list[int] = []  # b_j = s_j - p_j + 1 - e: member j holds b_j + t at round t
        self.comp: list[tuple[int, int]] = []
        self.sumB = 0  # sum over running of b_j = s_j - p_j + 1 - e
        self.sumP = 0  # sum over running of believed peaks (reservation test)
        self.next_seq = 0
        # The earliest round at which the last failed look-ahead test could pass if the
        # running set stays as it is (exact lengths, B = 1), else None.
        self.retry_at: int | None = None
        # The loop's state.
        n = instance.n
        self.n = n
        self.order = sorted(range(n), key=lambda i: (self.A[i], i))
        self.ptr = 0
        self.keys: list[Any] = [None] * n
        self.waiting: list[tuple[Any, int, int]] = []  # heap (blocking) or sorted list (skip)
        self.final_start = [-1] * n
        self.evicted: list[Run] = []
        self.admitted_order: list[int] = []
        self.done = 0
        self.preempted = False
        self.admitted_any = False
        self.next_arrival = self.A[self.order[0]] if n else _NEVER

    # --- memory ---------------------------------------------------------------------------
    def _b(self, i: int) -> int:
        return self.S[i] - self.start[i] + 1 - self.e

    def mem_now(self, t: int) -> int:
        if self.B == 1:
            return self.sumB + len(self.start) * t
        return sum(_blocks(self._b(i) + t, self.B) for i in self.start)

    def try_admit(self, t: int, i: int) -> bool:
        """Admit waiting request ``i`` at round ``t`` if the policy's admission test passes:
        look-ahead or reservation (model §6) with the policy's planned output, or the current
        round's memory (reactive, model §7); the tests are :mod:`ratio.admission`'s."""
        pol, M, S, e, B = self.pol, self.M, self.S, self.e, self.B
        cand = self.views[i]
        assert cand is not None
        if self.lookahead:
            ob = pol.believed_output(cand, M)
            if self.kept[i]:  # resumed: plan with what is left of the policy's belief
                ob = max(1, min(ob - self.kept[i], M - S[i]))
            peak = S[i] + ob - e
            if B != 1:
                peak = _blocks(peak, B)
            if self.reservation:
                ok = fits_reservation(self.sumP, peak, M)
                self.retry_at = None
            else:
                fail = fits_lookahead(
                    self.la_C, self.la_b, t, S[i] - t + 1 - e, t + ob, M, B, self.exact,
                    self.sumP, peak,
                )  # fmt: skip
                ok = fail is None
                self.retry_at = fail or None
        else:
            ob = self.O[i]
            ok = fits_reactive(self.mem_now(t), _blocks(S[i] + 1 - e, B), M)
            self.retry_at = None
        if ok:
            self.admit(t, i, ob)
        return ok

    # --- state changes --------------------------------------------------------------------
    def admit(self, t: int, i: int, ob: int) -> None:
        self.start[i] = t
        self.final_start[i] = t
        self.admitted_order.append(i)
        self.seq[i] = self.next_seq
        self.next_seq += 1
        self.believed[i] = ob
        C = t + ob
        pos = bisect.bisect_right(self.la_C, C)
        self.la_C.insert(pos, C)
        self.la_i.insert(pos, i)
        self.la_b.insert(pos, self.S[i] - t + 1 - self.e)
        heapq.heappush(self.comp, (t + self.O[i], i))
        self.sumB += self.S[i] - t + 1 - self.e
        self.sumP += _blocks(self.S[i] + ob - self.e, self.B)

    def remove(self, i: int) -> None:
        p = self.start.pop(i)
        self.seq.pop(i)
        ob = self.believed.pop(i)
        C = p + ob
        lo = bisect.bisect_left(self.la_C, C)
        k = self.la_i.index(i, lo)
        del self.la_C[k]
        del self.la_i[k]
        del self.la_b[k]
        self.sumB -= self.S[i] - p + 1 - self.e
        self.sumP -= _blocks(self.S[i] + ob - self.e, self.B)

    def running_views(self, t: int) -> list[RunningView]:
        out = []
        for i, p in self.start.items():
            v = self.views[i]
            assert v is not None
            out.append(RunningView(v, p, self.kept[i] + t - p, self.seq[i]))
        return out

    def _enqueue(self, i: int) -> None:
        entry = (self.keys[i], self.A[i], i)
        if self.blocking:
            heapq.heappush(self.waiting, entry)
        else:
            bisect.insort(self.waiting, entry)

    # --- the loop's phases (run by :func:`_loop`) ------------------------------------------
    def round(self, t: int) -> int:
        return t

    def begin(self) -> int:
        return self.A[self.order[0]] if self.n else 0

    def end_rounds(self, t: int) -> None:
        """Phase 1: requests with ``C_i <= t`` complete."""
        comp = self.comp
        while comp and comp[0][0] <= t:
            _, i = heapq.heappop(comp)
            self.remove(i)
            self.done += 1

    def arrive(self, t: int) -> None:
        """Phase 2: requests with ``a_i <= t`` join the waiting queue as views built for the
        policy's information level (model §5), keyed once."""
        if t < self.next_arrival:
            return
        order, A, n, ptr = self.order, self.A, self.n, self.ptr
        while ptr < n and A[order[ptr]] <= t:
            i = order[ptr]
            v = make_view(self.inst, i, self.info, self.theta)
            self.views[i] = v
            self.keys[i] = self.pol.key(v) if not self.batch else ()
            self._enqueue(i)
            ptr += 1
        self.ptr = ptr
        self.next_arrival = A[order[ptr]] if ptr < n else _NEVER

    def evict(self, t: int) -> None:
        """Phase 3: on overflow, evict by the policy's victim rule (model §7)."""
        self.preempted = False
        if not self.may_overflow or not self.start or self.mem_now(t) <= self.M:
            return
        running = self.running_views(t)
        running.sort(key=self.pol.victim_key, reverse=True)
        for rv in running:
            if self.mem_now(t) <= self.M:
                break
            i = rv.request.index
            p = self.start[i]
            self.remove(i)
            self.comp.remove((p + self.O[i], i))
            heapq.heapify(self.comp)
            self.evicted.append(Run(i, p, t - p))
            if self.eviction == "resume":
                self.S[i] += t - p
                self.O[i] -= t - p
                self.kept[i] += t - p
            self._enqueue(i)
            self.preempted = True

    def decide(self, t: int) -> None:
        """Phases 4-5: the policy admits (head-of-line or skipping, model §6; reactive, §7;
        or a batch ``decide``); every running request produces its next token."""
        waiting = self.waiting
        self.admitted_any = False
        if self.batch:
            self._decide_batch(t)
        elif not (self.reactive and self.preempted):
            if self.blocking:
                while waiting and self.try_admit(t, waiting[0][2]):
                    heapq.heappop(waiting)
                    self.admitted_any = True
            else:
                keep = [w for w in waiting if not self.try_admit(t, w[2])]
                self.admitted_any = len(keep) < len(waiting)
                waiting[:] = keep

    def _decide_batch(self, t: int) -> None:
        waiting = self.waiting
        state = SystemView(
            t,
            self.M,
            tuple(self.views[w[2]] for w in sorted(waiting)),  # type: ignore[misc]
            tuple(self.running_views(t)),
            self.B,
            self.e,
        )
        chosen = list(self.pol.decide(state))
        if not chosen:
            return
        present = {w[2] for w in waiting}
        bad = [i for i in chosen if i not in present]
        if bad:
            raise InputError(f"{self.pol.spec}: decided to start non-waiting {bad}")
        cs = set(chosen)
        waiting[:] = [w for w in waiting if w[2] not in cs]
        heapq.heapify(waiting)
        for i in chosen:
            self.admit(t, i, self.O[i])
        self.admitted_any = True
        if self.mem_now(t) > self.M:
            raise InputError(f"{self.pol.spec}: batch at round {t} overflows memory")

    def next_time(self, t: int) -> int | None:
        """Phase 6, the clock: the next round at which something can change; ``None`` when
        requests wait on an empty cache and nothing else will arrive."""
        waiting = self.waiting
        next_arrival = self.next_arrival if self.ptr < self.n else None
        if not self.start:
            if waiting and not self.admitted_any and next_arrival is None:
                return None
            if not waiting:
                assert next_arrival is not None
                return max(t + 1, next_arrival)
            return t + 1
        if waiting and (self.lookahead or self.preempted):
            # A blocked head can become admissible by waiting alone (model §6); after a
            # preemption round, admission resumes in the next round. With blocking
            # admission the head's failed test says how long it fails for sure while the
            # running set stays (retry_at); arrivals and completions end that early.
            nxt = t + 1
            if self.blocking and self.lookahead and not self.preempted and self.retry_at:
                nxt = min(self.retry_at, self.comp[0][0])
                if next_arrival is not None:
                    nxt = min(nxt, next_arrival)
            return max(t + 1, nxt)
        # Otherwise nothing changes before the next arrival, completion or overflow.
        nxt = self.comp[0][0]
        if next_arrival is not None:
            nxt = min(nxt, next_arrival)
        if self.may_overflow and self.B == 1:
            over = (self.M - self.sumB) // len(self.start) + 1
            nxt = min(nxt, over)
        elif self.may_overflow or (waiting and not self.batch):
            nxt = t + 1
        return max(t + 1, nxt)

    def stuck(self, t: int) -> StuckError:
        return StuckError(
            f"{self.pol.spec}: round {t}: {len(self.waiting)} request(s) wait on an empty "
            "cache and nothing else will arrive",
            round=t,
            waiting=self.waiting_ids(),
        )

    def waiting_ids(self) -> list[int]:
        return [w[2] for w in self.waiting]

    def schedule(self) -> Schedule:
        if any(p < 0 for p in self.final_start):
            raise StuckError("internal: a request never started", round=-1, waiting=[])
        return Schedule(tuple(self.final_start), tuple(self.evicted), self.eviction)


class _Layer(Protocol):
    """What the loop asks of a progress layer: its phases, in the loop's order. Time is a
    round (an ``int``) in :class:`_Rounds` and an event time (:data:`Number`) in
    :class:`_Steps`."""

    pol: Any
    n: int
    done: int

    def begin(self) -> Any: ...
    def end_rounds(self, t: Any) -> None: ...
    def arrive(self, t: Any) -> None: ...
    def round(self, t: Any) -> int: ...
    def evict(self, t: Any) -> None: ...
    def decide(self, t: Any) -> None: ...
    def next_time(self, t: Any) -> Any: ...
    def stuck(self, t: Any) -> StuckError: ...
    def waiting_ids(self) -> list[int]: ...


def _loop(layer: _Layer, until: Number | None, max_rounds: int | None) -> None:
    """The engine's round loop, the only one (``docs/model.md`` section 2, ``docs/queueing.md``
    Q1-Q5): at each event time the layer ends the rounds that finished, admits arrivals to the
    waiting queue, evicts on overflow, lets the policy decide and applies it, then its clock
    says when the next event is. The layer is :class:`_Rounds` (implicit progress, the base
    model) or :class:`_Steps` (per-request progress, engines, budgets, batch times, jobs)."""
    t = layer.begin()
    # The phases, bound once: the loop is the simulator's inner loop.
    end_rounds, arrive, evict = layer.end_rounds, layer.arrive, layer.evict
    decide, next_time = layer.decide, layer.next_time
    n = layer.n
    while True:
        end_rounds(t)
        arrive(t)
        if layer.done == n or (until is not None and until <= t):
            return
        if max_rounds is not None and layer.round(t) > max_rounds:
            raise StuckError(
                f"{layer.pol.spec}: no completion of all requests by round {max_rounds}",
                round=layer.round(t),
                waiting=layer.waiting_ids(),
            )
        evict(t)
        decide(t)
        nxt = next_time(t)
        if nxt is None:
            if until is not None:
                return
            raise layer.stuck(t)
        t = nxt


class _Steps:
    """The progress layer of the extended model (``docs/queueing.md`` Q1-Q5): per-request
    prefill and decode progress, so a request can pause (left out of a batch), prefill in
    chunks or produce its first token apart; one clock per engine (``free_at``) with its
    batch-time model; token budgets and request caps; jobs released by completions; and
    plans (:meth:`EnginePolicy.plan`) checked before they are applied."""

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
        instance: Instance | None = None,
        eviction: str = "restart",
    ) -> None:
        if prefill not in PREFILL:
            raise InputError(f"prefill must be one of {', '.join(PREFILL)}, got {prefill!r}")
        if first_token not in FIRST_TOKEN:
            raise InputError(
                f"first_token must be one of {', '.join(FIRST_TOKEN)}, got {first_token!r}"
            )
        _check_counting(convention, block_size)
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
        self.instance = instance
        self.setup = EngineSetup(
            self.engines, prefill, first_token, convention, block_size, len(self.reqs)
        )
        n = len(self.reqs)
        self.n = n
        # Prompt and output of each request's next run: under eviction=resume an eviction
        # after j tokens moves j tokens from O to S (model §7); ``kept`` counts them.
        self.S = [r.prompt for r in self.reqs]
        self.O = [r.output for r in self.reqs]
        self.kept = [0] * n
        self.eviction = eviction
        self.evicted_paused = False
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
        out = self.O[i] if info == "full" else None
        return QView(
            i, r.arrival, self.S[i], out, r.job, r.cls, r.engine, self.avail[i], base,
            self.kept[i],
        )  # fmt: skip

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
        j = self.produced[i]
        if self.r - self.start[i] != j:
            self.evicted_paused = True
        self.prefilled[i] = 0
        self.produced[i] = 0
        self.engine_of[i] = -1
        if self.eviction == "resume" and j:
            self.S[i] += j
            self.O[i] -= j
            self.kept[i] += j
            self.views[i] = self._make_view(i)
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
        self.pol.on_complete(i, self.reqs[i].output)  # a completion reveals the length
        for d in self.dependants[i]:
            self.unmet[d] -= 1
            if self.avail[d] < end:
                self.avail[d] = end
            if self.unmet[d] == 0:
                heapq.heappush(self.future, (self.avail[d], d))

    def _round_of(self, T: Number) -> int:
        return int(T) if self.unit_time else self.r

    # --- the loop's phases (run by :func:`_loop`) ------------------------------------------
    def round(self, t: Number) -> int:
        return self.r

    def begin(self) -> Number:
        """Reset the policy, place the warm-started requests; the first event time."""
        self.done = 0
        pol = self.pol
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
        self.free_at: list[Number] = [0] * len(self.engines)
        # In flight: (end time, engine, round index of the round, completing requests).
        self.inflight: list[tuple[Any, int, int, list[int]]] = []
        self.steps = 0
        T: Number = self.future[0][0] if self.future else 0
        if self.warm:
            T = 0
        if self.unit_time:
            T = _ceil(T)
        self.T = T
        self.r = self._round_of(T)
        return T

    def end_rounds(self, T: Number) -> None:
        """Phase 1: requests whose last token's round ended by ``T`` complete (Q4)."""
        inflight = self.inflight
        while inflight and inflight[0][0] <= T:
            end, _eng, _rnd, finishing = heapq.heappop(inflight)
            for i in finishing:
                self._retire(i, end, self.r)

    def arrive(self, T: Number) -> None:
        """Phase 2: arrivals and released dependants join the waiting queue (Q2, Q4)."""
        fut = self.future
        while fut and fut[0][0] <= T:
            _, i = heapq.heappop(fut)
            self.arrival_round[i] = self.r
            self.views[i] = self._make_view(i)
            self.backlog_reqs += 1
            self.backlog_tokens += self.remaining_work(i)
            self._enqueue(i)

    def evict(self, T: Number) -> None:
        """Phase 3: on each ready engine whose memory would overflow if every decoding request
        advanced, the policy names its victims (Q5; by default its victim rule until every
        decoder fits)."""
        pol = self.pol
        self.ready = tuple(x for x in range(len(self.engines)) if self.free_at[x] <= T)
        self.preempted: dict[int, bool] = {}
        for x in self.ready:
            cap = self.engines[x].capacity
            victims: list[int] = []
            if cap is not None and self.run_on[x] and self.memory(x, advance=True) > cap:
                victims = pol.evict(self._state(self.ready, {}), x)
                for i in victims:
                    if self.status[i] != _RUNNING or self.engine_of[i] != x:
                        raise InputError(
                            f"{pol.spec}: evicted request {i}, not running on engine {x}"
                        )
                    self._evict(i)
                # Evictions need not make room for every decoder: a policy may pause some
                # (vLLM's priority stall, Q1); the batch it applies must fit (checked there).
            self.preempted[x] = bool(victims)

    def decide(self, T: Number) -> None:
        """Phases 4-5: the policy plans this step's work on the ready engines; the plan is
        checked (budget, request cap, prefill mode, first token, memory) and applied."""
        self.state = self._state(self.ready, self.preempted)
        plan = list(self.pol.plan(self.state))
        if self.on_batch is not None:
            self.on_batch(self.state, plan)
        self._apply(plan, self.ready, self.free_at, self.inflight)
        self.steps += 1
        if self.record_backlog:
            self.backlog_rows.append((float(T), self.backlog_reqs, self.backlog_tokens))

    def next_time(self, T: Number) -> Number | None:
        """Phase 6, the clock: the next event (an engine's round ends, an arrival wakes an
        idle engine, or the policy asks to be called); ``None`` if there is none."""
        free_at = self.free_at
        k = len(self.engines)
        nxt: Number | None = None
        busy = [free_at[x] for x in range(k) if free_at[x] > T]
        if busy:
            nxt = min(busy)
        idle = any(free_at[x] <= T for x in range(k))
        fut = self.future
        if fut and (idle or not busy):
            # Arrivals wake only an idle engine; a busy one sees them at its next round.
            a = fut[0][0]
            if self.unit_time:
                a = _ceil(a)
            if nxt is None or a < nxt:
                nxt = a
        # A policy that waits on purpose (WAIT pauses every request) may ask to be
        # called again at a time of its choosing even if nothing happens by then.
        wake = self.pol.wake_time(self.state)
        if wake is not None and wake > T and (nxt is None or wake < nxt):
            nxt = _ceil(wake) if self.unit_time else wake
        if nxt is None:
            return None
        for x in self.ready:
            if free_at[x] <= T:
                free_at[x] = nxt  # idle until the next event
        self.r = int(nxt) if self.unit_time else self.r + 1
        self.T = nxt
        return nxt

    def stuck(self, t: Number) -> StuckError:
        return StuckError(
            f"{self.pol.spec}: round {self.r}: {self.n - self.done} request(s) left, nothing "
            "running or arriving, and the policy plans no work",
            round=self.r,
            waiting=[w[2] for w in self.waiting],
        )

    def waiting_ids(self) -> list[int]:
        return [w[2] for w in self.waiting]

    def result(self) -> ExtResult:
        backlog = None
        if self.record_backlog:
            backlog = np.array(self.backlog_rows, dtype=float).reshape(-1, 3)
        return ExtResult(
            self.reqs,
            self.pol.spec,
            tuple(self.start),
            tuple(self.completion),
            tuple(self.arrival_round),
            tuple(self.start_time),
            tuple(self.completion_time),
            tuple(self.engine_of),
            tuple(self.evicted),
            self.wasted,
            self.T,
            self.steps,
            self.tokens,
            tuple(self.mem_rounds),
            tuple(self.batches),
            backlog,
            self.instance,
            self.convention,
            self.block,
            self.eviction,
            self.evicted_paused,
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
