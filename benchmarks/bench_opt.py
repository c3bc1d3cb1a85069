"""Speed of the exact optimum: naive baseline vs this package's methods (issues 3 and 15).

Solves the same seeded random instances of one or more distributions (``--dist``):

* ``today``: ``ratio.gen.generate(n, capacity=40, prompt_range=(1, 12), output_range=(1, 16))``,
  all arrivals at 0 (the distribution the methods were tuned on);
* ``online``: the same lengths, arrivals uniform in ``0..20`` (drawn from
  ``numpy.random.default_rng(seed + 10_000)``);
* ``large``: ``capacity=200, prompt_range=(1, 60), output_range=(1, 40)``, all at 0;

with

* ``naive``: time-indexed MILP, horizon = serial length, no warm start, CBC (one thread);
* ``highs``: the MILP with proved tight horizons, warm start, symmetry breaking, HiGHS;
* ``bnb``: the branch and bound over states of :mod:`offline_opt.bnb` (state bound: fluid
  bounds and the Lagrangian bound of :func:`offline_opt.bnb.lagrangian_lower_bound`), on its
  compiled engine :mod:`offline_opt.bnb_jit` when numba is installed;
* ``bnb_python``: the same search on the Python engine;
* ``bnb_fluid``: the Python engine with the fluid bounds only (the Lagrangian switched off);
* ``auto``: the package default (its dispatch: :mod:`offline_opt.auto`);
* ``cpsat``, ``cbc``, ``naive_highs``: see :func:`offline_opt.solve`;

The compiled engine is compiled once per install (numba caches it next to the module); the
benchmark triggers that before timing anything and prints how long it took.

and prints per-instance seconds (wall clock and this process's CPU time, ``time.process_time``:
the machine may be shared, and every solver runs on one thread), medians, maxima, how many proved
the optimum within the limit, and the ratio of ``auto``'s median to its best single component's
(``bnb``, ``cpsat``, ``highs``) measured in the same run. Every method first solves a small
instance of each distribution untimed (imports, compiled code), and the order of the methods
rotates from seed to seed. A solve stopped by the limit counts
with its time (a lower bound on its time to a proof). Every reported cost is re-verified by
``ratio.check`` inside :func:`offline_opt.solve`, and all methods must agree on the optimum when
they prove it. ``bnb`` applies to all-at-zero instances only; on ``online`` it is skipped.

Usage::

    python benchmarks/bench_opt.py --n 10 12 --seeds 3 --methods naive,bnb --time-limit 300
    python benchmarks/bench_opt.py --dist today online large --n 12 --seeds 3 \
        --methods auto,bnb,cpsat,highs --time-limit 60 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np

from offline_opt import bnb, solve
from ratio.gen import generate
from ratio.model import Instance
from ratio.quiet import quiet_stdout

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

#: ``auto``'s single components: its ratio is taken against the best of these in the run.
COMPONENTS = ("bnb", "cpsat", "highs")

DISTS = ("today", "online", "large")


def instance(dist: str, n: int, seed: int) -> Instance:
    """The benchmark's instance of distribution ``dist`` (module docstring)."""
    if dist == "large":
        return generate(n, capacity=200, prompt_range=(1, 60), output_range=(1, 40), seed=seed)
    inst = generate(n, capacity=40, prompt_range=(1, 12), output_range=(1, 16), seed=seed)
    if dist == "today":
        return inst
    if dist != "online":
        raise ValueError(f"unknown distribution {dist!r}")
    arr = np.random.default_rng(seed + 10_000).integers(0, 21, size=n)
    rows = [(int(a), r.prompt, r.output) for a, r in zip(arr, inst.requests, strict=True)]
    return Instance.from_tuples(inst.capacity, rows)


def applies(method: str, inst: Instance) -> bool:
    """``bnb`` is for all-at-zero instances (``solve`` would silently run HiGHS instead)."""
    return inst.all_at_zero or not method.startswith("bnb")


def _median_censored(vals: list[tuple[float, bool]]) -> bool:
    s = sorted(vals)
    return s[(len(s) - 1) // 2][1] or s[len(s) // 2][1]


def run(
    dists: list[str],
    ns: list[int],
    seeds: int,
    methods: list[str],
    time_limit: float | None,
    seed0: int,
) -> dict:
    def one(m: str, inst: Instance, limit: float | None) -> Any:
        kw = dict(METHODS[m])
        bnb.LAGRANGIAN = kw.pop("lagrangian", True)
        bnb.ENGINE = kw.pop("engine", "auto")
        with quiet_stdout():  # solver banners go to stderr
            return solve(inst, time_limit=limit, **kw)

    # untimed warm-up of every method on every distribution (imports, compiled code, first
    # allocations): otherwise the first method timed pays them
    for dist in dists:
        for m in methods:
            small = instance(dist, 6, 10_000)
            if applies(m, small):
                one(m, small, 10.0)
    rows = []
    for dist in dists:
        for n in ns:
            for k in range(seeds):
                seed = seed0 + k
                inst = instance(dist, n, seed)
                row: dict[str, Any] = {"dist": dist, "n": n, "seed": seed}
                costs = {}
                # rotate the order, so that no method is always first on an instance
                order = methods[k % len(methods) :] + methods[: k % len(methods)]
                for m in order:
                    if not applies(m, inst):
                        continue
                    t0, c0 = time.perf_counter(), time.process_time()
                    res = one(m, inst, time_limit)
                    dt, dc = time.perf_counter() - t0, time.process_time() - c0
                    row[m] = {
                        "seconds": round(dt, 3),
                        "cpu_s": round(dc, 3),
                        "status": res.status,
                        "cost": res.cost,
                        "lower_bound": res.lower_bound,
                        "solver": res.solver,
                    }
                    if res.status == "optimal":
                        costs[m] = res.cost
                    print(
                        f"{dist} n={n} seed={seed} {m:10s} {dt:8.2f} s  cpu {dc:8.2f} s  "
                        f"{res.status:8s} cost={res.cost} lb={res.lower_bound} via {res.solver}",
                        file=sys.stderr,
                        flush=True,
                    )
                if len(set(costs.values())) > 1:
                    raise AssertionError(f"methods disagree on OPT: {costs} ({dist} n={n} {seed=})")
                rows.append(row)
    return {"time_limit": time_limit, "rows": rows, "summary": summarize(rows, methods)}


def summarize(rows: list[dict], methods: list[str]) -> list[dict]:
    """Per (distribution, n): medians, maxima and proofs per method; auto / best component."""
    summary = []
    for dist, n in dict.fromkeys((r["dist"], r["n"]) for r in rows):
        sub = [r for r in rows if r["dist"] == dist and r["n"] == n]
        ent: dict[str, Any] = {"dist": dist, "n": n, "instances": len(sub)}
        for m in methods:
            got = [r[m] for r in sub if m in r]
            if not got:
                continue
            ent[m] = {
                key: {
                    "median_s": round(statistics.median(g[key] for g in got), 3),
                    "max_s": round(max(g[key] for g in got), 3),
                    "median_censored": _median_censored(
                        [(g[key], g["status"] != "optimal") for g in got]
                    ),
                }
                for key in ("seconds", "cpu_s")
            }
            ent[m]["solved"] = sum(g["status"] == "optimal" for g in got)
        comps = [m for m in COMPONENTS if m in ent]
        if "auto" in ent and comps:
            for key in ("seconds", "cpu_s"):
                best = min(comps, key=lambda m: (ent[m][key]["median_s"], -ent[m]["solved"]))
                ent[f"auto/best_{key}"] = {
                    "best": best,
                    "ratio": round(
                        ent["auto"][key]["median_s"] / max(ent[best][key]["median_s"], 1e-9), 2
                    ),
                }
        if "naive" in ent:
            for m in methods:
                if m != "naive" and m in ent:
                    ent[f"ratio_naive/{m}"] = round(
                        ent["naive"]["seconds"]["median_s"]
                        / max(ent[m]["seconds"]["median_s"], 1e-9),
                        2,
                    )
        summary.append(ent)
    return summary


def _compile_once() -> float | None:
    """Load (or, the first time after an install, compile) the compiled engine; seconds."""
    from offline_opt import bnb_jit

    if not bnb_jit.available():
        print("bench_opt: numba is not installed; bnb runs on the Python engine", file=sys.stderr)
        return None
    t0 = time.perf_counter()
    bnb_jit.run_search([1, 2], [2, 1], 4, 100, None)
    return time.perf_counter() - t0


def render(out: dict, methods: list[str]) -> str:
    """Human-readable summary of :func:`run`'s result."""
    tl = out["time_limit"]
    lim = "none (every solve runs to its proof)" if tl is None else f"{tl:g} s wall per solve"
    lines = [f"time limit {lim}; wall / CPU seconds per method"]
    if out.get("compile_s") is not None:
        lines.append(
            f"compiled engine: ready in {out['compile_s']:.1f} s before timing "
            "(compiled once, then cached)"
        )
    for ent in out["summary"]:
        lines.append(f"{ent['dist']} n={ent['n']} ({ent['instances']} instances):")
        for m in methods:
            if m not in ent:
                continue
            e = ent[m]
            w, c = e["seconds"], e["cpu_s"]
            cen = ">=" if w["median_censored"] else ""
            lines.append(
                f"  {m:10s} median {cen}{w['median_s']:.2f} s wall, {cen}{c['median_s']:.2f} s CPU"
                f" (max {w['max_s']:.2f} / {c['max_s']:.2f}); "
                f"{e['solved']}/{ent['instances']} proved"
            )
        for key in ("seconds", "cpu_s"):
            if f"auto/best_{key}" in ent:
                b = ent[f"auto/best_{key}"]
                lines.append(f"  auto / best component ({b['best']}), {key}: {b['ratio']}")
        for k, v in ent.items():
            if k.startswith("ratio_naive"):
                lines.append(f"  {k} = {v}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--dist", nargs="+", default=["today"], choices=DISTS)
    ap.add_argument("--n", type=int, nargs="+", default=[10, 12])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--methods", default="naive,bnb")
    ap.add_argument(
        "--time-limit",
        type=lambda v: None if v == "none" else float(v),
        default=300.0,
        help="seconds of wall clock per solve, or 'none': every solve runs to its proof",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", help="also write the JSON result to this file")
    ap.add_argument("--render", metavar="JSON", help="print the tables of a saved --out file")
    args = ap.parse_args(argv)
    if args.render:
        try:
            with open(args.render) as fh:
                saved = json.load(fh)
            meths = list(dict.fromkeys(m for r in saved["rows"] for m in r if m in METHODS))
            saved["summary"] = summarize(saved["rows"], meths)
        except (OSError, ValueError, KeyError) as exc:
            print(f"bench_opt: cannot read {args.render}: {exc}", file=sys.stderr)
            return 2
        print(render(saved, meths))
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            print(f"bench_opt: unknown method {m!r} (valid: {', '.join(METHODS)})", file=sys.stderr)
            return 2
    if (args.time_limit is not None and args.time_limit <= 0) or args.seeds < 1 or min(args.n) < 1:
        print("bench_opt: --time-limit, --seeds and --n must be positive", file=sys.stderr)
        return 2
    warm = _compile_once() if any(m in ("bnb", "auto") for m in methods) else None
    out = run(args.dist, args.n, args.seeds, methods, args.time_limit, args.seed0)
    out["compile_s"] = warm
    out["command"] = "python benchmarks/bench_opt.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
    if args.json:
        print(json.dumps(out))
        return 0
    print(render(out, methods))
    return 0


if __name__ == "__main__":
    sys.exit(main())
