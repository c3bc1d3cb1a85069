"""The compiled loop (``ratio.fastsim``) gives ``ratio.simulate``'s runs exactly, its numpy
bound and certificate give ``lower_bound``'s and ``waiting_certificate``'s values, and
everything it does not promise falls back."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ratio.fastsim as fastsim
from adversaries.objective import waiting_certificate
from offline_opt.bounds import lower_bound
from ratio import Instance, Request, simulate, volume
from ratio.fastsim import (
    ORDER_KEYS,
    lower_bound_fast,
    simulate_fast,
    supports,
    waiting_certificate_fast,
)
from ratio.strategies import instances

pytestmark = pytest.mark.skipif(not fastsim.available(), reason="numba is not installed")

#: Shapes ``(s, o)`` in groups of equal volume (5, 7, 9, 12, 14) but different shapes, so
#: that SVF's order falls to the tie-breaks (arrival, index).
TIED = [(1, 2), (4, 1), (2, 2), (6, 1), (1, 3), (8, 1), (3, 2), (2, 3), (11, 1), (1, 4), (13, 1)]
assert sorted({volume(s, o) for s, o in TIED}) == [5, 7, 9, 12, 14]


@st.composite
def traces(draw: st.DrawFn, *, online: bool) -> Instance:
    """Traces with many exact ties (volume, output, prompt, arrival) and ``M`` from exactly
    the largest peak (``alpha = 1``) to a few times it."""
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        if draw(st.booleans()):
            s, o = draw(st.sampled_from(TIED))
        else:
            s, o = draw(st.integers(1, 9)), draw(st.integers(1, 9))
        a = draw(st.integers(0, 25)) if online else 0
        rows.append((a, s, o))
    top = max(s + o for _, s, o in rows)
    M = top + draw(st.sampled_from([0, 0, 1, 2, top // 2, top, 3 * top]))
    return Instance.from_tuples(M, rows)


SPECS = [
    f"{name}:blocking={b},test={test}"
    for name in sorted(ORDER_KEYS)
    for b in ("true", "false")
    for test in ("lookahead", "reservation")
]


def assert_same_run(inst: Instance, spec: str, convention: str = "model") -> None:
    ref = simulate(inst, spec, convention=convention)
    got = simulate_fast(inst, spec, convention=convention)
    assert got is not None
    assert got.starts == ref.starts
    assert got.schedule == ref.schedule
    assert got.admission_order == ref.admission_order
    assert got.policy == ref.policy
    assert got.total_latency == ref.total_latency == ref.schedule.total_latency(inst)
    assert got.completions == ref.completions
    assert got.costs == ref.costs
    assert got.starts_array.tolist() == list(ref.starts)
    assert got.order_array.tolist() == list(ref.admission_order)


@pytest.mark.parametrize("name", sorted(ORDER_KEYS))
@given(
    inst=st.one_of(traces(online=False), instances(n=(1, 12), regime="all_at_zero")),
    blocking=st.booleans(),
    test=st.sampled_from(["lookahead", "reservation"]),
    convention=st.sampled_from(["model", "engine"]),
)
def test_same_run_all_at_zero(
    name: str, inst: Instance, blocking: bool, test: str, convention: str
) -> None:
    assert_same_run(inst, f"{name}:blocking={str(blocking).lower()},test={test}", convention)


@pytest.mark.parametrize("name", sorted(ORDER_KEYS))
@given(
    inst=st.one_of(traces(online=True), instances(n=(1, 12), regime="online")),
    blocking=st.booleans(),
    test=st.sampled_from(["lookahead", "reservation"]),
    convention=st.sampled_from(["model", "engine"]),
)
def test_same_run_online(
    name: str, inst: Instance, blocking: bool, test: str, convention: str
) -> None:
    assert_same_run(inst, f"{name}:blocking={str(blocking).lower()},test={test}", convention)


def _space_trace(n: int, seed: int, regime: str) -> Instance:
    from adversaries.space import SearchSpace, expand, sample_genome, to_instance

    space = SearchSpace(
        policy="svf",
        regime=regime,
        n_min=n,
        n_max=n,
        prompt_range=(1, 100_000),
        output_range=(1, 100_000),
        alpha_max=Fraction(3, 4),
        capacity_max=10**7,
    )
    return to_instance(expand(sample_genome(space, np.random.default_rng(seed))))


@pytest.mark.parametrize("regime", ["all_at_zero", "online"])
def test_same_run_on_search_traces(regime: str) -> None:
    """Structured traces of the search's default space (long runs, big running sets, the
    blocked head's skipped rounds), every blocking policy of the loop."""
    for seed in range(3):
        inst = _space_trace(1000, seed, regime)
        for name in sorted(ORDER_KEYS):
            assert_same_run(inst, name)


def test_default_specs_are_supported() -> None:
    for spec in [*sorted(ORDER_KEYS), *SPECS]:
        assert supports(spec)
        assert supports(spec, convention="engine")


@pytest.mark.parametrize(
    "spec",
    ["vllm_fcfs", "vllm_priority", "svf_1bit:theta=4", "sorted_f", "mcsf:predicted=true"],
)
def test_other_policies_fall_back(spec: str) -> None:
    inst = Instance(
        30,
        tuple(Request(0, 3 + i % 4, 1 + i % 5) for i in range(8)),
        predictions=tuple(1 + i % 3 for i in range(8)),
    )
    assert not supports(spec)
    assert simulate_fast(inst, spec) is None
    simulate(inst, spec)  # the reference still runs it


def test_other_settings_fall_back() -> None:
    inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    assert simulate_fast(inst, "svf") is not None
    assert simulate_fast(inst, "svf", block_size=2) is None
    assert simulate_fast(inst, "svf", max_rounds=100) is None
    assert simulate_fast(inst, "svf", convention="vllm") is None
    big = Instance.from_tuples(1 << 31, [(0, 1 << 30, 2), (0, 3, 1)])
    assert simulate_fast(big, "svf") is None  # volumes could leave int64
    assert simulate_fast(Instance(10, ()), "svf") is None


def test_a_changed_key_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a policy module orders by something else than :data:`ORDER_KEYS` says, the loop
    notices on the requests it probes and leaves the run to ``ratio.simulate``."""
    from ratio.policies.spf import SPF

    monkeypatch.setattr(SPF, "key", lambda self, view: (-view.prompt,))
    inst = Instance.from_tuples(20, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    assert simulate_fast(inst, "spf") is None


def test_without_numba_the_python_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from adversaries.objective import screen

    inst = _space_trace(200, 0, "all_at_zero")
    want = screen(inst, "svf", fast=False)
    monkeypatch.setattr(fastsim, "_HAVE_NUMBA", False)
    assert not fastsim.available() and not supports("svf")
    assert simulate_fast(inst, "svf") is None
    sim, lb, cert = screen(inst, "svf")
    assert type(sim).__name__ == "SimResult"
    assert (sim.starts, lb, cert) == (want[0].starts, want[1], want[2])


def test_a_process_without_numba_screens_with_python() -> None:
    """numba blocked at import (as where the ``opt`` extra is not installed): ``ratio.fastsim``
    imports, declines every run, and the screen gives the same values."""
    import json
    import subprocess
    import sys

    from adversaries.objective import screen

    inst = _space_trace(200, 1, "all_at_zero")
    sim, lb, cert = screen(inst, "svf", fast=False)
    code = (
        "import sys, json; sys.modules['numba'] = None\n"
        "from tests.ratio.test_fastsim import _space_trace\n"
        "from ratio import fastsim\n"
        "from adversaries.objective import screen\n"
        "inst = _space_trace(200, 1, 'all_at_zero')\n"
        "assert not fastsim.available() and fastsim.simulate_fast(inst, 'svf') is None\n"
        "sim, lb, cert = screen(inst, 'svf')\n"
        "print(json.dumps([list(sim.starts), lb, cert, type(sim).__name__]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == [list(sim.starts), lb, cert, "SimResult"]


# --- the screen's bound and certificate --------------------------------------------------------
@given(inst=st.one_of(traces(online=False), instances(n=(1, 30), regime="all_at_zero")))
def test_lower_bound_matches(inst: Instance) -> None:
    got = lower_bound_fast(inst)
    assert got is None or got == lower_bound(inst)


@pytest.mark.parametrize("seed", range(4))
def test_lower_bound_matches_on_large_traces(seed: int) -> None:
    """Lengths up to 10^5 at n = 2000: float sums in the 10^9s, where the reference's float
    rounding matters; the numpy version must round the same way."""
    inst = _space_trace(2000, seed, "all_at_zero")
    got = lower_bound_fast(inst)
    assert got is not None and got == lower_bound(inst)


@given(inst=st.one_of(traces(online=True), instances(n=(1, 30), regime="online")))
def test_lower_bound_matches_with_arrivals(inst: Instance) -> None:
    got = lower_bound_fast(inst)
    assert got is None or got == lower_bound(inst)


@pytest.mark.parametrize("seed", range(3))
def test_lower_bound_matches_on_large_online_traces(seed: int) -> None:
    inst = _space_trace(2000, seed, "online")
    got = lower_bound_fast(inst)
    assert got is not None and got == lower_bound(inst)


def test_lower_bound_with_token_times_past_float() -> None:
    """Arrivals times ``M`` past ``2^53``: every fluid term is summed in Python ints."""
    rows = [(2**13, 5, 3), (0, 7, 2), (2**13 + 1, 1, 1), (2**13 + 1, 9, 4), (3, 2, 2)]
    inst = Instance.from_tuples(2**41, rows)
    assert lower_bound_fast(inst) == lower_bound(inst)


def test_lower_bound_without_numba_leaves_arrivals_to_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fastsim, "_HAVE_NUMBA", False)
    assert lower_bound_fast(Instance.from_tuples(10, [(0, 6, 2), (1, 3, 1)])) is None
    burst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1)])
    assert lower_bound_fast(burst) == lower_bound(burst)


@given(inst=st.one_of(traces(online=False), instances(n=(1, 30), regime="all_at_zero")))
def test_waiting_certificate_matches(inst: Instance) -> None:
    run = simulate_fast(inst, "svf")
    assert run is not None
    got = waiting_certificate_fast(inst, run)
    want = waiting_certificate(inst, run)
    assert got == (want.holds, want.first_violation, want.total_lhs, want.total_rhs)


def test_waiting_certificate_sees_a_violation() -> None:
    """A run whose starts break the inequality (a late start planted in the arrays)."""
    inst = Instance.from_tuples(44, [(0, 16, 1), (0, 16, 1), (0, 1, 16), (0, 6, 1), (0, 2, 16)])
    run = simulate_fast(inst, "svf")
    assert run is not None
    late = run.starts_array.copy()
    late[run.order_array[0]] = 50
    from dataclasses import replace

    bad = replace(run, starts_array=late, schedule=fastsim._trusted_schedule(tuple(late.tolist())))
    got = waiting_certificate_fast(inst, bad)
    want = waiting_certificate(inst, bad)
    assert got is not None and not got[0] and got[1] == int(run.order_array[0])
    assert got == (want.holds, want.first_violation, want.total_lhs, want.total_rhs)
