"""Static class priority: a work-conserving policy for multi-class networks of engines."""

from __future__ import annotations

from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies._batching import BatchBuilder
from ratio.policies._token_budget import TokenBudgetPolicy
from ratio.queueing.views import EngineState


class ClassPriority(TokenBudgetPolicy):
    """Serve requests by a fixed class order, FCFS within a class: on each engine, running and
    waiting requests (the latter only where they may be placed) are taken in the order of
    ``order`` (class labels, highest priority first, written ``order=2-0-1-3``; unlisted classes
    last), each given its decode token or its largest prefill chunk, until the token budget or
    request cap is full. A lower-class request left out pauses (preemptive-resume priority).

    Work-conserving; with the wrong order it is unstable in the Rybko-Stolyar two-server
    network at load 0.9 (Dai, Deng, Li, Peng, arXiv 2504.07347, section 6: work conservation
    alone does not give maximal throughput in multi-class networks of agents; Rybko and
    Stolyar, Problems of Information Transmission 28, 1992).
    """

    name = "class_priority"
    summary = "fixed class priority, FCFS within a class (multi-class agent networks)"
    default_prefill: ClassVar[str] = "chunked"
    PARAMS: ClassVar[dict[str, Any]] = {"order": "", "token_budget": None, "max_requests": None}

    def validate(self) -> None:
        super().validate()
        raw = str(self.params["order"]).strip()
        try:
            self.rank = {int(c): k for k, c in enumerate(raw.split("-"))} if raw else {}
        except ValueError:
            raise InputError(
                f"policy 'class_priority': order must be class numbers joined by '-', got {raw!r}"
            ) from None

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        last = len(self.rank)
        items: list[tuple[tuple[Any, ...], int, int, int, bool, bool]] = []
        for p in state.running(engine):
            r = p.request
            key = (self.rank.get(r.cls, last), r.available, r.arrival, p.index)
            items.append((key, p.index, p.prefill_left, p.held, False, p.can_decode))
        for v in state.waiting(engine):
            if v.index not in b.taken:
                key = (self.rank.get(v.cls, last), v.available, v.arrival, v.index)
                items.append((key, v.index, v.prompt, 0, True, False))
        items.sort(key=lambda t: t[0])
        progress = {p.index: p for p in state.running(engine)}
        for _, i, left, held, new, dec in items:
            if b.budget < 1 or b.slots < 1:
                break
            if dec:
                b.add_decode(progress[i])
            elif left > 0:
                b.add_prefill(i, left, held, new)
