"""Structured annealing over genomes ``(M, block, reps)`` (issue 15, deliverable 3).

The genome (:data:`adversaries.space.Genome`) is a short block of request rows with copy
counts, repeated ``reps`` times, and the capacity ``M``: its scale genes let ``n``, the lengths
and ``M`` grow by factors, and its operators (:data:`adversaries.space.GENOME_OPS`) create and
keep exact volume ties between rows of different shapes and act on groups of rows. Fitness is
the screen ``log(L / LB)`` (the search loop passes it); only the traces whose screen beats the
best certified ratio are certified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adversaries.space import Genome, SearchSpace, mutate_genome, sample_genome
from adversaries.strategies.base import Strategy, metropolis

__all__ = ["ScaleAnneal"]


class ScaleAnneal(Strategy):
    """Metropolis steps on the genome with geometric cooling ``T = t0 * decay^k`` per
    evaluation; below ``t_min`` the chain reheats from the best genome found, and every
    ``restart`` reheats it restarts from a fresh seed (:meth:`seed_point`) instead. Batches
    are mutations of the chain's state at ask time, tried in order."""

    name = "scale"
    summary = "annealing over structured genomes (block x reps, scale genes, volume ties)"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        *,
        batch: int = 8,
        t0: float = 0.08,
        decay: float = 0.997,
        t_min: float = 0.003,
        restart: int = 4,
        m_cap: int = 4096,
    ):
        super().__init__(space, seed, batch=batch)
        self.t0, self.decay, self.t_min, self.restart = t0, decay, t_min, restart
        self.m_cap = m_cap
        self.T = t0
        self.cycles = 0
        self.current: tuple[float, Any] | None = None

    def seed_point(self) -> Genome:
        """A fresh starting genome (random, small scale)."""
        return sample_genome(self.space, self.rng, m_cap=self.m_cap)

    def ask(self) -> list[Any]:
        if self.current is None:
            return [self.seed_point() for _ in range(self.batch)]
        g = self.current[1]
        return [
            mutate_genome(self.space, g, self.rng, steps=1 + int(self.rng.integers(3)))
            for _ in range(self.batch)
        ]

    def _tell(self, points: Sequence[Any], fitness: Sequence[float]) -> None:
        for p, f in zip(points, fitness, strict=True):
            u = float(self.rng.random())
            if metropolis(None if self.current is None else self.current[0], f, self.T, u):
                self.current = (f, p)
            self.T *= self.decay
            if self.t_min > self.T:
                self.T = self.t0
                self.cycles += 1
                if self.restart and self.cycles % self.restart == 0:
                    self.current = None
                else:
                    assert self.best is not None
                    self.current = self.best
