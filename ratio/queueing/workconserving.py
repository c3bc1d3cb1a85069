"""Dai et al.'s work conservation as a checkable property of one step's batch."""

from __future__ import annotations

from collections.abc import Sequence

from ratio.policies._batching import BatchBuilder
from ratio.queueing.views import EngineState, Work

__all__ = ["is_work_conserving"]


def is_work_conserving(state: EngineState, batch: Sequence[Work]) -> bool:
    """True iff on every ready engine the batch is full whenever the work present could fill
    it: no decode token, prefill token (chunked) or whole prompt (whole prefill) of a request
    present could be added without exceeding the token budget, the request cap or memory.

    Call it with the state *before* the batch is applied (``run_engine(on_batch=...)``).

    References: Dai, Deng, Li, Peng, arXiv 2504.07347, Definition of work-conserving
    scheduling (section 3) and Theorem 2 (work-conserving policies are throughput-optimal).
    """
    chunked = state.prefill == "chunked"
    placed = {w.request: w for w in batch}
    for x in state.ready:
        b = BatchBuilder(state, x)
        mine = {i: w for i, w in placed.items() if w.engine == x}
        for i, w in mine.items():
            b.budget -= w.prefill + (1 if w.decode else 0)
            b.slots -= 1
            if w.prefill:
                b.memory -= state.held_after(i, w.prefill, False) - state.held_now(i)
        if b.budget < 1:
            continue

        def room(
            i: int, done: int, left: int, now: int, new_item: bool, b: BatchBuilder = b
        ) -> bool:
            """Could request ``i`` (``done`` tokens already in the batch) get more prefill?"""
            if left <= 0 or (new_item and b.slots < 1):
                return False
            if not chunked and done:
                return False
            need = 1 if chunked else left
            if need > b.budget:
                return False
            grow = state.held_after(i, done + need, False) - (
                state.held_after(i, done, False) if done else now
            )
            return grow <= b.memory

        for p in state.running(x):
            w1 = mine.get(p.index)
            if w1 is None:
                if p.can_decode and b.slots >= 1:
                    return False
                if room(p.index, 0, p.prefill_left, p.held, True):
                    return False
            elif w1.prefill and room(
                p.index, w1.prefill, p.prefill_left - w1.prefill, p.held, False
            ):
                return False
        for v in state.waiting(x):
            w2 = placed.get(v.index)
            if w2 is None:
                if room(v.index, 0, v.prompt, 0, True):
                    return False
            elif w2.engine == x and room(v.index, w2.prefill, v.prompt - w2.prefill, 0, False):
                return False
    return True
