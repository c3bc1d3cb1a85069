"""The SVF paper's Poisson steps as separate results (issue 16): the lower bound on E[OPT] and
the queueing step ``E[W_q] <= W_0 / (D - Lambda)`` of Thm 3.4, checked on the simulated grid of
:mod:`proofs.theorems.thm34` (statistical, not certificates)."""

from __future__ import annotations

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem, Worst
from proofs.theorems.thm34 import grid_points

SETTING = "outputs conditioned on o <= floor(alpha M) - s (truncated geometric), prompt 4"


def _opt_lb(quick: bool, seed: int, factor: float) -> EmpiricalCheck:
    """Every policy's mean latency is at least E[OPT]; the bound must lie below SVF's mean
    (the 95 % upper end of mean latency / (factor * bound) must be >= 1)."""
    pts = grid_points(quick, seed)
    bad = [p for p in pts if p.ratio_ci[1] / factor < 1]
    worst_p = min(pts, key=lambda p: p.ratio_ci[1])
    w = Worst(
        "95 % upper end of (mean SVF latency / lower bound)",
        worst_p.ratio_ci[1] / factor,
        1.0,
        False,
        None,
        None,
        {"mu": worst_p.mu, "rho": worst_p.rho, "alpha_param": worst_p.alpha},
    )
    return EmpiricalCheck(
        "below-svf-mean" + ("" if factor == 1 else f" (false: x {factor})"),
        f"{factor} max(1/mu, (1-mu) W_0/M) <= mean SVF latency (95 % CI) on the grid",
        len(pts),
        not bad,
        worst=w,
        counterexample=w if bad else None,
        note=f"{len(bad)} of {len(pts)} points with the bound above the CI's upper end; smallest "
        f"upper end / bound = {worst_p.ratio_ci[1] / factor:.4g}",
    )


def _wait(quick: bool, seed: int, factor: float) -> EmpiricalCheck:
    pts = grid_points(quick, seed)
    bad = [p for p in pts if p.mean_wait > factor * p.wait_bound]
    worst_p = max(pts, key=lambda p: p.mean_wait / p.wait_bound)
    w = Worst(
        "mean wait / (W_0/(D - Lambda))",
        worst_p.mean_wait,
        factor * worst_p.wait_bound,
        False,
        None,
        None,
        {"mu": worst_p.mu, "rho": worst_p.rho, "alpha_param": worst_p.alpha},
    )
    return EmpiricalCheck(
        "mean-wait" + ("" if factor == 1 else f" (false: x {factor})"),
        f"mean SVF wait <= {factor} W_0/(D - Lambda) on the grid",
        len(pts),
        not bad,
        worst=w,
        counterexample=w if bad else None,
        note=f"largest mean wait / bound = {worst_p.mean_wait / worst_p.wait_bound:.4g} "
        f"(mu {worst_p.mu}, rho {worst_p.rho}, alpha {worst_p.alpha})",
    )


def _opt_sym() -> list[SymbolicCheck]:
    from proofs.theorems.thm34 import symbolic

    return [c for c in symbolic() if c.name in ("E[o]", "W_0>=R", "R>=(1-mu)W_0")]


THEOREMS = [
    Theorem(
        name="svf_opt_lower_bound",
        title="Thm 3.4's lower bound E[OPT] >= max(1/mu, (1-mu) W_0/M)",
        statement="E[OPT] >= max(1/mu, (1 - mu) W_0 / M)",
        source="Kong, Qi, Ye, Zhou, arXiv 2606.22327, proof of Thm 3.4",
        regime="poisson",
        constant="lower bound",
        symbolic=_opt_sym,
        empirical=lambda q, s: [_opt_lb(q, s, 1.0)],
        paper="kong2026-svf",
        setting=SETTING,
        control=lambda q, s: ([], [_opt_lb(q, s, 2.0)]),
        control_claim="E[OPT] >= 2 max(1/mu, (1-mu) W_0/M)",
    ),
    Theorem(
        name="svf_wait_bound",
        title="Thm 3.4's queueing step E[W_q] <= W_0/(D - Lambda)",
        statement="E[W_q] <= W_0 / (D - Lambda), D = (1 - alpha) M / 2",
        source="Kong, Qi, Ye, Zhou, arXiv 2606.22327, proof of Thm 3.4",
        regime="poisson",
        constant="W_0/(D - Lambda)",
        symbolic=lambda: [],
        empirical=lambda q, s: [_wait(q, s, 1.0)],
        paper="kong2026-svf",
        setting=SETTING,
        control=lambda q, s: ([], [_wait(q, s, 0.1)]),
        control_claim="E[W_q] <= W_0 / (10 (D - Lambda))",
    ),
]
