"""Pure random sampling: the baseline every other strategy must beat at equal budget."""

from __future__ import annotations

from adversaries.space import Point, sample
from adversaries.strategies.base import Strategy

__all__ = ["RandomSampling"]


class RandomSampling(Strategy):
    """Draw independent points with :func:`adversaries.space.sample`."""

    name = "random"
    summary = "independent random points of the space"

    def ask(self) -> list[Point]:
        return [sample(self.space, self.rng) for _ in range(self.batch)]
