"""Trace slicing, seconds beside rounds, scaling to a capacity and trace stats (issue 19,
items 1, 2 and 4; ``ratio/traceops.py``)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratio.errors import InputError
from ratio.model import Instance, Request
from ratio.strategies import instances
from ratio.traceops import (
    SliceSpec,
    apply_slice,
    parse_window,
    scale_to_capacity,
    seconds_fields,
    seconds_from_costs,
    trace_stats,
)


def _timed(n: int = 6, round_ms: float = 50.0) -> Instance:
    """Arrivals every 120 ms on a 50 ms grid (rounds 0, 2, 4, 7, 9, 12), exact times kept."""
    ms = [120.0 * i for i in range(n)]
    reqs = tuple(
        Request(math.floor(x / round_ms + 1e-9), 2 + i, 3, f"L{i + 2}") for i, x in enumerate(ms)
    )
    meta = {
        "clock": "round_ms",
        "round_ms": round_ms,
        "arrival_ms": ms,
        "hash_ids": [[i] for i in range(n)],
    }
    return Instance(40, reqs, meta)


def test_parse_window() -> None:
    assert parse_window("1.5..3") == (1.5, 3.0)
    for bad in ("3..1", "1..1", "x..2", "2", "-1..2", "nan..3", "1..inf"):
        with pytest.raises(InputError, match="--window"):
            parse_window(bad)


def test_window_in_seconds_from_exact_times() -> None:
    inst = _timed()
    res = apply_slice(inst, SliceSpec(window=(0.2, 0.5)))
    # exact times 0.24, 0.36, 0.48 s are in [0.2, 0.5)
    assert [r.id for r in res.instance.requests] == ["L4", "L5", "L6"]
    assert res.report["window_unit"] == "s"
    # shifted so the slice starts at round 0; arrival_ms shifted by a0 * round_ms = 200 ms
    assert [r.arrival for r in res.instance.requests] == [0, 3, 5]
    ms = res.instance.meta["arrival_ms"]
    assert ms == [40, 160, 280]
    assert [math.floor(x / 50 + 1e-9) for x in ms] == [0, 3, 5]
    assert res.instance.meta["hash_ids"] == [[2], [3], [4]]


def test_window_in_rounds_without_time_base() -> None:
    inst = Instance.from_tuples(40, [(0, 1, 1), (5, 1, 1), (9, 1, 1), (10, 1, 1)])
    res = apply_slice(inst, SliceSpec(window=(5, 10)))
    assert res.report["window_unit"] == "rounds"
    assert [(r.id, r.arrival) for r in res.instance.requests] == [("r1", 0), ("r2", 4)]
    # a round duration makes the window seconds: rounds 5..9 at 1000 ms are 5 s .. 9 s
    sec = apply_slice(inst, SliceSpec(window=(5, 9.5)), round_ms=1000)
    assert sec.report["window_unit"] == "s"
    assert [r.id for r in sec.instance.requests] == ["r1", "r2"]


def test_head_and_sample_are_reproducible() -> None:
    inst = Instance.from_tuples(100, [(i, 1 + i % 7, 1 + i % 5) for i in range(50)])
    assert [r.id for r in apply_slice(inst, SliceSpec(head=3)).instance.requests] == [
        "r0",
        "r1",
        "r2",
    ]
    assert apply_slice(inst, SliceSpec(head=500)).instance.n == 50
    a = apply_slice(inst, SliceSpec(sample=10, seed=3)).instance
    b = apply_slice(inst, SliceSpec(sample=10, seed=3)).instance
    c = apply_slice(inst, SliceSpec(sample=10, seed=4)).instance
    ids = [r.id for r in a.requests]
    assert ids == [r.id for r in b.requests]
    assert ids != [r.id for r in c.requests]
    assert ids == sorted(ids, key=lambda x: int(x[1:]))  # index order kept
    assert len(set(ids)) == 10
    with pytest.raises(InputError, match="more than the 50"):
        apply_slice(inst, SliceSpec(sample=51))
    with pytest.raises(InputError, match="keeps no request"):
        apply_slice(inst, SliceSpec(window=(1000, 2000)))


@given(inst=instances(n=(1, 10), regime="online", max_arrival=40), lo=st.integers(0, 40))
def test_slice_keeps_requests_exactly(inst: Instance, lo: int) -> None:
    """Every kept request keeps its lengths and id; arrivals move by one integer a0."""
    spec = SliceSpec(window=(lo, lo + 15), head=5)
    try:
        out = apply_slice(inst, spec).instance
    except InputError:
        assert not any(lo <= r.arrival < lo + 15 for r in inst.requests)
        return
    by_id = {r.id: r for r in inst.requests}
    kept = [by_id[r.id] for r in out.requests]
    a0 = min(r.arrival for r in kept)
    assert [(r.arrival + a0, r.prompt, r.output) for r in out.requests] == [
        (r.arrival, r.prompt, r.output) for r in kept
    ]
    assert all(lo <= r.arrival < lo + 15 for r in kept)
    assert out.n <= 5


def test_seconds_hand_worked() -> None:
    # latencies 2, 4, 6, 8 rounds at 50 ms: mean 0.25 s, p50 0.25 s, p99 (linear) 0.397 s;
    # makespan 10 rounds = 0.5 s, 4 requests / 0.5 s = 8 per second
    sec = seconds_fields([2, 4, 6, 8], 10, 4, 50.0)
    assert sec["mean_latency_s"] == pytest.approx(0.25)
    assert sec["p50_latency_s"] == pytest.approx(0.25)
    assert sec["p99_latency_s"] == pytest.approx((6 + 0.97 * 2) * 0.05)
    assert sec["makespan_s"] == pytest.approx(0.5)
    assert sec["throughput_rps"] == pytest.approx(8.0)


def test_seconds_from_costs_agree() -> None:
    from ratio.simulator import simulate

    inst = Instance.from_tuples(10, [(0, 3, 2), (0, 2, 4), (1, 5, 3), (6, 1, 1)])
    run = simulate(inst, "svf")
    lat = [c - r.arrival for c, r in zip(run.completions, inst.requests, strict=True)]
    a = seconds_fields(lat, run.costs.makespan, inst.n, 20.0)
    b = seconds_from_costs(run.costs, inst.n, 20.0)
    assert a == pytest.approx(b)
    assert b["makespan_s"] == pytest.approx(run.costs.makespan * 0.02)


def test_scale_rule_and_fit() -> None:
    inst = Instance.from_tuples(24, [(0, 5, 7), (3, 12, 12), (7, 1, 1)])
    big = scale_to_capacity(inst, 100)
    # floor(x * 100 / 24): a 3 -> 12, 7 -> 29; s 5 -> 20, 12 -> 50, 1 -> 4; o 7 -> 29
    assert [(r.arrival, r.prompt, r.output) for r in big.requests] == [
        (0, 20, 29),
        (12, 50, 50),
        (29, 4, 4),
    ]
    assert big.capacity == 100 and big.alpha == Fraction(100, 100)
    small = scale_to_capacity(inst, 12)
    assert [(r.prompt, r.output) for r in small.requests] == [(2, 3), (6, 6), (1, 1)]
    assert small.meta["scaled_from"]["M"] == 24
    tiny = scale_to_capacity(Instance.from_tuples(100, [(0, 99, 1), (0, 1, 99)]), 2)
    assert [(r.prompt, r.output) for r in tiny.requests] == [(1, 1), (1, 1)]
    with pytest.raises(InputError, match=">= 2"):
        scale_to_capacity(inst, 1)


@given(inst=instances(n=(1, 8), regime="online", max_arrival=30), m2=st.integers(2, 10**6))
def test_scaled_trace_is_valid(inst: Instance, m2: int) -> None:
    big = scale_to_capacity(inst, m2)  # never refused for M' >= 2 (see the docstring)
    assert big.capacity == m2
    assert all(r.peak <= m2 for r in big.requests)
    for r, q in zip(inst.requests, big.requests, strict=True):
        assert q.prompt == max(1, r.prompt * m2 // inst.capacity)
        assert q.arrival == r.arrival * m2 // inst.capacity


def test_trace_stats_hand_worked() -> None:
    # two requests (s, o) = (2, 2), (4, 1): V = s o + o(o+1)/2 = 7 and 5, E[V] = 6;
    # memory boundary M / E[V] = 12 / 6 = 2 per round; 2 arrivals over rounds 0..3 (4 rounds):
    # rate 1/2, load 1/4
    inst = Instance(12, (Request(0, 2, 2), Request(3, 4, 1)), {"round_ms": 100})
    st_ = trace_stats(inst)
    assert st_["n"] == 2 and st_["alpha"] == "5/12"
    assert st_["boundary_per_round"] == pytest.approx(2.0)
    assert st_["rate_per_round"] == pytest.approx(0.5)
    assert st_["load"] == pytest.approx(0.25)
    assert st_["rate_rps"] == pytest.approx(5.0)
    assert st_["peak"]["max"] == 5
    assert trace_stats(inst, capacity=24)["load"] == pytest.approx(0.125)
    # no overlap on arrival: the peak is the larger request's s + o = 5
    assert st_["free_peak"] == 5 and st_["memory_binds"] is False
    # both at round 0: round 0 holds (2 + 1) + (4 + 1) = 8 tokens
    both = Instance(12, (Request(0, 2, 2), Request(0, 4, 1)))
    assert trace_stats(both)["free_peak"] == 8
    assert trace_stats(both, capacity=7)["memory_binds"] is True
    assert trace_stats(both, capacity=8)["memory_binds"] is False
    with pytest.raises(InputError, match="never run"):
        trace_stats(inst, capacity=4)


@given(inst=instances(n=(1, 8), regime="online", max_arrival=20))
def test_no_binding_means_ratio_one(inst: Instance) -> None:
    """At M >= free_peak every request starts on arrival under SVF and FCFS: ratio 1."""
    from ratio.simulator import simulate

    st_ = trace_stats(inst)
    roomy = inst.with_capacity(max(st_["free_peak"], inst.capacity))
    for pol in ("svf", "fcfs"):
        run = simulate(roomy, pol)
        assert run.starts == tuple(r.arrival for r in inst.requests)
