"""The ``kvratio`` command line (``interfaces.md``).

Subcommands are thin wrappers over library functions. Each package adds its own from its own
``cli.py`` through ``register(subparsers)``; those modules import only :mod:`argparse` at load
time so that ``kvratio simulate`` never loads PuLP, Ray or vLLM.

Every command takes ``--json`` and then prints exactly one JSON object on stdout; progress and
logs go to stderr. Exit 0 on success, 2 on bad input (one clear line on stderr), 1 on an
internal error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ratio.errors import InputError, StuckError

__all__ = ["main", "emit", "add_json_flag", "PLUGINS"]

#: Modules that may add subcommands; a missing module is skipped.
PLUGINS = (
    "ratio.interop.cli",
    "ratio.queueing.cli",
    "offline_opt.cli",
    "adversaries.cli",
    "hardware_check.cli",
    "proofs.cli",
)

Handler = Callable[[argparse.Namespace], int | None]


def add_json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def emit(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    """Print ``obj`` as JSON with ``--json``, else the human-readable ``text``."""
    if getattr(args, "json", False):
        print(json.dumps(obj, default=str))
    else:
        print(text)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- simulate ---------------------------------------------------------------------------------
def _cmd_simulate(args: argparse.Namespace) -> int:
    from ratio.check import check
    from ratio.io import load
    from ratio.simulator import simulate
    from ratio.traceops import sliced, wallclock
    from ratio.validate import MAX_PLOT_ROUNDS, guard_work

    if args.plot:
        from ratio.validate import check_plot_path

        check_plot_path(args.plot, "--plot")
    inst = sliced(args, load(args.trace))
    guard_work(inst, str(args.trace))
    info = None
    if args.info:
        from ratio.interop.noise import attach_info

        inst, info = attach_info(inst, args.info, args.policy)
    from ratio.policies import needs_extended_engine

    extended = needs_extended_engine(args.policy)  # unknown names fail here, with the list
    res: Any
    if extended:
        # Policies of queueing.md (token budgets, pausing, several engines) run on the
        # extended engine; its own accounting replaces the base checker, whose model has no
        # paused requests.
        from ratio.queueing import simulate_extended

        res = simulate_extended(
            inst,
            args.policy,
            convention=args.convention,
            block_size=args.block_size,
            eviction=args.eviction,
        )
        if not res.complete:
            raise InputError(f"{res.policy}: the run ended before every request completed")
        if args.plot:
            raise InputError("--plot is for base-model policies; use kvratio stability --plot")
    else:
        res = simulate(
            inst,
            args.policy,
            convention=args.convention,
            block_size=args.block_size,
            eviction=args.eviction,
        )
    verdict = (
        check(inst, res.schedule, convention=args.convention, block_size=args.block_size)
        if not extended
        else None
    )
    if verdict is not None and not verdict:
        print(
            f"internal error: simulated schedule is infeasible: {verdict.reason}", file=sys.stderr
        )
        return 1
    c = res.costs
    obj = {
        "policy": res.policy,
        "total_latency": res.total_latency,
        "starts": list(res.starts),
        "completions": list(res.completions),
        "evictions": res.evictions,
        "peak_memory": c.peak_memory,
        "makespan": c.makespan,
        "n": inst.n,
        "M": inst.capacity,
        "alpha": str(inst.alpha),
        "convention": args.convention,
        "eviction": args.eviction,
        "costs": c.to_dict(),
    }
    if info is not None:
        obj["info"] = info
    if args.plot:
        from ratio.plot import plot_run

        if c.makespan > MAX_PLOT_ROUNDS:
            raise InputError(
                f"--plot draws one point per round; this run has {c.makespan} rounds, above "
                f"the limit {MAX_PLOT_ROUNDS} (ratio.validate.MAX_PLOT_ROUNDS)"
            )
        from ratio.traceops import time_base_ms

        out = plot_run(res, args.plot, round_ms=time_base_ms(inst, args.round_ms))
        obj["plot"] = str(out)
    rows = [
        ("requests", inst.n),
        ("capacity M", inst.capacity),
        ("alpha = max P / M", f"{inst.alpha} ({float(inst.alpha):.3f})"),
        ("total latency", c.total_latency),
        ("mean latency", f"{c.mean_latency:.2f}"),
        (
            "p50 / p90 / p99 latency",
            f"{c.p50_latency:.1f} / {c.p90_latency:.1f} / {c.p99_latency:.1f}",
        ),
        ("mean time to first token", f"{c.mean_ttft:.2f}"),
        ("makespan", c.makespan),
        ("throughput (tokens/round)", f"{c.throughput:.2f}"),
        ("peak memory", f"{c.peak_memory} ({c.peak_memory / inst.capacity:.0%} of M)"),
        ("mean utilisation", f"{c.mean_utilisation:.1%}"),
        ("evictions", c.evictions),
        ("wasted tokens", c.wasted_tokens),
    ]
    rows += wallclock(args, inst, c, obj)
    how = "extended engine" if extended else "checker: feasible"
    text = f"policy {res.policy} on {args.trace} (rounds, tokens; {how})\n"
    text += table(rows, ("cost", "value"))
    if args.plot:
        text += f"\nplot written to {args.plot}"
    emit(args, obj, text)
    return 0


# --- trace slicing and wall-clock units (issue 19; ratio.traceops) ----------------------------
# --- policies ---------------------------------------------------------------------------------
def _cmd_policies(args: argparse.Namespace) -> int:
    from ratio.policies import REGISTRY

    rows = []
    objs = []
    for name, cls in sorted(REGISTRY.items(), key=lambda x: (x[1].engine, x[0])):
        engine = cls.engine
        # Class attributes only: some extended policies need parameters to be built.
        summary = cls.summary or (cls.__doc__ or "").strip().splitlines()[0]
        params = {k: v for k, v in cls.PARAMS.items()}
        rows.append(
            (
                name,
                engine,
                cls.info,
                cls.admission,
                ",".join(f"{k}={v}" for k, v in params.items()),
                summary[:70],
            )
        )
        objs.append(
            {
                "name": name,
                "engine": engine,
                "info": cls.info,
                "admission": cls.admission,
                "params": params,
                "summary": summary,
            }
        )
    header = ("name", "engine", "info", "admission", "params", "summary")
    emit(args, {"policies": objs}, table(rows, header))
    return 0


# --- gen --------------------------------------------------------------------------------------
def _range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("..")
    try:
        return (int(lo), int(hi)) if sep else (int(lo), int(lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO..HI, got {text!r}") from None


def _cmd_gen(args: argparse.Namespace) -> int:
    from ratio.atomic import check_output_path
    from ratio.gen import generate
    from ratio.io import dump

    check_output_path(args.out, "-o/--out")
    inst = generate(
        args.n,
        capacity=args.M,
        arrivals=args.arrivals,
        rate=args.rate,
        prompt_dist=args.prompt_dist,
        prompt_range=args.prompt,
        prompt_mean=args.prompt_mean,
        output_dist=args.output_dist,
        output_range=args.output,
        output_mean=args.output_mean,
        seed=args.seed,
    )
    path = dump(inst, args.out)
    emit(
        args,
        {"path": str(path), "n": inst.n, "M": inst.capacity, "alpha": str(inst.alpha)},
        f"wrote {inst.n} requests (M = {inst.capacity}, alpha = {inst.alpha}) to {path}",
    )
    return 0


class _Parser(argparse.ArgumentParser):
    """No prefix matching of options: ``gen --capacity 400`` must be refused as unknown, not
    read as ``--capacity-from 400`` (a file name)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        """One line on stderr and exit 2 (``interfaces.md``); the usage is in ``--help``."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    # long: one argparse table: every option of these commands in one place, in --help's order
    parser = _Parser(
        prog="kvratio",
        description="Competitive ratios of LLM-inference scheduling under KV-cache limits.",
    )
    from ratio import __version__

    parser.add_argument("--version", action="version", version=f"kvratio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("simulate", help="simulate a policy on a trace")
    p.add_argument("trace", help="kvratio-trace/1 JSON file")
    p.add_argument("--policy", default="svf", help="NAME[:key=value,...] (see `kvratio policies`)")
    p.add_argument("--convention", choices=("model", "engine"), default="model")
    p.add_argument("--block-size", type=int, default=1)
    p.add_argument(
        "--eviction",
        choices=("restart", "resume"),
        default="restart",
        help="what an evicted request keeps (docs/model.md section 7; vLLM 0.32 resumes)",
    )
    p.add_argument("--plot", metavar="PNG", help="write memory-over-time and Gantt chart")
    p.add_argument(
        "--info",
        metavar="NOISE",
        help="length-information noise model, e.g. predicted:sigma=0.5, interval:width=1, "
        "one_bit:flip=0.1 (ratio.interop.noise)",
    )
    from ratio.traceops import add_slice_args

    add_slice_args(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("policies", help="list the registered policies")
    add_json_flag(p)
    p.set_defaults(func=_cmd_policies)

    p = sub.add_parser("gen", help="write a synthetic trace")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--arrivals", choices=("zero", "poisson"), default="zero")
    p.add_argument("--rate", type=float, default=1.0, help="Poisson arrivals per round")
    p.add_argument("--M", type=int, default=40, help="capacity in tokens")
    p.add_argument("--prompt", type=_range, default=(1, 12), metavar="LO..HI")
    p.add_argument("--output", type=_range, default=(1, 16), metavar="LO..HI")
    p.add_argument(
        "--prompt-dist", choices=("uniform", "geometric", "lognormal"), default="uniform"
    )
    p.add_argument(
        "--output-dist", choices=("uniform", "geometric", "lognormal"), default="uniform"
    )
    p.add_argument("--prompt-mean", type=float, default=6.0)
    p.add_argument("--output-mean", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", required=True, help="output trace file")
    add_json_flag(p)
    p.set_defaults(func=_cmd_gen)

    for mod in PLUGINS:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and (mod == e.name or mod.startswith(e.name + ".")):
                continue
            raise
        m.register(sub)
    from ratio.validate import apply_rules

    apply_rules(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed its one line; bad input is exit 2
        return int(e.code or 0)
    try:
        rc = args.func(args)
    except (InputError, StuckError) as e:
        print(f"kvratio: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kvratio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        # A file system refusal (read-only, full, a path under a file) is bad input: one line
        # naming the path.
        if "KVRATIO_DEBUG" in os.environ:
            raise
        where = e.filename if e.filename is not None else "output"
        print(f"kvratio: error: {where}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "kvratio: error: out of memory; the input is larger than this machine can hold",
            file=sys.stderr,
        )
        return 2
    except Exception as e:  # noqa: BLE001 - one line for users, the traceback on request
        if "KVRATIO_DEBUG" in os.environ:
            raise
        print(
            f"kvratio: internal error: {type(e).__name__}: {e} "
            "(set KVRATIO_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
