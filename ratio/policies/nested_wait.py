"""Nested WAIT: fluid thresholds when output lengths are unknown (Ao, Luo, Simchi-Levi, Wang)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ratio.errors import InputError
from ratio.policies.extended import EnginePolicy
from ratio.policies.wait import check_patience, check_threshold, one_engine
from ratio.queueing.fluid import largest_fitting, nested_segments, nested_thresholds
from ratio.queueing.views import EngineSetup, EngineState, QView, Work

__all__ = ["NestedWait", "kaplan_meier", "nested_memory", "max_nested_threshold"]


def nested_memory(outputs: Mapping[int, float], prompt: float, L: float) -> float:
    """Tokens of Nested WAIT's fluid plan at threshold ``L``: new requests are admitted at
    ``n_1`` per round, so each stage ``p`` of segment ``k`` holds the ``n_1 A_k`` of them still
    alive (``A_k = Lambda_k / Lambda_1``, flow conservation; holding ``prompt + p`` each), and
    each inner boundary holds up to ``n_k - 1`` requests paused while their batch fills
    (holding ``prompt + b_{k-1}``). The batch sizes ``n_k`` are floors of shares of ``L``
    (:func:`~ratio.queueing.fluid.nested_thresholds`); the occupancy follows the flow, not the
    floors (with the floors it was under-counted by 3.4 % of ``M`` on the ten-type mix, and the
    "safe" threshold evicted: ``docs/fluid.md``)."""
    segs = nested_segments(outputs)
    ns = nested_thresholds(outputs, L)
    first = segs[0][2]
    total = 0.0
    prev = 0
    for k, ((b, _, alive), n) in enumerate(zip(segs, ns, strict=True)):
        total += ns[0] * alive / first * sum(prompt + p for p in range(prev + 1, b + 1))
        if k > 0:
            total += (n - 1) * (prompt + prev)
        prev = b
    return total


def kaplan_meier(done: Mapping[int, int], running: Sequence[int]) -> dict[int, float]:
    """The output-length distribution from completed lengths ``done`` (``{o: count}``) and the
    tokens ``running`` requests have produced so far (each is known to be longer: censored),
    by the Kaplan-Meier estimator (:func:`scipy.stats.ecdf` on right-censored data). The
    plain histogram of completed lengths is biased to short outputs while long requests are
    still running (at round ``t`` a length ``o`` is under-counted by about ``o / t``; it made
    the learned plan overflow, ``docs/fluid.md``).
    Mass beyond the longest completed length (requests still running) goes to the longer of
    that length and one more than the most tokens a running request has produced.

    At risk at length 1: the 3 completed and the 2 running that produced 2 tokens, 2 of the 5
    end there; at length 3 only the completed one is at risk and it ends there:

    >>> kaplan_meier({1: 2, 3: 1}, [2, 2, 0])
    {1: 0.4, 3: 0.6}
    """
    from scipy.stats import CensoredData, ecdf  # the ``queueing`` extra

    if not done:
        return {}
    lengths = sorted(done)
    uncensored = np.repeat(np.array(lengths, dtype=float), [done[o] for o in lengths])
    sf = ecdf(CensoredData(uncensored=uncensored, right=np.array(running, dtype=float))).sf
    surv = dict(zip(sf.quantiles.tolist(), sf.probabilities.tolist(), strict=True))
    out: dict[int, float] = {}
    prev = 1.0
    for q in sorted(surv):
        if int(q) == q and int(q) in done:
            out[int(q)] = prev - surv[q]
        prev = surv[q]
    tail = surv[float(lengths[-1])]
    if tail > 0:
        # The tail is censored: its requests are longer than every length seen so far and
        # than what the longest-running one has produced; put it there (a lower bound).
        top = max(lengths[-1], max(running) + 1 if running else 0)
        out[top] = out.get(top, 0.0) + tail
    return out


def max_nested_threshold(outputs: Mapping[int, float], prompt: float, capacity: int) -> int:
    """The memory-safe threshold: the largest integer ``L`` whose plan (:func:`nested_memory`)
    fits ``capacity``."""
    if nested_memory(outputs, prompt, 1) > capacity:
        raise InputError(
            f"no Nested WAIT threshold fits: one request per stage needs "
            f"{nested_memory(outputs, prompt, 1):g} tokens > capacity {capacity}"
        )
    return largest_fitting(lambda L: nested_memory(outputs, prompt, L) <= capacity)


class NestedWait(EnginePolicy):
    """Nested WAIT: WAIT for output lengths unknown at admission. Decoding is split into
    segments at the distinct output lengths ``b_1 < ... < b_K``; segment ``k`` gets the share of
    ``L`` proportional to its length times the arrival rate of the types still alive in it
    (:func:`~ratio.queueing.fluid.nested_thresholds`) and moves requests in batches of ``n_k``.
    New requests are admitted (whole prefill) in one batch of ``n_1`` per round once ``n_1`` wait;
    a request that produced ``b_{k-1}`` tokens and is not done is thereby classified as longer
    than ``b_{k-1}`` and pauses (keeping its memory) at the boundary until its segment's queue
    holds ``n_k``, when whole batches of ``n_k`` go on. Requests inside a segment decode every
    round. A request waiting or paused for ``patience`` rounds goes on without its batch (ours,
    for finite traces; ``0``: never; default ``b_K + 1``).

    Information: none (the policy learns a request's length only when it completes). The
    output-length distribution ``{o: rate}`` is fixed with :meth:`with_outputs` (as in the
    paper) or estimated from what the policy has seen (:func:`kaplan_meier`: completed lengths,
    running requests censored at what they have produced); until one completes, requests are
    admitted FCFS while memory fits, so a learning run has a transient of about the longest
    output in rounds. ``L`` is given or the memory-safe threshold
    (:func:`max_nested_threshold`, mean prompt of the arrivals seen). Admission is checked
    against the current round's memory only; an overflow from growth evicts the most recently
    admitted (``model.md`` 7) -- above the safe threshold evictions appear.

    Stable range: at most ``n_1`` new requests per round, and the paused requests hold memory,
    so the fluid boundary is :func:`~ratio.queueing.fluid.nested_boundary_lp`, below Ao's
    (0.872 of it with a whole batch reserved per boundary on the ten-type mix scaled by 1/10,
    0.985 on the unscaled mix; ``docs/fluid.md``).

    References: Ao, Luo, Simchi-Levi, Wang, arXiv 2504.11320, section 5 (Nested WAIT). The
    batch rules inside segments are our reading of the paper's description in issue 9 (the
    paper's text was not available to us).
    """

    name = "nested_wait"
    summary = "WAIT with segments at the output lengths, for unknown output lengths"
    info = "none"
    PARAMS: ClassVar[dict[str, Any]] = {"L": None, "patience": None}

    def validate(self) -> None:
        check_threshold(self.name, self.params["L"])
        check_patience(self.name, self.params["patience"])
        self.fixed_outputs: dict[int, float] | None = None

    def with_outputs(self, outputs: Mapping[int, float]) -> NestedWait:
        """Fix the output-length distribution ``{o: rate}`` (instead of learning it)."""
        if not outputs or any(o < 1 or not w > 0 for o, w in outputs.items()):
            raise InputError("policy 'nested_wait': outputs must map lengths >= 1 to rates > 0")
        self.fixed_outputs = {int(o): float(w) for o, w in outputs.items()}
        return self

    # --- state -----------------------------------------------------------------------------
    def reset(self, setup: EngineSetup) -> None:
        one_engine(self.name, setup)
        self.capacity = setup.engines[0].capacity
        self.prompt_of: dict[int, int] = {}
        self.new: deque[int] = deque()
        self.arrival_round: dict[int, int] = {}
        self.seen_prompt = 0
        self.seen = 0
        self.done_outputs: dict[int, int] = {}
        self.limit: dict[int, int] = {}  # running request -> output tokens it may reach now
        self.paused_at: dict[int, int] = {}  # running request -> round it reached its boundary
        self._plan_key: Any = None
        self.L_used: float | None = None

    def on_waiting(self, view: QView) -> None:
        if view.index not in self.arrival_round:
            self.seen += 1
            self.seen_prompt += view.prompt
        self.arrival_round[view.index] = view.base.arrival
        self.prompt_of[view.index] = view.prompt
        self.new.append(view.index)

    def on_evict(self, index: int) -> None:
        self.limit.pop(index, None)
        self.paused_at.pop(index, None)

    def on_complete(self, index: int, output: int) -> None:
        self.limit.pop(index, None)
        self.paused_at.pop(index, None)
        # The only place an output length reaches this policy (information level none).
        self.done_outputs[output] = self.done_outputs.get(output, 0) + 1

    # --- plan of segments ------------------------------------------------------------------
    def outputs(self, state: EngineState) -> dict[int, float] | None:
        """The output-length distribution: fixed, or estimated from what has been seen
        (completed lengths; running requests censored at what they have produced)."""
        if self.fixed_outputs is not None:
            return self.fixed_outputs
        if not self.done_outputs:
            return None
        return kaplan_meier(self.done_outputs, [p.produced for p in state.running(0)])

    def segments(self, state: EngineState) -> tuple[list[int], list[int]] | None:
        """Boundaries and thresholds for the current estimate (``None`` before any)."""
        outs = self.outputs(state)
        if outs is None:
            return None
        key = tuple(sorted(outs.items()))
        if key != self._plan_key:
            L = self.params["L"]
            if L is None:
                if self.capacity is None:
                    raise InputError("policy 'nested_wait': without a capacity, give L")
                prompt = self.seen_prompt / max(1, self.seen)
                L = max_nested_threshold(outs, prompt, self.capacity)
            self.L_used = L
            self._bounds = [b for b, _, _ in nested_segments(outs)]
            self._thr = nested_thresholds(outs, L)
            self._plan_key = key
        return self._bounds, self._thr

    def patience_rounds(self, state: EngineState) -> int:
        p = self.params["patience"]
        if p is not None:
            return int(p)
        outs = self.outputs(state)
        return (max(outs) + 1) if outs else 1

    def _next_bound(self, produced: int, bounds: list[int]) -> int:
        for b in bounds:
            if b > produced:
                return b
        return 1 << 60  # longer than every known length: no boundary left

    # --- one step --------------------------------------------------------------------------
    def plan(self, state: EngineState) -> list[Work]:
        if 0 not in state.ready:
            return []
        t = state.round
        seg = self.segments(state)
        running = state.running(0)
        work: list[Work] = []
        pat = self.patience_rounds(state)
        if seg is None:
            for p in running:
                if p.can_decode:
                    work.append(Work(p.index, 0, 0, True))
            self._admit(state, work, len(self.new))
            return work
        bounds, thr = seg
        queues: dict[int, list[Any]] = {}
        for p in running:
            i = p.index
            lim = self.limit.get(i)
            if lim is None:
                lim = self.limit[i] = self._next_bound(p.produced, bounds)
            if p.produced < lim:
                if p.can_decode:
                    work.append(Work(i, 0, 0, True))
                continue
            # At a boundary: classified as longer than lim; wait for the next segment's batch.
            self.paused_at.setdefault(i, t)
            k = bounds.index(lim) + 1 if lim in bounds else len(bounds) - 1
            queues.setdefault(k, []).append(p)
        for k, members in queues.items():
            n = thr[min(k, len(thr) - 1)]
            members.sort(key=lambda p: (self.paused_at[p.index], p.seq))
            go = (len(members) // n) * n
            if pat > 0 and members and t - self.paused_at[members[0].index] >= pat:
                go = len(members)
            for p in members[:go]:
                i = p.index
                self.paused_at.pop(i, None)
                self.limit[i] = self._next_bound(p.produced, bounds)
                if p.can_decode:
                    work.append(Work(i, 0, 0, True))
        n1 = thr[0]
        if len(self.new) >= n1:
            self._admit(state, work, n1)
        elif self.new and pat > 0 and t - self.arrival_round[self.new[0]] >= pat:
            self._admit(state, work, len(self.new))
        return work

    def _admit(self, state: EngineState, work: list[Work], count: int) -> None:
        cap = self.capacity
        # Memory of the round about to run: decoding requests advance, paused ones stay.
        # (as the engine's eviction check does, paused requests count as if they advanced).
        if cap is not None:
            room = cap - state.demand(0)
        for _ in range(count):
            i = self.new[0]
            prompt = self.prompt_of[i]
            need = state.held_after(i, prompt, False)
            if cap is not None and need > room:
                break
            self.new.popleft()
            work.append(Work(i, 0, prompt))
            if cap is not None:
                room -= need

    def wake_time(self, state: EngineState) -> Any:
        if 0 not in state.ready or not (self.new or self.paused_at):
            return None
        if self.patience_rounds(state) == 0:
            return None
        tau = state.engines[0].tau
        return state.time + (1 if tau.is_unit else tau.duration(0, 1))
