"""``kvratio simulate`` hands queueing-engine policies to the extended engine, and its table
and JSON report the engine's own figures (a paused request completes later than p + o)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ratio.cli import main

TRACE = Path(__file__).resolve().parents[2] / "ratio" / "data" / "poisson40.json"


def test_wait_figures_agree_between_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(TRACE), "--policy", "wait:L=60", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    arrivals = [r["arrival"] for r in json.loads(TRACE.read_text())["requests"]]
    assert obj["total_latency"] == sum(obj["completions"]) - sum(arrivals)
    assert obj["makespan"] == max(obj["completions"])
    assert obj["peak_memory"] <= obj["M"]
    # A paused request finishes after start + output for at least one request here.
    outputs = [r["output"] for r in json.loads(TRACE.read_text())["requests"]]
    assert any(
        c > p + o for c, p, o in zip(obj["completions"], obj["starts"], outputs, strict=True)
    )
    assert main(["simulate", str(TRACE), "--policy", "wait:L=60"]) == 0
    table = capsys.readouterr().out
    assert f"total latency              {obj['total_latency']}" in table


def test_unknown_policy_lists_both_registries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(TRACE), "--policy", "nope"]) == 2
    err = capsys.readouterr().err
    assert "sarathi" in err and "svf" in err and len(err.strip().splitlines()) == 1
