"""Structured families with hand-written feasible schedules (issue 6, deliverables 2 and 7).

Each family is a parametrised generator ``build(n, alpha) -> (instance, schedule)``: the
schedule is written out by hand, verified by :func:`ratio.check.check`, and its cost is an
upper bound on OPT at any ``n`` (model §10). So :func:`certify` gives a certified lower
bound ``L_policy / UB`` on the policy's competitive ratio far beyond the MILP's reach: ``UB`` is
the cheapest of the hand-written schedule and the registered policies' own schedules, every one
re-verified by the checker.

``alpha`` is ``1/k`` for an integer ``k >= 1`` (``k`` requests of peak ``P`` fill ``M = kP``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance, Request, Schedule

__all__ = [
    "FAMILIES",
    "Family",
    "FamilyPoint",
    "certify",
    "fit_exponent",
    "fit_limit",
    "parse_n_list",
    "plot_family",
]

#: Policies whose schedules compete with the hand-written one (blocking ones only: the skip
#: variants scan the whole queue every round, too slow at n = 1024).
FAMILY_UB_POLICIES = ("svf", "sjf", "spf", "fcfs")

Builder = Callable[[int, Fraction], tuple[Instance, Schedule]]


@dataclass(frozen=True)
class Family:
    """A named family: its regime, the policies it is aimed at, and its builder."""

    name: str
    regime: str
    policies: tuple[str, ...]
    summary: str
    build: Builder
    min_n: int = 2


def _k_of(alpha: Fraction) -> int:
    alpha = Fraction(alpha)
    if alpha <= 0 or alpha > 1 or alpha.numerator != 1:
        raise InputError(f"families take alpha = 1/k for an integer k >= 1, got {alpha}")
    return alpha.denominator


def _inst(M: int, rows: Sequence[tuple[int, int, int]], name: str, **meta: Any) -> Instance:
    reqs = tuple(Request(a, s, o, f"r{i}") for i, (a, s, o) in enumerate(rows))
    return Instance(M, reqs, {"generator": f"adversaries.families.{name}", **meta})


# --- online: the long requests that arrive first (fcfs, sjf, svf, mcsf) --------------------
def build_online_long_first(
    n: int, alpha: Fraction, gamma: float = 1.5
) -> tuple[Instance, Schedule]:
    """``k = 1/alpha`` long requests ``(a=0, s=(k-1)L+1, o=L)`` of peak ``P = kL+1`` fill
    ``M = kP``; ``m = n-k`` short requests ``(a=1, s=P-1, o=1)`` of peak ``P`` arrive one round
    later with ``L = ceil(m^gamma)``.

    Every greedy policy admits the long requests at round 0 (nothing else is there); no short
    one fits beside them until they complete at ``L`` (look-ahead: ``k(s_L+t+1) + P > M``), so
    ``m`` requests wait ``~L``. Hand-written schedule: the shorts ``k`` per round from round 1,
    the longs after them. Ratio ``~ m L / (m^2/(2k) + kL)``: about ``2k sqrt(m)`` for
    ``gamma = 3/2``, linear in ``m`` for ``gamma = 2`` (cf. Jaillet et al., arXiv 2502.07115:
    no deterministic online algorithm is better than ``Omega(sqrt n)``).
    """
    k = _k_of(alpha)
    m = n - k
    if m < 1:
        raise InputError(f"online_long_first needs n > 1/alpha = {k}")
    L = max(2, math.ceil(m**gamma))
    P = k * L + 1
    M = k * P
    rows = [(0, (k - 1) * L + 1, L)] * k + [(1, P - 1, 1)] * m
    short_starts = [1 + j // k for j in range(m)]
    t_long = 1 + (m + k - 1) // k
    sched = Schedule(tuple([t_long] * k + short_starts))
    return _inst(M, rows, "online_long_first", L=L, gamma=gamma), sched


# --- burst: short-output requests that are wide (sjf, mcsf, fcfs) --------------------------
def build_wide_short_first(n: int, alpha: Fraction) -> tuple[Instance, Schedule]:
    """``b = round(sqrt n)`` wide requests ``(s=P-1, o=1)`` of peak ``P = M/k`` listed first,
    then ``m = n-b`` thin requests ``(s=1, o=2)`` of peak 3, all at round 0, ``M = kP >= 3m``.

    SJF and MC-SF (key ``o``) and FCFS (key: index) start the wide ones first, ``k`` per round,
    and the ``m`` thin ones wait ``b/k`` rounds; SVF (thin volume 5 < wide volume ``P``) starts
    the thin ones first. Hand-written schedule: all thin requests at round 0 (``3m <= M``), the
    wide ones ``k`` per round from round 2. Ratio ``~ (m b/k) / (2m + b^2/(2k))``, about
    ``sqrt(n)/(2k)``.
    """
    k = _k_of(alpha)
    b = max(1, round(math.sqrt(n)))
    m = n - b
    if m < 1:
        raise InputError("wide_short_first needs n >= 2")
    P = max(4, math.ceil(3 * m / k))
    M = k * P
    rows = [(0, P - 1, 1)] * b + [(0, 1, 2)] * m
    sched = Schedule(tuple([2 + j // k for j in range(b)] + [0] * m))
    return _inst(M, rows, "wide_short_first", b=b), sched


# --- burst: head-of-line blocking by cheap wide requests (svf) ----------------------------
def build_svf_hol_block(n: int, alpha: Fraction) -> tuple[Instance, Schedule]:
    """Head-of-line blocking for SVF (the structure of the worst ``n = 8`` traces the search
    found: cheap wide requests whose peaks block the head of the queue).

    ``w = k - 1`` wide requests ``(s=P-1, o=1)`` (volume ``P``) fit per round, leaving a slack
    ``D = P - 1`` that is too small for another wide one; ``m`` tall requests
    ``(s=(a-1)q, o=q)`` of peak ``aq = D/m`` (volume above ``P``) would fit into that slack, but
    SVF (blocking, model §6) starts all ``b`` wide requests first (smaller volume) and the tall ones
    wait ``b/w`` rounds. Hand-written schedule: the tall ones at round 0 in the slack, the wide
    ones ``w`` per round from round 0. ``alpha = P / (wP + D)``, just above ``1/k``. Ratio
    ``1 + m(b/w) / (mq + b^2/(2w))``, about ``1 + 1/sqrt(2w)`` at the best ``b``.
    """
    k = _k_of(alpha)
    w = k - 1
    if w < 1:
        raise InputError("svf_hol_block needs alpha = 1/k with k >= 2")
    if n < 2:
        raise InputError("svf_hol_block needs n >= 2")
    a = 12

    def q_of(m: int) -> int:
        return math.ceil(1.1 * m) + 1

    best_m = min(range(1, n), key=lambda m: abs(m + round(math.sqrt(2 * w * m * q_of(m))) - n))
    m = best_m
    b = n - m
    q = q_of(m)
    p_l = a * q
    D = m * p_l
    P = D + 1
    M = w * P + D
    rows = [(0, P - 1, 1)] * b + [(0, p_l - q, q)] * m
    sched = Schedule(tuple([j // w for j in range(b)] + [0] * m))
    return _inst(M, rows, "svf_hol_block", wide=b, tall=m), sched


# --- burst, alpha = 1: one thin request blocks every wide one (svf) -------------------------
def build_svf_thin_blocks_wide(n: int, alpha: Fraction) -> tuple[Instance, Schedule]:
    """One thin request ``T = (s=1, o=L)`` and ``k = n - 1`` wide ones ``W = (s=M-1, o=1)``,
    ``L = k^2``, ``M = V_T = L(L+3)/2``; only ``alpha = 1``.

    Mechanism: ``V_T = M = V_W`` and ``T`` has the smallest index, so blocking SVF starts ``T``
    at round 0. A wide request needs all ``M`` tokens, so none fits while ``T`` holds any:
    all ``k`` wait ``L`` rounds, then run one per round. ``L_SVF = L + kL + k(k+1)/2``.
    Hand-written schedule: the wide ones at rounds ``0..k-1``, ``T`` at round ``k``:
    ``OPT <= k(k+1)/2 + k + L``. With ``L = k^2`` the ratio is about ``2k/3``: unbounded,
    linear in ``n`` (model §10: no constant bound at ``alpha = 1``).
    """
    if Fraction(alpha) != 1:
        raise InputError(f"svf_thin_blocks_wide exists only at alpha = 1, got {alpha}")
    k = n - 1
    if k < 1:
        raise InputError("svf_thin_blocks_wide needs n >= 2")
    L = max(2, k * k)
    M = L * (L + 3) // 2
    rows = [(0, 1, L)] + [(0, M - 1, 1)] * k
    sched = Schedule(tuple([k] + list(range(k))))
    return _inst(M, rows, "svf_thin_blocks_wide", L=L), sched


# --- burst, any alpha < 1: groups of thin requests gated by volume-tied wide ones (svf) -----
def gated_shape(alpha: Fraction) -> tuple[int, int]:
    """``(s, L)`` of the thin requests of :func:`build_svf_gated_groups` at ``alpha``: tuned
    once by a structured sweep (``/tmp`` scripts, not kept), fixed so that every point of the
    family is reproducible: longer outputs where few thin requests fill the slack
    (``alpha >= 17/20``) and where the gates are many and cheap (``alpha <= 3/5``, where
    ``M // V >= 1`` gates run per round and their cost is about ``2/L`` of OPT)."""
    alpha = Fraction(alpha)
    if alpha >= Fraction(17, 20):
        return 4000, 128
    if alpha <= Fraction(3, 5):
        return 16000, 128
    return 8000, 64


def _batches(idx: Sequence[int], per: int, length: int, offset: int, starts: list[int]) -> int:
    """Start ``idx`` in batches of ``per`` every ``length`` rounds from ``offset``; return the
    first round after the last batch."""
    for j, i in enumerate(idx):
        starts[i] = offset + (j // per) * length
    return offset + -(-len(idx) // per) * length


def build_svf_gated_groups(n: int, alpha: Fraction) -> tuple[Instance, Schedule]:
    """``G`` groups, each ``x`` thin requests ``(s, L)`` followed by one wide gate
    ``(V - 1, 1)``, every request of the same volume ``V = sL + L(L+1)/2``;
    ``M = ceil(V / alpha)``, so ``alpha_inst = V / M <= alpha``; ``x`` is the fewest thin
    requests whose first-round memory exceeds the slack: ``x(s+1) > M - V``.
    ``(s, L)`` from :func:`gated_shape`; ``G = n // (x+1)``, and any remainder are thin
    requests after the last gate.

    Mechanism (exact volume ties, several levels): blocking SVF orders by ``(V, index)``, so
    its queue is the index order: thin group 1, gate 1, thin group 2, gate 2, ... Group ``j``
    starts (it fits: ``x(s+L) <= M``), then gate ``j`` is the head of the queue and does not
    fit beside the group (``x(s+1) + V > M``) until the whole group completes ``L`` rounds
    later; everything behind it waits. So SVF runs its thin requests with only about
    ``(1 - alpha) M`` tokens in use, one group per ``L + 1`` rounds.
    Hand-written schedule: the thin requests in batches of ``b = M // (s+L)`` every ``L``
    rounds, the gates ``M // V`` per round before or after them (the cheaper).
    Ratio about ``(b/x) (L+1)/L`` times ``(x+1)/(x+2)`` for the gates, which tends to
    ``1/(1 - alpha)`` as ``s/L`` and ``L`` grow (``G -> infinity``); finite ``G`` loses about
    ``1/G``. This is the ``1/(1 - alpha)`` part of the theorem's ``1 + 2/(1 - alpha)``.
    """
    alpha = Fraction(alpha)
    if not 0 < alpha < 1:
        raise InputError(f"svf_gated_groups needs 0 < alpha < 1, got {alpha}")
    if n < 2:
        raise InputError("svf_gated_groups needs n >= 2")
    s, L = gated_shape(alpha)
    V = s * L + L * (L + 1) // 2
    M = -(-V * alpha.denominator // alpha.numerator)
    x = (M - V) // (s + 1) + 1
    if x * (s + L) > M:
        raise InputError(f"svf_gated_groups: a group does not fit at alpha = {alpha}")
    x = min(x, n - 1)
    G = n // (x + 1)
    rows: list[tuple[int, int, int]] = []
    for _ in range(G):
        rows += [(0, s, L)] * x + [(0, V - 1, 1)]
    rows += [(0, s, L)] * (n - len(rows))
    thin = [i for i, r in enumerate(rows) if r[2] == L]
    gates = [i for i, r in enumerate(rows) if r[2] == 1]
    b, w = M // (s + L), M // V
    best: tuple[int, Schedule] | None = None
    for gates_first in (True, False):
        starts = [0] * len(rows)
        if gates_first:
            _batches(thin, b, L, _batches(gates, w, 1, 0, starts), starts)
        else:
            _batches(gates, w, 1, _batches(thin, b, L, 0, starts), starts)
        sched = Schedule(tuple(starts))
        cost = sum(p + r[2] for p, r in zip(starts, rows, strict=True))
        if best is None or cost < best[0]:
            best = (cost, sched)
    assert best is not None
    return _inst(M, rows, "svf_gated_groups", s=s, L=L, x=x, groups=G), best[1]


# --- burst, small alpha: identical thin requests, synchronised by look-ahead (svf) --------
#: :func:`build_svf_thin_sync`'s output length is ``THIN_SYNC_L * isqrt(n)``, and a batch
#: holds at least ``THIN_SYNC_X`` requests.
THIN_SYNC_L = 10
THIN_SYNC_X = 20


def thin_sync_length(n: int) -> int:
    """The output length of :func:`build_svf_thin_sync` at ``n``: ``10 isqrt(n)``, so that
    both the batch length ``L`` and the number of batches ``n / x`` grow with ``n``."""
    return THIN_SYNC_L * math.isqrt(n)


def _stagger(n: int, s: int, L: int, M: int) -> list[int]:
    """Starts ``p_i = floor(i D)`` with the smallest ``D = num / M`` (``num >= V``) whose
    memory profile fits in ``M`` (computed with difference arrays; the checker re-verifies)."""
    import numpy as np

    V = s * L + L * (L + 1) // 2
    i = np.arange(n, dtype=np.int64)

    def fits(num: int) -> bool:
        p = (i * num) // M
        H = int(p[-1]) + L + 1
        cnt = np.zeros(H + 1, dtype=np.int64)
        sp = np.zeros(H + 1, dtype=np.int64)
        np.add.at(cnt, p, 1)
        np.add.at(cnt, p + L, -1)
        np.add.at(sp, p, p)
        np.add.at(sp, p + L, -p)
        c, q = np.cumsum(cnt)[:H], np.cumsum(sp)[:H]
        t = np.arange(H, dtype=np.int64)
        return int(np.max(c * (s + 1 + t) - q)) <= M

    # Coarse steps up to the first spacing that fits, then bisect the last step for the
    # smallest one that fits (the bisection assumes fitting is monotone there; whatever it
    # returns has been tested by ``fits``, and the checker re-verifies it).
    step = max(1, V // 256)
    for num in range(V, 4 * V + 1, step):
        if fits(num):
            lo, hi = max(V, num - step + 1), num
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            best = hi if fits(hi) else num
            return [int(v) for v in (i * best) // M]
    return [j * L for j in range(n)]  # serial: always feasible


def build_svf_thin_sync(n: int, alpha: Fraction) -> tuple[Instance, Schedule]:
    """``n`` identical thin requests ``(s=1, o=L)``, ``L = 10 isqrt(n)``, ``M = x(L+1)`` with
    ``x = max(20, floor(1/alpha))``: ``alpha_inst = 1/x <= alpha`` (``alpha`` is a cap).

    Mechanism (look-ahead admission, the factor 2 of the theorem): SVF admits ``x`` of them
    at round 0, which fill ``M`` at their last round; no other fits before they all complete
    (a new one would overflow at round ``L - 1``), so SVF runs synchronised batches of ``x``
    every ``L`` rounds with memory ``x(1+t)``, half of ``M`` on average.
    Hand-written schedule: staggered starts ``floor(i D)``, ``D`` about ``V/M``, which keeps
    about ``2x`` requests running at every age. SVF's rate is ``x`` requests per ``L``
    rounds, the staggered one about ``M/V = 2x(L+1)/(L(L+3))`` per round, so the ratio tends
    to 2 as ``L`` and the number of batches ``n/x`` grow (the first ``L`` rounds, where the
    staggered schedule fills memory, cost about ``x/n``); ``1/(1 - alpha)`` is larger only
    where ``alpha > 1/2``.
    """
    alpha = Fraction(alpha)
    if not 0 < alpha <= 1:
        raise InputError(f"svf_thin_sync needs 0 < alpha <= 1, got {alpha}")
    if n < 2:
        raise InputError("svf_thin_sync needs n >= 2")
    L = thin_sync_length(n)
    x = max(THIN_SYNC_X, math.floor(1 / alpha))
    M = x * (L + 1)
    starts = _stagger(n, 1, L, M)
    return _inst(M, [(0, 1, L)] * n, "svf_thin_sync", L=L, x=x), Schedule(tuple(starts))


FAMILIES: dict[str, Family] = {
    "svf_hol_block": Family(
        "svf_hol_block",
        "all_at_zero",
        ("svf",),
        "cheap wide requests block the head of SVF's queue; tall ones wait beside free memory",
        build_svf_hol_block,
    ),
    "online_long_first": Family(
        "online_long_first",
        "online",
        ("fcfs", "sjf", "svf", "mcsf"),
        "long requests admitted alone at round 0 block many short late arrivals",
        build_online_long_first,
    ),
    "wide_short_first": Family(
        "wide_short_first",
        "all_at_zero",
        ("sjf", "mcsf", "fcfs"),
        "short-output wide requests started first keep many thin ones waiting",
        build_wide_short_first,
    ),
    "svf_thin_blocks_wide": Family(
        "svf_thin_blocks_wide",
        "all_at_zero",
        ("svf",),
        "alpha = 1: one thin request keeps every full-memory wide one waiting",
        build_svf_thin_blocks_wide,
    ),
    "svf_gated_groups": Family(
        "svf_gated_groups",
        "all_at_zero",
        ("svf",),
        "volume-tied wide gates hold SVF to one group of thin requests in (1-alpha)M",
        build_svf_gated_groups,
    ),
    "svf_thin_sync": Family(
        "svf_thin_sync",
        "all_at_zero",
        ("svf",),
        "look-ahead synchronises thin requests into batches using half the memory",
        build_svf_thin_sync,
    ),
}


def register(family: Family) -> Family:
    """Add a family to :data:`FAMILIES`."""
    FAMILIES[family.name] = family
    return family


@dataclass(frozen=True)
class FamilyPoint:
    """One certified point of a family: ``ratio = policy_cost / opt_upper`` (exact)."""

    family: str
    policy: str
    n: int
    alpha: Fraction
    capacity: int
    policy_cost: int
    opt_upper: int
    opt_lower: int
    ub_source: str
    instance: Instance
    opt_starts: tuple[int, ...]
    alpha_param: Fraction = Fraction(1)

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.policy_cost, self.opt_upper)

    def to_dict(self) -> dict[str, Any]:
        r = self.ratio
        return {
            "family": self.family,
            "policy": self.policy,
            "n": self.n,
            "alpha": str(self.alpha),
            "alpha_param": str(self.alpha_param),
            "M": self.capacity,
            "policy_cost": self.policy_cost,
            "opt_upper": self.opt_upper,
            "opt_lower": self.opt_lower,
            "ub_source": self.ub_source,
            "ratio": f"{r.numerator}/{r.denominator}",
            "ratio_float": float(r),
        }


def certify(name: str, policy: str, n: int, alpha: Fraction = Fraction(1)) -> FamilyPoint:
    """Build family ``name`` at ``(n, alpha)``, simulate ``policy``, and certify
    ``L_policy / UB`` with ``UB`` the cheapest checker-verified schedule among the hand-written
    one and the registered full-information policies' schedules."""
    from adversaries.objective import _prepare, volume_lower_bound
    from ratio.simulator import simulate

    fam = FAMILIES.get(name)
    if fam is None:
        raise InputError(f"unknown family {name!r} (valid: {', '.join(sorted(FAMILIES))})")
    inst, hand = fam.build(n, Fraction(alpha))
    verdict = check(inst, hand)
    if not verdict:
        raise RuntimeError(
            f"internal: hand-written schedule of {name} infeasible: {verdict.reason}"
        )
    inst_p = _prepare(inst, policy)
    sim = simulate(inst_p, policy)
    if not check(inst_p, sim.schedule):
        raise RuntimeError(f"internal: simulated {policy} schedule infeasible on {name}")
    ub, src, starts = hand.total_latency(inst), "hand-written", hand.starts
    for spec in FAMILY_UB_POLICIES:
        s = simulate(inst, spec).schedule
        c = s.total_latency(inst)
        if c < ub and check(inst, s):
            ub, src, starts = c, spec, s.starts
    return FamilyPoint(
        name,
        sim.policy,
        inst.n,
        inst.alpha,
        inst.capacity,
        sim.total_latency,
        ub,
        min(ub, volume_lower_bound(inst)),
        src,
        inst,
        starts,
        Fraction(alpha),
    )


def parse_n_list(text: str) -> list[int]:
    """``"8,16,...,1024"`` (geometric when the second term is a multiple of the first),
    ``"10,20,30,...,50"`` (arithmetic when three terms say so), or a plain list ``"8,12,20"``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if "..." in parts:
            i = parts.index("...")
            head = [int(p) for p in parts[:i]]
            last = int(parts[i + 1])
            if len(head) < 2 or head[1] <= head[0]:
                raise ValueError
            out = list(head)
            arithmetic = len(head) >= 3 and head[2] - head[1] == head[1] - head[0]
            if head[1] % head[0] == 0 and not arithmetic:
                f = head[1] // head[0]
                while out[-1] * f <= last:
                    out.append(out[-1] * f)
            else:
                d = head[1] - head[0]
                while out[-1] + d <= last:
                    out.append(out[-1] + d)
            return out
        return [int(p) for p in parts]
    except (ValueError, IndexError):
        raise InputError(f"expected a list like 8,16,...,1024, got {text!r}") from None


def fit_exponent(ns: Sequence[int], ratios: Sequence[float]) -> float:
    """Least-squares slope of ``log ratio`` against ``log n`` (the growth exponent)."""
    import numpy as np

    x = np.log(np.asarray(ns, dtype=float))
    y = np.log(np.asarray(ratios, dtype=float))
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def fit_limit(ns: Sequence[int], ratios: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``ratio = r_inf - c/n`` on the larger half of the points (at least
    three; the ``1/n`` law is asymptotic): returns ``(r_inf, c)``, the limit the points tend to
    if the shortfall falls like ``1/n`` (the families that tend to a constant: a finite number
    of groups or batches costs a fraction about ``1/G`` of the ratio)."""
    import numpy as np

    if len(ns) < 2:
        return float("nan"), float("nan")
    pairs = sorted(zip(ns, ratios, strict=True))
    pairs = pairs[-max(min(3, len(pairs)), (len(pairs) + 1) // 2) :]
    x = 1.0 / np.asarray([p[0] for p in pairs], dtype=float)
    slope, intercept = np.polyfit(x, np.asarray([p[1] for p in pairs], dtype=float), 1)
    return float(intercept), float(-slope)


def plot_family(points: Sequence[FamilyPoint], path: str, *, title: str = "") -> str:
    """Plot certified ratio against ``n`` (log-log), one line per (policy, alpha), with the
    fitted exponent in the legend and the theorem's bound where one applies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adversaries.objective import bound_at_alpha

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups: dict[tuple[str, Fraction], list[FamilyPoint]] = {}
    for p in points:
        groups.setdefault((p.policy, p.alpha_param), []).append(p)
    regime = FAMILIES[points[0].family].regime if points else "all_at_zero"
    for (pol, a), pts in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        pts.sort(key=lambda q: q.n)
        ns = [q.n for q in pts]
        rs = [float(q.ratio) for q in pts]
        e = fit_exponent(ns, rs)
        exact = all(q.alpha == a for q in pts)
        lab = f"{pol}, alpha{'=' if exact else '~'}{a}: ~n^{e:.2f}"
        if len(ns) >= 3 and e < 0.3:  # tends to a constant: show the fitted limit too
            lab += f", limit ~{fit_limit(ns, rs)[0]:.2f}"
        (line,) = ax.plot(ns, rs, marker="o", label=lab)
        b = bound_at_alpha(max(q.alpha for q in pts), pol, regime)
        if b is not None:
            ax.axhline(float(b), ls="--", lw=0.8, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (requests)")
    ax.set_ylabel("certified ratio L_policy / UB(OPT)")
    ax.set_title(title or (points[0].family if points else ""))
    ax.legend(fontsize=8)
    ax.grid(True, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
