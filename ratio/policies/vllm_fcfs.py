"""vLLM's FCFS scheduler as a model policy (reactive admission, recompute preemption)."""

from __future__ import annotations

from typing import Any

from ratio.policies.base import Policy, RequestView


class VLLMFCFS(Policy):
    """vLLM FCFS: admit in arrival order while the current round's memory fits, head-of-line;
    when a running request cannot grow, preempt (recompute) the most recently admitted; admit
    nothing in a round that preempted (``docs/model.md`` sections 7, 9).

    Information: none (reactive: admission looks at current memory only).

    References: vLLM v1 scheduler (``vllm/v1/core/sched/scheduler.py``, policy ``fcfs``);
    Kwon et al., SOSP 2023 (PagedAttention); Jaillet et al., arXiv 2502.07115, section 5.
    """

    name = "vllm_fcfs"
    info = "none"
    summary = "vLLM FCFS: reactive admission, evict most recent on overflow"
    PARAMS = {"blocking": True}
    admission = "reactive"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        return (view.arrival,)
