"""Search strategies registered by name (issue 6, deliverable 2).

A strategy is an ask/tell object: :meth:`Strategy.ask` returns the next batch of points,
:meth:`Strategy.tell` receives their fitness (``log`` of the certified ratio) in the same order.
Strategies draw every random number from one ``numpy`` generator seeded at construction, so a
run is a deterministic function of its seed and the fitness values it is told; the search loop
relies on this to resume a killed run by replaying its evaluation log.
"""

from __future__ import annotations

from typing import Any

from adversaries.space import SearchSpace
from adversaries.strategies.anneal import Anneal
from adversaries.strategies.base import Strategy
from adversaries.strategies.evolve import Evolve
from adversaries.strategies.hill import HillClimb
from adversaries.strategies.random import RandomSampling
from adversaries.strategies.scale import ScaleAnneal
from adversaries.strategies.structured import Structured
from ratio.errors import InputError

__all__ = ["REGISTRY", "Strategy", "get_strategy"]

REGISTRY: dict[str, type[Strategy]] = {
    "random": RandomSampling,
    "hill": HillClimb,
    "anneal": Anneal,
    "evolve": Evolve,
    "structured": Structured,
    "scale": ScaleAnneal,
}


def get_strategy(name: str, space: SearchSpace, seed: int, **params: Any) -> Strategy:
    """Instantiate a registered strategy; unknown names fail with the list of valid ones."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise InputError(f"unknown strategy {name!r} (valid: {', '.join(sorted(REGISTRY))})")
    return cls(space, seed, **params)
