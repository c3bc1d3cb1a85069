"""Random instances for the empirical checks (every function takes ``seed``).

Families (all arrivals at 0 unless named): ``uniform`` lengths, ``spread`` (a few long outputs
among many short ones, the shape that separates volume from output order), ``prompt_heavy``
(long prompts, short outputs). Each instance's peak is at most ``alpha_max * M`` so the
concurrency parameter of model §10 is controlled.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ratio.model import Instance

__all__ = ["FAMILIES", "random_burst", "burst_instances"]

FAMILIES = ("uniform", "spread", "prompt_heavy")


def random_burst(
    rng: np.random.Generator,
    n: int,
    capacity: int,
    alpha_max: float,
    family: str = "uniform",
) -> Instance:
    """One all-at-zero instance of ``n`` requests with every ``s + o <= alpha_max * M``."""
    cap = max(2, int(alpha_max * capacity))
    rows: list[tuple[int, int, int]] = []
    for _ in range(n):
        if family == "uniform":
            o = int(rng.integers(1, cap))
            s = int(rng.integers(1, cap - o + 1))
        elif family == "spread":
            long = rng.random() < 0.25
            o = (
                int(rng.integers(max(1, cap // 2), cap))
                if long
                else int(rng.integers(1, max(2, cap // 6) + 1))
            )
            o = min(o, cap - 1)
            s = int(rng.integers(1, max(1, min(cap - o, 3)) + 1))
        elif family == "prompt_heavy":
            o = int(rng.integers(1, max(2, cap // 4) + 1))
            o = min(o, cap - 1)
            s = int(rng.integers(max(1, (cap - o) // 2), cap - o + 1))
        else:
            raise ValueError(f"unknown family {family!r} (valid: {', '.join(FAMILIES)})")
        rows.append((0, s, o))
    return Instance.from_tuples(capacity, rows, meta={"family": family, "alpha_max": alpha_max})


def burst_instances(
    count: int,
    *,
    seed: int,
    n_range: tuple[int, int] = (2, 8),
    capacity_range: tuple[int, int] = (6, 48),
    alpha_range: tuple[float, float] = (0.1, 0.95),
) -> Iterator[Instance]:
    """``count`` all-at-zero instances cycling through :data:`FAMILIES`; reproducible from
    ``seed`` (the seed and index are written into ``meta``)."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(n_range[0], n_range[1] + 1))
        m = int(rng.integers(capacity_range[0], capacity_range[1] + 1))
        a = float(rng.uniform(*alpha_range))
        inst = random_burst(rng, n, m, a, FAMILIES[k % len(FAMILIES)])
        yield Instance(inst.capacity, inst.requests, {**inst.meta, "seed": seed, "index": k})
