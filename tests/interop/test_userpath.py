"""The production path of issue 19 through the command line: import with slicing, trace stats,
compare, scaling to a capacity, seconds beside rounds, and the smaller fixes."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from ratio.cli import main
from ratio.io import dump, load
from ratio.model import Instance
from ratio.simulator import simulate

ROOT = Path(__file__).resolve().parents[2]
AZURE = ROOT / "ratio" / "data" / "azure" / "azure_conv_400.csv"
DATA = ROOT / "tests" / "data" / "interop"


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def _import(tmp_path: Path, *extra: str, capacity: str = "8192") -> Path:
    out = tmp_path / "az.json"
    rc = main(
        ["import", str(AZURE), "--format", "azure", "--capacity", capacity, "--round-ms", "50"]
        + list(extra)
        + ["-o", str(out)]
    )
    assert rc == 0
    return out


def test_shipped_sample_is_real_and_licensed() -> None:
    lines = AZURE.read_text().splitlines()
    assert lines[0] == "TIMESTAMP,ContextTokens,GeneratedTokens"
    assert len(lines) == 401
    assert lines[1] == "2023-11-16 18:15:46.6805900,374,44"
    assert "Attribution 4.0 International" in (AZURE.parent / "LICENSE").read_text("utf-8-sig")


def test_import_slicing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = load(_import(tmp_path))
    assert whole.n == 400
    capsys.readouterr()
    head = load(_import(tmp_path, "--head", "50"))
    assert [r.id for r in head.requests] == [r.id for r in whole.requests[:50]]
    # the window is in seconds from the first request (exact times kept by the import)
    capsys.readouterr()
    win = load(_import(tmp_path, "--window", "10..20", "--json"))
    rep = _json(capsys)
    assert rep["slice"]["window_unit"] == "s"
    ms = whole.meta["arrival_ms"]
    expect = [whole.requests[i].id for i in range(400) if 10_000 <= ms[i] < 20_000]
    assert [r.id for r in win.requests] == expect and rep["n"] == len(expect) > 0
    assert win.requests[0].arrival == 0
    s1 = load(_import(tmp_path, "--sample", "30", "--seed", "7"))
    s2 = load(_import(tmp_path, "--sample", "30", "--seed", "7"))
    assert [r.id for r in s1.requests] == [r.id for r in s2.requests]
    assert s1.n == 30


def test_strict_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19: --strict exits 3 and must not leave the (partial) trace behind."""
    out = tmp_path / "m.json"
    rc = main(
        [
            "import",
            str(DATA / "mooncake_shuffled.jsonl"),
            "--format",
            "mooncake",
            "--capacity",
            "16384",
            "--strict",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert rc == 3
    assert not out.exists()
    assert _json(capsys)["written"] is False
    assert (
        main(
            [
                "import",
                str(DATA / "mooncake_shuffled.jsonl"),
                "--format",
                "mooncake",
                "--capacity",
                "16384",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert out.exists()


def test_trace_stats_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _import(tmp_path, "--head", "100")
    capsys.readouterr()
    assert main(["trace", "stats", str(t), "--json"]) == 0
    a = _json(capsys)
    assert main(["trace", "stats", str(t), "--capacity", "16384", "--json"]) == 0
    b = _json(capsys)
    assert a["n"] == b["n"] == 100
    # twice the memory: alpha halves, the boundary doubles, the load halves (same trace)
    assert Fraction(a["alpha"]) == 2 * Fraction(b["alpha"])
    assert a["load"] == pytest.approx(2 * b["load"])
    assert a["rate_rps"] == pytest.approx(a["rate_per_round"] * 20)


def test_compare_shares_one_bracket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    ob = importlib.import_module("offline_opt.bracket")
    calls = []
    real = ob.bracket

    def counted(*a: object, **k: object) -> object:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(ob, "bracket", counted)
    t = _import(tmp_path, "--head", "40")
    capsys.readouterr()
    png = tmp_path / "c.png"
    rc = main(
        [
            "compare",
            str(t),
            "--policies",
            "svf,fcfs,sjf",
            "--time-limit",
            "3",
            "--plot",
            str(png),
            "--json",
        ]
    )
    assert rc == 0
    obj = _json(capsys)
    assert len(calls) == 1
    assert png.stat().st_size > 0
    inst = load(t)
    res = obj["results"]
    assert [r["policy"] for r in res] == ["svf", "fcfs", "sjf"]
    ub, lb = obj["opt_upper"], obj["opt_lower"]
    assert lb <= ub
    for r in res:
        cost = simulate(inst, r["policy"]).total_latency
        assert r["total_latency"] == cost
        assert Fraction(r["ratio_lower"]) == Fraction(cost, ub)
        assert Fraction(r["ratio_upper"]) == Fraction(cost, lb)
        assert r["makespan_s"] == pytest.approx(r["makespan"] * 0.05)
        assert r["mean_latency_s"] == pytest.approx(r["mean_latency"] * 0.05)
        assert r["throughput_rps"] == pytest.approx(40 / r["makespan_s"])
    assert min(Fraction(r["ratio_lower"]) for r in res) >= 1


def test_compare_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = dump(Instance.from_tuples(10, [(0, 3, 2), (1, 2, 2)]), tmp_path / "t.json")
    assert main(["compare", str(t), "--policies", "svf,nope"]) == 2
    assert "unknown 'nope'" in capsys.readouterr().err
    assert main(["compare", str(t), "--window", "5..1"]) == 2
    assert main(["compare", str(t), "--head", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("error" in x for x in err)


def test_simulate_and_ratio_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = Instance.from_tuples(10, [(0, 3, 2), (0, 2, 4), (1, 5, 3), (6, 1, 1)])
    t = dump(inst, tmp_path / "t.json")
    assert main(["simulate", str(t), "--json"]) == 0
    assert "makespan_s" not in _json(capsys)  # no time base, no seconds
    assert main(["simulate", str(t), "--round-ms", "20", "--json"]) == 0
    obj = _json(capsys)
    assert obj["makespan_s"] == pytest.approx(obj["makespan"] * 0.02)
    assert obj["throughput_rps"] == pytest.approx(4 / obj["makespan_s"])
    assert main(["simulate", str(t), "--round-ms", "20", "--head", "2", "--json"]) == 0
    assert _json(capsys)["n"] == 2
    assert main(["ratio", str(t), "--round-ms", "20", "--time-limit", "5", "--json"]) == 0
    obj = _json(capsys)
    assert obj["p99_latency_s"] > 0 and obj["round_ms"] == 20


def test_export_scale_to_capacity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = Instance.from_tuples(
        24, [(0, 5, 7), (0, 12, 8), (1, 3, 3), (2, 6, 6), (4, 2, 9)], meta={"round_ms": 20}
    )
    t = dump(inst, tmp_path / "t.json")
    out = tmp_path / "o.jsonl"
    big = tmp_path / "big.json"
    rc = main(
        [
            "export",
            str(t),
            "--scale-to-capacity",
            "240",
            "--scaled-trace",
            str(big),
            "--time-limit",
            "5",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    sc = _json(capsys)["scaled"]
    scaled = load(big)
    assert scaled.capacity == 240 and sc["M"] == 240 and sc["M_from"] == 24
    assert [(r.arrival, r.prompt, r.output) for r in scaled.requests] == [
        (10 * a, 10 * s, 10 * o)
        for a, s, o in ((0, 5, 7), (0, 12, 8), (1, 3, 3), (2, 6, 6), (4, 2, 9))
    ]
    assert sc["alpha"] == str(scaled.alpha) == "5/6"
    cost = simulate(scaled, "svf").total_latency
    assert sc["scaled"]["policy_cost"] == cost
    assert Fraction(sc["scaled"]["ratio_lower"]) == Fraction(cost, sc["scaled"]["opt_upper"])
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["input_length"] for x in lines] == [50, 120, 30, 60, 20]
    assert [x["timestamp"] for x in lines] == [0, 0, 200, 400, 800]


def test_gantt_shows_every_request() -> None:
    """Issue 19: the timeline stopped at the first 200 requests."""
    from ratio.plot import _plt, plot_gantt

    inst = Instance.from_tuples(10**4, [(i, 1, 2) for i in range(260)])
    run = simulate(inst, "fcfs")
    ax = plot_gantt(run)
    try:
        assert ax.get_ylim() == (260, -1)
        assert len(ax.patches) == 260
    finally:
        _plt().close(ax.figure)


def test_stability_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["stability", "--policy", "svf", "--prompt", "4", "--output", "8", "--capacity"]
    args += ["64", "--loads", "0.5", "--horizon", "400", "--json"]
    assert main(args) == 0
    assert "seconds_per_unit" not in _json(capsys)
    assert main([*args, "--round-ms", "50"]) == 0
    obj = _json(capsys)
    r = obj["results"][0]
    assert r["makespan_s"] == pytest.approx(20.0)
    assert r["throughput_rps"] == pytest.approx(r["completed"] / 20.0)
    assert r["mean_latency_s"] == pytest.approx(r["mean_latency"] * 0.05)
    assert r["mean_latency"] >= 8  # at least o rounds each


# --- the smaller things of issue 19 ----------------------------------------------------------
def test_gpu_memory_needs_a_unit(capsys: pytest.CaptureFixture[str]) -> None:
    """``--gpu-memory 80`` meant 80 bytes; now it is refused with the fix in the message."""
    base = ["capacity", "--model-config", "shipped:llama-3.1-8b", "--json"]
    assert main([*base, "--gpu-memory", "80"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "80GiB" in err[0] and "no unit" in err[0]
    assert main([*base, "--gpu-memory", "80GiB"]) == 0
    assert _json(capsys)["capacity_tokens"] == 467264


def test_family_says_why_alpha_differs(capsys: pytest.CaptureFixture[str]) -> None:
    """``family --alpha 1/2`` printed alpha 181/361 with no word on why."""
    assert main(["family", "svf_hol_block", "--n", "8", "--alpha", "1/2"]) == 0
    out = capsys.readouterr().out
    assert "--alpha" in out.splitlines()[0]
    assert "note: --alpha is the family's parameter 1/k" in out
    assert "181/361 for 1/2" in out


def test_solver_banner_stays_out_of_the_progress_line(capfd: pytest.CaptureFixture[str]) -> None:
    """HiGHS prints its banner on file descriptor 1; it used to be sent to stderr, inside the
    one-line progress display."""
    import os

    from ratio.quiet import quiet_stdout

    with quiet_stdout():
        os.write(1, b"Running HiGHS 1.16.0\n")
    out, err = capfd.readouterr()
    assert "HiGHS" not in out and "HiGHS" not in err


def test_search_says_it_resumed(tmp_path: Path) -> None:
    """Re-running the demo silently resumed and reprinted the old result."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "ratio.cli", "search", "--policy", "svf", "--regime"]
    cmd += ["all_at_zero", "--budget", "20", "--seed", "1", "--out", str(tmp_path / "run")]
    cmd += ["--quiet", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["resumed_evaluations"] == 0
    assert "resumed" not in first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed_evaluations"] == 20
    assert "resumed" in again.stderr and "nothing new was evaluated" in again.stderr
