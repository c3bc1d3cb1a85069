"""``kvratio replay``: replay a trace through vLLM and compare with the model (interfaces.md).

Imports only argparse/stdlib at load time; vLLM is imported inside the handler.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from ratio.errors import InputError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from ratio.cli import add_json_flag

    p = subparsers.add_parser(
        "replay",
        help="replay a trace through real vLLM and compare with the model",
        description=(
            "Replay TRACE through vLLM 0.32 (its scheduler alone with a fake model output, or "
            "the full engine on CPU/CUDA with dummy weights), record blocks per request per "
            "step, and compare with the model: ratio.simulate, or the vllm_v1 policy for "
            "priority scheduling with --eviction resume (docs/model.md sections 2, 7, 9)."
        ),
    )
    p.add_argument("trace", help="kvratio-trace/1 JSON file")
    p.add_argument(
        "--policy", default="vllm_priority", help="policy under test (default %(default)s)"
    )
    p.add_argument(
        "--engine",
        choices=("scheduler", "full", "paged"),
        default="scheduler",
        help=(
            "vLLM's scheduler alone, the full vLLM engine, or transformers' continuous batching "
            "(a paged-KV engine with its own FIFO scheduler: --policy does not apply, and the "
            "check is of memory accounting; hardware_check/paged_replay.py)"
        ),
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument(
        "--block-size",
        type=int,
        default=None,
        help=(
            "KV block size B (default: 1 for --engine scheduler, 4 for paged, and for full "
            "32 on CPU, 16 on CUDA)"
        ),
    )
    p.add_argument(
        "--eviction",
        choices=("resume", "restart"),
        default="resume",
        help=(
            "the model's eviction mode (docs/model.md section 7): resume keeps a preempted "
            "request's tokens, as vLLM 0.32 does (default %(default)s)"
        ),
    )
    p.add_argument("--model", default=None, help="model folder with a config.json (full engine)")
    p.add_argument("--plot", default=None, help="write a PNG of memory per step")
    p.add_argument("--records", default=None, help="write per-step records as JSON")
    add_json_flag(p)
    p.set_defaults(func=_cmd_replay)


def _cmd_replay(args: argparse.Namespace) -> int:
    # long: a CLI command: read the options, run one library call, print the text and the JSON
    from ratio.cli import emit, table
    from ratio.io import load

    if args.engine == "paged":
        return _cmd_replay_paged(args)
    if importlib.util.find_spec("vllm") is None:
        raise InputError(
            "vLLM is not installed: run `bash hardware_check/install_cpu.sh` (kvratio[vllm])"
        )
    B = args.block_size
    if B is None:
        B = 1 if args.engine == "scheduler" else (32 if args.device == "cpu" else 16)
    if args.engine == "full" and args.device == "cpu" and B % 32:
        raise InputError(f"vLLM's CPU backend needs a block size that is a multiple of 32, got {B}")
    if args.engine == "scheduler" and args.device != "cpu":
        raise InputError("--device applies to --engine full only")
    model = Path(args.model) if args.model else None
    if model is not None and not (model / "config.json").is_file():
        raise InputError(f"--model {model}: no config.json there")

    from hardware_check.compare import compare, plot_comparison
    from hardware_check.mapping import plan_replay

    inst = load(args.trace)
    plan = plan_replay(inst, args.policy, block_size=B)
    if args.engine == "scheduler":
        from hardware_check.scheduler_replay import replay_scheduler

        run = replay_scheduler(plan)
    else:
        from hardware_check.engine_replay import replay_engine
        from hardware_check.scheduler_replay import TINY_MODEL

        run = replay_engine(plan, model=model or TINY_MODEL, device=args.device)
    cmp = compare(plan, run, eviction=args.eviction)
    obj = cmp.to_dict()
    obj["trace"] = args.trace
    if args.plot:
        plot_comparison(cmp, args.plot)
        obj["plot"] = args.plot
    if args.records:
        Path(args.records).write_text(
            json.dumps(
                {"format": "kvratio-replay-steps/1", "steps": [s.to_dict() for s in run.steps]}
            )
        )
        obj["records"] = args.records
    rows = [(name, "" if m is None else m, e) for name, m, e in cmp.figures]
    text = (
        f"replay of {args.trace}: policy {plan.policy}, vLLM {run.vllm_version} "
        f"{run.engine} ({run.device}), B = {B}, {plan.usable_blocks} usable blocks, "
        f"eviction={args.eviction}, "
        f"{len(run.steps)} steps, {run.seconds:.1f} s\n"
    )
    text += table(rows, ("figure", "model", "engine")) + "\n"
    fm = cmp.first_mismatch
    if fm is not None:
        text += f"first mismatch: {json.dumps(fm.to_dict(), default=str)}\n"
    if args.plot:
        text += f"plot written to {args.plot}\n"
    text += cmp.verdict_line()
    print(f"replay: {len(run.steps)} steps in {run.seconds:.1f} s", file=sys.stderr)
    emit(args, obj, text)
    return 0


def _cmd_replay_paged(args: argparse.Namespace) -> int:
    """``kvratio replay --engine paged``: transformers' continuous batching, accounting check."""
    from ratio.cli import emit, table
    from ratio.io import load

    if importlib.util.find_spec("transformers") is None:
        raise InputError(
            "transformers is not installed: run `bash hardware_check/install_cpu.sh` "
            "(kvratio[vllm])"
        )
    if args.eviction != "resume":
        raise InputError(
            "--engine paged: transformers' engine resumes an evicted request (its soft reset "
            "keeps the generated tokens), so only --eviction resume applies"
        )
    model = Path(args.model) if args.model else None
    if model is not None and not (model / "config.json").is_file():
        raise InputError(f"--model {model}: no config.json there")
    from hardware_check.paged_replay import TINY_MODEL, plot_paged, replay_paged

    inst = load(args.trace)
    run = replay_paged(
        inst,
        block_size=args.block_size or 4,
        model=model or TINY_MODEL,
        device=args.device,
        dtype="float32" if args.device == "cpu" else "bfloat16",
        source=args.trace,
    )
    obj = run.to_dict()
    if args.plot:
        plot_paged(run, args.plot)
        obj["plot"] = args.plot
    if args.records:
        Path(args.records).write_text(json.dumps(run.to_dict(steps=True)))
        obj["records"] = args.records
    rows = [
        ("evictions", obj["evictions"], obj["twin_evictions"]),
        ("paused request-steps", obj["paused_request_steps"], obj["twin_paused_request_steps"]),
        ("steps (busy)", f"{obj['steps']} ({obj['busy_steps']})", ""),
        ("peak blocks", obj["peak_blocks"], ""),
        ("makespan", obj["makespan"], ""),
        ("total latency", obj["total_latency"], ""),
    ]
    text = (
        f"replay of {args.trace}: {run.engine} ({run.device}, attention {run.attention}), "
        f"B = {run.block_size}, {run.blocks} blocks, {len(run.steps)} steps, "
        f"{run.seconds:.1f} s\n"
    )
    text += table(rows, ("figure", "engine", f"model ({obj['twin']})")) + "\n"
    if args.plot:
        text += f"plot written to {args.plot}\n"
    text += run.verdict_line()
    print(f"replay: {len(run.steps)} steps in {run.seconds:.1f} s", file=sys.stderr)
    emit(args, obj, text)
    return 0
