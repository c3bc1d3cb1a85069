"""Upper bounds on ``OPT``: registered policies, list scheduling and local search (issue 3, item 3).

Every schedule returned here is re-verified by :func:`ratio.check.check`; its total latency is
therefore a valid upper bound ``UB >= OPT``. The best one is the MILP's warm start and the source
of its per-request horizons (:mod:`offline_opt.milp`).

List scheduling places requests one by one, in a given order, each at its earliest start
``p >= a_i`` at which it fits in every one of its rounds beside those already placed (the
"list-scheduling greedy" of ``exact-opt.md``). Any permutation gives a feasible schedule; local
search improves the permutation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ratio.check import check
from ratio.model import Instance, Schedule

__all__ = ["list_schedule", "policy_schedules", "local_search", "best_upper_bound"]


def list_schedule(instance: Instance, order: Sequence[int]) -> tuple[int, Schedule]:
    """Place requests in ``order``, each at its earliest feasible start; return ``(L, schedule)``.

    Feasible by construction (a request is placed only where every one of its rounds fits);
    the caller still re-verifies with the checker before claiming anything.
    """
    reqs = instance.requests
    M = instance.capacity
    horizon = max((r.arrival for r in reqs), default=0) + sum(r.output for r in reqs) + 1
    mem = np.zeros(horizon + 1, dtype=np.int64)
    starts = [0] * len(reqs)
    cost = 0
    for i in order:
        r = reqs[i]
        o = r.output
        prof = r.prompt + np.arange(1, o + 1, dtype=np.int64)
        lo = r.arrival
        win = sliding_window_view(mem[lo:], o)
        ok = np.all(win + prof <= M, axis=1)
        p = lo + int(np.argmax(ok))  # exists: rounds past every placed run are empty
        mem[p : p + o] += prof
        starts[i] = p
        cost += p + o - r.arrival
    return cost, Schedule(tuple(starts))


_ORDER_KEYS = {
    "volume": lambda r: r.volume,
    "output": lambda r: r.output,
    "prompt": lambda r: r.prompt,
    "peak": lambda r: r.peak,
    "arrival": lambda r: r.arrival,
    "volume_per_output": lambda r: r.volume / r.output,
}


def policy_schedules(instance: Instance) -> dict[str, Schedule]:
    """Schedules of every registered policy (default parameters, plus ``blocking=false`` where
    the policy has it). Evicted runs are dropped: removing runs only lowers memory, and the
    completing runs keep the cost, so the result is a feasible non-preemptive schedule."""
    from ratio.policies import REGISTRY
    from ratio.simulator import simulate

    out: dict[str, Schedule] = {}
    for name, cls in sorted(REGISTRY.items()):
        specs = [name]
        if "blocking" in getattr(cls, "PARAMS", {}):
            specs.append(f"{name}:blocking=false")
        for spec in specs:
            try:
                res = simulate(instance, spec)
            except Exception:  # noqa: BLE001 - a policy that cannot run here gives no bound
                continue
            out[res.policy] = Schedule(res.schedule.starts)
    return out


def local_search(
    instance: Instance,
    order: Sequence[int],
    *,
    max_evals: int = 2000,
    seed: int = 0,
) -> tuple[int, Schedule, list[int]]:
    """First-improvement local search on the list-scheduling order (swap and insert moves).

    Returns ``(cost, schedule, order)``; the cost never increases. Seeded.
    """
    rng = np.random.default_rng(seed)
    cur = list(order)
    best_cost, best_sched = list_schedule(instance, cur)
    n = len(cur)
    if n < 2:
        return best_cost, best_sched, cur
    evals = 0
    improved = True
    while improved and evals < max_evals:
        improved = False
        moves = [(i, j) for i in range(n) for j in range(n) if i != j]
        rng.shuffle(moves)
        for i, j in moves:
            if evals >= max_evals:
                break
            cand = cur.copy()
            if abs(i - j) == 1 or rng.random() < 0.5:
                cand[i], cand[j] = cand[j], cand[i]
            else:
                x = cand.pop(i)
                cand.insert(j, x)
            c, sch = list_schedule(instance, cand)
            evals += 1
            if c < best_cost:
                best_cost, best_sched, cur = c, sch, cand
                improved = True
                break
    return best_cost, best_sched, cur


def best_upper_bound(
    instance: Instance,
    *,
    local_search: bool = True,
    seed: int = 0,
    max_evals: int = 1500,
) -> tuple[int, Schedule]:
    """Best feasible schedule found: all registered policies, list scheduling in several
    priority orders and in each policy's start order, then local search from the best order.

    Returns
    -------
    (UB, schedule)
        ``UB >= OPT``; the schedule is verified by ``ratio.check``.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> best_upper_bound(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]))[0]
    9
    """
    reqs = instance.requests
    n = len(reqs)
    if n == 0:
        return 0, Schedule(())
    cands: list[tuple[int, Schedule, list[int]]] = []
    for sched in policy_schedules(instance).values():
        cost = sched.total_latency(instance)
        order = sorted(range(n), key=lambda i, st=sched.starts: (st[i], i))  # type: ignore[misc]
        cands.append((cost, sched, order))
        cands.append((*list_schedule(instance, order), order))
    for key in _ORDER_KEYS.values():
        order = sorted(range(n), key=lambda i, k=key: (k(reqs[i]), reqs[i].arrival, i))  # type: ignore[misc]
        cands.append((*list_schedule(instance, order), order))
    cands.sort(key=lambda c: c[0])
    best_cost, best_sched, best_order = cands[0]
    if local_search:
        seen: set[tuple[int, ...]] = set()
        for k, (_, _, order) in enumerate(cands[:3]):
            if tuple(order) in seen:
                continue
            seen.add(tuple(order))
            c, sch, _ = _local(instance, order, max_evals=max_evals, seed=seed + k)
            if c < best_cost:
                best_cost, best_sched = c, sch
    verdict = check(instance, best_sched)
    if not verdict or best_sched.total_latency(instance) != best_cost:
        raise AssertionError(f"upper bound schedule failed the checker: {verdict.reason}")
    return best_cost, best_sched


_local = local_search
