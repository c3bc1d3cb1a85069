"""A (mu + lambda) evolutionary strategy with tournament selection and uniform crossover."""

from __future__ import annotations

from collections.abc import Sequence

from adversaries.space import Point, SearchSpace, crossover, mutate, sample
from adversaries.strategies.base import Strategy

__all__ = ["Evolve"]


class Evolve(Strategy):
    """Population of ``mu`` distinct points; each batch holds ``batch`` children, each made by
    crossover of two tournament winners (probability ``p_cross``) and then mutated; survivors
    are the best ``mu`` distinct points of parents and children."""

    name = "evolve"
    summary = "(mu + lambda) evolution with crossover"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        *,
        batch: int = 8,
        mu: int = 16,
        p_cross: float = 0.5,
        tournament: int = 3,
    ):
        super().__init__(space, seed, batch=batch)
        self.mu, self.p_cross, self.k = mu, p_cross, tournament
        self.pop: list[tuple[float, Point]] = []

    def _pick(self) -> Point:
        idx = self.rng.integers(len(self.pop), size=min(self.k, len(self.pop)))
        return max((self.pop[int(i)] for i in idx), key=lambda e: e[0])[1]

    def ask(self) -> list[Point]:
        if len(self.pop) < self.mu:
            return [sample(self.space, self.rng) for _ in range(self.batch)]
        out = []
        for _ in range(self.batch):
            a = self._pick()
            if self.rng.random() < self.p_cross:
                child = crossover(self.space, a, self._pick(), self.rng)
                child = mutate(self.space, child, self.rng, steps=int(self.rng.integers(2)))
            else:
                child = mutate(self.space, a, self.rng, steps=1 + int(self.rng.integers(2)))
            out.append(child)
        return out

    def _tell(self, points: Sequence[Point], fitness: Sequence[float]) -> None:
        seen = {p for _, p in self.pop}
        for p, f in zip(points, fitness, strict=True):
            if p not in seen:
                self.pop.append((f, p))
                seen.add(p)
        # Stable sort on fitness only: ties keep insertion order, so the run is deterministic.
        self.pop.sort(key=lambda e: -e[0])
        del self.pop[self.mu :]
