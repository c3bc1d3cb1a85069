"""What the four policies of Dai, Deng, Li, Peng (arXiv 2504.07347) share: FCFS queues, the
``token_budget`` and ``max_requests`` parameters, and one batch per ready engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies._batching import BatchBuilder
from ratio.policies.extended import EnginePolicy
from ratio.queueing.views import EngineState, Work

__all__ = ["TokenBudgetPolicy"]


class TokenBudgetPolicy(EnginePolicy):
    """Base of the token-budget policies: information ``none`` (FCFS never reads ``o``),
    Dai et al.'s first-token convention (``separate``), and per-engine batch building."""

    info = "none"
    default_first_token: ClassVar[str] = "separate"
    PARAMS: ClassVar[dict[str, Any]] = {"token_budget": None, "max_requests": None}

    def validate(self) -> None:
        for k in ("token_budget", "max_requests"):
            v = self.params[k]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InputError(f"policy {self.name!r}: {k} must be an integer >= 1, got {v!r}")

    def builder(self, state: EngineState, engine: int, taken: set[int]) -> BatchBuilder:
        return BatchBuilder(
            state, engine, taken, self.params["token_budget"], self.params["max_requests"]
        )

    def plan(self, state: EngineState) -> Sequence[Work]:
        taken: set[int] = set()
        out: list[Work] = []
        for x in state.ready:
            b = self.builder(state, x, taken)
            self.fill(state, x, b)
            out.extend(b.work())
        return out

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        """Fill one engine's batch."""
        raise NotImplementedError
