"""Benchmark of the certified search (issue 6, deliverable 9).

Measures, in one run:

1. evaluations per second of the objective's fast path (simulation + SVF certificate + volume
   bound filter + policy upper bounds, no MILP) on random ``n = 8`` traces;
2. certified ratios per minute of a full search (MILP on promising traces) for ``svf``;
3. annealing and the evolutionary strategy against pure random sampling (and hill climbing) at
   equal evaluation budget, on the best certified ratio for ``svf`` at ``n = 8``,
   ``alpha <= 1/2``, several seeds.

Usage: ``python benchmarks/bench_search.py [--budget 1500] [--seeds 1,2,3] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from fractions import Fraction

import numpy as np

from adversaries.objective import evaluate
from adversaries.search import SearchConfig, run_search
from adversaries.space import SearchSpace, sample, to_instance


def evals_per_second(space: SearchSpace, count: int = 2000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    insts = [to_instance(sample(space, rng)) for _ in range(count)]
    t0 = time.perf_counter()
    for inst in insts:
        # threshold 10: everything is filtered, as for most traces late in a search
        evaluate(inst, space.policy, threshold=Fraction(10))
    return count / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=1500, help="evaluations per strategy run")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--seconds", type=float, default=20.0, help="full-search timing run")
    ap.add_argument("--strategies", default="random,hill,anneal,evolve")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    space = SearchSpace(
        policy="svf", regime="all_at_zero", n_min=8, n_max=8, alpha_max=Fraction(1, 2)
    )
    out: dict = {"space": space.to_dict()}
    eps = evals_per_second(space)
    out["fast_path_evals_per_second"] = round(eps, 1)
    print(f"fast path (simulate + certificate + bounds, no MILP): {eps:.0f} evaluations/s")

    res = run_search(
        SearchConfig(space, strategy="hill", seed=1), budget_seconds=a.seconds, progress=False
    )
    per_min = res.certified / res.seconds * 60
    out["search"] = {
        "seconds": round(res.seconds, 2),
        "certified": res.certified,
        "milps": res.milps,
        "certified_per_minute": round(per_min),
        "best_ratio": res.best["ratio"] if res.best else None,
    }
    print(
        f"full search ({a.seconds:.0f} s, hill): {per_min:.0f} certified ratios/minute, "
        f"{res.milps} MILPs, best {res.best['ratio'] if res.best else '-'}"
    )

    seeds = [int(s) for s in a.seeds.split(",")]
    table = {}
    print(f"\nbest certified ratio at {a.budget} evaluations (svf, n=8, alpha<=1/2):")
    print(f"{'strategy':10s} " + " ".join(f"seed {s:<5d}" for s in seeds) + "   mean    sec")
    for strat in a.strategies.split(","):
        ratios, secs = [], []
        for s in seeds:
            t0 = time.perf_counter()
            r = run_search(
                SearchConfig(space, strategy=strat, seed=s), budget_evals=a.budget, progress=False
            )
            secs.append(time.perf_counter() - t0)
            assert r.best is not None
            ratios.append(Fraction(r.best["ratio"]))
        table[strat] = {
            "ratios": [str(x) for x in ratios],
            "mean": statistics.fmean(float(x) for x in ratios),
            "seconds": round(sum(secs), 1),
        }
        print(
            f"{strat:10s} "
            + " ".join(f"{float(x):<10.4f}" for x in ratios)
            + f" {table[strat]['mean']:.4f} {sum(secs):6.1f}"
        )
    out["strategies"] = table
    out["budget"] = a.budget
    out["seeds"] = seeds
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
