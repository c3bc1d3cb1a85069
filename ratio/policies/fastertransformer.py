"""FasterTransformer-style scheduling: decode first, no mixing, whole prefills."""

from __future__ import annotations

from ratio.policies._batching import BatchBuilder, decoders, prefill_candidates
from ratio.policies._token_budget import TokenBudgetPolicy
from ratio.queueing.views import EngineState


class FasterTransformer(TokenBudgetPolicy):
    """FasterTransformer-style (request-level) batching: while any running request can decode,
    the batch holds only decode tokens (FCFS, within ``token_budget`` and ``max_requests``);
    only when none is left are new requests prefilled, whole prompts FCFS while they fit,
    head-of-line. Prefill and decode never share a batch.

    Not work-conserving: waiting prefills are held back while decode batches run below the
    budget, so the system can diverge at loads the hardware can carry (Dai et al., section 4.2).

    References: Dai, Deng, Li, Peng, arXiv 2504.07347, section 4.2; NVIDIA FasterTransformer.
    """

    name = "fastertransformer"
    summary = "decode-first, no mixing, whole prefills (request-level batching)"

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        dec = decoders(state, engine)
        if dec:
            for p in dec:
                if not b.add_decode(p):
                    break
            return
        for i, left, held, new in prefill_candidates(state, engine, b.taken):
            if not b.add_prefill(i, left, held, new):
                break
