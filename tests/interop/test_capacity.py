"""Capacity from a model config (issue 10 item 3), checked against hand computations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ratio.cli import main
from ratio.errors import InputError
from ratio.interop.capacity import (
    compute_capacity,
    load_config,
    param_count,
    parse_size,
    shipped_config,
)
from ratio.io import load

GiB = 2**30


def hand(layers: int, hidden: int, heads: int, kv: int, inter: int, vocab: int) -> int:
    """Llama parameters by hand: per layer q and o (h x h), k and v (h x kv*128), gated MLP
    3 h I, two norms; embedding and untied LM head V h each; final norm h."""
    d = hidden // heads
    per_layer = 2 * hidden * hidden + 2 * hidden * kv * d + 3 * hidden * inter + 2 * hidden
    return layers * per_layer + 2 * vocab * hidden + hidden


def test_param_counts_by_hand() -> None:
    # Published sizes: Llama-2-7B 6.74e9, Llama-3.1-8B 8.03e9, Llama-3.1-70B 70.6e9.
    assert hand(32, 4096, 32, 32, 11008, 32000) == 6_738_415_616
    assert hand(32, 4096, 32, 8, 14336, 128256) == 8_030_261_248
    assert hand(80, 8192, 64, 8, 28672, 128256) == 70_553_706_496
    assert param_count(load_config(shipped_config("llama-2-7b"))) == 6_738_415_616
    assert param_count(load_config(shipped_config("llama-3.1-8b"))) == 8_030_261_248
    assert param_count(load_config(shipped_config("llama-3.1-70b"))) == 70_553_706_496


def test_llama31_8b_on_80gib_by_hand() -> None:
    # KV per token: 2 (K and V) * 32 layers * 8 KV heads * 128 dims * 2 bytes (bf16) = 131072.
    kv = 2 * 32 * 8 * 128 * 2
    assert kv == 131_072
    budget = 80 * GiB * 9 // 10  # 77,309,411,328 B at --utilization 0.9
    weights = 8_030_261_248 * 2  # bf16
    pool = budget - weights  # 61,248,888,832 B
    blocks = pool // (16 * kv)  # 29205 blocks of 16 tokens (2 MiB each)
    assert (budget, weights, pool, blocks) == (
        77_309_411_328,
        16_060_522_496,
        61_248_888_832,
        29205,
    )
    r = compute_capacity(load_config(shipped_config("llama-3.1-8b")), gpu_memory=80 * GiB)
    assert r.kv_bytes_per_token == kv
    assert r.weights_bytes == weights
    assert r.num_blocks == blocks
    assert r.capacity_blocks == blocks - 1  # vLLM's null block (model.md 9)
    assert r.capacity_tokens == (blocks - 1) * 16 == 467_264


def test_llama2_7b_on_80gib_by_hand() -> None:
    kv = 2 * 32 * 32 * 128 * 2  # no GQA: 524288 B per token, 4x Llama-3.1-8B's
    pool = 80 * GiB * 9 // 10 - 6_738_415_616 * 2  # fp16 weights
    blocks = pool // (16 * kv)
    r = compute_capacity(load_config(shipped_config("llama-2-7b")), gpu_memory=80 * GiB)
    assert (r.kv_bytes_per_token, r.num_blocks, r.capacity_tokens) == (
        kv,
        blocks,
        (blocks - 1) * 16,
    )
    assert r.capacity_tokens == 121_728


def test_llama31_70b_needs_several_gpus_by_hand() -> None:
    shape = load_config(shipped_config("llama-3.1-70b"))
    with pytest.raises(InputError, match="no room for the KV cache"):
        compute_capacity(shape, gpu_memory=80 * GiB)  # 141 GB of bf16 weights
    kv = 2 * 80 * 8 * 128 * 2  # 327680
    pool = 4 * 80 * GiB * 9 // 10 - 70_553_706_496 * 2
    blocks = pool // (16 * kv)
    r = compute_capacity(shape, gpu_memory=parse_size("4x80GiB"))
    assert (r.kv_bytes_per_token, r.capacity_tokens) == (kv, (blocks - 1) * 16)
    assert r.capacity_tokens == 513_072


def test_options_fp8_block_size_weights_overhead() -> None:
    shape = load_config(shipped_config("llama-3.1-8b"))
    r = compute_capacity(
        shape,
        gpu_memory=80 * GiB,
        utilization="0.5",
        kv_cache_dtype="fp8",
        block_size=32,
        weights_bytes=15 * GiB,
        overhead_bytes=GiB,
    )
    kv = 2 * 32 * 8 * 128 * 1
    blocks = (40 * GiB - 15 * GiB - GiB) // (32 * kv)
    assert (r.kv_bytes_per_token, r.num_blocks, r.capacity_tokens) == (
        kv,
        blocks,
        (blocks - 1) * 32,
    )


def test_parse_size() -> None:
    assert parse_size("80GiB") == 80 * GiB
    assert parse_size("80GB") == 80 * 10**9
    assert parse_size("8x80GiB") == 640 * GiB
    assert parse_size("1.5KiB") == 1536
    for bad in ("80G", "lots", "0", "-1GiB"):
        with pytest.raises(InputError):
            parse_size(bad)


def test_cli_capacity_json_and_capacity_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = shipped_config("llama-3.1-8b")
    rc = main(["capacity", "--model-config", str(cfg), "--gpu-memory", "80GiB", "--json"])
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert {
        k: obj[k]
        for k in ("kv_bytes_per_token", "weights_bytes", "capacity_tokens", "capacity_blocks")
    } == {
        "kv_bytes_per_token": 131_072,
        "weights_bytes": 16_060_522_496,
        "capacity_tokens": 467_264,
        "capacity_blocks": 29_204,
    }
    res = tmp_path / "cap.json"
    res.write_text(json.dumps(obj))
    out = tmp_path / "g.json"
    assert (
        main(
            ["gen", "--n", "5", "--capacity-from", str(res), "--prompt", "100..200", "-o", str(out)]
        )
        == 0
    )
    assert load(out).capacity == 467_264
    capsys.readouterr()
    assert main(["gen", "--n", "5", "--capacity-from", str(res), "--M", "40", "-o", str(out)]) == 2
    assert main(["gen", "--n", "3", "-o", str(out)]) == 0  # --M keeps its default 40
    assert load(out).capacity == 40


def test_cli_capacity_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["capacity", "--model-config", "shipped:llama-3.1-70b", "--gpu-memory", "80GiB"]) == 2
    )
    assert main(["capacity", "--model-config", "nope.json", "--gpu-memory", "80GiB"]) == 2
    assert (
        main(
            [
                "capacity",
                "--model-config",
                "shipped:llama-2-7b",
                "--gpu-memory",
                "80GiB",
                "--dtype",
                "int3",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(e.startswith("kvratio: error:") for e in err)
