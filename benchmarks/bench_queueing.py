"""``ratio.simulate`` vs the engine's extended entry on the same trace (issues 8 and 18: keep
the base model's speed; the extended features cost only where they are used).

Uses the trace of ``benchmarks/bench_simulator.py`` (log-normal chat lengths, Poisson at 0.5
per round, M = 24,576). For each policy it times :func:`ratio.simulate` and
:func:`ratio.queueing.simulate_extended` with default parameters (the engine's base-model
layer, plus the extended report) on the same instance in the same process, checks that the
schedules are identical, and reports both times and their ratio. ``--general`` also times
the engine's per-request layer (``fast=False``, what any extended parameter runs) on the same
trace.

Run: ``python benchmarks/bench_queueing.py [--n 100000] [--policies fcfs,svf] [--general]
[--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_simulator import make_trace  # noqa: E402

from ratio import simulate  # noqa: E402
from ratio.queueing import simulate_extended  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--policies", default="fcfs,svf,vllm_fcfs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--general", action="store_true", help="also time the per-request layer")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    inst = make_trace(args.n, args.seed)
    rows = []
    for pol in args.policies.split(","):
        t0 = time.perf_counter()
        base = simulate(inst, pol)
        t1 = time.perf_counter()
        ext = simulate_extended(inst, pol)
        t2 = time.perf_counter()
        row = {
            "policy": pol,
            "n": inst.n,
            "base_seconds": round(t1 - t0, 3),
            "extended_seconds": round(t2 - t1, 3),
            "ratio": round((t2 - t1) / max(t1 - t0, 1e-9), 2),
            "identical": base.starts == ext.starts and base.schedule.evicted == ext.evicted,
        }
        if args.general:
            gen = simulate_extended(inst, pol, fast=False)
            t3 = time.perf_counter()
            row["general_seconds"] = round(t3 - t2, 3)
            row["general_ratio"] = round((t3 - t2) / max(t1 - t0, 1e-9), 2)
            row["identical"] = row["identical"] and gen.starts == ext.starts
        rows.append(row)
    if args.json:
        print(json.dumps({"results": rows}))
    else:
        for r in rows:
            general = ""
            if "general_seconds" in r:
                general = f"per-request layer {r['general_seconds']:.2f}s ({r['general_ratio']}x)  "
            print(
                f"{r['policy']:<12} n={r['n']}  base {r['base_seconds']:.2f}s  "
                f"extended {r['extended_seconds']:.2f}s  ({r['ratio']}x)  {general}"
                f"identical={r['identical']}"
            )
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
