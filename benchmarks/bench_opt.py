"""Speed of the exact optimum: naive baseline vs this package's methods (issue 3, item 7).

Solves the same seeded random all-at-zero instances (``ratio.gen.generate``: M = 40, s uniform
in 1..12, o uniform in 1..16) with

* ``naive``: time-indexed MILP, horizon = serial length, no warm start, CBC (one thread);
* ``highs``: the MILP with proved tight horizons, warm start, symmetry breaking, HiGHS;
* ``bnb``: the branch and bound over states of :mod:`offline_opt.bnb` (state bound: fluid
  bounds and the Lagrangian bound of :func:`offline_opt.bnb.lagrangian_lower_bound`), on its
  compiled engine :mod:`offline_opt.bnb_jit` when numba is installed;
* ``bnb_python``: the same search on the Python engine;
* ``bnb_fluid``: the Python engine with the fluid bounds only (the Lagrangian switched off);
* ``auto``: the package default (``bnb`` on the compiled engine for these instances);
* ``cpsat``, ``cbc``, ``naive_highs``: see :func:`offline_opt.solve`;

The compiled engine is compiled once per install (numba caches it next to the module); the
benchmark triggers that before timing anything and prints how long it took.

and prints per-instance seconds, medians and the ratio naive / method. Every reported cost is
re-verified by ``ratio.check`` inside :func:`offline_opt.solve`, and all methods must agree on
the optimum when they all prove it.

Usage::

    python benchmarks/bench_opt.py --n 10 12 --seeds 3 --methods naive,bnb --time-limit 300
    python benchmarks/bench_opt.py --n 16 --seeds 3 --methods bnb --time-limit 600 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from offline_opt import bnb, solve
from offline_opt.cli import _quiet_stdout
from ratio.gen import generate

METHODS: dict[str, dict[str, Any]] = {
    "naive": {"solver": "cbc", "warm_start": False, "formulation": "naive"},
    "naive_highs": {"solver": "highs", "warm_start": False, "formulation": "naive"},
    "highs": {"solver": "highs"},
    "cbc": {"solver": "cbc"},
    "bnb": {"solver": "bnb"},
    "bnb_python": {"solver": "bnb", "engine": "python"},
    "bnb_fluid": {"solver": "bnb", "lagrangian": False, "engine": "python"},
    "cpsat": {"solver": "cpsat"},
    "auto": {"solver": "auto"},
}


def run(ns: list[int], seeds: int, methods: list[str], time_limit: float, seed0: int) -> dict:
    rows = []
    for n in ns:
        for k in range(seeds):
            seed = seed0 + k
            inst = generate(n, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=seed)
            row: dict[str, Any] = {"n": n, "seed": seed}
            costs = {}
            for m in methods:
                t0 = time.perf_counter()
                kw = dict(METHODS[m])
                bnb.LAGRANGIAN = kw.pop("lagrangian", True)
                bnb.ENGINE = kw.pop("engine", "auto")
                with _quiet_stdout():  # solver banners go to stderr
                    res = solve(inst, time_limit=time_limit, **kw)
                dt = time.perf_counter() - t0
                row[m] = {
                    "seconds": round(dt, 3),
                    "status": res.status,
                    "cost": res.cost,
                    "lower_bound": res.lower_bound,
                }
                if res.status == "optimal":
                    costs[m] = res.cost
                print(
                    f"n={n} seed={seed} {m:12s} {dt:8.2f} s  {res.status:8s} "
                    f"cost={res.cost} lb={res.lower_bound}",
                    file=sys.stderr,
                    flush=True,
                )
            if len(set(costs.values())) > 1:
                raise AssertionError(f"methods disagree on OPT: {costs} (n={n}, seed={seed})")
            rows.append(row)
    summary = []
    for n in ns:
        sub = [r for r in rows if r["n"] == n]
        ent: dict[str, Any] = {"n": n, "instances": len(sub)}
        for m in methods:
            secs = [r[m]["seconds"] for r in sub]
            ent[m] = {
                "median_s": round(statistics.median(secs), 3),
                "max_s": round(max(secs), 3),
                "solved": sum(r[m]["status"] == "optimal" for r in sub),
            }
        if "naive" in methods:
            # a naive solve stopped by the time limit only bounds its time from below: so
            # does the ratio when the median falls on such a solve
            secs = sorted((r["naive"]["seconds"], r["naive"]["status"] != "optimal") for r in sub)
            censored = secs[(len(secs) - 1) // 2][1] or secs[len(secs) // 2][1]
            ent["naive"]["median_censored"] = censored
            for m in methods:
                if m != "naive":
                    ent[f"ratio_naive/{m}"] = round(
                        ent["naive"]["median_s"] / max(ent[m]["median_s"], 1e-9), 2
                    )
        summary.append(ent)
    return {"time_limit": time_limit, "rows": rows, "summary": summary}


def _compile_once() -> float | None:
    """Load (or, the first time after an install, compile) the compiled engine; seconds."""
    from offline_opt import bnb_jit

    if not bnb_jit.available():
        print("bench_opt: numba is not installed; bnb runs on the Python engine", file=sys.stderr)
        return None
    t0 = time.perf_counter()
    bnb_jit.run_search([1, 2], [2, 1], 4, 100, None)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10, 12])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--methods", default="naive,bnb")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            print(f"bench_opt: unknown method {m!r} (valid: {', '.join(METHODS)})", file=sys.stderr)
            return 2
    warm = _compile_once() if any(m in ("bnb", "auto") for m in methods) else None
    out = run(args.n, args.seeds, methods, args.time_limit, args.seed0)
    out["compile_s"] = warm
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"time limit {args.time_limit:g} s per solve; medians over {args.seeds} seeds")
    if warm is not None:
        print(f"compiled engine: ready in {warm:.1f} s before timing (compiled once, then cached)")
    for ent in out["summary"]:
        parts = [f"n={ent['n']:3d}"]
        for m in methods:
            e = ent[m]
            parts.append(
                f"{m}: median {e['median_s']:.2f} s (max {e['max_s']:.2f}, "
                f"{e['solved']}/{ent['instances']} proved)"
            )
        for k, v in ent.items():
            if k.startswith("ratio_"):
                sign = ">=" if ent["naive"].get("median_censored") else "="
                parts.append(f"{k} {sign} {v}")
        print("  ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
