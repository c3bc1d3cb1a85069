"""The ask/tell protocol shared by every search strategy (issue 6, deliverable 2)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from adversaries.space import Point, SearchSpace

__all__ = ["Strategy", "metropolis"]


class Strategy:
    """Base class. ``ask()`` returns a batch of ``batch`` points of the space; ``tell(points,
    fitness)`` gets ``log(ratio)`` for each, in order (possibly fewer than asked at the end of a
    budget). All randomness comes from ``self.rng``, seeded once."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __init__(self, space: SearchSpace, seed: int, *, batch: int = 8) -> None:
        self.space = space
        self.seed = seed
        self.batch = batch
        self.rng = np.random.default_rng(seed)
        self.best: tuple[float, Point] | None = None

    def ask(self) -> list[Point]:
        raise NotImplementedError

    def tell(self, points: Sequence[Point], fitness: Sequence[float]) -> None:
        for p, f in zip(points, fitness, strict=True):
            if self.best is None or f > self.best[0]:
                self.best = (f, p)
        self._tell(points, fitness)

    def _tell(self, points: Sequence[Point], fitness: Sequence[float]) -> None:
        """Strategy-specific update (after the best-so-far bookkeeping)."""


def metropolis(current: float | None, f: float, temperature: float, u: float) -> bool:
    """Simulated annealing's acceptance rule: take a candidate of fitness ``f`` when there is
    no current point, when it is no worse, or with probability ``exp((f - current) / T)``
    (``u`` uniform in [0, 1), drawn by the caller so its random stream stays fixed)."""
    return current is None or f >= current or u < math.exp((f - current) / temperature)
