"""Certificates: the optimum's result type and certified competitive ratios (``docs/model.md`` §10).

An :class:`OptResult` is a claim ``lower_bound <= OPT <= cost`` backed by a schedule that the
independent checker accepted (never by a solver's word alone). A :class:`CertifiedRatio` turns
it into the interval ``[L_ALG / UB, L_ALG / LB]``; only its lower end ``L_ALG / UB`` may be
claimed as a lower bound on a policy's competitive ratio (model §10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ratio.check import check
from ratio.model import Instance, Schedule

__all__ = ["OptStatus", "STATUSES", "OptResult", "CertifiedRatio", "verify", "fraction_str"]


class OptStatus(StrEnum):
    """What an :class:`OptResult` proves. A ``str`` enum: a member equals its value
    (``OptStatus.OPTIMAL == "optimal"``), prints as it and is written to JSON as it, so the
    ``status`` field of ``kvratio opt --json`` (``interfaces.md``) is the same string."""

    OPTIMAL = "optimal"  #: a schedule whose cost meets the proven lower bound
    FEASIBLE = "feasible"  #: a schedule, gap still open
    INFEASIBLE = "infeasible"  #: no schedule exists (never for a valid instance)
    TIMEOUT = "timeout"  #: stopped before any schedule was found


STATUSES = tuple(s.value for s in OptStatus)


def fraction_str(x: Fraction | None) -> str | None:
    """``"p/q"`` (``interfaces.md``); integers print as ``"p/1"``."""
    if x is None:
        return None
    return f"{x.numerator}/{x.denominator}"


@dataclass(frozen=True)
class OptResult:
    """Certificate of the offline optimum (model §10; issue 3 item 2).

    Attributes
    ----------
    schedule
        Best feasible schedule found (checker-verified), or ``None``.
    cost
        Its total latency ``UB >= OPT`` (exact int), or ``None``.
    lower_bound
        Best proven lower bound ``LB <= OPT``: the maximum of the cheap bounds, the LP
        relaxation (when computed) and the solver's dual bound.
    gap
        ``(cost - lower_bound) / cost`` as a Fraction (``0`` when optimal), ``None`` without a
        schedule.
    status
        :class:`OptStatus`: ``optimal`` (only when ``lower_bound == cost``), ``feasible`` (a
        schedule, gap open), ``infeasible`` (cannot happen for valid instances; kept for the
        interface) or ``timeout`` (stopped with no schedule). A plain string is converted.
    solver
        Backend that produced the certificate (``highs``, ``cbc``, ``bnb``, ``exact``, ...).
    seconds
        Wall-clock seconds of the whole solve.
    best_bound
        The best proven lower bound (equal to ``lower_bound``; kept for the interface).
    bounds
        Each bound that contributed, by name (``cheap``, ``lp``, ``solver``, ...).
    lower_method, upper_method
        Which method gave ``lower_bound`` and ``cost`` (``mean_busy_time``, ``policy:svf``,
        ``list_schedule+local_search``, ``bnb``, ...; see :class:`offline_opt.bracket.Bracket`);
        empty when not recorded.
    """

    schedule: Schedule | None
    cost: int | None
    lower_bound: int
    gap: Fraction | None
    status: OptStatus
    solver: str
    seconds: float
    best_bound: int
    bounds: tuple[tuple[str, int], ...] = field(default=())
    lower_method: str = ""
    upper_method: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "status", OptStatus(self.status))
        if self.status is OptStatus.OPTIMAL and self.cost != self.lower_bound:
            raise ValueError("status 'optimal' requires lower_bound == cost")

    def to_dict(self, instance: Instance | None = None) -> dict[str, Any]:
        """JSON fields of ``kvratio opt`` (``interfaces.md``) plus the certificate details."""
        d: dict[str, Any] = {
            "cost": self.cost,
            "status": self.status.value,
            "lower_bound": self.lower_bound,
            "best_bound": self.best_bound,
            "gap": fraction_str(self.gap),
            "starts": list(self.schedule.starts) if self.schedule is not None else None,
            "solver": self.solver,
            "seconds": round(self.seconds, 4),
            "bounds": dict(self.bounds),
        }
        if self.lower_method or self.upper_method:
            d["lower_method"] = self.lower_method
            d["upper_method"] = self.upper_method
        if instance is not None and self.schedule is not None:
            d["completions"] = list(self.schedule.completions(instance))
        return d


@dataclass(frozen=True)
class CertifiedRatio:
    """``L_ALG / OPT`` certified as the interval ``[ratio_lower, ratio_upper]`` (model §10).

    ``ratio_lower = policy_cost / opt_upper`` (claimable), ``ratio_upper = policy_cost /
    opt_lower``; ``exact`` when ``opt_upper == opt_lower``.
    """

    policy: str
    policy_cost: int
    opt_upper: int
    opt_lower: int
    ratio_lower: Fraction
    ratio_upper: Fraction
    exact: bool
    opt: OptResult | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON fields of ``kvratio ratio`` (``interfaces.md``)."""
        return {
            "policy": self.policy,
            "policy_cost": self.policy_cost,
            "opt_upper": self.opt_upper,
            "opt_lower": self.opt_lower,
            "ratio_lower": fraction_str(self.ratio_lower),
            "ratio_upper": fraction_str(self.ratio_upper),
            "exact": self.exact,
            "opt_status": self.opt.status.value if self.opt is not None else None,
            "opt_starts": (
                list(self.opt.schedule.starts)
                if self.opt is not None and self.opt.schedule is not None
                else None
            ),
            "lower_method": self.opt.lower_method if self.opt is not None else None,
            "upper_method": self.opt.upper_method if self.opt is not None else None,
        }


def verify(instance: Instance, schedule: Schedule) -> int:
    """Re-verify ``schedule`` with :func:`ratio.check.check`; return its total latency.

    Raises
    ------
    AssertionError
        If the checker rejects it (a solver bug: never report such a schedule).
    """
    res = check(instance, schedule)
    if not res:
        raise AssertionError(f"solver schedule rejected by ratio.check: {res.reason}")
    return schedule.total_latency(instance)
