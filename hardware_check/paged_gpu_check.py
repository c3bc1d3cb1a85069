"""GPU check through a paged-KV engine: transformers' continuous batching (issue 19, item 6).

The lent GPU machines cannot install vLLM's CUDA build, but they have torch and transformers.
This script, run there by ``hardware_check/paged_check.sh``, does two things with the model shape
of ``ratio/data/models/llama-3.1-8b/config.json`` (random bf16 weights, no download) and writes
one JSON file:

1. **Accounting on the hall of fame.** Every distinct hall-of-fame trace (the ones the vLLM
   replay takes) through :func:`hardware_check.paged_replay.replay_paged` on the GPU: each
   request's KV blocks in each step against the model's ``ceil((s + j) / B)``
   (``docs/model.md`` section 9), evictions and pauses included.
2. **Step time against batch size.** A seeded Poisson trace (``--n`` requests, prompts 64-1024,
   outputs 16-256, ``M = --capacity`` tokens, blocks of ``--block-size``) through the same
   replay: its accounting verdict, each busy step's wall time with its batch size and token
   count, the fit ``seconds = c0 + c1 * tokens`` and the median decode-step time per batch size
   (the batch-time model of ``docs/queueing.md``).

Run on CPU as a smoke test: ``python -m hardware_check.paged_gpu_check --device cpu --model
hardware_check/models/tiny-llama --dtype float32 --n 20 --capacity 2048 --out /tmp/pg``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def decode_times(steps: list[dict[str, Any]]) -> dict[str, float]:
    """Median seconds of the decode-only steps (one token per request), by batch size."""
    by: dict[int, list[float]] = {}
    for s in steps:
        if s["tokens"] == s["batch"]:
            by.setdefault(s["batch"], []).append(s["seconds"])
    return {str(b): statistics.median(v) for b, v in sorted(by.items())}


def main(argv: list[str] | None = None) -> int:
    # long: a standalone script's main: the two parts, each reported whatever the other does
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "ratio/data/models/llama-3.1-8b"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--hof-block-sizes", default="1,4", help="B for the hall-of-fame part")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=16 * 2048)
    ap.add_argument("--block-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"format": "kvratio-paged-gpu-check/1", "args": vars(args)}
    rc = 0
    try:
        import torch
        import transformers

        from hardware_check.gpu_check import timing_trace
        from hardware_check.paged_replay import (
            _hall_of_fame_traces,
            load_model,
            replay_paged,
            too_large,
        )

        result["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
        result["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        t0 = time.perf_counter()
        model = load_model(args.model, args.device, args.dtype, args.seed)
        result["model_load_seconds"] = time.perf_counter() - t0
        hof = []
        for B in (int(b) for b in args.hof_block_sizes.split(",")):
            for name, inst in _hall_of_fame_traces():
                if why := too_large(inst, B):
                    hof.append({"trace": name, "block_size": B, "skipped": why})
                    continue
                run = replay_paged(
                    inst,
                    block_size=B,
                    device=args.device,
                    source=name,
                    torch_model=model,
                    model=args.model,
                )
                d = run.to_dict()
                d.pop("step_fit")
                hof.append(d)
                print(f"B={B} {name}: {run.verdict_line()}", flush=True)
        result["hall_of_fame"] = hof
        result["hall_of_fame_mismatched"] = sum(d.get("verdict") == "mismatch" for d in hof)
        result["status"] = "partial: hall of fame done, timing trace running"
        (out / "paged_check.json").write_text(json.dumps(result, indent=1, default=str))
        inst = timing_trace(args.n, args.capacity, args.seed)
        run = replay_paged(
            inst,
            block_size=args.block_size,
            device=args.device,
            source=f"poisson n={args.n} seed={args.seed}",
            torch_model=model,
            model=args.model,
        )
        timing = run.to_dict(steps=True)
        steps = [
            {"step": s.step, "batch": len(s.batch), "tokens": s.tokens, "seconds": s.seconds}
            for s in run.steps
            if s.batch
        ]
        timing.pop("records")
        timing["busy"] = steps
        timing["decode_seconds_by_batch"] = decode_times(steps[3:])
        result["timing"] = timing
        print(f"timing trace: {run.verdict_line()}; fit {run.step_fit}", flush=True)
        ok = result["hall_of_fame_mismatched"] == 0 and run.verdict == "match"
        result["status"] = "ok" if ok else "mismatch"
        rc = 0 if ok else 1
    except Exception as exc:  # report, never hide: the JSON says what failed
        result["status"] = "error"
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        rc = 1
    (out / "paged_check.json").write_text(json.dumps(result, indent=1, default=str))
    print(
        json.dumps(
            {
                k: result.get(k)
                for k in ("status", "error", "gpu", "versions", "hall_of_fame_mismatched")
            },
            default=str,
        )
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())
