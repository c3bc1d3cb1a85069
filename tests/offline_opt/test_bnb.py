"""The branch and bound (all arrivals at 0) against the exact DP and the MILP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from offline_opt import bnb_jit, solve
from offline_opt.bnb import lagrangian_lower_bound, solve_bnb, state_lower_bound
from offline_opt.exact_small import solve_exact
from offline_opt.upper import best_upper_bound
from ratio.check import check
from ratio.gen import generate
from ratio.model import Instance

from .conftest import random_instance, small_instances

ENGINES = [
    "python",
    pytest.param(
        "jit", marks=pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")
    ),
]


def _check_batch(
    count: int, seed: int, max_n: int, semi_active: bool = False, engine: str = "python"
) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(count):
        inst = random_instance(rng, int(rng.integers(1, max_n + 1)), arrivals=False)
        opt, _ = solve_exact(inst)
        # ub far above OPT forces a full search
        out = solve_bnb(inst, ub=10**9, semi_active=semi_active, engine=engine)
        assert out.bound == opt and not out.timed_out
        assert out.schedule is not None and check(inst, out.schedule)
        assert out.schedule.total_latency(inst) == opt
        full = (1 << inst.n) - 1
        assert state_lower_bound(inst, full, ()) <= opt


def _check_budgets(count: int, seed: int, max_n: int, engine: str = "python") -> None:
    """Budgets near OPT, where the Lagrangian bound prunes: warm-start cost, OPT + 1 (the
    search must find OPT below it) and OPT (it must prove OPT >= budget); both state bounds."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        inst = random_instance(rng, int(rng.integers(1, max_n + 1)), arrivals=False)
        opt, _ = solve_exact(inst)
        ub, _ = best_upper_bound(inst)
        for lag in (True, False):
            for budget in {ub, opt + 1}:
                out = solve_bnb(inst, ub=budget, lagrangian=lag, engine=engine)
                assert not out.timed_out
                if budget > opt:
                    assert out.bound == opt
                    assert out.schedule is not None and check(inst, out.schedule)
                    assert out.schedule.total_latency(inst) == opt
                else:
                    assert out.bound == opt and out.schedule is None
            out = solve_bnb(inst, ub=opt, lagrangian=lag, engine=engine)
            assert out.bound == opt and out.schedule is None and not out.timed_out
        full = (1 << inst.n) - 1
        assert lagrangian_lower_bound(inst, full, target=opt + 1) <= opt


@pytest.mark.parametrize("engine", ENGINES)
def test_bnb_lagrangian_budgets_match_exact(engine: str) -> None:
    _check_budgets(150, seed=21, max_n=6, engine=engine)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_bnb_lagrangian_budgets_match_exact_slow(engine: str) -> None:
    _check_budgets(1000, seed=22, max_n=7, engine=engine)


@settings(max_examples=150, deadline=None)
@given(small_instances(max_n=5, arrivals=False))
def test_lagrangian_bound_below_opt(inst: Instance) -> None:
    opt, _ = solve_exact(inst)
    full = (1 << inst.n) - 1
    for target in (opt, opt + 5, 10 * opt + 10):
        assert lagrangian_lower_bound(inst, full, iterations=60, target=target) <= opt


def test_lagrangian_bound_closes_part_of_the_root_gap() -> None:
    """On the benchmark's n = 12 seed 1 instance (OPT = 184, warm start optimal) the
    Lagrangian root bound is above the fluid state bound and at most OPT."""
    inst = generate(12, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=1)
    full = (1 << 12) - 1
    fluid = state_lower_bound(inst, full, ())
    lag = lagrangian_lower_bound(inst, full, iterations=200, target=184)
    assert fluid < lag <= 184


@pytest.mark.parametrize("engine", ENGINES)
def test_bnb_matches_exact(engine: str) -> None:
    _check_batch(150, seed=11, max_n=6, engine=engine)


def test_bnb_semi_active_matches_exact() -> None:
    _check_batch(60, seed=12, max_n=6, semi_active=True)


@pytest.mark.slow
def test_bnb_matches_exact_slow() -> None:
    _check_batch(1000, seed=13, max_n=7)
    if bnb_jit.available():
        _check_batch(1000, seed=15, max_n=7, engine="jit")
    _check_batch(300, seed=14, max_n=7, semi_active=True)


def test_bnb_matches_milp_n8() -> None:
    for seed in range(2):
        inst = generate(8, seed=seed)
        a = solve(inst, solver="bnb")
        b = solve(inst, solver="highs")
        assert a.status == b.status == "optimal" and a.cost == b.cost


def test_bnb_with_arrivals_falls_back() -> None:
    inst = generate(5, arrivals="poisson", rate=0.5, seed=1)
    res = solve(inst, solver="bnb")
    assert res.solver == "highs" and res.status == "optimal"
    assert res.cost == solve_exact(inst)[0]


@pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")
def test_jit_engine_agrees_with_python_and_milp_n10() -> None:
    """Both engines and HiGHS prove the same optimum on n = 10 instances of the benchmark's
    distribution; the compiled one from the warm start's cost, the Python one from OPT + 1."""
    for seed in (1, 2):
        inst = generate(10, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=seed)
        ub, _ = best_upper_bound(inst)
        jit = solve_bnb(inst, ub=ub, engine="jit")
        ref = solve(inst, solver="highs")
        assert ref.status == "optimal" and not jit.timed_out and jit.bound == ref.cost
        py = solve_bnb(inst, ub=ref.cost + 1, engine="python")
        assert py.bound == ref.cost and py.schedule is not None


@pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")
def test_jit_engine_times_out_with_a_valid_bound() -> None:
    """A tiny time limit on n = 16 (benchmark seed 2, OPT = 286, proved by
    ``benchmarks/bench_opt.py``): timed out, no schedule, the bound between the fluid root bound
    and OPT."""
    inst = generate(16, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=2)
    ub, _ = best_upper_bound(inst)
    out = solve_bnb(inst, ub=ub, time_limit=0.05, engine="jit")
    assert out.timed_out and out.schedule is None
    assert state_lower_bound(inst, (1 << 16) - 1, ()) <= out.bound <= 286 <= ub


@pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")
def test_auto_uses_the_compiled_search_then_highs_when_it_stops() -> None:
    """``auto`` on all-at-zero instances: the compiled search proves n = 10; on n = 16
    (OPT = 286) with 1.5 s it stops and HiGHS gets the time left, with a valid certificate."""
    inst = generate(10, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=2)
    res = solve(inst, time_limit=60)
    assert res.solver == "bnb" and res.status == "optimal"
    big = generate(16, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=2)
    res = solve(big, time_limit=1.5)
    assert res.solver == "bnb+highs"
    assert res.cost is not None and res.lower_bound <= 286 <= res.cost
    assert res.status in ("feasible", "optimal")
    bnb_bound = dict(res.bounds)["bnb"]
    assert bnb_bound is not None and bnb_bound <= 286
