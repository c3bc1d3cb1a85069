"""Fluid LPs against hand-solved cases (ratio/queueing/fluid.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ratio.errors import InputError
from ratio.queueing.fluid import (
    FluidType,
    ZhangClass,
    ao_equilibrium_lp,
    max_wait_threshold,
    wait_thresholds,
    zhang_lp,
)

SOLVERS = ("highs", "cbc")


@pytest.mark.parametrize("solver", SOLVERS)
def test_ao_one_type_by_hand(solver: str) -> None:
    # Stages hold 3 and 4 tokens: 140 / 7 = 20 per round; one more token is worth 1/7.
    r = ao_equilibrium_lp([FluidType(2, 2)], 140, solver=solver)
    assert r.optimum == pytest.approx(20)
    assert r.duals["memory"] == pytest.approx(1 / 7)
    assert r.extra["n"] == [pytest.approx(20)]
    # Ao's convention sum_{k=0..o} (l + k) = 2 + 3 + 4 = 9.
    r2 = ao_equilibrium_lp([FluidType(2, 2)], 140, first_token="separate", solver=solver)
    assert r2.optimum == pytest.approx(140 / 9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_ao_two_types_free_mix_by_hand(solver: str) -> None:
    # m = (1*1 + 1) = 2 and (1*3 + 6) = 9; caps 10 and 10, M = 50: take type 0 fully
    # (20 tokens), then 30/9 of type 1; memory's price = reward of type 1 per token = 1/9,
    # cap_0's price = 1 - 2/9 = 7/9.
    types = [FluidType(1, 1), FluidType(1, 3)]
    r = ao_equilibrium_lp(types, 50, mix=False, caps=[10, 10], solver=solver)
    assert r.optimum == pytest.approx(10 + 30 / 9)
    assert r.solution["lam_1"] == pytest.approx(30 / 9)
    assert r.duals["memory"] == pytest.approx(1 / 9)
    assert r.duals["cap_0"] == pytest.approx(7 / 9)
    assert r.duals["cap_1"] == pytest.approx(0)


def test_ao_affine_by_hand() -> None:
    # tau = 1 + 0.01 * decode tokens, one type (2, 2): c = 0.01 * 1 decode stage, m = 7,
    # lambda (7 + 140 * 0.01) <= 140  ->  lambda = 140 / 8.4; tau = 1 / (1 - 0.01 lambda).
    r = ao_equilibrium_lp([FluidType(2, 2)], 140, tau="affine:c0=1,c_prefill=0,c_decode=1/100")
    lam = 140 / 8.4
    assert r.optimum == pytest.approx(lam)
    assert r.extra["tau"] == pytest.approx(1 / (1 - 0.01 * lam))
    assert r.extra["memory_used"] == pytest.approx(140)


def test_ao_refuses_staircase() -> None:
    with pytest.raises(InputError, match="affine"):
        ao_equilibrium_lp([FluidType(2, 2)], 140, tau="staircase:c=1,a=1,b0=8")


@pytest.mark.parametrize("solver", SOLVERS)
def test_zhang_by_hand(solver: str) -> None:
    # One class, B = 4, tau = 2, gamma = 1, one prefill iteration, 10 outputs, lambda = 1:
    # decode rate <= 3x/20 + 4(1-x)/10 and <= x/2  ->  x = 8/15, revenue 4/15; duals from the
    # basis (y, z, x, q): decode -1/3, mixed_cap 1/30, solo_cap 1/15, arrive 0.
    r = zhang_lp([ZhangClass(1.0, 1, 10)], B=4, tau=2.0, gamma=1.0, solver=solver)
    assert r.optimum == pytest.approx(4 / 15)
    assert r.solution["x_0"] == pytest.approx(8 / 15)
    assert r.solution["y_0"] == pytest.approx(8 / 5)
    assert r.solution["z_0"] == pytest.approx(28 / 15)
    assert r.solution["w_0"] == pytest.approx(0)
    assert r.duals["decode_0"] == pytest.approx(-1 / 3, abs=1e-7)
    assert r.duals["mixed_cap"] == pytest.approx(1 / 30, abs=1e-7)
    assert r.duals["solo_cap"] == pytest.approx(1 / 15, abs=1e-7)
    assert r.duals["arrive_0"] == pytest.approx(0, abs=1e-7)


classes = st.lists(
    st.builds(
        ZhangClass,
        rate=st.floats(0.01, 2.0),
        prefill_iters=st.integers(1, 4),
        output=st.integers(1, 40),
        reward=st.floats(0.1, 3.0),
    ),
    min_size=1,
    max_size=3,
)


@settings(deadline=None)  # examples: the profile (dev 60, ci 150)
@given(cl=classes, B=st.integers(2, 16), tau=st.floats(0.5, 4.0), slack=st.floats(1.0, 3.0))
def test_zhang_no_decode_wait_when_solo_is_fast(
    cl: list[ZhangClass], B: int, tau: float, slack: float
) -> None:
    """gamma * tau >= (B - 1) / B: forcing w = 0 does not lower the optimum."""
    gamma = slack * (B - 1) / B / tau
    free = zhang_lp(cl, B=B, tau=tau, gamma=gamma)
    forced = zhang_lp(cl, B=B, tau=tau, gamma=gamma, force_no_decode_wait=True)
    assert forced.optimum == pytest.approx(free.optimum, rel=1e-6, abs=1e-9)


def test_zhang_decode_waits_when_solo_is_slow() -> None:
    # gamma * tau = 0.1 < 3/4: only mixed GPUs decode well, and they must prefill to exist, so
    # some prefilled requests wait (and abandon) at the optimum: forcing w = 0 loses revenue.
    cl = [ZhangClass(5.0, 1, 10)]
    free = zhang_lp(cl, B=4, tau=1.0, gamma=0.1)
    forced = zhang_lp(cl, B=4, tau=1.0, gamma=0.1, force_no_decode_wait=True)
    assert free.solution["w_0"] > 1e-6
    assert forced.optimum < free.optimum - 1e-6


def test_zhang_fixed_split_by_hand() -> None:
    # The gate-and-route experiment's classes (prefill 1 and 4 chunks, output 30, 0.2 each),
    # B = 8, tau = 2, gamma = 1. The LP mixes 0.4 + 8/330; with the split fixed at 1/2 both
    # decode pools are full: 7 * 1/2 / (30 * 2) + 8 * 1/2 / 30 = 23/120.
    cl = [ZhangClass(0.2, 1, 30), ZhangClass(0.2, 4, 30)]
    free = zhang_lp(cl, B=8, tau=2.0, gamma=1.0)
    assert free.optimum == pytest.approx(67 / 330)
    assert free.extra["mixed_share"] == pytest.approx(0.4 + 8 / 330)
    half = zhang_lp(cl, B=8, tau=2.0, gamma=1.0, mixed_share=0.5)
    assert half.optimum == pytest.approx(23 / 120)
    same = zhang_lp(cl, B=8, tau=2.0, gamma=1.0, mixed_share=free.extra["mixed_share"])
    assert same.optimum == pytest.approx(free.optimum)
    with pytest.raises(InputError, match="mixed_share"):
        zhang_lp(cl, B=8, tau=2.0, gamma=1.0, mixed_share=1.5)


def test_zhang_bad_input() -> None:
    with pytest.raises(InputError, match="B"):
        zhang_lp([ZhangClass(1.0, 1, 10)], B=1, tau=1.0, gamma=1.0)
    with pytest.raises(InputError):
        zhang_lp([], B=4, tau=1.0, gamma=1.0)


def test_wait_thresholds_and_max_L() -> None:
    assert wait_thresholds([FluidType(2, 2)], 60) == [20]
    assert max_wait_threshold([FluidType(2, 2)], 140) == 62  # floor(62/3) = 20, 63 -> 21
    with pytest.raises(InputError, match="no WAIT threshold fits"):
        max_wait_threshold([FluidType(60, 500)], 1000)
    with pytest.raises(InputError):
        wait_thresholds([FluidType(2, 2)], 0)
