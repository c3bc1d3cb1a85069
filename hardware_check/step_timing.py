"""Step timing on a real model shape without vLLM: is a round really one unit of time?

The model of ``docs/model.md`` section 2 charges one unit per round whatever the batch; the
batch-time extension charges ``tau = c0 + c1 * tokens``. This script measures forward-pass
("engine step") time of a Llama model built from a ``config.json`` with random weights (no
download) through PyTorch + Hugging Face ``transformers``, on a grid of batches:

- decode steps: ``b`` sequences with ``L`` tokens of KV cache each produce one token each
  (``b`` batch tokens);
- prefill steps: ``b`` prompts of ``L`` tokens (``b * L`` batch tokens).

It fits ``seconds = c0 + c1 * tokens`` separately on decode and prefill steps and over both,
and reports how far decode steps are from constant (the unit-time assumption). It exists for
machines that lend a GPU but cannot install vLLM (the lent H100 has no vLLM and no network);
the vLLM full-engine timing is ``hardware_check.gpu_check``. It is *not* vLLM: no paged
attention, no continuous batching; say so next to any figure.

Run: ``python -m hardware_check.step_timing --config ratio/data/models/llama-3.1-8b/config.json
--device cuda --out DIR`` (writes ``DIR/step_timing.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hardware_check.gpu_check import fit_step_times

ROOT = Path(__file__).resolve().parents[1]


def _grid(max_tokens: int, quick: bool) -> list[tuple[int, int]]:
    lengths = (128, 512) if quick else (256, 1024, 2048)
    batches = (1, 4, 16) if quick else (1, 4, 16, 32, 64, 128)
    return [(b, length) for length in lengths for b in batches if b * length <= max_tokens]


def measure(
    config_path: Path,
    *,
    device: str,
    dtype: str,
    max_tokens: int,
    repeats: int,
    quick: bool,
    seed: int,
) -> dict[str, Any]:
    """Time prefill and decode steps on the grid; returns the raw rows and the fits."""
    # long: the timing grid: warm-up, prefill sweep, decode sweep, fits, in order
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    cfg = AutoConfig.from_pretrained(str(config_path.parent))
    torch_dtype = getattr(torch, dtype)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch_dtype)
    model.eval()

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    rows: list[dict[str, Any]] = []
    vocab = int(cfg.vocab_size)
    with torch.inference_mode():
        for b, length in _grid(max_tokens, quick):
            ids = torch.randint(0, vocab, (b, length), device=device)
            # Warm-up prefill, then timed prefills.
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            sync()
            for _ in range(repeats):
                t0 = time.perf_counter()
                out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
                sync()
                rows.append(
                    {
                        "kind": "prefill",
                        "batch": b,
                        "context": length,
                        "tokens": b * length,
                        "seconds": time.perf_counter() - t0,
                    }
                )
            past = out.past_key_values
            nxt = out.logits[:, -1:].argmax(-1)
            # One warm-up decode, then timed decodes on a growing cache.
            out = model(input_ids=nxt, past_key_values=past, use_cache=True)
            sync()
            for k in range(repeats):
                nxt = out.logits[:, -1:].argmax(-1)
                t0 = time.perf_counter()
                out = model(input_ids=nxt, past_key_values=out.past_key_values, use_cache=True)
                sync()
                rows.append(
                    {
                        "kind": "decode",
                        "batch": b,
                        "context": length + 2 + k,
                        "tokens": b,
                        "seconds": time.perf_counter() - t0,
                    }
                )
            del out, past
            if device.startswith("cuda"):
                torch.cuda.empty_cache()

    def fit(kind: str | None) -> dict[str, Any]:
        sel = [r for r in rows if kind is None or r["kind"] == kind]
        return fit_step_times([r["tokens"] for r in sel], [r["seconds"] for r in sel])

    decode = [r for r in rows if r["kind"] == "decode"]
    by_batch: dict[int, list[float]] = {}
    for r in decode:
        by_batch.setdefault(r["batch"], []).append(r["seconds"])
    med = {b: float(np.median(v)) for b, v in sorted(by_batch.items())}
    smallest = med[min(med)] if med else None
    return {
        "rows": rows,
        "fit_decode": fit("decode"),
        "fit_prefill": fit("prefill"),
        "fit_all": fit(None),
        "decode_median_seconds_by_batch": {str(b): s for b, s in med.items()},
        "decode_time_relative_to_batch_1": (
            {str(b): s / smallest for b, s in med.items()} if smallest else {}
        ),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "ratio/data/models/llama-3.1-8b/config.json"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--max-tokens", type=int, default=65536, help="largest batch in tokens")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small grid (CPU smoke test)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "format": "kvratio-step-timing/1",
        "config": args.config,
        "device": args.device,
        "dtype": args.dtype,
        "engine": "transformers (not vLLM)",
        "python": platform.python_version(),
    }
    try:
        import torch
        import transformers

        result["torch"] = torch.__version__
        result["transformers"] = transformers.__version__
        if args.device.startswith("cuda"):
            result["gpu"] = torch.cuda.get_device_name(0)
        t0 = time.perf_counter()
        result.update(
            measure(
                Path(args.config),
                device=args.device,
                dtype=args.dtype,
                max_tokens=args.max_tokens,
                repeats=args.repeats,
                quick=args.quick,
                seed=args.seed,
            )
        )
        result["seconds_total"] = time.perf_counter() - t0
        result["status"] = "ok"
        code = 0
    except Exception as e:  # noqa: BLE001 - the JSON must say why, never a silent pass
        result["status"] = "error"
        result["error"] = f"{type(e).__name__}: {e}"
        code = 1
    (out_dir / "step_timing.json").write_text(json.dumps(result, indent=1))
    summary = {k: result.get(k) for k in ("status", "gpu", "fit_decode", "fit_prefill", "error")}
    print(json.dumps(summary, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
