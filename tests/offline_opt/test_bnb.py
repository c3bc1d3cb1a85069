"""The branch and bound (all arrivals at 0) against the exact DP and the MILP."""

from __future__ import annotations

import numpy as np
import pytest

from offline_opt import solve
from offline_opt.bnb import solve_bnb, state_lower_bound
from offline_opt.exact_small import solve_exact
from ratio.check import check
from ratio.gen import generate

from .conftest import random_instance


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
