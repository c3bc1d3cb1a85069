"""The certified objective and SVF's waiting-time certificate (issue 6, items 3-4; spec 10-12)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adversaries.objective import (
    CertificateViolation,
    bound_at_alpha,
    evaluate,
    volume_lower_bound,
    waiting_certificate,
)
from ratio.check import check
from ratio.model import Instance, Schedule
from ratio.simulator import simulate


@st.composite
def burst_instances(draw: st.DrawFn, max_n: int = 7) -> Instance:
    n = draw(st.integers(1, max_n))
    rows = [(0, draw(st.integers(1, 12)), draw(st.integers(1, 12))) for _ in range(n)]
    top = max(s + o for _, s, o in rows)
    M = draw(st.integers(top, 3 * top))
    return Instance.from_tuples(M, rows)


def test_bound_at_alpha_is_the_theorem() -> None:
    assert bound_at_alpha(Fraction(1, 2)) == 5
    assert bound_at_alpha(Fraction(1, 3)) == 4
    assert bound_at_alpha(Fraction(1)) is None
    assert bound_at_alpha(Fraction(1, 2), "sjf") is None
    assert bound_at_alpha(Fraction(1, 2), "svf", "online") is None
    assert bound_at_alpha(Fraction(1, 2), "svf:blocking=false") is None


@given(inst=burst_instances())
def test_waiting_certificate_holds_on_svf(inst: Instance) -> None:
    sim = simulate(inst, "svf")
    assert waiting_certificate(inst, sim).holds


def test_waiting_certificate_detects_a_late_start() -> None:
    inst = Instance.from_tuples(10, [(0, 2, 2), (0, 2, 2), (0, 1, 1)])
    sim = simulate(inst, "svf")
    assert waiting_certificate(inst, sim).holds
    # A simulator that let request 2 wait 50 rounds would break (M-P+1) W_j <= sum P_i o_i.
    late = replace(sim, schedule=Schedule((sim.starts[0], sim.starts[1], 50)))
    wc = waiting_certificate(inst, late)
    assert not wc.holds and wc.first_violation == 2


@settings(max_examples=25)
@given(inst=burst_instances(max_n=6))
def test_volume_bound_below_exact_optimum(inst: Instance) -> None:
    from offline_opt import solve

    res = solve(inst, solver="exact")
    assert res.cost is not None
    assert volume_lower_bound(inst) <= res.cost


@settings(max_examples=25)
@given(inst=burst_instances(max_n=6), policy=st.sampled_from(["svf", "sjf", "fcfs"]))
def test_evaluation_is_certified(inst: Instance, policy: str) -> None:
    ev = evaluate(inst, policy, milp=False)
    assert check(inst, Schedule(ev.opt_starts))
    assert Schedule(ev.opt_starts).total_latency(inst) == ev.opt_upper
    assert ev.policy_cost == simulate(inst, policy).total_latency
    assert ev.opt_lower <= ev.opt_upper
    assert ev.ratio >= 1 or ev.opt_upper > ev.policy_cost  # UB includes the policy's own run
    assert ev.ratio == Fraction(ev.policy_cost, ev.opt_upper)


def test_milp_tightens_to_the_optimum() -> None:
    inst = Instance.from_tuples(
        44,
        [
            (0, 16, 1),
            (0, 16, 1),
            (0, 1, 16),
            (0, 6, 1),
            (0, 6, 1),
            (0, 2, 16),
            (0, 12, 10),
            (0, 13, 1),
        ],
    )
    ev = evaluate(inst, "svf", threshold=Fraction(1))
    assert ev.opt_status == "optimal" and ev.opt_upper == 51 and ev.policy_cost == 68
    assert ev.ratio == Fraction(4, 3)


def test_violation_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import adversaries.objective as obj

    def broken(inst: Instance, sim: object) -> obj.WaitingCertificate:
        return obj.WaitingCertificate(False, 0, 1, 0)

    monkeypatch.setattr(obj, "waiting_certificate", broken)
    inst = Instance.from_tuples(10, [(0, 2, 2), (0, 2, 2)])
    with pytest.raises(CertificateViolation) as info:
        evaluate(inst, "svf")
    assert info.value.instance == inst
    # Other policies and the online regime are not covered by the theorem: no check.
    evaluate(inst, "sjf")
