"""``kvratio import``, ``export`` and ``capacity``, and ``--capacity-from`` for ``gen``
(issue 10; JSON fields in ``interfaces.md``). Loads only :mod:`argparse` at import time."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _cli() -> Any:
    import ratio.cli as c

    return c


def _capacity(args: argparse.Namespace) -> int:
    from ratio.errors import InputError
    from ratio.interop.capacity import capacity_from

    if args.capacity_from is not None:
        if args.capacity is not None:
            raise InputError("give --capacity or --capacity-from, not both")
        return capacity_from(args.capacity_from)
    if args.capacity is None:
        raise InputError("give --capacity M (tokens) or --capacity-from RESULT.json")
    return int(args.capacity)


def _cmd_import(args: argparse.Namespace) -> int:
    from ratio.atomic import check_output_path
    from ratio.interop.importers import import_trace
    from ratio.io import dump

    check_output_path(args.out, "-o/--out")
    if (
        args.round_ms is None
        and args.tau is None
        and not (args.format in ("csv", "jsonl") and args.time_unit == "round")
    ):
        args.round_ms = 50.0
    res = import_trace(
        args.file,
        args.format,
        capacity=_capacity(args),
        round_ms=args.round_ms,
        tau=args.tau,
        tau_policy=args.tau_policy,
        origin=args.origin,
        model=args.model,
        columns=args.columns,
        time_unit=args.time_unit,
    )
    path = dump(res.instance, args.out)
    obj = res.report(path)
    lines = [
        f"wrote {res.instance.n} requests to {path} (M = {res.instance.capacity}, "
        f"alpha = {res.instance.alpha} = {float(res.instance.alpha):.4f})",
        f"{res.merged} request(s) share a round with an earlier one",
    ]
    if res.filtered:
        lines.append(f"{res.filtered} row(s) of other models filtered out (--model {args.model})")
    lines.append(f"{len(res.dropped)} unusable line(s) dropped" + (":" if res.dropped else ""))
    shown = res.dropped[:20]
    lines += [f"  line {d.line}: {d.reason}" for d in shown]
    if len(res.dropped) > len(shown):
        lines.append(f"  ... and {len(res.dropped) - len(shown)} more (see --json)")
    _cli().emit(args, obj, "\n".join(lines))
    return 3 if (args.strict and res.dropped) else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ratio.atomic import check_output_path
    from ratio.errors import InputError
    from ratio.interop.exporters import default_round_ms, export_mooncake
    from ratio.io import load

    check_output_path(args.out, "-o/--out")
    inst = load(args.trace)
    rms = args.round_ms if args.round_ms is not None else default_round_ms(inst)
    if rms is None:
        raise InputError(
            f"{args.trace}: no round duration in the trace's meta; give --round-ms (e.g. the "
            "decode step time of your server in ms)"
        )
    path = export_mooncake(inst, args.out, round_ms=rms, hash_block=args.hash_block)
    _cli().emit(
        args,
        {
            "path": str(path),
            "n": inst.n,
            "format": args.format,
            "round_ms": rms,
            "hash_block": args.hash_block,
        },
        f"wrote {inst.n} requests to {path} ({args.format} JSONL, {rms:g} ms per round)",
    )
    return 0


def _cmd_capacity(args: argparse.Namespace) -> int:
    from ratio.interop.capacity import compute_capacity, load_config, parse_size, shipped_config

    cfg = args.model_config
    if cfg.startswith("shipped:"):
        cfg = str(shipped_config(cfg.removeprefix("shipped:")))
    shape = load_config(cfg)
    res = compute_capacity(
        shape,
        gpu_memory=parse_size(args.gpu_memory),
        utilization=args.utilization,
        dtype=args.dtype,
        kv_cache_dtype=args.kv_cache_dtype,
        block_size=args.block_size,
        weights_bytes=parse_size(args.weights_bytes) if args.weights_bytes else None,
        overhead_bytes=parse_size(args.overhead_bytes) if args.overhead_bytes else 0,
    )
    obj = res.to_dict()
    obj["model_config"] = cfg
    gib = 2**30
    text = "\n".join(
        [
            f"model {res.model}: {res.params:,} parameters, weights {res.dtype} = "
            f"{res.weights_bytes:,} B ({res.weights_bytes / gib:.2f} GiB)",
            f"KV cache {res.kv_cache_dtype}: {res.kv_bytes_per_token:,} B per token",
            f"GPU {res.gpu_memory_bytes:,} B x {res.utilization:g} - weights - overhead "
            f"{res.overhead_bytes:,} B = {res.kv_pool_bytes:,} B for the cache",
            f"{res.num_blocks:,} blocks of {res.block_size} tokens, one reserved (null block): "
            f"M = {res.capacity_blocks:,} blocks = {res.capacity_tokens:,} tokens",
        ]
    )
    _cli().emit(args, obj, text)
    return 0


def _extend_gen(sub: argparse._SubParsersAction) -> None:
    """Add ``--capacity-from`` to the foundation's ``gen`` (its ``--M`` stays the default)."""
    gen = sub.choices.get("gen")
    if gen is None:
        return
    gen.add_argument(
        "--capacity-from",
        metavar="RESULT.json",
        help="take M from a saved `kvratio capacity --json` result (instead of --M)",
    )
    inner = gen.get_default("func")
    gen.set_defaults(M=None, func=lambda a: _gen_with_capacity(a, inner))


def _gen_with_capacity(args: argparse.Namespace, inner: Any) -> int:
    from ratio.errors import InputError
    from ratio.interop.capacity import capacity_from

    if args.capacity_from is not None:
        if args.M is not None:
            raise InputError("give --M or --capacity-from, not both")
        args.M = capacity_from(args.capacity_from)
    elif args.M is None:
        args.M = 40
    return int(inner(args) or 0)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``import``, ``export``, ``capacity``; extend ``gen`` with ``--capacity-from``."""
    # long: one argparse table: every option of these commands in one place, in --help's order
    add_json_flag = _cli().add_json_flag

    p = sub.add_parser(
        "import",
        help="import a production trace (Azure, BurstGPT, Mooncake, generic CSV/JSONL)",
        description="Columns are found by name. Unusable lines are reported with their line "
        "numbers, never fixed. Times map to rounds by --round-ms (default 50) or --tau.",
    )
    p.add_argument("file")
    p.add_argument(
        "--format", required=True, choices=("azure", "burstgpt", "mooncake", "csv", "jsonl")
    )
    p.add_argument("--capacity", type=int, help="M in tokens")
    p.add_argument(
        "--capacity-from", metavar="RESULT.json", help="M from `kvratio capacity --json`"
    )
    clock = p.add_mutually_exclusive_group()
    clock.add_argument("--round-ms", type=float, help="milliseconds per round (default 50)")
    clock.add_argument(
        "--tau",
        metavar="MODEL",
        help="batch-time model in ms, e.g. staircase:c=11.28,a=35.47,b0=128",
    )
    p.add_argument(
        "--tau-policy",
        default="vllm_fcfs",
        help="reference policy whose batches set the --tau clock",
    )
    p.add_argument("--origin", choices=("first", "zero"), help="round 0 = first request or time 0")
    p.add_argument("--model", help="BurstGPT: keep only rows of this Model (e.g. ChatGPT)")
    p.add_argument("--columns", help="csv/jsonl: arrival=COL,prompt=COL,output=COL")
    p.add_argument(
        "--time-unit",
        default="s",
        choices=("s", "ms", "us", "ns", "round"),
        help="csv/jsonl: unit of the arrival column",
    )
    p.add_argument("--strict", action="store_true", help="exit 3 if any line was dropped")
    p.add_argument("-o", "--out", required=True)
    add_json_flag(p)
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="write a trace as timed-trace JSONL for load generators")
    p.add_argument("trace")
    p.add_argument("--format", default="mooncake", choices=("mooncake",))
    p.add_argument("--round-ms", type=float, help="ms per round (default: the trace's meta)")
    p.add_argument(
        "--hash-block",
        type=int,
        default=16,
        help="tokens per hash id written for `vllm bench serve --dataset-name timed_trace` "
        "(its --timed-trace-chunk-hash-size); 0: none (the trace's own are kept)",
    )
    p.add_argument("-o", "--out", required=True)
    add_json_flag(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("capacity", help="KV-cache capacity M from a model config and a GPU")
    p.add_argument(
        "--model-config",
        required=True,
        help="config.json, or shipped:llama-2-7b|llama-3.1-8b|llama-3.1-70b",
    )
    p.add_argument("--gpu-memory", required=True, help="e.g. 80GiB, 80GB, 8x80GiB")
    p.add_argument("--utilization", default="0.9", help="vLLM --gpu-memory-utilization")
    p.add_argument("--dtype", default="auto", help="weights dtype (auto: the config's)")
    p.add_argument("--kv-cache-dtype", default="auto", help="KV cache dtype (auto: --dtype)")
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--weights-bytes", help="weights size instead of params x dtype (e.g. 15GiB)")
    p.add_argument("--overhead-bytes", help="activations, CUDA graphs etc. to set aside")
    add_json_flag(p)
    p.set_defaults(func=_cmd_capacity)

    _extend_gen(sub)
