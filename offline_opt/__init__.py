"""Exact offline optimum with a certificate, lower bounds and certified ratios (issue 3).

The denominator of every competitive ratio (``docs/model.md`` sections 2, 3, 10, 11):

* :func:`solve` -> :class:`OptResult` (best schedule, checker-verified; proven lower bound; status
  ``optimal`` only when they meet);
* :mod:`offline_opt.bounds`: cheap lower bounds (:func:`~offline_opt.bounds.lower_bound`);
* :mod:`offline_opt.upper`: feasible schedules from policies, list scheduling, local search;
* :mod:`offline_opt.exact_small`: an exact dynamic program for ``n <= 7`` (test referee);
* :mod:`offline_opt.milp`: the time-indexed MILP (PuLP; CBC or HiGHS);
* :mod:`offline_opt.bnb`: an exact branch and bound over states (all arrivals at 0);
* :func:`ratio_of` -> :class:`CertifiedRatio` ``[L/UB, L/LB]``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from fractions import Fraction

from offline_opt.bounds import (
    arrival_lower_bound,
    lower_bound,
    mean_busy_time_lower_bound,
    volume_lower_bound,
)
from offline_opt.bracket import Bracket, bracket
from offline_opt.certificate import CertifiedRatio, OptResult, OptStatus, verify
from offline_opt.exact_small import solve_exact
from offline_opt.milp import MilpOutcome
from offline_opt.upper import best_upper_bound
from ratio.errors import InputError
from ratio.model import Instance, Schedule

__all__ = [
    "solve",
    "ratio_of",
    "OptResult",
    "OptStatus",
    "CertifiedRatio",
    "SOLVER_NAMES",
    "lower_bound",
    "volume_lower_bound",
    "arrival_lower_bound",
    "mean_busy_time_lower_bound",
    "best_upper_bound",
    "solve_exact",
    "bracket",
    "Bracket",
]

#: Accepted values of ``solve(solver=...)``.
SOLVER_NAMES = ("highs", "cbc", "cpsat", "bnb", "exact", "auto")


def _result(
    instance: Instance,
    schedule: Schedule | None,
    bounds: dict[str, int],
    solver: str,
    t0: float,
    timed_out: bool,
) -> OptResult:
    cost = verify(instance, schedule) if schedule is not None else None
    lb = max(bounds.values())
    if cost is not None:
        if lb > cost:
            raise AssertionError(f"lower bound {lb} above a feasible cost {cost}: a bound is wrong")
        gap = Fraction(cost - lb, cost) if cost else Fraction(0)
        status = OptStatus.OPTIMAL if lb == cost else OptStatus.FEASIBLE
    else:
        gap = None
        status = OptStatus.TIMEOUT if timed_out else OptStatus.INFEASIBLE
    return OptResult(
        schedule=schedule,
        cost=cost,
        lower_bound=lb,
        gap=gap,
        status=status,
        solver=solver,
        seconds=time.perf_counter() - t0,
        best_bound=lb,
        bounds=tuple(sorted(bounds.items())),
    )


def solve(
    instance: Instance,
    *,
    solver: str = "auto",
    time_limit: float | None = None,
    warm_start: bool = True,
    formulation: str = "tight",
    incumbent: tuple[int, Schedule] | None = None,
) -> OptResult:
    """Offline optimum of ``instance`` with a certificate (model §10; issue 3).

    Parameters
    ----------
    instance
        Any valid instance (arrivals allowed).
    solver
        ``"highs"`` or ``"cbc"`` (the MILP of :mod:`offline_opt.milp`), ``"cpsat"`` (one
        cumulative constraint, :mod:`offline_opt.cpsat`; needs OR-Tools), ``"bnb"`` (branch and
        bound over states, :mod:`offline_opt.bnb`; all arrivals at 0, else it falls back to
        HiGHS), ``"exact"`` (the ``n <= 7`` dynamic program), ``"auto"`` (default: a plan
        from cheap instance features, :func:`offline_opt.auto.plan`: a primary method, the
        compiled ``"bnb"`` for all arrivals at 0 and short outputs, else ``"cpsat"``, for a
        share of the time limit, then HiGHS with its incumbent if it did not finish; HiGHS
        alone without OR-Tools and numba).
    time_limit
        Seconds for the exact phase; on expiry the best schedule and best proven bound are
        returned with status ``feasible`` (or ``timeout`` without a schedule).
    warm_start
        Start from :func:`offline_opt.upper.best_upper_bound` (policies + list scheduling +
        local search): incumbent, horizon source, and early exit when it meets the lower bound.
    formulation
        ``"tight"`` (horizons from the upper bound, :func:`offline_opt.milp.tight_horizons`)
        or ``"naive"`` (serial-length horizons; the benchmark's baseline).
    incumbent
        ``(cost, schedule)`` of a feasible schedule the caller already has (e.g.
        :func:`offline_opt.bracket.bracket`'s); used as the warm start instead of searching
        again. The time limit covers everything, the warm start included: without an
        incumbent, the warm start gets at most a quarter of it.

    Returns
    -------
    OptResult
        Schedule re-verified by ``ratio.check``; ``status`` is :attr:`OptStatus.OPTIMAL`
        (equal to ``"optimal"``) iff ``lower_bound == cost``.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> res = solve(inst)
    >>> res.cost, res.status, res.status == "optimal"
    (9, <OptStatus.OPTIMAL: 'optimal'>, True)
    """
    _check_arguments(solver, formulation, time_limit)
    t0 = time.perf_counter()
    if instance.n == 0:
        return _result(instance, Schedule(()), {"cheap": 0}, solver, t0, False)
    plan = _plan(instance, solver)
    solver = plan[0][0]
    bounds: dict[str, int] = {"cheap": lower_bound(instance)}
    if solver == "exact":
        cost, sched = solve_exact(instance)
        bounds["exact"] = cost
        return _result(instance, sched, bounds, "exact", t0, False)
    ub, best = _first_schedule(instance, incumbent, warm_start, time_limit)
    if (warm_start or incumbent is not None) and bounds["cheap"] >= ub:
        return _result(instance, best, bounds, solver, t0, False)

    def left() -> float | None:
        if time_limit is None:
            return None
        return max(time_limit - (time.perf_counter() - t0), 0.01)

    used: list[str] = []
    if solver == "bnb":
        best, timed_out = _bnb_stage(instance, ub, best, left(), plan, bounds)
        if not (len(plan) > 1 and timed_out):
            return _result(instance, best, bounds, "bnb", t0, timed_out)
        # auto, search stopped: the next stages (HiGHS) with the incumbent for the time left;
        # its dual bound beats the search's root bound on large instances (docs/offline_opt.md)
        used.append("bnb")
        plan = plan[1:]
    final, timed_out = _milp_stages(
        instance, plan, ub, best, bounds, used, left, warm_start, formulation
    )
    return _result(instance, final, bounds, "+".join(used), t0, timed_out)


def _check_arguments(solver: str, formulation: str, time_limit: float | None) -> None:
    if solver not in SOLVER_NAMES:
        raise InputError(f"unknown solver {solver!r} (valid: {', '.join(SOLVER_NAMES)})")
    if formulation not in ("tight", "naive"):
        raise InputError(f"formulation must be 'tight' or 'naive', got {formulation!r}")
    if time_limit is not None and time_limit <= 0:
        raise InputError(f"time limit must be > 0 seconds, got {time_limit}")


def _plan(instance: Instance, solver: str) -> list[tuple[str, float]]:
    """The stages ``(method, share of the time left)``: ``auto`` asks
    :func:`offline_opt.auto.plan` (cheap instance features; later stages start from the
    incumbent and keep the bounds so far); ``bnb`` needs all arrivals at 0, else HiGHS."""
    plan: list[tuple[str, float]] = [(solver, 1.0)]
    if solver == "auto":
        from offline_opt.auto import plan as auto_plan

        plan = list(auto_plan(instance).stages)
    if plan[0][0] == "bnb" and not instance.all_at_zero:
        plan = [("highs", 1.0)]
    return plan


def _first_schedule(
    instance: Instance,
    incumbent: tuple[int, Schedule] | None,
    warm_start: bool,
    time_limit: float | None,
) -> tuple[int, Schedule]:
    """The schedule the exact phase starts from: the caller's incumbent (checked), the warm
    start (at most a quarter of the time limit), or list scheduling by output length."""
    from offline_opt import upper

    if incumbent is not None:
        ub, best = incumbent
        if verify(instance, best) != ub:
            raise ValueError("incumbent cost does not match its schedule")
        return ub, best
    if warm_start:
        warm_limit = None if time_limit is None else time_limit / 4
        return upper.best_upper_bound(instance, time_limit=warm_limit)
    order = sorted(range(instance.n), key=lambda i: (instance.requests[i].output, i))
    return upper.list_schedule(instance, order)


def _bnb_stage(
    instance: Instance,
    ub: int,
    best: Schedule,
    lim: float | None,
    plan: list[tuple[str, float]],
    bounds: dict[str, int],
) -> tuple[Schedule, bool]:
    """Branch and bound from ``best`` (cost ``ub``); records its bound in ``bounds`` and
    returns the best schedule and whether the search stopped unfinished."""
    from offline_opt.bnb import solve_bnb

    if len(plan) > 1 and lim is not None:
        lim *= plan[0][1]  # the rest goes to the next stage if the search does not finish
    out = solve_bnb(instance, ub=ub, incumbent=best, time_limit=lim)
    if out.schedule is not None and out.schedule.total_latency(instance) < ub:
        best = out.schedule
    bounds["bnb"] = out.bound
    return best, out.timed_out


def _milp_stages(
    instance: Instance,
    plan: list[tuple[str, float]],
    ub: int,
    best: Schedule | None,
    bounds: dict[str, int],
    used: list[str],
    left: Callable[[], float | None],
    warm_start: bool,
    formulation: str,
) -> tuple[Schedule | None, bool]:
    """The MILP/CP-SAT stages of ``plan`` in turn, each for its share of the time left, each
    from the incumbent so far; stops once the bounds meet the incumbent. Records bounds in
    ``bounds`` and each stage run in ``used``; returns the best schedule and whether the last
    stage stopped unfinished (then the LP relaxation's bound is added when no stage gave a
    dual bound)."""
    from offline_opt import milp

    if formulation == "naive":
        hz = milp.serial_horizons(instance)
    else:
        hz = milp.tight_horizons(instance, ub)
    timed_out = False
    for stage, share in plan:
        lim = left()
        if lim is not None and share < 1.0:
            # auto: this stage's share of the time left; incumbent and bounds carry over
            # (without a time limit the first stage runs to its proof)
            lim *= share
        warm = best if warm_start else None
        out_m = _run_model(stage, instance, hz, lim, warm, bounds["cheap"], formulation)
        used.append(stage)
        if out_m.schedule is not None:
            cand = verify(instance, out_m.schedule)
            if best is None or cand < best.total_latency(instance):
                best = out_m.schedule
        if out_m.bound is not None:
            bounds[stage] = max(out_m.bound, bounds.get(stage, 0))
        if out_m.status == "infeasible" and best is not None:
            # The horizons keep every optimal schedule and the incumbent lies within them
            # (or, cold, the serial schedule does): infeasible means a solver error.
            raise AssertionError(f"{stage} reported infeasible although a schedule exists")
        timed_out = out_m.status in ("feasible", "timeout")
        if best is not None and max(bounds.values()) >= best.total_latency(instance):
            break
    if timed_out and not any(s in bounds for s in ("highs", "cpsat")):
        with contextlib.suppress(RuntimeError):
            bounds["lp"] = milp.lp_lower_bound(instance, hz)
    return best, timed_out


def _run_model(
    stage: str,
    instance: Instance,
    hz: list[int],
    lim: float | None,
    warm: Schedule | None,
    lower: int,
    formulation: str,
) -> MilpOutcome:
    from offline_opt import milp

    if stage == "cpsat":
        from offline_opt.cpsat import available, solve_cpsat

        if not available():
            raise InputError("solver 'cpsat' needs OR-Tools: pip install 'ortools>=9.15'")
        return solve_cpsat(instance, hz, time_limit=lim, hint=warm, lower=lower)
    return milp.solve_milp(
        instance,
        hz,
        solver=stage,
        time_limit=lim,
        warm_start=warm,
        symmetry=formulation == "tight",
    )


def ratio_of(
    policy: str | object,
    instance: Instance,
    *,
    opt: OptResult | None = None,
    time_limit: float | None = 60.0,
    solver: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> CertifiedRatio:
    """Certified ratio ``L_policy / OPT`` as the interval ``[L/UB, L/LB]`` (model §10).

    Parameters
    ----------
    policy
        Policy spec string (``"svf"``, ``"svf:blocking=false"``) or a policy object.
    instance
        The instance.
    opt
        A previous :func:`solve` result for this instance; solved here if ``None``.
    time_limit, solver, progress
        When ``opt`` is ``None``: the bracket on ``OPT`` comes from
        :func:`offline_opt.bracket.bracket` within ``time_limit`` seconds counted from this
        call (the policy's own run is reused as an upper bound; exact methods where they
        fit, with ``solver``).

    Examples
    --------
    >>> from ratio.model import Instance
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> r = ratio_of("fcfs", inst)
    >>> r.ratio_lower, r.exact
    (Fraction(10, 9), True)
    """
    from offline_opt.bracket import bracket, opt_result
    from ratio.simulator import simulate

    t0 = time.perf_counter()
    sim = simulate(instance, policy)  # type: ignore[arg-type]
    verify(instance, sim.schedule)
    cost = sim.total_latency
    if opt is None:
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.01)
        runs = {sim.policy: sim} if not sim.schedule.evicted else None
        br = bracket(instance, time_limit=left, policy_runs=runs, progress=progress, solver=solver)
        opt = opt_result(br)
    if opt.cost is None:
        raise InputError("no feasible schedule found for the optimum within the time limit")
    ub, lb = opt.cost, opt.lower_bound
    if ub == 0:
        r_lo = r_hi = Fraction(1)
    else:
        r_lo = Fraction(cost, ub)
        r_hi = Fraction(cost, lb) if lb > 0 else Fraction(cost, 1)
    return CertifiedRatio(
        policy=sim.policy,
        policy_cost=cost,
        opt_upper=ub,
        opt_lower=lb,
        ratio_lower=r_lo,
        ratio_upper=r_hi,
        exact=ub == lb,
        opt=opt,
    )
