"""Bounds on OPT used by the empirical checks (``docs/model.md`` sections 10-11).

One implementation of each bound: :mod:`offline_opt.bounds` once it exists; until then (or for a
cross-check) the section-11 volume bound written here from the spec. The upper bound is the
cheapest schedule we can certify: the exact optimum of :mod:`offline_opt.exact_small` where it is
available and the instance small, else the best schedule of several simulated policies. Every
schedule is re-verified by :func:`ratio.check.check` before its cost is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ratio.check import check
from ratio.model import Instance, Schedule

__all__ = [
    "prefix_sums",
    "prop31_sum",
    "section11_bound",
    "volume_lower_bound",
    "lower_bound",
    "OptBounds",
    "opt_bounds",
    "dependency",
    "UB_POLICIES",
]

#: Policies whose simulated schedules give upper bounds on OPT (all full-information, never
#: overflowing); the cheapest checked one is used.
UB_POLICIES: tuple[str, ...] = ("svf", "sjf", "spf", "fcfs", "svf:blocking=false", "sorted_f")


def dependency(module: str, needs: tuple[str, ...] = ()) -> Any | None:
    """Import ``module`` if it is installed and has every attribute in ``needs``, else None
    (dependencies land while we work; a half-written one counts as missing)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return mod if all(hasattr(mod, n) for n in needs) else None


def prefix_sums(values: Sequence[int]) -> list[int]:
    """Prefix sums of ``values`` sorted ascending: ``V_(1), V_(1)+V_(2), ...`` (model §11)."""
    out: list[int] = []
    acc = 0
    for v in sorted(values):
        acc += v
        out.append(acc)
    return out


def prop31_sum(instance: Instance) -> int:
    """``sum_k (V_(1) + ... + V_(k))`` with volumes ascending (SVF paper, Prop 3.1)."""
    return sum(prefix_sums(instance.volumes))


def section11_bound(instance: Instance) -> int:
    """``sum_k max(ceil(prefix_k(V) / M), o_(k))`` for all-at-zero instances (model §11).

    Written from the spec alone, as a cross-check of :mod:`offline_opt.bounds`.
    """
    if not instance.all_at_zero:
        raise ValueError("the section-11 volume bound needs every arrival at 0")
    m = instance.capacity
    pv = prefix_sums(instance.volumes)
    outs = sorted(r.output for r in instance.requests)
    return sum(max(-(-p // m), o) for p, o in zip(pv, outs, strict=True))


def volume_lower_bound(instance: Instance) -> int:
    """The section-11 bound, from :mod:`offline_opt.bounds` when it is installed."""
    b = dependency("offline_opt.bounds")
    if b is not None and hasattr(b, "volume_lower_bound"):
        return int(b.volume_lower_bound(instance))
    return section11_bound(instance)


def lower_bound(instance: Instance) -> int:
    """Best proven lower bound on OPT available: ``offline_opt.bounds.lower_bound`` if installed,
    else the section-11 bound (all at zero) or ``sum_i o_i`` (any arrivals)."""
    b = dependency("offline_opt.bounds")
    if b is not None and hasattr(b, "lower_bound"):
        return int(b.lower_bound(instance))
    if instance.all_at_zero:
        return section11_bound(instance)
    return sum(r.output for r in instance.requests)


@dataclass(frozen=True)
class OptBounds:
    """``LB <= OPT <= UB`` for one instance; ``schedule`` (checked feasible) attains ``UB``."""

    lower: int
    upper: int
    schedule: Schedule
    exact: bool
    source: str

    def ratio_interval(self, cost: int) -> tuple[Fraction, Fraction]:
        """``[cost / UB, cost / LB]`` (model §10): the certified interval of ``cost / OPT``."""
        return Fraction(cost, self.upper), Fraction(cost, max(self.lower, 1))


def opt_bounds(instance: Instance, *, exact_max_n: int = 6) -> OptBounds:
    """Certified bounds on OPT (model §10).

    The cheapest checked schedule among :data:`UB_POLICIES` and :func:`lower_bound` first; if
    they differ, ``n <= exact_max_n`` and :mod:`offline_opt.exact_small` is installed, the exact
    optimum (its schedule re-checked here, its cost recomputed from the schedule).
    """
    from ratio.simulator import simulate

    lb = lower_bound(instance)
    best: tuple[int, Schedule, str] | None = None
    for pol in UB_POLICIES:
        res = simulate(instance, pol)
        if not check(instance, res.schedule):
            raise AssertionError(f"simulated {pol} schedule is infeasible")
        c = res.total_latency
        if best is None or c < best[0]:
            best = (c, res.schedule, pol)
    assert best is not None
    if lb == best[0]:
        return OptBounds(lb, lb, best[1], True, f"policy {best[2]} meets the lower bound")
    ex = dependency("offline_opt.exact_small") if instance.n <= exact_max_n else None
    if ex is not None and hasattr(ex, "solve_exact"):
        cost, sched = ex.solve_exact(instance)
        verdict = check(instance, sched)
        if not verdict:
            raise AssertionError(f"offline_opt.exact_small: infeasible schedule: {verdict.reason}")
        if sched.total_latency(instance) != cost:
            raise AssertionError("offline_opt.exact_small: cost does not match its schedule")
        return OptBounds(int(cost), int(cost), sched, True, "offline_opt.exact_small")
    return OptBounds(lb, best[0], best[1], False, f"best of policies ({best[2]})")
