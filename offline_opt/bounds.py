"""Cheap lower bounds on the offline optimum ``OPT`` (``docs/model.md`` sections 3, 10, 11).

Every function here returns an integer ``LB`` with ``LB <= OPT(instance)`` for every instance,
where ``OPT`` is the least total latency ``L = sum_i (C_i - a_i)`` of a feasible schedule
(model §3). Each bound's proof is in its docstring; ``tests/offline_opt/test_bounds.py``
checks every one against exact optima. :func:`lower_bound` (the maximum of all of them) is the
filter the adversary search calls millions of times, so everything is ``O(n log n)`` on
all-at-zero instances (``O(n^2)`` for the arrival-aware area bound).

Notation: ``V_j = s_j o_j + o_j (o_j + 1)/2`` (volume, model §4); round ``r`` is the time
interval ``[r, r + 1)``; request ``j`` started at ``p_j`` holds ``s_j + k`` tokens in round
``p_j + k - 1`` and completes at ``C_j = p_j + o_j`` (model §2).

Resume schedules (model §7, ``eviction=resume``). A *resume* schedule may run a request in
several runs; across them request ``j`` produces its tokens in order, its ``k``-th token in a
round ``t_{j,k}`` (``a_j <= t_{j,1} < ... < t_{j,o_j}``) in which it holds ``s_j + k``
tokens, whatever the gaps, and completes at ``C_j = t_{j,o_j} + 1``. Non-preemptive
schedules are the resume schedules without gaps, so the resume optimum ``OPT_resume`` is at
most ``OPT``, and can be smaller: ``M = 4`` with two requests ``(a, s, o) = (0, 1, 2)`` has
``OPT = 6`` but ``OPT_resume = 5`` (both run in round 0, then one each in rounds 1 and 2).
Each docstring below says whether its bound is also ``<= OPT_resume``; the serial, volume,
mean-busy-time and subset bounds are (so :func:`lower_bound` and :func:`resume_lower_bound`
are), the Lagrangian bound as :func:`lagrangian_lower_bound` computes it is not (its resume
form :func:`lagrangian_resume_lower_bound` is), and neither is a lower bound on ``OPT``
proved by an exact method (``tests/offline_opt/test_resume_bounds.py`` holds the
counter-examples). :data:`RESUME_VALID` names the valid ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from itertools import accumulate
from typing import Any

from ratio.model import Instance
from ratio.theory import busy_offset as shape_offset
from ratio.theory import certain_ceil, fluid_svf_segments, mean_busy_time_terms

__all__ = [
    "serial_lower_bound",
    "volume_lower_bound",
    "arrival_lower_bound",
    "mean_busy_time_lower_bound",
    "subset_mean_busy_time_lower_bound",
    "lagrangian_lower_bound",
    "lower_bound",
    "resume_lower_bound",
    "lagrangian_resume_lower_bound",
    "RESUME_VALID",
    "shape_offset",
]

#: Names (as in :func:`offline_opt.bracket.lower_bounds`) of the bounds proved below to be
#: lower bounds on the total latency of every *resume* schedule too (module docstring).
RESUME_VALID: tuple[str, ...] = (
    "serial",
    "volume",
    "mean_busy_time",
    "mean_busy_time_subset",
    "lagrangian_resume",
)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def serial_lower_bound(instance: Instance) -> int:
    """``sum_j o_j``: every request runs ``o_j`` rounds after its arrival, ``C_j - a_j >= o_j``.

    Valid against resume schedules: their ``o_j`` token rounds are distinct rounds at or after
    ``a_j``, so ``C_j = t_{j,o_j} + 1 >= a_j + o_j`` still."""
    return sum(r.output for r in instance.requests)


def volume_lower_bound(instance: Instance) -> int:
    """Volume bound of model §11, extended to arrivals.

    All arrivals at 0 (model §11 verbatim)::

        OPT >= sum_k max(ceil(prefix_k(V) / M), o_(k))

    with ``V`` and ``o`` each sorted ascending.

    With arrivals this function returns::

        OPT >= sum_k max(D_k, e_(k)) - sum_j a_j,
        D_k = min over theta in {a_j} of ceil(theta + prefix_k(V | a >= theta) / M),

    where ``e = sort(a_j + o_j)`` and ``prefix_k(V | a >= theta)`` is the sum of the ``k``
    smallest volumes among requests arriving at or after ``theta`` (``+inf`` if fewer than
    ``k`` such requests). With all ``a_j = 0`` only ``theta = 0`` exists and it is the spec
    formula.

    Proof. Fix a feasible schedule and sort its completions ``C_(1) <= ... <= C_(n)``. Let
    ``K`` be the first ``k`` completed requests and ``theta = min_{j in K} a_j``. Every ``j``
    in ``K`` runs entirely inside rounds ``theta .. C_(k) - 1`` and uses ``V_j`` token-rounds
    there, while at most ``M`` tokens are held per round, so
    ``sum_{j in K} V_j <= M (C_(k) - theta)``. ``K`` is a set of ``k`` requests arriving at or
    after ``theta``, so ``sum_{j in K} V_j >= prefix_k(V | a >= theta)``; hence
    ``C_(k) >= theta + prefix_k(V | a >= theta) / M >= D_k`` after rounding up (``C_(k)`` is an
    integer, ``theta`` ranges over the arrivals). Also ``C_j >= a_j + o_j`` for every ``j``,
    and the ``k``-th smallest of numbers that dominate ``a_j + o_j`` one by one is at least the
    ``k``-th smallest ``a_j + o_j``: ``C_(k) >= e_(k)``. Summing over ``k``,
    ``sum_j C_j >= sum_k max(D_k, e_(k))``; subtract ``sum_j a_j``. The schedule was arbitrary,
    so this holds for an optimal one. QED.

    The spec's warning applies: summing the ``k`` *largest* volumes instead is false.

    Valid against resume schedules: the proof uses only that ``j`` holds ``s_j + k`` tokens
    in the round of its ``k``-th token, all inside ``theta .. C_j - 1`` (so its area there is
    still ``V_j``, gaps or not), and ``C_j >= a_j + o_j`` (:func:`serial_lower_bound`).
    """
    reqs = instance.requests
    n = len(reqs)
    if n == 0:
        return 0
    M = instance.capacity
    e = sorted(r.arrival + r.output for r in reqs)
    if all(r.arrival == 0 for r in reqs):
        pref = list(accumulate(sorted(r.volume for r in reqs)))
        return sum(max(_ceil_div(pref[k], M), e[k]) for k in range(n))
    # theta = each distinct arrival, requests with a >= theta, k smallest volumes.
    best = [math.inf] * n
    for theta in sorted({r.arrival for r in reqs}):
        vols = sorted(r.volume for r in reqs if r.arrival >= theta)
        acc = 0
        for k, v in enumerate(vols):
            acc += v
            d = theta + _ceil_div(acc, M)
            if d < best[k]:
                best[k] = d
    total = sum(max(int(best[k]), e[k]) for k in range(n))
    return total - sum(r.arrival for r in reqs)


def mean_busy_time_lower_bound(instance: Instance) -> int:
    """Mean-busy-time bound (Goemans' relaxation), with arrivals.

    ::

        OPT >= ceil( sum_j (MBT*_j + d_j) - sum_j a_j )

    where ``d_j`` is :func:`shape_offset` and ``MBT*_j`` is the mean busy time of ``j`` in the
    preemptive schedule on one machine of speed ``M`` that at every instant processes, among
    released unfinished requests, the one of smallest volume (works ``V_j``, releases
    ``a_j``). With all arrivals at 0 this is the notes' formula
    ``sum_k (V_(1) + ... + V_(k-1) + V_(k)/2) / M + sum_j d_j``.

    Proof. Fix a feasible schedule. For request ``j`` put ``rate_j(tau) = s_j + k`` on
    ``tau in [p_j + k - 1, p_j + k)``: its ``k``-th round's tokens spread evenly over that
    round. Then ``int rate_j = V_j``, ``rate_j = 0`` before ``a_j``, and
    ``sum_j rate_j(tau) <= M`` at every instant (the memory constraint of model §2), so the rates
    form a fluid schedule of works ``V_j`` with release dates on a machine of speed ``M``. Its
    mean busy time ``MBT_j = (1/V_j) int tau rate_j(tau) dtau`` equals
    ``sum_k (p_j + k - 1/2)(s_j + k) / V_j = p_j + c_j``, hence ``C_j = p_j + o_j =
    MBT_j + d_j``. Goemans (SODA 1997, "Improved approximation algorithms for scheduling with
    release dates", Thm 3.1; also Goemans, Queyranne, Schulz, Skutella, Wang, SIAM J. Discrete
    Math. 15 (2002), Thm 2) shows that over all preemptive schedules of one machine with
    release dates, ``sum_j w_j MBT_j`` is minimised by the preemptive schedule that always runs
    the available job of largest ``w_j / p_j``; here ``w_j = 1`` and ``p_j = V_j / M``, i.e.
    smallest volume first. A fluid (shared) schedule is a limit of preemptive ones (slice time
    finely and serve the rates in turn) with mean busy times converging, so the same minimum
    bounds it: ``sum_j MBT_j >= sum_j MBT*_j``. Summing ``C_j - a_j = MBT_j + d_j - a_j`` and
    rounding up (``L`` is an integer) gives the bound for every feasible schedule, hence for
    the optimum. QED.

    Valid against resume schedules, with ``=`` turned into ``>=``: put ``rate_j = s_j + k`` on
    round ``t_{j,k}``; still ``int rate_j = V_j`` and ``sum_j rate_j <= M``, so the fluid
    argument gives ``sum_j MBT_j >= sum_j MBT*_j``. As ``t_{j,k} <= C_j - 1 - (o_j - k)``
    (the later tokens need distinct later rounds), ``MBT_j = sum_k (t_{j,k} + 1/2)(s_j + k)
    / V_j`` is at most its value for the run ending at ``C_j`` without gaps, ``C_j - d_j``:
    ``C_j >= MBT_j + d_j``, and the sum follows as before.

    Notes
    -----
    The terms are :func:`ratio.theory.mean_busy_time_terms` (the one implementation; its exact
    sum is :func:`ratio.theory.mean_busy_time_bound`), ``MBT*`` in integer token-time
    (``tau * M``). They are summed in floats, and exactly (as a :class:`~fractions.Fraction`)
    whenever the floats' error bound leaves the ceiling open (:func:`ratio.theory.certain_ceil`).
    """
    terms = mean_busy_time_terms(instance)
    sure = certain_ceil([a / b for a, b in terms])
    if sure is not None:
        return sure
    return math.ceil(sum((Fraction(a, b) for a, b in terms), Fraction(0)))


#: Grid on which :func:`subset_mean_busy_time_lower_bound` rounds each ``c_j`` up (exact ints).
_GRID = 1 << 24


def _subset_value(instance: Instance, members: list[int]) -> int:
    """``sum_j o_j + B(S)`` rounded down to a valid integer bound, for ``S = members``.

    ``B(S) = sum_{j in S} (MBT*_j(S) - c_j - a_j)`` with ``MBT*(S)`` the mean busy times of
    the smallest-volume-first fluid schedule of ``S`` alone. Computed exactly in integers:
    ``MBT*_j`` as a fraction over ``2 M V_j`` is summed exactly per request after rounding
    each ``MBT*_j - c_j`` *down* on a grid of ``1 / 2^24`` (so the result never exceeds the
    true value).
    """
    reqs = instance.requests
    sub = Instance(instance.capacity, tuple(reqs[j] for j in members))
    M = instance.capacity
    total_o = sum(r.output for r in reqs)
    if not members:
        return total_o
    acc_grid = 0  # sum of floor(2^24 * (MBT*_j - c_j - a_j)) over S
    if sub.all_at_zero:
        order = sorted(range(len(members)), key=lambda k: sub.requests[k].volume)
        pref = 0
        for k in order:
            r = sub.requests[k]
            v = r.volume
            cnum = (
                r.prompt * r.output * (r.output + 1) // 2
                + r.output * (r.output + 1) * (2 * r.output + 1) // 6
            )
            # MBT - c = (2 pref + v) / (2M) - cnum / v + 1/2 ; over the common denominator 2 M v
            num = (2 * pref + v) * v - 2 * M * cnum + M * v
            acc_grid += (num * _GRID) // (2 * M * v)
            pref += v
    else:
        for k, (v, segs) in enumerate(fluid_svf_segments(sub)):
            r = sub.requests[k]
            cnum = (
                r.prompt * r.output * (r.output + 1) // 2
                + r.output * (r.output + 1) * (2 * r.output + 1) // 6
            )
            # MBT = sum (W^2 - U^2) / (2 M V)   (token time, see mean_busy_time_lower_bound)
            mbt_num = sum(w * w - u * u for u, w in segs)
            num = mbt_num - 2 * M * cnum + M * v - 2 * M * v * r.arrival
            acc_grid += (num * _GRID) // (2 * M * v)
    # B(S) >= acc_grid / 2^24 ; the bound is sum o + B(S), an integer below it is valid
    return total_o + acc_grid // _GRID


def _subset_contributions(instance: Instance, members: list[int]) -> list[float]:
    """Float ``MBT*_j(S) - c_j - a_j`` for ``j`` in ``S`` (in ``members`` order): used only to
    *choose* subsets; the bound itself is :func:`_subset_value`, exact."""
    reqs = instance.requests
    sub = Instance(instance.capacity, tuple(reqs[j] for j in members))
    M = instance.capacity
    out = [0.0] * len(members)
    for k, (v, segs) in enumerate(fluid_svf_segments(sub)):
        r = sub.requests[k]
        mbt = sum(w * w - u * u for u, w in segs) / (2 * M * v)
        c = r.output - float(shape_offset(r.prompt, r.output))
        out[k] = mbt - c - r.arrival
    return out


def subset_mean_busy_time_lower_bound(instance: Instance, *, rounds: int = 6) -> int:
    """Mean-busy-time bound on a subset, plus every other request's own length.

    For every subset ``S`` of the requests::

        OPT >= sum_j o_j + sum_{j in S} (MBT*_j(S) - c_j - a_j)

    where ``c_j = o_j - d_j`` (:func:`shape_offset`) and ``MBT*(S)`` are the mean busy times
    of the smallest-volume-first preemptive fluid schedule of ``S`` alone (releases ``a_j``,
    speed ``M``), as in :func:`mean_busy_time_lower_bound`. With ``S`` = all requests this is
    that bound; with ``S`` empty it is :func:`serial_lower_bound`; in between it can beat both
    (online traces, where the fluid serves a lone request at speed ``M`` and its term
    ``MBT*_j - c_j - a_j`` is negative, and all-at-zero traces whose small requests have
    such terms).

    Proof. Fix a feasible schedule with starts ``p_j`` and write ``w_j = p_j - a_j >= 0``, so
    ``L = sum_j (C_j - a_j) = sum_j o_j + sum_j w_j``. Deleting the requests outside ``S``
    leaves a feasible schedule of the instance ``S`` (memory only drops). By the proof of
    :func:`mean_busy_time_lower_bound` applied to it, ``sum_{j in S} (p_j + c_j) >= sum_{j in
    S} MBT*_j(S)``, i.e. ``sum_{j in S} w_j >= sum_{j in S} (MBT*_j(S) - c_j - a_j)``. As
    ``w_j >= 0`` outside ``S``, ``sum_j w_j >= sum_{j in S} w_j``. Adding ``sum_j o_j`` gives
    the bound for every feasible schedule, hence for the optimum; ``L`` is an integer, so
    rounding down the (exactly computed, see :func:`_subset_value`) right side keeps it
    valid. QED.

    Valid against resume schedules: put ``w_j = C_j - o_j - a_j``, which is ``>= 0`` by
    :func:`serial_lower_bound`'s argument; deleting requests keeps a resume schedule
    feasible, and ``C_j >= MBT_j + d_j`` (the resume paragraph of
    :func:`mean_busy_time_lower_bound`) gives ``w_j >= MBT_j - c_j - a_j`` on ``S``.

    Choice of ``S`` (any choice is valid; this only affects strength): all arrivals at 0,
    ``B(S)`` is a sum over ``S`` in volume order in which adding ``j`` contributes
    ``V_j m / M + V_j / (2M) - c_j`` with ``m`` the number of chosen requests of larger
    volume, so a dynamic program over (requests from the largest, ``m``) maximises it
    exactly (``O(n^2)`` floats; for ``n > 3000`` only the best suffix in volume order is
    tried). With arrivals, ``S`` starts as everything and each of ``rounds`` steps drops the
    requests whose own term is negative; the best set seen is kept. The float values only
    choose ``S``; the bound is recomputed exactly.
    """
    reqs = instance.requests
    n = len(reqs)
    if n == 0:
        return 0
    best = serial_lower_bound(instance)
    if instance.all_at_zero:
        import numpy as np

        M = instance.capacity
        desc = sorted(range(n), key=lambda j: (-reqs[j].volume, j))
        vol = np.array([reqs[j].volume for j in desc], dtype=np.float64)
        c = np.array(
            [reqs[j].output - float(shape_offset(reqs[j].prompt, reqs[j].output)) for j in desc]
        )
        if n <= 3000:
            f = np.full(n + 1, -np.inf)
            f[0] = 0.0
            take = np.zeros((n, n + 1), dtype=np.bool_)
            ms = np.arange(n + 1, dtype=np.float64)
            for k in range(n):
                gain = vol[k] * ms[:-1] / M + vol[k] / (2 * M) - c[k]
                cand = f[:-1] + gain
                better = cand > f[1:]
                take[k, 1:] = better
                f[1:] = np.where(better, cand, f[1:])
            m = int(np.argmax(f))
            chosen = []
            for k in range(n - 1, -1, -1):
                if m > 0 and take[k, m]:
                    chosen.append(desc[k])
                    m -= 1
            best = max(best, _subset_value(instance, sorted(chosen)))
        else:
            # best suffix of the ascending order = best prefix of ``desc``
            ms = np.arange(n, dtype=np.float64)
            gains = vol * ms / M + vol / (2 * M) - c  # prefix k of desc: k larger ones chosen
            k = int(np.argmax(np.cumsum(gains))) + 1
            best = max(best, _subset_value(instance, sorted(desc[:k])))
        return best
    members = list(range(n))
    seen: set[tuple[int, ...]] = set()
    for _ in range(rounds):
        key = tuple(members)
        if not members or key in seen:
            break
        seen.add(key)
        best = max(best, _subset_value(instance, members))
        contrib = _subset_contributions(instance, members)
        members = [j for j, g in zip(members, contrib, strict=True) if g >= 0]
    return best


def _lag_job_costs(
    a: int, s: int, o: int, P0: Any, P1: Any, T: int, scale: int | float
) -> tuple[Any, Any]:
    """Costs ``scale (p + o - a) + sum_k lam[p + k - 1] (s + k)`` for ``p = a .. max(a, T)``
    from the prefix sums ``P0`` of ``lam`` and ``P1`` of ``t lam[t]`` (padded past ``T``)."""
    import numpy as np

    p = np.arange(a, max(a, T) + 1, dtype=np.int64)
    e = p + o
    if P0.dtype != np.int64:
        pf = p.astype(P0.dtype)
        return p, scale * (pf + (o - a)) + (s + 1 - pf) * (P0[e] - P0[p]) + (P1[e] - P1[p])
    return p, scale * (e - a) + (s - p + 1) * (P0[e] - P0[p]) + (P1[e] - P1[p])


def _lagrangian_exact(instance: Instance, lam: Any, scale: int) -> int:
    """The bound of :func:`lagrangian_lower_bound` for the non-negative integer multipliers
    ``lam`` (per round ``0..T-1``, in units of ``1 / scale``), computed exactly: int64 where
    the caller checked that nothing overflows, Python ints for the sums."""
    import numpy as np

    T = len(lam)
    omax = max(r.output for r in instance.requests)
    amax = max(r.arrival for r in instance.requests)
    lam_p = np.zeros(max(T, amax) + omax + 1, dtype=np.int64)
    lam_p[:T] = lam
    t = np.arange(lam_p.shape[0], dtype=np.int64)
    P0 = np.concatenate([[0], np.cumsum(lam_p)])
    P1 = np.concatenate([[0], np.cumsum(lam_p * t)])
    total = -instance.capacity * int(P0[T])
    for r in instance.requests:
        _, c = _lag_job_costs(r.arrival, r.prompt, r.output, P0, P1, T, scale)
        total += int(c.min())
    return -(-total // scale)


def _subgradient_ascent(
    instance: Instance,
    T: int,
    span: int,
    ub: int | None,
    deadline: float | None,
    iters: int,
    evaluate: Callable[[Any], tuple[float, Any]],
) -> tuple[float, Any]:
    """Subgradient ascent on the multipliers ``lam_0 .. lam_{T-1}`` of a Lagrangian bound
    (shared by :func:`lagrangian_lower_bound` and :func:`lagrangian_resume_lower_bound`):
    ``evaluate(lam)`` gives the relaxation's value and the memory per round of its minimiser
    (arrays of length ``span``). Polyak steps towards ``ub`` (else 1.2 x the serial bound),
    the step halved after 10 iterations without progress; stops after ``iters`` iterations, at
    a zero subgradient, on reaching the target, or when another iteration (and the caller's
    exact pass, about as long) would pass ``deadline``. Returns the best value and its
    multipliers (``-inf`` and zeros when no iteration ran)."""
    import time as _time

    import numpy as np

    M = instance.capacity
    lam = np.zeros(span)
    target = float(ub) if ub is not None else float(serial_lower_bound(instance)) * 1.2
    theta = 1.0
    best_val, best_lam = -math.inf, lam[:T].copy()
    since = 0
    dt = 0.0  # seconds of one iteration (the exact pass at the end costs about as much)
    for _ in range(iters):
        now = _time.perf_counter()
        if deadline is not None and now + 2 * dt > deadline:
            break
        val, mem = evaluate(lam)
        if val > best_val + 1e-9:
            best_val, best_lam, since = val, lam[:T].copy(), 0
        else:
            since += 1
            if since >= 10:
                theta, since = theta / 2, 0
        g = mem[:T] - M
        norm = float(g @ g)
        if norm == 0.0 or target <= val:
            break
        lam[:T] = np.maximum(0.0, lam[:T] + theta * (target - val) / norm * g)
        dt = _time.perf_counter() - now
    return best_val, best_lam


def lagrangian_lower_bound(
    instance: Instance,
    horizon: int,
    *,
    ub: int | None = None,
    deadline: float | None = None,
    iters: int = 200,
) -> int:
    """Lagrangian relaxation of the memory constraint, by subgradient ascent.

    For multipliers ``lam_t >= 0`` on rounds ``0 .. T-1`` (``T = horizon``; ``lam_t = 0``
    beyond)::

        OPT >= sum_j min_{p >= a_j} (p + o_j - a_j + sum_{k=1..o_j} lam_{p+k-1} (s_j + k))
               - M sum_t lam_t

    Proof. Fix a feasible schedule with starts ``p_j`` and memory ``mem_t <= M``. As
    ``lam_t >= 0``, ``L = sum_j (C_j - a_j) >= L + sum_t lam_t (mem_t - M)``, and
    ``sum_t lam_t mem_t = sum_j sum_k lam_{p_j+k-1} (s_j + k)`` (request ``j`` holds
    ``s_j + k`` tokens in round ``p_j + k - 1``, model §2). So ``L`` is at least ``sum_j
    f_j(p_j) - M sum_t lam_t`` with ``f_j(p) = p + o_j - a_j + sum_k lam_{p+k-1} (s_j +
    k)``, which is at least ``sum_j min_{p >= a_j} f_j(p) - M sum_t lam_t``. This holds for
    every feasible schedule, so for the optimum. Past round ``T - 1`` the multipliers are 0,
    so ``f_j(p) = p + o_j - a_j`` is increasing for ``p >= T`` and the minimum over
    ``p >= a_j`` is attained in ``a_j .. max(a_j, T)``, which is the range searched. ``L`` is
    an integer, so the bound rounds up. QED.

    Not valid against resume schedules: a resume request may skip the rounds of high
    ``lam_t`` (its tokens need not be consecutive), so the inner minimum over contiguous runs
    can exceed what a resume schedule pays. With ``M = 4`` and two requests ``(0, 1, 2)`` the
    bound reaches 6 while a resume schedule costs 5 (``tests/offline_opt/test_resume_bounds.py``).
    :func:`lagrangian_resume_lower_bound` takes the inner minimum over increasing token rounds
    instead, which restores validity.

    It sees what the mean-busy-time fluid misses: a request's memory profile is fixed in
    shape, so when arrivals overlap some must wait (online traces near full load). The ascent
    runs in floats (Polyak steps towards ``ub``); the bound reported is recomputed exactly
    for the best multipliers, rounded down to integers over a power-of-two scale chosen so
    that nothing overflows int64. ``O(n x T)`` per iteration; stops after ``iters``
    iterations or at ``deadline``.
    """
    import numpy as np

    reqs = instance.requests
    n = len(reqs)
    if n == 0:
        return 0
    T = max(int(horizon), 1)
    M = instance.capacity
    omax = max(r.output for r in reqs)
    span = max(T, max(r.arrival for r in reqs)) + omax + 1
    tt = np.arange(span, dtype=np.float64)

    def evaluate(lam: Any) -> tuple[float, Any]:
        """The relaxation's value at ``lam`` and the memory of its minimising starts."""
        P0 = np.concatenate([[0.0], np.cumsum(lam)])
        P1 = np.concatenate([[0.0], np.cumsum(lam * tt)])
        val = -M * float(P0[T])
        mem = np.zeros(span)
        for r in reqs:
            p, c = _lag_job_costs(r.arrival, r.prompt, r.output, P0, P1, T, 1.0)
            k = int(np.argmin(c))
            val += float(c[k])
            pj = int(p[k])
            mem[pj : pj + r.output] += r.prompt + tt[1 : r.output + 1]
        return val, mem

    best_val, best_lam = _subgradient_ascent(instance, T, span, ub, deadline, iters, evaluate)
    if best_val == -math.inf:
        return serial_lower_bound(instance)
    lmax = float(best_lam.max())
    if lmax <= 0.0:
        return _lagrangian_exact(instance, np.zeros(T, dtype=np.int64), 1)
    # int64 headroom: prefix sums of t lam_t reach (T + omax)^2 lmax scale; costs add
    # (T + omax) (omax + max s) lmax scale and scale (T + omax)
    smax = max(r.prompt for r in reqs)
    worst = span * span * lmax + span * (omax + smax + 1) * lmax + span + 1
    scale = 1 << min(40, max(0, int(math.floor(math.log2((1 << 60) / worst)))))
    lam_int = np.floor(best_lam * scale).astype(np.int64)
    return _lagrangian_exact(instance, lam_int, scale)


def arrival_lower_bound(instance: Instance) -> int:
    """The best cheap bound that is valid with arrivals: max of :func:`volume_lower_bound`
    (area, arrival-aware), :func:`mean_busy_time_lower_bound` and :func:`serial_lower_bound`."""
    return lower_bound(instance)


def lower_bound(instance: Instance) -> int:
    """Maximum of all cheap valid bounds (each is ``<= OPT``, so the maximum is).

    Bounds: :func:`serial_lower_bound`, :func:`volume_lower_bound` (model §11 and its arrival
    extension) and :func:`mean_busy_time_lower_bound`. ``O(n log n)`` for all-at-zero
    instances. Each is also a lower bound on every resume schedule (module docstring), so
    this is too.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> lower_bound(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]))
    6
    """
    if instance.n == 0:
        return 0
    return max(
        serial_lower_bound(instance),
        volume_lower_bound(instance),
        mean_busy_time_lower_bound(instance),
    )


def resume_lower_bound(instance: Instance) -> int:
    """Maximum of the bounds valid against *resume* schedules (:data:`RESUME_VALID`): at most
    the total latency of every feasible resume schedule (model §7), so at most ``OPT_resume``.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> resume_lower_bound(Instance.from_tuples(4, [(0, 1, 2), (0, 1, 2)]))
    5
    """
    if instance.n == 0:
        return 0
    return max(lower_bound(instance), subset_mean_busy_time_lower_bound(instance))


def _resume_job_dp(lamw: Any, s: int, o: int, step: Any, big: Any) -> tuple[Any, list[Any]]:
    """Costs ``D_o(t) + step (t + 1)`` over the window, and the tables ``D_1 .. D_o``:
    ``D_k(t)`` is the least ``sum_{q <= k} lamw[t_q] (s + q)`` over ``t_1 < ... < t_k = t``
    (``big`` where no such rounds exist). ``lamw`` is float64 or int64; so is the result."""
    import numpy as np

    L = lamw.shape[0]
    tables = []
    d = lamw * (s + 1)
    tables.append(d)
    for k in range(2, o + 1):
        prev = np.empty(L, dtype=d.dtype)
        prev[0] = big
        np.minimum.accumulate(d[:-1], out=prev[1:])
        d = np.minimum(lamw * (s + k) + prev, big)
        tables.append(d)
    idx = np.arange(1, L + 1, dtype=d.dtype)
    return d + step * idx, tables


def _resume_window(a: int, o: int, T: int) -> tuple[int, int]:
    """Rounds ``a .. end - 1`` searched for a request: past ``T`` the multipliers are 0, so
    tokens placed there are best placed consecutively right after the last one before ``T``."""
    return a, max(a, T) + o


def _lagrangian_resume_exact(instance: Instance, lam: Any, scale: int) -> int:
    """:func:`lagrangian_resume_lower_bound` for non-negative integer multipliers ``lam`` (per
    round ``0..T-1``, in units of ``1 / scale``), exactly: int64 where the caller checked the
    headroom, Python ints for the sums."""
    import numpy as np

    T = len(lam)
    reqs = instance.requests
    span = max(T, max(r.arrival for r in reqs)) + max(r.output for r in reqs) + 1
    lam_p = np.zeros(span, dtype=np.int64)
    lam_p[:T] = lam
    big = np.int64(1 << 61)
    total = -instance.capacity * int(lam_p.sum())
    for r in reqs:
        lo, hi = _resume_window(r.arrival, r.output, T)
        cost, _ = _resume_job_dp(lam_p[lo:hi], r.prompt, r.output, np.int64(scale), big)
        total += int(cost.min())
    return -(-total // scale)


def lagrangian_resume_lower_bound(
    instance: Instance,
    horizon: int,
    *,
    ub: int | None = None,
    deadline: float | None = None,
    iters: int = 200,
) -> int:
    """The Lagrangian bound made valid against resume schedules (model §7).

    For multipliers ``lam_t >= 0`` on rounds ``0 .. T-1`` (``T = horizon``; 0 beyond)::

        OPT_resume >= sum_j min_{a_j <= t_1 < ... < t_{o_j}} (t_{o_j} + 1 - a_j
                      + sum_k lam_{t_k} (s_j + k)) - M sum_t lam_t

    Proof. Fix a resume schedule; request ``j`` produces its ``k``-th token in round
    ``t_{j,k}`` (increasing in ``k``, ``>= a_j``), holding ``s_j + k`` tokens, and
    ``C_j = t_{j,o_j} + 1``. With memory ``mem_t <= M`` and ``lam_t >= 0``,
    ``L >= L + sum_t lam_t (mem_t - M) = sum_j (C_j - a_j + sum_k lam_{t_{j,k}} (s_j + k))
    - M sum_t lam_t``, and each request's term is at least the minimum over all increasing
    token rounds. Tokens placed at or past ``T`` cost no multiplier, so moving them to the
    rounds right after the request's last token before ``T`` (or after ``a_j``) never raises
    the term: the minimum is attained inside rounds ``a_j .. max(a_j, T) + o_j - 1``, the
    window searched. ``L`` is an integer, so the bound rounds up. QED. Non-preemptive
    schedules are resume schedules, so this is also ``<= OPT``, and it is at most
    :func:`lagrangian_lower_bound` for the same multipliers (its minimum runs over more
    sequences).

    The minimum per request is a dynamic program over (token ``k``, round ``t``) with prefix
    minima, ``O(o_j x window)`` per request and iteration (so ``O(sum_j o_j x T)``: for
    small and medium instances; :func:`offline_opt.bracket.bracket` runs it only where
    iterations fit its time). Subgradient ascent in floats with Polyak steps towards ``ub``;
    the reported bound is recomputed exactly for the best multipliers rounded down to
    integers over a power-of-two scale chosen so that nothing overflows int64.
    """
    import numpy as np

    reqs = instance.requests
    n = len(reqs)
    if n == 0:
        return 0
    T = max(int(horizon), 1)
    M = instance.capacity
    omax = max(r.output for r in reqs)
    span = max(T, max(r.arrival for r in reqs)) + omax + 1

    def evaluate(lam: Any) -> tuple[float, Any]:
        """The relaxation's value at ``lam`` and the memory of its minimising token rounds."""
        val = -M * float(lam[:T].sum())
        mem = np.zeros(span)
        for r in reqs:
            lo, hi = _resume_window(r.arrival, r.output, T)
            cost, tables = _resume_job_dp(lam[lo:hi], r.prompt, r.output, 1.0, math.inf)
            t = int(np.argmin(cost))
            val += float(cost[t])
            # walk back: the k-th token at t, the (k-1)-th at the best round before it
            for k in range(r.output, 0, -1):
                mem[lo + t] += r.prompt + k
                if k > 1:
                    t = int(np.argmin(tables[k - 2][:t]))
        return val, mem

    best_val, best_lam = _subgradient_ascent(instance, T, span, ub, deadline, iters, evaluate)
    lmax = float(best_lam.max()) if best_val > -math.inf else 0.0
    if lmax <= 0.0:
        return _lagrangian_resume_exact(instance, np.zeros(T, dtype=np.int64), 1)
    # int64 headroom: a request's DP value is at most lmax scale V_j + scale span
    vmax = max(r.volume for r in reqs)
    worst = lmax * vmax + span + 1
    scale = 1 << min(40, max(0, int(math.floor(math.log2((1 << 59) / worst)))))
    lam_int = np.floor(best_lam * scale).astype(np.int64)
    return _lagrangian_resume_exact(instance, lam_int, scale)
