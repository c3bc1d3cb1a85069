"""Benchmark of the search's screen (``adversaries.objective.screen``): compiled path against
the Python path, in one run (issue 15: "evaluations at n = 10^4 take milliseconds").

For each size and regime it draws structured traces of the search's default space
(:func:`adversaries.space.sample_genome`, lengths up to 10^5, ``M`` up to 10^7, alpha <= 3/4),
and times, per policy, ``screen(instance, policy)`` (the compiled loop of
:mod:`ratio.fastsim`, the numpy bound and certificate) and ``screen(instance, policy,
fast=False)`` (``ratio.simulate``, ``offline_opt.bounds.lower_bound``,
``waiting_certificate``) on the same traces, each on a freshly built ``Instance`` (as in a
search, where no array of the trace is cached yet). It checks that both give the same run,
bound and certificate. The compiled code is loaded (or compiled, once) before timing.

Usage: ``python benchmarks/bench_screen.py [--sizes 1000,10000] [--traces 3]
[--regimes all_at_zero,online] [--policies svf,sjf,spf,fcfs,mcsf] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from fractions import Fraction
from typing import Any

import numpy as np

from adversaries.objective import screen
from adversaries.space import SearchSpace, expand, sample_genome, to_instance
from ratio import fastsim


def traces(n: int, regime: str, count: int, seed: int = 0) -> list[Any]:
    space = SearchSpace(
        policy="svf",
        regime=regime,
        n_min=n,
        n_max=n,
        prompt_range=(1, 100_000),
        output_range=(1, 100_000),
        alpha_max=Fraction(3, 4),
        capacity_max=10**7,
    )
    rng = np.random.default_rng(seed)
    return [expand(sample_genome(space, rng)) for _ in range(count)]


def time_screen(points: list[Any], policy: str, *, fast: bool, reps: int) -> tuple[float, list]:
    """Median milliseconds of one screen over ``reps`` rounds of the traces, and the results."""
    times = []
    out = []
    for r in range(reps):
        for p in points:
            inst = to_instance(p)  # fresh: no cached arrays
            t0 = time.perf_counter()
            sim, lb, cert = screen(inst, policy, fast=fast)
            times.append(time.perf_counter() - t0)
            if r == 0:
                out.append((sim.starts, sim.total_latency, lb, cert, type(sim).__name__))
    return 1000 * statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--traces", type=int, default=3, help="traces per size and regime")
    ap.add_argument("--reps", type=int, default=3, help="timed passes over the traces")
    ap.add_argument("--regimes", default="all_at_zero,online")
    ap.add_argument("--policies", default="svf,sjf,spf,fcfs,mcsf")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    if not fastsim.available():
        raise SystemExit("numba is not installed: pip install 'kvratio[opt]'")
    rows: list[dict[str, Any]] = []
    warm = traces(256, "all_at_zero", 1)[0]
    screen(to_instance(warm), "svf")  # load (or compile) the compiled loop before timing
    print(f"{'n':>6} {'regime':12} {'policy':6} {'fast ms':>8} {'python ms':>10} {'speedup':>8}")
    for n in (int(x) for x in a.sizes.split(",")):
        for regime in a.regimes.split(","):
            points = traces(n, regime, a.traces)
            for policy in a.policies.split(","):
                fast_ms, fast_out = time_screen(points, policy, fast=True, reps=a.reps)
                slow_ms, slow_out = time_screen(points, policy, fast=False, reps=1)
                for f, s in zip(fast_out, slow_out, strict=True):
                    assert f[:4] == s[:4], f"{policy}, n = {n}, {regime}: the paths differ"
                    assert f[4] == "FastSimResult", f"{policy}: the compiled loop was not used"
                row = {
                    "n": n,
                    "regime": regime,
                    "policy": policy,
                    "traces": len(points),
                    "fast_median_ms": round(fast_ms, 2),
                    "python_median_ms": round(slow_ms, 2),
                    "speedup": round(slow_ms / fast_ms, 1),
                }
                rows.append(row)
                print(
                    f"{n:>6} {regime:12} {policy:6} {fast_ms:>8.2f} {slow_ms:>10.2f} "
                    f"{slow_ms / fast_ms:>7.1f}x",
                    flush=True,
                )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"screen": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
