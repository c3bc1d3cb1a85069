"""Queueing extensions of the model (``docs/queueing.md``): the extended engine (Q1-Q5), the
token-budget policies of Dai et al. (arXiv 2504.07347), agent jobs, and the stability harness
(Q6). The base simulator :func:`ratio.simulate` stays the fast path; with default parameters
:func:`simulate_extended` reproduces it exactly."""

from __future__ import annotations

from typing import Any

from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import Policy
from ratio.queueing.engine import (
    EngineSpec,
    EngineState,
    ExtResult,
    Progress,
    QRequest,
    QView,
    Work,
    requests_of,
    run_engine,
)
from ratio.queueing.policy import (
    POLICIES,
    BasePolicyAdapter,
    EnginePolicy,
    get_engine_policy,
    register_engine_policy,
)
from ratio.queueing.tau import parse_tau
from ratio.queueing.workconserving import is_work_conserving

__all__ = [
    "POLICIES",
    "BasePolicyAdapter",
    "EnginePolicy",
    "EngineSpec",
    "EngineState",
    "ExtResult",
    "Progress",
    "QRequest",
    "QView",
    "Work",
    "get_engine_policy",
    "is_work_conserving",
    "parse_tau",
    "register_engine_policy",
    "run_engine",
    "simulate_extended",
]


def simulate_extended(
    instance: Instance,
    policy_spec: str | Policy,
    *,
    engines: list[EngineSpec] | None = None,
    token_budget: int | None = None,
    max_requests: int | None = None,
    tau: Any = None,
    **engine_params: Any,
) -> ExtResult:
    """Simulate a policy (base or extended) on a base instance with the extended engine.

    Without ``engines``, one engine with the instance's capacity ``M``, the given
    ``token_budget``, ``max_requests`` and batch-time model ``tau`` (a spec string or model).
    Other keyword arguments go to :func:`~ratio.queueing.engine.run_engine` (``prefill``,
    ``first_token``, ``convention``, ``block_size``, ``until``, ``record_batches``, ...).
    With defaults and a base policy the result equals :func:`ratio.simulate`'s.

    Raises
    ------
    InputError
        Unknown policy or bad parameters.
    """
    pol = get_engine_policy(policy_spec)
    if isinstance(pol, BasePolicyAdapter):
        pol.predictions = instance.predictions
    if engines is None:
        engines = [EngineSpec(instance.capacity, token_budget, max_requests, parse_tau(tau))]
    elif token_budget is not None or max_requests is not None or tau is not None:
        raise InputError("give either engines or token_budget/max_requests/tau, not both")
    return run_engine(
        requests_of(instance), pol, engines=engines, instance=instance, **engine_params
    )
