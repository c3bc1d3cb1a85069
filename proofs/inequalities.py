"""Every inequality of issue 7 that can be evaluated on an (instance, schedule) pair.

Each function returns :class:`Inequality` objects holding both sides as exact ``int`` or
``Fraction`` values, so a failure is a certified counter-example (given a schedule that
:func:`ratio.check.check` accepts). ``tests/proofs/test_inequalities.py`` drives them with
hypothesis; ``kvratio prove`` runs them on thousands of instances.

References: ``docs/model.md`` sections 4, 9, 11, 12; Kong, Qi, Ye, Zhou, arXiv 2606.22327,
Prop 3.1, Lemma A.2, Thm 3.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

from proofs.opt import prop31_sum, section11_bound
from ratio.costs import memory_trace
from ratio.model import Instance, Schedule
from ratio.simulator import SimResult

__all__ = [
    "Inequality",
    "svf_bound",
    "volume_identities",
    "block_rounding_bounds",
    "prefix_identity",
    "prop31",
    "section11",
    "largest_prefix_bound",
    "po_plus_o_le_2v",
    "lemma_a2_per_request",
    "lemma_a2_summed",
    "thm32_certificate",
    "thm32",
]


@dataclass(frozen=True)
class Inequality:
    """``lhs <= rhs`` (or ``lhs == rhs`` when ``equality``), evaluated exactly."""

    name: str
    lhs: Fraction | int
    rhs: Fraction | int
    equality: bool = False

    @property
    def holds(self) -> bool:
        return self.lhs == self.rhs if self.equality else self.lhs <= self.rhs

    @property
    def slack(self) -> Fraction | int:
        return self.rhs - self.lhs

    def __bool__(self) -> bool:
        return self.holds


def svf_bound(alpha: Fraction) -> Fraction | None:
    """``1 + 2/(1 - alpha)`` of Thm 3.2 (model §10); None at ``alpha = 1`` (no claim)."""
    if alpha >= 1:
        return None
    return 1 + Fraction(2) / (1 - alpha)


def _max_peak(instance: Instance) -> int:
    return max(instance.peaks) if instance.n else 0


# --- section 4 and 9: volume ----------------------------------------------------------------
def volume_identities(instance: Instance, schedule: Schedule) -> list[Inequality]:
    """The memory x time area of a schedule without evictions is ``sum_i V_i`` in the model
    convention and ``sum_i (V_i - o_i)`` in the engine convention (model §4)."""
    if schedule.evicted:
        raise ValueError("volume identities need a schedule without evictions")
    v = sum(instance.volumes)
    o = sum(r.output for r in instance.requests)
    model = int(memory_trace(instance, schedule).sum())
    engine = int(memory_trace(instance, schedule, convention="engine").sum())
    return [
        Inequality("area(model) == sum V", model, v, equality=True),
        Inequality("area(engine) == sum (V - o)", engine, v - o, equality=True),
    ]


def block_rounding_bounds(
    instance: Instance, schedule: Schedule, block_size: int
) -> list[Inequality]:
    """Block rounding of model §9 (engine convention, blocks of ``B`` tokens):
    ``sum (V - o) <= area_B <= sum (V - o) + (B - 1) sum o``; per round
    ``x <= B ceil(x / B) <= x + B - 1``."""
    if schedule.evicted:
        raise ValueError("block rounding bounds need a schedule without evictions")
    v = sum(instance.volumes)
    o = sum(r.output for r in instance.requests)
    area = int(memory_trace(instance, schedule, convention="engine", block_size=block_size).sum())
    return [
        Inequality("sum (V - o) <= area_B", v - o, area),
        Inequality("area_B <= sum (V - o) + (B-1) sum o", area, v - o + (block_size - 1) * o),
    ]


# --- section 11 and Prop 3.1 ---------------------------------------------------------------
def prefix_identity(instance: Instance) -> Inequality:
    """``sum_k prefix_k(V) == sum_i V_i + sum_{i<j} min(V_i, V_j)`` (exact identity)."""
    vols = instance.volumes
    rhs = sum(vols) + sum(min(a, b) for a, b in combinations(vols, 2))
    return Inequality("sum_k prefix_k == sum V + sum_pairs min", prop31_sum(instance), rhs, True)


def prop31(instance: Instance, cost: int) -> Inequality:
    """Prop 3.1: ``sum_k prefix_k(V) <= M * L`` for any feasible all-at-zero schedule of cost
    ``L`` (hence for OPT)."""
    return Inequality("sum_k prefix_k(V) <= M * L", prop31_sum(instance), instance.capacity * cost)


def section11(instance: Instance, cost: int) -> Inequality:
    """Spec 11: ``sum_k max(ceil(prefix_k / M), o_(k)) <= L`` for any feasible schedule."""
    return Inequality("section-11 bound <= L", section11_bound(instance), cost)


def largest_prefix_bound(instance: Instance, cost: int) -> Inequality:
    """The *false* variant: ``sum_k (k largest volumes) <= M * L``. Fails for
    ``s = 0, o = 1, 2, M = 2`` (model §11); a failure with a checked schedule is a certificate."""
    desc = sorted(instance.volumes, reverse=True)
    acc = 0
    tot = 0
    for v in desc:
        acc += v
        tot += acc
    return Inequality("sum_k largest_k(V) <= M * L", tot, instance.capacity * cost)


# --- section 12: Lemma A.2 -----------------------------------------------------------------
def po_plus_o_le_2v(instance: Instance) -> list[Inequality]:
    """``P_i o_i + o_i <= 2 V_i`` for every request (slack ``s_i o_i``)."""
    return [
        Inequality(f"P o + o <= 2V (request {i})", r.peak * r.output + r.output, 2 * r.volume)
        for i, r in enumerate(instance.requests)
    ]


def _check_svf_run(run: SimResult) -> None:
    if not run.instance.all_at_zero:
        raise ValueError("Lemma A.2 is stated for all-at-zero instances")
    if run.schedule.evicted:
        raise ValueError("Lemma A.2 needs a run without evictions")
    if sorted(run.admission_order) != list(range(run.instance.n)):
        raise ValueError("the run's admission order is not a permutation of the requests")


def lemma_a2_per_request(run: SimResult) -> list[Inequality]:
    """Lemma A.2, per request (model §12): ``(M - P + 1) W_j <= sum_{i admitted before j} P_i o_i``
    with ``W_j = p_j`` and ``P = max_i P_i``; for SVF (blocking) on all-at-zero instances."""
    _check_svf_run(run)
    inst = run.instance
    m, p = inst.capacity, _max_peak(inst)
    out: list[Inequality] = []
    acc = 0
    for j in run.admission_order:
        out.append(Inequality(f"(M-P+1) W_{j} <= sum_before P o", (m - p + 1) * run.starts[j], acc))
        r = inst.requests[j]
        acc += r.peak * r.output
    return out


def lemma_a2_summed(run: SimResult) -> Inequality:
    """Lemma A.2 summed (model §12): ``(M - P) sum_j W_j <= 2 (sum_k prefix_k(V) - sum_i V_i)``."""
    _check_svf_run(run)
    inst = run.instance
    m, p = inst.capacity, _max_peak(inst)
    rhs = 2 * (prop31_sum(inst) - sum(inst.volumes))
    return Inequality("(M-P) sum W <= 2 (sum prefix - sum V)", (m - p) * sum(run.starts), rhs)


# --- Thm 3.2 -------------------------------------------------------------------------------
def thm32_certificate(run: SimResult) -> list[Inequality]:
    """Thm 3.2's composition, evaluated without OPT (model §12 then Prop 3.1):

    ``(M-P) L_SVF <= 2 (sum prefix - sum V) + (M-P) sum o`` and, with
    ``X = max(sum prefix / M, sum o) <= OPT``, ``L_SVF <= (1 + 2/(1-alpha)) X``.
    """
    _check_svf_run(run)
    inst = run.instance
    m, p = inst.capacity, _max_peak(inst)
    so = sum(r.output for r in inst.requests)
    sp = prop31_sum(inst)
    sv = sum(inst.volumes)
    lat = run.total_latency
    out = [
        Inequality(
            "(M-P) L <= 2(sum prefix - sum V) + (M-P) sum o",
            (m - p) * lat,
            2 * (sp - sv) + (m - p) * so,
        )
    ]
    b = svf_bound(inst.alpha)
    if b is not None:
        x = max(Fraction(sp, m), Fraction(so))
        out.append(Inequality("L <= (1 + 2/(1-alpha)) max(sum prefix / M, sum o)", lat, b * x))
    return out


def thm32(instance: Instance, svf_cost: int, opt: int) -> Inequality | None:
    """Thm 3.2: ``L_SVF <= (1 + 2/(1-alpha)) OPT``; ``opt`` may be any lower bound on OPT (then
    holding is sufficient, failing is not a refutation). None at ``alpha = 1``."""
    b = svf_bound(instance.alpha)
    if b is None:
        return None
    return Inequality("L_SVF <= (1 + 2/(1-alpha)) OPT", svf_cost, b * opt)
