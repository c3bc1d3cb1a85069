"""Shared empirical-study loops: certified ratios ``L_policy / UB(OPT)`` over random and
structured instances (``docs/model.md`` section 10: only ``L/UB`` may be claimed as a lower
bound on a competitive ratio; ``L/LB`` bounds it from above)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from proofs.opt import opt_bounds
from proofs.registry import EmpiricalCheck, Worst
from ratio.check import check
from ratio.io import to_dict
from ratio.model import Instance
from ratio.simulator import simulate

__all__ = ["ratio_study"]


def ratio_study(
    name: str,
    claim: str,
    policy: str,
    instances: Iterable[Instance],
    constant: Fraction | None,
    *,
    exact_max_n: int = 5,
) -> EmpiricalCheck:
    """Certified ratio of ``policy`` on each instance against a constant claimed for it.

    ``holds``: False with a certified counter-example if some ``L/UB > constant``; True if every
    ``L/LB <= constant`` (the claim is proven on each instance); None otherwise. Without a
    constant the check only reports the worst ratio (``holds`` True means nothing failed).
    """
    count = 0
    undecided = 0
    counter: Worst | None = None
    worst: Worst | None = None
    max_upper = Fraction(0)
    for inst in instances:
        run = simulate(inst, policy)
        if not check(inst, run.schedule):
            raise AssertionError(f"simulated {policy} schedule is infeasible")
        ob = opt_bounds(inst, exact_max_n=exact_max_n)
        lo, hi = ob.ratio_interval(run.total_latency)
        max_upper = max(max_upper, hi)
        count += 1
        extra: dict[str, Any] = {
            "policy": run.policy,
            "policy_cost": run.total_latency,
            "opt_upper": ob.upper,
            "opt_lower": ob.lower,
            "opt_exact": ob.exact,
            "opt_starts": list(ob.schedule.starts),
        }
        w = Worst(f"L_{policy} / UB(OPT)", lo, constant, True, to_dict(inst), inst.alpha, extra)
        if constant is not None and lo > constant and counter is None:
            counter = w
        elif constant is not None and hi > constant:
            undecided += 1
        if worst is None or lo > worst.value:
            worst = w
    holds: bool | None = False if counter else (None if undecided else True)
    note = (
        f"{count} instances; worst certified L/UB = {float(worst.value) if worst else 0:.4f}; "
        f"max L/LB = {float(max_upper):.4f}"
    )
    if undecided:
        note += f"; {undecided} instances with L/LB above the constant (undecided)"
    return EmpiricalCheck(name, claim, count, holds, worst=worst, counterexample=counter, note=note)
