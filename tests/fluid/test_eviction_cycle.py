"""Greedy admission's eviction cycle and WAIT at the fixed point (Ao, Dong, Luo, Simchi-Levi)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from proofs.experiments.fluid import eviction_cycle
from ratio.queueing.fluid import greedy_map, greedy_orbit


def test_greedy_leaves_the_fixed_point_and_cycles() -> None:
    run = eviction_cycle("greedy_evict", rounds=40)
    assert (run.admitted[0], run.decoded[0]) == (21, 19)  # stages 21 and 19 at round 0
    # by hand: 19 requests in their second round hold 4 tokens each, so greedy admits
    # floor((140 - 4 * 19) / 3) = 21; then the integer recurrence x' = floor((M - 4x) / 3)
    # (greedy_orbit, a second method: no engine) gives the rest
    assert (140 - 4 * 19) // 3 == 21
    assert run.admitted[:11] == greedy_orbit(21, 2, 140, 10)
    assert run.admitted[:11] == [21, 18, 22, 17, 24, 14, 28, 9, 34, 1, 45]
    first_eviction = next(
        r for r in range(len(run.memory)) if run.evictions and run.decoded[r] == 35
    )
    assert first_eviction <= 12  # "within about 10 rounds"
    assert run.evictions > 0
    # The limit cycle: 35 completions every second round, 17.5 per round, against 20.
    tail = run.completed[20:40]
    assert sum(tail) / len(tail) == pytest.approx(17.5)
    assert max(run.memory) <= 140


def test_vllm_fcfs_falls_into_the_same_cycle() -> None:
    run = eviction_cycle("vllm_fcfs", rounds=30)
    assert sum(run.completed[14:30]) / 16 == pytest.approx(17.5)


def test_wait_runs_at_the_fixed_point_without_eviction() -> None:
    run = eviction_cycle("wait:L=60", rounds=40)
    assert run.evictions == 0
    assert run.admitted == [20] * len(run.admitted)
    assert run.completed[1:39] == [20] * 38
    assert max(run.memory) == 140


@pytest.mark.parametrize("s", [1, 2, 3, 5, 8, 13])
def test_growth_factor(s: int) -> None:
    """A deviation from x* = M / (2s + 3) is multiplied by -(s + 2) / (s + 1) **per round**
    (one round = one admission; "over two rounds" the factor is its square): in the exact fluid
    map (derived by hand from (s+1) x_new + (s+2) x_old = M), and measured on the integer greedy
    run as the per-round factor of the deviation over four rounds, at x* = 4000 with an initial
    deviation of 80 so that floors are negligible. The tolerance is 10 % of the growth
    (factor - 1), so a run without growth (factor 1.0) fails for every s (issue 16)."""
    M = 4000 * (2 * s + 3)
    xstar = Fraction(M, 2 * s + 3)
    d = Fraction(1, 3)
    assert (greedy_map(xstar + d, s, M) - xstar) / d == Fraction(-(s + 2), s + 1)
    run = eviction_cycle("greedy_evict", prompt=s, capacity=M, stage2=4000 - 80, rounds=6)
    devs = [a - 4000 for a in run.admitted[:6]]
    assert all(devs[k] * devs[k + 1] < 0 for k in range(5))  # the sign alternates every round
    measured = abs(devs[5] / devs[1]) ** 0.25
    want = (s + 2) / (s + 1)
    assert abs(measured - want) <= 0.1 * (want - 1), (measured, want)
