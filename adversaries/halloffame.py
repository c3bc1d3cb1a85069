"""Build and reproduce the hall of fame kept in the repo (issue 6, deliverable 8).

``adversaries/hall_of_fame/<policy>__<regime>__alpha-<p>-<q>.jsonl`` holds, for each policy,
regime and alpha cap, the worst certified trace of a seeded search with an evaluation budget
(``kvratio-hof/1``, spec ``interfaces.md``). Every line carries the search settings that found
it (``search``), so :func:`reproduce` re-runs that search and must get the same line, bit for bit
except the wall-clock ``found_at.seconds``. Run ``python -m adversaries.halloffame`` to rebuild.
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
from adversaries.store import dump_hof, read_hof

__all__ = ["CELLS", "HOF_DIR", "build", "cell_path", "reproduce"]

HOF_DIR = Path(__file__).parent / "hall_of_fame"
POLICIES = ("svf", "sjf", "mcsf", "fcfs")
REGIMES = ("all_at_zero", "online")
ALPHAS = (Fraction(1), Fraction(1, 2), Fraction(1, 3), Fraction(1, 4))
CELLS = [(p, r, a) for p in POLICIES for r in REGIMES for a in ALPHAS]


def cell_path(policy: str, regime: str, alpha: Fraction, root: Path = HOF_DIR) -> Path:
    return root / f"{policy}__{regime}__alpha-{alpha.numerator}-{alpha.denominator}.jsonl"


def _config(policy: str, regime: str, alpha: Fraction, strategy: str, seed: int) -> SearchConfig:
    space = SearchSpace(policy=policy, regime=regime, n_min=8, n_max=8, alpha_max=alpha)
    return SearchConfig(space, strategy=strategy, seed=seed, time_limit=10.0)


def build(
    cells: list[tuple[str, str, Fraction]] = CELLS,
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


def reproduce(entry: dict[str, Any]) -> dict[str, Any]:
    """Re-run the search recorded in ``entry["search"]`` and return its best line."""
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
    cells = [c for c in CELLS if a.policy is None or c[0] == a.policy]
    build(cells, budget_evals=a.budget_evals, strategy=a.strategy, seed=a.seed)
    return 0


def table(root: Path = HOF_DIR) -> str:
    """The markdown table of ``docs/adversaries.md``: one row per hall-of-fame line."""
    rows = [
        "| policy | regime | alpha cap | alpha | certified ratio | bound at alpha | L_policy | "
        "OPT (status) | trace (M; (a,s,o)...) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in sorted(
        read_hof(root),
        key=lambda e: (
            POLICIES.index(e["policy"]) if e["policy"] in POLICIES else 99,
            e["regime"],
            -Fraction(e["search"]["space"]["alpha_max"]),
        ),
    ):
        r = Fraction(e["ratio"])
        b = e["bound_at_alpha"]
        t = e["trace"]
        reqs = " ".join(f"({q['arrival']},{q['prompt']},{q['output']})" for q in t["requests"])
        rows.append(
            f"| {e['policy']} | {e['regime']} | {e['search']['space']['alpha_max']} | "
            f"{e['alpha']} | {e['ratio']} = {float(r):.4f} | "
            f"{'-' if b is None else f'{b} = {float(Fraction(b)):.3f}'} | {e['policy_cost']} | "
            f"{e['opt_upper']} ({e['opt_status']}) | M={t['M']}; {reqs} |"
        )
    return "\n".join(rows)


def _strip(e: dict[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in e.items() if not k.startswith("_")}
    d["found_at"] = {"evaluations": e["found_at"]["evaluations"]}
    return d


if __name__ == "__main__":
    raise SystemExit(main())
