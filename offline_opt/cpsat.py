"""CP-SAT model of the hindsight optimum with one cumulative constraint (issue 3, item 7).

Optional backend (``pip install ortools``). Encoding from ``docs/offline_opt.md``: request ``i``
started at ``p_i`` holds ``s_i + k`` tokens in its ``k``-th round, which equals a base interval
``[p_i, p_i + o_i)`` of height ``s_i + 1`` plus ``o_i - 1`` unit intervals
``[p_i + k, p_i + o_i)`` (``k = 1..o_i - 1``), all tied to the one start variable. The memory
limit of ``docs/model.md`` section 2 is then exactly one cumulative constraint of capacity ``M``
(in round ``r`` the pieces cover ``(s_i + 1) + #{k >= 1 : p_i + k <= r}`` = ``s_i + k``).

Starts are bounded by the same proved horizons as the MILP (:mod:`offline_opt.milp`); identical
requests are ordered (symmetry breaking, proof in :mod:`offline_opt.milp`); the warm start is
a solution hint and the cheap lower bound is a constraint on the objective (it is valid, so no
optimal schedule is cut). The solver is never trusted: :func:`offline_opt.solve` re-verifies the
schedule with ``ratio.check``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from offline_opt.milp import MilpOutcome
from ratio.model import Instance, Schedule

__all__ = ["available", "solve_cpsat"]


def available() -> bool:
    """Is OR-Tools importable?"""
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solve_cpsat(
    instance: Instance,
    horizons: Sequence[int],
    *,
    time_limit: float | None = None,
    hint: Schedule | None = None,
    lower: int = 0,
    workers: int = 1,
) -> MilpOutcome:
    """Solve with CP-SAT; same outcome type as the MILP (the caller verifies it)."""
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    reqs = instance.requests
    m = cp_model.CpModel()
    starts = []
    intervals = []
    demands = []
    for i, r in enumerate(reqs):
        p = m.new_int_var(r.arrival, horizons[i], f"p{i}")
        starts.append(p)
        end = p + r.output
        intervals.append(m.new_interval_var(p, r.output, end, f"b{i}"))
        demands.append(r.prompt + 1)
        for k in range(1, r.output):
            intervals.append(m.new_interval_var(p + k, r.output - k, end, f"u{i}_{k}"))
            demands.append(1)
    m.add_cumulative(intervals, demands, instance.capacity)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, r in enumerate(reqs):
        groups.setdefault((r.arrival, r.prompt, r.output), []).append(i)
    for members in groups.values():
        for i, j in zip(members, members[1:], strict=False):
            m.add(starts[i] <= starts[j])
    obj = sum(starts[i] + (r.output - r.arrival) for i, r in enumerate(reqs))
    m.add(obj >= lower)
    m.minimize(obj)
    if hint is not None:
        for i, start in enumerate(hint.starts):
            m.add_hint(starts[i], int(start))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    # CP-SAT would otherwise take SIGINT for itself (stop this solve, then leave SIG_DFL), so
    # Ctrl-C could not stop a command or the test suite (issue 17).
    solver.parameters.catch_sigint_signal = False
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    st = solver.solve(m)
    sched = None
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sched = Schedule(tuple(int(solver.value(p)) for p in starts))
    bound = math.ceil(solver.best_objective_bound - 1e-6) if sched is not None else None
    if st == cp_model.OPTIMAL:
        status = "optimal"
    elif st == cp_model.FEASIBLE:
        status = "feasible"
    elif st == cp_model.INFEASIBLE:
        status = "infeasible"
    else:
        status = "timeout"
    return MilpOutcome(status, sched, bound, time.perf_counter() - t0, "cpsat")
