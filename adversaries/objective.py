"""The screened, certified objective ``L_policy / UB(OPT)`` (issues 6 and 15; model §10-12).

One evaluation is one straight pass over the trace:

1. simulate the policy under test once (``ratio.simulate``);
2. blocking ``svf`` on an all-at-zero trace: SVF's waiting-time certificate (model §12)
   on that same run;
3. ``LB = offline_opt.bounds.lower_bound`` (volume, mean-busy-time and serial bounds, model §11);
4. **screen**: ``L / LB`` is an upper limit on the trace's ratio (``OPT >= LB``). If it is not
   above ``threshold`` (the best certified ratio so far) the trace cannot beat the best, and the
   evaluation stops here: no upper bound is computed and nothing is certified;
5. **certify** (only the promising traces): every registered upper-bound policy
   (:func:`ub_policies`) is simulated once (the policy's own run is reused when it is one of
   them); for small traces list scheduling with a seeded local search
   (``offline_opt.upper.best_upper_bound``) is added. If even the cheapest of these schedules
   gives ``L / UB <= threshold``, the trace cannot beat the best either and stops here
   (a second screen, again an upper limit). Otherwise the checker verifies the policy's
   schedule, and ``UB`` is the cheapest candidate that ``ratio.check`` accepts.

The certified ratio is ``Fraction(L, UB)``. Everything here is a deterministic function of the
trace and the threshold: no time limit decides a result (the optional exact MILP is used only
when it proves optimality, and a search that asked for it stops with an error otherwise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from offline_opt.bounds import lower_bound, volume_lower_bound
from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance, Schedule
from ratio.policies import get_policy
from ratio.simulator import SimResult, simulate
from ratio.theory import bound_at_alpha, sharper_bound, theorem_applies

__all__ = [
    "UB_POLICIES",
    "UB_SKIP_WORK",
    "ub_policies",
    "CertificateViolation",
    "Evaluation",
    "MilpUndecided",
    "WaitingCertificate",
    "bound_at_alpha",
    "sharper_bound",
    "certify",
    "evaluate",
    "lower_bound",
    "screen",
    "theorem_applies",
    "ub_candidates",
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

#: The skip (non-blocking) variants try every waiting request every round, so their cost grows
#: as ``n`` times the number of rounds (about 20 s at ``n = 1000`` over 4,000 rounds, against
#: 0.06 s for a blocking policy). They join the upper bound only when ``n`` times the shortest
#: blocking makespan is at most this (a deterministic rule: a search stays a function of its
#: seed).
UB_SKIP_WORK = 200_000


def ub_policies(n: int, horizon: int = 0) -> tuple[str, ...]:
    """The upper-bound policies used on a trace of ``n`` requests whose blocking policies
    finish by round ``horizon``."""
    skip = n * max(1, horizon) <= UB_SKIP_WORK
    return tuple(p for p in UB_POLICIES if skip or "blocking=false" not in p)


class CertificateViolation(RuntimeError):
    """SVF's waiting-time inequality failed on a simulated run (model §12): a bug in the
    simulator or in the theorem. Carries the instance and the certificate."""

    def __init__(self, message: str, instance: Instance, certificate: WaitingCertificate):
        super().__init__(message)
        self.instance = instance
        self.certificate = certificate


@dataclass(frozen=True)
class WaitingCertificate:
    """Both inequalities of model §12 on one SVF run (all integers).

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
    """Evaluate SVF's waiting-time certificate (model §12; SVF paper, Lemma A.2).

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


# --- upper bound on OPT ----------------------------------------------------------------------
def upper_bound(
    instance: Instance,
    *,
    runs: dict[str, SimResult] | None = None,
    policy_schedule: Schedule | None = None,
    heuristic: bool = False,
) -> tuple[int, Schedule, str]:
    """The cheapest checker-verified schedule among the registered policies' runs.

    ``runs`` holds simulations already made (policy spec -> run); each policy of
    :func:`ub_policies` that is missing is simulated once and added to it, so a caller that
    passes its own run never simulates it twice. ``policy_schedule`` (the policy under test,
    when it never evicts) is a candidate too. With ``heuristic=True``, also
    :func:`offline_opt.upper.best_upper_bound` (list scheduling and a seeded local search;
    deterministic, ``O(horizon)`` memory per placement, so for small traces only).

    Candidates (:func:`ub_candidates`) are tried from the cheapest up; the first that
    ``ratio.check`` accepts is returned as ``(cost, schedule, source)``.
    """
    cands = ub_candidates(instance, runs=runs, policy_schedule=policy_schedule, heuristic=heuristic)
    return _first_checked(instance, cands)


def _first_checked(
    instance: Instance, cands: list[tuple[int, Schedule, str]]
) -> tuple[int, Schedule, str]:
    for cost, sched, src in cands:
        if check(instance, sched):
            return cost, Schedule(sched.starts), src
    raise RuntimeError("internal: no upper-bound schedule passed the checker")


def _run(instance: Instance, spec: str) -> SimResult:
    """``simulate(instance, spec)``, compiled where :func:`ratio.fastsim.simulate_fast` supports
    it (the same run) and the trace is large enough to win back its loading."""
    if instance.n >= FAST_MIN_N:
        from ratio import fastsim

        sim = fastsim.simulate_fast(instance, spec)
        if sim is not None:
            return sim
    return simulate(instance, spec)


def ub_candidates(
    instance: Instance,
    *,
    runs: dict[str, SimResult] | None = None,
    policy_schedule: Schedule | None = None,
    heuristic: bool = False,
) -> list[tuple[int, Schedule, str]]:
    """Upper-bound schedules ``(cost, schedule, source)``, cheapest first (ties in the order of
    :data:`UB_POLICIES`), not yet checked; see :func:`upper_bound`."""
    runs = {} if runs is None else runs
    cands: list[tuple[int, int, Schedule, str]] = []
    if policy_schedule is not None and not policy_schedule.evicted:
        cands.append((policy_schedule.total_latency(instance), 0, policy_schedule, "policy"))
    horizon = 0
    for spec in UB_POLICIES:
        if "blocking=false" in spec and spec not in ub_policies(instance.n, horizon):
            continue
        sim = runs.get(spec)
        if sim is None:
            sim = runs[spec] = _run(instance, spec)
        if not sim.schedule.evicted:
            cands.append((sim.total_latency, len(cands), Schedule(sim.starts), spec))
            makespan = max(sim.completions)
            horizon = makespan if horizon == 0 else min(horizon, makespan)
    if heuristic:
        from offline_opt.upper import best_upper_bound

        # list scheduling in its fixed orders, no local search: the local search's Python
        # list scheduler made each evaluation about 0.25 s at n = 8, which put a 1500-evaluation
        # search over 6 minutes; the orders alone keep the search a function of its seed
        ub, sched = best_upper_bound(instance, local_search=False, seed=0)
        cands.append((int(ub), len(cands), Schedule(tuple(sched.starts)), "list+local"))
    return [(c, sch, src) for c, _, sch, src in sorted(cands, key=lambda c: (c[0], c[1]))]


class MilpUndecided(InputError):
    """The optional exact MILP did not prove optimality within its safety time limit: using
    its incumbent would make the search depend on the machine's speed, so the search stops."""


def _solve_quietly(instance: Instance, time_limit: float) -> Any:
    """:func:`offline_opt.solve` with the solver's banner kept off stdout
    (:func:`ratio.quiet.quiet_stdout`), so that ``--json`` output stays one object."""
    from offline_opt import solve
    from ratio.quiet import quiet_stdout

    with quiet_stdout():
        return solve(instance, solver="highs", time_limit=time_limit)


# --- the objective -------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one trace (model §10).

    ``screen = L / LB`` is always there. ``certified`` says whether the trace passed the
    screen and got an upper bound: then ``ratio = policy_cost / opt_upper`` is certified
    (``opt_starts`` is a schedule the checker verified, of cost ``opt_upper``, produced by
    ``ub_source``); otherwise ``opt_upper``, ``opt_starts`` and ``ratio`` are ``None``.
    ``opt_status`` is ``"optimal"`` when ``UB = LB`` (or the MILP proved it), ``"feasible"``
    when certified otherwise, ``"screened"`` when not certified.
    """

    policy: str
    policy_cost: int
    opt_upper: int | None
    opt_lower: int
    opt_status: str
    opt_starts: tuple[int, ...] | None
    milp: bool
    filtered: bool
    seconds: float
    certificate: dict[str, Any] | None = field(default=None)
    ub_source: str | None = None

    @property
    def certified(self) -> bool:
        return self.opt_upper is not None

    @property
    def ratio(self) -> Fraction | None:
        """The certified ratio ``L / UB``, or ``None`` for a screened-out trace."""
        if self.opt_upper is None:
            return None
        return Fraction(self.policy_cost, self.opt_upper)

    @property
    def screen(self) -> Fraction:
        """``L / LB``: no trace with this OPT lower bound can certify more."""
        return Fraction(self.policy_cost, max(1, self.opt_lower))

    optimistic = screen

    def to_dict(self) -> dict[str, Any]:
        r = self.ratio
        s = self.screen
        return {
            "policy": self.policy,
            "policy_cost": self.policy_cost,
            "opt_upper": self.opt_upper,
            "opt_lower": self.opt_lower,
            "opt_status": self.opt_status,
            "opt_starts": None if self.opt_starts is None else list(self.opt_starts),
            "ratio": None if r is None else f"{r.numerator}/{r.denominator}",
            "screen": f"{s.numerator}/{s.denominator}",
            "certified": self.certified,
            "ub_source": self.ub_source,
            "milp": self.milp,
            "filtered": self.filtered,
            "seconds": round(self.seconds, 6),
            "certificate": self.certificate,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        ub = d.get("opt_upper")
        starts = d.get("opt_starts")
        return cls(
            d["policy"],
            int(d["policy_cost"]),
            None if ub is None else int(ub),
            int(d["opt_lower"]),
            d["opt_status"],
            None if starts is None else tuple(int(x) for x in starts),
            bool(d["milp"]),
            bool(d["filtered"]),
            float(d["seconds"]),
            d.get("certificate"),
            d.get("ub_source"),
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


#: From this many requests on, :func:`screen` uses the compiled loop and the numpy bound
#: (:mod:`ratio.fastsim`). Loading the compiled code costs about 1.2 s once per process
#: (numba's import and its cache); below this size the Python screen takes about 1 ms or
#: less and saves under 1 ms an evaluation, which a search of a thousand evaluations at such
#: sizes would not win back.
FAST_MIN_N = 128


def screen(
    instance: Instance, policy: str, *, fast: bool = True
) -> tuple[SimResult, int, dict[str, Any] | None]:
    """The cheap pass: one simulation of ``policy``, SVF's certificate on that run (burst SVF
    only) and ``LB``. Returns ``(run, LB, certificate)``; ``L / LB`` is the screen value.

    With ``fast`` (and at least :data:`FAST_MIN_N` requests) the run comes from
    :func:`ratio.fastsim.simulate_fast` and ``LB`` and the certificate from its numpy versions
    wherever they promise the reference's exact values (the policies of
    :data:`ratio.fastsim.ORDER_KEYS`); everything else, and every trace without numba, goes
    through ``ratio.simulate``, ``lower_bound`` and :func:`waiting_certificate`. Either way
    the result is the same.

    Raises
    ------
    CertificateViolation
        SVF's waiting-time certificate (model §12) failed on a burst run of blocking SVF.
    """
    sim: SimResult | None = None
    lb: int | None = None
    got: tuple[bool, int | None, int, int] | None = None
    burst_svf = theorem_applies(policy, "all_at_zero")
    if fast and instance.n >= FAST_MIN_N:
        from ratio import fastsim

        sim = fastsim.simulate_fast(instance, policy)
        if sim is not None:
            burst_svf = burst_svf and not instance.arrivals.any()  # the run cached the arrays
            if burst_svf:
                got = fastsim.waiting_certificate_fast(instance, sim)
        lb = fastsim.lower_bound_fast(instance)
    if sim is None:
        sim = simulate(instance, policy)
        burst_svf = burst_svf and instance.all_at_zero
    cert: dict[str, Any] | None = None
    if burst_svf:
        wc = WaitingCertificate(*got) if got is not None else waiting_certificate(instance, sim)
        cert = wc.to_dict()
        if not wc.holds:
            raise CertificateViolation(
                f"SVF waiting-time certificate violated (model §12): {wc}", instance, wc
            )
    return sim, lower_bound(instance) if lb is None else lb, cert


def certify(
    instance: Instance,
    sim: SimResult,
    lb: int,
    *,
    threshold: Fraction = Fraction(1),
    heuristic_max_n: int = 12,
    milp: bool = False,
    milp_max_n: int = 10,
    time_limit: float = 20.0,
) -> tuple[int, Schedule, str, int, bool] | None:
    """The second pass on a trace that passed the screen.

    Simulate each upper-bound policy once (reusing ``sim``) and, while the cheapest schedule
    costs more than ``LB``, add list scheduling with local search (``n <= heuristic_max_n`` and
    ``sum o <= 2000``: it allocates horizon-long arrays and took up to 6.7 s on an ``n = 8``
    trace with outputs in the thousands).
    If even the cheapest candidate gives ``L / UB <= threshold`` the trace cannot beat the best
    (a checked UB is never below the cheapest candidate): return ``None`` without running the
    checker. Otherwise check the policy's run and the candidates from the cheapest up, then
    (``milp``, ``n <= milp_max_n``) try the exact MILP. Returns ``(UB, schedule, source, LB,
    milp_used)``. Which schedules are computed depends on the trace alone, so the certified
    value of a trace that is certified does not depend on ``threshold``.
    """
    L = sim.total_latency
    runs: dict[str, SimResult] = {sim.policy: sim}
    cands = ub_candidates(instance, runs=runs, policy_schedule=sim.schedule)
    small = instance.n <= heuristic_max_n and sum(r.output for r in instance.requests) <= 2000
    if cands[0][0] > lb and small:
        cands = ub_candidates(instance, runs=runs, policy_schedule=sim.schedule, heuristic=True)
    used_milp = milp and instance.n <= milp_max_n and cands[0][0] > lb
    if not used_milp and Fraction(L, cands[0][0]) <= threshold:
        return None
    verdict = check(instance, sim.schedule)
    if not verdict:
        raise RuntimeError(
            f"internal: simulated {sim.policy} schedule infeasible: {verdict.reason}"
        )
    ub, sched, src = _first_checked(instance, cands)
    if used_milp:
        res = _solve_quietly(instance, time_limit)
        if res is None or res.status != "optimal":
            raise MilpUndecided(
                f"the exact MILP did not prove optimality within {time_limit:g} s on a trace "
                f"of n = {instance.n}; its incumbent would make the search depend on the "
                "machine's speed: raise --time-limit or drop --milp"
            )
        if res.schedule is not None and res.cost is not None and res.cost < ub:
            cand = Schedule(tuple(res.schedule.starts))
            if check(instance, cand):
                ub, sched, src = cand.total_latency(instance), cand, "milp"
        if res.lower_bound is not None:
            lb = max(lb, int(res.lower_bound))
        if Fraction(L, ub) <= threshold:
            return None
    return ub, sched, src, lb, used_milp


def evaluate(
    instance: Instance,
    policy: str,
    *,
    threshold: Fraction = Fraction(1),
    milp: bool = False,
    milp_max_n: int = 10,
    time_limit: float = 20.0,
    heuristic_max_n: int = 12,
    slack: Fraction | None = None,
) -> Evaluation:
    """Screened, certified evaluation of ``policy`` on ``instance`` (issue 15, deliverable 3).

    Parameters
    ----------
    threshold
        Best certified ratio so far. A trace with ``L / LB <= threshold`` cannot beat it
        (``L / UB <= L / OPT <= L / LB``) and is not certified (``filtered``). ``threshold <
        1`` certifies every trace.
    milp, milp_max_n, time_limit
        Optional exact MILP on promising traces of at most ``milp_max_n`` requests; used only
        when proven optimal, :class:`MilpUndecided` otherwise.
    heuristic_max_n
        List scheduling with local search tightens UB on promising traces up to this size.
    slack
        Ignored (kept for callers of the issue-6 signature).

    Raises
    ------
    CertificateViolation
        SVF's waiting-time certificate (model §12) failed on a burst run of blocking SVF.
    """
    t0 = time.perf_counter()
    instance = _prepare(instance, policy)
    sim, lb, cert = screen(instance, policy)
    L = sim.total_latency
    if Fraction(L, max(1, lb)) <= threshold:
        return Evaluation(
            sim.policy, L, None, lb, "screened", None, False, True, time.perf_counter() - t0, cert
        )
    out = certify(
        instance,
        sim,
        lb,
        threshold=threshold,
        heuristic_max_n=heuristic_max_n,
        milp=milp,
        milp_max_n=milp_max_n,
        time_limit=time_limit,
    )
    if out is None:  # the cheapest upper bound already shows it cannot beat the threshold
        return Evaluation(
            sim.policy, L, None, lb, "screened", None, False, True, time.perf_counter() - t0, cert
        )
    ub, sched, src, lb, used_milp = out
    status = "optimal" if ub <= lb else "feasible"
    return Evaluation(
        sim.policy,
        L,
        ub,
        min(lb, ub),
        status,
        sched.starts,
        used_milp,
        False,
        time.perf_counter() - t0,
        cert,
        src,
    )
