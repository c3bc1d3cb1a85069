"""Poisson arrivals with geometric outputs: the quantities of Thm 3.4 / 3.5 and long simulated runs.

Law (Kong, Qi, Ye, Zhou, arXiv 2606.22327, section 4): arrivals Poisson of rate ``lambda`` per
round, prompt ``s`` (fixed here), output ``P(o = n + 1) = mu (1 - mu)^n``. With
``D = (1 - alpha) M / 2``, ``Lambda = lambda E[v]`` and ``rho = Lambda / D``::

    E[v] = E[s]/mu + 1/mu^2,   W_0 = lambda (E[s]/mu^2 + 2/mu^3),
    E[OPT] >= max(1/mu, (1 - mu) W_0 / M),
    E[L_SVF] / E[OPT] <= 1 + 2 / ((1 - alpha)(1 - mu)(1 - rho)).

The theorem needs every peak ``s + o <= alpha M``, which geometric outputs break; the simulation
*conditions* the law on ``o <= o_max = floor(alpha M) - s`` (rejection sampling) and reports the
removed mass ``(1 - mu)^o_max``. The ratio estimate is the mean SVF latency divided by the paper's
lower bound on ``E[OPT]`` (so an upper estimate of the true ratio), with a 95 % batch-means
confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ratio.model import Instance, Request

__all__ = [
    "PoissonPoint",
    "quantities",
    "sample_instance",
    "simulate_point",
    "one_bit_proxies",
    "T_975",
]

#: Student t quantiles (0.975) by degrees of freedom, for the batch-means intervals.
T_975 = {4: 2.776, 9: 2.262, 19: 2.093, 29: 2.045}


def quantities(mu: float, rho: float, alpha: float, capacity: int, prompt: int) -> dict[str, float]:
    """The paper's quantities at one grid point (floats; the symbolic check proves the forms)."""
    ev = prompt / mu + 1 / mu**2
    d = (1 - alpha) * capacity / 2
    lam_total = rho * d
    lam = lam_total / ev
    w0 = lam * (prompt / mu**2 + 2 / mu**3)
    lb = max(1 / mu, (1 - mu) * w0 / capacity)
    bound = 1 + 2 / ((1 - alpha) * (1 - mu) * (1 - rho))
    return {
        "E_v": ev,
        "D": d,
        "Lambda": lam_total,
        "lambda": lam,
        "W0": w0,
        "EW_q_bound": w0 / (d - lam_total),
        "opt_lower": lb,
        "bound": bound,
    }


def one_bit_proxies(mu: float, theta: int) -> tuple[float, float, float]:
    """``(E[o | o <= theta], E[o | o > theta], eps)`` of the 1-bit SVF analysis (Thm 3.5)."""
    q = 1 - mu
    qt = q**theta
    t = theta * qt / (1 - qt)
    return 1 / mu - t, theta + 1 / mu, 0.5 * t * t


def sample_instance(
    n: int, *, mu: float, lam: float, capacity: int, prompt: int, o_max: int, seed: int
) -> Instance:
    """``n`` requests, Poisson(``lam``) arrivals (round = floor of the arrival time), outputs
    geometric(``mu``) conditioned on ``o <= o_max`` by rejection."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1 / lam, size=n))
    outs = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        draw = rng.geometric(mu, size=2 * (n - filled) + 16)
        draw = draw[draw <= o_max][: n - filled]
        outs[filled : filled + len(draw)] = draw
        filled += len(draw)
    reqs = tuple(
        Request(int(a), prompt, int(o)) for a, o in zip(np.floor(times), outs, strict=True)
    )
    return Instance(
        capacity,
        reqs,
        {"generator": "proofs.poisson", "mu": mu, "lambda": lam, "o_max": o_max, "seed": seed},
    )


@dataclass(frozen=True)
class PoissonPoint:
    """One simulated grid point: mean latency and the ratio estimate with its 95 % interval."""

    mu: float
    rho: float
    alpha: float
    capacity: int
    prompt: int
    policy: str
    n: int
    o_max: int
    truncated_mass: float
    mean_latency: float
    ci_half: float
    opt_lower: float
    ratio: float
    ratio_ci: tuple[float, float]
    bound: float
    evictions: int
    seed: int
    mean_wait: float = 0.0
    wait_bound: float = 0.0

    @property
    def below_bound(self) -> bool:
        """The upper end of the interval is below the theorem's constant."""
        return self.ratio_ci[1] <= self.bound

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio_ci"] = list(self.ratio_ci)
        return d


def simulate_point(
    mu: float,
    rho: float,
    alpha: float,
    *,
    capacity: int,
    prompt: int = 4,
    n: int = 4000,
    policy: str = "svf",
    bound: float | None = None,
    batches: int = 10,
    seed: int = 0,
) -> PoissonPoint:
    """Simulate ``policy`` at one ``(mu, rho, alpha)`` point (see module docstring).

    The first 10 % of requests (warm-up) are dropped; the rest are cut into ``batches`` batches
    in arrival order whose means give the confidence interval.
    """
    from ratio.simulator import simulate

    q = quantities(mu, rho, alpha, capacity, prompt)
    o_max = math.floor(alpha * capacity) - prompt
    if o_max < 1:
        raise ValueError(f"alpha * M = {alpha * capacity} leaves no room for outputs")
    inst = sample_instance(
        n, mu=mu, lam=q["lambda"], capacity=capacity, prompt=prompt, o_max=o_max, seed=seed
    )
    run = simulate(inst, policy)
    lat = np.array(run.completions, dtype=np.float64) - inst.arrivals
    steady = lat[n // 10 :]
    means = np.array([b.mean() for b in np.array_split(steady, batches)])
    mean = float(steady.mean())
    half = T_975.get(batches - 1, 1.96) * float(means.std(ddof=1)) / math.sqrt(batches)
    lb = q["opt_lower"]
    return PoissonPoint(
        mu,
        rho,
        alpha,
        capacity,
        prompt,
        run.policy,
        n,
        o_max,
        (1 - mu) ** o_max,
        mean,
        half,
        lb,
        mean / lb,
        ((mean - half) / lb, (mean + half) / lb),
        q["bound"] if bound is None else bound,
        run.evictions,
        seed,
        float((steady - inst.outputs[n // 10 :]).mean()),
        q["EW_q_bound"],
    )
