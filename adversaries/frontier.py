"""``kvratio frontier``: the ratio-against-alpha map of the hall of fame (issue 15, deliverable 5).

For one policy and regime (default blocking ``svf``, all arrivals at 0), one point per alpha cap
of :data:`adversaries.halloffame.CAPS`: the hall of fame's best certified ratio ``L / UB`` (exact,
re-verified with the checker alone), beside

- the theorem's bound ``1 + 2/(1 - alpha)`` at the line's own ``alpha`` (model §10);
- the sharper bound ``max(2/(1 - a), 1 + 4/(3(1 - a)))`` (derived for this project from the
  waiting lemma and the mean-busy-time bound; stated in ``docs/adversaries.md``, not yet proved
  in ``proofs/``), evaluated at ``a = alpha' = (P - 1)/M`` on the instance (``P`` its largest
  peak), as that derivation states, and drawn at ``a = alpha`` as a curve;
- the instance's upper limit ``L / LB`` (``LB`` = :func:`offline_opt.bounds.lower_bound`): no
  schedule can make this trace's ratio larger, so the gap between ``L/UB`` and ``L/LB`` is what a
  better OPT upper bound could still add.

Imports only :mod:`argparse` at load time (the CLI stays light).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

__all__ = ["frontier", "plot_frontier", "register", "sharper_bound", "theorem_bound"]


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def theorem_bound(alpha: Fraction) -> Fraction | None:
    """``1 + 2/(1 - alpha)`` (SVF paper, Thm 3.2), ``None`` at ``alpha >= 1``."""
    return None if alpha >= 1 else 1 + 2 / (1 - Fraction(alpha))


def sharper_bound(a: Fraction) -> Fraction | None:
    """``max(2/(1 - a), 1 + 4/(3 (1 - a)))``, ``None`` at ``a >= 1``.

    >>> sharper_bound(Fraction(1, 2)), sharper_bound(Fraction(0))
    (Fraction(4, 1), Fraction(7, 3))
    """
    if a >= 1:
        return None
    a = Fraction(a)
    return max(2 / (1 - a), 1 + Fraction(4, 3) / (1 - a))


def frontier(
    root: Path | None = None,
    *,
    policy: str = "svf",
    regime: str = "all_at_zero",
    lower_bounds: bool = True,
    verify: bool = True,
) -> list[dict[str, Any]]:
    """One point per cap of :data:`adversaries.halloffame.CAPS` that has a line for
    ``(policy, regime)`` in ``root``; with ``verify`` every line is re-verified with
    :func:`adversaries.store.verify_entry` first, once per distinct line (a trace that stands
    for several caps is checked once; a failure raises :class:`RuntimeError`)."""
    # long: one pass over the caps: each point's line, certificate and bounds
    from adversaries.halloffame import CAPS, HOF_DIR, cell_path, line_cap
    from adversaries.objective import theorem_applies
    from adversaries.store import read_hof, verify_entry
    from ratio.io import from_dict

    root = HOF_DIR if root is None else Path(root)
    entries = [
        e
        for e in read_hof(root)
        if e["policy"] == policy and e["regime"] == regime and line_cap(e) in CAPS
    ]
    best: dict[Fraction, dict[str, Any]] = {}
    for e in entries:
        cap = line_cap(e)
        if cap not in best or Fraction(e["ratio"]) > Fraction(best[cap]["ratio"]):
            best[cap] = e
    points = []
    verified: set[str] = set()
    for cap in sorted(best):
        e = best[cap]
        key = json.dumps(
            {k: v for k, v in e.items() if not k.startswith("_") and k != "alpha_cap"},
            sort_keys=True,
        )
        if verify and key not in verified:
            v = verify_entry(e)
            if not v.ok:
                raise RuntimeError(
                    f"{e['_source']}: hall-of-fame line fails re-verification: {v.reason}"
                )
            verified.add(key)
        inst = from_dict(e["trace"])
        alpha = inst.alpha
        if alpha > cap:
            raise RuntimeError(f"{e['_source']}: alpha {alpha} above its cap {cap}")
        a_prime = Fraction(max(r.peak for r in inst.requests) - 1, inst.capacity)
        ratio = Fraction(e["ratio"])
        if theorem_applies(policy, regime):
            tb, sb = theorem_bound(alpha), sharper_bound(a_prime)
        else:  # no theorem for this policy / regime: no bound to draw
            tb = sb = None
        pt: dict[str, Any] = {
            "cap": _frac(cap),
            "alpha": _frac(alpha),
            "alpha_float": float(alpha),
            "alpha_prime": _frac(a_prime),
            "ratio": _frac(ratio),
            "ratio_float": float(ratio),
            "n": inst.n,
            "M": inst.capacity,
            "policy_cost": e["policy_cost"],
            "opt_upper": e["opt_upper"],
            "theorem_bound": None if tb is None else _frac(tb),
            "sharper_bound": None if sb is None else _frac(sb),
            "strategy": e.get("strategy"),
            "command": e.get("command"),
            "line": str(cell_path(policy, regime, cap, root)) if e["_source"] else None,
        }
        if lower_bounds:
            from offline_opt.bounds import lower_bound

            lb = max(lower_bound(inst), int(e.get("opt_lower") or 0))
            pt["opt_lower"] = lb
            pt["L_over_LB"] = _frac(Fraction(e["policy_cost"], lb))
            pt["L_over_LB_float"] = e["policy_cost"] / lb
        points.append(pt)
    return points


def plot_frontier(
    points: list[dict[str, Any]], path: str, *, title: str = "", bounds: bool = True
) -> str:
    """Best certified ratio against alpha (log scale), the two bounds and ``1/(1 - alpha)`` as
    curves (``bounds``), ``L/LB`` as open markers; a line at ``alpha = 1`` (no bound there) is
    drawn at ``x = 1``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    if bounds:
        a = np.linspace(0.0, 0.95, 200)
        ax.plot(a, 1 + 2 / (1 - a), "k-", lw=1, label="theorem 1 + 2/(1-alpha)")
        ax.plot(
            a,
            np.maximum(2 / (1 - a), 1 + 4 / (3 * (1 - a))),
            "k--",
            lw=1,
            label="sharper max(2/(1-a), 1+4/(3(1-a)))",
        )
        ax.plot(a, 1 / (1 - a), "k:", lw=1, label="1/(1-alpha)")
    xs = [p["alpha_float"] for p in points]
    ys = [p["ratio_float"] for p in points]
    ax.plot(xs, ys, "o", color="C3", label="best certified L/UB (hall of fame)")
    caps: dict[tuple[float, float], list[str]] = {}
    for p in points:  # one label per trace, naming every cap it stands for
        caps.setdefault((p["alpha_float"], p["ratio_float"]), []).append(p["cap"])
    for (x, y), cs in caps.items():
        ax.annotate(
            f"{y:.2f} (cap {', '.join(cs)})",
            (x, y),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )
    if points and "L_over_LB_float" in points[0]:
        ax.plot(
            xs,
            [p["L_over_LB_float"] for p in points],
            "s",
            mfc="none",
            color="C0",
            label="upper limit L/LB of that trace",
        )
    ax.set_yscale("log")
    ax.set_xlim(0, 1.03)
    ax.set_xlabel("alpha = max peak / M")
    ax.set_ylabel("SVF / OPT")
    ax.set_title(title or "certified SVF/OPT against alpha (burst)")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    from ratio.cli import add_json_flag

    p = sub.add_parser(
        "frontier",
        help="best certified ratio against alpha from the hall of fame, beside the bounds",
        description="One point per alpha cap: the hall of fame's best certified L/UB "
        "(re-verified), the theorem's 1 + 2/(1-alpha), the sharper bound at alpha' = (P-1)/M, "
        "and the trace's upper limit L/LB.",
    )
    p.add_argument("--dir", default=None, help="hall-of-fame directory (default: the repo's)")
    p.add_argument("--policy", default="svf")
    p.add_argument("--regime", default="all_at_zero", choices=("all_at_zero", "online"))
    p.add_argument("--no-lb", action="store_true", help="skip the L/LB upper limits")
    p.add_argument("--plot", default=None, help="write the map to this PNG")
    add_json_flag(p)
    p.set_defaults(func=_cmd_frontier)


def _cmd_frontier(args: argparse.Namespace) -> int:
    from ratio.cli import emit, table
    from ratio.errors import InputError

    try:
        points = frontier(
            None if args.dir is None else Path(args.dir),
            policy=args.policy,
            regime=args.regime,
            lower_bounds=not args.no_lb,
        )
    except RuntimeError as exc:
        raise InputError(str(exc)) from None
    if not points:
        raise InputError(f"no hall-of-fame line for {args.policy} ({args.regime})")
    obj: dict[str, Any] = {"policy": args.policy, "regime": args.regime, "points": points}
    if args.plot:
        obj["plot"] = plot_frontier(
            points,
            args.plot,
            title=f"certified {args.policy}/OPT against alpha ({args.regime})",
            bounds=any(p["theorem_bound"] is not None for p in points),
        )

    def f(x: str | None) -> str:
        return "-" if x is None else f"{float(Fraction(x)):.3f}"

    rows = [
        (
            p["cap"],
            f"{p['alpha_float']:.4f}",
            p["n"],
            f"{p['ratio_float']:.4f}",
            f(p.get("L_over_LB")),
            f(p["theorem_bound"]),
            f(p["sharper_bound"]),
            p["command"] or "-",
        )
        for p in points
    ]
    text = table(
        rows,
        ("cap", "alpha", "n", "L/UB", "L/LB", "1+2/(1-a)", "sharper(a')", "reproduce"),
    )
    if args.plot:
        text += f"\nplot written to {args.plot}"
    emit(args, obj, text)
    return 0
