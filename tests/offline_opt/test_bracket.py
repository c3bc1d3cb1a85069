"""The anytime certified bracket (issue 15, deliverable 1): ``lower <= OPT <= upper`` against
exact optima, the event-driven list scheduler against a brute-force one, time limits, reuse
of policy runs, memory refusal, and the CLI's JSON."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from offline_opt import bracket, ratio_of
from offline_opt.bracket import TerminalProgress, memory_estimate, upper_search
from offline_opt.exact_small import solve_exact
from offline_opt.upper import Deadline, list_schedule, policy_schedules
from ratio.check import check
from ratio.cli import main
from ratio.errors import InputError
from ratio.io import dump
from ratio.model import Instance, Schedule

from .conftest import small_instances


def _production(n: int, *, seed: int, online: bool, M: int = 32768) -> Instance:
    """Lognormal prompts (median 650, cap 12000) and outputs (median 180, cap 4000)."""
    rng = np.random.default_rng(seed)
    s = np.clip(np.rint(rng.lognormal(np.log(650), 1.0, n)), 1, 12000).astype(int)
    o = np.clip(np.rint(rng.lognormal(np.log(180), 1.0, n)), 1, 4000).astype(int)
    o = np.minimum(o, M - s)
    a = np.zeros(n, dtype=int)
    if online:
        rate = 0.9 * M / float((s * o + o * (o + 1) // 2).mean())
        a = np.floor(np.cumsum(rng.exponential(1 / rate, n))).astype(int)
    return Instance.from_tuples(M, list(zip(a.tolist(), s.tolist(), o.tolist(), strict=True)))


def _brute_list_schedule(inst: Instance, order: list[int]) -> tuple[int, tuple[int, ...]]:
    """Earliest feasible start by trying every start round in turn (the definition)."""
    mem: dict[int, int] = {}
    starts = [0] * inst.n
    for i in order:
        r = inst.requests[i]
        p = r.arrival
        while any(
            mem.get(p + k - 1, 0) + r.prompt + k > inst.capacity for k in range(1, r.output + 1)
        ):
            p += 1
        for k in range(1, r.output + 1):
            mem[p + k - 1] = mem.get(p + k - 1, 0) + r.prompt + k
        starts[i] = p
    return sum(p + r.output - r.arrival for p, r in zip(starts, inst.requests, strict=True)), tuple(
        starts
    )


@settings(max_examples=200, deadline=None)
@given(small_instances(max_n=7, arrivals=True))
def test_list_schedule_is_the_earliest_start_greedy(inst: Instance) -> None:
    for order in (list(range(inst.n)), list(reversed(range(inst.n)))):
        cost, sched = list_schedule(inst, order)
        assert (cost, sched.starts) == _brute_list_schedule(inst, order)
        assert check(inst, sched)


@settings(deadline=None)
@given(small_instances(max_n=5, arrivals=True))
def test_bracket_contains_opt(inst: Instance) -> None:
    opt = solve_exact(inst)[0]
    b = bracket(inst, exact=False, max_evals=50)
    assert b.lower <= opt <= b.upper
    assert check(inst, b.schedule) and b.schedule.total_latency(inst) == b.upper
    assert b.lower == b.lower_bounds[b.lower_method] == max(b.lower_bounds.values())
    assert b.upper == b.upper_bounds[b.upper_method] == min(b.upper_bounds.values())


def test_bracket_exact_where_it_fits() -> None:
    inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    for limit in (30.0, None):
        b = bracket(inst, time_limit=limit, solver="exact", lagrangian=False)
        assert (b.lower, b.upper) == (9, 9) and b.optimal
        assert b.exact_status == "optimal" and b.lower_method == b.exact_solver == "exact"


def test_bracket_at_scale_within_the_time_limit() -> None:
    inst = _production(3000, seed=1, online=False, M=200_000)
    t0 = time.perf_counter()
    b = bracket(inst, time_limit=3.0)
    took = time.perf_counter() - t0
    assert took < 3.0 + 1.0  # the deadline is honoured (slack: one policy's clock reading)
    assert b.lower <= b.upper and b.exact_skipped.startswith("n = ")
    assert b.upper / b.lower < 1.10
    assert b.lower_method == "mean_busy_time"


def test_policy_runs_are_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    from ratio import simulator

    inst = _production(50, seed=2, online=True)
    run = simulator.simulate(inst, "svf")
    calls: list[str] = []
    real = simulator.simulate

    def counting(instance: Instance, policy: object, **kw: object) -> object:
        calls.append(getattr(policy, "spec", str(policy)))
        return real(instance, policy, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(simulator, "simulate", counting)
    scheds = policy_schedules(inst, runs={"svf": run})
    assert "svf" not in calls and "svf" in scheds and len(calls) >= 5
    calls.clear()
    cr = ratio_of("svf", inst, time_limit=5)
    assert calls.count("svf") == 1  # the policy's own run is its upper-bound candidate
    assert cr.opt is not None and cr.opt.upper_method


def test_policy_run_for_another_instance_is_refused() -> None:
    from ratio.simulator import simulate

    a, b = _production(10, seed=3, online=False), _production(10, seed=4, online=False)
    with pytest.raises(ValueError, match="another instance"):
        policy_schedules(a, runs={"svf": simulate(b, "svf")})


def test_list_schedule_stops_at_the_deadline() -> None:
    inst = _production(400, seed=5, online=False)
    with pytest.raises(Deadline):
        list_schedule(inst, list(range(inst.n)), deadline=time.perf_counter() - 1)


def test_upper_search_always_answers() -> None:
    inst = _production(200, seed=6, online=True)
    res = upper_search(inst, deadline=time.perf_counter() - 1)  # already past
    assert check(inst, res.schedule) and res.cost == res.schedule.total_latency(inst)


def test_memory_refusal_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    inst = _production(100, seed=7, online=False)
    monkeypatch.setenv("KVRATIO_MEMORY_LIMIT", str(memory_estimate(inst) - 1))
    with pytest.raises(InputError, match="too large"):
        bracket(inst, time_limit=1)
    p = tmp_path / "t.json"
    dump(inst, p)
    assert main(["opt", str(p), "--time-limit", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too large" in err[0]


def test_bnb_jit_refuses_quadratic_buffers() -> None:
    from offline_opt import bnb_jit

    outs = [5000] * 8  # the 5.8 GB case
    assert bnb_jit.buffer_bytes(outs) > bnb_jit.MAX_BUFFER_BYTES
    assert not bnb_jit.supports(outs)
    assert bnb_jit.supports([16] * 8)


def test_cli_json_names_the_methods(tmp_path: Path, capsys) -> None:
    inst = _production(300, seed=8, online=True)
    p = tmp_path / "t.json"
    dump(inst, p)
    assert main(["opt", str(p), "--time-limit", "2", "--json"]) == 0
    captured = capsys.readouterr()
    obj = json.loads(captured.out)
    assert captured.err == ""  # no progress when not on a terminal / with --json
    for k in ("cost", "status", "lower_bound", "starts", "solver", "seconds"):
        assert k in obj
    assert obj["lower_method"] in obj["bracket"]["lower_bounds"]
    assert obj["upper_method"].startswith(("policy:", "list_schedule"))
    assert check(inst, Schedule(tuple(obj["starts"])))
    assert main(["ratio", str(p), "--policy", "svf", "--time-limit", "2", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["lower_method"] and obj["upper_method"] and obj["exact"] is False
    p_, q_ = obj["ratio_upper"].split("/")
    assert int(p_) * obj["opt_lower"] == obj["policy_cost"] * int(q_)


def test_progress_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    plain, tty = io.StringIO(), Tty()
    for stream in (plain, tty):
        prog = TerminalProgress(stream, every=0.0)
        prog("OPT in [1, 2]")
        prog.close()
    assert plain.getvalue() == ""
    assert "OPT in [1, 2]" in tty.getvalue()


def test_a_slow_policy_stops_at_the_deadline() -> None:
    """``sjf:blocking=false`` takes seconds at n = 400; it must stop at the deadline."""
    from offline_opt.upper import _timed_policy
    from ratio.simulator import simulate

    inst = _production(400, seed=9, online=False)
    t0 = time.perf_counter()
    with pytest.raises(Deadline):
        simulate(inst, _timed_policy("sjf:blocking=false", t0 + 0.2))
    assert time.perf_counter() - t0 < 0.5


@settings(deadline=None)
@given(small_instances(max_n=7, arrivals=True))
def test_local_search_checkpoints_agree_with_a_full_replay(inst: Instance) -> None:
    from offline_opt.upper import local_search

    cost, sched, order = local_search(inst, list(range(inst.n)), max_evals=60, seed=1)
    assert list_schedule(inst, order) == (cost, sched)
    assert cost <= list_schedule(inst, list(range(inst.n)))[0]


def test_local_search_checkpoints_at_scale() -> None:
    from offline_opt.upper import local_search, start_order
    from ratio.simulator import simulate

    inst = _production(300, seed=10, online=True)
    order = start_order(inst, simulate(inst, "svf").schedule)
    cost, sched, best = local_search(inst, order, max_evals=150, seed=2)
    assert list_schedule(inst, best) == (cost, sched) and check(inst, sched)
    assert cost < list_schedule(inst, order)[0]
