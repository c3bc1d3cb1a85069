"""Exporter (issue 10 item 2): Mooncake timed-trace JSONL, and export -> import round trips."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratio.cli import main
from ratio.interop.exporters import export_mooncake, mooncake_lines
from ratio.interop.importers import import_trace
from ratio.io import dump
from ratio.model import Instance
from ratio.strategies import instances

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
ROUND_MS = st.one_of(
    st.sampled_from([1.0, 20.0, 50.0, 0.1, 37.3]),
    st.floats(0.01, 1000.0, allow_nan=False, allow_infinity=False),
)


def _require_vllm() -> None:
    """Skip without vLLM, except with ``KVRATIO_REQUIRE_VLLM=1`` (CI): then a missing vLLM
    fails the test (issue 16)."""
    if os.environ.get("KVRATIO_REQUIRE_VLLM") == "1":
        import vllm  # noqa: F401
    else:
        pytest.importorskip("vllm")


def _rows(inst: Instance) -> list[tuple[int, int, int]]:
    return [(r.arrival, r.prompt, r.output) for r in inst.requests]


@given(inst=instances(n=(1, 12), regime="online", max_arrival=500), round_ms=ROUND_MS)
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, inst: Instance, round_ms: float
) -> None:
    """export, import (origin zero, same round length): the same requests, in arrival order
    (file order breaks ties, so the index order of equal arrivals is kept)."""
    path = tmp_path_factory.mktemp("rt") / "t.jsonl"
    export_mooncake(inst, path, round_ms=round_ms)
    back = import_trace(path, "mooncake", capacity=inst.capacity, round_ms=round_ms).instance
    expect = sorted(_rows(inst), key=lambda r: r[0])
    assert _rows(back) == expect
    assert back.capacity == inst.capacity
    # origin "first": the same, shifted so the first request arrives in round 0
    first = import_trace(
        path, "mooncake", capacity=inst.capacity, round_ms=round_ms, origin="first"
    ).instance
    a0 = min(r.arrival for r in inst.requests)
    assert _rows(first) == [(a - a0, s, o) for a, s, o in expect]


def test_mooncake_lines_units_and_hash_ids(tmp_path: Path) -> None:
    res = import_trace(DATA / "mooncake_shuffled.jsonl", "mooncake", capacity=16384, round_ms=50)
    lines = mooncake_lines(res.instance, round_ms=50, keep_hash_ids=True)
    assert lines == [
        {"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [0, 1, 2]},
        {"timestamp": 0, "input_length": 7319, "output_length": 490, "hash_ids": [0, 14]},
        # round 61 * 50 ms without exact_times
        {"timestamp": 3050, "input_length": 7234, "output_length": 794, "hash_ids": [0, 28]},
    ]


def test_export_keeps_exact_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19: the trace keeps its exact arrival times, so the export writes them (3052 ms),
    not the start of their round (3050 ms); a --round-ms other than the trace's re-times."""
    res = import_trace(DATA / "mooncake_shuffled.jsonl", "mooncake", capacity=16384, round_ms=50)
    lines = mooncake_lines(res.instance, round_ms=50, exact_times=True)
    assert [x["timestamp"] for x in lines] == [0, 0, 3052]
    t = dump(res.instance, tmp_path / "m.json")
    out = tmp_path / "m.jsonl"
    assert main(["export", str(t), "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["timestamps"] == "exact"
    assert [json.loads(x)["timestamp"] for x in out.read_text().splitlines()] == [0, 0, 3052]
    assert main(["export", str(t), "-o", str(out), "--round-ms", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["timestamps"] == "rounds"
    assert [json.loads(x)["timestamp"] for x in out.read_text().splitlines()] == [0, 0, 610]


def test_export_hash_ids_match_the_chunk_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: an imported Mooncake trace's ids are 512-token blocks; by default the export
    writes fresh ids of --hash-block tokens (ceil(s/16) of them), matching the replay's
    --timed-trace-chunk-hash-size 16, and --keep-hash-ids says to replay with 512."""
    res = import_trace(DATA / "mooncake_shuffled.jsonl", "mooncake", capacity=16384, round_ms=50)
    lines = mooncake_lines(res.instance, round_ms=50)
    assert [len(x["hash_ids"]) for x in lines] == [-(-s // 16) for s in (6755, 7319, 7234)]
    t = dump(res.instance, tmp_path / "m.json")
    out = tmp_path / "m.jsonl"
    assert main(["export", str(t), "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chunk_hash_size"] == 16
    assert main(["export", str(t), "-o", str(out), "--keep-hash-ids", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chunk_hash_size"] == 512
    assert json.loads(out.read_text().splitlines()[1])["hash_ids"] == [0, 14]


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = Instance.from_tuples(40, [(0, 3, 2), (4, 5, 6)])
    trace = dump(inst, tmp_path / "t.json")
    out = tmp_path / "t.jsonl"
    assert main(["export", str(trace), "--format", "mooncake", "-o", str(out)]) == 2
    assert "--round-ms" in capsys.readouterr().err
    rc = main(
        ["export", str(trace), "--format", "mooncake", "--round-ms", "25", "-o", str(out), "--json"]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out) == {
        "path": str(out),
        "n": 2,
        "format": "mooncake",
        "round_ms": 25.0,
        "hash_block": 16,
        "timestamps": "rounds",
        "chunk_hash_size": 16,
    }
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"timestamp": 0, "input_length": 3, "output_length": 2, "hash_ids": [0]},
        {"timestamp": 100, "input_length": 5, "output_length": 6, "hash_ids": [1]},
    ]


def test_cli_export_uses_imported_round_ms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = tmp_path / "t.json"
    assert (
        main(
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
                str(t),
            ]
        )
        == 0
    )
    out = tmp_path / "o.jsonl"
    assert main(["export", str(t), "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["round_ms"] == 100.0
    # the exact times the import kept (rounds 0, 0, 0, 2, 20 at 100 ms per round)
    assert [json.loads(x)["timestamp"] for x in out.read_text().splitlines()] == [
        0,
        0,
        30,
        220,
        2000,
    ]


def test_hash_ids_cover_the_prompt_for_timed_trace() -> None:
    """vLLM's timed_trace rebuilds a prompt from hash_block tokens per id: ids must cover s."""
    inst = Instance.from_tuples(200, [(0, 33, 2), (1, 32, 1), (1, 1, 5)])
    lines = mooncake_lines(inst, round_ms=10, hash_block=16)
    assert [x["hash_ids"] for x in lines] == [[0, 1, 2], [3, 4], [5]]
    assert all("hash_ids" not in x for x in mooncake_lines(inst, round_ms=10, hash_block=0))


@pytest.mark.vllm
def test_vllm_timed_trace_reads_the_export(tmp_path: Path) -> None:
    """vLLM 0.32's own `vllm bench serve --dataset-name timed_trace` loader rebuilds every
    prompt at its exact length and every arrival time from our export."""
    _require_vllm()
    from vllm.benchmarks.datasets.datasets import TimedTrace

    class Tok:
        all_special_ids = [0, 1, 2]

        def get_vocab(self) -> dict[str, int]:
            return {f"t{i}": i for i in range(1000)}

    tok: Any = Tok()  # duck-typed tokenizer: only get_vocab and all_special_ids are used
    inst = Instance.from_tuples(300, [(0, 33, 2), (3, 200, 9), (3, 1, 5)])
    path = export_mooncake(inst, tmp_path / "t.jsonl", round_ms=40)
    ds = TimedTrace(
        dataset_path=str(path),
        random_seed=0,
        timed_trace_chunk_hash_size=16,
        timed_trace_sec_multiplier=0.001,
        timed_trace_label_timestamp="timestamp",
        timed_trace_label_input_length="input_length",
        timed_trace_label_output_length="output_length",
        timed_trace_label_hash_ids="hash_ids",
    )
    got = [(r.prompt_len, r.expected_output_len, r.timestamp) for r in ds.sample(tok, 10)]
    assert got == [(33, 2, 0.0), (200, 9, 0.12), (1, 5, 0.12)]
