"""A compiled round loop for the key-ordered look-ahead policies (``docs/model.md`` §2, 5-6).

:func:`simulate_fast` gives the same run as :func:`ratio.simulate` (the same start rounds, the
same admission order, exact ints) for the policies the adversary search screens most: ``svf``,
``sjf``, ``spf``, ``fcfs`` and ``mcsf`` (full information), blocking or not, with the
look-ahead or the reservation test, in the ``model`` or ``engine`` convention, with
``block_size = 1``. It is the engine's round loop with its base-model layer
(:class:`ratio.engine._Rounds`) for that case, the same steps in the same order, with the
policy's key turned into one integer rank per request (key, then arrival, then index, as the
simulator breaks ties) and the running set kept in arrays sorted by completion round.
Anything else (other policies, predicted or 1-bit information, blocks, a round limit, values
that could overflow int64, a run that would stop with an error, no numba) returns ``None``,
and the caller runs :func:`ratio.simulate`.

At ``n = 10^4`` the Python loop spends about 60 ms in per-request object work (views, keys,
heaps of tuples, lists shifted by ``bisect.insort``); this loop takes well under a millisecond
of that (``python benchmarks/bench_screen.py``).

:func:`lower_bound_fast` and :func:`waiting_certificate_fast` are numpy versions of the
screen's two other steps (``offline_opt.bounds.lower_bound``, whose fluid schedule with
arrivals is compiled too, and SVF's waiting-time certificate of model §12); each returns
``None`` where it cannot promise the reference's exact value, and the caller computes that
instead.

numba is optional (``pip install 'kvratio[opt]'``): without it :func:`available` is false,
:func:`simulate_fast` returns ``None`` and :func:`lower_bound_fast` serves all-at-zero traces
only; the certificate works either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ratio.jitcache import compile_announced, compiled_marker
from ratio.model import Instance, Schedule
from ratio.policies import REGISTRY, Policy, get_policy
from ratio.simulator import SimResult, make_view
from ratio.theory import certain_ceil

try:  # pragma: no cover - exercised by whichever environment runs the tests
    from numba import njit

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

__all__ = [
    "FastSimResult",
    "available",
    "lower_bound_fast",
    "simulate_fast",
    "supports",
    "waiting_certificate_fast",
]

#: The policies of the compiled loop and the request field each one orders by (its key).
ORDER_KEYS = {
    "svf": "volume",
    "sjf": "output",
    "mcsf": "output",
    "spf": "prompt",
    "fcfs": "arrival",
}

#: Every value the loop forms (memory sums, rounds, latency) stays below this: int64 is exact.
_SAFE = 1 << 62
#: Integers that float64 holds exactly (a quotient of two of them is correctly rounded, as
#: Python's ``int / int`` is).
_EXACT_FLOAT = 1 << 53

_OK, _STUCK = 0, 1


def available() -> bool:
    """Whether numba is installed (the compiled loop can run)."""
    return _HAVE_NUMBA


@dataclass(frozen=True)
class FastSimResult(SimResult):
    """A :class:`~ratio.simulator.SimResult` from the compiled loop: the same fields and the
    same values, plus the total latency and the start rounds and admission order as arrays
    (computed once, so that the screen never walks Python tuples)."""

    latency: int = 0
    starts_array: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64), repr=False, compare=False
    )
    order_array: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64), repr=False, compare=False
    )

    @property
    def total_latency(self) -> int:
        return self.latency


def _order_key(pol: Policy) -> str | None:
    """The key field of a policy the compiled loop runs exactly as the simulator does, else
    ``None``."""
    name = getattr(pol, "name", "")
    kind = ORDER_KEYS.get(name)
    if kind is None or type(pol) is not REGISTRY.get(name):
        return None  # a subclass or another class under the name may order differently
    params = getattr(pol, "params", {})
    if set(params) - {"blocking", "test", "predicted"} or params.get("predicted", False):
        return None
    if getattr(pol, "info", None) != "full" or getattr(pol, "admission", None) != "lookahead":
        return None
    if getattr(pol, "test", None) not in ("lookahead", "reservation"):
        return None
    return kind


def supports(
    policy: str | Policy,
    *,
    convention: str = "model",
    block_size: int = 1,
    max_rounds: int | None = None,
) -> bool:
    """Whether :func:`simulate_fast` runs ``policy`` in these settings (numba installed, a
    policy of :data:`ORDER_KEYS` at full information with look-ahead admission, ``block_size =
    1``, no round limit). The instance can still send it back (int64 range, a stuck run)."""
    if not _HAVE_NUMBA or block_size != 1 or max_rounds is not None:
        return False
    if convention not in ("model", "engine"):
        return False
    return _order_key(get_policy(policy)) is not None


def _columns(instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrivals ``A``, prompts ``S`` and decode (output) lengths ``D`` as int64 arrays."""
    return instance.arrivals, instance.prompts, instance.outputs


def _keys(kind: str, A: np.ndarray, S: np.ndarray, D: np.ndarray) -> np.ndarray:
    if kind == "volume":
        return S * D + D * (D + 1) // 2
    return {"output": D, "prompt": S, "arrival": A}[kind]


def _trusted_schedule(starts: tuple[int, ...]) -> Schedule:
    """``Schedule(starts)`` without re-checking each start: they are the compiled loop's,
    Python ints ``>= 0`` by construction (``tolist`` of an int64 array checked non-negative),
    and the check costs more than the whole run at ``n = 10^4``."""
    sched = object.__new__(Schedule)
    object.__setattr__(sched, "starts", starts)
    object.__setattr__(sched, "evicted", ())
    return sched


def simulate_fast(
    instance: Instance,
    policy: str | Policy,
    *,
    convention: str = "model",
    block_size: int = 1,
    max_rounds: int | None = None,
) -> FastSimResult | None:
    """:func:`ratio.simulate` for the policies and settings of :func:`supports`, compiled.

    Returns
    -------
    FastSimResult or None
        The run (equal start rounds, admission order, policy spec, convention and costs to
        ``ratio.simulate(instance, policy, convention=convention)``), or ``None`` when this
        loop does not promise that: an unsupported policy or setting, values that could leave
        int64, or a run that ``ratio.simulate`` would end with an error. Then call
        :func:`ratio.simulate`.

    Examples
    --------
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> res = simulate_fast(inst, "svf")
    >>> res is None or res.starts == (3, 0, 0)
    True
    """
    pol = get_policy(policy)
    if not supports(pol, convention=convention, block_size=block_size, max_rounds=max_rounds):
        return None
    kind = _order_key(pol)
    assert kind is not None
    n = instance.n
    if n == 0:
        return None
    A, S, D = _columns(instance)
    e = 1 if convention == "engine" else 0
    M = instance.capacity
    smax, omax, amax = int(S.max()), int(D.max()), int(A.max())
    if max(smax, omax, M) >= 1 << 30:
        return None  # volumes and peak sums could leave int64
    horizon = amax + int(D.sum()) + 1  # never idle while a request waits: all done by then
    if n * (smax + horizon + omax + 2) >= _SAFE or M * (n + 1) >= _SAFE:
        return None
    if int((S + D - e).max()) > M:
        return None  # ratio.simulate refuses it with its own message
    key = _keys(kind, A, S, D)
    idx = np.arange(n, dtype=np.int64)
    perm = np.lexsort((idx, A, key)).astype(np.int64)  # by key, then arrival, then index
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = idx
    # The vectorised key must be the policy's own: check it on two requests (a policy module
    # that changed its key sends the run to ratio.simulate instead of a wrong answer).
    for i in {0, n - 1}:
        if pol.key(make_view(instance, i, "full")) != (int(key[i]),):
            return None
    arr = np.lexsort((idx, A)).astype(np.int64)  # by arrival, then index
    _warm()
    status, starts, order = _run(
        A, S, D, perm, rank, arr, M, e, bool(pol.blocking), pol.test == "reservation"
    )
    if status != _OK or int(starts.min()) < 0:
        return None
    latency = int(starts.sum()) + int(D.sum()) - int(A.sum())
    return FastSimResult(
        instance,
        pol.spec,
        _trusted_schedule(tuple(starts.tolist())),
        convention,
        1,
        tuple(order.tolist()),
        latency=latency,
        starts_array=starts,
        order_array=order,
    )


# --- the round loop ------------------------------------------------------------------------
if _HAVE_NUMBA:

    @njit(cache=True)
    def _heap_push(h: Any, size: int, x: int) -> int:
        k = size
        h[k] = x
        while k > 0:
            parent = (k - 1) >> 1
            if h[parent] <= h[k]:
                break
            h[parent], h[k] = h[k], h[parent]
            k = parent
        return size + 1

    @njit(cache=True)
    def _heap_pop(h: Any, size: int) -> int:
        size -= 1
        h[0] = h[size]
        k = 0
        while True:
            c = 2 * k + 1
            if c >= size:
                break
            if c + 1 < size and h[c + 1] < h[c]:
                c += 1
            if h[k] <= h[c]:
                break
            h[k], h[c] = h[c], h[k]
            k = c
        return size

    @njit(cache=True)
    def _run(
        A: Any,
        S: Any,
        D: Any,
        perm: Any,
        rank: Any,
        arr: Any,
        M: int,
        e: int,
        blocking: bool,
        reservation: bool,
    ) -> tuple[int, Any, Any]:
        """The loop of ``ratio.engine._Rounds`` for exact lengths, ``B = 1``, look-ahead admission.

        Waiting requests are ranks (``perm[rank] = index``): a heap when blocking, a sorted
        array otherwise. The running set is ``la_C`` (completion rounds, ascending, a new
        member after its equals as ``bisect_right`` puts it), ``la_b`` (``b_j = s_j - p_j + 1
        - e``) in ``[lo, hi)``; completions leave from the front. Returns (status, starts,
        admission order)."""
        # long: a numba kernel that mirrors ratio.simulator's round loop step by step; compiled as
        # one loop
        n = A.shape[0]
        starts = np.full(n, -1, dtype=np.int64)
        order = np.empty(n, dtype=np.int64)
        n_adm = 0
        la_C = np.empty(n, dtype=np.int64)
        la_b = np.empty(n, dtype=np.int64)
        la_i = np.empty(n, dtype=np.int64)
        lo = 0
        hi = 0
        wait = np.empty(n, dtype=np.int64)  # heap (blocking) or sorted ranks (skip)
        nw = 0
        sumB = 0
        sumP = 0
        ptr = 0
        done = 0
        t = A[arr[0]]
        retry = -1
        has_retry = False
        while done < n:
            while ptr < n and A[arr[ptr]] <= t:
                r = rank[arr[ptr]]
                if blocking:
                    nw = _heap_push(wait, nw, r)
                else:  # insort
                    k = nw
                    while k > 0 and wait[k - 1] > r:
                        wait[k] = wait[k - 1]
                        k -= 1
                    wait[k] = r
                    nw += 1
                ptr += 1
            while lo < hi and la_C[lo] <= t:
                j = la_i[lo]
                sumB -= la_b[lo]
                sumP -= S[j] + D[j] - e
                lo += 1
                done += 1
            if done == n:
                break

            admitted_any = False
            w = 0
            keep = 0
            while w < nw:
                i = perm[wait[0]] if blocking else perm[wait[w]]
                # try_admit: the look-ahead (or reservation) test with the exact output
                ob = D[i]
                has_retry = False
                ok = True
                if sumP + S[i] + ob - e > M:  # sufficient check failed (or reservation fails)
                    if reservation:
                        ok = False
                    else:
                        b_c = S[i] - t + 1 - e
                        Cc = t + ob
                        sufB = 0
                        sufN = 0
                        own = False
                        k = hi - 1
                        while k >= lo:
                            C = la_C[k]
                            if Cc > C:
                                if not own:
                                    tau = Cc - 1
                                    if sufB + sufN * tau + b_c + tau > M:
                                        retry = la_C[k + 1] - ob + 1
                                        has_retry = True
                                        ok = False
                                        break
                                    own = True
                                sufB += la_b[k]
                                sufN += 1
                                tau = C - 1
                                excess = sufB + sufN * tau + b_c + tau - M
                                if excess > 0:
                                    retry = t + excess
                                    has_retry = True
                                    ok = False
                                    break
                            else:
                                sufB += la_b[k]
                                sufN += 1
                            k -= 1
                        if ok and not own:
                            tau = Cc - 1
                            if sufB + sufN * tau + b_c + tau > M:
                                retry = la_C[lo] - ob + 1
                                has_retry = True
                                ok = False
                if ok:  # admit at t: insert after equal completions (bisect_right)
                    C = t + ob
                    pos = hi
                    while pos > lo and la_C[pos - 1] > C:
                        la_C[pos] = la_C[pos - 1]
                        la_b[pos] = la_b[pos - 1]
                        la_i[pos] = la_i[pos - 1]
                        pos -= 1
                    b = S[i] - t + 1 - e
                    la_C[pos] = C
                    la_b[pos] = b
                    la_i[pos] = i
                    hi += 1
                    sumB += b
                    sumP += S[i] + ob - e
                    starts[i] = t
                    order[n_adm] = i
                    n_adm += 1
                    admitted_any = True
                    if blocking:
                        nw = _heap_pop(wait, nw)
                    else:
                        w += 1
                elif blocking:
                    break
                else:
                    wait[keep] = wait[w]
                    keep += 1
                    w += 1
            if not blocking:
                nw = keep

            # advance time
            has_next = ptr < n
            next_arrival = A[arr[ptr]] if has_next else 0
            if lo == hi:  # nothing running
                if nw > 0 and not admitted_any and not has_next:
                    return _STUCK, starts, order
                if nw == 0:
                    t = max(t + 1, next_arrival)
                    continue
                t += 1
                continue
            if nw > 0:
                nxt = t + 1
                if blocking and has_retry:
                    nxt = min(retry, la_C[lo])
                    if has_next:
                        nxt = min(nxt, next_arrival)
                t = max(t + 1, nxt)
                continue
            nxt = la_C[lo]
            if has_next:
                nxt = min(nxt, next_arrival)
            t = max(t + 1, nxt)
        return _OK, starts, order[:n_adm]


_WARM = False


def _compiled_marker() -> Path:
    return compiled_marker(__file__, "fastsim")


def _warm() -> None:
    """Compile the loop (or load it from numba's on-disk cache) once per process; the first
    compile says so on stderr (no silent pause)."""
    global _WARM
    if _WARM:
        return
    _WARM = True

    def compile_all() -> None:
        one = np.ones(1, dtype=np.int64)
        zero = np.zeros(1, dtype=np.int64)
        _run(zero, one, one, zero, zero, zero, 4, 0, True, False)
        _fluid_swf(zero, one, 4, zero, zero, zero)

    compile_announced(
        _compiled_marker(),
        "compiling the fast simulator (one time, a few seconds; cached afterwards)",
        "fast simulator compiled",
        compile_all,
    )


# --- the screen's other two steps, as arrays -------------------------------------------------
def waiting_certificate_fast(
    instance: Instance, run: FastSimResult
) -> tuple[bool, int | None, int, int] | None:
    """``(holds, first_violation, total_lhs, total_rhs)`` of SVF's waiting-time certificate
    (model §12) on ``run``, equal to ``adversaries.objective.waiting_certificate``; ``None``
    when a partial sum could leave int64 (then compute it there, in Python ints).

    ``first_violation`` is the first ``j`` in admission order with ``(M - P + 1) p_j >
    sum_{i admitted before j} P_i o_i``; the totals are ``(M - P) sum_j p_j`` and
    ``2 (sum_k prefix_k(V) - sum_i V_i)`` with ``V`` ascending.
    """
    _, S, D = _columns(instance)
    n = instance.n
    M = instance.capacity
    starts, order = run.starts_array, run.order_array
    if n == 0 or order.shape[0] != n:
        return None
    peaks = S + D
    P = int(peaks.max())
    vols = S * D + D * (D + 1) // 2
    vmax = int(vols.max())
    pomax = int((peaks * D).max())
    smax = int(starts.max())
    if n * pomax >= _SAFE or n * n * vmax >= _SAFE or (M + 1) * (smax + 1) * n >= _SAFE:
        return None
    po = (peaks * D)[order]
    before = np.cumsum(po) - po  # sum over requests admitted before each one
    bad = np.flatnonzero((M - P + 1) * starts[order] > before)
    first = int(order[bad[0]]) if bad.shape[0] else None
    v = np.sort(vols)
    prefix_sum = int(np.cumsum(v).sum())
    lhs = (M - P) * int(starts.sum())
    rhs = 2 * (prefix_sum - int(v.sum()))
    return first is None and lhs <= rhs, first, lhs, rhs


def lower_bound_fast(instance: Instance) -> int | None:
    """``offline_opt.bounds.lower_bound(instance)``, in numpy (and numba with arrivals).

    The same three bounds (serial, volume, mean busy time) and the same arithmetic: the
    mean-busy-time sum is :func:`ratio.theory.certain_ceil` over the same floats, each term
    the correctly rounded quotient of the same two integers (float64 division where both are
    below ``2^53``, as Python's ``int / int`` rounds; Python ints for the fluid terms with
    arrivals, whose numerators are squares of token times). Returns ``None`` (compute it with
    ``lower_bound``) when a value could leave int64 or exact floats, when there are arrivals
    and no numba, or when the floats leave the ceiling open (``lower_bound`` then sums the
    fractions exactly).
    """
    # long: mirrors offline_opt.bounds.lower_bound's three bounds term by term, so its floats are
    # the same
    n = instance.n
    if n == 0:
        return None
    A, S, D = _columns(instance)
    M = instance.capacity
    if max(int(S.max()), int(D.max())) >= 1 << 20:
        return None  # o^3 / 3 and s o^2 stay below 2^61
    amax = int(A.max())
    vols = S * D + D * (D + 1) // 2
    vsum = int(vols.sum())
    if vsum >= _EXACT_FLOAT // 4 or 2 * M >= _EXACT_FLOAT or amax >= _EXACT_FLOAT // 4:
        return None
    if (amax + 1) * M + vsum >= _SAFE:  # token times of the fluid
        return None
    cnum = S * D * (D + 1) // 2 + D * (D + 1) * (2 * D + 1) // 6
    if int(cnum.max()) >= _EXACT_FLOAT:
        return None
    serial = int(D.sum())
    e = np.sort(A + D)
    if amax == 0:
        v = np.sort(vols)
        pref = np.cumsum(v)
        volume = int(np.maximum(-(-pref // M), e).sum())
        # (2 acc + v) / 2M over ascending volumes
        fluid = ((2 * (pref - v) + v).astype(np.float64) / float(2 * M)).tolist()
    else:
        if not _HAVE_NUMBA:
            return None
        best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        for theta in np.unique(A).tolist():
            acc = np.cumsum(np.sort(vols[np.greater_equal(A, theta)]))
            m = acc.shape[0]
            np.minimum(best[:m], theta + -(-acc // M), out=best[:m])
        volume = int(np.maximum(best, e).sum()) - int(A.sum())
        # per request in index order: sum over its fluid segments of (W^2 - U^2) / (2 M V)
        idx = np.arange(n, dtype=np.int64)
        key = np.lexsort((idx, vols)).astype(np.int64)  # the fluid's heap order: (V, index)
        rank = np.empty(n, dtype=np.int64)
        rank[key] = idx
        arr = np.lexsort((idx, A)).astype(np.int64)  # by arrival, then index
        _warm()
        su, sw, sj = _fluid_swf(A, vols, M, key, rank, arr)
        # A request served in one segment has W - U = V: its term is (W + U) / 2M, the same
        # rational, so the same correctly rounded float (float64 division where W + U and 2M
        # are below 2^53). The others (preempted by a later arrival) sum in Python ints.
        one = np.bincount(sj, minlength=n)[sj] == 1
        wide = 2 * ((amax + 1) * M + vsum) >= _EXACT_FLOAT
        if wide:
            one[:] = False
        terms = np.zeros(n, dtype=np.float64)
        terms[sj[one]] = (su[one] + sw[one]).astype(np.float64) / float(2 * M)
        fluid = terms.tolist()
        many = ~one
        if many.any():
            num: dict[int, int] = {}
            for u, w, j in zip(
                su[many].tolist(), sw[many].tolist(), sj[many].tolist(), strict=True
            ):
                num[j] = num.get(j, 0) + w * w - u * u
            for j, x in num.items():
                fluid[j] = x / (2 * M * int(vols[j]))
    # then per request (2o + 1 - 2a) / 2 and -cnum / V, as mean_busy_time_lower_bound lists them
    pairs = np.empty(2 * n, dtype=np.float64)
    pairs[0::2] = (2 * D + 1 - 2 * A).astype(np.float64) / 2.0
    pairs[1::2] = (-cnum).astype(np.float64) / vols.astype(np.float64)
    # the same floats and the same certain-ceiling test as lower_bound
    sure = certain_ceil(fluid + pairs.tolist())
    if sure is None:
        return None
    return max(serial, volume, sure)


if _HAVE_NUMBA:

    @njit(cache=True)
    def _fluid_swf(A: Any, V: Any, M: int, key: Any, rank: Any, order: Any) -> tuple[Any, Any, Any]:
        """``offline_opt.bounds._fluid_swf`` (preemptive smallest volume first, speed ``M``,
        token time): its segments ``(U, W)`` and their requests, in the order it makes them.
        ``key[rank[j]] = j`` orders by (volume, index), ``order`` by (arrival, index)."""
        n = A.shape[0]
        left = V.copy()
        heap = np.empty(n, dtype=np.int64)
        size = 0
        su = np.empty(2 * n, dtype=np.int64)
        sw = np.empty(2 * n, dtype=np.int64)
        sj = np.empty(2 * n, dtype=np.int64)
        ns = 0
        t = 0
        k = 0
        while k < n or size > 0:
            if size == 0:
                t = max(t, A[order[k]] * M)
            while k < n and A[order[k]] * M <= t:
                size = _heap_push(heap, size, rank[order[k]])
                k += 1
            j = key[heap[0]]
            end = t + left[j]
            if k < n and A[order[k]] * M < end:
                nxt = A[order[k]] * M
                su[ns] = t
                sw[ns] = nxt
                sj[ns] = j
                ns += 1
                left[j] -= nxt - t
                t = nxt
                continue
            su[ns] = t
            sw[ns] = end
            sj[ns] = j
            ns += 1
            left[j] = 0
            t = end
            size = _heap_pop(heap, size)
        return su[:ns], sw[:ns], sj[:ns]
