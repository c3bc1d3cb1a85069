"""Exact branch and bound over schedule states, all arrivals at 0 (issue 3, item 7).

State at the start of a round: the set ``U`` of requests not yet started and the running requests
with the number of rounds each has run. With all arrivals at 0 the total latency is
``L = sum_t #{unfinished requests in round t}`` (``docs/model.md`` §3), so the cost-to-go of a
state does not depend on the round and a transposition table can key on the
state alone. A decision starts a subset ``S`` of ``U``; the round costs ``|U| + |running|``.

The search is a depth-first branch and bound with budgets: ``search(state, B)`` returns the exact
cost-to-go if it is ``< B``, else a proven lower bound ``>= B``; the table keeps either. The root
is searched with ``B = UB`` (the warm start's cost): a result below ``UB`` is the optimum (with
its schedule), a result ``>= UB`` proves the incumbent optimal.

Exact prunings (each keeps at least one optimal schedule):

* look-ahead: running sets whose memory would exceed ``M`` in some future round even with
  nothing else admitted are never created (necessary in every feasible schedule);
* no empty round: if nothing runs, ``S`` is nonempty (shift every later start one round earlier:
  feasible, cheaper; all requests have arrived);
* identical requests (same ``s, o``) start in index order (swapping two identical requests maps
  schedules to schedules of equal cost);
* the bound :func:`state_lower_bound` (proof in its docstring);
* the Lagrangian bound :func:`lagrangian_lower_bound` (the memory rows of the time-indexed
  MILP relaxed with multipliers per coming round; its optimum is the LP bound plus
  ``p_j >= e_j``), on by default (``lagrangian=True``): at a node whose fluid bound is within
  ``lag_gap`` of the budget, a few projected subgradient steps (Polyak step towards the
  budget) warm-started from the parent's multipliers shifted one round; the node's
  multipliers, shifted again, bound its children before they are searched (any multipliers
  give a valid bound, so none of this affects exactness). On the benchmark's n = 12
  instances it cuts the nodes searched 5-15 fold (``docs/offline_opt.md``);
* optional (``semi_active=True``, off by default because on random instances it splits the
  table more than it prunes): a request that fitted in the previous round (``s_i + 1 <=``
  that round's free memory) may start now only if some round of its run other than the last
  is full (memory exactly ``M``). Otherwise moving it alone one round earlier is feasible
  (its first round fits, later rounds gain one token each and none was full, its last round
  is freed) and strictly cheaper, so no optimal schedule violates the rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ratio.model import Instance, Schedule

__all__ = ["BnbOutcome", "lagrangian_lower_bound", "solve_bnb", "state_lower_bound"]

Running = tuple[tuple[int, int], ...]

#: Default of :func:`solve_bnb`'s ``lagrangian`` (the benchmark switches it off for its
#: ``bnb_fluid`` baseline).
LAGRANGIAN = True

#: Default of :func:`solve_bnb`'s ``engine`` (the benchmark sets ``"python"`` for its
#: ``bnb_python`` baseline).
ENGINE = "auto"


@dataclass(frozen=True)
class BnbOutcome:
    """``schedule``: an optimal schedule if the search found one better than ``ub`` (else
    ``None``: the incumbent is optimal or the search timed out); ``bound``: proven ``LB``."""

    schedule: Schedule | None
    bound: int
    timed_out: bool
    nodes: int


class _Timeout(Exception):
    pass


class _Search:
    def __init__(
        self,
        instance: Instance,
        deadline: float | None,
        semi_active: bool = False,
        lagrangian: bool = True,
    ) -> None:
        reqs = instance.requests
        self.n = len(reqs)
        self.M = instance.capacity
        self.s = [r.prompt for r in reqs]
        self.o = [r.output for r in reqs]
        self.v = [r.volume for r in reqs]
        # d_j = o_j - c_j (shape offset of the mean-busy-time bound), as float
        self.d = []
        for r in reqs:
            s, o = r.prompt, r.output
            cnum = s * o * (o + 1) // 2 + o * (o + 1) * (2 * o + 1) // 6
            self.d.append(o + 0.5 - cnum / r.volume)
        # identical predecessor: twin[i] = largest j < i with the same (s, o), else -1
        self.twin = [-1] * self.n
        last: dict[tuple[int, int], int] = {}
        for i, r in enumerate(reqs):
            key = (r.prompt, r.output)
            self.twin[i] = last.get(key, -1)
            last[key] = i
        # request order by volume, for the bounds
        self.by_volume = sorted(range(self.n), key=lambda j: (self.v[j], j))
        self.by_output = sorted(range(self.n), key=lambda j: (self.o[j], j))
        self.tt: dict[tuple[int, Running, int, int], tuple[int, bool, Any]] = {}
        self.semi_active = semi_active
        self.max_s1 = max((r.prompt + 1 for r in reqs), default=1)
        self.fits_cache: dict[Running, bool] = {}
        self.h_cache: dict[tuple[int, Running], int] = {}
        self.e_cache: dict[Running, list[int]] = {}
        self.deadline = deadline
        self.nodes = 0
        self.lagrangian = lagrangian
        self.lag_iters = 12
        self.theta = 1.0
        self.lag_gap = 15
        self.lag_min_jobs = 1
        self.child_lag = True
        self.sa = np.array(self.s, dtype=np.float64)
        self.oa = np.array(self.o, dtype=np.int64)
        self.lams: dict[tuple[int, Running, int, int], np.ndarray] = {}

    # -- feasibility -----------------------------------------------------------------------
    def fits(self, running: Running) -> bool:
        hit = self.fits_cache.get(running)
        if hit is not None:
            return hit
        s, o, M = self.s, self.o, self.M
        ok = True
        for i, ki in running:
            dd = o[i] - ki - 1
            tot = 0
            for j, kj in running:
                if o[j] - kj - 1 >= dd:
                    tot += s[j] + kj + dd + 1
            if tot > M:
                ok = False
                break
        self.fits_cache[running] = ok
        return ok

    # -- bound -------------------------------------------------------------------------------
    def h(self, unstarted: int, running: Running) -> int:
        key = (unstarted, running)
        hit = self.h_cache.get(key)
        if hit is not None:
            return hit
        val = self._h(unstarted, running)
        self.h_cache[key] = val
        return val

    def residual(self, running: Running) -> tuple[int, int, list[int]]:
        """Rounds the running requests still owe (``base``), the round they all finish by
        (``horizon``) and the capacity ``cap[d]`` they leave in each coming round ``d``."""
        s, o = self.s, self.o
        base = 0
        horizon = 0
        for i, k in running:
            rem = o[i] - k
            base += rem
            if rem > horizon:
                horizon = rem
        cap = [self.M] * horizon
        for i, k in running:
            si = s[i] + k
            for dd in range(o[i] - k):
                cap[dd] -= si + dd + 1
        return base, horizon, cap

    def _h(self, unstarted: int, running: Running) -> int:
        o = self.o
        base, horizon, cap = self.residual(running)
        if not unstarted:
            return base
        jobs = [j for j in self.by_volume if unstarted >> j & 1]
        e = self.earliest(running, cap, horizon)
        # area bound (model §11 on the residual capacity) with C_j >= e_j + o_j
        fl = self._fluid(jobs, cap, horizon)
        ends = sorted(e[j] + o[j] for j in jobs)
        area = 0
        for kth, (_, _, done_at) in enumerate(fl):
            area += max(done_at, ends[kth])
        # mean-busy-time bound, lambda = 1 for every job
        d = self.d
        mbt = 0.0
        late = []
        for j, m, _ in fl:
            mbt += m + d[j]
            if m < e[j] + o[j] - d[j]:  # fluid MBT below e_j + c_j: lambda_j = 0 gains
                late.append(j)
        best = max(area, math.ceil(mbt - 1e-7))
        for _ in range(2):
            if not late:
                break
            # lambda_j = 0 for the jobs in `late`: they count e_j + o_j and leave the fluid
            keep = [j for j in jobs if j not in late]
            mbt2 = float(sum(e[j] + o[j] for j in late))
            more = []
            for j, m, _ in self._fluid(keep, cap, horizon):
                mbt2 += m + d[j]
                if m < e[j] + o[j] - d[j]:
                    more.append(j)
            best = max(best, math.ceil(mbt2 - 1e-7))
            late = late + more if more else []
        return base + best

    def lag(
        self,
        unstarted: int,
        running: Running,
        budget: int,
        lam0: np.ndarray | None,
        iters: int,
    ) -> tuple[int, np.ndarray]:
        """Lagrangian bound (memory rows relaxed with multipliers ``lam >= 0``); see
        :func:`lagrangian_lower_bound`. Subgradient steps (Polyak, target ``budget``) from
        ``lam0``; returns the best bound found (with the running requests' rounds) and the
        multipliers that gave it."""
        # long: the pure-Python search offline_opt.bnb_jit mirrors step by step (tested against it)
        o, M = self.o, self.M
        base, horizon, capl = self.residual(running)
        jobs = [j for j in range(self.n) if unstarted >> j & 1]
        e_all = self.earliest(running, capl, horizon)
        H = horizon + sum(o[j] for j in jobs)
        cap = np.full(H, float(M))
        cap[:horizon] = capl
        ja = np.array(jobs, dtype=np.int64)
        oj = self.oa[ja][:, None]
        sj = self.sa[ja][:, None]
        ej = np.array([e_all[j] for j in jobs])[:, None]
        pr = np.arange(H + 1)
        Q = np.minimum(pr + oj, H)
        # the start p_j >= e_j: earlier starts cost +inf
        constpen = np.where(pr < ej, math.inf, (pr + oj).astype(np.float64))
        coef = sj + 1.0 - pr
        rows = np.arange(len(jobs))
        o1 = oj[:, 0]
        s1 = sj[:, 0] + 1.0
        ones2 = np.concatenate((np.ones(len(jobs)), -np.ones(len(jobs))))
        tt = np.arange(H, dtype=np.float64)
        lam = np.zeros(H)
        if lam0 is not None:
            m = min(H, len(lam0))
            lam[:m] = lam0[:m]
        best = -math.inf
        best_lam = lam
        need = budget - base
        A = np.zeros(H + 1)
        B = np.zeros(H + 1)
        for _ in range(iters):
            np.cumsum(lam, out=A[1:])
            np.cumsum(tt * lam, out=B[1:])
            cost = constpen + coef * (A[Q] - A) + (B[Q] - B)
            pj = cost.argmin(axis=1)
            val = float(cost[rows, pj].sum() - lam @ cap)
            if val > best:
                best, best_lam = val, lam
                if math.ceil(best - 1e-6) >= need:
                    break
            # subgradient: memory of the chosen starts minus capacity
            qj = np.minimum(pj + o1, H)
            c0 = s1 - pj
            idx = np.concatenate((pj, qj))
            d0 = np.bincount(idx, np.concatenate((c0, -c0)), H + 1)
            d1 = np.bincount(idx, ones2, H + 1)
            g = np.cumsum(d0[:H]) + tt * np.cumsum(d1[:H]) - cap
            g[(lam <= 0) & (g < 0)] = 0.0
            nn = float(g @ g)
            if nn <= 0:
                break
            step = self.theta * max(need - val, 1.0) / nn
            lam = np.maximum(lam + step * g, 0.0)
        return base + max(math.ceil(best - 1e-6), 0), best_lam

    def child_terms(
        self, unstarted: int, lam: np.ndarray
    ) -> tuple[list[tuple[int, float]], list[float], list[float], float]:
        """For the children's Lagrangian bounds at multipliers ``lam`` shifted one round:
        per unstarted ``j`` its minimum over starts ``p >= 0``; prefix sums ``A1[r] =
        sum_{d<r} lam'_d``, ``B1[r] = sum_{d<r} d lam'_d``; ``sum lam' * M``."""
        lam1 = lam[1:]
        H = len(lam1)
        jobs = [j for j in range(self.n) if unstarted >> j & 1]
        ja = np.array(jobs, dtype=np.int64)
        oj = self.oa[ja][:, None]
        sj = self.sa[ja][:, None]
        pr = np.arange(H + 1)
        Q = np.minimum(pr + oj, H)
        A = np.zeros(H + 1)
        B = np.zeros(H + 1)
        tt = np.arange(H, dtype=np.float64)
        np.cumsum(lam1, out=A[1:])
        np.cumsum(tt * lam1, out=B[1:])
        cost = (pr + oj) + (sj + 1.0 - pr) * (A[Q] - A) + (B[Q] - B)
        mins = cost.min(axis=1).tolist()
        return list(zip(jobs, mins, strict=True)), A.tolist(), B.tolist(), float(A[-1]) * self.M

    def earliest(self, running: Running, cap: list[int], horizon: int) -> list[int]:
        """``e_j``: least relative round at which ``j`` fits beside ``running`` alone."""
        hit = self.e_cache.get(running)
        if hit is not None:
            return hit
        s, o = self.s, self.o
        out = []
        for j in range(self.n):
            sj, oj = s[j], o[j]
            dd = 0
            while dd < horizon:
                lim = min(oj, horizon - dd)
                ok = True
                for k in range(1, lim + 1):
                    if cap[dd + k - 1] < sj + k:
                        ok = False
                        break
                if ok:
                    break
                dd += 1
            out.append(dd)
        self.e_cache[running] = out
        return out

    def _fluid(self, jobs: list[int], cap: list[int], horizon: int) -> list[tuple[int, float, int]]:
        """Fill capacity ``cap`` (then ``M``) with ``jobs`` in order; per job its fluid mean
        busy time and its completion round (fluid completion rounded up)."""
        M = self.M
        out = []
        t = 0  # current round
        used = 0  # capacity already used in round t
        for j in jobs:
            need = self.v[j]
            num = 0.0  # integral of tau * rate over j's fluid service
            while need > 0:
                c = cap[t] if t < horizon else M
                free = c - used
                if free <= 0:
                    t += 1
                    used = 0
                    continue
                w = need if need < free else free
                # service of w at rate c inside round t, starting at offset used / c
                u = t + used / c
                num += w * u + w * w / (2 * c)
                used += w
                need -= w
                if used >= c:
                    t += 1
                    used = 0
            out.append((j, num / self.v[j], t if used == 0 else t + 1))
        return out

    # -- search ------------------------------------------------------------------------------
    def children(self, unstarted: int, running: Running) -> Iterator[tuple[int, Running]]:
        """Yield ``(mask, running after the admissions)`` for each allowed subset."""
        avail = [i for i in range(self.n) if unstarted >> i & 1]
        twin = self.twin
        fits = self.fits

        def rec(idx: int, mask: int, cur: Running) -> Iterator[tuple[int, Running]]:
            if idx == len(avail):
                if cur:
                    yield mask, cur
                return
            i = avail[idx]
            tw = twin[i]
            # identical requests start in index order: i may start only if its twin has
            # started already (not in U) or starts now (in mask)
            if tw < 0 or not unstarted >> tw & 1 or mask >> tw & 1:
                nxt = tuple(sorted(cur + ((i, 0),)))
                if fits(nxt):
                    yield from rec(idx + 1, mask | (1 << i), nxt)
            yield from rec(idx + 1, mask, cur)

        yield from rec(0, 0, running)

    def search(
        self,
        unstarted: int,
        running: Running,
        slack: int,
        owe: int,
        budget: int,
        lam: np.ndarray | None = None,
    ) -> int:
        """Cost-to-go below ``budget`` (exact) or a lower bound ``>= budget``.

        ``slack``: free memory in the previous round (``-1`` at round 0); ``owe``: running
        requests that still need a full round (semi-active rule, module docstring).
        """
        # long: the pure-Python search offline_opt.bnb_jit mirrors step by step (tested against it)
        if not unstarted and not running:
            return 0
        key = (unstarted, running, slack, owe)
        ent = self.tt.get(key)
        if ent is not None:
            val, exact, _ = ent
            if exact or val >= budget:
                return val
            lb = val
        else:
            lb = self.h(unstarted, running)
            if lb >= budget:
                self.tt[key] = (lb, False, -1)
                return lb
        if lam is not None:
            lam = lam[1:]  # the parent's multipliers, one round on
        if (
            self.lagrangian
            and budget - lb < self.lag_gap
            and unstarted
            and bin(unstarted).count("1") >= self.lag_min_jobs
        ):
            iters = self.lag_iters if lam is not None else 8 * self.lag_iters
            l0 = self.lams.get(key)
            if l0 is None:
                l0 = lam
            lb2, lam = self.lag(unstarted, running, budget, l0, iters)
            self.lams[key] = lam
            if lb2 > lb:
                lb = lb2
                if lb >= budget:
                    self.tt[key] = (lb, False, -1)
                    return lb
        self.nodes += 1
        if (
            self.deadline is not None
            and self.nodes % 512 == 0
            and time.perf_counter() > self.deadline
        ):
            raise _Timeout
        here = bin(unstarted).count("1") + len(running)
        o, s, M = self.o, self.s, self.M
        kids = []
        ct = None
        if lam is not None and unstarted and self.lagrangian and self.child_lag:
            ct = self.child_terms(unstarted, lam)
        for mask, cur in self.children(unstarted, running):
            mem = 0
            new_owe = owe
            ok = True
            for i, k in cur:
                mem += s[i] + k + 1
                if k == 0 and s[i] + 1 <= slack:
                    if o[i] == 1:
                        ok = False  # could run one round earlier: never in an optimal schedule
                        break
                    new_owe |= 1 << i
            if not ok:
                continue
            if mem == M:
                new_owe = 0
            elif new_owe:
                for i, k in cur:
                    if k + 1 == o[i] and new_owe >> i & 1:
                        ok = False
                        break
                if not ok:
                    continue
            nr = tuple((i, k + 1) for i, k in cur if k + 1 < o[i])
            if new_owe:
                live = 0
                for i, _ in nr:
                    live |= 1 << i
                new_owe &= live
            nu = unstarted & ~mask
            ns = M - mem if self.semi_active else -1
            if ns > self.max_s1:
                ns = self.max_s1
            if ct is not None:
                # the Lagrangian bound of the child at this node's multipliers, one round
                # on (e_j relaxed to 0): see lagrangian_lower_bound
                mins, A1, B1, tot = ct
                lv = -tot
                for j, mj in mins:
                    if nu >> j & 1:
                        lv += mj
                for i, k in nr:
                    r = o[i] - k
                    if r >= len(A1):
                        r = len(A1) - 1
                    lv += (s[i] + k + 1) * A1[r] + B1[r] + o[i] - k
                hk = max(math.ceil(lv - 1e-6), 0)
                if here + hk < budget:
                    hk = max(hk, self.h(nu, nr))
            else:
                hk = self.h(nu, nr)
            kids.append((here + hk, mask, nu, nr, ns, new_owe))
        kids.sort(key=lambda c: c[0])
        best = math.inf
        best_kid = None
        low = math.inf
        for kid in kids:
            f = kid[0]
            cap = budget if budget < best else best
            if f >= cap:
                if f < low:
                    low = f
                break  # sorted: every later child is at least as bad
            r = self.search(kid[2], kid[3], kid[4], kid[5], int(cap) - here, lam)
            val = here + r
            if val < cap:
                best, best_kid = val, kid
            if val < low:
                low = val
        if best < budget:
            self.tt[key] = (int(best), True, best_kid)
            return int(best)
        res = max(int(low) if low < math.inf else budget, budget, lb)
        self.tt[key] = (res, False, None)
        return res


def state_lower_bound(instance: Instance, unstarted: int, running: Running) -> int:
    """Lower bound on the cost-to-go of a state (all arrivals at 0); the B&B's pruning bound.

    ``running`` holds ``(i, k)``: request ``i`` has run ``k`` rounds; ``unstarted`` is a bit
    mask. Times are relative to the current round. Let ``cap(d) = M - (memory of the running
    requests in the d-th coming round)``, ``e_j`` the least ``d`` at which ``j`` alone fits
    beside the running requests (``s_j + k <= cap(d + k - 1)`` for ``k = 1..o_j``), ``c_j``,
    ``d_j`` as in :func:`offline_opt.bounds.shape_offset`. The bound is
    ``sum_running (o_i - k_i) + max(A, B_0, B_1, ...)`` with

    * ``A = sum_k max(D_k, E_(k))``: ``D_k`` the least ``D`` with
      ``sum_{d < D} cap(d) >= prefix_k(V)`` (unstarted volumes ascending), ``E`` the sorted
      ``e_j + o_j``;
    * ``B_lambda = ceil(sum_{lambda_j = 1} (MBT*_j + d_j) + sum_{lambda_j = 0} (e_j + o_j))``,
      ``MBT*`` the mean busy times when the jobs with ``lambda_j = 1`` fill ``cap`` smallest
      volume first; ``lambda`` ranges over a few 0/1 vectors chosen by the code.

    Proof. Running requests cannot stop: they finish in exactly ``o_i - k_i`` more rounds and
    hold the memory that defines ``cap``; every unstarted ``j`` needs its whole ramp to fit
    beside them, so ``p_j >= e_j`` and ``C_j >= e_j + o_j`` (other requests only take more
    memory). ``A``: the first ``k`` unstarted requests to complete use at least
    ``prefix_k(V)`` token-rounds inside capacity ``cap`` by their completion (the area argument
    of model §11), and the ``k``-th smallest completion is at least the ``k``-th smallest
    ``e_j + o_j``. ``B``: as in :func:`offline_opt.bounds.mean_busy_time_lower_bound`, each
    unstarted ``j`` has ``C_j = MBT_j + d_j`` and ``MBT_j >= e_j + c_j``, so for
    ``lambda_j in [0, 1]``: ``C_j >= lambda_j (MBT_j + d_j) + (1 - lambda_j)(e_j + o_j)``. The
    tokens of the unstarted requests spread evenly over their rounds form a fluid schedule
    within ``cap``; minimising ``sum_j lambda_j MBT_j = sum_j (lambda_j / V_j) int tau
    rate_j`` under ``sum_j rate_j <= cap``, ``int rate_j = V_j`` is a transportation problem
    whose costs ``tau lambda_j / V_j`` form a Monge array once jobs are sorted by
    ``lambda_j / V_j`` decreasing, so filling the earliest capacity in that order (smallest
    volume first among ``lambda_j = 1``; ``lambda_j = 0`` jobs cost nothing) is optimal. Each
    of ``A``, ``B_lambda`` is therefore a lower bound on the remaining latency of the
    unstarted requests in every feasible continuation; latencies are integers. QED.
    """
    return _Search(instance, None).h(unstarted, running)


def lagrangian_lower_bound(
    instance: Instance,
    unstarted: int,
    running: Running = (),
    *,
    iterations: int = 200,
    target: int | None = None,
) -> int:
    """Lagrangian lower bound on the cost-to-go of a state (all arrivals at 0).

    State and ``cap(d)``, ``e_j`` as in :func:`state_lower_bound`. For multipliers
    ``lam_d >= 0`` (one per coming round ``d < H``, zero beyond)

    ``L(lam) = sum_running (o_i - k_i) + sum_{j unstarted} min_{p >= e_j} (p + o_j +
    sum_{k=1..o_j} lam_{p+k-1} (s_j + k)) - sum_d lam_d cap(d)``

    is a lower bound, and the bound returned is ``ceil(max L)`` over the multipliers visited by
    projected subgradient steps (Polyak step towards ``target``, default the cost of the best
    upper bound). The per-request minimum is over starts ``p`` in ``e_j..H`` (beyond ``H``
    the cost ``p + o_j`` only grows).

    Proof. In any feasible continuation the running requests finish after exactly
    ``o_i - k_i`` more rounds, each unstarted ``j`` starts at some ``p_j >= e_j`` (it must fit
    beside the running requests alone, :func:`state_lower_bound`) and completes at
    ``p_j + o_j``, and the memory of the unstarted requests in round ``d``,
    ``mem(d) = sum_j [p_j < d + 1 <= p_j + o_j] (s_j + d - p_j + 1)``, is at most ``cap(d)``
    (``docs/model.md`` §2). With ``lam >= 0``:
    ``sum_j C_j >= sum_j C_j + sum_d lam_d (mem(d) - cap(d)) = sum_j (p_j + o_j +
    sum_k lam_{p_j+k-1} (s_j + k)) - sum_d lam_d cap(d) >= L(lam) - base``, each request's
    term being at least its minimum over ``p >= e_j``. Latencies are integers, so the
    ceiling is a bound too (a float tolerance of ``1e-6`` guards the rounding). This is the
    Lagrangian dual of the time-indexed MILP's memory rows (its optimum is the LP bound), with
    ``p_j >= e_j`` added. QED.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> lagrangian_lower_bound(inst, 0b111) <= 9
    True
    """
    if not unstarted and not running:
        return 0
    sr = _Search(instance, None)
    if target is None:
        from offline_opt.upper import best_upper_bound

        target = best_upper_bound(instance)[0]
    if not unstarted:
        return sr.h(0, running)
    return sr.lag(unstarted, running, target, None, iterations)[0]


def solve_bnb(
    instance: Instance,
    *,
    ub: int,
    incumbent: Schedule | None = None,
    time_limit: float | None = None,
    semi_active: bool = False,
    lagrangian: bool | None = None,
    engine: str | None = None,
) -> BnbOutcome:
    """Exact optimum of an all-at-zero instance by branch and bound below ``ub``.

    Parameters
    ----------
    ub
        Cost of a feasible schedule (the incumbent).
    time_limit
        Seconds; on expiry the bound is the root's (fluid and Lagrangian) and ``timed_out``
        is set.
    semi_active
        The optional semi-active rule of the module docstring.
    lagrangian
        Use the Lagrangian bound in the search (module docstring); ``None``: the module
        default :data:`LAGRANGIAN` (``True``).
    engine
        ``"jit"``: the compiled engine :mod:`offline_opt.bnb_jit` (same search and bounds,
        about 25 times faster; needs numba); ``"python"``: this module's; ``"auto"``
        (default): compiled when numba is installed, the state packs (:func:`bnb_jit.supports`)
        and ``semi_active`` is off, else Python; ``None``: the module default :data:`ENGINE`.

    Returns
    -------
    BnbOutcome
        ``bound == OPT`` unless timed out; ``schedule`` is an optimal schedule when
        ``OPT < ub`` (the caller verifies it with ``ratio.check``).
    """
    # long: the pure-Python search offline_opt.bnb_jit mirrors step by step (tested against it)
    if not instance.all_at_zero:
        raise ValueError("solve_bnb needs all arrivals at 0")
    if engine is None:
        engine = ENGINE
    if engine not in ("auto", "jit", "python"):
        raise ValueError(f"engine must be 'auto', 'jit' or 'python', got {engine!r}")
    if lagrangian is None:
        lagrangian = LAGRANGIAN
    if engine != "python" and not semi_active:
        from offline_opt import bnb_jit

        outs = [r.output for r in instance.requests]
        if bnb_jit.available() and bnb_jit.supports(outs):
            starts, bound, timed_out, nodes = bnb_jit.run_search(
                [r.prompt for r in instance.requests],
                outs,
                instance.capacity,
                ub,
                time_limit,
                lagrangian=lagrangian,
                table_bits=min(22, 10 + instance.n),
            )
            sched = None if starts is None else Schedule(tuple(starts))
            return BnbOutcome(sched, bound, timed_out, nodes)
        if engine == "jit":
            raise ValueError("the compiled engine needs numba and at most 36 requests")
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    sr = _Search(instance, deadline, semi_active, lagrangian)
    full = (1 << instance.n) - 1
    root_lb = sr.h(full, ())
    try:
        val = sr.search(full, (), -1, 0, ub)
    except _Timeout:
        # the root's Lagrangian bound (about the LP bound) is usually the stronger one
        lag_root = sr.lag(full, (), ub, sr.lams.get((full, (), -1, 0)), 300)[0]
        return BnbOutcome(None, min(max(root_lb, lag_root), ub), True, sr.nodes)
    if val >= ub:
        return BnbOutcome(None, ub, False, sr.nodes)
    # reconstruct from the exact table entries
    starts = [-1] * instance.n
    key: tuple[int, Running, int, int] = (full, (), -1, 0)
    t = 0
    while key[0] or key[1]:
        ent = sr.tt.get(key)
        if ent is None or not ent[1]:
            raise AssertionError("branch and bound lost the optimal path")
        _, mask, nu, nr, ns, nowe = ent[2]
        for i in range(instance.n):
            if mask >> i & 1:
                starts[i] = t
        key = (nu, nr, ns, nowe)
        t += 1
    return BnbOutcome(Schedule(tuple(starts)), val, False, sr.nodes)
