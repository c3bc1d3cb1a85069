"""Benchmark of the screened, certified search (issues 6 and 15).

Measures, in one run:

1. evaluations per second of the objective at ``n = 8, 100, 1000, 10000`` on structured traces
   (genomes drawn by :func:`adversaries.space.sample_genome` in a space with that ``n``, so
   every size sees the same kind of trace), both for the screen alone (``L / LB`` beaten:
   one simulation and the bound, what most evaluations of a search are) and for the full
   certification (every upper-bound policy once and the checker);
2. with ``--search N``: the default cold-start search (``kvratio search`` defaults, strategy
   ``scale``, seed 1) at ``alpha <= 3/4`` and ``alpha <= 1/2`` with an evaluation budget of
   ``N``: the best certified ratio, certified evaluations and seconds;
3. with ``--compare``: the issue-6 strategy comparison at ``n = 8``, ``alpha <= 1/2``.

Usage: ``python benchmarks/bench_search.py [--sizes 8,100,1000,10000] [--search 1000]
[--compare] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from fractions import Fraction
from typing import Any

import numpy as np

from adversaries.objective import evaluate
from adversaries.search import SearchConfig, run_search
from adversaries.space import SearchSpace, expand, sample_genome, to_instance

#: Traces drawn per size (fewer at large n, where one evaluation takes seconds here).
COUNTS = {8: 200, 100: 40, 1000: 8, 10000: 3}


def wide_space(n_min: int, n_max: int, alpha: Fraction) -> SearchSpace:
    """The default space of ``kvratio search`` (lengths up to 10^5, M up to 10^7)."""
    return SearchSpace(
        policy="svf",
        n_min=n_min,
        n_max=n_max,
        prompt_range=(1, 100_000),
        output_range=(1, 100_000),
        alpha_max=alpha,
        capacity_max=10**7,
    )


def evals_per_second(n: int, count: int, *, certify: bool, seed: int = 0) -> dict[str, Any]:
    space = wide_space(n, n, Fraction(3, 4))
    rng = np.random.default_rng(seed)
    insts = [to_instance(expand(sample_genome(space, rng))) for _ in range(count)]
    assert all(i.n == n for i in insts)
    thr = Fraction(0) if certify else Fraction(10**6)
    times = []
    for inst in insts:
        t0 = time.perf_counter()
        ev = evaluate(inst, "svf", threshold=thr)
        times.append(time.perf_counter() - t0)
        assert ev.certified == certify
    return {
        "n": n,
        "traces": count,
        "evals_per_second": round(count / sum(times), 2),
        "median_ms": round(1000 * statistics.median(times), 2),
        "max_ms": round(1000 * max(times), 2),
    }


def cold_search(alpha: Fraction, budget: int) -> dict[str, Any]:
    cfg = SearchConfig(wide_space(1, 10_000, alpha), strategy="scale", seed=1)
    t0 = time.perf_counter()
    res = run_search(cfg, budget_evals=budget, progress=False)
    b = res.best
    return {
        "alpha_max": str(alpha),
        "budget_evals": budget,
        "best_ratio": b["ratio"] if b else None,
        "best_float": round(float(Fraction(b["ratio"])), 4) if b else None,
        "n": len(b["trace"]["requests"]) if b else None,
        "M": b["trace"]["M"] if b else None,
        "certified": res.certified,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def compare_strategies(budget: int, seeds: list[int]) -> dict[str, Any]:
    space = SearchSpace(
        policy="svf", regime="all_at_zero", n_min=8, n_max=8, alpha_max=Fraction(1, 2)
    )
    table = {}
    for strat in ("random", "hill", "anneal", "evolve", "scale"):
        ratios = []
        for s in seeds:
            r = run_search(
                SearchConfig(space, strategy=strat, seed=s), budget_evals=budget, progress=False
            )
            ratios.append(Fraction(r.best["ratio"]) if r.best else Fraction(1))
        table[strat] = {
            "ratios": [f"{float(x):.4f}" for x in ratios],
            "mean": round(statistics.fmean(float(x) for x in ratios), 4),
        }
        print(f"{strat:10s} {table[strat]['ratios']} mean {table[strat]['mean']}")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="8,100,1000,10000")
    ap.add_argument("--certify-max-n", type=int, default=1000, help="largest n to certify")
    ap.add_argument("--search", type=int, default=0, help="evaluation budget of cold searches")
    ap.add_argument("--compare", action="store_true", help="issue-6 strategy comparison")
    ap.add_argument("--budget", type=int, default=1500, help="evaluations per compared run")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    out: dict[str, Any] = {"screen": [], "certify": []}
    print(f"{'n':>6} {'path':8} {'evals/s':>9} {'median ms':>10} {'max ms':>9}")
    for n in (int(x) for x in a.sizes.split(",")):
        count = COUNTS.get(n, 10)
        for path, cert in (("screen", False), ("certify", True)):
            if cert and n > a.certify_max_n:
                continue
            r = evals_per_second(n, max(2, count // (4 if cert else 1)), certify=cert)
            out[path].append(r)
            print(
                f"{n:>6} {path:8} {r['evals_per_second']:>9} {r['median_ms']:>10} {r['max_ms']:>9}",
                flush=True,
            )
    if a.search:
        out["search"] = []
        for alpha in (Fraction(3, 4), Fraction(1, 2)):
            r = cold_search(alpha, a.search)
            out["search"].append(r)
            print(f"cold search alpha <= {alpha}, {a.search} evaluations: {r}", flush=True)
    if a.compare:
        out["compare"] = compare_strategies(a.budget, [int(s) for s in a.seeds.split(",")])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
