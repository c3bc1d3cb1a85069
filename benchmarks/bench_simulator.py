"""Simulator speed: a 100,000-request Poisson trace with chat-like lengths (issue: ratio/).

Lengths are log-normal like chat traffic (prompt mean 256, output mean 128 tokens, clipped to
1..2048 and 1..1024); arrivals are Poisson at 0.5 per round, so about 64 requests are in flight;
M = 24,576 tokens makes memory bind at the peaks. The same trace is simulated with each policy
in one run; the report gives requests per second and each policy's time relative to ``fcfs``
measured in the same run.

Run: ``python benchmarks/bench_simulator.py [--n 100000] [--policies svf,fcfs] [--json]``

``--against REV`` also times ``ratio/simulator.py`` as it was at git revision ``REV`` (loaded
from ``git show`` into a module of its own, with today's policies), interleaved with today's
in the same run, best of ``--reps``, and checks that both give the same schedule: how the
base path's speed compares with an earlier version's (issue 18 asks for within 10 %).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
    ap.add_argument("--against", metavar="REV", help="also time ratio/simulator.py at REV")
    ap.add_argument("--reps", type=int, default=3, help="repetitions with --against")
    args = ap.parse_args(argv)
    inst = make_trace(args.n, args.seed)
    if args.against:
        return against(inst, args)
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


def _old_simulator(rev: str) -> Any:
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:ratio/simulator.py"], cwd=root, check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_simulator.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("old_simulator", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_simulator"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def against(inst: Any, args: argparse.Namespace) -> int:
    old = _old_simulator(args.against)
    rows = []
    for pol in args.policies.split(","):
        t_old, t_new = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            a = old.simulate(inst, pol)
            t_old.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = simulate(inst, pol)
            t_new.append(time.perf_counter() - t0)
            if a.schedule != b.schedule:
                raise SystemExit(f"{pol}: the schedules differ from {args.against}'s")
        rows.append(
            {
                "policy": pol,
                "seconds_then": round(min(t_old), 3),
                "seconds_now": round(min(t_new), 3),
                "now_over_then": round(min(t_new) / min(t_old), 3),
            }
        )
    if args.json:
        print(json.dumps({"n": args.n, "against": args.against, "results": rows}))
    else:
        print(f"n = {args.n}, best of {args.reps}, interleaved; then = {args.against}")
        for r in rows:
            print(
                f"  {r['policy']:<16} then {r['seconds_then']:6.2f} s  now "
                f"{r['seconds_now']:6.2f} s  now/then {r['now_over_then']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
