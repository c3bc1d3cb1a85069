"""A vLLM scheduler that sets SVF priorities itself: ``vllm serve MODEL --scheduling-policy
priority --scheduler-cls ratio.interop.vllm_scheduler.SVFScheduler`` (issue 10 item 4).

On arrival, a request whose client sent no priority (``priority == 0``) gets
``priority = request_priority(s, max_tokens, policy=KVRATIO_PRIORITY_POLICY)`` (default
``svf``: the volume ``s*o + o*(o+1)/2`` with ``o = max_tokens``, exact for replays that pin the
output length, an upper bound otherwise); ``svf_1bit:theta=T`` uses the class of ``max_tokens``.
A client that sends its own non-zero priority (e.g. from a length predictor via
:func:`ratio.interop.vllm_plugin.openai_body`) keeps it. Everything else is vLLM 0.32's
scheduler unchanged. This module imports vLLM; only vLLM loads it.
"""

from __future__ import annotations

import os
from typing import Any

from vllm.v1.core.sched.scheduler import Scheduler

from ratio.interop.vllm_plugin import request_priority
from ratio.policies import get_policy

__all__ = ["SVFScheduler"]


class SVFScheduler(Scheduler):
    """vLLM's v1 scheduler with SVF priorities assigned on arrival (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kvratio_policy = get_policy(os.environ.get("KVRATIO_PRIORITY_POLICY", "svf"))

    def add_request(self, request: Any) -> None:
        if request.request_id not in self.requests and request.priority == 0:
            o = request.max_tokens
            request.priority = request_priority(
                request.num_prompt_tokens, o, policy=self.kvratio_policy
            )
        super().add_request(request)
