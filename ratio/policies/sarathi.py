"""Sarathi-Serve: decodes first, prefill chunks into the remainder of the token budget."""

from __future__ import annotations

from typing import ClassVar

from ratio.policies._batching import BatchBuilder, decoders, prefill_candidates
from ratio.policies._token_budget import TokenBudgetPolicy
from ratio.queueing.views import EngineState


class Sarathi(TokenBudgetPolicy):
    """Sarathi-Serve (stall-free batching): every running request that can decode gets its
    decode token (FCFS, within ``token_budget`` and ``max_requests``); the remaining budget
    goes to prefill chunks, FCFS over partially prefilled and waiting requests, each chunk the
    largest that fits (``prefill="chunked"``; with ``prefill="whole"`` only whole prompts,
    head-of-line). Memory: admits only what fits now (``model.md`` section 7).

    Work-conserving (Dai et al.'s definition: the batch is full whenever the work present could
    fill it), hence throughput-optimal without a request cap (their Theorem 2); with a request
    cap it is the only one of the four that stays stable in their section 4.3 example.

    References: Dai, Deng, Li, Peng, arXiv 2504.07347, sections 3-4 (Sarathi-Serve as a
    work-conserving, decode-prioritising policy); Agrawal et al., Sarathi-Serve (OSDI 2024).
    """

    name = "sarathi"
    summary = "decodes first, prefill chunks into the remaining token budget (FCFS)"
    default_prefill: ClassVar[str] = "chunked"

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        for p in decoders(state, engine):
            if not b.add_decode(p):
                break
        for i, left, held, new in prefill_candidates(state, engine, b.taken):
            if not b.add_prefill(i, left, held, new):
                break
