"""The screen's compiled path (``ratio.fastsim``) changes no result: the same run, ``LB`` and
certificate as the Python path, the same evaluations, and a fallback for everything else."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import adversaries.objective as objective
import ratio.fastsim as fastsim
from adversaries.objective import FAST_MIN_N, evaluate, screen
from ratio import Instance
from ratio.fastsim import FastSimResult
from ratio.strategies import instances

pytestmark = pytest.mark.skipif(not fastsim.available(), reason="numba is not installed")

POLICIES = ["svf", "sjf", "spf", "fcfs", "mcsf", "svf:blocking=false"]


def screen_fast_from_1(inst: Instance, policy: str) -> tuple:
    """``screen`` with the compiled path from one request on (the property tests keep their
    traces small; the threshold is only about when loading compiled code pays)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(objective, "FAST_MIN_N", 1)
        return screen(inst, policy)


def assert_same_screen(inst: Instance, policy: str) -> None:
    sim, lb, cert = screen_fast_from_1(inst, policy)
    ref_sim, ref_lb, ref_cert = screen(inst, policy, fast=False)
    assert type(ref_sim).__name__ == "SimResult"
    assert sim.starts == ref_sim.starts
    assert sim.admission_order == ref_sim.admission_order
    assert sim.total_latency == ref_sim.total_latency
    assert sim.policy == ref_sim.policy
    assert (lb, cert) == (ref_lb, ref_cert)


@pytest.mark.parametrize("policy", POLICIES)
@given(
    inst=st.one_of(
        instances(n=(1, 40), regime="all_at_zero"),
        instances(n=(1, 40), regime="all_at_zero", alpha_max=Fraction(1)),
        instances(n=(1, 40), regime="online", max_arrival=40),
    )
)
def test_fast_screen_is_the_python_screen(policy: str, inst: Instance) -> None:
    assert_same_screen(inst, policy)
    sim, _, _ = screen_fast_from_1(inst, policy)
    assert isinstance(sim, FastSimResult)


@pytest.mark.parametrize("policy", ["vllm_fcfs", "svf_1bit:theta=4", "sorted_f"])
@pytest.mark.parametrize("regime", ["all_at_zero", "online"])
def test_unsupported_policies_fall_back(policy: str, regime: str) -> None:
    from tests.ratio.test_fastsim import _space_trace

    inst = _space_trace(FAST_MIN_N + 8, 3, regime)
    sim, _, _ = screen(inst, policy)
    assert not isinstance(sim, FastSimResult)
    assert_same_screen(inst, policy)


def test_small_traces_take_the_python_path() -> None:
    def trace(n: int) -> Instance:
        return Instance.from_tuples(60, [(0, 1 + i % 7, 1 + i % 5) for i in range(n)])

    sim, _, _ = screen(trace(FAST_MIN_N - 1), "svf")
    assert not isinstance(sim, FastSimResult)
    sim, _, _ = screen(trace(FAST_MIN_N), "svf")
    assert isinstance(sim, FastSimResult)


@pytest.mark.parametrize("regime", ["all_at_zero", "online"])
@pytest.mark.parametrize("threshold", [Fraction(0), Fraction(10**6)])
def test_evaluations_are_unchanged(
    regime: str, threshold: Fraction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Certified (threshold 0) and screened evaluations of search traces, field by field."""
    import adversaries.objective as obj
    from tests.ratio.test_fastsim import _space_trace

    real = obj.screen
    for seed in range(2):
        inst = _space_trace(300, seed, regime)
        fast = evaluate(inst, "svf", threshold=threshold)
        monkeypatch.setattr(obj, "screen", lambda i, p: real(i, p, fast=False))
        slow = evaluate(inst, "svf", threshold=threshold)
        monkeypatch.undo()
        assert replace(fast, seconds=0.0) == replace(slow, seconds=0.0)


def test_n_10000_screen_takes_the_fast_path() -> None:
    """The structured ``n = 10^4`` trace of ``test_n_10000_evaluation_is_fast`` (175,000
    rounds of a blocked head in the Python loop) goes through the compiled loop and the
    numpy bound, with the Python path's values."""
    from adversaries.space import expand, to_instance

    inst = to_instance(expand((114639, ((0, 2916, 308, 9), (0, 85968, 11, 1)), 1000)))
    assert inst.n == 10_000
    sim, lb, cert = screen(inst, "svf")
    assert isinstance(sim, FastSimResult)
    assert fastsim.lower_bound_fast(inst) == lb
    assert cert is not None and cert["holds"]
    assert_same_screen(inst, "svf")
