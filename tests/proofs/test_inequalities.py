"""Property tests of every instance-level inequality of issue 7 (docs/model.md §4, 9, 11, 12)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from proofs.inequalities import (
    Inequality,
    block_rounding_bounds,
    largest_prefix_bound,
    lemma_a2_per_request,
    lemma_a2_summed,
    po_plus_o_le_2v,
    prefix_identity,
    prop31,
    section11,
    svf_bound,
    thm32,
    thm32_certificate,
    volume_identities,
)
from proofs.opt import section11_bound, volume_lower_bound
from ratio.check import check
from ratio.model import Instance
from ratio.simulator import simulate
from ratio.strategies import instances

burst = instances(n=(1, 8), capacity=(2, 60), regime="all_at_zero")
burst_alpha = instances(n=(1, 10), regime="all_at_zero", alpha_max=Fraction(9, 10))
POLICIES = ("svf", "sjf", "fcfs", "spf", "sorted_f", "svf:blocking=false")


@given(burst, st.sampled_from(POLICIES), st.sampled_from([1, 2, 3, 16]))
def test_volume_and_block_rounding(inst: Instance, pol: str, b: int) -> None:
    run = simulate(inst, pol)
    assert check(inst, run.schedule)
    assert all(volume_identities(inst, run.schedule))
    assert all(block_rounding_bounds(inst, run.schedule, b))


@given(burst)
def test_prefix_identity(inst: Instance) -> None:
    assert prefix_identity(inst)


@given(burst, st.sampled_from(POLICIES))
def test_lower_bounds_below_every_schedule(inst: Instance, pol: str) -> None:
    cost = simulate(inst, pol).total_latency
    assert prop31(inst, cost)
    assert section11(inst, cost)
    assert section11_bound(inst) == volume_lower_bound(inst)


@given(instances(n=(1, 5), capacity=(2, 30), regime="all_at_zero", output=(1, 6), prompt=(1, 6)))
def test_section11_below_exact_opt(inst: Instance) -> None:
    exact = pytest.importorskip("offline_opt.exact_small")
    cost, sched = exact.solve_exact(inst)
    assert check(inst, sched)
    assert section11(inst, cost)
    assert prop31(inst, cost)


def test_largest_prefix_counterexample_is_certified() -> None:
    # in the model (s >= 1): found by `kvratio prove prop31_largest`
    inst = Instance.from_tuples(3, [(0, 1, 2), (0, 2, 1)])
    run = simulate(inst, "svf")
    assert check(inst, run.schedule) and run.total_latency == 4
    assert not largest_prefix_bound(inst, run.total_latency)


@given(burst_alpha)
@example(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]))
def test_lemma_a2_and_thm32_on_svf(inst: Instance) -> None:
    run = simulate(inst, "svf")
    assert check(inst, run.schedule)
    assert all(po_plus_o_le_2v(inst))
    assert all(lemma_a2_per_request(run))
    assert lemma_a2_summed(run)
    assert all(thm32_certificate(run))
    lb = section11_bound(inst)
    q = thm32(inst, run.total_latency, lb)
    assert q is not None and q  # L_SVF <= c(alpha) * LB <= c(alpha) * OPT


def test_lemma_a2_fails_loudly_outside_its_premise() -> None:
    inst = Instance.from_tuples(10, [(0, 2, 2), (3, 2, 2)])
    with pytest.raises(ValueError):
        lemma_a2_summed(simulate(inst, "svf"))


def test_inequality_detects_violation() -> None:
    assert not Inequality("x", 3, 2)
    assert Inequality("x", 2, 2, equality=True)
    assert not Inequality("x", 1, 2, equality=True)


def test_svf_bound_table() -> None:
    assert svf_bound(Fraction(1, 2)) == 5
    assert svf_bound(Fraction(1, 3)) == 4
    assert svf_bound(Fraction(1, 4)) == Fraction(11, 3)
    assert svf_bound(Fraction(1)) is None
