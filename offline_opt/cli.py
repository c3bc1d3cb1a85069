"""``kvratio opt`` and ``kvratio ratio`` (``interfaces.md``; issue 3, item 6).

Imports only :mod:`argparse` and the standard library at load time; PuLP and the solvers are
imported inside the handlers so that ``kvratio simulate`` stays light.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from ratio.quiet import quiet_stdout

__all__ = ["register"]

_SOLVERS = ("highs", "cbc", "cpsat", "bnb", "exact", "auto")


def _time_limit(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"time limit must be a positive number, got {text!r}")
    return v


def _load(path: str) -> Any:
    from ratio.errors import InputError
    from ratio.io import load

    if not os.path.exists(path):
        raise InputError(f"trace file not found: {path}")
    return load(path)


def _progress(args: argparse.Namespace) -> Any:
    """A one-line progress display on stderr when it is a terminal and ``--json`` is off."""
    from offline_opt.bracket import TerminalProgress

    prog = TerminalProgress(sys.stderr)
    if getattr(args, "json", False):
        prog.enabled = False
    return prog


def _cmd_opt(args: argparse.Namespace) -> int:
    from offline_opt.bracket import bracket, opt_result
    from ratio.cli import emit

    inst = _load(args.trace)
    prog = _progress(args)
    try:
        with quiet_stdout():
            br = bracket(inst, time_limit=args.time_limit, solver=args.solver, progress=prog)
    finally:
        prog.close()
    res = opt_result(br)
    obj = res.to_dict(inst)
    obj.update({"n": inst.n, "M": inst.capacity, "alpha": str(inst.alpha)})
    obj["bracket"] = br.to_dict()
    exact = (
        f"{br.exact_solver} ({br.exact_status})"
        if br.exact_solver
        else f"not run ({br.exact_skipped})"
        if br.exact_skipped
        else "not needed"
    )
    lines = [
        f"offline optimum of {args.trace} (n = {inst.n}, M = {inst.capacity}, "
        f"alpha = {inst.alpha})",
        f"status        {res.status}",
        f"cost (UB)     {res.cost}  (from {br.upper_method})",
        f"lower bound   {res.lower_bound}  (from {br.lower_method}; "
        f"{', '.join(f'{k} {v}' for k, v in sorted(br.lower_bounds.items()))})",
        f"gap           {res.gap if res.gap is None else f'{float(res.gap):.2%}'}",
        f"exact methods {exact}",
        f"seconds       {res.seconds:.2f}",
    ]
    if inst.n <= 50:
        lines.append(f"starts        {list(br.schedule.starts)}")
    lines.append("schedule verified by ratio.check")
    emit(args, obj, "\n".join(lines))
    return 0


def _ratio_resume(args: argparse.Namespace, inst: Any, prog: Any) -> tuple[Any, Any]:
    """``ratio --eviction resume``: the policy's resume run, checked, against the bracket on
    the optimum over resume schedules (:func:`offline_opt.bracket.bracket`, ``opt_over``)."""
    import time
    from fractions import Fraction

    from offline_opt.bracket import bracket, opt_result
    from offline_opt.certificate import CertifiedRatio
    from ratio.check import check
    from ratio.errors import InputError
    from ratio.policies import needs_extended_engine
    from ratio.simulator import simulate

    if needs_extended_engine(args.policy):  # unknown names fail here, with the list
        raise InputError(
            f"{args.policy} runs on the extended engine (pauses, token budgets): its runs are "
            "not base-model schedules, which OPT's bracket is for (kvratio simulate runs it, "
            "with --eviction resume too)"
        )
    t0 = time.perf_counter()
    sim = simulate(inst, args.policy, eviction="resume")
    verdict = check(inst, sim.schedule)
    if not verdict:
        raise AssertionError(f"{sim.policy}: resume schedule failed the checker: {verdict.reason}")
    left = max(args.time_limit - (time.perf_counter() - t0), 0.01)
    br = bracket(
        inst,
        time_limit=left,
        policy_runs={sim.policy: sim},
        progress=prog,
        solver=args.solver,
        opt_over="resume",
    )
    cost, ub, lb = sim.total_latency, br.upper, br.lower
    lo = Fraction(cost, ub) if ub else Fraction(1)
    hi = (Fraction(cost, lb) if lb > 0 else Fraction(cost)) if ub else Fraction(1)
    cr = CertifiedRatio(sim.policy, cost, ub, lb, lo, hi, ub == lb, opt_result(br))
    return cr, br


def _cmd_ratio(args: argparse.Namespace) -> int:
    from offline_opt import ratio_of
    from ratio.cli import emit
    from ratio.traceops import sliced

    inst = sliced(args, _load(args.trace))
    resume = args.eviction == "resume"
    prog = _progress(args)
    br = None
    try:
        with quiet_stdout():
            if resume:
                cr, br = _ratio_resume(args, inst, prog)
            else:
                cr = ratio_of(
                    args.policy,
                    inst,
                    time_limit=args.time_limit,
                    solver=args.solver,
                    progress=prog,
                )
    finally:
        prog.close()
    obj = cr.to_dict()
    obj.update({"n": inst.n, "M": inst.capacity, "alpha": str(inst.alpha)})
    obj["eviction"] = args.eviction
    obj["opt_over"] = "resume" if resume else "nonpreemptive"
    if br is not None:
        obj["opt_evicted"] = [[r.request, r.start, r.rounds] for r in br.schedule.evicted]
        obj["bracket"] = br.to_dict()
    if cr.opt is not None:
        obj["seconds"] = round(cr.opt.seconds, 4)
    lo, hi = cr.ratio_lower, cr.ratio_upper
    span = (
        f"{lo} = {float(lo):.4f} (exact)"
        if cr.exact
        else f"[{lo}, {hi}] = [{float(lo):.4f}, {float(hi):.4f}]"
    )
    how = ""
    if cr.opt is not None and cr.opt.lower_method:
        how = f"  (lower: {cr.opt.lower_method}; upper: {cr.opt.upper_method})"
    lo_s = str(lo) if len(str(lo)) <= 40 else f"{float(lo):.6f} (exact fraction in --json)"
    lines = [
        f"policy {cr.policy} on {args.trace} (n = {inst.n}, M = {inst.capacity}, "
        f"alpha = {inst.alpha})" + ("; eviction = resume" if resume else ""),
        f"policy cost   {cr.policy_cost}",
        f"OPT in        [{cr.opt_lower}, {cr.opt_upper}]{how}",
        f"ratio         {span}",
        "claimable lower bound on the competitive ratio: L / UB = " + lo_s,
    ]
    if resume:
        lines.insert(
            3,
            "              OPT over resume schedules (docs/offline_opt.md: the bounds valid "
            "for them only)",
        )
    lines += _ratio_seconds(args, inst, obj)
    lines += _theorem_bounds(inst, cr.policy, resume, obj)
    emit(args, obj, "\n".join(lines))
    return 0


def _theorem_bounds(inst: Any, policy: str, resume: bool, obj: dict[str, Any]) -> list[str]:
    """SVF's burst theorem and the sharper bound, where they apply (model §10); none in
    resume mode, since the theorems compare with the non-preemptive OPT."""
    from ratio.theory import bound_at_alpha, sharper_bound

    regime = "all_at_zero" if inst.all_at_zero else "online"
    bound = None if resume else bound_at_alpha(inst.alpha, policy, regime)
    sharper = None if resume else sharper_bound(inst, policy, regime)
    obj["bound_at_alpha"] = None if bound is None else str(bound)
    obj["sharper_bound"] = None if sharper is None else str(sharper)
    if bound is None and sharper is None:
        return []
    return [
        "bounds        "
        + (f"theorem 1 + 2/(1 - alpha) = {float(bound):.4f}" if bound is not None else "")
        + ("; " if bound is not None and sharper is not None else "")
        + (f"sharper bound at (P - 1)/M = {float(sharper):.4f}" if sharper is not None else "")
    ]


def _ratio_seconds(args: argparse.Namespace, inst: Any, obj: dict[str, Any]) -> list[str]:
    """Seconds beside rounds (issue 19) for the policy's run, with a time base."""
    from ratio.simulator import simulate
    from ratio.traceops import time_base_ms, wallclock

    if time_base_ms(inst, args.round_ms) is None:
        wallclock(args, inst, None, obj)  # the slice report only
        return []
    run = simulate(inst, args.policy, eviction=args.eviction)
    rows = wallclock(args, inst, run.costs, obj)
    return [f"{k:<30}{v}" for k, v in rows]


def register(subparsers: Any) -> None:
    """Add ``opt`` and ``ratio`` to the ``kvratio`` command line."""
    from ratio.cli import add_json_flag

    p = subparsers.add_parser("opt", help="exact offline optimum with a certificate")
    p.add_argument("trace", help="kvratio-trace/1 JSON file")
    p.add_argument("--solver", choices=_SOLVERS, default="auto")
    p.add_argument("--time-limit", type=_time_limit, default=None, metavar="S")
    add_json_flag(p)
    p.set_defaults(func=_cmd_opt)

    p = subparsers.add_parser("ratio", help="certified ratio L_policy / OPT")
    p.add_argument("trace", help="kvratio-trace/1 JSON file")
    p.add_argument("--policy", default="svf", help="NAME[:key=value,...]")
    p.add_argument("--solver", choices=_SOLVERS, default="auto")
    p.add_argument("--time-limit", type=_time_limit, default=60.0, metavar="S")
    p.add_argument(
        "--eviction",
        choices=("restart", "resume"),
        default="restart",
        help="what an evicted request keeps (docs/model.md section 7); resume brackets the "
        "optimum over resume schedules",
    )
    from ratio.traceops import add_slice_args

    add_slice_args(p)
    add_json_flag(p)
    p.set_defaults(func=_cmd_ratio)
