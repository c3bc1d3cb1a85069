"""Vanilla vLLM (v0) scheduling: prefill first, no mixing, whole prefills, head-of-line."""

from __future__ import annotations

from ratio.policies._batching import BatchBuilder, decoders, prefill_candidates
from ratio.policies._token_budget import TokenBudgetPolicy
from ratio.queueing.views import EngineState


class VLLMPrefillFirst(TokenBudgetPolicy):
    """Vanilla vLLM (prefill-prioritising, v0 default): if the head of the FCFS waiting queue
    fits (whole prompt within the token budget, request cap and memory), the batch is
    prefill-only: whole prompts FCFS while they fit, head-of-line; otherwise it is decode-only
    (FCFS, within ``token_budget`` and ``max_requests``). Prefill and decode never share a
    batch.

    Under memory pressure it preempts as vLLM's scheduler does: when the running requests
    cannot all grow, the most recently admitted are evicted (``model.md`` section 7) and that
    step is decode-only, so a victim is not re-admitted in the step that evicted it (vLLM v0
    preempts only while scheduling the running queue, which it does in the steps that schedule
    no prefill). Without this rule a victim could be evicted and re-admitted in every step
    while nothing decodes.

    Not work-conserving; Dai et al. report divergence at 0.75 of capacity for a 129/112-token
    mix, and a head prompt longer than the budget blocks every later admission.

    References: Dai, Deng, Li, Peng, arXiv 2504.07347, section 4.2; Kwon et al., vLLM
    (SOSP 2023).
    """

    name = "vllm_prefill_first"
    summary = "prefill-first, no mixing, whole prefills, head-of-line (vanilla vLLM)"

    def fill(self, state: EngineState, engine: int, b: BatchBuilder) -> None:
        if state.preempted.get(engine, False):
            # A preemption step schedules the running queue only (vLLM v0).
            for p in decoders(state, engine):
                if not b.add_decode(p):
                    break
            return
        for i, left, held, new in prefill_candidates(state, engine, b.taken):
            if not b.add_prefill(i, left, held, new):
                break
        if b.items:
            return
        for p in decoders(state, engine):
            if not b.add_decode(p):
                break
