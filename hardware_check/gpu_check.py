"""GPU check: full-engine replay with a real model shape and dummy weights, step timing.

Run by ``hardware_check/gpu_check.sh`` on a machine with a GPU and a CUDA build of vLLM 0.32.
It replays a seeded Poisson trace through the full engine with ``--device cuda`` (same code as
the CPU path), compares with the model (accounting, ``ratio.simulate`` twin, mirror), and fits
each step's wall time to ``c0 + c1 * tokens`` (tokens computed in the step), the batch-time
model of ``docs/model.md`` section 2, to test the unit-time assumption.  Writes one JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def fit_step_times(tokens: list[int], seconds: list[float]) -> dict[str, Any]:
    """Least-squares ``seconds = c0 + c1 * tokens`` with R^2 and the relative spread."""
    x = np.asarray(tokens, dtype=float)
    y = np.asarray(seconds, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0:
        return {"n": len(x), "c0": None, "c1": None, "r2": None}
    A = np.vstack([np.ones_like(x), x]).T
    (c0, c1), *_ = np.linalg.lstsq(A, y, rcond=None)
    pred = c0 + c1 * x
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    decode = y[x <= np.percentile(x, 50)]
    return {
        "n": int(len(x)),
        "c0": float(c0),
        "c1": float(c1),
        "r2": 1.0 - ss_res / ss_tot,
        "tokens_min": int(x.min()),
        "tokens_max": int(x.max()),
        "seconds_median": float(np.median(y)),
        "seconds_p90_over_p10": float(np.percentile(y, 90) / max(np.percentile(y, 10), 1e-9)),
        "decode_half_cv": float(decode.std() / decode.mean()) if len(decode) else None,
    }


def timing_trace(n: int, capacity: int, seed: int) -> Any:
    """The GPU checks' seeded Poisson trace: ``n`` requests at rate 2 per round, prompts
    64-1024, outputs 16-256, ``M = capacity``."""
    from ratio.gen import generate

    return generate(
        n,
        capacity=capacity,
        arrivals="poisson",
        rate=2.0,
        prompt_range=(64, 1024),
        output_range=(16, 256),
        seed=seed,
    )


def main(argv: list[str] | None = None) -> int:
    # long: a standalone script's main: checks the GPU, runs the grid and prints each result
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(ROOT / "ratio/data/models/llama-3.1-8b"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=16 * 2048)
    ap.add_argument("--block-size", type=int, default=16)
    ap.add_argument("--policy", default="svf")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"format": "kvratio-gpu-check/1", "args": vars(args)}
    try:
        from hardware_check.compare import compare
        from hardware_check.engine_replay import replay_engine
        from hardware_check.mapping import plan_replay

        inst = timing_trace(args.n, args.capacity, args.seed)
        plan = plan_replay(inst, args.policy, block_size=args.block_size)
        t0 = time.perf_counter()
        run = replay_engine(plan, model=args.model, device=args.device, dtype=args.dtype)
        result["replay_seconds"] = time.perf_counter() - t0
        cmp = compare(plan, run)
        result["comparison"] = cmp.to_dict()
        result["verdict_line"] = cmp.verdict_line()
        busy = [s for s in run.steps if s.tokens][3:]  # the first steps include warm-up
        result["step_fit"] = fit_step_times(
            [s.batch_tokens for s in busy], [s.seconds for s in busy]
        )
        result["steps"] = [
            {
                "step": s.step,
                "tokens": s.batch_tokens,
                "running": len(s.running),
                "seconds": s.seconds,
            }
            for s in run.steps
            if s.tokens
        ]
        import torch

        result["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        result["status"] = "ok"
        rc = 0
    except Exception as exc:  # report, never hide: the JSON says what failed
        import traceback

        result["status"] = "error"
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        rc = 1
    (out / "gpu_check.json").write_text(json.dumps(result, indent=1, default=str))
    print(
        json.dumps(
            {k: result.get(k) for k in ("status", "error", "verdict_line", "step_fit")}, default=str
        )
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())
