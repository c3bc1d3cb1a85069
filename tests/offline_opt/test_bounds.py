"""Lower bounds never exceed OPT (docs/model.md §11; issue 3 item 4)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offline_opt.bounds import (
    lower_bound,
    mean_busy_time_lower_bound,
    serial_lower_bound,
    volume_lower_bound,
)
from offline_opt.exact_small import solve_exact
from ratio.gen import generate
from ratio.model import Instance

from .conftest import small_instances, spec_cases


@pytest.mark.parametrize("inst,case", spec_cases())
def test_spec_examples(inst: Instance, case: dict) -> None:
    if "volume_lower_bound" in case:
        assert volume_lower_bound(inst) == case["volume_lower_bound"]
    assert lower_bound(inst) <= case["opt"]
    assert mean_busy_time_lower_bound(inst) <= case["opt"]


def test_spec_counterexample_largest_volumes_is_false() -> None:
    """Spec 11's example has s = 0, which model §1 forbids; M = 3, s = 1, o = 1 and 2 works:
    summing the k largest volumes gives 5 > OPT = 4, the spec's bound gives <= 4."""
    inst = Instance.from_tuples(3, [(0, 1, 1), (0, 1, 2)])
    opt = solve_exact(inst)[0]
    vols = sorted(inst.volumes, reverse=True)
    outs = sorted(r.output for r in inst.requests)
    wrong = sum(max(-(-sum(vols[: k + 1]) // 3), outs[k]) for k in range(2))
    assert (wrong, opt) == (5, 4)
    assert volume_lower_bound(inst) <= opt


@settings(max_examples=150, deadline=None)
@given(small_instances(max_n=5, arrivals=False))
def test_bounds_below_opt_all_at_zero(inst: Instance) -> None:
    opt = solve_exact(inst)[0]
    assert serial_lower_bound(inst) <= opt
    assert volume_lower_bound(inst) <= opt
    assert mean_busy_time_lower_bound(inst) <= opt
    assert lower_bound(inst) <= opt


@settings(max_examples=150, deadline=None)
@given(small_instances(max_n=5, arrivals=True))
def test_bounds_below_opt_with_arrivals(inst: Instance) -> None:
    opt = solve_exact(inst)[0]
    assert volume_lower_bound(inst) <= opt
    assert mean_busy_time_lower_bound(inst) <= opt
    assert lower_bound(inst) <= opt


def test_mean_busy_time_formula_all_at_zero() -> None:
    """The notes' closed form: sum_k (V_(1)+...+V_(k-1) + V_(k)/2)/M + sum_j d_j."""
    from fractions import Fraction

    from offline_opt.bounds import shape_offset

    inst = generate(9, seed=3)
    M = inst.capacity
    vols = sorted(inst.volumes)
    total = Fraction(0)
    acc = 0
    for v in vols:
        total += Fraction(2 * acc + v, 2 * M)
        acc += v
    total += sum((shape_offset(r.prompt, r.output) for r in inst.requests), Fraction(0))
    assert mean_busy_time_lower_bound(inst) == -(-total.numerator // total.denominator)


def test_lower_bound_is_fast_at_scale() -> None:
    inst = generate(2000, seed=1)
    t0 = time.perf_counter()
    for _ in range(5):
        lower_bound(inst)
    assert (time.perf_counter() - t0) / 5 < 0.5


# --- issue 15: the subset mean-busy-time bound ------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(small_instances(max_n=6, arrivals=False))
def test_subset_mbt_below_opt_all_at_zero(inst: Instance) -> None:
    from offline_opt.bounds import subset_mean_busy_time_lower_bound

    opt = solve_exact(inst)[0]
    b = subset_mean_busy_time_lower_bound(inst)
    assert serial_lower_bound(inst) <= b <= opt


@settings(max_examples=200, deadline=None)
@given(small_instances(max_n=6, arrivals=True))
def test_subset_mbt_below_opt_with_arrivals(inst: Instance) -> None:
    from offline_opt.bounds import subset_mean_busy_time_lower_bound

    opt = solve_exact(inst)[0]
    b = subset_mean_busy_time_lower_bound(inst)
    assert serial_lower_bound(inst) <= b <= opt


@settings(deadline=None)
@given(small_instances(max_n=5, arrivals=True))
def test_subset_value_every_subset_below_opt(inst: Instance) -> None:
    """The bound holds for *every* subset, not only the one the heuristic picks."""
    from itertools import combinations

    from offline_opt.bounds import _subset_value

    opt = solve_exact(inst)[0]
    for k in range(inst.n + 1):
        for members in combinations(range(inst.n), k):
            assert _subset_value(inst, list(members)) <= opt


def test_subset_value_full_set_matches_mean_busy_time() -> None:
    """With S = everything it is the mean-busy-time bound (up to the 2^-24 rounding)."""
    from offline_opt.bounds import _subset_value

    for seed in range(5):
        for arrivals in ("zero", "poisson"):
            inst = generate(30, seed=seed, arrivals=arrivals, rate=0.5)
            full = _subset_value(inst, list(range(inst.n)))
            assert mean_busy_time_lower_bound(inst) - 1 <= full <= mean_busy_time_lower_bound(inst)


def test_subset_mbt_beats_both_parents_somewhere() -> None:
    """The subset bound is not just max(serial, mbt, volume): on this online instance (found
    by a random search; such cases are rare, gains small) it is strictly above all three."""
    from offline_opt.bounds import subset_mean_busy_time_lower_bound

    rows = [(36, 8, 7), (37, 5, 6), (19, 8, 7), (14, 1, 12), (11, 2, 7), (37, 7, 8), (29, 6, 2)]
    inst = Instance.from_tuples(16, rows)
    opt = solve_exact(inst)[0]
    b = subset_mean_busy_time_lower_bound(inst)
    parents = (serial_lower_bound, mean_busy_time_lower_bound, volume_lower_bound)
    assert b > max(f(inst) for f in parents)
    assert b <= opt


# --- issue 15: the Lagrangian bound -----------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(small_instances(max_n=5, arrivals=True), st.integers(0, 2**32 - 1))
def test_lagrangian_any_multipliers_below_opt(inst: Instance, seed: int) -> None:
    """The bound holds for *every* non-negative multiplier vector and scale."""
    import numpy as np

    from offline_opt.bounds import _lagrangian_exact

    opt = solve_exact(inst)[0]
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 3 * sum(r.output for r in inst.requests) + 2))
    scale = int(rng.choice([1, 7, 64]))
    lam = rng.integers(0, 3 * scale, size=T) * (rng.random(T) < 0.5)
    assert _lagrangian_exact(inst, lam.astype(np.int64), scale) <= opt


@settings(deadline=None)
@given(small_instances(max_n=5, arrivals=True))
def test_lagrangian_ascent_below_opt(inst: Instance) -> None:
    from offline_opt.bounds import lagrangian_lower_bound
    from offline_opt.upper import best_upper_bound

    opt = solve_exact(inst)[0]
    ub, sched = best_upper_bound(inst, local_search=False)
    horizon = max(p + r.output for p, r in zip(sched.starts, inst.requests, strict=True))
    assert serial_lower_bound(inst) <= lagrangian_lower_bound(inst, horizon, ub=ub, iters=60) <= opt


def test_lagrangian_beats_mean_busy_time_online() -> None:
    """Near full load online, the fluid bound sees no congestion; the Lagrangian one does."""
    from offline_opt.bounds import lagrangian_lower_bound
    from offline_opt.upper import best_upper_bound

    inst = generate(40, seed=2, arrivals="poisson", rate=0.3)
    ub, sched = best_upper_bound(inst, local_search=False)
    horizon = max(p + r.output for p, r in zip(sched.starts, inst.requests, strict=True))
    lag = lagrangian_lower_bound(inst, horizon, ub=ub, iters=100)
    assert lag >= lower_bound(inst) * 13 // 10  # measured 617 against 448
    assert lag <= ub


def test_mean_busy_time_bound_is_not_rounded_up_by_float_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Terms ``10**12 + 1/3``, ``-10**12`` and ``-1/3`` sum to 0; their floats sum to 4.1e-5,
    beyond a fixed ``1e-6`` tolerance, whose ceiling 1 is not a lower bound. The error bound of
    ``certain_ceil`` sends it to the exact sum."""
    import offline_opt.bounds as bounds
    from ratio.theory import certain_ceil

    terms = [(3 * 10**12 + 1, 3), (-(10**12), 1), (-1, 3)]
    assert sum(a / b for a, b in terms) > 1e-6
    monkeypatch.setattr(bounds, "mean_busy_time_terms", lambda inst: terms)
    inst = Instance.from_tuples(10, [(0, 1, 1)])
    assert bounds.mean_busy_time_lower_bound(inst) == 0
    assert certain_ceil([0.5, 0.25]) == 1
    assert certain_ceil([0.1] * 10) is None  # exactly 1: left to the exact sum
