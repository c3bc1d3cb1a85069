"""The policy registry: one module per policy, one line per policy below.

``get_policy("svf:blocking=false")`` or ``get_policy("svf", blocking=False)``; the CLI, the
tests and the notebooks all read :data:`REGISTRY`.
"""

from __future__ import annotations

from typing import Any

from ratio.errors import InputError
from ratio.policies.base import Policy, RequestView, RunningView, SystemView, parse_value
from ratio.policies.fcfs import FCFS
from ratio.policies.mcsf import MCSF
from ratio.policies.sjf import SJF
from ratio.policies.sorted_f import SortedF
from ratio.policies.spf import SPF
from ratio.policies.svf import SVF
from ratio.policies.svf_1bit import SVF1Bit
from ratio.policies.vllm_fcfs import VLLMFCFS
from ratio.policies.vllm_priority import VLLMPriority

__all__ = [
    "REGISTRY",
    "Policy",
    "RequestView",
    "RunningView",
    "SystemView",
    "get_policy",
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
}


def register(cls: type[Policy]) -> type[Policy]:
    """Add a policy class to the registry (usable as a decorator by other packages)."""
    if not cls.name:
        raise ValueError("a policy class needs a name")
    REGISTRY[cls.name] = cls
    return cls


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
