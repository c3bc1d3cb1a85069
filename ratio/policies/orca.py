"""Orca: prefill chunks first, decodes into the remainder of the token budget."""

from __future__ import annotations

from typing import ClassVar

from ratio.policies._batching import BatchBuilder, decoders, prefill_candidates
from ratio.policies._token_budget import TokenBudgetPolicy
from ratio.queueing.views import EngineState


class Orca(TokenBudgetPolicy):
    """Orca (iteration-level scheduling with mixed batches), as modelled by Dai et al.: prefill
    chunks first, FCFS over partially prefilled and waiting requests, each the largest that
    fits the token budget (``prefill="chunked"``); decode tokens of running requests fill the
    remainder, FCFS. Within ``token_budget`` and ``max_requests``; memory as in
    ``model.md`` section 7.

    Work-conserving, hence throughput-optimal without a request cap (Dai et al., Theorem 2).

    References: Dai, Deng, Li, Peng, arXiv 2504.07347, sections 3-4; Yu et al., Orca
    (OSDI 2022).
    """

    name = "orca"
    summary = "prefill chunks first, decodes into the remaining token budget (FCFS)"
    default_prefill: ClassVar[str] = "chunked"

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        for i, left, held, new in prefill_candidates(state, engine, b.taken):
            if not b.add_prefill(i, left, held, new):
                break
        for p in decoders(state, engine):
            if not b.add_decode(p):
                break
