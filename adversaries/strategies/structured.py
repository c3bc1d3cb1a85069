"""Structured seeds: hill climbing started from the structured families (issue 6, deliverable 2).

Each restart builds a member of a family of :mod:`adversaries.families` whose regime matches
the space, at a random ``n`` in range and ``alpha = 1/k`` within the cap, projects it onto the
space with :func:`adversaries.space.repair` (which may clip its lengths), and climbs from there.
Where no family matches the regime, restarts draw random points.
"""

from __future__ import annotations

from fractions import Fraction

from adversaries.space import Point, SearchSpace, from_instance, repair, sample
from adversaries.strategies.hill import HillClimb

__all__ = ["Structured"]


class Structured(HillClimb):
    """Hill climbing whose restarts start from structured-family members."""

    name = "structured"
    summary = "hill climbing from structured-family seeds"

    def __init__(self, space: SearchSpace, seed: int, *, batch: int = 8, patience: int = 30):
        super().__init__(space, seed, batch=batch, patience=patience)
        from adversaries.families import FAMILIES

        self.families = sorted(f for f, fam in FAMILIES.items() if fam.regime == space.regime)

    def _seed(self) -> Point:
        from adversaries.families import FAMILIES

        if not self.families or self.rng.random() < 0.25:
            return sample(self.space, self.rng)
        fam = FAMILIES[self.families[int(self.rng.integers(len(self.families)))]]
        kmin = -(-self.space.alpha_max.denominator // self.space.alpha_max.numerator)
        k = kmin + int(self.rng.integers(2))
        n = int(self.rng.integers(max(self.space.n_min, fam.min_n, k + 1), self.space.n_max + 1))
        try:
            inst, _ = fam.build(n, Fraction(1, k))
        except Exception:  # a family may not exist at this (n, alpha)
            return sample(self.space, self.rng)
        M, rows = from_instance(inst)
        return repair(self.space, M, list(rows))

    def ask(self) -> list[Point]:
        if self.current is None:
            return [self._seed() for _ in range(self.batch)]
        return super().ask()
