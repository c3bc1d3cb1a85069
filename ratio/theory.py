"""Closed-form ratio bounds for SVF in the burst regime, and the instance certificate of the
sharper bound (issue 16; registered and checked in ``proofs/theorems/sharper.py``).

* :func:`svf_burst_bound`: the paper's ``1 + 2/(1 - alpha)`` (Kong, Qi, Ye, Zhou, Thm 3.2).
* :func:`svf_sharper_bound`: ``max(2/(1 - alpha), 1 + 4/(3 (1 - alpha)))``, derived from the
  refined waiting lemma and the mean-busy-time lower bound on OPT (``docs/theorems.md``,
  section ``sharper_closed_form``). It is below the paper's bound for every ``alpha`` in [0, 1):
  7/3 against 3 as alpha -> 0, 4 against 5 at 1/2.
* :func:`svf_flat_bound`: ``max(1/(1 - alpha), 1 + 1/(2 (1 - alpha)))``, the leading term for
  flat instances (every output 1, where it holds exactly).
* :func:`sharper_certificate`: the per-instance quantities ``kappa``, ``delta``, ``F'``, ``A``
  and the certificate ``max(kappa, 1 + kappa (1 - delta))`` on ``SVF / OPT``.

Notation (all arrivals at 0, blocking SVF ordered by (V, index)): ``P = max_i (s_i + o_i)``,
``alpha' = (P - 1)/M``; ``A = sum o``; ``Pre_j`` is the volume admitted before ``j`` in SVF's
order and ``F' = sum_j Pre_j / M``;
``d_j = [6 s o + (o + 1)(2 o + 1)] / [6 (2 s + o + 1)]``.
All values are exact :class:`~fractions.Fraction`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import get_policy

__all__ = [
    "theorem_applies",
    "bound_at_alpha",
    "sharper_bound",
    "svf_burst_bound",
    "svf_sharper_bound",
    "svf_flat_bound",
    "busy_offset",
    "svf_order",
    "alpha_prime",
    "SharperCertificate",
    "sharper_certificate",
    "mean_busy_time_bound",
    "mean_busy_time_terms",
    "fluid_svf_segments",
]


def _alpha(alpha: Fraction | int | float) -> Fraction:
    a = Fraction(alpha)
    if not 0 <= a < 1:
        raise InputError(f"alpha must lie in [0, 1), got {alpha}")
    return a


def svf_burst_bound(alpha: Fraction | int | float) -> Fraction:
    """The paper's Thm 3.2 constant ``1 + 2/(1 - alpha)``."""
    a = _alpha(alpha)
    return 1 + 2 / (1 - a)


def svf_sharper_bound(alpha: Fraction | int | float) -> Fraction:
    """The sharper burst bound ``max(2/(1 - alpha), 1 + 4/(3 (1 - alpha)))``."""
    a = _alpha(alpha)
    return max(2 / (1 - a), 1 + Fraction(4, 3) / (1 - a))


def svf_flat_bound(alpha: Fraction | int | float) -> Fraction:
    """The flat-instance leading term ``max(1/(1 - alpha), 1 + 1/(2 (1 - alpha)))``."""
    a = _alpha(alpha)
    return max(1 / (1 - a), 1 + Fraction(1, 2) / (1 - a))


def busy_offset(prompt: int, output: int) -> Fraction:
    """``d = C - (memory-weighted mean busy time)`` of a request, the same in every schedule."""
    s, o = prompt, output
    return Fraction(6 * s * o + (o + 1) * (2 * o + 1), 6 * (2 * s + o + 1))


def svf_order(instance: Instance) -> list[int]:
    """SVF's order: ascending (volume, index)."""
    return sorted(range(instance.n), key=lambda i: (instance.requests[i].volume, i))


def alpha_prime(instance: Instance) -> Fraction:
    """``(P - 1) / M`` with ``P = max_i (s_i + o_i)``."""
    p = max(r.prompt + r.output for r in instance.requests)
    return Fraction(p - 1, instance.capacity)


def fluid_svf_segments(instance: Instance) -> list[tuple[int, list[tuple[int, int]]]]:
    """Preemptive smallest-volume-first on one machine of speed ``M`` with releases ``a_j``.

    Time is measured in token units (``tau * M``) so that everything is an integer. Returns,
    per request, its volume and the list of ``(U, W)`` token-time segments in which it runs.
    """
    M = instance.capacity
    reqs = instance.requests
    order = sorted(range(len(reqs)), key=lambda j: reqs[j].arrival)
    segs: list[list[tuple[int, int]]] = [[] for _ in reqs]
    left = [r.volume for r in reqs]
    heap: list[tuple[int, int]] = []
    t = 0  # token time
    k = 0
    n = len(reqs)
    while k < n or heap:
        if not heap:
            t = max(t, reqs[order[k]].arrival * M)
        while k < n and reqs[order[k]].arrival * M <= t:
            j = order[k]
            heapq.heappush(heap, (reqs[j].volume, j))
            k += 1
        v, j = heap[0]
        nxt = reqs[order[k]].arrival * M if k < n else None
        end = t + left[j]
        if nxt is not None and nxt < end:
            segs[j].append((t, nxt))
            left[j] -= nxt - t
            t = nxt
            continue
        segs[j].append((t, end))
        left[j] = 0
        t = end
        heapq.heappop(heap)
    return [(reqs[j].volume, segs[j]) for j in range(n)]


def mean_busy_time_terms(instance: Instance) -> list[tuple[int, int]]:
    """The terms ``(numerator, denominator)`` whose sum is :func:`mean_busy_time_bound`:
    ``sum_j (MBT*_j + d_j - a_j)``, with ``MBT*`` the mean busy times of
    :func:`fluid_svf_segments` (``sum_k (Pre_k + V_k / 2) / M`` when all arrivals are 0) and
    ``d_j`` :func:`busy_offset`. Integers, so a caller can sum them fast in floats or exactly
    (:func:`offline_opt.bounds.mean_busy_time_lower_bound` does both)."""
    reqs = instance.requests
    M = instance.capacity
    terms: list[tuple[int, int]] = []
    if all(r.arrival == 0 for r in reqs):
        acc = 0
        for v in sorted(r.volume for r in reqs):
            # MBT = (acc + v/2) / M  -> numerator (2 acc + v), denominator 2M
            terms.append((2 * acc + v, 2 * M))
            acc += v
    else:
        for v, segs in fluid_svf_segments(instance):
            # (1/V) * int tau * M dtau over token-time [U, W] (tau = U/M..W/M):
            # = (1/V) * (W^2 - U^2) / (2M)
            num = sum(w * w - u * u for u, w in segs)
            terms.append((num, 2 * M * v))
    for r in reqs:
        s, o = r.prompt, r.output
        v = r.volume
        cnum = s * o * (o + 1) // 2 + o * (o + 1) * (2 * o + 1) // 6
        # d - a = o + 1/2 - cnum / V - a
        terms.append((2 * o + 1 - 2 * r.arrival, 2))
        terms.append((-cnum, v))
    return terms


def certain_ceil(values: Sequence[float]) -> int | None:
    """``ceil`` of the exact sum of the rationals that ``values`` round, or ``None`` when the
    floats cannot decide it.

    Each value must be its rational correctly rounded to a float (Python's ``int / int``, or
    float64 division of integers below ``2**53``), so it is off by at most ``2**-53`` of itself;
    ``math.fsum`` adds them with one more rounding. The true sum therefore lies within
    ``err = 2**-51 * sum |x| + 2 ulp`` of the float sum (a margin of 2 over those bounds), and
    the ceiling is certain when both ends of that interval share it. An exact integer sum is
    never certain (its interval straddles the integer): the caller sums exactly then. (A fixed
    tolerance is not enough: ``10**12 + 1/3``, ``-10**12`` and ``-1/3`` sum to 0 but their
    floats to ``4.1e-5``.)
    """
    total = math.fsum(values)
    err = math.fsum(abs(x) for x in values) * 2.0**-51 + 2 * math.ulp(total)
    lo, hi = math.ceil(total - err), math.ceil(total + err)
    return lo if lo == hi else None


def mean_busy_time_bound(instance: Instance) -> Fraction:
    """``sum_j (MBT*_j + d_j - a_j)``, exact: a lower bound on OPT (Smith's rule on the memory
    profile; with all arrivals at 0, ``F' + sum V / (2M) + sum d``). Its ceiling is
    :func:`offline_opt.bounds.mean_busy_time_lower_bound`, where the proof is."""
    return sum((Fraction(a, b) for a, b in mean_busy_time_terms(instance)), Fraction(0))


@dataclass(frozen=True)
class SharperCertificate:
    """Per-instance quantities of the sharper bound."""

    kappa: Fraction
    delta: Fraction
    f_prime: Fraction
    total_output: int
    alpha_prime: Fraction
    svf_upper: Fraction  # kappa F' + A, an upper bound on SVF's total latency
    opt_lower: Fraction  # max(A, mean-busy-time bound)

    @property
    def certificate(self) -> Fraction:
        """``max(kappa, 1 + kappa (1 - delta))``: bound on ``SVF / OPT``."""
        return max(self.kappa, 1 + self.kappa * (1 - self.delta))

    @property
    def per_instance(self) -> Fraction:
        """``(kappa F' + A) / max(A, mean-busy-time bound)``: also a bound on ``SVF / OPT``."""
        return self.svf_upper / self.opt_lower


def sharper_certificate(instance: Instance) -> SharperCertificate:
    """The instance certificate; needs all arrivals at 0 and ``P <= M`` (else InputError)."""
    if not instance.all_at_zero:
        raise InputError("the sharper certificate is stated for all arrivals at 0")
    m, n = instance.capacity, instance.n
    reqs = instance.requests
    p = max(r.prompt + r.output for r in reqs)
    if p > m:
        raise InputError(f"P = {p} exceeds M = {m}")
    o_max = max(r.output for r in reqs)
    order = svf_order(instance)
    num = Fraction(0)
    den = 0
    f = Fraction(0)
    pre = 0
    for rank, i in enumerate(order, start=1):
        r = reqs[i]
        v = r.volume
        cv = min((r.prompt + r.output) * r.output, v + r.output * (o_max - 1))
        num += cv * (n - rank)
        den += v * (n - rank)
        f += Fraction(pre, m)
        pre += v
    kappa = Fraction(m, m - p + 1) * (num / den if den else Fraction(1))
    a = sum(r.output for r in reqs)
    delta = sum((busy_offset(r.prompt, r.output) for r in reqs), Fraction(0)) / a
    return SharperCertificate(
        kappa=kappa,
        delta=delta,
        f_prime=f,
        total_output=a,
        alpha_prime=Fraction(p - 1, m),
        svf_upper=kappa * f + a,
        opt_lower=max(Fraction(a), mean_busy_time_bound(instance)),
    )


def theorem_applies(policy: str, regime: str) -> bool:
    """Does SVF's burst theorem (Kong, Qi, Ye, Zhou, Thm 3.2; model §10) cover this search?

    Only for blocking ``svf`` with full information on all-at-zero instances.
    """
    pol = get_policy(policy)
    return pol.name == "svf" and pol.blocking and regime == "all_at_zero"


def bound_at_alpha(
    alpha: Fraction, policy: str = "svf", regime: str = "all_at_zero"
) -> Fraction | None:
    """The theorem's constant ``1 + 2/(1 - alpha)`` at ``alpha`` (model §10), or ``None``
    where no theorem applies (``alpha = 1``, another policy, or the online regime).

    >>> bound_at_alpha(Fraction(1, 2))
    Fraction(5, 1)
    >>> bound_at_alpha(Fraction(1)) is None
    True
    """
    if alpha >= 1 or not theorem_applies(policy, regime):
        return None
    return svf_burst_bound(alpha)


def sharper_bound(
    instance: Instance, policy: str = "svf", regime: str = "all_at_zero"
) -> Fraction | None:
    """The sharper burst bound ``max(2/(1 - a'), 1 + 4/(3 (1 - a')))`` at the instance's
    ``a' = (P - 1)/M`` (:func:`svf_sharper_bound`, registered as ``sharper_closed_form`` in
    ``kvratio prove``), or ``None`` where the burst theorem does not apply. It is below
    :func:`bound_at_alpha` at every alpha < 1, and finite at alpha = 1 (``a' < 1``).

    >>> from ratio.model import Instance
    >>> sharper_bound(Instance.from_tuples(10, [(0, 4, 1), (0, 1, 2)]))  # a' = 4/10
    Fraction(10, 3)
    """
    if not theorem_applies(policy, regime) or not instance.all_at_zero:
        return None
    return svf_sharper_bound(alpha_prime(instance))
