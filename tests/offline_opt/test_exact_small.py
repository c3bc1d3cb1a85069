"""The exact DP (the referee) against fixtures and brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from offline_opt.exact_small import MAX_N, solve_exact
from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance, Schedule

from .conftest import random_instance, spec_cases


@pytest.mark.parametrize("inst,case", [c for c in spec_cases() if c[0].n <= MAX_N])
def test_spec_examples_opt(inst: Instance, case: dict) -> None:
    cost, sched = solve_exact(inst)
    assert cost == case["opt"]
    assert check(inst, sched)
    assert sched.total_latency(inst) == cost


def _brute(inst: Instance) -> int:
    """Enumerate every start vector up to the serial horizon (tiny n only)."""
    A = max(r.arrival for r in inst.requests)
    T = A + sum(r.output for r in inst.requests)
    ranges = [range(r.arrival, T - r.output + 1) for r in inst.requests]
    best = None
    M = inst.capacity
    for starts in itertools.product(*ranges):
        mem = [0] * T
        for p, r in zip(starts, inst.requests, strict=True):
            for k in range(1, r.output + 1):
                mem[p + k - 1] += r.prompt + k
        if max(mem) <= M:
            c = Schedule(starts).total_latency(inst)
            best = c if best is None or c < best else best
    assert best is not None
    return best


@pytest.mark.parametrize("arrivals", [False, True])
def test_dp_matches_brute_force(arrivals: bool) -> None:
    rng = np.random.default_rng(7 + arrivals)
    for _ in range(40):
        n = int(rng.integers(1, 4))
        inst = random_instance(rng, n, arrivals=arrivals)
        assert solve_exact(inst)[0] == _brute(inst), inst


def test_too_many_requests() -> None:
    inst = Instance.from_tuples(40, [(0, 1, 1)] * (MAX_N + 1))
    with pytest.raises(InputError):
        solve_exact(inst)
