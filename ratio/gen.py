"""Synthetic traces: all-at-zero or Poisson arrivals; uniform, geometric or lognormal lengths.

Every generator takes a ``seed`` and writes it, with its parameters, into ``meta`` so that a
trace can be regenerated from its own file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ratio.errors import InputError
from ratio.model import Instance, Request

__all__ = ["generate", "LENGTH_DISTS"]

LENGTH_DISTS = ("uniform", "geometric", "lognormal")


def _lengths(
    rng: np.random.Generator, n: int, dist: str, lo: int, hi: int, mean: float
) -> np.ndarray:
    if dist == "uniform":
        x = rng.integers(lo, hi + 1, size=n)
    elif dist == "geometric":
        # P(o = k) = mu (1 - mu)^(k-1), k >= 1, mean 1/mu; truncated to [lo, hi] by resampling
        # would bias the law, so values outside are clipped and the clip is stated in meta.
        x = rng.geometric(1.0 / max(mean, 1.0), size=n)
    elif dist == "lognormal":
        sigma = 1.0
        mu = np.log(max(mean, 1.0)) - sigma**2 / 2
        x = np.rint(rng.lognormal(mu, sigma, size=n))
    else:
        raise InputError(f"unknown length distribution {dist!r} (valid: {', '.join(LENGTH_DISTS)})")
    return np.clip(x, lo, hi).astype(np.int64)


def generate(
    n: int,
    *,
    capacity: int = 40,
    arrivals: str = "zero",
    rate: float = 1.0,
    prompt_dist: str = "uniform",
    prompt_range: tuple[int, int] = (1, 12),
    prompt_mean: float = 6.0,
    output_dist: str = "uniform",
    output_range: tuple[int, int] = (1, 16),
    output_mean: float = 8.0,
    seed: int = 0,
) -> Instance:
    """Generate a random instance.

    Parameters
    ----------
    n
        Number of requests.
    capacity
        ``M``. Lengths are clipped so that every ``s + o <= M``.
    arrivals
        ``"zero"`` (all at round 0) or ``"poisson"`` (rate ``rate`` per round; arrival rounds
        are the floors of the Poisson process times).
    prompt_dist, output_dist
        ``uniform`` on the range, ``geometric`` or ``lognormal`` with the given mean, clipped to
        the range.
    seed
        Seed of ``numpy.random.default_rng``.

    Examples
    --------
    >>> generate(5, seed=1).n
    5
    """
    if n < 0:
        raise InputError(f"n must be >= 0, got {n}")
    if capacity < 2:
        raise InputError(f"capacity must be >= 2, got {capacity}")
    for nm, (lo, hi) in (("prompt", prompt_range), ("output", output_range)):
        if lo < 1 or hi < lo:
            raise InputError(f"{nm} range must satisfy 1 <= lo <= hi, got {lo}..{hi}")
    rng = np.random.default_rng(seed)
    s = _lengths(rng, n, prompt_dist, *prompt_range, prompt_mean)
    o = _lengths(rng, n, output_dist, *output_range, output_mean)
    s = np.minimum(s, capacity - 1)
    o = np.minimum(o, capacity - s)
    if arrivals == "zero":
        a = np.zeros(n, dtype=np.int64)
    elif arrivals == "poisson":
        if rate <= 0:
            raise InputError(f"rate must be > 0, got {rate}")
        a = np.floor(np.cumsum(rng.exponential(1.0 / rate, size=n))).astype(np.int64)
    else:
        raise InputError(f"arrivals must be 'zero' or 'poisson', got {arrivals!r}")
    meta: dict[str, Any] = {
        "generator": "kvratio gen",
        "seed": seed,
        "arrivals": arrivals,
        "rate": rate if arrivals == "poisson" else None,
        "prompt": {"dist": prompt_dist, "range": list(prompt_range), "mean": prompt_mean},
        "output": {"dist": output_dist, "range": list(output_range), "mean": output_mean},
    }
    reqs = tuple(Request(int(a[i]), int(s[i]), int(o[i]), f"r{i}") for i in range(n))
    return Instance(capacity, reqs, meta)
