"""Exact optimum of small instances by dynamic programming over rounds (``docs/model.md`` §2, 3).

Independent of the MILP (it shares no code with :mod:`offline_opt.milp`): it is the referee the
tests use to validate the MILP on thousands of random instances.

State at the start of round ``t`` (before admissions): the set ``U`` of requests not yet
started and the running requests with the number of rounds each has already run. A decision
starts a subset ``S`` of the arrived members of ``U``; the round then costs the number of
arrived unfinished requests (``L = sum_i (C_i - a_i) = sum_t #{i : a_i <= t < C_i}``) and every
running request advances one round. Once every request has arrived the cost-to-go no longer
depends on ``t`` (``docs/offline_opt.md``), so the memo drops ``t`` then.

Pruning, each exact:

* Look-ahead: a set of running requests is only allowed if its memory, with nothing else ever
  admitted, stays ``<= M`` in every future round. Necessary in every feasible schedule (other
  requests only add memory), so no optimal schedule is cut.
* After the last arrival, a round with nothing running and nothing started is never taken:
  shifting every later start one round earlier keeps feasibility (each round's set of runs and
  their memory is the same as one round later in the original schedule; all requests have
  arrived) and lowers the cost by the number of unfinished requests. Hence an optimal schedule
  without such a round exists. Before the last arrival idling may pay and is allowed.
* With nothing running and nothing arrived, time jumps to the next arrival (those rounds cost
  nothing and no decision is possible).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance, Schedule

__all__ = ["solve_exact", "MAX_N"]

MAX_N = 7

Running = tuple[tuple[int, int], ...]  # (request, rounds already run), sorted by request


def _fits(running: Running, s: list[int], o: list[int], M: int) -> bool:
    """Memory of ``running`` (each at progress k, about to run round k+1) stays <= M forever."""
    for i, ki in running:
        d = o[i] - ki - 1  # last round (relative, 0-based) of request i
        tot = 0
        for j, kj in running:
            if o[j] - kj - 1 >= d:
                tot += s[j] + kj + d + 1
        if tot > M:
            return False
    return True


def solve_exact(instance: Instance) -> tuple[int, Schedule]:
    """Exact optimum ``(OPT, schedule)`` for ``n <= 7`` requests, by dynamic programming.

    Parameters
    ----------
    instance
        Any instance (arrivals allowed) with at most :data:`MAX_N` requests.

    Returns
    -------
    (cost, schedule)
        The least total latency and a schedule achieving it, verified by ``ratio.check``.

    Raises
    ------
    InputError
        If ``n > MAX_N``.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> solve_exact(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]))[0]
    9
    """
    # long: the tests' referee: one dynamic program, kept whole to be read against docs/model.md
    n = instance.n
    if n > MAX_N:
        raise InputError(f"solve_exact handles n <= {MAX_N} requests, got {n}")
    if n == 0:
        return 0, Schedule(())
    reqs = instance.requests
    M = instance.capacity
    s = [r.prompt for r in reqs]
    o = [r.output for r in reqs]
    a = [r.arrival for r in reqs]
    a_max = max(a)
    memo: dict[tuple[int, int, Running], tuple[int, int, int]] = {}
    INF = 1 << 60
    fits_cache: dict[Running, bool] = {}

    def subsets(avail: list[int], running: Running) -> Iterator[tuple[int, Running]]:
        """Yield (mask, new running) for each subset of ``avail`` fitting with ``running``."""

        def rec(idx: int, mask: int, cur: Running) -> Iterator[tuple[int, Running]]:
            if idx == len(avail):
                yield mask, cur
                return
            yield from rec(idx + 1, mask, cur)
            i = avail[idx]
            nxt = tuple(sorted(cur + ((i, 0),)))
            ok = fits_cache.get(nxt)
            if ok is None:
                ok = fits_cache[nxt] = _fits(nxt, s, o, M)
            if ok:
                yield from rec(idx + 1, mask | (1 << i), nxt)

        yield from rec(0, 0, running)

    def f(t: int, unstarted: int, running: Running) -> int:
        if unstarted == 0 and not running:
            return 0
        key = (t if t < a_max else -1, unstarted, running)
        hit = memo.get(key)
        if hit is not None:
            return hit[0]
        avail = [i for i in range(n) if unstarted >> i & 1 and a[i] <= t]
        if not running and not avail:
            nxt_t = min(a[i] for i in range(n) if unstarted >> i & 1)
            val = f(nxt_t, unstarted, running)
            memo[key] = (val, 0, nxt_t)
            return val
        best, best_mask = INF, -1
        here = len(avail) + len(running)
        for mask, cur in subsets(avail, running):
            if not cur and t >= a_max:
                continue  # idle round after the last arrival: dominated (module docstring)
            nxt_run = tuple((i, k + 1) for i, k in cur if k + 1 < o[i])
            val = here + f(t + 1, unstarted & ~mask, nxt_run)
            if val < best:
                best, best_mask = val, mask
        memo[key] = (best, best_mask, t + 1)
        return best

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10_000 + 4 * sum(o) + 4 * a_max))
    try:
        cost = f(0, (1 << n) - 1, ())
        # Reconstruct by replaying the memoised decisions.
        starts = [-1] * n
        t, unstarted = 0, (1 << n) - 1
        running: Running = ()
        while unstarted or running:
            _, mask, nxt_t = memo[(t if t < a_max else -1, unstarted, running)]
            if not running and not any(unstarted >> i & 1 and a[i] <= t for i in range(n)):
                t = nxt_t
                continue
            cur = list(running)
            for i in range(n):
                if mask >> i & 1:
                    starts[i] = t
                    cur.append((i, 0))
            running = tuple(sorted((i, k + 1) for i, k in cur if k + 1 < o[i]))
            unstarted &= ~mask
            t += 1
    finally:
        sys.setrecursionlimit(old)
    sched = Schedule(tuple(starts))
    verdict = check(instance, sched)
    if not verdict or sched.total_latency(instance) != cost:
        raise AssertionError(f"exact DP produced a bad schedule: {verdict.reason}")
    return cost, sched
