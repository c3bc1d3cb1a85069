"""The policy registry: one module per policy, one line per policy below.

``get_policy("svf:blocking=false")`` or ``get_policy("svf", blocking=False)``; the CLI, the
tests and the notebooks all read :data:`REGISTRY`. It holds both kinds of policy; each class
says which engine it needs in ``engine`` (:func:`needs_extended_engine`):

``"base"``
    A key or batch policy (:class:`~ratio.policies.base.Policy`): runs on
    :func:`ratio.simulate`, and on the extended engine through its adapter.
``"extended"``
    An :class:`~ratio.policies.extended.EnginePolicy` (pauses, token budgets, chunked prefill,
    several engines): runs on :func:`ratio.queueing.simulate_extended` only.
"""

from __future__ import annotations

from typing import Any

from ratio.errors import InputError
from ratio.policies.base import Policy, RequestView, RunningView, SystemView, parse_value
from ratio.policies.class_priority import ClassPriority
from ratio.policies.extended import EnginePolicy
from ratio.policies.fastertransformer import FasterTransformer
from ratio.policies.fcfs import FCFS
from ratio.policies.gate_and_route import GateAndRoute
from ratio.policies.greedy_evict import GreedyEvict
from ratio.policies.hf_fifo import HFFifo
from ratio.policies.mcsf import MCSF
from ratio.policies.nested_wait import NestedWait
from ratio.policies.orca import Orca
from ratio.policies.sarathi import Sarathi
from ratio.policies.sjf import SJF
from ratio.policies.sorted_f import SortedF
from ratio.policies.spf import SPF
from ratio.policies.svf import SVF
from ratio.policies.svf_1bit import SVF1Bit
from ratio.policies.vllm_fcfs import VLLMFCFS
from ratio.policies.vllm_prefill_first import VLLMPrefillFirst
from ratio.policies.vllm_priority import VLLMPriority
from ratio.policies.vllm_v1 import VLLMV1
from ratio.policies.wait import Wait

__all__ = [
    "REGISTRY",
    "EnginePolicy",
    "Policy",
    "RequestView",
    "RunningView",
    "SystemView",
    "get_policy",
    "needs_extended_engine",
    "parse_spec",
    "register",
]

REGISTRY: dict[str, type[Policy]] = {
    "fcfs": FCFS,
    "sjf": SJF,
    "spf": SPF,
    "svf": SVF,
    "svf_1bit": SVF1Bit,
    "mcsf": MCSF,
    "sorted_f": SortedF,
    "vllm_fcfs": VLLMFCFS,
    "vllm_priority": VLLMPriority,
    # Extended engine (ratio.queueing): token budgets, pauses, chunked prefill, engines.
    "orca": Orca,
    "sarathi": Sarathi,
    "fastertransformer": FasterTransformer,
    "vllm_prefill_first": VLLMPrefillFirst,
    "class_priority": ClassPriority,
    "wait": Wait,
    "nested_wait": NestedWait,
    "greedy_evict": GreedyEvict,
    "gate_and_route": GateAndRoute,
    "vllm_v1": VLLMV1,
    "hf_fifo": HFFifo,
}


def register(cls: type[Policy]) -> type[Policy]:
    """Add a policy class, base or extended, to the registry (usable as a decorator by other
    packages)."""
    if not cls.name:
        raise ValueError("a policy class needs a name")
    REGISTRY[cls.name] = cls
    return cls


def needs_extended_engine(spec: str | Policy) -> bool:
    """True if the policy named by ``spec`` (``NAME[:key=value,...]`` or a policy object)
    needs the extended engine (its class says ``engine = "extended"``).

    Raises
    ------
    InputError
        Unknown name (the message lists the valid ones).
    """
    if isinstance(spec, Policy):
        return spec.engine == "extended"
    name, _ = parse_spec(spec)
    cls = REGISTRY.get(name)
    if cls is None:
        raise InputError(f"unknown policy {name!r} (valid: {', '.join(sorted(REGISTRY))})")
    return cls.engine == "extended"


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``NAME[:key=value,...]`` (``interfaces.md``) into name and parameters."""
    name, _, rest = spec.strip().partition(":")
    params: dict[str, Any] = {}
    if rest.strip():
        for item in rest.split(","):
            k, eq, v = item.partition("=")
            if not eq or not k.strip():
                raise InputError(f"policy {spec!r}: parameters must be key=value, got {item!r}")
            if k.strip() in params:
                raise InputError(f"policy {spec!r}: parameter {k.strip()!r} is given twice")
            params[k.strip()] = parse_value(v.strip())
    return name.strip(), params


def get_policy(spec: str | Policy, **params: Any) -> Policy:
    """Instantiate a registered policy from its name or ``NAME:key=value`` string.

    Raises
    ------
    InputError
        Unknown name (the message lists the valid ones) or bad parameters.
    """
    if isinstance(spec, Policy):
        if params:
            raise InputError("parameters cannot be given with a policy object")
        return spec
    name, parsed = parse_spec(spec)
    parsed.update(params)
    cls = REGISTRY.get(name)
    if cls is None:
        raise InputError(f"unknown policy {name!r} (valid: {', '.join(sorted(REGISTRY))})")
    return cls(**parsed)
