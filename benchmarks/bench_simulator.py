"""Simulator speed: a 100,000-request Poisson trace with chat-like lengths (issue: ratio/).

Lengths are log-normal like chat traffic (prompt mean 256, output mean 128 tokens, clipped to
1..2048 and 1..1024); arrivals are Poisson at 0.5 per round, so about 64 requests are in flight;
M = 24,576 tokens makes memory bind at the peaks. The same trace is simulated with each policy
in one run; the report gives requests per second and each policy's time relative to ``fcfs``
measured in the same run.

Run: ``python benchmarks/bench_simulator.py [--n 100000] [--policies svf,fcfs] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ratio import Instance, check, simulate
from ratio.gen import generate


def make_trace(n: int, seed: int = 1) -> Instance:
    return generate(
        n,
        capacity=24576,
        arrivals="poisson",
        rate=0.5,
        prompt_dist="lognormal",
        prompt_range=(1, 2048),
        prompt_mean=256.0,
        output_dist="lognormal",
        output_range=(1, 1024),
        output_mean=128.0,
        seed=seed,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--policies", default="fcfs,svf")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="also run the independent checker")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    inst = make_trace(args.n, args.seed)
    rows = []
    for pol in args.policies.split(","):
        t0 = time.perf_counter()
        res = simulate(inst, pol)
        dt = time.perf_counter() - t0
        mem = res.memory
        in_flight = float(
            sum(r.output for r in inst.requests)
            / max(1, res.costs.makespan - inst.requests[0].arrival)
        )
        row = {
            "policy": pol,
            "seconds": round(dt, 3),
            "requests_per_second": round(args.n / dt),
            "rounds": int(res.costs.makespan),
            "mean_in_flight": round(in_flight, 1),
            "peak_memory": int(mem.max()),
            "total_latency": res.total_latency,
        }
        if args.check:
            row["feasible"] = bool(check(inst, res.schedule))
        rows.append(row)
    base = rows[0]["seconds"]
    for r in rows:
        r["relative_to_first"] = round(r["seconds"] / base, 2) if base else None
    if args.json:
        print(json.dumps({"n": args.n, "M": inst.capacity, "results": rows}))
    else:
        print(f"n = {args.n}, M = {inst.capacity}, Poisson rate 0.5/round, chat-like lengths")
        for r in rows:
            print(
                f"  {r['policy']:<16} {r['seconds']:7.2f} s  {r['requests_per_second']:>9} req/s  "
                f"x{r['relative_to_first']} of {rows[0]['policy']}  rounds {r['rounds']}  "
                f"in flight ~{r['mean_in_flight']}  peak mem {r['peak_memory']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
