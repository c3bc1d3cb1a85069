"""Structured seeds: annealing over genomes started from families and the hall of fame
(issues 6 and 15, deliverable 3).

Each restart draws a seed: a member of a family of :mod:`adversaries.families` whose regime
matches the space (at a random ``n`` and ``alpha = 1/k`` within the cap), a hall-of-fame trace
of the same policy and regime within the alpha cap, or a random genome. Seeds enter the space
through :func:`adversaries.space.fit_seed`, which keeps them unchanged (``M`` included) when
they satisfy the space and otherwise scales the whole trace down by one factor, never clipping
one length at a time. From a seed the chain anneals like
:class:`~adversaries.strategies.scale.ScaleAnneal`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from adversaries.space import Genome, SearchSpace, fit_seed, from_instance, sample_genome
from adversaries.strategies.scale import ScaleAnneal

__all__ = ["Structured", "hof_seeds"]


def hof_seeds(space: SearchSpace, root: Path | None = None) -> list[Any]:
    """Plain traces of the hall of fame for the space's policy and regime within its cap."""
    from adversaries.store import read_hof
    from ratio.io import from_dict

    root = root or Path(__file__).resolve().parent.parent / "hall_of_fame"
    if not root.is_dir() or not any(root.glob("*.jsonl")):
        return []
    out = []
    for e in read_hof(root):
        if e.get("policy") != space.policy or e.get("regime") != space.regime:
            continue
        if Fraction(e["alpha"]) > space.alpha_max:
            continue
        out.append(from_instance(from_dict(e["trace"])))
    return out


class Structured(ScaleAnneal):
    """Genome annealing whose restarts start from family members and hall-of-fame traces."""

    name = "structured"
    summary = "genome annealing from family and hall-of-fame seeds"

    def __init__(self, space: SearchSpace, seed: int, *, batch: int = 8, **kw: Any):
        super().__init__(space, seed, batch=batch, **kw)
        from adversaries.families import FAMILIES

        self.families = sorted(f for f, fam in FAMILIES.items() if fam.regime == space.regime)
        self.hof = hof_seeds(space)

    def family_seed(self) -> Genome | None:
        from adversaries.families import FAMILIES

        if not self.families:
            return None
        fam = FAMILIES[self.families[int(self.rng.integers(len(self.families)))]]
        a = self.space.alpha_max
        kmin = -(-a.denominator // a.numerator)
        k = kmin + int(self.rng.integers(2))
        lo = max(self.space.n_min, fam.min_n, k + 1)
        hi = max(lo, min(self.space.n_max, 256))
        n = int(self.rng.integers(lo, hi + 1))
        try:
            inst, _ = fam.build(n, Fraction(1, k))
        except Exception:  # a family may not exist at this (n, alpha)
            return None
        return fit_seed(self.space, from_instance(inst))

    def seed_point(self) -> Genome:
        u = self.rng.random()
        g: Genome | None = None
        if u < 0.45:
            g = self.family_seed()
        elif u < 0.75 and self.hof:
            g = fit_seed(self.space, self.hof[int(self.rng.integers(len(self.hof)))])
        return g if g is not None else sample_genome(self.space, self.rng, m_cap=self.m_cap)
