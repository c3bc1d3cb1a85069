"""Hill climbing with random restarts."""

from __future__ import annotations

from collections.abc import Sequence

from adversaries.space import Point, SearchSpace, mutate, sample
from adversaries.strategies.base import Strategy

__all__ = ["HillClimb"]


class HillClimb(Strategy):
    """Mutate the current point ``batch`` times; move to the best child if it is at least as
    good (plateau moves allowed); restart from a fresh random point after ``patience`` batches
    without a strict improvement."""

    name = "hill"
    summary = "best-of-batch hill climbing with restarts"

    def __init__(self, space: SearchSpace, seed: int, *, batch: int = 8, patience: int = 30):
        super().__init__(space, seed, batch=batch)
        self.patience = patience
        self.current: tuple[float, Point] | None = None
        self.stale = 0

    def ask(self) -> list[Point]:
        if self.current is None:
            return [sample(self.space, self.rng) for _ in range(self.batch)]
        p = self.current[1]
        return [
            mutate(self.space, p, self.rng, steps=1 + int(self.rng.integers(2)))
            for _ in range(self.batch)
        ]

    def _tell(self, points: Sequence[Point], fitness: Sequence[float]) -> None:
        if not points:
            return
        k = max(range(len(points)), key=lambda i: fitness[i])
        f, p = fitness[k], points[k]
        if self.current is None or f > self.current[0]:
            self.current = (f, p)
            self.stale = 0
            return
        if f == self.current[0]:
            self.current = (f, p)
        self.stale += 1
        if self.stale >= self.patience:
            self.current = None
            self.stale = 0
