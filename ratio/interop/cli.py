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
    inst, cut = _import_slice(args, res.instance)
    refused = bool(args.strict and res.dropped)
    # --strict: exit 3 and write nothing, so a pipeline cannot pick up a partial trace
    path = None if refused else dump(inst, args.out)
    obj = res.report(args.out if path is None else path)
    obj["n"] = inst.n
    obj["M"] = inst.capacity
    obj["alpha"] = str(inst.alpha)
    obj["written"] = path is not None
    if cut:
        obj["slice"] = cut
    lines = [
        (
            f"wrote {inst.n} requests to {path}"
            if path is not None
            else f"nothing written to {args.out} (--strict and {len(res.dropped)} line(s) dropped)"
        )
        + f" (M = {inst.capacity}, alpha = {inst.alpha} = {float(inst.alpha):.4f})",
        f"{res.merged} request(s) share a round with an earlier one",
    ]
    if cut:
        lines.append(_slice_line(cut))
    if res.filtered:
        lines.append(f"{res.filtered} row(s) of other models filtered out (--model {args.model})")
    lines.append(f"{len(res.dropped)} unusable line(s) dropped" + (":" if res.dropped else ""))
    shown = res.dropped[:20]
    lines += [f"  line {d.line}: {d.reason}" for d in shown]
    if len(res.dropped) > len(shown):
        lines.append(f"  ... and {len(res.dropped) - len(shown)} more (see --json)")
    _cli().emit(args, obj, "\n".join(lines))
    return 3 if refused else 0


def _import_slice(args: argparse.Namespace, inst: Any) -> tuple[Any, dict[str, Any]]:
    from ratio.traceops import apply_slice, slice_from_args

    res = apply_slice(inst, slice_from_args(args))
    return res.instance, res.report


def _slice_line(cut: dict[str, Any]) -> str:
    parts = []
    if "window" in cut:
        lo, hi = cut["window"]
        parts.append(f"window [{lo:g}, {hi:g}) {cut['window_unit']}")
    if "head" in cut:
        parts.append(f"head {cut['head']}")
    if "sample" in cut:
        parts.append(f"sample {cut['sample']} (seed {cut['seed']})")
    return f"sliced {cut['n_before']} -> {cut['n']} requests: " + ", then ".join(parts)


def _cmd_export(args: argparse.Namespace) -> int:
    # long: one command: load, optional rescaling with its re-certification, the write and its
    # report
    from ratio.atomic import check_output_path
    from ratio.errors import InputError
    from ratio.interop.exporters import (
        MOONCAKE_BLOCK,
        default_round_ms,
        exact_times_ms,
        export_mooncake,
    )
    from ratio.io import load

    check_output_path(args.out, "-o/--out")
    if args.scaled_trace is not None:
        check_output_path(args.scaled_trace, "--scaled-trace")
        if args.scale_to_capacity is None:
            raise InputError("--scaled-trace needs --scale-to-capacity M")
    inst = load(args.trace)
    rms = args.round_ms if args.round_ms is not None else default_round_ms(inst)
    if rms is None:
        raise InputError(
            f"{args.trace}: no round duration in the trace's meta; give --round-ms (e.g. the "
            "decode step time of your server in ms)"
        )
    scaled: dict[str, Any] | None = None
    if args.scale_to_capacity is not None:
        inst, scaled = _scale_and_certify(args, inst)
    # Exact times when the trace keeps them and the rounds were not re-timed (--round-ms
    # other than the trace's own, or scaling); else the round grid.
    exact = (args.round_ms is None or args.round_ms == default_round_ms(inst)) and exact_times_ms(
        inst
    ) is not None
    keep = bool(args.keep_hash_ids)
    if keep and not isinstance(inst.meta.get("hash_ids"), list):
        raise InputError(f"{args.trace}: --keep-hash-ids, but the trace has no hash_ids")
    chunk = MOONCAKE_BLOCK if keep else args.hash_block
    path = export_mooncake(
        inst,
        args.out,
        round_ms=rms,
        hash_block=args.hash_block,
        keep_hash_ids=keep,
        exact_times=exact,
    )
    obj: dict[str, Any] = {
        "path": str(path),
        "n": inst.n,
        "format": args.format,
        "round_ms": rms,
        "hash_block": args.hash_block,
        "timestamps": "exact" if exact else "rounds",
        "chunk_hash_size": chunk,
    }
    text = (
        f"wrote {inst.n} requests to {path} ({args.format} JSONL, "
        + ("exact arrival times" if exact else f"round starts at {rms:g} ms per round")
        + ")"
    )
    if chunk:
        text += f"\nreplay with --timed-trace-chunk-hash-size {chunk}"
    if scaled is not None:
        obj["scaled"] = scaled
        text = _scaled_text(scaled) + "\n" + text
    _cli().emit(args, obj, text)
    return 0


def _scale_and_certify(args: argparse.Namespace, inst: Any) -> tuple[Any, dict[str, Any]]:
    """``export --scale-to-capacity``: scale (``ratio.traceops.scale_to_capacity``), simulate
    the policy on the scaled trace, check its schedule, bracket OPT and report ratio and alpha
    at both scales (the ratio is not scale-invariant)."""
    import sys

    from offline_opt.bracket import TerminalProgress, bracket
    from ratio.check import check
    from ratio.errors import InputError
    from ratio.io import dump
    from ratio.quiet import quiet_stdout
    from ratio.simulator import simulate
    from ratio.traceops import scale_to_capacity
    from ratio.validate import guard_work

    big = scale_to_capacity(inst, int(args.scale_to_capacity))
    guard_work(big, "the scaled trace")
    out: dict[str, Any] = {
        "M_from": inst.capacity,
        "M": big.capacity,
        "alpha_from": str(inst.alpha),
        "alpha": str(big.alpha),
        "policy": args.policy,
        "rule": big.meta["scaled_from"]["rule"],
    }
    prog = TerminalProgress(sys.stderr)
    if getattr(args, "json", False):
        prog.enabled = False
    try:
        for tag, tr in (("from", inst), ("scaled", big)):
            prog(f"{tag}: simulating {args.policy}")
            run = simulate(tr, args.policy)
            verdict = check(tr, run.schedule)
            if not verdict:
                raise AssertionError(f"{run.policy}: schedule failed the checker: {verdict.reason}")
            entry: dict[str, Any] = {"policy_cost": run.total_latency}
            try:
                offered = {run.policy: run} if not run.schedule.evicted else None
                with quiet_stdout():
                    br = bracket(tr, time_limit=args.time_limit, policy_runs=offered, progress=prog)
            except InputError as e:
                entry.update({"opt_lower": None, "opt_upper": None, "bracket_skipped": str(e)})
            else:
                lo, hi = br.ratio(run.total_latency)
                entry.update(
                    {
                        "opt_lower": br.lower,
                        "opt_upper": br.upper,
                        "ratio_lower": str(lo),
                        "ratio_upper": str(hi),
                        "exact": br.optimal,
                    }
                )
            out[tag if tag == "scaled" else "original"] = entry
    finally:
        prog.close()
    if args.scaled_trace is not None:
        out["scaled_trace"] = str(dump(big, args.scaled_trace))
    return big, out


def _scaled_text(sc: dict[str, Any]) -> str:
    from fractions import Fraction

    def ratio(e: dict[str, Any]) -> str:
        if e.get("ratio_lower") is None:
            return f"not bracketed ({e.get('bracket_skipped')})"
        lo, hi = Fraction(e["ratio_lower"]), Fraction(e["ratio_upper"])
        return (
            f"{e['ratio_lower']} = {float(lo):.4f} (exact)"
            if e["exact"]
            else f"[{float(lo):.4f}, {float(hi):.4f}]"
        )

    lines = [
        f"scaled M = {sc['M_from']} -> {sc['M']} ({sc['rule']})",
        f"  alpha {sc['alpha_from']} = {float(Fraction(sc['alpha_from'])):.4f} -> "
        f"{sc['alpha']} = {float(Fraction(sc['alpha'])):.4f}",
        f"  {sc['policy']} / OPT: {ratio(sc['original'])} -> {ratio(sc['scaled'])} "
        "(schedules verified by ratio.check)",
    ]
    if "scaled_trace" in sc:
        lines.append(f"  scaled trace written to {sc['scaled_trace']}")
    return "\n".join(lines)


def _cmd_capacity(args: argparse.Namespace) -> int:
    from ratio.interop.capacity import compute_capacity, load_config, parse_size, shipped_config

    cfg = args.model_config
    if cfg.startswith("shipped:"):
        cfg = str(shipped_config(cfg.removeprefix("shipped:")))
    shape = load_config(cfg)
    res = compute_capacity(
        shape,
        gpu_memory=parse_size(args.gpu_memory, require_unit=True, what="--gpu-memory"),
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
    p.add_argument(
        "--strict", action="store_true", help="exit 3, writing nothing, if any line was dropped"
    )
    p.add_argument("-o", "--out", required=True)
    from ratio.traceops import add_slice_args

    add_slice_args(p, round_ms=False)
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
        help="tokens per fresh hash id written for `vllm bench serve --dataset-name "
        "timed_trace` (replay with --timed-trace-chunk-hash-size the same)",
    )
    p.add_argument(
        "--keep-hash-ids",
        action="store_true",
        help="write the trace's own hash ids instead (imported Mooncake: 512 tokens per id, "
        "replay with --timed-trace-chunk-hash-size 512)",
    )
    p.add_argument(
        "--scale-to-capacity",
        type=int,
        metavar="M2",
        help="map the trace to capacity M2 (lengths and arrivals x M2/M, rounded down), "
        "re-simulate, re-certify and report the ratio and alpha at both scales",
    )
    p.add_argument("--policy", default="svf", help="policy certified with --scale-to-capacity")
    p.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds for each bracket on OPT with --scale-to-capacity (default 10)",
    )
    p.add_argument("--scaled-trace", metavar="JSON", help="also write the scaled kvratio trace")
    p.add_argument("-o", "--out", required=True)
    add_json_flag(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("capacity", help="KV-cache capacity M from a model config and a GPU")
    p.add_argument(
        "--model-config",
        required=True,
        help="config.json, or shipped:llama-2-7b|llama-3.1-8b|llama-3.1-70b",
    )
    p.add_argument(
        "--gpu-memory",
        required=True,
        help="with a unit: 80GiB, 80GB, 8x80GiB (a bare number is refused)",
    )
    p.add_argument("--utilization", default="0.9", help="vLLM --gpu-memory-utilization")
    p.add_argument("--dtype", default="auto", help="weights dtype (auto: the config's)")
    p.add_argument("--kv-cache-dtype", default="auto", help="KV cache dtype (auto: --dtype)")
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--weights-bytes", help="weights size instead of params x dtype (e.g. 15GiB)")
    p.add_argument("--overhead-bytes", help="activations, CUDA graphs etc. to set aside")
    add_json_flag(p)
    p.set_defaults(func=_cmd_capacity)

    _extend_gen(sub)
    _register_compare(sub)
    _register_trace(sub)


# --- kvratio compare and kvratio trace stats (issue 19, items 2 and 3) -----------------------
def _cmd_compare(args: argparse.Namespace) -> int:
    import sys

    from offline_opt.bracket import TerminalProgress
    from ratio.compare import compare, parse_policies, plot_compare, table_text
    from ratio.io import load
    from ratio.traceops import slice_from_args, sliced, time_base_ms
    from ratio.validate import MAX_PLOT_ROUNDS, guard_work

    policies = parse_policies(args.policies)
    inst = sliced(args, load(args.trace))
    guard_work(inst, str(args.trace))
    prog = TerminalProgress(sys.stderr)
    if args.json:
        prog.enabled = False
    try:
        res = compare(
            inst,
            policies,
            time_limit=args.time_limit,
            round_ms=time_base_ms(inst, args.round_ms),
            certify=not args.no_bracket,
            progress=prog,
            eviction=args.eviction,
        )
    finally:
        prog.close()
    obj = res.to_dict()
    if not slice_from_args(args).empty:
        obj["slice"] = dict(inst.meta["slice"])
    text = table_text(res, args.trace)
    if args.plot:
        from ratio.errors import InputError

        if max(r.costs.makespan for r in res.runs) > MAX_PLOT_ROUNDS:
            raise InputError(f"--plot draws one point per round; above {MAX_PLOT_ROUNDS} rounds")
        obj["plot"] = str(plot_compare(res, args.plot))
        text += f"\nplot written to {args.plot}"
    _cli().emit(args, obj, text)
    return 0


def _register_compare(sub: argparse._SubParsersAction) -> None:
    from ratio.traceops import add_slice_args

    p = sub.add_parser(
        "compare",
        help="several policies on one trace against one certified bracket on OPT",
        description="Simulates every policy (each schedule verified by ratio.check), brackets "
        "OPT once and reports each policy's certified ratio interval; seconds beside rounds "
        "with a time base (--round-ms or the trace's own).",
    )
    p.add_argument("trace", help="kvratio-trace/1 JSON file")
    p.add_argument(
        "--policies",
        default="svf,fcfs,sjf,vllm_fcfs",
        help="comma-separated NAME[:key=value,...] (default svf,fcfs,sjf,vllm_fcfs)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds for the one bracket on OPT (default 10)",
    )
    p.add_argument("--no-bracket", action="store_true", help="skip the bracket on OPT")
    p.add_argument(
        "--eviction",
        choices=("restart", "resume"),
        default="restart",
        help="what an evicted request keeps (docs/model.md section 7); resume also brackets "
        "the optimum over resume schedules",
    )
    p.add_argument("--plot", metavar="PNG", help="latency CDF and memory over time")
    add_slice_args(p)
    _cli().add_json_flag(p)
    p.set_defaults(func=_cmd_compare)


def _cmd_trace_stats(args: argparse.Namespace) -> int:
    from ratio.io import load
    from ratio.traceops import slice_from_args, sliced, stats_text, trace_stats

    inst = sliced(args, load(args.trace))
    st = trace_stats(inst, capacity=args.capacity, round_ms=args.round_ms)
    if not slice_from_args(args).empty:
        st["slice"] = dict(inst.meta["slice"])
    _cli().emit(args, st, stats_text(st))
    return 0


def _register_trace(sub: argparse._SubParsersAction) -> None:
    from ratio.traceops import add_slice_args

    p = sub.add_parser("trace", help="trace statistics (kvratio trace stats TRACE)")
    tsub = p.add_subparsers(dest="trace_command", metavar="SUBCOMMAND", parser_class=type(p))
    tsub.required = True
    q = tsub.add_parser(
        "stats",
        help="n, length quantiles, alpha at a capacity, offered load against the memory "
        "boundary (docs/queueing.md Q6)",
    )
    q.add_argument("trace", help="kvratio-trace/1 JSON file")
    q.add_argument("--capacity", type=int, help="M in tokens (default: the trace's)")
    add_slice_args(q)
    _cli().add_json_flag(q)
    q.set_defaults(func=_cmd_trace_stats)
