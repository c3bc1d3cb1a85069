"""WAIT: fluid-guided admission with per-type thresholds (Ao, Luo, Simchi-Levi, Wang)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies.extended import EnginePolicy
from ratio.queueing.fluid import FluidType, max_wait_threshold, stage_memory, wait_thresholds
from ratio.queueing.views import EngineSetup, EngineState, QView, Work

__all__ = ["Wait", "check_patience", "check_threshold", "first_round_tokens", "one_engine"]


def check_threshold(name: str, L: Any) -> None:
    """``L`` is ``None`` (fit memory) or a positive number."""
    if L is None:
        return
    if isinstance(L, bool) or not isinstance(L, (int, float)) or not L > 0:
        raise InputError(f"policy {name!r}: L must be a positive number (or omitted), got {L!r}")


def check_patience(name: str, patience: Any) -> None:
    """``patience`` is ``None`` (automatic), ``0`` (never time out) or a positive integer."""
    if patience is None:
        return
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise InputError(
            f"policy {name!r}: patience must be an integer >= 0 (0: wait forever), got {patience!r}"
        )


def one_engine(name: str, setup: EngineSetup | EngineState) -> None:
    if len(setup.engines) != 1:
        raise InputError(f"policy {name!r} runs on one engine; got {len(setup.engines)}")


class Wait(EnginePolicy):
    """WAIT (Waiting for Accumulated Inference Threshold): requests are grouped into types
    ``(prompt, output)`` with arrival rates ``lambda_j``; each type has the threshold
    ``n_j = max(1, floor(L lambda_j / sum_k lambda_k (o_k + 1)))``. A round runs only when every
    type has ``n_j`` new requests waiting; it then admits ``n_j`` of each (FCFS within the type)
    together with every request in progress, which otherwise pause (keep their memory, make no
    progress; ``queueing.md`` Q1). ``L`` is given, or the largest threshold whose fluid
    equilibrium (one batch of ``n_j`` per stage) fits the capacity
    (:func:`~ratio.queueing.fluid.max_wait_threshold`).

    Information: full (output lengths define the types). Admission: engine (batches by
    threshold; admission also stops at the first request that would not fit the current round's
    memory, and an overflow from growth evicts the most recently admitted, ``model.md`` 7).

    Rates: estimated online from the arrivals seen so far (the thresholds only need their
    proportions), or fixed with :meth:`with_types`. Finite traces: a request left waiting or
    paused for ``patience`` rounds makes the round run with what is there (at most ``n_j`` per
    type); ``patience=0`` never times out (pure WAIT, for stationary streams), the default is
    ``max_j (o_j + 1)`` over the known types. This time-out is ours, not the paper's.

    Guarantee (fluid, one type, saturated input): with ``n`` per stage fitting memory WAIT runs
    at ``n`` completions per round without eviction, where greedy admission cycles with
    evictions (Ao, Dong, Luo, Simchi-Levi, arXiv 2606.15555).

    References: Ao, Luo, Simchi-Levi, Wang, "Optimizing LLM Inference: Fluid-Guided Online
    Scheduling with Memory Constraints", arXiv 2504.11320, section 4 (WAIT).
    """

    name = "wait"
    summary = "fluid thresholds per type; runs a round only when every type has its batch"
    info = "full"
    PARAMS: ClassVar[dict[str, Any]] = {"L": None, "patience": None}

    def validate(self) -> None:
        check_threshold(self.name, self.params["L"])
        check_patience(self.name, self.params["patience"])
        self.fixed_types: tuple[FluidType, ...] | None = None

    def with_types(self, types: Sequence[FluidType]) -> Wait:
        """Fix the types and their rates (instead of estimating them online)."""
        if not types:
            raise InputError("policy 'wait': with_types needs at least one type")
        self.fixed_types = tuple(types)
        return self

    # --- state -----------------------------------------------------------------------------
    def reset(self, setup: EngineSetup) -> None:
        one_engine(self.name, setup)
        self.capacity = setup.engines[0].capacity
        self.first_token = setup.first_token
        self.counts: dict[tuple[int, int], int] = {}
        self.queues: dict[tuple[int, int], deque[int]] = {}
        self.last_run = 0
        self._thr: dict[tuple[int, int], int] | None = None
        self.arrival_round: dict[int, int] = {}
        self.prefill: dict[int, int] = {}
        if self.fixed_types is not None:
            for t in self.fixed_types:
                self.queues.setdefault((t.prompt, t.output), deque())

    def on_waiting(self, view: QView) -> None:
        # A request's type is that of its arrival; a request evicted under eviction=resume
        # comes back with a longer prompt to prefill (``view.prompt``) but keeps its type.
        assert view.base.output is not None
        key = (view.base.prompt, view.base.output)
        self.prefill[view.index] = view.prompt
        first = view.index not in self.arrival_round
        self.arrival_round[view.index] = view.base.arrival
        if self.fixed_types is None and first:
            self.counts[key] = self.counts.get(key, 0) + 1
            self._thr = None
        if self.fixed_types is not None and key not in self.queues:
            raise InputError(
                f"policy 'wait': request {view.index} has type {key}, not one of with_types"
            )
        self.queues.setdefault(key, deque()).append(view.index)

    # --- thresholds ------------------------------------------------------------------------
    def types(self) -> list[FluidType]:
        if self.fixed_types is not None:
            return list(self.fixed_types)
        return [FluidType(s, o, float(c)) for (s, o), c in sorted(self.counts.items())]

    def thresholds(self) -> dict[tuple[int, int], int]:
        """``n_j`` per type ``(prompt, output)`` for the current rate estimates."""
        if self._thr is None:
            ts = self.types()
            L = self.params["L"]
            if L is None:
                if self.capacity is None:
                    raise InputError("policy 'wait': without a capacity, give L")
                L = max_wait_threshold(ts, self.capacity, self.first_token)
            self.L_used = L
            self._thr = {
                (t.prompt, t.output): n for t, n in zip(ts, wait_thresholds(ts, L), strict=True)
            }
        return self._thr

    def patience_rounds(self) -> int:
        p = self.params["patience"]
        if p is not None:
            return int(p)
        outs = [o for (_, o) in self.queues]
        return max(outs) + 1 if outs else 1

    def fluid_memory(self) -> int:
        """Tokens of the fluid plan: ``sum_j n_j m_j``."""
        return sum(
            n * stage_memory(s, o, self.first_token) for (s, o), n in self.thresholds().items()
        )

    # --- one step --------------------------------------------------------------------------
    def plan(self, state: EngineState) -> list[Work]:
        if 0 not in state.ready:
            return []
        thr = self.thresholds() if self.queues else {}
        running = state.running(0)
        full = bool(thr) and all(len(self.queues[k]) >= n for k, n in thr.items())
        if not full and not self._timed_out(state, running):
            return []
        return self._batch(state, running, thr)

    def _oldest(self, running: list[Any]) -> Any:
        """Round since which the longest-waiting request (new, or paused in progress) waits."""
        oldest = None
        for q in self.queues.values():
            if q:
                a = self.arrival_round[q[0]]
                oldest = a if oldest is None else min(oldest, a)
        if running:
            oldest = self.last_run if oldest is None else min(oldest, self.last_run)
        return oldest

    def _timed_out(self, state: EngineState, running: list[Any]) -> bool:
        p = self.patience_rounds()
        oldest = self._oldest(running)
        return p > 0 and oldest is not None and state.round - oldest >= p

    def _batch(
        self, state: EngineState, running: list[Any], thr: dict[tuple[int, int], int]
    ) -> list[Work]:
        work = [Work(p.index, 0, 0, True) for p in running if p.can_decode]
        cap = self.capacity
        room = None if cap is None else cap - state.demand(0)
        for key, n in thr.items():
            q = self.queues[key]
            for _ in range(min(n, len(q))):
                s = self.prefill[q[0]]
                first = state.held_after(q[0], s, False)
                if room is not None and first > room:
                    break
                work.append(Work(q.popleft(), 0, s))
                if room is not None:
                    room -= first
        if work:
            self.last_run = state.round + 1
        return work

    def wake_time(self, state: EngineState) -> Any:
        # Waiting on purpose: come back when the patience of the oldest request runs out.
        if 0 not in state.ready:
            return None
        p = self.patience_rounds()
        oldest = self._oldest(state.running(0))
        if p == 0 or oldest is None:
            return None
        tau = state.engines[0].tau
        if tau.is_unit:
            return max(state.time + 1, oldest + p)
        return state.time + tau.duration(0, 1)


def first_round_tokens(prompt: int, first_token: str) -> int:
    """Tokens a newly admitted request holds in its first round (whole prefill)."""
    return prompt + 1 if first_token == "with_prefill" else prompt
