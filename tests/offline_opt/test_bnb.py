"""The branch and bound (all arrivals at 0) against the exact DP and the MILP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from offline_opt import solve
from offline_opt.bnb import lagrangian_lower_bound, solve_bnb, state_lower_bound
from offline_opt.exact_small import solve_exact
from offline_opt.upper import best_upper_bound
from ratio.check import check
from ratio.gen import generate
from ratio.model import Instance

from .conftest import random_instance, small_instances


def _check_batch(count: int, seed: int, max_n: int, semi_active: bool = False) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(count):
        inst = random_instance(rng, int(rng.integers(1, max_n + 1)), arrivals=False)
        opt, _ = solve_exact(inst)
        out = solve_bnb(inst, ub=10**9, semi_active=semi_active)  # force a full search
        assert out.bound == opt and not out.timed_out
        assert out.schedule is not None and check(inst, out.schedule)
        assert out.schedule.total_latency(inst) == opt
        full = (1 << inst.n) - 1
        assert state_lower_bound(inst, full, ()) <= opt


def _check_budgets(count: int, seed: int, max_n: int) -> None:
    """Budgets near OPT, where the Lagrangian bound prunes: warm-start cost, OPT + 1 (the
    search must find OPT below it) and OPT (it must prove OPT >= budget); both state bounds."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        inst = random_instance(rng, int(rng.integers(1, max_n + 1)), arrivals=False)
        opt, _ = solve_exact(inst)
        ub, _ = best_upper_bound(inst)
        for lag in (True, False):
            for budget in {ub, opt + 1}:
                out = solve_bnb(inst, ub=budget, lagrangian=lag)
                assert not out.timed_out
                if budget > opt:
                    assert out.bound == opt
                    assert out.schedule is not None and check(inst, out.schedule)
                    assert out.schedule.total_latency(inst) == opt
                else:
                    assert out.bound == opt and out.schedule is None
            out = solve_bnb(inst, ub=opt, lagrangian=lag)
            assert out.bound == opt and out.schedule is None and not out.timed_out
        full = (1 << inst.n) - 1
        assert lagrangian_lower_bound(inst, full, target=opt + 1) <= opt


def test_bnb_lagrangian_budgets_match_exact() -> None:
    _check_budgets(150, seed=21, max_n=6)


@pytest.mark.slow
def test_bnb_lagrangian_budgets_match_exact_slow() -> None:
    _check_budgets(1000, seed=22, max_n=7)


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


def test_bnb_matches_exact() -> None:
    _check_batch(150, seed=11, max_n=6)


def test_bnb_semi_active_matches_exact() -> None:
    _check_batch(60, seed=12, max_n=6, semi_active=True)


@pytest.mark.slow
def test_bnb_matches_exact_slow() -> None:
    _check_batch(1000, seed=13, max_n=7)
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
