"""``kvratio compare --eviction resume`` and ``kvratio ratio --eviction resume``: policies run in
resume mode, schedules checked in that mode, the bracket on the optimum over resume schedules
(issue 19, deliverable 5)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from offline_opt.bounds import RESUME_VALID
from ratio.check import check
from ratio.cli import main
from ratio.io import dump, load
from ratio.model import Instance
from ratio.simulator import simulate

ROOT = Path(__file__).resolve().parents[2]
BURST = ROOT / "ratio" / "data" / "burst12.json"


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def two(tmp_path: Path) -> Path:
    """M = 4, two (0, 1, 2): OPT = 6, resume optimum 5 (test_resume_bounds.py)."""
    return dump(Instance.from_tuples(4, [(0, 1, 2), (0, 1, 2)]), tmp_path / "two.json")


def test_ratio_resume(two: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ratio", str(two), "--policy", "vllm_fcfs", "--time-limit", "5", "--json"]
    assert main(args) == 0
    old = _json(capsys)
    assert (old["eviction"], old["opt_over"], old["policy_cost"]) == ("restart", "nonpreemptive", 6)
    assert old["opt_lower"] == old["opt_upper"] == 6
    assert main(args + ["--eviction", "resume"]) == 0
    obj = _json(capsys)
    assert (obj["eviction"], obj["opt_over"], obj["bracket"]["opt_over"]) == ("resume",) * 3
    # vllm_fcfs's resume run (5) is the resume optimum: the valid bounds reach it
    assert (obj["policy_cost"], obj["opt_lower"], obj["opt_upper"], obj["exact"]) == (5, 5, 5, True)
    assert obj["lower_method"] in RESUME_VALID
    assert obj["upper_method"] == "policy:vllm_fcfs:resume"
    assert obj["opt_evicted"] and obj["bound_at_alpha"] is None
    assert main(["ratio", str(two), "--policy", "vllm_fcfs", "--eviction", "resume"]) == 0
    out = capsys.readouterr().out
    assert "eviction = resume" in out and "OPT over resume schedules" in out


def test_compare_resume(capsys: pytest.CaptureFixture[str]) -> None:
    pols = ["svf", "vllm_fcfs", "vllm_priority"]
    rc = main(
        ["compare", str(BURST), "--policies", ",".join(pols), "--eviction", "resume"]
        + ["--time-limit", "3", "--json"]
    )
    assert rc == 0
    obj = _json(capsys)
    assert obj["eviction"] == obj["opt_over"] == obj["bracket"]["opt_over"] == "resume"
    assert set(obj["bracket"]["lower_bounds"]) <= set(RESUME_VALID)
    inst = load(BURST)
    ub, lb = obj["opt_upper"], obj["opt_lower"]
    assert lb <= ub
    evicted = 0
    for r, spec in zip(obj["results"], pols, strict=True):
        run = simulate(inst, spec, eviction="resume")
        assert check(inst, run.schedule)
        evicted += run.evictions
        assert (r["policy"], r["eviction"]) == (spec, "resume")
        assert r["total_latency"] == run.total_latency >= lb
        assert Fraction(r["ratio_lower"]) == Fraction(run.total_latency, ub)
        assert Fraction(r["ratio_upper"]) == Fraction(run.total_latency, lb)
    assert evicted > 0  # the trace does exercise resume
    assert main(["compare", str(BURST), "--policies", "svf", "--eviction", "resume"]) == 0
    assert "OPT over resume schedules in" in capsys.readouterr().out


def test_resume_refuses_extended_and_bad_mode(
    two: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(two), "--policies", "svf,orca", "--eviction", "resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "extended engine" in err[0] and "orca" in err[0]
    assert main(["ratio", str(two), "--policy", "orca", "--eviction", "resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "extended engine" in err[0]
    assert main(["ratio", str(two), "--policy", "nope", "--eviction", "resume"]) == 2
    assert "unknown policy 'nope'" in capsys.readouterr().err
    assert main(["compare", str(two), "--eviction", "keep"]) == 2
    assert main(["ratio", str(two), "--eviction", "keep"]) == 2
    assert "invalid choice" in capsys.readouterr().err
