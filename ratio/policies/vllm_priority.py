"""vLLM's priority scheduler as a model policy; priority = volume approximates SVF."""

from __future__ import annotations

from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.model import volume
from ratio.policies.base import Policy, RequestView, RunningView

_KEYS = ("volume", "output", "prompt", "peak", "arrival")


class VLLMPriority(Policy):
    """vLLM priority scheduling: waiting requests ordered by (priority, arrival, index),
    admitted head-of-line while the current round's memory fits; when a running request cannot
    grow, the running request with the largest (priority, arrival) is preempted (recompute);
    nothing is admitted in a round that preempted (``docs/model.md`` sections 7, 9).

    ``priority=volume`` (default) is vLLM's own approximation of SVF; ``output``, ``prompt``,
    ``peak`` and ``arrival`` are the other keys. Information: ``full`` for keys that use the
    output length, ``none`` otherwise.

    References: vLLM v1 scheduler, ``scheduling_policy="priority"``
    (``vllm/v1/core/sched/scheduler.py``, ``request_queue.py``); Kong, Qi, Ye, Zhou,
    arXiv 2606.22327, section 5 (SVF in vLLM).
    """

    name = "vllm_priority"
    info = "full"
    summary = "vLLM priority scheduling, priority = volume by default (SVF in vLLM)"
    PARAMS: ClassVar[dict[str, Any]] = {"priority": "volume", "blocking": True}
    admission = "reactive"

    def validate(self) -> None:
        if self.params["priority"] not in _KEYS:
            raise InputError(f"policy 'vllm_priority': priority must be one of {', '.join(_KEYS)}")
        if self.params["priority"] in ("prompt", "arrival"):
            self.info = "none"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        p = self.params["priority"]
        if p == "prompt":
            return (view.prompt,)
        if p == "arrival":
            return (view.arrival,)
        assert view.output is not None
        if p == "output":
            return (view.output,)
        if p == "peak":
            return (view.prompt + view.output,)
        return (volume(view.prompt, view.output),)

    def victim_key(self, running: RunningView) -> tuple[Any, ...]:
        v = running.request
        return (*self.key(v), v.arrival, v.index)
