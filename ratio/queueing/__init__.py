"""Queueing extensions of the model (``docs/queueing.md``): the layers of the round engine
(:mod:`ratio.engine`) beyond the base model (token budgets, batch-time models, several engines,
agent jobs, Q1-Q5), the token-budget policies' adapter, and the stability harness (Q6). With a
base policy and default parameters :func:`simulate_extended` runs the engine's base-model layer,
the same as :func:`ratio.simulate`; the extended features run its per-request progress layer,
which reproduces the base layer exactly on the base model."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ratio.engine import ExtResult
    from ratio.model import Instance
    from ratio.policies import Policy
    from ratio.queueing.views import EngineSpec

# Names are loaded on first use (PEP 562), so that importing a light module of this package
# (``ratio.queueing.views``, ``tau``, ``fluid``: what the policies read) does not load the
# engine, and the policies package never imports it.
_LAZY = {
    "EngineSpec": "ratio.queueing.views",
    "EngineSetup": "ratio.queueing.views",
    "EngineState": "ratio.queueing.views",
    "Progress": "ratio.queueing.views",
    "QRequest": "ratio.queueing.views",
    "QView": "ratio.queueing.views",
    "Work": "ratio.queueing.views",
    "ExtResult": "ratio.engine",
    "requests_of": "ratio.engine",
    "run_engine": "ratio.engine",
    "BasePolicyAdapter": "ratio.queueing.policy",
    "get_engine_policy": "ratio.queueing.policy",
    "EnginePolicy": "ratio.policies.extended",
    "parse_tau": "ratio.queueing.tau",
    "is_work_conserving": "ratio.queueing.workconserving",
}

__all__ = [*sorted(_LAZY), "simulate_extended"]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'ratio.queueing' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


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
    Other keyword arguments go to :func:`~ratio.engine.run_engine` (``prefill``,
    ``first_token``, ``convention``, ``block_size``, ``until``, ``record_batches``, ...).
    With defaults and a base policy the result equals :func:`ratio.simulate`'s.

    Raises
    ------
    InputError
        Unknown policy or bad parameters.
    """
    from ratio.engine import requests_of, run_engine
    from ratio.errors import InputError
    from ratio.queueing.policy import get_engine_policy
    from ratio.queueing.tau import parse_tau
    from ratio.queueing.views import EngineSpec

    pol = get_engine_policy(policy_spec)
    if engines is None:
        engines = [EngineSpec(instance.capacity, token_budget, max_requests, parse_tau(tau))]
    elif token_budget is not None or max_requests is not None or tau is not None:
        raise InputError("give either engines or token_budget/max_requests/tau, not both")
    return run_engine(
        requests_of(instance), pol, engines=engines, instance=instance, **engine_params
    )
