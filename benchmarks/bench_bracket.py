"""The anytime certified bracket at scale (issue 15, deliverable 1).

Instances (seeded, :func:`production`): lognormal prompts (median 650, capped at 12,000) and
lognormal outputs (median 180, capped at 4,000; each also capped at ``M - s``), all at 0 or
online with Poisson arrivals at a memory load ``rate * mean(V) / M``.

For each case the benchmark runs, in the same process,

* ``baseline``: the cheapest certified bracket, one SVF simulation and
  :func:`offline_opt.bounds.lower_bound` (what the search's filter has), checked;
* ``bracket``: :func:`offline_opt.bracket.bracket` with the case's time limit (all policies,
  list scheduling, local search, exact methods where they fit);

and prints seconds, both sides, ``UB/LB`` and which method gave each side. Every upper bound is
a schedule accepted by ``ratio.check``.

Usage::

    python benchmarks/bench_bracket.py                 # the issue's targets (about 2 minutes)
    python benchmarks/bench_bracket.py --quick         # smaller, for a smoke test
    python benchmarks/bench_bracket.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from offline_opt.bounds import lower_bound
from offline_opt.bracket import bracket
from ratio.check import check
from ratio.model import Instance
from ratio.simulator import simulate


def production(n: int, *, seed: int, online: bool, M: int = 32768, load: float = 0.9) -> Instance:
    """``n`` production-shaped requests (see the module docstring); reproducible from
    ``seed``."""
    rng = np.random.default_rng(seed)
    s = np.clip(np.rint(rng.lognormal(np.log(650), 1.0, n)), 1, 12000).astype(np.int64)
    o = np.clip(np.rint(rng.lognormal(np.log(180), 1.0, n)), 1, 4000).astype(np.int64)
    o = np.minimum(o, M - s)
    a = np.zeros(n, dtype=np.int64)
    if online:
        rate = load * M / float((s * o + o * (o + 1) // 2).mean())  # requests per round
        a = np.floor(np.cumsum(rng.exponential(1 / rate, n))).astype(np.int64)
    rows = list(zip(a.tolist(), s.tolist(), o.tolist(), strict=True))
    inst = Instance.from_tuples(M, rows)
    return inst


CASES: list[dict[str, Any]] = [
    {"name": "10k zero", "n": 10_000, "M": 1_000_000, "online": False, "limit": 10.0},
    {"name": "10k online 0.9", "n": 10_000, "M": 1_000_000, "online": True, "limit": 10.0},
    {"name": "400 zero", "n": 400, "M": 32768, "online": False, "limit": 20.0},
    {"name": "400 online 0.9", "n": 400, "M": 32768, "online": True, "limit": 20.0},
    {"name": "400 online 1.0", "n": 400, "M": 32768, "online": True, "load": 1.0, "limit": 20.0},
]


def run_case(case: dict[str, Any], seed: int) -> dict[str, Any]:
    inst = production(
        case["n"], seed=seed, online=case["online"], M=case["M"], load=case.get("load", 0.9)
    )
    t0 = time.perf_counter()
    sim = simulate(inst, "svf")
    lb0 = lower_bound(inst) if inst.all_at_zero or inst.n <= 3000 else 0
    from offline_opt.bounds import mean_busy_time_lower_bound, serial_lower_bound

    lb0 = max(lb0, mean_busy_time_lower_bound(inst), serial_lower_bound(inst))
    assert check(inst, sim.schedule)
    base_s = time.perf_counter() - t0
    ub0 = sim.total_latency
    t0 = time.perf_counter()
    b = bracket(inst, time_limit=case["limit"], seed=seed)
    took = time.perf_counter() - t0
    return {
        "case": case["name"],
        "seed": seed,
        "n": inst.n,
        "M": inst.capacity,
        "limit": case["limit"],
        "baseline_seconds": round(base_s, 3),
        "baseline_lb": lb0,
        "baseline_ub": ub0,
        "baseline_ratio": round(ub0 / lb0, 4),
        "seconds": round(took, 3),
        "lb": b.lower,
        "ub": b.upper,
        "ratio": round(b.upper / b.lower, 4),
        "lower_method": b.lower_method,
        "upper_method": b.upper_method,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="n / 10 and limits / 4")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = CASES
    if args.cases:
        want = {c.strip() for c in args.cases.split(",")}
        cases = [c for c in CASES if c["name"] in want]
    if args.quick:
        cases = [{**c, "n": c["n"] // 10, "limit": c["limit"] / 4} for c in cases]
    rows = []
    for case in cases:
        for k in range(args.seeds):
            row = run_case(case, args.seed0 + k)
            rows.append(row)
            if not args.json:
                print(
                    f"{row['case']:16s} seed {row['seed']}  limit {row['limit']:5.1f} s  "
                    f"bracket {row['seconds']:6.2f} s  UB/LB {row['ratio']:.4f}  "
                    f"[{row['lb']}, {row['ub']}]  ({row['lower_method']} / "
                    f"{row['upper_method']})  baseline {row['baseline_seconds']:.2f} s "
                    f"UB/LB {row['baseline_ratio']:.4f}",
                    flush=True,
                )
    if args.json:
        json.dump({"rows": rows}, sys.stdout)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
