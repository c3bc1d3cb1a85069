"""The burst bounds reported beside every SVF ratio (``ratio.theory``; model §10): the
theorem's ``1 + 2/(1 - alpha)`` and the sharper ``max(2/(1 - a'), 1 + 4/(3 (1 - a')))`` at
``a' = (P - 1)/M``. Expected values are worked by hand in the comments."""

from __future__ import annotations

import doctest
from fractions import Fraction

import pytest

import ratio.theory
from ratio.model import Instance
from ratio.theory import bound_at_alpha, sharper_bound


def test_doctests() -> None:
    res = doctest.testmod(ratio.theory)
    assert res.failed == 0 and res.attempted > 0


def test_values_by_hand() -> None:
    # P = 5, M = 10: alpha = 1/2 gives 1 + 2/(1/2) = 5; a' = 4/10 gives
    # max(2/(3/5), 1 + 4/(3 * 3/5)) = max(10/3, 29/9) = 10/3.
    inst = Instance.from_tuples(10, [(0, 4, 1), (0, 1, 2)])
    assert bound_at_alpha(inst.alpha) == 5
    assert sharper_bound(inst) == Fraction(10, 3)
    # alpha = 1 (P = M = 4): no theorem, but a' = 3/4 gives max(8, 1 + 16/3) = 8.
    full = Instance.from_tuples(4, [(0, 3, 1)])
    assert bound_at_alpha(full.alpha) is None
    assert sharper_bound(full) == 8


@pytest.mark.parametrize(
    "policy,regime",
    [("fcfs", "all_at_zero"), ("svf:blocking=false", "all_at_zero"), ("svf", "online")],
)
def test_no_bound_where_the_theorem_does_not_apply(policy: str, regime: str) -> None:
    inst = Instance.from_tuples(10, [(0, 4, 1), (0, 1, 2)])
    assert bound_at_alpha(inst.alpha, policy, regime) is None
    assert sharper_bound(inst, policy, regime) is None


def test_online_instance_has_no_sharper_bound() -> None:
    assert sharper_bound(Instance.from_tuples(10, [(0, 4, 1), (3, 1, 2)])) is None


@pytest.mark.parametrize("M", [3, 7, 40, 1000])
def test_sharper_is_below_the_theorem_at_every_peak(M: int) -> None:
    for P in range(2, M):  # every peak below M, so alpha < 1
        inst = Instance.from_tuples(M, [(0, P - 1, 1)])
        assert sharper_bound(inst) < bound_at_alpha(inst.alpha)  # type: ignore[operator]


def test_one_mean_busy_time_bound() -> None:
    """``ratio.theory.mean_busy_time_bound`` is the exact value whose ceiling is
    ``offline_opt.bounds.mean_busy_time_lower_bound`` (one implementation, issue 18), with and
    without arrivals. By hand: two requests at 0, M = 10, volumes 3 and 5, so the mean busy
    times are (3/2)/10 and (3 + 5/2)/10, plus each request's ``d``."""
    from offline_opt.bounds import mean_busy_time_lower_bound
    from ratio.gen import generate
    from ratio.theory import busy_offset, mean_busy_time_bound

    inst = Instance.from_tuples(10, [(0, 2, 1), (0, 1, 2)])  # volumes 3 and 5
    by_hand = (
        Fraction(3, 2 * 10) + Fraction(2 * 3 + 5, 2 * 10) + busy_offset(2, 1) + busy_offset(1, 2)
    )
    assert mean_busy_time_bound(inst) == by_hand
    for seed in range(40):
        arrivals = "zero" if seed % 2 else "poisson"
        inst = generate(1 + seed % 9, seed=seed, arrivals=arrivals, rate=0.5)
        exact = mean_busy_time_bound(inst)
        assert mean_busy_time_lower_bound(inst) == -(-exact.numerator // exact.denominator)
