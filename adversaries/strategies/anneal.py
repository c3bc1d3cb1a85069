"""Simulated annealing on the log of the certified ratio."""

from __future__ import annotations

from collections.abc import Sequence

from adversaries.space import Point, SearchSpace, mutate, sample
from adversaries.strategies.base import Strategy, metropolis

__all__ = ["Anneal"]


class Anneal(Strategy):
    """Metropolis steps on ``f = log(ratio)`` with geometric cooling ``T = t0 * decay^k`` per
    evaluation; when ``T`` falls below ``t_min`` the chain reheats and restarts from the best
    point found (a time budget has no known end, so the schedule is cyclic).

    The batch's points are all mutations of the chain's state at ask time and are then tried
    in order (batched annealing, so that a batch can be evaluated in parallel).
    """

    name = "anneal"
    summary = "simulated annealing with reheats from the best point"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        *,
        batch: int = 8,
        t0: float = 0.05,
        decay: float = 0.998,
        t_min: float = 0.002,
    ):
        super().__init__(space, seed, batch=batch)
        self.t0, self.decay, self.t_min = t0, decay, t_min
        self.T = t0
        self.current: tuple[float, Point] | None = None

    def ask(self) -> list[Point]:
        if self.current is None:
            return [sample(self.space, self.rng) for _ in range(self.batch)]
        p = self.current[1]
        return [
            mutate(self.space, p, self.rng, steps=1 + int(self.rng.integers(3)))
            for _ in range(self.batch)
        ]

    def _tell(self, points: Sequence[Point], fitness: Sequence[float]) -> None:
        for p, f in zip(points, fitness, strict=True):
            u = float(self.rng.random())
            if metropolis(None if self.current is None else self.current[0], f, self.T, u):
                self.current = (f, p)
            self.T *= self.decay
            if self.t_min > self.T:
                self.T = self.t0
                assert self.best is not None
                self.current = self.best
