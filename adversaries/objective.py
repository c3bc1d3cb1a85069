"""The certified objective ``L_policy / UB(OPT)`` (issue 6, deliverables 3-4; spec 10-12).

:func:`evaluate` simulates the policy, runs SVF's waiting-time certificate (spec section 12) on
every burst run of blocking SVF, and computes

* ``LB``: a proven lower bound on OPT (the volume bound of spec section 11 for all-at-zero
  instances, the bounds of :mod:`offline_opt.bounds` when installed);
* ``UB``: the cost of the best *checker-verified* feasible schedule found (every registered
  full-information policy's schedule, :func:`offline_opt.upper.best_upper_bound`, and the exact
  MILP of :func:`offline_opt.solve` when the trace is promising);
* the certified ratio ``L / UB``, a lower bound on the policy's competitive ratio (spec 10).

The MILP is run only for promising traces: ``L / LB`` must beat the threshold (the best certified
ratio so far; the volume bound filter of issue 6) and so must ``L / UB_heuristic`` within a
slack (the heuristic upper bound is within a few per cent of OPT on small instances, see
``shared/notes/exact-opt.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ratio.check import check
from ratio.model import Instance, Schedule
from ratio.policies import get_policy
from ratio.simulator import SimResult, simulate

__all__ = [
    "CertificateViolation",
    "Evaluation",
    "WaitingCertificate",
    "bound_at_alpha",
    "evaluate",
    "lower_bound",
    "theorem_applies",
    "upper_bound",
    "volume_lower_bound",
    "waiting_certificate",
]

#: Policies whose schedules serve as upper bounds on OPT (all full information, never evict).
UB_POLICIES = (
    "svf",
    "sjf",
    "spf",
    "fcfs",
    "svf:blocking=false",
    "sjf:blocking=false",
    "spf:blocking=false",
)


class CertificateViolation(RuntimeError):
    """SVF's waiting-time inequality failed on a simulated run (spec section 12): a bug in the
    simulator or in the theorem. Carries the instance and the certificate."""

    def __init__(self, message: str, instance: Instance, certificate: WaitingCertificate):
        super().__init__(message)
        self.instance = instance
        self.certificate = certificate


def theorem_applies(policy: str, regime: str) -> bool:
    """Does SVF's burst theorem (Kong, Qi, Ye, Zhou, Thm 3.2; spec 10) cover this search?

    Only for blocking ``svf`` with full information on all-at-zero instances.
    """
    pol = get_policy(policy)
    return pol.name == "svf" and pol.blocking and regime == "all_at_zero"


def bound_at_alpha(
    alpha: Fraction, policy: str = "svf", regime: str = "all_at_zero"
) -> Fraction | None:
    """The theorem's constant ``1 + 2/(1 - alpha)`` at ``alpha`` (spec section 10), or ``None``
    where no theorem applies (``alpha = 1``, another policy, or the online regime).

    >>> bound_at_alpha(Fraction(1, 2))
    Fraction(5, 1)
    >>> bound_at_alpha(Fraction(1)) is None
    True
    """
    if alpha >= 1 or not theorem_applies(policy, regime):
        return None
    return 1 + 2 / (1 - Fraction(alpha))


@dataclass(frozen=True)
class WaitingCertificate:
    """Both inequalities of spec section 12 on one SVF run (all integers).

    ``per_request``: the first ``j`` with ``(M - P + 1) * W_j > sum_{i before j} P_i o_i``, or
    ``None``; ``total_lhs <= total_rhs`` is ``(M - P) * sum_j W_j <= 2 * (sum_k prefix_k(V) -
    sum_i V_i)``.
    """

    holds: bool
    first_violation: int | None
    total_lhs: int
    total_rhs: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "first_violation": self.first_violation,
            "total_lhs": self.total_lhs,
            "total_rhs": self.total_rhs,
        }


def waiting_certificate(instance: Instance, sim: SimResult) -> WaitingCertificate:
    """Evaluate SVF's waiting-time certificate (spec section 12; SVF paper, Lemma A.2).

    For SVF with blocking admission on an all-at-zero instance, with ``P = max_i P_i`` and
    ``W_j = p_j``: ``(M - P + 1) * W_j <= sum_{i admitted before j} P_i * o_i``, and summed,
    ``(M - P) * sum_j W_j <= 2 * (sum_k prefix_k(V) - sum_i V_i)``.
    """
    reqs = instance.requests
    M = instance.capacity
    P = max(r.peak for r in reqs)
    starts = sim.starts
    first: int | None = None
    acc = 0
    for j in sim.admission_order:
        if first is None and (M - P + 1) * starts[j] > acc:
            first = j
        acc += reqs[j].peak * reqs[j].output
    vols = sorted(r.volume for r in reqs)
    prefix_sum = 0
    run = 0
    for v in vols:
        run += v
        prefix_sum += run
    lhs = (M - P) * sum(starts)
    rhs = 2 * (prefix_sum - sum(vols))
    return WaitingCertificate(first is None and lhs <= rhs, first, lhs, rhs)


# --- bounds on OPT -------------------------------------------------------------------------
def volume_lower_bound(instance: Instance) -> int:
    """``sum_k max(ceil(prefix_k(V) / M), o_(k))`` for all-at-zero instances (spec section 11);
    for other instances ``sum_i o_i`` (every latency is at least the output length)."""
    if not instance.all_at_zero:
        return sum(r.output for r in instance.requests)
    M = instance.capacity
    vols = sorted(instance.volumes)
    outs = sorted(r.output for r in instance.requests)
    total = 0
    pre = 0
    for v, o in zip(vols, outs, strict=True):
        pre += v
        total += max(-(-pre // M), o)
    return total


def lower_bound(instance: Instance) -> int:
    """Best fast proven lower bound on OPT: :func:`offline_opt.bounds.lower_bound` when the
    package is installed, never below :func:`volume_lower_bound`."""
    lb = volume_lower_bound(instance)
    try:
        from offline_opt.bounds import lower_bound as opt_lb
    except ImportError:
        return lb
    return max(lb, int(opt_lb(instance)))


def upper_bound(
    instance: Instance, *, policy_schedule: Schedule | None = None, heuristic: bool = True
) -> tuple[int, Schedule]:
    """The cheapest checker-verified feasible schedule among the registered policies' runs,
    ``policy_schedule`` and (``heuristic=True``, when installed)
    :func:`offline_opt.upper.best_upper_bound` (list scheduling and local search)."""
    best: tuple[int, Schedule] | None = None
    cands: list[Schedule] = []
    if policy_schedule is not None and not policy_schedule.evicted:
        cands.append(policy_schedule)
    for spec in UB_POLICIES:
        cands.append(simulate(instance, spec).schedule)
    if heuristic:
        try:
            from offline_opt.upper import best_upper_bound
        except ImportError:
            pass
        else:
            _, sched = best_upper_bound(instance, local_search=True, seed=0)
            cands.append(Schedule(tuple(sched.starts)))
    for sched in cands:
        cost = sched.total_latency(instance)
        if best is None or cost < best[0]:
            best = (cost, Schedule(sched.starts))
    assert best is not None
    verdict = check(instance, best[1])
    if not verdict:
        raise RuntimeError(f"internal: upper-bound schedule infeasible: {verdict.reason}")
    return best


def _solve_quietly(instance: Instance, time_limit: float) -> Any:
    """:func:`offline_opt.solve` with the solver's banner sent to stderr (file descriptor 1 is
    redirected, as HiGHS prints from C++), so that ``--json`` output stays one object."""
    import os
    import sys

    try:
        from offline_opt import solve
    except ImportError:
        return None
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        return solve(instance, solver="highs", time_limit=time_limit)
    finally:
        sys.stdout.flush()
        try:  # flush C stdio buffers while fd 1 still points at stderr
            import ctypes

            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass
        os.dup2(saved, 1)
        os.close(saved)


# --- the objective -------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """The certified evaluation of one trace (spec section 10).

    ``ratio = policy_cost / opt_upper`` is certified: ``opt_upper`` is the cost of
    ``opt_starts``, a schedule the checker verified. ``opt_status`` is ``"optimal"`` only when
    the MILP proved it.
    """

    policy: str
    policy_cost: int
    opt_upper: int
    opt_lower: int
    opt_status: str
    opt_starts: tuple[int, ...]
    milp: bool
    filtered: bool
    seconds: float
    certificate: dict[str, Any] | None = field(default=None)

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.policy_cost, self.opt_upper)

    @property
    def optimistic(self) -> Fraction:
        """``L / LB``: no trace with this OPT lower bound can certify more."""
        return Fraction(self.policy_cost, max(1, self.opt_lower))

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_cost": self.policy_cost,
            "opt_upper": self.opt_upper,
            "opt_lower": self.opt_lower,
            "opt_status": self.opt_status,
            "opt_starts": list(self.opt_starts),
            "ratio": f"{self.ratio.numerator}/{self.ratio.denominator}",
            "milp": self.milp,
            "filtered": self.filtered,
            "seconds": round(self.seconds, 6),
            "certificate": self.certificate,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        return cls(
            d["policy"],
            int(d["policy_cost"]),
            int(d["opt_upper"]),
            int(d["opt_lower"]),
            d["opt_status"],
            tuple(int(x) for x in d["opt_starts"]),
            bool(d["milp"]),
            bool(d["filtered"]),
            float(d["seconds"]),
            d.get("certificate"),
        )


def _prepare(instance: Instance, policy: str) -> Instance:
    # Predicted-information policies read predictions; give them the exact outputs (a perfect
    # predictor), the setting in which the search asks for their worst case.
    pol = get_policy(policy)
    if pol.info == "predicted" and instance.predictions is None:
        return Instance(
            instance.capacity,
            instance.requests,
            dict(instance.meta),
            tuple(r.output for r in instance.requests),
        )
    return instance


def evaluate(
    instance: Instance,
    policy: str,
    *,
    threshold: Fraction = Fraction(1),
    milp: bool = True,
    milp_max_n: int = 10,
    time_limit: float = 20.0,
    slack: Fraction = Fraction(97, 100),
) -> Evaluation:
    """Certified evaluation of ``policy`` on ``instance`` (issue 6, deliverable 3).

    Parameters
    ----------
    threshold
        Best certified ratio so far: the MILP runs only if ``L / LB > threshold`` (volume-bound
        filter) and ``L / UB_policies > slack * threshold``; such promising traces get list
        scheduling with local search and then the MILP.
    milp
        Allow the exact optimum (:func:`offline_opt.solve`) when installed; only up to
        ``milp_max_n`` requests, with ``time_limit`` seconds.

    Raises
    ------
    CertificateViolation
        SVF's waiting-time certificate (spec section 12) failed on a burst run of blocking SVF.
    """
    t0 = time.perf_counter()
    instance = _prepare(instance, policy)
    sim = simulate(instance, policy)
    verdict = check(instance, sim.schedule)
    if not verdict:
        raise RuntimeError(f"internal: simulated {policy} schedule infeasible: {verdict.reason}")
    L = sim.total_latency
    cert: dict[str, Any] | None = None
    if instance.all_at_zero and theorem_applies(policy, "all_at_zero"):
        wc = waiting_certificate(instance, sim)
        cert = wc.to_dict()
        if not wc.holds:
            raise CertificateViolation(
                f"SVF waiting-time certificate violated (spec 12): {wc}", instance, wc
            )
    lb = lower_bound(instance)
    ub, sched = upper_bound(instance, policy_schedule=sim.schedule, heuristic=False)
    used_milp = False
    filtered = Fraction(L, max(1, lb)) <= threshold
    if not filtered and ub > lb and Fraction(L, ub) > slack * threshold:
        # Promising: tighten UB with list scheduling and local search, then with the MILP if
        # the trace still beats the best so far (each step only lowers UB, raising L / UB).
        ub, sched = upper_bound(instance, policy_schedule=sched, heuristic=True)
        if milp and ub > lb and Fraction(L, ub) > threshold and instance.n <= milp_max_n:
            res = _solve_quietly(instance, time_limit)
            # Only a proven optimum is used: a time-limited incumbent depends on the machine's
            # speed, and the search must be a function of its seed alone.
            if res is not None and res.status == "optimal":
                used_milp = True
                if res.schedule is not None and res.cost is not None and res.cost < ub:
                    cand = Schedule(tuple(res.schedule.starts))
                    if check(instance, cand):
                        ub, sched = cand.total_latency(instance), cand
                if res.lower_bound is not None:
                    lb = max(lb, int(res.lower_bound))
    status = "optimal" if ub <= lb else "feasible"
    return Evaluation(
        sim.policy,
        L,
        ub,
        min(lb, ub),
        status,
        sched.starts,
        used_milp,
        filtered,
        time.perf_counter() - t0,
        cert,
    )
