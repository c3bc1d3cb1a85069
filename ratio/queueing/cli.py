"""``kvratio stability`` (``docs/queueing.md`` Q6; JSON fields in ``interfaces.md``).

Imports only argparse at load time; the engine, NumPy, matplotlib and Ray load in the handler.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _floats(text: str) -> list[float]:
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if not out:
        raise argparse.ArgumentTypeError("expected at least one number")
    return out


def _cmd_stability(args: argparse.Namespace) -> int:
    # long: a CLI command: read the options, run one library call, print the text and the JSON
    from ratio.cli import emit
    from ratio.errors import InputError
    from ratio.queueing.stability import Workload, plot_report, run_stability

    if args.mix:
        from ratio.io import load

        inst = load(args.mix)
        counts: dict[tuple[int, int], int] = {}
        for r in inst.requests:
            counts[(r.prompt, r.output)] = counts.get((r.prompt, r.output), 0) + 1
        wl = Workload(types=tuple((s, o, float(c)) for (s, o), c in sorted(counts.items())))
    else:
        if args.prompt is None or args.output is None:
            raise InputError("give --prompt S --output O, or --mix FILE")
        if args.prompt < 1 or args.output < 1:
            raise InputError("--prompt and --output must be >= 1")
        wl = Workload(types=((args.prompt, args.output, 1.0),))
    if (args.rates is None) == (args.loads is None):
        raise InputError("give exactly one of --rates and --loads")
    if args.workers < 1:
        raise InputError("--workers must be >= 1")
    rep = run_stability(
        args.policy,
        wl,
        rates=args.rates,
        loads=args.loads,
        tau=args.tau,
        token_budget=args.token_budget,
        max_requests=args.max_requests,
        capacity=args.capacity,
        horizon=args.horizon,
        seed=args.seed,
        arrivals=args.arrivals,
        prefill=args.prefill,
        first_token=args.first_token,
        engines=args.engines,
        bound=args.backlog_bound,
        workers=args.workers,
        use_ray=args.ray,
    )
    obj: dict[str, Any] = rep.to_dict()
    k = _seconds_per_unit(args)
    if k is not None:
        _add_seconds(obj, rep, k)
    if args.plot:
        obj["plot"] = plot_report(rep, args.plot, seconds_per_unit=k)
    lines = [
        f"policy {rep.policy}, tau {rep.tau}, horizon {rep.horizon:g}, seed {rep.seed}",
        f"boundary {rep.boundary:.6g} per time unit ({rep.boundary_formula})",
        f"backlog bound {rep.backlog_bound:.6g} tokens",
        f"{'rate':>10} {'load':>6} {'slope':>10} {'+-SE':>9}  {'verdict':<12} "
        f"{'throughput':>10} {'evictions':>9}",
    ]
    for rr in rep.results:
        lines.append(
            f"{rr.rate:>10.5g} {rr.load:>6.3f} {rr.slope:>10.4g} {rr.slope_se:>9.3g}  "
            f"{rr.verdict:<12} "
            f"{rr.throughput:>10.4g} {rr.evictions:>9d}"
        )
    if k is not None:
        lines.append(
            f"in seconds ({obj['seconds_per_unit']:g} s per time unit): "
            f"{'rate/s':>10} {'req/s done':>10} {'mean lat s':>10} {'p50 s':>8} {'p99 s':>8}"
        )
        for d in obj["results"]:
            lines.append(
                f"{'':>38}{d['rate_rps']:>10.4g} {d['throughput_rps']:>10.4g} "
                f"{d['mean_latency_s']:>10.4g} {d['p50_latency_s']:>8.4g} "
                f"{d['p99_latency_s']:>8.4g}"
            )
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    emit(args, obj, "\n".join(lines))
    return 0


def _seconds_per_unit(args: argparse.Namespace) -> float | None:
    """Seconds per time unit: ``--round-ms`` with ``--tau unit`` (a round), else 1/1000 for a
    batch-time model (its unit is the millisecond, ``queueing.md`` Q2); ``None`` without a
    time base."""
    from ratio.errors import InputError
    from ratio.queueing.tau import parse_tau

    unit = parse_tau(args.tau).spec == "unit"
    if args.round_ms is not None:
        if not unit:
            raise InputError("--round-ms is for --tau unit; a batch-time model is in ms already")
        return float(args.round_ms) / 1000.0
    return None if unit else 1e-3


def _add_seconds(obj: dict[str, Any], rep: Any, k: float) -> None:
    """``mean_latency_s``, ``p50_latency_s``, ``p99_latency_s``, ``makespan_s`` (the horizon)
    and ``throughput_rps`` (requests completed per second) beside each rate (issue 19)."""
    obj["seconds_per_unit"] = k
    obj["boundary_rps"] = rep.boundary / k
    span = float(rep.horizon) * k
    for d in obj["results"]:
        d["rate_rps"] = d["rate"] / k
        d["mean_latency_s"] = d["mean_latency"] * k
        d["p50_latency_s"] = d["p50_latency"] * k
        d["p99_latency_s"] = d["p99_latency"] * k
        d["makespan_s"] = span
        d["throughput_rps"] = d["completed"] / span


def register(subparsers: Any) -> None:
    """Add ``stability`` to the ``kvratio`` command line."""
    from ratio.cli import add_json_flag

    p = subparsers.add_parser(
        "stability",
        help="sweep arrival rates and report backlog slope +- SE and a verdict per rate (Q6)",
    )
    p.add_argument("--policy", required=True, help="NAME[:key=value,...]: extended or base policy")
    p.add_argument("--prompt", type=int, help="prompt tokens of every request")
    p.add_argument("--output", type=int, help="output tokens of every request")
    p.add_argument("--mix", metavar="FILE", help="trace whose (prompt, output) pairs are sampled")
    p.add_argument("--rates", type=_floats, help="arrival rates per time unit, R1,R2,...")
    p.add_argument("--loads", type=_floats, help="rates as fractions of the boundary, L1,L2,...")
    p.add_argument(
        "--tau", default="unit", help="batch-time model, e.g. staircase:c=11.28,a=35.47,b0=128"
    )
    p.add_argument("--token-budget", type=int, help="tokens per round (b_max)")
    p.add_argument("--max-requests", type=int, help="requests per round")
    p.add_argument("--capacity", type=int, help="KV capacity M in tokens (default unbounded)")
    p.add_argument("--horizon", type=float, required=True, help="simulated time, in tau's unit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arrivals", choices=("poisson", "deterministic"), default="poisson")
    p.add_argument("--prefill", choices=("whole", "chunked"), help="default: the policy's")
    p.add_argument(
        "--first-token", choices=("with_prefill", "separate"), help="default: the policy's"
    )
    p.add_argument("--engines", type=int, default=1, help="identical engines (Q3)")
    p.add_argument(
        "--backlog-bound", type=float, help="tokens; default 10%% of the work at the boundary"
    )
    p.add_argument("--workers", type=int, default=1, help="parallel processes over rates")
    p.add_argument("--ray", action="store_true", help="run the rates as Ray tasks")
    p.add_argument("--plot", metavar="PNG", help="backlog over time and slope against load")
    p.add_argument(
        "--round-ms",
        type=float,
        metavar="MS",
        help="ms per round with --tau unit: adds seconds beside the time units (a batch-time "
        "model's unit is the ms, so seconds are added without it)",
    )
    add_json_flag(p)
    p.set_defaults(func=_cmd_stability)
