"""``kvratio search``, ``kvratio show``, ``kvratio family`` (issue 6; ``interfaces.md``).

Imports only :mod:`argparse` at load time (``kvratio simulate`` stays light); handlers import
the search machinery, Ray and matplotlib when they run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("..")
    try:
        a, b = (int(lo), int(hi)) if sep else (int(lo), int(lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO..HI, got {text!r}") from None
    return a, b


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    # long: one argparse table: every option of these commands in one place, in --help's order
    from ratio.cli import add_json_flag

    p = sub.add_parser(
        "search",
        help="certified search for traces where a policy is far from the optimum",
        description="Search traces maximising the certified ratio L_policy / UB(OPT), UB the "
        "cost of a checker-verified schedule (docs/model.md §10). Traces are ranked by the cheap "
        "screen L / LB and certified only when the screen beats the best certified ratio. "
        "Resumes when --out exists.",
    )
    p.add_argument("--policy", default="svf", help="policy under test, NAME[:key=value,...]")
    p.add_argument("--regime", default="all_at_zero", choices=("all_at_zero", "online"))
    p.add_argument(
        "--n", default="1..10000", type=_range, help="requests: N or LO..HI (default 1..10000)"
    )
    p.add_argument("--alpha-max", default="1/2", help="cap on alpha = max P / M (default 1/2)")
    p.add_argument(
        "--prompt", default=(1, 100000), type=_range, help="prompt range LO..HI (1..100000)"
    )
    p.add_argument(
        "--output", default=(1, 100000), type=_range, help="output range LO..HI (1..100000)"
    )
    p.add_argument(
        "--capacity-max",
        type=int,
        default=0,
        help="largest M (default 10^7, or the least M the ranges need if that is more)",
    )
    p.add_argument("--arrival-max", type=int, default=0, help="largest arrival (online)")
    p.add_argument("--budget", default="1m", help="duration (30s, 10m) or evaluations (5000)")
    p.add_argument(
        "--strategy",
        default="scale",
        help="scale (default: genome annealing), structured (scale from family and hall-of-fame "
        "seeds), anneal, hill, evolve, random (plain traces, for small spaces)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=8, help="points per ask (fixed: reproducible)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--ray", default=None, metavar="auto|ADDRESS", help="evaluate with Ray")
    p.add_argument(
        "--milp",
        action="store_true",
        help="exact MILP on promising traces of n <= --milp-max-n; the search stops with an "
        "error if one is not proven optimal within --time-limit (off by default)",
    )
    p.add_argument("--no-milp", action="store_true", help="no exact MILP (the default)")
    p.add_argument("--milp-max-n", type=int, default=10)
    p.add_argument("--time-limit", type=float, default=20.0, help="seconds per MILP")
    p.add_argument("--out", default=None, help="run directory (resumable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser(
        "show", help="print a hall of fame and re-verify every line with the checker alone"
    )
    p.add_argument("dir", help="run directory, hof .jsonl file, or directory of .jsonl files")
    add_json_flag(p)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser(
        "family", help="certified ratios of a structured family against n (hand-written OPT)"
    )
    p.add_argument("name", help="family name (see --list)", nargs="?")
    p.add_argument("--list", action="store_true", help="list the families")
    p.add_argument("--policy", default=None, help="policies, comma-separated (default: family's)")
    p.add_argument("--n", default="8,16,...,256", help="e.g. 8,16,...,1024")
    p.add_argument(
        "--alpha",
        default="1/2",
        help="the family parameter(s), comma-separated, e.g. 1,1/2,3/4 (older families: 1/k "
        "only); a family may realise an alpha = max P / M just above it: both are shown",
    )
    p.add_argument("--plot", default=None, help="write ratio against n to this PNG")
    add_json_flag(p)
    p.set_defaults(func=_cmd_family)

    from adversaries.frontier import register as register_frontier

    register_frontier(sub)


def _cmd_search(args: argparse.Namespace) -> int:
    # long: a CLI command: read the options, run one library call, print the text and the JSON
    from adversaries.search import SearchConfig, parse_budget, run_search, summary
    from adversaries.space import SearchSpace, parse_fraction
    from ratio.cli import emit
    from ratio.errors import InputError
    from ratio.policies import get_policy

    # Every argument is checked before anything is written (issue 17): a refused run leaves no
    # config.json behind to poison the next one. Numeric ranges come from ratio.validate.RULES.
    get_policy(args.policy)  # fails early, one line, on a bad policy
    if args.batch < 1:
        raise InputError(f"--batch must be >= 1, got {args.batch}")
    seconds, evals = parse_budget(args.budget)
    if seconds is not None and not (0 < seconds <= 10**9):
        raise InputError(f"--budget: a duration must be finite and positive, got {args.budget!r}")
    if args.n[0] > args.n[1]:
        raise InputError(f"--n: LO..HI needs LO <= HI, got {args.n[0]}..{args.n[1]}")
    alpha = parse_fraction(args.alpha_max)
    if not 0 < alpha <= 1:
        raise InputError(f"alpha_max must be in (0, 1], got {alpha}")
    cap = args.capacity_max
    if cap == 0:
        top = args.prompt[1] + args.output[1]
        cap = max(10**7, -(-top * alpha.denominator // alpha.numerator))
    space = SearchSpace(
        policy=args.policy,
        regime=args.regime,
        n_min=args.n[0],
        n_max=args.n[1],
        prompt_range=args.prompt,
        output_range=args.output,
        alpha_max=alpha,
        capacity_max=cap,
        arrival_max=args.arrival_max,
    )
    from adversaries.strategies import REGISTRY

    if args.strategy not in REGISTRY:
        raise InputError(
            f"unknown strategy {args.strategy!r} (valid: {', '.join(sorted(REGISTRY))})"
        )
    cfg = SearchConfig(
        space,
        strategy=args.strategy,
        seed=args.seed,
        batch=args.batch,
        milp=args.milp and not args.no_milp,
        milp_max_n=args.milp_max_n,
        time_limit=args.time_limit,
    )
    from contextlib import nullcontext

    from adversaries.store import RunLock

    # One process per run directory: the lock is taken after every argument passed and held to
    # the end; a second search on the same --out exits 2 at once.
    lock = RunLock(args.out) if args.out is not None else nullcontext()
    with lock:
        _stdout_to_stderr()
        res = run_search(
            cfg,
            budget_seconds=seconds,
            budget_evals=evals,
            out=args.out,
            workers=args.workers,
            ray=args.ray,
            progress=not args.quiet,
        )
    obj = summary(res)
    _resumed(args, obj)
    emit(args, obj, _search_text(res, obj))
    return 1 if res.violation else 0


def _resumed(args: argparse.Namespace, obj: dict[str, Any]) -> None:
    """Say when the run directory already held evaluations (issue 19: re-running the demo
    silently reprinted the old result). Adds ``resumed_evaluations`` to the JSON and a line on
    stderr."""
    old = int(obj["evaluations"]) - int(obj["new_evaluations"])
    obj["resumed_evaluations"] = old
    if old <= 0:
        return
    if obj["new_evaluations"] == 0:
        msg = (
            f"resumed {args.out}: its {old} evaluations already meet the budget, so nothing "
            "new was evaluated and this is the stored result (use another --out for a fresh "
            "run, or a larger --budget to continue)"
        )
    else:
        msg = (
            f"resumed {args.out}: {old} evaluations replayed from its log, "
            f"{obj['new_evaluations']} new"
        )
    print(f"kvratio search: {msg}", file=sys.stderr)


def _stdout_to_stderr() -> None:
    """Point file descriptor 1 at stderr for the rest of the process, keeping ``sys.stdout`` on
    the real stdout: solver libraries (HiGHS) print banners from C++ through buffers flushed at
    exit, which would otherwise break ``--json``'s one-object stdout."""
    import os

    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(saved, "w", buffering=1)


def _search_text(res: Any, obj: dict[str, Any]) -> str:
    from fractions import Fraction

    lines = []
    if obj["violation"]:
        v = obj["violation"]
        lines.append("SVF WAITING-TIME CERTIFICATE VIOLATED (model §12): a bug or news.")
        lines.append(f"  {v['message']}")
        lines.append(f"  trace: {v['trace']}")
    b = obj["best"]
    lines.append(
        f"{obj['evaluations']} evaluations in {obj['seconds']:.1f} s "
        f"({obj['evals_per_second']:.0f}/s): {obj['certified']} certified, "
        f"{obj['filtered']} screened out (L/LB or the cheapest upper bound could not beat the "
        f"best), {obj['milps']} MILPs solved"
    )
    if b is None:
        lines.append("no trace beat ratio 1")
        return "\n".join(lines)
    r = Fraction(b["ratio"])
    lines.append(
        f"worst certified trace for {b['policy']} ({b['regime']}): ratio L/UB = {b['ratio']} "
        f"= {float(r):.4f}"
    )
    lines.append(
        f"  L_{b['policy']} = {b['policy_cost']}, "
        f"OPT {'=' if b['opt_status'] == 'optimal' else '<='} "
        f"{b['opt_upper']} (status {b['opt_status']}, lower bound {b['opt_lower']})"
    )
    ab = b["bound_at_alpha"]
    lines.append(
        f"  alpha = max P / M = {b['alpha']} ({float(Fraction(b['alpha'])):.3f}); "
        + (
            f"theorem's bound 1 + 2/(1 - alpha) = {ab} ({float(Fraction(ab)):.3f})"
            if ab is not None
            else "no theorem applies at this alpha / regime / policy"
        )
        + (
            f"; sharper bound at (P - 1)/M = {b['sharper_bound']} "
            f"({float(Fraction(b['sharper_bound'])):.3f})"
            if b.get("sharper_bound") is not None
            else ""
        )
    )
    t = b["trace"]
    lines.append(f"  M = {t['M']}; requests (arrival, prompt, output):")
    reqs = t["requests"]
    shown = ", ".join(f"({q['arrival']},{q['prompt']},{q['output']})" for q in reqs[:40])
    lines.append(f"    n = {len(reqs)}: " + shown + (", ..." if len(reqs) > 40 else ""))
    st = b["opt_starts"]
    lines.append(f"  opt starts: {st[:40]}{' ...' if len(st) > 40 else ''}")
    if obj["best_trace"]:
        lines.append(f"  trace written to {obj['best_trace']}; re-verify: kvratio show {res.out}")
    return "\n".join(lines)


def _cmd_show(args: argparse.Namespace) -> int:
    from fractions import Fraction
    from pathlib import Path

    from adversaries.store import read_hof, verify_entry
    from ratio.cli import emit, table

    entries = read_hof(Path(args.dir))
    rows, objs = [], []
    bad = 0
    for e in entries:
        v = verify_entry(e)
        bad += not v.ok
        status = "verified" if v.ok else f"FAILED: {v.reason}"
        objs.append(
            {
                "ratio": e["ratio"],
                "policy": e["policy"],
                "regime": e["regime"],
                "alpha": e["alpha"],
                "bound_at_alpha": e.get("bound_at_alpha"),
                "opt_status": e["opt_status"],
                "n": len(e["trace"]["requests"]),
                "trace": e["_source"],
                "status": status,
            }
        )
        rows.append(
            (
                e["policy"],
                e["regime"],
                e["alpha"],
                f"{e['ratio']} ({float(Fraction(e['ratio'])):.4f})",
                e.get("bound_at_alpha") or "-",
                e["opt_status"],
                len(e["trace"]["requests"]),
                e.get("strategy", "-"),
                status,
                e["_source"],
            )
        )
    text = table(
        rows,
        ("policy", "regime", "alpha", "ratio", "bound", "opt", "n", "strategy", "check", "line"),
    )
    text += f"\n{len(entries) - bad} of {len(entries)} lines re-verified with the checker alone"
    emit(args, {"entries": objs, "verified": len(entries) - bad, "failed": bad}, text)
    if bad:
        print(f"{bad} hall-of-fame line(s) failed re-verification", file=sys.stderr)
        return 1
    return 0


def _cmd_family(args: argparse.Namespace) -> int:
    # long: a CLI command: read the options, run one library call, print the text and the JSON
    from adversaries.families import (
        FAMILIES,
        certify,
        fit_exponent,
        fit_limit,
        parse_n_list,
        plot_family,
    )
    from adversaries.space import parse_fraction
    from ratio.cli import emit, table
    from ratio.errors import InputError

    if args.list or not args.name:
        rows = [(f.name, f.regime, ",".join(f.policies), f.summary) for f in FAMILIES.values()]
        emit(
            args,
            {
                "families": [
                    {"name": r[0], "regime": r[1], "policies": r[2].split(","), "summary": r[3]}
                    for r in rows
                ]
            },
            table(rows, ("family", "regime", "policies", "summary")),
        )
        return 0
    fam = FAMILIES.get(args.name)
    if fam is None:
        raise InputError(f"unknown family {args.name!r} (valid: {', '.join(sorted(FAMILIES))})")
    policies = args.policy.split(",") if args.policy else list(fam.policies)
    ns = parse_n_list(args.n)
    alphas = [parse_fraction(a) for a in args.alpha.split(",")]
    points = []
    for a in alphas:
        for pol in policies:
            for n in ns:
                pt = certify(fam.name, pol, n, a)
                points.append(pt)
                print(
                    f"{fam.name} {pt.policy} n={pt.n} alpha={pt.alpha}: "
                    f"ratio {float(pt.ratio):.4f}",
                    file=sys.stderr,
                )
    fits, limits = {}, {}
    for a in alphas:
        for pol in policies:
            pts = [
                q
                for q in points
                if q.alpha_param == a and q.policy.split(":")[0] == pol.split(":")[0]
            ]
            if len(pts) >= 2:
                ns_, rs_ = [q.n for q in pts], [float(q.ratio) for q in pts]
                fits[f"{pol}@{a}"] = fit_exponent(ns_, rs_)
                if fits[f"{pol}@{a}"] < 0.3:  # levels off: a limit means something
                    limits[f"{pol}@{a}"] = fit_limit(ns_, rs_)[0]
    obj = {
        "family": fam.name,
        "regime": fam.regime,
        "points": [q.to_dict() for q in points],
        "exponents": fits,
        "limits": limits,
    }
    if args.plot:
        obj["plot"] = plot_family(points, args.plot, title=f"{fam.name} ({fam.regime})")
    point_rows: list[tuple[Any, ...]] = [
        (
            q.policy,
            q.n,
            q.alpha_param,
            q.alpha,
            q.capacity,
            q.policy_cost,
            q.opt_upper,
            q.ub_source,
            f"{float(q.ratio):.4f}",
        )
        for q in points
    ]
    text = table(
        point_rows,
        ("policy", "n", "--alpha", "alpha", "M", "L_policy", "UB(OPT)", "UB from", "ratio"),
    )
    off = sorted({(str(q.alpha_param), str(q.alpha)) for q in points if q.alpha != q.alpha_param})
    if off:
        # issue 19: `family --alpha 1/2` printed alpha 181/361 with no word on why
        text += (
            f"\nnote: --alpha is the family's parameter 1/k; {fam.name} realises alpha = "
            "max P / M "
            + ", ".join(f"{b} for {a}" for a, b in off[:4])
            + (" ..." if len(off) > 4 else "")
            + " (its construction, adversaries/families.py); the column alpha is the "
            "trace's own"
        )
    text += "\nfitted exponents (ratio ~ n^e): " + ", ".join(
        f"{k}: {v:.3f}" for k, v in fits.items()
    )
    if limits:
        text += "\nfitted limits (ratio ~ r_inf - c/n; exponent < 0.3): " + ", ".join(
            f"{k}: {v:.4f}" for k, v in limits.items()
        )
    if args.plot:
        text += f"\nplot written to {args.plot}"
    emit(args, obj, text)
    return 0
