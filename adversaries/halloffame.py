"""Build and reproduce the hall of fame kept in the repo (issue 6, deliverable 8; issue 15,
deliverable 4).

``adversaries/hall_of_fame/<policy>__<regime>__alpha-<p>-<q>.jsonl`` holds, for each policy,
regime and alpha cap (:data:`CAPS`), the worst certified trace known (``kvratio-hof/1``, spec
``interfaces.md``): the best of the seeded searches (:func:`build`), the structured families at
the points of :data:`FAMILY_RUNS` (:func:`build_families`), and any line of a smaller cap (a
trace with ``alpha <= 1/2`` is a trace with ``alpha <= 3/4``). Every line carries ``alpha_cap``
and the ``command`` that reproduces it; search lines also carry their settings (``search``),
family lines their point (``family``), so :func:`reproduce` re-runs either and must get the same
line, bit for bit except the wall-clock ``found_at.seconds``.

    python -m adversaries.halloffame --budget-evals 1500   # the searches (about 12 minutes)
    python -m adversaries.halloffame --families            # the families, then every cell
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from adversaries.search import SearchConfig, run_search
from adversaries.space import SearchSpace
from adversaries.store import HOF_FORMAT, dump_hof, read_hof

__all__ = [
    "CAPS",
    "CELLS",
    "FAMILY_RUNS",
    "HOF_DIR",
    "assemble",
    "build",
    "build_families",
    "cell_path",
    "family_entry",
    "line_cap",
    "reproduce",
]

HOF_DIR = Path(__file__).parent / "hall_of_fame"
POLICIES = ("svf", "sjf", "mcsf", "fcfs")
REGIMES = ("all_at_zero", "online")
#: The alpha caps the seeded searches ran at.
ALPHAS = (Fraction(1), Fraction(1, 2), Fraction(1, 3), Fraction(1, 4))
#: Every cap of the hall of fame (issue 15): one line per (policy, regime, cap).
CAPS = tuple(Fraction(c) for c in ("1/4", "1/3", "1/2", "2/3", "3/4", "9/10", "1"))
SEARCH_CELLS = [(p, r, a) for p in POLICIES for r in REGIMES for a in ALPHAS]
CELLS = [(p, r, a) for p in POLICIES for r in REGIMES for a in CAPS]

#: Family points in the hall of fame: ``(family, policies, n, alpha)``. Sizes are the
#: smallest that reach issue 15's targets (svf, burst: 1.8 at alpha <= 1/4, 1.9 at 1/2, 3.5
#: at 3/4, 8 at 9/10, 10 at 1; online at 1/2: 40), so the files stay small.
FAMILY_RUNS: tuple[tuple[str, tuple[str, ...], int, Fraction], ...] = (
    ("svf_thin_blocks_wide", ("svf",), 32, Fraction(1)),
    ("svf_gated_groups", ("svf",), 1600, Fraction(9, 10)),
    ("svf_gated_groups", ("svf",), 1380, Fraction(3, 4)),
    ("svf_gated_groups", ("svf",), 2040, Fraction(2, 3)),
    ("svf_gated_groups", ("svf",), 5200, Fraction(1, 2)),
    ("svf_thin_sync", ("svf",), 4000, Fraction(1, 4)),
    ("online_long_first", POLICIES, 256, Fraction(1, 2)),
    ("online_long_first", POLICIES, 256, Fraction(1, 3)),
    ("online_long_first", POLICIES, 256, Fraction(1, 4)),
    ("wide_short_first", ("sjf", "mcsf", "fcfs"), 256, Fraction(1)),
    ("wide_short_first", ("sjf", "mcsf", "fcfs"), 256, Fraction(1, 2)),
    ("wide_short_first", ("sjf", "mcsf", "fcfs"), 256, Fraction(1, 3)),
    ("wide_short_first", ("sjf", "mcsf", "fcfs"), 256, Fraction(1, 4)),
)


def cell_path(policy: str, regime: str, alpha: Fraction, root: Path = HOF_DIR) -> Path:
    return root / f"{policy}__{regime}__alpha-{alpha.numerator}-{alpha.denominator}.jsonl"


def _config(policy: str, regime: str, alpha: Fraction, strategy: str, seed: int) -> SearchConfig:
    space = SearchSpace(policy=policy, regime=regime, n_min=8, n_max=8, alpha_max=alpha)
    return SearchConfig(space, strategy=strategy, seed=seed, time_limit=10.0)


def build(
    cells: list[tuple[str, str, Fraction]] = SEARCH_CELLS,
    *,
    budget_evals: int = 1500,
    strategy: str = "hill",
    seed: int = 1,
    root: Path = HOF_DIR,
) -> list[dict[str, Any]]:
    """Run one seeded search per cell and write its best line to :func:`cell_path`."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for policy, regime, alpha in cells:
        t0 = time.perf_counter()
        res = run_search(
            _config(policy, regime, alpha, strategy, seed),
            budget_evals=budget_evals,
            progress=False,
        )
        if res.violation is not None:
            raise RuntimeError(f"certificate violation: {res.violation}")
        assert res.best is not None, "no trace beat ratio 1"
        dump_hof(cell_path(policy, regime, alpha, root), [res.best])
        out.append(res.best)
        print(
            f"{policy} {regime} alpha<={alpha}: ratio {res.best['ratio']} "
            f"({res.best['ratio_float']:.4f}) at alpha {res.best['alpha']}, "
            f"{res.milps} MILPs, {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
    return out


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def line_cap(entry: dict[str, Any]) -> Fraction:
    """The alpha cap a line stands for: ``alpha_cap``, else its search's ``alpha_max``."""
    if "alpha_cap" in entry:
        return Fraction(entry["alpha_cap"])
    return Fraction(entry["search"]["space"]["alpha_max"])


def search_command(entry: dict[str, Any]) -> str:
    """The ``kvratio search`` command with the settings recorded in ``entry["search"]``."""
    s = entry["search"]
    sp = s["space"]
    cmd = (
        f"kvratio search --policy {sp['policy']} --regime {sp['regime']} "
        f"--n {sp['n_min']}..{sp['n_max']} --alpha-max {sp['alpha_max']} "
        f"--prompt {sp['prompt_range'][0]}..{sp['prompt_range'][1]} "
        f"--output {sp['output_range'][0]}..{sp['output_range'][1]} "
        f"--capacity-max {sp['capacity_max']} --arrival-max {sp['arrival_max']} "
        f"--strategy {s['strategy']} --seed {s['seed']} --batch {s['batch']} "
        f"--milp-max-n {s['milp_max_n']} --time-limit {s['time_limit']:g} "
        f"--budget {s['budget_evals']}"
    )
    return cmd + ("" if s["milp"] else " --no-milp")


def family_command(name: str, policy: str, n: int, alpha: Fraction) -> str:
    return f"kvratio family {name} --policy {policy} --n {n} --alpha {alpha}"


def family_entry(name: str, policy: str, n: int, alpha: Fraction) -> dict[str, Any]:
    """Certify family ``name`` at ``(n, alpha)`` for ``policy`` (:func:`certify`: the best
    checker-verified schedule among the hand-written one and the policies') and return its
    ``kvratio-hof/1`` line; ``opt_lower`` is :func:`offline_opt.bounds.lower_bound`."""
    from adversaries.families import FAMILIES, certify
    from adversaries.objective import bound_at_alpha, sharper_bound
    from offline_opt.bounds import lower_bound
    from ratio.io import to_dict

    t0 = time.perf_counter()
    pt = certify(name, policy, n, alpha)
    inst = pt.instance
    lb = min(pt.opt_upper, max(pt.opt_lower, lower_bound(inst)))
    regime = FAMILIES[name].regime
    bound = bound_at_alpha(inst.alpha, pt.policy, regime)
    sharper = sharper_bound(inst, pt.policy, regime)
    return {
        "format": HOF_FORMAT,
        "policy": pt.policy,
        "params": {},
        "regime": regime,
        "alpha": _frac(inst.alpha),
        "ratio": _frac(pt.ratio),
        "ratio_float": float(pt.ratio),
        "bound_at_alpha": None if bound is None else _frac(bound),
        "sharper_bound": None if sharper is None else _frac(sharper),
        "policy_cost": pt.policy_cost,
        "opt_upper": pt.opt_upper,
        "opt_lower": lb,
        "opt_status": "optimal" if lb == pt.opt_upper else "feasible",
        "opt_gap": _frac(Fraction(pt.opt_upper - lb, pt.opt_upper)),
        "opt_starts": list(pt.opt_starts),
        "trace": to_dict(inst),
        "strategy": f"family:{name}",
        "seed": 0,
        "found_at": {"evaluations": 1, "seconds": round(time.perf_counter() - t0, 3)},
        "family": {"name": name, "n": n, "alpha": _frac(Fraction(alpha)), "ub": pt.ub_source},
        "command": family_command(name, policy, n, Fraction(alpha)),
    }


def build_families(
    runs: tuple[tuple[str, tuple[str, ...], int, Fraction], ...] = FAMILY_RUNS,
) -> list[dict[str, Any]]:
    """The hall-of-fame lines of :data:`FAMILY_RUNS`."""
    out = []
    for name, policies, n, alpha in runs:
        for policy in policies:
            e = family_entry(name, policy, n, alpha)
            print(
                f"{name} {policy} n={n} alpha={alpha}: ratio {e['ratio_float']:.4f} "
                f"at alpha {e['alpha']} ({e['found_at']['seconds']:.1f} s)",
                file=sys.stderr,
            )
            out.append(e)
    return out


def assemble(
    extra: list[dict[str, Any]], root: Path = HOF_DIR
) -> dict[tuple[str, str, Fraction], list[dict[str, Any]]]:
    """Write, for every cell of :data:`CELLS`, the best line among the lines already in
    ``root`` and ``extra`` whose policy and regime match and whose ``alpha`` is at most the
    cap (ties: fewer requests, then a line of ``extra``); when that line is a family's, the
    best line of a search follows it, so the searches' reach stays on record. Every written
    line carries ``alpha_cap`` and ``command``."""
    # ``extra`` first: on a tie, max keeps the first, so a recomputed line replaces its old copy.
    pool = list(extra)
    pool += [{k: v for k, v in e.items() if not k.startswith("_")} for e in read_hof(root)]
    chosen = {}

    def key(e: dict[str, Any]) -> tuple[Fraction, int]:
        return Fraction(e["ratio"]), -len(e["trace"]["requests"])

    for policy, regime, cap in CELLS:
        cands = [
            e
            for e in pool
            if e["policy"] == policy and e["regime"] == regime and Fraction(e["alpha"]) <= cap
        ]
        if not cands:
            continue
        lines = [max(cands, key=key)]
        searched = [e for e in cands if "search" in e]
        if "search" not in lines[0] and searched:
            lines.append(max(searched, key=key))
        out = []
        for best in lines:
            line = dict(best)
            line["alpha_cap"] = _frac(cap)
            if "command" not in line:
                line["command"] = search_command(line)
            out.append(line)
        dump_hof(cell_path(policy, regime, cap, root), out)
        chosen[(policy, regime, cap)] = out
    return chosen


def reproduce(entry: dict[str, Any]) -> dict[str, Any]:
    """Re-run the search recorded in ``entry["search"]`` (or certify the family point in
    ``entry["family"]``) and return its line."""
    if "family" in entry:
        f = entry["family"]
        return family_entry(f["name"], entry["policy"], f["n"], Fraction(f["alpha"]))
    s = entry["search"]
    cfg = SearchConfig(
        SearchSpace.from_dict(s["space"]),
        strategy=s["strategy"],
        seed=s["seed"],
        batch=s["batch"],
        milp=s["milp"],
        milp_max_n=s["milp_max_n"],
        time_limit=s["time_limit"],
        strategy_params=s.get("strategy_params", {}),
    )
    res = run_search(cfg, budget_evals=s["budget_evals"], progress=False)
    assert res.best is not None
    return res.best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-evals", type=int, default=1500)
    ap.add_argument("--strategy", default="hill")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--policy", default=None, help="only this policy")
    ap.add_argument("--check", action="store_true", help="reproduce every line instead")
    ap.add_argument(
        "--families",
        action="store_true",
        help="certify the family points and refill every cell with its best line",
    )
    ap.add_argument("--table", action="store_true", help="print the markdown table of the docs")
    a = ap.parse_args(argv)
    if a.table:
        print(table())
        return 0
    if a.check:
        bad = 0
        for e in read_hof(HOF_DIR):
            got = reproduce(e)
            same = _strip(got) == _strip(e)
            bad += not same
            print(f"{e['_source']}: {'reproduced' if same else 'DIFFERS'}", file=sys.stderr)
        return 1 if bad else 0
    if a.families:
        runs = tuple(
            (name, tuple(p for p in pols if a.policy is None or p == a.policy), n, al)
            for name, pols, n, al in FAMILY_RUNS
        )
        assemble(build_families(runs))
        return 0
    cells = [c for c in SEARCH_CELLS if a.policy is None or c[0] == a.policy]
    build(cells, budget_evals=a.budget_evals, strategy=a.strategy, seed=a.seed)
    assemble([])
    return 0


def table(root: Path = HOF_DIR) -> str:
    """The markdown table of ``docs/adversaries.md``: one row per cell, its best (first)
    line."""
    rows = [
        "| policy | regime | alpha cap | alpha | certified ratio | bound at alpha | n | L_policy | "
        "OPT (status) | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in sorted(
        (e for e in read_hof(root) if e["_source"].endswith(":1")),
        key=lambda e: (
            POLICIES.index(e["policy"]) if e["policy"] in POLICIES else 99,
            e["regime"],
            -line_cap(e),
        ),
    ):
        r = Fraction(e["ratio"])
        b = e["bound_at_alpha"]
        t = e["trace"]
        a = Fraction(e["alpha"])
        rows.append(
            f"| {e['policy']} | {e['regime']} | {_frac(line_cap(e))} | "
            f"{e['alpha'] if a.denominator < 100 else f'{float(a):.4f}'} | "
            f"{float(r):.4f} | "
            f"{'-' if b is None else f'{float(Fraction(b)):.3f}'} | {len(t['requests'])} | "
            f"{e['policy_cost']} | {e['opt_upper']} ({e['opt_status']}) | "
            f"`{e.get('command') or search_command(e)}` |"
        )
    return "\n".join(rows)


def _strip(e: dict[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in e.items() if not k.startswith("_") and k not in ("alpha_cap", "command")}
    d["found_at"] = {"evaluations": e["found_at"]["evaluations"]}
    return d


if __name__ == "__main__":
    raise SystemExit(main())
