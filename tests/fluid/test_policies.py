"""WAIT, Nested WAIT, greedy_evict and gate_and_route on small traces; parameters and CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from proofs.experiments.fluid import (
    gate_route_revenue,
    safety_margin_sweep,
)
from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import needs_extended_engine
from ratio.queueing import simulate_extended

SMALL = Instance.from_tuples(
    40, [(0, 3, 4), (0, 5, 2), (1, 3, 4), (2, 5, 2), (2, 3, 4), (6, 5, 2), (9, 3, 4)]
)


@pytest.mark.parametrize("spec", ["wait", "wait:L=12,patience=3", "nested_wait", "greedy_evict"])
def test_runs_to_completion_and_checks(spec: str) -> None:
    res = simulate_extended(SMALL, spec)
    assert res.complete
    assert check(SMALL, res.schedule)  # feasible, evicted runs included
    assert res.policy == spec


def test_wait_pauses_without_patience_and_times_out_with_it() -> None:
    # Pure WAIT (patience 0) waits for a full batch of every type; at the end of a finite trace
    # the batch never fills and the run stalls (a clear StuckError); the default patience finishes.
    from ratio.errors import StuckError

    with pytest.raises(StuckError):
        simulate_extended(SMALL, "wait:L=12,patience=0")


@pytest.mark.parametrize(
    "spec, msg",
    [
        ("wait:L=-1", "L must be a positive"),
        ("wait:patience=-2", "patience"),
        ("wait:foo=1", "unknown parameter"),
        ("nested_wait:L=abc", "L must be a positive"),
        ("gate_and_route:gate=3", "gate must be"),
        ("gate_and_route", "needs its classes"),
    ],
)
def test_bad_parameters(spec: str, msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        simulate_extended(SMALL, spec)


def test_wait_threshold_that_cannot_fit_is_a_clear_error() -> None:
    inst = Instance.from_tuples(30, [(0, 10, 10), (0, 2, 3)])
    with pytest.raises(InputError, match="no WAIT threshold fits"):
        simulate_extended(inst, "wait")


def test_dispatch() -> None:
    assert needs_extended_engine("wait:L=60") and needs_extended_engine("nested_wait")
    assert needs_extended_engine("greedy_evict") and needs_extended_engine("gate_and_route")
    assert not needs_extended_engine("svf") and not needs_extended_engine("fcfs")


def test_nested_safety_margin() -> None:
    """Issue 9: zero evictions at and below the memory-safe threshold, an eviction rate that
    rises with L above it, and a throughput capped by the first batch far below it. Scaled
    ten-type mix, M = 20000, 0.85 of Ao's boundary (58.3 per round), 600 rounds, seed 1, safe
    L = 1024. Measured: evictions 0, 0, 0, 72, 387, 10155, 20868 at L / safe = 0.5, 0.75, 1,
    1.25, 1.5, 2, 3; throughput 30.0, 46.0, 58.1, ..., 50.8."""
    factors = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
    pts = safety_margin_sweep(factors, 0.85, horizon=600, seed=1)
    assert pts[0].safe == 1024
    below = [p for p in pts if p.factor <= 1.0]
    above = [p for p in pts if p.factor > 1.0]
    assert all(p.evictions == 0 for p in below)
    assert all(p.evictions > 0 for p in above)
    ev = [p.evictions for p in above]
    assert ev == sorted(ev) and len(set(ev)) == len(ev)
    assert above[-1].eviction_rate > 0.3
    safe = next(p for p in pts if p.factor == 1.0)
    assert safe.throughput > 0.99 * safe.rate
    assert pts[0].throughput < 0.6 * pts[0].rate


def test_kaplan_meier_removes_the_survivor_bias() -> None:
    """Requests arrive one per round with lengths 5 and 50 in equal shares and run without
    waiting; at round 100 the completed ones over-represent length 5 (95 against 50), the
    Kaplan-Meier estimate with the running ones censored does not."""
    from ratio.policies.nested_wait import kaplan_meier

    t = 100
    lengths = [5 if a % 2 else 50 for a in range(t)]
    done: dict[int, int] = {}
    running = []
    for a, o in enumerate(lengths):
        if a + o <= t:
            done[o] = done.get(o, 0) + 1
        else:
            running.append(t - a)
    naive = done[5] / sum(done.values())
    assert naive > 0.6
    km = kaplan_meier(done, running)
    assert km[5] == pytest.approx(0.5, abs=0.03) and km[50] == pytest.approx(0.5, abs=0.03)
    assert kaplan_meier({3: 4}, []) == {3: 1.0}


def test_gate_and_route_reaches_the_lp_at_its_split_and_beats_baselines() -> None:
    """Zhang et al.: revenue per GPU of gate_and_route converges to the LP value as n grows.
    Measured part: every decode slot stays busy, so the revenue equals the LP value at the
    integer split (ceil(n sum x*) mixed engines), which tends to the LP value like 1/n."""
    runs = {n: gate_route_revenue(n, horizon=400) for n in (10, 50, 100)}
    lp = runs[10].lp
    gaps = [lp - runs[n].lp_split for n in (10, 50, 100)]
    assert gaps[0] > gaps[1] > gaps[2] >= 0 and gaps[2] < 0.005 * lp
    for n, r in runs.items():
        assert 0 < r.mixed < n
        assert r.mixed_occupancy > 6.9 and r.solo_occupancy > 7.99  # of B - 1 = 7 and B = 8
        assert abs(r.token_revenue - r.lp_split) < 0.003 * lp  # no slot idles
        assert 0.96 * r.lp_split < r.revenue < 1.02 * r.lp_split  # completions, window of 267
    assert runs[100].token_revenue > 0.99 * lp
    g50 = runs[50].revenue
    for gate, route in [(False, False), (True, False), (False, True)]:
        b = gate_route_revenue(50, gate=gate, route=route, horizon=400)
        assert b.revenue < 0.9 * g50 and b.token_revenue < 0.9 * runs[50].token_revenue


def test_gate_and_route_decode_only_first_starves_mixed_slots() -> None:
    """Why the router serves the KV's own mixed engine first (docs/fluid.md): with the
    decode-only slot first, mixed engines on the minority iteration parity lose their decodes
    to the decode-only engines and their own decode slots idle."""
    own = gate_route_revenue(100, horizon=400)
    solo_first = gate_route_revenue(100, horizon=400, local=False)
    assert own.mixed_occupancy > 6.99
    assert solo_first.mixed_occupancy < own.mixed_occupancy - 0.05
    assert solo_first.token_revenue < own.token_revenue - 0.0004


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ratio.cli", *args], capture_output=True, text=True
    )


def test_stability_cli_nested_wait() -> None:
    p = _cli(
        "stability",
        "--policy",
        "nested_wait",
        "--prompt",
        "4",
        "--output",
        "6",
        "--loads",
        "0.5",
        "--capacity",
        "400",
        "--horizon",
        "300",
        "--seed",
        "1",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert obj["results"][0]["verdict"] in ("stable", "inconclusive")
    bad = _cli(
        "stability",
        "--policy",
        "nested_wait:L=0",
        "--prompt",
        "4",
        "--output",
        "6",
        "--loads",
        "0.5",
        "--capacity",
        "400",
        "--horizon",
        "100",
    )
    assert bad.returncode == 2 and "L must be a positive" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_gate_and_route_at_500_gpus() -> None:
    """n = 500 (docs/fluid.md's last row), derived by hand: the LP's mixed share is
    0.4 + 8/330 (tests/fluid/test_lp.py), so the integer split is ceil(500 * 0.42424) = 213
    mixed engines, and the LP value is 67/330 = 0.20303; gate_and_route keeps every decode slot
    busy, so its token revenue is the LP value at that split, within 0.15 % of 67/330."""
    import math

    r = gate_route_revenue(500, horizon=600)
    share = 0.4 + 8 / 330
    assert r.mixed == math.ceil(500 * share) == 213
    assert r.lp == pytest.approx(67 / 330, rel=1e-6)
    assert abs(r.token_revenue - r.lp_split) < 0.003 * r.lp
    assert 0 <= r.lp - r.lp_split < 0.0015 * r.lp
    assert r.mixed_occupancy > 6.99 and r.solo_occupancy > 7.99
