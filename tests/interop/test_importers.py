"""Importers (issue 10 item 1): columns by name (shuffled + extra column in every sample),
unit conversions, unusable lines reported with their numbers, merged requests, clocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ratio.cli import main
from ratio.errors import InputError
from ratio.interop.importers import ImportResult, import_azure_csv, import_trace, parse_columns
from ratio.interop.timebase import parse_batch_time, rounds_by_batch_time, rounds_by_round_ms
from ratio.io import load

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"


def triples(res: ImportResult) -> list[tuple[str | None, int, int, int]]:
    return [(r.id, r.arrival, r.prompt, r.output) for r in res.instance.requests]


def test_azure_shuffled_columns_units_and_report() -> None:
    # Header: GeneratedTokens,ContextTokens,Deployment,TIMESTAMP (shuffled, one extra column).
    # TIMESTAMP is a date-time with 7 fractional digits; 100 ms rounds from the first request:
    # +0 ms -> 0, +30 ms -> 0, +220 ms -> 2, +2000 ms -> 20.
    res = import_trace(DATA / "azure_shuffled.csv", "azure", capacity=4096, round_ms=100)
    assert triples(res) == [
        ("L2", 0, 374, 44),
        ("L8", 0, 10, 5),  # same time as line 2: file order breaks the tie
        ("L3", 0, 803, 12),
        ("L4", 2, 1012, 230),
        ("L9", 20, 2048, 61),
    ]
    assert [(d.line, d.reason.split(":")[0]) for d in res.dropped] == [
        (5, "missing ContextTokens"),
        (6, "negative length (prompt -3, output 9); need >= 1"),
        (7, "s+o = 4200 > capacity 4096"),
    ]
    assert res.merged == 2  # rounds 0,0,0,2,20
    assert res.instance.meta["arrival_ms"] == [0, 0, 30, 220, 2000]


def test_azure_numeric_seconds(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("ContextTokens,TIMESTAMP,GeneratedTokens,x\n3,10.0,2,q\n4,10.25,1,q\n")
    res = import_trace(p, "azure", capacity=10, round_ms=100)
    assert triples(res) == [("L2", 0, 3, 2), ("L3", 2, 4, 1)]  # 250 ms / 100 ms -> round 2


def test_import_azure_csv_is_the_strict_form() -> None:
    with pytest.raises(InputError, match=r"azure_shuffled.csv:5: missing ContextTokens"):
        import_azure_csv(DATA / "azure_shuffled.csv", capacity=4096, round_ms=100)


def test_burstgpt_model_filter_failed_rows_and_seconds() -> None:
    # Header shuffled with an extra `Session` column. Timestamp in seconds: 5 s is the origin,
    # 5.02 s -> 20 ms -> round 0, 7.5 s -> 2500 ms -> round 50 (50 ms rounds).
    res = import_trace(
        DATA / "burstgpt_shuffled.csv", "burstgpt", capacity=4096, round_ms=50, model="ChatGPT"
    )
    assert triples(res) == [("L2", 0, 472, 100), ("L5", 0, 20, 20), ("L6", 50, 1000, 200)]
    assert res.filtered == 1  # the GPT-4 row
    assert [d.to_dict() for d in res.dropped] == [
        {"line": 3, "reason": "failed request (Response tokens = 0)"},
        {"line": 7, "reason": "Response tokens is not an integer: 'x'"},
    ]
    assert res.merged == 1
    everything = import_trace(
        DATA / "burstgpt_shuffled.csv", "burstgpt", capacity=4096, round_ms=50
    )
    assert everything.instance.n == 4 and everything.filtered == 0


def test_mooncake_ms_hash_ids_and_report() -> None:
    # Keys reordered, extra keys; timestamp already in ms from the trace start (origin zero).
    res = import_trace(DATA / "mooncake_shuffled.jsonl", "mooncake", capacity=16384, round_ms=50)
    assert triples(res) == [("L1", 0, 6755, 500), ("L2", 0, 7319, 490), ("L3", 61, 7234, 794)]
    assert res.instance.meta["hash_ids"] == [[0, 1, 2], [0, 14], [0, 28]]
    assert [d.line for d in res.dropped] == [4, 5, 6, 7]
    reasons = [d.reason for d in res.dropped]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1] == "missing output_length"
    assert reasons[2].startswith("s+o = 90010 > capacity 16384")
    assert reasons[3].startswith("zero length")


def test_generic_csv_mapping_seconds() -> None:
    res = import_trace(
        DATA / "generic.csv",
        "csv",
        capacity=64,
        round_ms=50,
        columns="arrival=arrive_s,prompt=in_tok,output=out_tok",
        time_unit="s",
    )
    # 0.120 s = 120 ms -> round 2; 0.125 s -> round 2.
    assert triples(res) == [("L2", 0, 5, 7), ("L3", 2, 4, 3), ("L4", 2, 2, 9)]
    assert [d.line for d in res.dropped] == [5]
    assert res.merged == 1


@pytest.mark.parametrize(("unit", "scale"), [("s", 1000.0), ("ms", 1.0), ("us", 1e-3)])
def test_generic_jsonl_time_units(tmp_path: Path, unit: str, scale: float) -> None:
    p = tmp_path / "t.jsonl"
    rows = [{"b": 3, "a": 0, "c": 2, "z": 1}, {"c": 1, "a": 7, "b": 4}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = import_trace(
        p,
        "jsonl",
        capacity=20,
        round_ms=scale,
        columns="arrival=a,prompt=b,output=c",
        time_unit=unit,
    )
    # one round per unit of the column, whatever the unit
    assert [(r.arrival, r.prompt, r.output) for r in res.instance.requests] == [
        (0, 3, 2),
        (7, 4, 1),
    ]


def test_generic_rounds_unit() -> None:
    res = import_trace(
        DATA / "generic.jsonl",
        "jsonl",
        capacity=64,
        columns={"arrival": "t", "prompt": "len_in", "output": "len_out"},
        time_unit="round",
    )
    assert triples(res) == [("L2", 0, 4, 3), ("L1", 2, 5, 7), ("L3", 2, 2, 9)]


def test_missing_column_and_bad_options() -> None:
    with pytest.raises(InputError, match="missing column"):
        import_trace(DATA / "azure_shuffled.csv", "burstgpt", capacity=10, round_ms=50)
    with pytest.raises(InputError, match="needs --columns"):
        import_trace(DATA / "generic.csv", "csv", capacity=10, round_ms=50)
    with pytest.raises(InputError, match="missing output"):
        parse_columns("arrival=a,prompt=b")
    with pytest.raises(InputError, match="no usable requests"):
        import_trace(DATA / "azure_shuffled.csv", "azure", capacity=5, round_ms=50)
    with pytest.raises(InputError, match="exactly one clock"):
        import_trace(DATA / "azure_shuffled.csv", "azure", capacity=4096)


def test_round_ms_floor() -> None:
    assert rounds_by_round_ms([0.0, 0.3, 0.6000000000000001, 0.9], 0.3) == [0, 1, 2, 3]


def test_batch_time_clock_by_hand() -> None:
    """affine: tau = 10 + 1 * prefill + 2 * decode (ms); fcfs; requests (x ms, s, o):
    A (0, 5, 3), B (12, 4, 2), C (100, 2, 1).
    T0 = 0: A starts, batch = 5 prefill -> 15 ms, T1 = 15; B (x = 12 <= 15) arrives in round 1.
    Round 1: A decodes, B starts: 10 + 4 + 2 = 16, T2 = 31. Round 2: A, B decode: 10 + 4 = 14,
    T3 = 45. Round 3: nothing runs (A, B completed), time jumps to the next arrival, T4 = 100:
    C arrives in round 4."""
    tau = parse_batch_time("affine:c0=10,c_prefill=1,c_decode=2")
    got = rounds_by_batch_time(
        [0, 12, 100], [5, 4, 2], [3, 2, 1], capacity=50, tau=tau, policy="fcfs"
    )
    assert got == [0, 1, 4]


def test_batch_time_staircase_matches_round_ms_when_constant() -> None:
    # staircase with a = 0 is a constant c per busy round: with one long request always running
    # the clock is every c ms, as with --round-ms c.
    tau = parse_batch_time("staircase:c=20,a=0,b0=128")
    times = [0.0, 5.0, 20.0, 39.0, 41.0, 100.0]
    got = rounds_by_batch_time(
        times, [1] * 6, [200] + [1] * 5, capacity=1000, tau=tau, policy="fcfs"
    )
    assert got == [-(-int(x) // 20) for x in times]  # first round starting at or after x


def test_batch_time_model_parse_errors() -> None:
    with pytest.raises(InputError, match="unknown batch-time model"):
        parse_batch_time("cubic:c=1")
    with pytest.raises(InputError, match="missing parameter"):
        parse_batch_time("staircase:c=1,a=2")


# --- CLI ------------------------------------------------------------------------------------
def test_cli_import_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.json"
    rc = main(
        [
            "import",
            str(DATA / "azure_shuffled.csv"),
            "--format",
            "azure",
            "--capacity",
            "4096",
            "--round-ms",
            "100",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["path"] == str(out) and obj["n"] == 5 and obj["merged"] == 2
    assert [d["line"] for d in obj["dropped"]] == [5, 6, 7]
    assert load(out).n == 5


def test_cli_import_capacity_from_and_tau(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cap = tmp_path / "cap.json"
    cap.write_text(json.dumps({"capacity_tokens": 16384}))
    out = tmp_path / "t.json"
    rc = main(
        [
            "import",
            str(DATA / "mooncake_shuffled.jsonl"),
            "--format",
            "mooncake",
            "--capacity-from",
            str(cap),
            "--tau",
            "staircase:c=11.28,a=35.47,b0=128",
            "-o",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["M"] == 16384 and obj["clock"] == "batch_time"
    assert load(out).meta["tau_policy"] == "vllm_fcfs"


def test_cli_import_strict_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "t.json")
    args = ["import", str(DATA / "generic.csv"), "--format", "csv", "--capacity", "64", "-o", out]
    assert main(args) == 2  # no --columns
    assert capsys.readouterr().err.count("\n") == 1
    cols = ["--columns", "arrival=arrive_s,prompt=in_tok,output=out_tok"]
    assert main(args + cols + ["--strict"]) == 3
    capsys.readouterr()
    assert (
        main(
            [
                "import",
                str(tmp_path / "nope.csv"),
                "--format",
                "azure",
                "--capacity",
                "9",
                "-o",
                out,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("\n") == 1
    assert main(["import", str(DATA / "generic.csv"), "--format", "azure", "-o", out]) == 2
