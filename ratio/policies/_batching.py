"""Shared batch building for the token-budget policies of Dai, Deng, Li, Peng (arXiv 2504.07347).

:class:`BatchBuilder` tracks, for one engine and one step, the token budget, the request cap
and the free KV memory (``queueing.md`` Q1), so that every policy admits within memory by the
reactive rule of ``model.md`` section 7 (the memory if every decoding request advances).
"""

from __future__ import annotations

from ratio.queueing.views import EngineState, Progress, Work

__all__ = ["BatchBuilder", "decoders", "prefill_candidates"]

_BIG = 1 << 62


class BatchBuilder:
    """Work for one engine in one step, within budget, request cap and memory."""

    def __init__(
        self,
        state: EngineState,
        engine: int,
        taken: set[int] | None = None,
        token_budget: int | None = None,
        max_requests: int | None = None,
    ) -> None:
        self.state = state
        self.engine = engine
        spec = state.engines[engine]
        budgets = [b for b in (spec.token_budget, token_budget) if b is not None]
        slots = [b for b in (spec.max_requests, max_requests) if b is not None]
        self.budget = min(budgets) if budgets else _BIG
        self.slots = min(slots) if slots else _BIG
        cap = spec.capacity
        self.memory = _BIG if cap is None else cap - state.demand(engine)
        self.items: dict[int, Work] = {}
        self.taken = taken if taken is not None else set()
        self.chunked = state.prefill == "chunked"

    @property
    def tokens(self) -> int:
        return sum(w.prefill + (1 if w.decode else 0) for w in self.items.values())

    def add_decode(self, p: Progress) -> bool:
        """One decode token for a running request (its growth is already in the demand)."""
        if self.budget < 1 or self.slots < 1 or p.index in self.items or not p.can_decode:
            return False
        self.items[p.index] = Work(p.index, self.engine, 0, True)
        self.budget -= 1
        self.slots -= 1
        return True

    def prefill_room(self, index: int, left: int, now_held: int) -> int:
        """The largest prefill chunk (``<= left``) that fits budget and memory now."""
        st = self.state
        amount = min(left, self.budget)
        while amount > 0:
            grow = st.held_after(index, amount, False) - now_held
            if grow <= self.memory:
                return amount
            if not self.chunked:
                return 0
            # Memory is what limits: shrink to what fits (held grows by one per token).
            amount = min(amount - 1, self.memory)
        return 0

    def add_prefill(self, index: int, left: int, now_held: int, new: bool) -> bool:
        """Prefill for a partially prefilled running request or a waiting one (``new``):
        the whole remaining prompt (``prefill="whole"``) or the largest chunk that fits."""
        if index in self.items or index in self.taken or self.slots < 1:
            return False
        amount = self.prefill_room(index, left, now_held)
        if amount <= 0 or (not self.chunked and amount < left):
            return False
        grow = self.state.held_after(index, amount, False) - now_held
        self.items[index] = Work(index, self.engine, amount, False)
        self.budget -= amount
        self.slots -= 1
        self.memory -= grow
        if new:
            self.taken.add(index)
        return True

    def work(self) -> list[Work]:
        return list(self.items.values())


def decoders(state: EngineState, engine: int) -> list[Progress]:
    """Running requests that can decode this step, FCFS (arrival, index)."""
    run = [p for p in state.running(engine) if p.can_decode]
    run.sort(key=lambda p: (p.request.available, p.request.arrival, p.index))
    return run


def prefill_candidates(
    state: EngineState, engine: int, taken: set[int]
) -> list[tuple[int, int, int, bool]]:
    """Requests with prompt tokens left, FCFS: ``(index, left, held now, waiting?)``. Partially
    prefilled running requests and waiting ones are ordered together by (available, arrival,
    index), as in Sarathi-Serve's and Orca's FCFS queues."""
    out: list[tuple[tuple[object, object, int], int, int, int, bool]] = []
    for p in state.running(engine):
        if p.prefill_left > 0:
            r = p.request
            out.append(((r.available, r.arrival, p.index), p.index, p.prefill_left, p.held, False))
    for v in state.waiting(engine):
        if v.index not in taken:
            out.append(((v.available, v.arrival, v.index), v.index, v.prompt, 0, True))
    out.sort(key=lambda x: x[0])
    return [(i, left, held, new) for _, i, left, held, new in out]
