"""Compiled engine of the branch and bound of :mod:`offline_opt.bnb` (numba; issue 3, item 7).

The same search as :class:`offline_opt.bnb._Search` (all arrivals at 0; states = unstarted
requests plus the running requests with the rounds they have run; a round costs the number of
unfinished requests; depth-first with budgets and a transposition table), the same exact
prunings (look-ahead feasibility, no empty round, identical requests in index order) and the
same bounds, with their proofs in :mod:`offline_opt.bnb`:

* :func:`offline_opt.bnb.state_lower_bound` (area, mean busy time, earliest fit), at every node;
* :func:`offline_opt.bnb.lagrangian_lower_bound` (the memory rows relaxed with multipliers per
  coming round), a few projected subgradient steps at nodes close to their budget, warm-started
  from the parent's multipliers one round on; the node's multipliers bound its children.

What differs is only the engineering: compiled loops instead of Python and numpy calls (about
30 times less time per node), a state packed into a few integers (5 bits per request: 0 =
waiting, ``k`` = running for ``k`` rounds, ``o`` = finished), and a fixed-size hash table with
linear probing in place of a dictionary. A table entry that is overwritten only loses a cached
bound, never exactness; the optimal path is read back from the table and re-searched where an
entry was lost. A schedule found here is re-verified by ``ratio.check`` in
:func:`offline_opt.solve` like every other.

numba is optional (``pip install 'kvratio[opt]'`` brings it); without it :func:`available` is
false and :func:`offline_opt.bnb.solve_bnb` runs the Python engine.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ratio.jitcache import compile_announced, compiled_marker

try:  # pragma: no cover - exercised by whichever environment runs the tests
    from numba import njit, objmode

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

__all__ = ["available", "supports", "buffer_bytes", "run_search", "warm"]

# integer parameters, array P
_N, _M, _BITS, _PERW, _NODES, _TIMEOUT, _LAGON, _LAGIT, _LAGGAP, _TMASK, _CHECK = range(11)
# float parameters, array F
_DEADLINE, _THETA = range(2)
_EMPTY, _LOWER, _EXACT = 0, 1, 2
_PROBE = 12
_INF = 1 << 60


def available() -> bool:
    """Whether numba is installed (the compiled engine can run)."""
    return _HAVE_NUMBA


def supports(outputs: list[int]) -> bool:
    """Whether the packed state fits (3 words of 60 bits, ``bits(max o)`` bits per request)
    and the per-depth buffers fit in memory (:func:`buffer_bytes` at most
    :data:`MAX_BUFFER_BYTES`)."""
    if not outputs:
        return False
    bits = max(int(max(outputs)).bit_length(), 1)
    return len(outputs) <= 3 * (60 // bits) and buffer_bytes(outputs) <= MAX_BUFFER_BYTES


#: Most bytes the per-depth buffers of one search may take (the search keeps a row of
#: ``sum(o) + 2`` floats per depth, and the depth can reach ``sum(o) + 2``).
MAX_BUFFER_BYTES = 1 << 28


def buffer_bytes(outputs: list[int]) -> int:
    """Bytes of the per-depth buffers: ``(sum o + 3) x (sum o + 2)`` floats plus
    ``(sum o + 3) x n`` ints; quadratic in ``sum o``, so refused above
    :data:`MAX_BUFFER_BYTES` rather than allocated (5.8 GB at ``n = 8`` with outputs up to
    5000)."""
    depth = sum(outputs) + 2
    return 8 * (depth + 1) * (depth + len(outputs))


if _HAVE_NUMBA:

    @njit(cache=True)
    def _key(codes: Any, P: Any) -> tuple[int, int, int]:
        n, bits, perw = P[_N], P[_BITS], P[_PERW]
        w0 = 0
        w1 = 0
        w2 = 0
        for j in range(n):
            w = j // perw
            sh = (j - w * perw) * bits
            if w == 0:
                w0 |= codes[j] << sh
            elif w == 1:
                w1 |= codes[j] << sh
            else:
                w2 |= codes[j] << sh
        return w0, w1, w2

    @njit(cache=True)
    def _slot(w0: int, w1: int, w2: int, P: Any) -> int:
        h = w0 * 0x1E3779B97F4A7C15 + w1 * 0x42B2AE3D27D4EB4F + w2 * 0x165667B19E3779F9
        h ^= h >> 29
        h *= 0x3F58476D1CE4E5B9
        h ^= h >> 32
        return h & P[_TMASK]

    @njit(cache=True)
    def _tt_get(w0: int, w1: int, w2: int, TK: Any, TV: Any, TF: Any, P: Any) -> int:
        """Index of the entry of the key, or -1."""
        mask = P[_TMASK]
        i = _slot(w0, w1, w2, P)
        for _ in range(_PROBE):
            f = TF[i]
            if f == _EMPTY:
                return -1
            if TK[i, 0] == w0 and TK[i, 1] == w1 and TK[i, 2] == w2:
                return i
            i = (i + 1) & mask
        return -1

    @njit(cache=True)
    def _tt_put(
        w0: int,
        w1: int,
        w2: int,
        val: int,
        flag: int,
        choice: int,
        TK: Any,
        TV: Any,
        TF: Any,
        TC: Any,
        P: Any,
    ) -> None:
        mask = P[_TMASK]
        i = _slot(w0, w1, w2, P)
        first = i
        for _ in range(_PROBE):
            f = TF[i]
            if f == _EMPTY or (TK[i, 0] == w0 and TK[i, 1] == w1 and TK[i, 2] == w2):
                break
            i = (i + 1) & mask
        else:
            i = first  # full neighbourhood: overwrite (a cached bound is lost, nothing else)
        TK[i, 0] = w0
        TK[i, 1] = w1
        TK[i, 2] = w2
        TV[i] = val
        TF[i] = flag
        TC[i] = choice

    @njit(cache=True)
    def _residual(codes: Any, s: Any, o: Any, P: Any, cap: Any) -> tuple[int, int]:
        """Rounds still owed by the running requests (``base``) and the residual capacity
        ``cap[d]`` beside them for ``d < horizon``; returns ``(base, horizon)``."""
        n, M = P[_N], P[_M]
        base = 0
        horizon = 0
        for i in range(n):
            k = codes[i]
            if 0 < k < o[i]:
                rem = o[i] - k
                base += rem
                if rem > horizon:
                    horizon = rem
        for d in range(horizon):
            cap[d] = M
        for i in range(n):
            k = codes[i]
            if 0 < k < o[i]:
                si = s[i] + k
                for dd in range(o[i] - k):
                    cap[dd] -= si + dd + 1
        return base, horizon

    @njit(cache=True)
    def _earliest(codes: Any, s: Any, o: Any, P: Any, cap: Any, horizon: int, e: Any) -> None:
        """``e[j]``: least relative round at which waiting ``j`` fits beside the running ones."""
        n = P[_N]
        for j in range(n):
            if codes[j] != 0:
                continue
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
            e[j] = dd

    @njit(cache=True)
    def _fluid(
        jobs: Any, nj: int, V: Any, cap: Any, horizon: int, M: int, m_out: Any, done_out: Any
    ) -> None:
        """Fill ``cap`` (then ``M``) with ``jobs[:nj]`` in order: fluid mean busy time and
        completion round per job (``bnb._Search._fluid``)."""
        t = 0
        used = 0
        for idx in range(nj):
            j = jobs[idx]
            need = V[j]
            num = 0.0
            while need > 0:
                c = cap[t] if t < horizon else M
                free = c - used
                if free <= 0:
                    t += 1
                    used = 0
                    continue
                w = need if need < free else free
                u = t + used / c
                num += w * u + w * w / (2.0 * c)
                used += w
                need -= w
                if used >= c:
                    t += 1
                    used = 0
            m_out[idx] = num / V[j]
            done_out[idx] = t if used == 0 else t + 1

    @njit(cache=True)
    def _step(codes: Any, mask: int, o: Any, child: Any) -> None:
        """``child``: the state one round after ``codes`` when the requests in ``mask`` start
        (waiting ones in the mask start, running ones advance, finished ones stay)."""
        for i in range(codes.shape[0]):
            k = codes[i]
            if k == 0:
                child[i] = 1 if (mask >> i) & 1 else 0
            elif k < o[i]:
                child[i] = k + 1
            else:
                child[i] = k

    @njit(cache=True)
    def _best_start(sj: int, oj: int, lo: int, H: int, A: Any, B: Any) -> tuple[float, int]:
        """A request's term of the Lagrangian: ``min over p in lo..H`` of
        ``p + o + sum_{k=1..o} lam_{p+k-1} (s + k)`` (rounds from ``H`` on carry no
        multiplier), from the prefix sums ``A[r] = sum_{d<r} lam_d``, ``B[r] = sum_{d<r} d
        lam_d``; returns the minimum and its start."""
        c1 = sj + 1.0
        bc = 1e300
        bp = lo
        for p in range(lo, H + 1):
            q = p + oj
            if q > H:
                q = H
            c = p + oj + (c1 - p) * (A[q] - A[p]) + (B[q] - B[p])
            if c < bc:
                bc = c
                bp = p
        return bc, bp

    @njit(cache=True)
    def _h(codes: Any, s: Any, o: Any, V: Any, dsh: Any, byvol: Any, P: Any) -> int:
        """:func:`offline_opt.bnb.state_lower_bound` of the state ``codes``."""
        n, M = P[_N], P[_M]
        cap = np.empty(32 + int(o.max()), dtype=np.int64)
        base, horizon = _residual(codes, s, o, P, cap)
        jobs = np.empty(n, dtype=np.int64)
        nj = 0
        for idx in range(n):
            j = byvol[idx]
            if codes[j] == 0:
                jobs[nj] = j
                nj += 1
        if nj == 0:
            return base
        e = np.zeros(n, dtype=np.int64)
        _earliest(codes, s, o, P, cap, horizon, e)
        m = np.empty(n, dtype=np.float64)
        done = np.empty(n, dtype=np.int64)
        _fluid(jobs, nj, V, cap, horizon, M, m, done)
        ends = np.empty(nj, dtype=np.int64)
        for idx in range(nj):
            ends[idx] = e[jobs[idx]] + o[jobs[idx]]
        ends.sort()
        area = 0
        for idx in range(nj):
            area += max(done[idx], ends[idx])
        mbt = 0.0
        late = np.zeros(n, dtype=np.bool_)
        nlate = 0
        for idx in range(nj):
            j = jobs[idx]
            mbt += m[idx] + dsh[j]
            if m[idx] < e[j] + o[j] - dsh[j]:
                late[j] = True
                nlate += 1
        best = max(area, math.ceil(mbt - 1e-7))
        keep = np.empty(n, dtype=np.int64)
        for _ in range(2):
            if nlate == 0:
                break
            nk = 0
            mbt2 = 0.0
            for idx in range(nj):
                j = jobs[idx]
                if late[j]:
                    mbt2 += e[j] + o[j]
                else:
                    keep[nk] = j
                    nk += 1
            _fluid(keep, nk, V, cap, horizon, M, m, done)
            more = 0
            for idx in range(nk):
                j = keep[idx]
                mbt2 += m[idx] + dsh[j]
                if m[idx] < e[j] + o[j] - dsh[j]:
                    late[j] = True
                    more += 1
            best = max(best, math.ceil(mbt2 - 1e-7))
            if more == 0:
                nlate = 0
        return base + best

    @njit(cache=True)
    def _lag(
        codes: Any,
        s: Any,
        o: Any,
        P: Any,
        F: Any,
        budget: int,
        lam0: Any,
        n0: int,
        iters: int,
        lam_out: Any,
    ) -> tuple[int, int]:
        """:func:`offline_opt.bnb.lagrangian_lower_bound` by ``iters`` subgradient steps from
        ``lam0[:n0]``; the best multipliers go to ``lam_out``; returns ``(bound, len)``."""
        # long: a numba kernel that mirrors offline_opt.bnb step by step; compiled as one loop
        n, M = P[_N], P[_M]
        capl = np.empty(32 + int(o.max()), dtype=np.int64)
        base, horizon = _residual(codes, s, o, P, capl)
        e = np.zeros(n, dtype=np.int64)
        _earliest(codes, s, o, P, capl, horizon, e)
        jobs = np.empty(n, dtype=np.int64)
        nj = 0
        H = horizon
        for j in range(n):
            if codes[j] == 0:
                jobs[nj] = j
                nj += 1
                H += o[j]
        cap = np.empty(H, dtype=np.float64)
        for d in range(H):
            cap[d] = capl[d] if d < horizon else M
        lam = np.zeros(H, dtype=np.float64)
        for d in range(min(H, n0)):
            lam[d] = lam0[d]
        A = np.zeros(H + 1)
        B = np.zeros(H + 1)
        pj = np.empty(nj, dtype=np.int64)
        d0 = np.empty(H + 1)
        d1 = np.empty(H + 1)
        g = np.empty(H)
        best = -1e300
        for d in range(H):
            lam_out[d] = 0.0
        need = budget - base
        theta = F[_THETA]
        for _ in range(iters):
            for d in range(H):
                A[d + 1] = A[d] + lam[d]
                B[d + 1] = B[d] + d * lam[d]
            val = 0.0
            for d in range(H):
                val -= lam[d] * cap[d]
            for idx in range(nj):
                j = jobs[idx]
                bc, bp = _best_start(s[j], o[j], e[j], H, A, B)
                val += bc
                pj[idx] = bp
            if val > best:
                best = val
                for d in range(H):
                    lam_out[d] = lam[d]
                if math.ceil(best - 1e-6) >= need:
                    break
            for d in range(H + 1):
                d0[d] = 0.0
                d1[d] = 0.0
            for idx in range(nj):
                j = jobs[idx]
                p = pj[idx]
                q = p + o[j]
                if q > H:
                    q = H
                c0 = s[j] + 1.0 - p
                d0[p] += c0
                d0[q] -= c0
                d1[p] += 1.0
                d1[q] -= 1.0
            nn = 0.0
            r0 = 0.0
            r1 = 0.0
            for d in range(H):
                r0 += d0[d]
                r1 += d1[d]
                gd = r0 + d * r1 - cap[d]
                if lam[d] <= 0.0 and gd < 0.0:
                    gd = 0.0
                g[d] = gd
                nn += gd * gd
            if nn <= 0.0:
                break
            step = theta * max(need - val, 1.0) / nn
            for d in range(H):
                x = lam[d] + step * g[d]
                lam[d] = x if x > 0.0 else 0.0
        return base + max(math.ceil(best - 1e-6), 0), H

    @njit(cache=True)
    def _enum(
        avail: Any,
        na: int,
        any_running: bool,
        codes: Any,
        twin: Any,
        s: Any,
        o: Any,
        M: int,
        prof: Any,
        out: Any,
    ) -> int:
        """Every admissible subset of ``avail[:na]`` (feasible beside the running profile
        ``prof`` in every coming round, identical requests in index order, nonempty if nothing
        runs) as a bit mask in ``out`` (while it has room); returns how many there are.
        Backtracking with an explicit stack (numba cannot cache recursive functions)."""
        st = np.zeros(na + 1, dtype=np.int64)
        inc = np.zeros(na + 1, dtype=np.bool_)
        level = 0
        mask = 0
        cnt = 0
        while level >= 0:
            if level == na:
                if mask != 0 or any_running:
                    if cnt < out.shape[0]:
                        out[cnt] = mask
                    cnt += 1
                level -= 1
                continue
            i = avail[level]
            if st[level] == 0:
                st[level] = 1
                inc[level] = False
                tw = twin[i]
                if tw < 0 or codes[tw] != 0 or (mask >> tw) & 1:
                    ok = True
                    si = s[i]
                    for d in range(o[i]):
                        if prof[d] + si + d + 1 > M:
                            ok = False
                            break
                    if ok:
                        for d in range(o[i]):
                            prof[d] += si + d + 1
                        mask |= 1 << i
                        inc[level] = True
                        level += 1
                        st[level] = 0
                continue
            if st[level] == 1:
                if inc[level]:
                    si = s[i]
                    for d in range(o[i]):
                        prof[d] -= si + d + 1
                    mask &= ~(1 << i)
                    inc[level] = False
                st[level] = 2
                level += 1
                st[level] = 0
                continue
            level -= 1
        return cnt

    @njit(cache=True)
    def _enter(
        depth: int,
        budget: int,
        CB: Any,
        LB_: Any,
        LL: Any,
        s: Any,
        o: Any,
        V: Any,
        dsh: Any,
        byvol: Any,
        twin: Any,
        P: Any,
        F: Any,
        TK: Any,
        TV: Any,
        TF: Any,
        TC: Any,
        KM: Any,
        KF: Any,
        off: int,
        W: Any,
    ) -> tuple[int, int, int, int]:
        """Open the node ``CB[depth]`` with ``budget`` (``bnb._Search.search`` up to its loop
        over children). Returns ``(done, value, here or lb, children)``: ``done = 1`` when the
        node is settled without children (``value`` is its result); else the children's masks
        and bounds, sorted by bound, are in ``KM`` / ``KF`` from ``off``, or ``done = 2`` when
        they need more room than ``KM`` has (``children`` says how much)."""
        # long: a numba kernel that mirrors offline_opt.bnb step by step; compiled as one loop
        n, M = P[_N], P[_M]
        codes = CB[depth]
        nu = 0
        nr = 0
        base = 0
        for i in range(n):
            k = codes[i]
            if k == 0:
                nu += 1
            elif k < o[i]:
                nr += 1
                base += o[i] - k
        if nu == 0:
            return 1, base, 0, 0
        w0, w1, w2 = _key(codes, P)
        W[depth, 0] = w0
        W[depth, 1] = w1
        W[depth, 2] = w2
        ent = _tt_get(w0, w1, w2, TK, TV, TF, P)
        if ent >= 0:
            val = int(TV[ent])
            if TF[ent] == _EXACT or val >= budget:
                return 1, val, 0, 0
            lb = val
        else:
            lb = _h(codes, s, o, V, dsh, byvol, P)
            if lb >= budget:
                _tt_put(w0, w1, w2, lb, _LOWER, -1, TK, TV, TF, TC, P)
                return 1, lb, 0, 0
        # multipliers: own subgradient steps near the budget, else the parent's one round on
        LL[depth] = 0
        plen = LL[depth - 1] - 1 if depth > 0 else 0
        if P[_LAGON] and budget - lb < P[_LAGGAP]:
            iters = P[_LAGIT] if plen > 0 else 8 * P[_LAGIT]
            if plen > 0:
                lb2, H = _lag(
                    codes, s, o, P, F, budget, LB_[depth - 1, 1:], plen, iters, LB_[depth]
                )
            else:
                lb2, H = _lag(codes, s, o, P, F, budget, LB_[depth], 0, iters, LB_[depth])
            LL[depth] = H
            if lb2 > lb:
                lb = lb2
                if lb >= budget:
                    _tt_put(w0, w1, w2, lb, _LOWER, -1, TK, TV, TF, TC, P)
                    return 1, lb, 0, 0
        elif plen > 0:
            for d in range(plen):
                LB_[depth, d] = LB_[depth - 1, d + 1]
            LL[depth] = plen
        P[_NODES] += 1
        if P[_NODES] % P[_CHECK] == 0:
            with objmode(now="float64"):
                now = time.perf_counter()
            if now > F[_DEADLINE]:
                P[_TIMEOUT] = 1
                return 1, budget, 0, 0
        here = nu + nr
        avail = np.empty(nu, dtype=np.int64)
        na = 0
        prof = np.zeros(int(o.max()) + 1, dtype=np.int64)
        for i in range(n):
            k = codes[i]
            if k == 0:
                avail[na] = i
                na += 1
            elif k < o[i]:
                si = s[i] + k
                for dd in range(o[i] - k):
                    prof[dd] += si + dd + 1
        masks = np.empty(64, dtype=np.int64)
        nk = _enum(avail, na, nr > 0, codes, twin, s, o, M, prof, masks)
        if nk > masks.shape[0]:
            masks = np.empty(nk, dtype=np.int64)
            _enum(avail, na, nr > 0, codes, twin, s, o, M, prof, masks)
        if off + nk > KM.shape[0]:
            P[_NODES] -= 1
            return 2, 0, lb, nk
        # the children's Lagrangian terms at this node's multipliers one round on
        L = LL[depth]
        H1 = L - 1
        use_ct = H1 > 0
        mins = np.zeros(n)
        A1 = np.zeros(max(H1, 0) + 1)
        B1 = np.zeros(max(H1, 0) + 1)
        tot = 0.0
        if use_ct:
            lam = LB_[depth]
            for d in range(H1):
                A1[d + 1] = A1[d] + lam[d + 1]
                B1[d + 1] = B1[d] + d * lam[d + 1]
            tot = A1[H1] * M
            for j in range(n):
                if codes[j] == 0:
                    mins[j] = _best_start(s[j], o[j], 0, H1, A1, B1)[0]
        child = CB[depth + 1]
        fvals = np.empty(nk, dtype=np.int64)
        for c in range(nk):
            _step(codes, masks[c], o, child)
            hk = 0
            if use_ct:
                lv = -tot
                for i in range(n):
                    k = child[i]
                    if k == 0:
                        lv += mins[i]
                    elif k < o[i]:
                        r = o[i] - k
                        if r > H1:
                            r = H1
                        lv += (s[i] + k + 1) * A1[r] + B1[r] + o[i] - k
                hk = max(math.ceil(lv - 1e-6), 0)
            if here + hk < budget:
                c0, c1_, c2 = _key(child, P)
                ce = _tt_get(c0, c1_, c2, TK, TV, TF, P)
                if ce >= 0:
                    hk = max(hk, int(TV[ce]))
                else:
                    hh = _h(child, s, o, V, dsh, byvol, P)
                    if hh > hk:
                        hk = hh
                    _tt_put(c0, c1_, c2, hk, _LOWER, -1, TK, TV, TF, TC, P)
            fvals[c] = here + hk
        order = np.argsort(fvals, kind="mergesort")
        for t in range(nk):
            KM[off + t] = masks[order[t]]
            KF[off + t] = fvals[order[t]]
        return 0, here, lb, nk

    @njit(cache=True)
    def _finish(
        depth: int,
        budget: int,
        best: int,
        bmask: int,
        low: int,
        lb: int,
        W: Any,
        TK: Any,
        TV: Any,
        TF: Any,
        TC: Any,
        P: Any,
    ) -> int:
        w0, w1, w2 = W[depth, 0], W[depth, 1], W[depth, 2]
        if best < budget:
            _tt_put(w0, w1, w2, best, _EXACT, bmask, TK, TV, TF, TC, P)
            return best
        res = low if low < _INF else budget
        if res < budget:
            res = budget
        if res < lb:
            res = lb
        _tt_put(w0, w1, w2, res, _LOWER, -1, TK, TV, TF, TC, P)
        return res

    @njit(cache=True)
    def _search(
        budget0: int,
        CB: Any,
        LB_: Any,
        LL: Any,
        s: Any,
        o: Any,
        V: Any,
        dsh: Any,
        byvol: Any,
        twin: Any,
        P: Any,
        F: Any,
        TK: Any,
        TV: Any,
        TF: Any,
        TC: Any,
    ) -> int:
        """Cost-to-go of the state ``CB[0]`` below ``budget0`` (exact) or a lower bound
        ``>= budget0`` (``bnb._Search.search``, its recursion unrolled onto per-depth arrays:
        numba cannot cache recursive functions)."""
        # long: a numba kernel that mirrors offline_opt.bnb step by step; compiled as one loop
        D = CB.shape[0] - 1
        bud = np.zeros(D + 1, dtype=np.int64)
        here = np.zeros(D + 1, dtype=np.int64)
        lbs = np.zeros(D + 1, dtype=np.int64)
        best = np.zeros(D + 1, dtype=np.int64)
        bmask = np.zeros(D + 1, dtype=np.int64)
        low = np.zeros(D + 1, dtype=np.int64)
        pos = np.zeros(D + 1, dtype=np.int64)
        nk = np.zeros(D + 1, dtype=np.int64)
        off = np.zeros(D + 2, dtype=np.int64)
        W = np.zeros((D + 1, 3), dtype=np.int64)
        KM = np.empty(1 << 14, dtype=np.int64)
        KF = np.empty(1 << 14, dtype=np.int64)
        d = 0
        bud[0] = budget0
        ret = 0
        mode = 0  # 0: enter node d; 1: next child of d; 2: return ``ret`` to d - 1
        while True:
            if mode == 0:
                done, val, lbv, cnt = _enter(
                    d,
                    bud[d],
                    CB,
                    LB_,
                    LL,
                    s,
                    o,
                    V,
                    dsh,
                    byvol,
                    twin,
                    P,
                    F,
                    TK,
                    TV,
                    TF,
                    TC,
                    KM,
                    KF,
                    off[d],
                    W,
                )
                if done == 2:
                    size = KM.shape[0]
                    while size < off[d] + cnt:
                        size *= 2
                    KM2 = np.empty(size, dtype=np.int64)
                    KF2 = np.empty(size, dtype=np.int64)
                    KM2[: off[d]] = KM[: off[d]]
                    KF2[: off[d]] = KF[: off[d]]
                    KM = KM2
                    KF = KF2
                    continue
                if done == 1:
                    ret = val
                    mode = 2
                    continue
                here[d] = val
                lbs[d] = lbv
                nk[d] = cnt
                off[d + 1] = off[d] + cnt
                best[d] = _INF
                bmask[d] = -1
                low[d] = _INF
                pos[d] = 0
                mode = 1
                continue
            if mode == 1:
                cap = bud[d] if bud[d] < best[d] else best[d]
                if pos[d] < nk[d] and KF[off[d] + pos[d]] < cap:
                    _step(CB[d], KM[off[d] + pos[d]], o, CB[d + 1])
                    bud[d + 1] = cap - here[d]
                    d += 1
                    mode = 0
                    continue
                if pos[d] < nk[d]:
                    f = KF[off[d] + pos[d]]
                    if f < low[d]:
                        low[d] = f
                ret = _finish(d, bud[d], best[d], bmask[d], low[d], lbs[d], W, TK, TV, TF, TC, P)
                mode = 2
                continue
            # mode 2: hand ``ret`` to the parent
            if d == 0 or P[_TIMEOUT]:
                return ret
            d -= 1
            cap = bud[d] if bud[d] < best[d] else best[d]
            val = here[d] + ret
            if val < cap:
                best[d] = val
                bmask[d] = KM[off[d] + pos[d]]
            if val < low[d]:
                low[d] = val
            pos[d] += 1
            mode = 1

    @njit(cache=True)
    def _lookup_choice(codes: Any, P: Any, TK: Any, TV: Any, TF: Any, TC: Any) -> tuple[int, int]:
        """``(value, mask)`` of the exact entry of ``codes``, or ``(-1, -1)``."""
        w0, w1, w2 = _key(codes, P)
        ent = _tt_get(w0, w1, w2, TK, TV, TF, P)
        if ent >= 0 and TF[ent] == _EXACT:
            return int(TV[ent]), int(TC[ent])
        return -1, -1


class _Engine:
    """Arrays of one compiled search (instance data, parameters, table, depth buffers)."""

    def __init__(
        self,
        s: list[int],
        o: list[int],
        M: int,
        deadline: float | None,
        *,
        lagrangian: bool,
        lag_iters: int,
        lag_gap: int,
        theta: float,
        table_bits: int,
    ) -> None:
        # long: allocates the compiled search's flat arrays, one per field the kernels read
        n = len(s)
        need = buffer_bytes(list(o))
        if need > MAX_BUFFER_BYTES:
            from ratio.errors import InputError

            raise InputError(
                f"compiled branch and bound: outputs summing to {sum(o)} need "
                f"{need / (1 << 30):.1f} GiB of search buffers (limit "
                f"{MAX_BUFFER_BYTES / (1 << 30):.1f} GiB); use another solver"
            )
        self.n = n
        self.s = np.array(s, dtype=np.int64)
        self.o = np.array(o, dtype=np.int64)
        self.V = np.array(
            [si * oi + oi * (oi + 1) // 2 for si, oi in zip(s, o, strict=True)], dtype=np.int64
        )
        dsh = []
        for si, oi in zip(s, o, strict=True):
            cnum = si * oi * (oi + 1) // 2 + oi * (oi + 1) * (2 * oi + 1) // 6
            dsh.append(oi + 0.5 - cnum / (si * oi + oi * (oi + 1) // 2))
        self.dsh = np.array(dsh, dtype=np.float64)
        self.byvol = np.array(sorted(range(n), key=lambda j: (int(self.V[j]), j)), dtype=np.int64)
        twin = [-1] * n
        last: dict[tuple[int, int], int] = {}
        for i in range(n):
            key = (s[i], o[i])
            twin[i] = last.get(key, -1)
            last[key] = i
        self.twin = np.array(twin, dtype=np.int64)
        bits = max(int(max(o)).bit_length(), 1)
        size = 1 << table_bits
        self.P = np.zeros(11, dtype=np.int64)
        self.P[_N] = n
        self.P[_M] = M
        self.P[_BITS] = bits
        self.P[_PERW] = 60 // bits
        self.P[_LAGON] = int(lagrangian)
        self.P[_LAGIT] = lag_iters
        self.P[_LAGGAP] = lag_gap
        self.P[_TMASK] = size - 1
        self.P[_CHECK] = 1024
        self.F = np.zeros(2, dtype=np.float64)
        self.F[_DEADLINE] = math.inf if deadline is None else deadline
        self.F[_THETA] = theta
        self.TK = np.zeros((size, 3), dtype=np.int64)
        self.TV = np.zeros(size, dtype=np.int32)
        self.TF = np.zeros(size, dtype=np.int8)
        self.TC = np.zeros(size, dtype=np.int64)
        depth = sum(o) + 2
        self.CB = np.zeros((depth + 1, n), dtype=np.int64)
        self.LB = np.zeros((depth + 1, sum(o) + 2), dtype=np.float64)
        self.LL = np.zeros(depth + 1, dtype=np.int64)

    def search(self, codes: np.ndarray, budget: int) -> int:
        self.CB[0] = codes
        self.LL[:] = 0
        return int(
            _search(
                budget,
                self.CB,
                self.LB,
                self.LL,
                self.s,
                self.o,
                self.V,
                self.dsh,
                self.byvol,
                self.twin,
                self.P,
                self.F,
                self.TK,
                self.TV,
                self.TF,
                self.TC,
            )
        )

    def h(self, codes: np.ndarray) -> int:
        return int(_h(codes, self.s, self.o, self.V, self.dsh, self.byvol, self.P))

    def lag(self, codes: np.ndarray, budget: int, iters: int) -> int:
        out = np.zeros(self.LB.shape[1])
        return int(_lag(codes, self.s, self.o, self.P, self.F, budget, out, 0, iters, out)[0])

    @property
    def nodes(self) -> int:
        return int(self.P[_NODES])

    @property
    def timed_out(self) -> bool:
        return bool(self.P[_TIMEOUT])


_WARM = False


def _compiled_marker() -> Path:
    return compiled_marker(__file__, "bnb_jit")


def warm() -> None:
    """Compile every jitted function (or load it from numba's on-disk cache) on a tiny
    instance, before any deadline is set, so a time limit is not spent compiling.

    The first time (no marker beside the cache for this source and numba version) it says so
    on stderr, since compiling takes about a minute on 2 cores (issue 17: no silent first
    call); later processes load the cache in well under a second."""
    global _WARM
    if _WARM:
        return
    _WARM = True

    def compile_all() -> None:
        eng = _Engine(
            [1, 2], [2, 1], 4, None, lagrangian=True, lag_iters=2, lag_gap=15, theta=1.0,
            table_bits=8,
        )  # fmt: skip
        root = np.zeros(2, dtype=np.int64)
        eng.search(root, 1 << 40)
        eng.h(root)
        eng.lag(root, 1 << 40, 2)
        _lookup_choice(root, eng.P, eng.TK, eng.TV, eng.TF, eng.TC)

    compile_announced(
        _compiled_marker(),
        "compiling the exact solver (one time, about 60 s; cached afterwards)",
        "solver compiled",
        compile_all,
    )


def run_search(
    s: list[int],
    o: list[int],
    M: int,
    ub: int,
    time_limit: float | None,
    *,
    lagrangian: bool = True,
    lag_iters: int = 12,
    lag_gap: int = 15,
    theta: float = 1.0,
    table_bits: int = 22,
) -> tuple[list[int] | None, int, bool, int]:
    """Search below ``ub``: ``(starts or None, bound, timed_out, nodes)``.

    ``starts`` is an optimal schedule's start rounds when the optimum is below ``ub`` (else
    ``None``: ``ub`` is optimal, or time ran out); ``bound`` is the proven lower bound (the
    optimum when not timed out). Requires :func:`available` and :func:`supports`.
    """
    # long: a numba kernel that mirrors offline_opt.bnb step by step; compiled as one loop
    warm()  # compile before the clock starts
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    eng = _Engine(
        s,
        o,
        M,
        deadline,
        lagrangian=lagrangian,
        lag_iters=lag_iters,
        lag_gap=lag_gap,
        theta=theta,
        table_bits=table_bits,
    )
    n = len(s)
    root = np.zeros(n, dtype=np.int64)
    val = eng.search(root, ub)
    if eng.timed_out:
        bound = eng.h(root)
        if lagrangian:
            bound = max(bound, eng.lag(root, ub, 300))
        return None, min(bound, ub), True, eng.nodes
    if val >= ub:
        return None, ub, False, eng.nodes
    # read the optimal path back from the table; re-search a state whose entry was lost
    starts = [-1] * n
    codes = root.copy()
    remaining = val
    t = 0
    eng.F[_DEADLINE] = math.inf
    while (codes == 0).any():
        got, mask = _lookup_choice(codes, eng.P, eng.TK, eng.TV, eng.TF, eng.TC)
        if got < 0:
            eng.search(codes, remaining + 1)
            got, mask = _lookup_choice(codes, eng.P, eng.TK, eng.TV, eng.TF, eng.TC)
            if got < 0:
                raise AssertionError("compiled branch and bound lost the optimal path")
        if got != remaining:
            raise AssertionError("compiled branch and bound: inconsistent table")
        here = 0
        for i in range(n):
            k = int(codes[i])
            here += k < o[i]  # waiting or running: this round counts for i
            if k == 0 and mask >> i & 1:
                starts[i] = t
        nxt = np.empty_like(codes)
        _step(codes, mask, eng.o, nxt)
        codes = nxt
        remaining -= here
        t += 1
    return starts, val, False, eng.nodes
