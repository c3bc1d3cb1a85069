"""Which lower bounds on OPT hold against *resume* schedules (model §7), and the bracket that uses
only those (``bracket(..., opt_over="resume")``; issue 19, deliverable 5).

A resume schedule may run a request in several runs, keeping its tokens between them. The test
brute-forces the least total latency over all resume schedules of tiny instances (written here,
sharing no code with the solvers) and checks every claimed-valid bound against it, and against
every resume run a policy produces. Two counter-examples show why the Lagrangian bound and the
exact methods' bounds are left out.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline_opt import bounds as B
from offline_opt import solve
from offline_opt.bracket import bracket, lower_bounds
from ratio.check import check
from ratio.io import load
from ratio.model import Instance, Run, Schedule
from ratio.simulator import simulate

BURST = Path(__file__).resolve().parents[2] / "ratio" / "data" / "burst12.json"

#: Policies that evict (model §7), so their resume runs may have gaps.
EVICTING = ("vllm_fcfs", "vllm_priority", "svf_1bit")

#: M = 4, two requests (a, s, o) = (0, 1, 2): both fit in round 0 (2 + 2 tokens) but not in
#: round 1 (3 + 3), so a non-preemptive schedule runs them one after the other (OPT = 2 + 4);
#: a resume schedule runs both in round 0, then one in round 1 and the other in round 2 (2 + 3).
TWO = Instance.from_tuples(4, [(0, 1, 2), (0, 1, 2)])


def brute_force(instance: Instance, *, preemptive: bool) -> tuple[int, Schedule]:
    """Least total latency over resume schedules (``preemptive``) or non-preemptive ones, and a
    schedule attaining it, by dynamic programming over rounds: the state is every request's
    tokens produced; each round any set of arrived unfinished requests that fits may produce a
    token (non-preemptive: a started request must). A round costs the number of arrived
    unfinished requests."""
    reqs = instance.requests
    n, M = len(reqs), instance.capacity
    done = tuple(r.output for r in reqs)
    layers: list[dict[tuple[int, ...], tuple[int, tuple[int, ...] | None, tuple[int, ...]]]]
    layers = [{(0,) * n: (0, None, ())}]
    best: tuple[int, int, tuple[int, ...]] | None = None  # cost, round, state
    t = 0
    while layers[-1]:
        nxt: dict[tuple[int, ...], tuple[int, tuple[int, ...] | None, tuple[int, ...]]] = {}
        for prog, (cost, _, _) in layers[-1].items():
            if best is not None and cost >= best[0]:
                continue
            if prog == done:
                best = (cost, t, prog)
                continue
            live = [i for i in range(n) if reqs[i].arrival <= t and prog[i] < reqs[i].output]
            forced = [i for i in live if not preemptive and prog[i] > 0]
            free = [i for i in live if i not in forced]
            for k in range(len(free) + 1):
                for sub in itertools.combinations(free, k):
                    run = tuple(forced) + sub
                    if sum(reqs[i].prompt + prog[i] + 1 for i in run) > M:
                        continue
                    p = tuple(x + (i in run) for i, x in enumerate(prog))
                    c = cost + len(live)
                    if p not in nxt or nxt[p][0] > c:
                        nxt[p] = (c, prog, run)
        layers.append(nxt)
        t += 1
    assert best is not None
    # walk back: the rounds in which each request produced a token
    cost, t_end, state = best
    rounds: list[list[int]] = [[] for _ in range(n)]
    cur: tuple[int, ...] | None = state
    for t in range(t_end, 0, -1):
        assert cur is not None
        _, parent, run = layers[t][cur]
        for i in run:
            rounds[i].append(t - 1)
        cur = parent
    return cost, _resume_schedule(rounds)


def _resume_schedule(rounds: list[list[int]]) -> Schedule:
    """Token rounds per request -> a resume :class:`Schedule` (maximal consecutive runs; the last
    one is the final run)."""
    starts, evicted = [], []
    for i, rs in enumerate(rounds):
        rs = sorted(rs)
        runs: list[list[int]] = []
        for t in rs:
            if runs and runs[-1][-1] == t - 1:
                runs[-1].append(t)
            else:
                runs.append([t])
        for r in runs[:-1]:
            evicted.append(Run(i, r[0], len(r)))
        starts.append(runs[-1][0])
    return Schedule(tuple(starts), tuple(evicted), "resume")


def _valid_bounds(inst: Instance) -> dict[str, int]:
    """Every bound of :data:`offline_opt.bounds.RESUME_VALID`, computed directly."""
    return {
        "serial": B.serial_lower_bound(inst),
        "volume": B.volume_lower_bound(inst),
        "mean_busy_time": B.mean_busy_time_lower_bound(inst),
        "mean_busy_time_subset": B.subset_mean_busy_time_lower_bound(inst),
    }


@st.composite
def tiny(draw: st.DrawFn, *, arrivals: bool = True) -> Instance:
    M = draw(st.integers(3, 8))
    n = draw(st.integers(1, 4))
    rows = []
    for _ in range(n):
        o = draw(st.integers(1, min(3, M - 1)))
        s = draw(st.integers(1, M - o))
        a = draw(st.integers(0, 2)) if arrivals else 0
        rows.append((a, s, o))
    return Instance.from_tuples(M, rows)


@st.composite
def small(draw: st.DrawFn) -> Instance:
    M = draw(st.integers(8, 30))
    n = draw(st.integers(2, 10))
    rows = []
    for _ in range(n):
        o = draw(st.integers(1, 6))
        s = draw(st.integers(1, M - o))
        rows.append((draw(st.integers(0, 6)), s, o))
    return Instance.from_tuples(M, rows)


def test_brute_force_counter_example() -> None:
    """The two-request instance: resume beats every non-preemptive schedule, so neither an exact
    method's bound on OPT nor the Lagrangian bound (both 6) bounds the resume optimum (5)."""
    cost, sched = brute_force(TWO, preemptive=True)
    assert cost == 5 and sched.evicted
    assert check(TWO, sched) and sched.total_latency(TWO) == 5
    np_cost, np_sched = brute_force(TWO, preemptive=False)
    assert np_cost == 6 and not np_sched.evicted and check(TWO, np_sched)
    assert solve(TWO).lower_bound == 6  # an exact method's proven bound, valid for OPT only
    assert B.lagrangian_lower_bound(TWO, 6, ub=6) == 6 > cost
    assert max(_valid_bounds(TWO).values()) == B.resume_lower_bound(TWO) == 5


def test_counter_example_with_arrivals() -> None:
    """A lone long request pauses for a later short one: resume 5, non-preemptive 6."""
    inst = Instance.from_tuples(4, [(0, 1, 3), (1, 3, 1)])
    cost, sched = brute_force(inst, preemptive=True)
    assert (cost, brute_force(inst, preemptive=False)[0]) == (5, 6)
    assert check(inst, sched) and sched.total_latency(inst) == cost
    assert B.resume_lower_bound(inst) <= cost


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny())
def test_valid_bounds_below_resume_optimum(inst: Instance) -> None:
    cost, sched = brute_force(inst, preemptive=True)
    assert check(inst, sched) and sched.total_latency(inst) == cost
    assert cost <= brute_force(inst, preemptive=False)[0]
    for name, value in _valid_bounds(inst).items():
        assert value <= cost, (name, value, cost)
    assert B.resume_lower_bound(inst) <= cost
    assert B.lower_bound(inst) <= cost
    horizon = max(r.arrival for r in inst.requests) + sum(r.output for r in inst.requests)
    np_opt = brute_force(inst, preemptive=False)[0]
    for ub in (np_opt, np_opt + 3, None):
        assert B.lagrangian_resume_lower_bound(inst, horizon, ub=ub) <= cost


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny(), st.data())
def test_resume_lagrangian_any_multipliers(inst: Instance, data: st.DataObject) -> None:
    """The exact evaluation is a valid bound for every multiplier vector, not only the ascent's."""
    cost = brute_force(inst, preemptive=True)[0]
    T = data.draw(st.integers(1, 9))
    lam = np.array(data.draw(st.lists(st.integers(0, 12), min_size=T, max_size=T)), np.int64)
    scale = data.draw(st.sampled_from([1, 2, 4, 8]))
    assert B._lagrangian_resume_exact(inst, lam, scale) <= cost


def test_resume_lagrangian_strength() -> None:
    """On the bundled burst it beats every other valid bound (142 -> 145 at 50 iterations) and
    stays below the best resume run found."""
    inst = load(BURST)
    runs = [simulate(inst, s, eviction="resume").total_latency for s in EVICTING]
    lag = B.lagrangian_resume_lower_bound(inst, 43, ub=169, iters=50)
    assert B.resume_lower_bound(inst) == 142 < lag <= min(runs)
    assert (
        B.lagrangian_resume_lower_bound(TWO, 6, ub=6) == 5 < B.lagrangian_lower_bound(TWO, 6, ub=6)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small())
def test_valid_bounds_below_policy_resume_runs(inst: Instance) -> None:
    lb = B.resume_lower_bound(inst)
    names = set(lower_bounds(inst)) | {"lagrangian_resume"}  # the last one: a bracket stage
    assert set(B.RESUME_VALID) <= names
    for spec in EVICTING:
        run = simulate(inst, spec, eviction="resume")
        assert check(inst, run.schedule)
        assert lb <= run.total_latency, (spec, lb, run.total_latency)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny())
def test_resume_bracket_contains_resume_optimum(inst: Instance) -> None:
    opt = brute_force(inst, preemptive=True)[0]
    runs = {s: simulate(inst, s, eviction="resume") for s in EVICTING}
    b = bracket(inst, time_limit=2, policy_runs=runs, opt_over="resume", max_evals=50)
    assert b.opt_over == "resume" and b.to_dict()["opt_over"] == "resume"
    assert b.lower <= opt <= b.upper
    assert set(b.lower_bounds) <= set(B.RESUME_VALID)
    assert check(inst, b.schedule) and b.schedule.total_latency(inst) == b.upper


def test_resume_bracket_on_counter_example() -> None:
    """The non-preemptive bracket proves 6 (Lagrangian or exact); the resume one keeps only the
    valid bounds (5) and takes vllm_fcfs's resume run (5) as its upper end: optimal."""
    nonp = bracket(TWO, time_limit=5)
    assert (nonp.lower, nonp.upper, nonp.opt_over) == (6, 6, "nonpreemptive")
    b = bracket(TWO, time_limit=5, opt_over="resume")
    assert (b.lower, b.upper) == (5, 6) and not b.optimal
    assert b.exact_skipped and "lagrangian" not in b.lower_bounds
    run = simulate(TWO, "vllm_fcfs", eviction="resume")
    assert run.total_latency == 5 and run.schedule.evicted
    b = bracket(TWO, time_limit=5, opt_over="resume", policy_runs={"vllm_fcfs": run})
    assert (b.lower, b.upper, b.upper_method) == (5, 5, "policy:vllm_fcfs:resume")
    assert b.optimal and b.schedule.eviction == "resume" and check(TWO, b.schedule)
    # the non-preemptive bracket ignores a resume run with gaps (it is not one of its schedules)
    assert bracket(TWO, time_limit=5, policy_runs={"vllm_fcfs": run}).upper == 6


def test_bad_opt_over() -> None:
    from ratio.errors import InputError

    with pytest.raises(InputError, match="opt_over"):
        bracket(TWO, opt_over="preemptive")
