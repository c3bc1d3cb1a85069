"""Which policy names need the extended engine, for ``kvratio simulate`` (``ratio/cli.py``)."""

from __future__ import annotations

from ratio.policies import parse_spec

__all__ = ["is_extended_policy"]


def is_extended_policy(spec: str) -> bool:
    """True if ``spec`` (``NAME[:key=value,...]``) names a policy of the extended engine's
    registry (``wait``, ``nested_wait``, ``greedy_evict``, ``gate_and_route``, ``orca``, ...),
    which :func:`ratio.simulate` cannot run; run it with
    :func:`ratio.queueing.simulate_extended`."""
    from ratio.queueing.policy import POLICIES, get_engine_policy

    get_engine_policy  # noqa: B018 - importing the registry registers the built-ins
    from ratio.queueing import policies as _builtin  # noqa: F401

    name, _ = parse_spec(spec)
    return name in POLICIES
