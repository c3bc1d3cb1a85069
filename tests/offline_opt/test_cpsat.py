"""The optional CP-SAT backend and the 'auto' portfolio agree with the exact DP."""

from __future__ import annotations

import numpy as np
import pytest

from offline_opt import solve
from offline_opt.exact_small import solve_exact
from ratio.check import check

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
