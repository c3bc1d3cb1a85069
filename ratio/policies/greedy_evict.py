"""Greedy admission with eviction: the rule of continuous-batching engines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ratio.policies.extended import EnginePolicy
from ratio.queueing.views import EngineState, Work

__all__ = ["GreedyEvict"]


class GreedyEvict(EnginePolicy):
    """Greedy admission with eviction: every running request decodes; waiting requests are
    admitted FCFS (whole prefill) while the memory of the round about to run fits
    (``model.md`` section 7: running requests advanced one token, new ones at ``s + 1``);
    when growth overflows the capacity, the most recently admitted requests are evicted
    (recompute) until it fits (``queueing.md`` Q5). Unlike ``vllm_fcfs`` it keeps admitting in a
    round that evicted. On several engines, each ready engine is filled in turn.

    Information: none (FCFS never reads ``o``). Admission: engine (reactive, head-of-line).

    Behaviour (Ao, Dong, Luo, Simchi-Levi, arXiv 2606.15555): for one type with prompt ``s``
    and two output rounds, greedy admission maps ``x`` first-round requests to
    ``x' = (M - (s + 2) x) / (s + 1)``; the fixed point ``M / (2s + 3)`` is unstable (a
    deviation grows by ``(s + 2) / (s + 1)`` per round), and the system falls into a limit cycle
    with evictions: at ``s = 2``, ``M = 140`` it completes 17.5 requests per round instead of 20.

    References: Ao, Dong, Luo, Simchi-Levi, arXiv 2606.15555 (greedy admission and eviction
    cycles); Kwon et al., vLLM (SOSP 2023) for the victim rule.
    """

    name = "greedy_evict"
    summary = "admit FCFS while the next round fits, evict the newest on overflow"
    info = "none"
    PARAMS: ClassVar[dict[str, object]] = {}

    def plan(self, state: EngineState) -> Sequence[Work]:
        work: list[Work] = []
        taken: set[int] = set()
        waiting = state.waiting()
        for x in state.ready:
            work.extend(Work(p.index, x, 0, True) for p in state.running(x) if p.can_decode)
            cap = state.capacity(x)
            room = None if cap is None else cap - state.demand(x)
            for v in waiting:
                if v.index in taken or (v.engine is not None and v.engine != x):
                    continue
                need = state.held_after(v.index, v.prompt, False)
                if room is not None and need > room:
                    break
                work.append(Work(v.index, x, v.prompt))
                taken.add(v.index)
                if room is not None:
                    room -= need
        return work
