"""The optional CP-SAT backend and the 'auto' plans agree with the exact DP."""

from __future__ import annotations

import numpy as np
import pytest

from offline_opt import auto, bnb_jit, solve
from offline_opt.exact_small import solve_exact
from ratio.check import check
from ratio.model import Instance

from .conftest import random_instance, spec_cases

pytest.importorskip("ortools")


def test_cpsat_matches_exact() -> None:
    rng = np.random.default_rng(31)
    for k in range(80):
        inst = random_instance(rng, int(rng.integers(1, 7)), arrivals=bool(k % 2))
        opt, _ = solve_exact(inst)
        res = solve(inst, solver="cpsat", warm_start=bool(k % 3))
        assert res.status == "optimal" and res.cost == opt, (inst, res)
        assert res.schedule is not None and check(inst, res.schedule)


@pytest.mark.slow
def test_cpsat_matches_exact_slow() -> None:
    rng = np.random.default_rng(32)
    for k in range(1000):
        inst = random_instance(rng, int(rng.integers(1, 8)), arrivals=bool(k % 2))
        assert solve(inst, solver="cpsat", warm_start=False).cost == solve_exact(inst)[0]


@pytest.mark.parametrize("inst,case", spec_cases())
def test_auto_spec_examples(inst, case) -> None:
    res = solve(inst, solver="auto", warm_start=False)
    assert res.status == "optimal" and res.cost == case["opt"]


def _online(rng: np.random.Generator, n: int) -> Instance:
    """The benchmark's online shape, scaled down: M = 40, s <= 12, o <= 16, arrivals 0..20."""
    rows = [
        (int(rng.integers(0, 21)), int(rng.integers(1, 13)), int(rng.integers(1, 17)))
        for _ in range(n)
    ]
    return Instance.from_tuples(40, rows)


def _long(rng: np.random.Generator, n: int) -> Instance:
    """All at 0 with one output longer than ``BNB_MAX_OUTPUT`` (the large-length shape)."""
    rows = [(0, int(rng.integers(1, 20)), int(rng.integers(1, 8))) for _ in range(n - 1)]
    rows.append((0, int(rng.integers(1, 6)), auto.BNB_MAX_OUTPUT + 1 + int(rng.integers(0, 6))))
    return Instance.from_tuples(int(rng.integers(auto.BNB_MAX_OUTPUT + 7, 60)), rows)


def test_auto_picks_its_component_by_features_and_matches_exact() -> None:
    """``auto`` runs CP-SAT first on online instances and HiGHS on long outputs (measured in
    ``benchmarks/bench_opt.py``, docs/offline_opt.md), and its verified optimum equals the
    exact DP."""
    rng = np.random.default_rng(15)
    for k in range(24):
        online = k % 2 == 0
        inst = (
            _online(rng, int(rng.integers(2, 6))) if online else _long(rng, int(rng.integers(2, 5)))
        )
        pl = auto.plan(inst)
        assert pl.primary == ("cpsat" if online else "highs"), (inst, pl)
        res = solve(inst, solver="auto", warm_start=False, time_limit=60)
        # the first stage proves these small instances: no hand-over
        assert res.solver == pl.primary, (inst, res.solver)
        assert res.status == "optimal" and res.cost == solve_exact(inst)[0], (inst, res)
        assert res.schedule is not None and check(inst, res.schedule)


@pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")
def test_auto_keeps_the_compiled_search_on_short_outputs_at_zero() -> None:
    rng = np.random.default_rng(16)
    for _ in range(6):
        rows = [(0, int(rng.integers(1, 13)), int(rng.integers(1, 17))) for _ in range(4)]
        inst = Instance.from_tuples(40, rows)
        assert auto.plan(inst).stages == (("bnb", auto.BNB_SHARE), ("highs", 1.0))
        res = solve(inst, solver="auto", warm_start=False)
        assert res.solver == "bnb" and res.cost == solve_exact(inst)[0]


def test_auto_plan_without_the_optional_backends() -> None:
    inst = Instance.from_tuples(40, [(0, 3, 5), (0, 4, 6)])
    f = auto.features(inst)
    bare = auto.Features(f.n, f.all_at_zero, f.max_output, f.capacity, jit=False, cpsat=False)
    assert auto.plan(inst, bare).stages == (("highs", 1.0),)
    jit_only = auto.Features(f.n, True, f.max_output, f.capacity, jit=True, cpsat=False)
    assert auto.plan(inst, jit_only).primary == "bnb"
