"""Certificates, upper bounds, the ratio API and the CLI (issue 3 items 2, 3, 6)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import offline_opt
from offline_opt import OptResult, OptStatus, ratio_of, solve
from offline_opt.exact_small import solve_exact
from offline_opt.upper import best_upper_bound, list_schedule
from ratio.check import check
from ratio.cli import main
from ratio.errors import InputError
from ratio.gen import generate
from ratio.io import dump
from ratio.model import Instance
from ratio.simulator import simulate

from .conftest import random_instance, spec_cases


def test_all_names_exported() -> None:
    for name in ("solve", "ratio_of", "OptResult", "CertifiedRatio", "lower_bound"):
        assert name in offline_opt.__all__


def test_upper_bound_is_feasible_and_at_least_opt() -> None:
    rng = np.random.default_rng(3)
    for k in range(30):
        inst = random_instance(rng, int(rng.integers(1, 6)), arrivals=bool(k % 2))
        ub, sched = best_upper_bound(inst, seed=k)
        assert check(inst, sched) and sched.total_latency(inst) == ub
        assert ub >= solve_exact(inst)[0]


def test_list_schedule_any_order_feasible() -> None:
    inst = generate(15, arrivals="poisson", rate=0.7, seed=4)
    rng = np.random.default_rng(0)
    for _ in range(10):
        cost, sched = list_schedule(inst, list(rng.permutation(inst.n)))
        assert check(inst, sched) and sched.total_latency(inst) == cost


@pytest.mark.parametrize("inst,case", spec_cases())
def test_solve_spec_examples(inst, case) -> None:
    res = solve(inst)
    assert isinstance(res, OptResult)
    assert res.status == "optimal" and res.cost == case["opt"] == res.lower_bound
    assert res.gap == 0 and res.best_bound == res.lower_bound
    assert res.schedule is not None and check(inst, res.schedule)


def test_timeout_keeps_a_valid_certificate() -> None:
    inst = generate(18, seed=5)
    for solver in ("highs", "bnb"):
        res = solve(inst, solver=solver, time_limit=1.0)
        assert res.cost is not None and res.lower_bound <= res.cost
        assert res.status in ("optimal", "feasible")
        assert (res.status == "optimal") == (res.lower_bound == res.cost)
        if res.status == "feasible":
            assert res.gap == Fraction(res.cost - res.lower_bound, res.cost)


def test_optresult_rejects_false_optimal() -> None:
    with pytest.raises(ValueError):
        OptResult(None, 10, 9, None, OptStatus.OPTIMAL, "x", 0.0, 9)


def test_status_is_an_enum_that_reads_as_its_string() -> None:
    """``OptResult.status`` is an :class:`OptStatus`; the JSON keeps the strings of
    ``interfaces.md`` and comparisons with them still hold (issue 18)."""
    assert [s.value for s in OptStatus] == ["optimal", "feasible", "infeasible", "timeout"]
    res = solve(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]), solver="exact")
    assert res.status is OptStatus.OPTIMAL and res.status == "optimal"
    assert (
        f"{res.status}" == "optimal"
        and json.loads(json.dumps(res.to_dict()))["status"] == "optimal"
    )
    # a string is converted; an unknown one is refused
    opt = OptResult(None, 100, 80, Fraction(1, 5), "feasible", "test", 0.0, 80)  # type: ignore[arg-type]
    assert opt.status is OptStatus.FEASIBLE
    with pytest.raises(ValueError, match="status must be one of"):
        OptResult(None, 100, 80, Fraction(1, 5), "done", "test", 0.0, 80)  # type: ignore[arg-type]


def test_bad_solver_and_time_limit() -> None:
    inst = generate(3, seed=1)
    with pytest.raises(InputError):
        solve(inst, solver="gurobi")
    with pytest.raises(InputError):
        solve(inst, time_limit=0)


@pytest.mark.parametrize("inst,case", spec_cases())
def test_ratio_of_spec_examples(inst, case) -> None:
    for pol, exp in case["expected"].items():
        cr = ratio_of(pol, inst)
        assert cr.policy_cost == exp["total_latency"]
        assert cr.exact and cr.opt_upper == cr.opt_lower == case["opt"]
        assert cr.ratio_lower == cr.ratio_upper == Fraction(exp["total_latency"], case["opt"])


def test_ratio_interval_when_not_exact() -> None:
    inst = generate(8, seed=2)
    opt = OptResult(None, 100, 80, Fraction(1, 5), OptStatus.FEASIBLE, "test", 0.0, 80)
    cr = ratio_of("svf", inst, opt=opt)
    L = simulate(inst, "svf").total_latency
    assert cr.ratio_lower == Fraction(L, 100) and cr.ratio_upper == Fraction(L, 80)
    assert not cr.exact


def _trace(tmp_path: Path, n: int = 6, **kw) -> str:
    p = tmp_path / "t.json"
    dump(generate(n, seed=1, **kw), p)
    return str(p)


def test_cli_opt_json(tmp_path, capsys) -> None:
    path = _trace(tmp_path)
    assert main(["opt", path, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    for k in ("cost", "status", "lower_bound", "starts", "solver", "seconds"):
        assert k in obj
    assert obj["status"] == "optimal" and obj["cost"] == obj["lower_bound"]


def test_cli_opt_text_and_solvers(tmp_path, capsys) -> None:
    path = _trace(tmp_path)
    for s in ("cbc", "bnb", "exact"):
        assert main(["opt", path, "--solver", s, "--time-limit", "30"]) == 0
        assert "status        optimal" in capsys.readouterr().out


def test_cli_ratio_json(tmp_path, capsys) -> None:
    path = _trace(tmp_path, arrivals="poisson", rate=0.5)
    assert main(["ratio", path, "--policy", "svf", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    for k in (
        "policy",
        "policy_cost",
        "opt_upper",
        "opt_lower",
        "ratio_lower",
        "ratio_upper",
        "exact",
    ):
        assert k in obj
    p, q = obj["ratio_lower"].split("/")
    assert Fraction(int(p), int(q)) == Fraction(obj["policy_cost"], obj["opt_upper"])


@pytest.mark.parametrize(
    "argv",
    [
        ["opt", "/no/such/file.json"],
        ["opt", "{trace}", "--solver", "gurobi"],
        ["opt", "{trace}", "--time-limit", "-1"],
        ["opt", "{trace}", "--time-limit", "abc"],
        ["ratio", "{trace}", "--policy", "nope"],
        ["opt", "{bad}"],
    ],
)
def test_cli_bad_input_exit_2(tmp_path, capsys, argv) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"format": "kvratio-trace/1", "M": 5, "requests": [{"arrival": 0, '
        '"prompt": 4, "output": 4}]}'
    )
    trace = _trace(tmp_path)
    argv = [a.format(trace=trace, bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
