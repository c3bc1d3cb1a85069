"""Time-indexed MILP of the hindsight optimum, built with PuLP (``docs/model.md`` §2, 3; issue 3).

Variables ``x[i, t] = 1`` iff request ``i`` starts in round ``t`` (``a_i <= t <= T_i``).

* one start per request: ``sum_t x[i, t] = 1``;
* memory in every round ``r`` (model §2, model convention):
  ``sum_i sum_{t <= r < t + o_i} (s_i + r - t + 1) x[i, t] <= M``;
* objective ``L = sum_i sum_t (t + o_i - a_i) x[i, t]`` (model §3);
* symmetry breaking: for identical requests ``i < j`` (same ``a, s, o``),
  ``sum_t t x[i, t] <= sum_t t x[j, t]`` (swapping two identical requests maps a feasible
  schedule to a feasible one of the same cost, so some optimal schedule satisfies it).

Backends (``solver=``): ``"cbc"`` (bundled with PuLP) and ``"highs"`` (``highspy`` through
PuLP's ``HiGHS`` API class, which also reports the dual bound when stopped early and takes a
warm-start solution). The solver is never trusted: :func:`offline_opt.solve` re-verifies every
schedule with :func:`ratio.check.check`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from offline_opt.bounds import lower_bound
from ratio.errors import InputError
from ratio.model import Instance, Schedule

__all__ = [
    "SOLVERS",
    "MilpOutcome",
    "serial_horizons",
    "tight_horizons",
    "build_milp",
    "solve_milp",
    "lp_lower_bound",
]

SOLVERS = ("highs", "cbc")

#: Stop when the gap is below one: the objective is an integer, so ``ceil(dual) >= primal``.
#: (The solvers' default relative gap of 1e-4 could stop one unit early on large instances.)
_ABS_GAP = 0.999


def serial_horizons(instance: Instance) -> list[int]:
    """Latest starts ``T_i = max_j a_j + sum_j o_j - o_i`` (the naive "serial length" horizon).

    Proof of validity. Take an optimal schedule with the fewest idle rounds after
    ``A = max_j a_j``, where a round is idle if nothing runs in it and some request has not
    yet completed. If such an idle round ``r >= A`` existed, moving every start ``> r`` one round
    earlier keeps feasibility (every request has arrived, each later round's set of runs and
    memory is unchanged, only shifted) and lowers the cost, a contradiction. So after ``A``
    every round until the makespan runs some request; a round in which some request runs
    is one of its ``o_i`` rounds, hence ``C_max <= A + sum_j o_j`` and
    ``p_i <= A + sum_j o_j - o_i``. QED.
    """
    a_max = max((r.arrival for r in instance.requests), default=0)
    tot = sum(r.output for r in instance.requests)
    return [a_max + tot - r.output for r in instance.requests]


def tight_horizons(instance: Instance, ub: int) -> list[int]:
    """Latest starts from an upper bound: ``T_i = a_i + (UB - LB(-i)) - o_i``.

    ``UB`` is the cost of any feasible schedule and ``LB(-i)`` is
    :func:`offline_opt.bounds.lower_bound` of the instance without request ``i``.

    Proof of validity. In every optimal schedule ``S``, deleting ``i`` leaves a feasible
    schedule of the other requests (memory only decreases), whose cost is at least
    ``OPT(-i) >= LB(-i)``. So ``C_i - a_i = OPT - cost(S - i) <= UB - LB(-i)`` and
    ``p_i = C_i - o_i <= a_i + UB - LB(-i) - o_i``. Every optimal schedule satisfies all these
    horizons, so the MILP restricted to them has the same optimum, and any lower bound of the
    restricted MILP is a lower bound of ``OPT``. The result is also capped by
    :func:`serial_horizons`. QED.
    """
    reqs = instance.requests
    serial = serial_horizons(instance)
    out = []
    for i, r in enumerate(reqs):
        rest = instance.with_requests(reqs[:i] + reqs[i + 1 :])
        lb_rest = lower_bound(rest)
        out.append(min(serial[i], r.arrival + ub - lb_rest - r.output))
    return out


@dataclass(frozen=True)
class MilpOutcome:
    """What one MILP solve gave: ``status`` in ``optimal | feasible | infeasible | timeout``,
    the best schedule it reported (unverified), and its dual bound rounded up (or ``None``)."""

    status: str
    schedule: Schedule | None
    bound: int | None
    seconds: float
    solver: str


def build_milp(
    instance: Instance,
    horizons: Sequence[int],
    *,
    symmetry: bool = True,
    relax: bool = False,
) -> tuple[Any, dict[tuple[int, int], Any]]:
    """Build the PuLP problem with latest starts ``horizons``; return ``(problem, x)``."""
    return _build(instance, horizons, symmetry=symmetry, relax=relax)


def _build(
    instance: Instance, horizons: Sequence[int], *, symmetry: bool, relax: bool
) -> tuple[Any, dict[tuple[int, int], Any]]:
    import pulp

    reqs = instance.requests
    M = instance.capacity
    prob = pulp.LpProblem("kvratio_opt", pulp.LpMinimize)
    cat = pulp.LpContinuous if relax else pulp.LpBinary
    x: dict[tuple[int, int], Any] = {}
    # PuLP >= 3.3 deprecates LpVariable(...) for prob.add_variable(...) (its 4.0 API); older
    # PuLP has only the former
    add = getattr(prob, "add_variable", None)
    for i, r in enumerate(reqs):
        if horizons[i] < r.arrival:
            raise InputError(f"horizon of request {i} ends before its arrival")
        for t in range(r.arrival, horizons[i] + 1):
            name = f"x_{i}_{t}"
            x[i, t] = add(name, 0, 1, cat) if add else pulp.LpVariable(name, 0, 1, cat)
    prob += pulp.lpSum((t + reqs[i].output - reqs[i].arrival) * v for (i, t), v in x.items())
    for i, r in enumerate(reqs):
        prob += pulp.lpSum(x[i, t] for t in range(r.arrival, horizons[i] + 1)) == 1, f"one_{i}"
    rows: dict[int, list[tuple[int, Any]]] = {}
    for (i, t), v in x.items():
        r = reqs[i]
        for k in range(1, r.output + 1):
            rows.setdefault(t + k - 1, []).append((r.prompt + k, v))
    for rnd, terms in sorted(rows.items()):
        # A row is needed only if the largest memory it could see exceeds M.
        most: dict[int, int] = {}
        for c, v in terms:
            i = int(v.name.split("_")[1])
            most[i] = max(most.get(i, 0), c)
        if sum(most.values()) > M:
            prob += pulp.lpSum(c * v for c, v in terms) <= M, f"mem_{rnd}"
    if symmetry:
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, r in enumerate(reqs):
            groups.setdefault((r.arrival, r.prompt, r.output), []).append(i)
        for members in groups.values():
            for i, j in zip(members, members[1:], strict=False):
                hi = min(horizons[i], horizons[j])
                prob += (
                    pulp.lpSum(t * x[i, t] for t in range(reqs[i].arrival, horizons[i] + 1))
                    <= pulp.lpSum(t * x[j, t] for t in range(reqs[j].arrival, horizons[j] + 1)),
                    f"sym_{i}_{j}_{hi}",
                )
    return prob, x


def _highs_class() -> Any:
    import pulp

    class _WarmHiGHS(pulp.HiGHS):
        """PuLP's HiGHS API class plus a warm-start solution passed before ``run``."""

        start: list[float] | None = None

        def callSolver(self, lp: Any) -> None:  # noqa: N802 - PuLP's name
            if self.start is not None:
                idx = list(range(len(self.start)))
                lp.solverModel.setSolution(len(idx), idx, self.start)
            lp.solverModel.run()

    return _WarmHiGHS


def _solve_highs(prob: Any, time_limit: float | None, start: list[float] | None) -> None:
    """Solve ``prob`` with HiGHS (single thread, exact gap), a second time in a fresh HiGHS
    object if the first run stops with a status that is neither a proof (optimal, infeasible)
    nor its time limit. HiGHS does not run at all (status not set, dual bound 0) when an earlier
    solve in the same process started its thread scheduler with another ``threads`` value:
    ``pytest tests/fluid/test_stable_range.py tests/offline_opt/test_milp.py`` failed so, as CI's
    slow step did; the scheduler is reset before the second run. The warning names the
    status."""
    import highspy

    done = {highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible}
    if time_limit is not None:
        done.add(highspy.HighsModelStatus.kTimeLimit)
    for attempt in range(2):
        cmd = _highs_class()(msg=False, timeLimit=time_limit, threads=1, gapRel=0, gapAbs=_ABS_GAP)
        cmd.start = start
        prob.solve(cmd)
        status = prob.solverModel.getModelStatus()
        if status in done or attempt == 1:
            return
        warnings.warn(
            f"HiGHS stopped with model status {status.name} before its time limit; solving again",
            RuntimeWarning,
            stacklevel=3,
        )
        if status == highspy.HighsModelStatus.kNotset:
            # HiGHS refuses to run (status not set) when its process-wide thread scheduler was
            # started by an earlier solve with another `threads` value (a default-threads LP,
            # say); resetting the scheduler lets this single-thread solve run.
            prob.solverModel.resetGlobalScheduler(True)


def solve_milp(
    instance: Instance,
    horizons: Sequence[int],
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    warm_start: Schedule | None = None,
    symmetry: bool = True,
) -> MilpOutcome:
    """Solve the MILP with ``solver`` (``"highs"`` or ``"cbc"``), single-threaded.

    ``warm_start`` (a feasible schedule within the horizons) is passed to the solver as its
    first incumbent. Returns the solver's view; the caller verifies it.
    """
    # long: build, the solver's own options (CBC or HiGHS), its status read into ours
    import pulp

    if solver not in SOLVERS:
        raise InputError(f"unknown solver {solver!r} (valid: {', '.join(SOLVERS)})")
    t0 = time.perf_counter()
    prob, x = build_milp(instance, horizons, symmetry=symmetry)
    start_vals: dict[str, float] | None = None
    if warm_start is not None and all((i, p) in x for i, p in enumerate(warm_start.starts)):
        start_vals = {v.name: float(warm_start.starts[i] == t) for (i, t), v in x.items()}
    tl = None if time_limit is None else max(float(time_limit), 0.01)
    if solver == "cbc":
        if start_vals is not None:
            for v in x.values():
                v.setInitialValue(start_vals[v.name])
        with warnings.catch_warnings():
            # the bundled CBC has no PuLP 4.0 replacement (COIN_CMD needs a separate CBC)
            warnings.filterwarnings(
                "ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning
            )
            cmd = pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=tl,
                warmStart=start_vals is not None,
                threads=1,
                gapRel=0,
                gapAbs=_ABS_GAP,
            )
        prob.solve(cmd)
        bound = None
    else:
        start = None if start_vals is None else [start_vals[v.name] for v in prob.variables()]
        _solve_highs(prob, tl, start)
        info = prob.solverModel.getInfo()
        db = info.mip_dual_bound
        bound = math.ceil(db - 1e-6) if math.isfinite(db) else None
    seconds = time.perf_counter() - t0
    sched: Schedule | None = None
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        starts = [-1] * instance.n
        for (i, t), v in x.items():
            val = v.value()
            if val is not None and val > 0.5:
                starts[i] = t
        if all(p >= 0 for p in starts):
            sched = Schedule(tuple(starts))
    if prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif prob.sol_status == pulp.LpSolutionOptimal and sched is not None:
        status = "optimal"
    elif sched is not None:
        status = "feasible"
    else:
        status = "timeout"
    if status == "optimal" and sched is not None:
        cost = sched.total_latency(instance)
        if solver == "cbc":
            # PuLP exposes no dual bound for CBC: its proof (gap < 1 on an integer objective)
            # is the bound.
            bound = cost
        elif bound is None or bound < cost:
            # HiGHS's dual bound is what is certified. Its model status "optimal" is the same
            # proof (gap below _ABS_GAP < 1 on an integer objective), as CBC's is above; in a
            # long process HiGHS once reported status optimal with a dual bound of 0 (CI,
            # 1 of 2,000 instances, not reproducible alone), so the status decides then.
            import highspy

            if prob.solverModel.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                bound = cost
            else:
                status = "feasible"
    return MilpOutcome(status, sched, bound, seconds, solver)


def lp_lower_bound(instance: Instance, horizons: Sequence[int] | None = None) -> int:
    """Ceiling of the LP relaxation of the MILP (HiGHS), a valid lower bound on ``OPT``.

    Valid for any horizons proved to keep some optimal schedule (:func:`tight_horizons`,
    :func:`serial_horizons`, the default): the LP is a relaxation of the restricted MILP,
    whose optimum is ``OPT``.
    """
    import pulp

    if instance.n == 0:
        return 0
    hz = list(horizons) if horizons is not None else serial_horizons(instance)
    prob, _ = build_milp(instance, hz, symmetry=False, relax=True)
    _solve_highs(prob, None, None)
    if prob.status != pulp.LpStatusOptimal:
        raise RuntimeError(f"LP relaxation not solved: {pulp.LpStatus[prob.status]}")
    return math.ceil(pulp.value(prob.objective) - 1e-6)
