"""Trace operations shared by ``import``, ``simulate``, ``ratio`` and ``compare`` (issue 19,
item 2), wall-clock units beside rounds (item 1), and ``kvratio trace stats``.

Slicing
=======
Applied in this order, each to what the previous left:

1. ``--window START..END``: the requests arriving in ``[START, END)``. The unit is **seconds**
   when the trace has a time base, measured from the trace's origin: its exact
   ``meta["arrival_ms"]`` (kept by ``kvratio import``) if present, else the start of each
   request's round at ``--round-ms`` or ``meta["round_ms"]``; otherwise **rounds**. The
   report says which (``window_unit``).
2. ``--head N``: the first ``N`` requests in index (arrival) order; all if ``N >= n``.
3. ``--sample K --seed S``: ``K`` requests drawn without replacement by
   ``random.Random(S).sample(range(n), K)``, kept in index order (reproducible for a given
   ``S`` and Python's documented ``random`` algorithm). ``K > n`` is refused.

The kept requests keep their ids, lengths and order. Arrivals are shifted by the first kept
request's round ``a0`` (exact integers) so that the slice starts at round 0; ``arrival_ms`` is
shifted by ``a0 * round_ms`` on a fixed round grid (so ``floor(ms / round_ms)`` still gives the
round) and by the first kept request's time otherwise. Per-request side data (``hash_ids``,
predictions, intervals, classes) follow their requests. ``meta["slice"]`` records what was done.

Wall-clock units
================
With ``R`` milliseconds per round, a latency of ``L`` rounds is ``L * R / 1000`` seconds,
``makespan_s`` is the makespan in rounds times ``R / 1000`` (from round 0, the first arrival
after slicing) and ``throughput_rps`` is ``n / makespan_s``. Exact integers stay in rounds; the
seconds are floats for display.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ratio.errors import InputError
from ratio.model import Instance, Request

__all__ = [
    "SliceSpec",
    "parse_window",
    "time_base_ms",
    "apply_slice",
    "seconds_fields",
    "seconds_from_costs",
    "seconds_rows",
    "scale_to_capacity",
    "sliced",
    "wallclock",
    "add_slice_args",
    "slice_from_args",
    "trace_stats",
]


@dataclass(frozen=True)
class SliceSpec:
    """What to cut (``None``: no cut of that kind)."""

    head: int | None = None
    window: tuple[float, float] | None = None
    sample: int | None = None
    seed: int = 0

    @property
    def empty(self) -> bool:
        return self.head is None and self.window is None and self.sample is None


@dataclass(frozen=True)
class SliceResult:
    instance: Instance
    report: dict[str, Any] = field(default_factory=dict)


def parse_window(text: str) -> tuple[float, float]:
    """``"START..END"`` with finite numbers ``0 <= START < END``.

    >>> parse_window("10..70.5")
    (10.0, 70.5)
    """
    lo, sep, hi = str(text).partition("..")
    try:
        a, b = float(lo), float(hi)
    except ValueError:
        raise InputError(f"--window: expected START..END (numbers), got {text!r}") from None
    if not sep or not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b <= a:
        raise InputError(f"--window: expected START..END with 0 <= START < END, got {text!r}")
    return a, b


def time_base_ms(instance: Instance, round_ms: float | None = None) -> float | None:
    """Milliseconds per round: ``round_ms`` if given, else the trace's ``meta["round_ms"]``."""
    if round_ms is not None:
        if not (math.isfinite(round_ms) and round_ms > 0):
            raise InputError(f"--round-ms must be a positive number, got {round_ms}")
        return float(round_ms)
    v = instance.meta.get("round_ms")
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return float(v)
    return None


def _arrival_ms(instance: Instance) -> list[float] | None:
    v = instance.meta.get("arrival_ms")
    if isinstance(v, list | tuple) and len(v) == instance.n:
        try:
            return [float(x) for x in v]
        except (TypeError, ValueError):
            return None
    return None


def _pick(instance: Instance, keep: Sequence[int]) -> Instance:
    if not keep:
        raise InputError("the slice keeps no request (widen --window or raise --head/--sample)")
    a0 = min(instance.requests[i].arrival for i in keep)
    reqs = [instance.requests[i] for i in keep]
    new = tuple(Request(r.arrival - a0, r.prompt, r.output, r.id) for r in reqs)
    meta = dict(instance.meta)
    ms = _arrival_ms(instance)
    if ms is not None:
        rms = time_base_ms(instance) if meta.get("clock") == "round_ms" else None
        shift = a0 * rms if rms is not None else None
        if shift is None:
            shift = min(ms[i] for i in keep)
        meta["arrival_ms"] = [_tidy(ms[i] - shift) for i in keep]
    for key in ("hash_ids",):
        v = meta.get(key)
        if isinstance(v, list | tuple) and len(v) == instance.n:
            meta[key] = [v[i] for i in keep]
    return Instance(
        instance.capacity,
        new,
        meta,
        None if instance.predictions is None else tuple(instance.predictions[i] for i in keep),
        None if instance.intervals is None else tuple(instance.intervals[i] for i in keep),
        None if instance.classes is None else tuple(instance.classes[i] for i in keep),
        instance.class_theta,
    )


def _tidy(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


def apply_slice(
    instance: Instance, spec: SliceSpec, *, round_ms: float | None = None
) -> SliceResult:
    """Cut ``instance`` by ``spec`` (module docstring); returns the new instance and a report
    (``n_before``, ``n``, and each cut that was made)."""
    if spec.empty:
        return SliceResult(instance, {})
    rms = time_base_ms(instance, round_ms)
    idx = list(range(instance.n))
    rep: dict[str, Any] = {"n_before": instance.n}
    if spec.window is not None:
        lo, hi = spec.window
        ms = _arrival_ms(instance)
        if ms is not None:
            t = [x / 1000.0 for x in ms]
            unit = "s"
        elif rms is not None:
            t = [r.arrival * rms / 1000.0 for r in instance.requests]
            unit = "s"
        else:
            t = [float(r.arrival) for r in instance.requests]
            unit = "rounds"
        idx = [i for i in idx if lo <= t[i] < hi]
        rep["window"] = [lo, hi]
        rep["window_unit"] = unit
    if spec.head is not None:
        if spec.head < 1:
            raise InputError(f"--head must be an integer >= 1, got {spec.head}")
        idx = idx[: spec.head]
        rep["head"] = spec.head
    if spec.sample is not None:
        if spec.sample < 1:
            raise InputError(f"--sample must be an integer >= 1, got {spec.sample}")
        if spec.sample > len(idx):
            raise InputError(f"--sample {spec.sample} is more than the {len(idx)} requests left")
        idx = sorted(idx[j] for j in random.Random(spec.seed).sample(range(len(idx)), spec.sample))
        rep["sample"] = spec.sample
        rep["seed"] = spec.seed
    out = _pick(instance, idx)
    rep["n"] = out.n
    meta = dict(out.meta)
    meta["slice"] = rep
    return SliceResult(
        Instance(
            out.capacity,
            out.requests,
            meta,
            out.predictions,
            out.intervals,
            out.classes,
            out.class_theta,
        ),
        rep,
    )


def seconds_fields(
    latencies_rounds: Sequence[int] | np.ndarray, makespan: int, n: int, round_ms: float
) -> dict[str, float]:
    """``mean_latency_s``, ``p50_latency_s``, ``p99_latency_s``, ``makespan_s`` and
    ``throughput_rps`` from exact round figures and ``round_ms`` (module docstring).

    >>> seconds_fields([2, 4], 4, 2, 50.0)["throughput_rps"]
    10.0
    """
    lat = np.asarray(latencies_rounds, dtype=float)
    k = round_ms / 1000.0
    span = makespan * k
    return {
        "round_ms": float(round_ms),
        "mean_latency_s": float(lat.mean()) * k if lat.size else 0.0,
        "p50_latency_s": float(np.percentile(lat, 50)) * k if lat.size else 0.0,
        "p99_latency_s": float(np.percentile(lat, 99)) * k if lat.size else 0.0,
        "makespan_s": span,
        "throughput_rps": n / span if span > 0 else 0.0,
    }


def seconds_from_costs(costs: Any, n: int, round_ms: float) -> dict[str, float]:
    """:func:`seconds_fields` from a :class:`ratio.costs.Costs` (same percentiles)."""
    k = round_ms / 1000.0
    span = costs.makespan * k
    return {
        "round_ms": float(round_ms),
        "mean_latency_s": costs.mean_latency * k,
        "p50_latency_s": costs.p50_latency * k,
        "p99_latency_s": costs.p99_latency * k,
        "makespan_s": span,
        "throughput_rps": n / span if span > 0 else 0.0,
    }


def seconds_rows(sec: Mapping[str, float]) -> list[tuple[str, str]]:
    """Table rows for the seconds beside the rounds."""
    return [
        ("round duration", f"{sec['round_ms']:g} ms"),
        (
            "mean / p50 / p99 latency (s)",
            f"{sec['mean_latency_s']:.3f} / {sec['p50_latency_s']:.3f} / "
            f"{sec['p99_latency_s']:.3f}",
        ),
        ("makespan (s)", f"{sec['makespan_s']:.3f}"),
        ("throughput (requests/s)", f"{sec['throughput_rps']:.3f}"),
    ]


# --- argparse glue (shared by the four commands) ---------------------------------------------
def add_slice_args(p: Any, *, round_ms: bool = True) -> None:
    """Add ``--head``, ``--window``, ``--sample``, ``--seed`` (and ``--round-ms``) to ``p``."""
    p.add_argument("--head", type=int, metavar="N", help="keep the first N requests")
    p.add_argument(
        "--window",
        metavar="START..END",
        help="keep requests arriving in [START, END): seconds from the trace's origin when it "
        "has timestamps or a round duration (--round-ms, meta round_ms), else rounds",
    )
    p.add_argument("--sample", type=int, metavar="K", help="keep K requests drawn at random")
    if not any(a.dest == "seed" for a in p._actions):
        p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    if round_ms and not any(a.dest == "round_ms" for a in p._actions):
        p.add_argument(
            "--round-ms",
            type=float,
            metavar="MS",
            help="milliseconds per round: adds seconds beside rounds (default: the trace's "
            "meta round_ms, set by kvratio import)",
        )


def slice_from_args(args: Any) -> SliceSpec:
    w = getattr(args, "window", None)
    return SliceSpec(
        head=getattr(args, "head", None),
        window=parse_window(w) if w is not None else None,
        sample=getattr(args, "sample", None),
        seed=int(getattr(args, "seed", 0) or 0),
    )


def sliced(args: Any, instance: Instance) -> Instance:
    """The instance cut by the command's slicing options (unchanged without them); a cut is
    said on stderr and its report kept in the instance's ``meta["slice"]``."""
    spec = slice_from_args(args)
    if spec.empty:
        return instance
    out = apply_slice(instance, spec, round_ms=getattr(args, "round_ms", None))
    print(f"sliced {out.report['n_before']} -> {out.instance.n} requests", file=sys.stderr)
    return out.instance


def wallclock(
    args: Any, instance: Instance, costs: Any, obj: dict[str, Any]
) -> list[tuple[str, str]]:
    """Seconds beside rounds for a command's report, with a time base (``--round-ms`` or the
    trace's own): adds the fields (and this command's slice report) to ``obj`` and returns the
    table rows."""
    if not slice_from_args(args).empty:
        obj["slice"] = dict(instance.meta["slice"])
    rms = time_base_ms(instance, getattr(args, "round_ms", None))
    if rms is None or costs is None:
        return []
    sec = seconds_from_costs(costs, instance.n, rms)
    obj.update(sec)
    return seconds_rows(sec)


# --- kvratio trace stats ---------------------------------------------------------------------
_QS = (0, 50, 90, 99, 100)


def _quantiles(x: Sequence[int]) -> dict[str, float]:
    a = np.asarray(x, dtype=float)
    return {
        ("min" if q == 0 else "max" if q == 100 else f"p{q}"): float(np.percentile(a, q))
        for q in _QS
    } | {"mean": float(a.mean())}


def trace_stats(
    instance: Instance, *, capacity: int | None = None, round_ms: float | None = None
) -> dict[str, Any]:
    """n, length quantiles, ``alpha = max P / M`` at ``capacity`` (default the trace's ``M``)
    and the offered load against the memory boundary of ``docs/queueing.md`` Q6
    (:func:`ratio.queueing.stability.boundary_of` with unit rounds: ``M / E[s o + o(o+1)/2]``
    requests per round). The offered rate is ``n / (last arrival - first arrival + 1)``
    requests per round; ``load`` = rate / boundary (above 1: memory cannot keep up; well
    below 1: memory never binds and every policy is near optimal)."""
    from fractions import Fraction

    from ratio.queueing.stability import Workload, boundary_of

    if instance.n == 0:
        raise InputError("the trace has no requests")
    m = instance.capacity if capacity is None else int(capacity)
    peaks = instance.peaks
    if max(peaks) > m:
        raise InputError(
            f"--capacity {m} is below the largest request's peak s+o = {max(peaks)}: "
            "it could never run"
        )
    counts: dict[tuple[int, int], int] = {}
    for r in instance.requests:
        counts[(r.prompt, r.output)] = counts.get((r.prompt, r.output), 0) + 1
    wl = Workload(types=tuple((s, o, float(c)) for (s, o), c in sorted(counts.items())))
    bound, formula = boundary_of(wl, tau="unit", capacity=m)
    a = [r.arrival for r in instance.requests]
    span = max(a) - min(a) + 1
    free_peak = _free_peak(instance)
    rate = Fraction(instance.n, span)
    out: dict[str, Any] = {
        "n": instance.n,
        "M": m,
        "alpha": str(Fraction(max(peaks), m)),
        "alpha_float": max(peaks) / m,
        "prompt": _quantiles([r.prompt for r in instance.requests]),
        "output": _quantiles([r.output for r in instance.requests]),
        "peak": _quantiles(peaks),
        "arrival_span_rounds": span,
        "rate_per_round": float(rate),
        "boundary_per_round": float(bound),
        "boundary_formula": formula,
        "load": float(rate / bound),
        "free_peak": free_peak,
        "memory_binds": m < free_peak,
    }
    rms = time_base_ms(instance, round_ms)
    if rms is not None:
        out["round_ms"] = rms
        out["rate_rps"] = float(rate) * 1000.0 / rms
        out["boundary_rps"] = float(bound) * 1000.0 / rms
        out["arrival_span_s"] = span * rms / 1000.0
    return out


def _free_peak(instance: Instance) -> int:
    """Peak memory (tokens, model convention) when every request starts on arrival: with
    ``M >= free_peak`` that schedule is feasible, every latency is its minimum ``o_i`` and
    every policy that starts a request as soon as it fits (SVF, FCFS, SJF, vLLM's) runs it, so
    their ratios are exactly 1; memory can bind only below it."""
    from ratio.costs import memory_stats
    from ratio.model import Schedule

    big = Instance(max(instance.capacity, max(instance.peaks)), instance.requests)
    return memory_stats(big, Schedule(tuple(r.arrival for r in instance.requests)))[0]


def stats_text(st: Mapping[str, Any]) -> str:
    from ratio.cli import table

    rows = []
    for key in ("prompt", "output", "peak"):
        q = st[key]
        rows.append((key, *(f"{q[k]:g}" for k in ("min", "p50", "p90", "p99", "max", "mean"))))
    lines = [
        f"n = {st['n']}, M = {st['M']}, alpha = max(s+o)/M = {st['alpha']} "
        f"({st['alpha_float']:.4f})",
        table(rows, ("tokens", "min", "p50", "p90", "p99", "max", "mean")),
        f"arrivals over {st['arrival_span_rounds']} rounds"
        + (f" ({st['arrival_span_s']:.2f} s)" if "arrival_span_s" in st else "")
        + f": {st['rate_per_round']:.4g} requests/round"
        + (f" = {st['rate_rps']:.4g} requests/s" if "rate_rps" in st else ""),
        f"memory boundary {st['boundary_per_round']:.4g} requests/round"
        + (f" = {st['boundary_rps']:.4g} requests/s" if "boundary_rps" in st else "")
        + f" ({st['boundary_formula']})",
        f"offered load {st['load']:.3f} of the memory boundary (at 1 and above the backlog "
        "grows without bound)",
        f"peak memory if every request starts on arrival: {st['free_peak']} tokens = "
        f"{st['free_peak'] / st['M']:.0%} of M: "
        + (
            "memory binds (M is below it)"
            if st["memory_binds"]
            else "memory never binds at this M: policies that start what fits are optimal "
            "(ratio 1); choose "
            f"--capacity below {st['free_peak']}"
        ),
    ]
    return "\n".join(lines)


# --- scaling to a target capacity (issue 19, item 4) -----------------------------------------
def scale_to_capacity(instance: Instance, target: int) -> Instance:
    """Map ``instance`` (capacity ``M``) to capacity ``M' = target`` with the exact rule

    ``a' = floor(a M' / M)``, ``s' = max(1, floor(s M' / M))``, ``o' = max(1, floor(o M' / M))``

    (integer arithmetic). Prompt and output lengths scale with memory so that each request
    takes the same share of ``M'`` as of ``M`` (``alpha`` stays, up to the rounding down);
    arrivals scale too because a request's duration in rounds is ``o``: the gaps between
    arrivals grow with the work, so the offered load against the memory boundary
    (``docs/queueing.md`` Q6, ``M / E[V]`` with ``V`` quadratic in the lengths) is kept.
    Rounding down keeps ``s' + o' <= (s + o) M' / M <= M'`` when both floors are >= 1, and
    the ``max(1, .)`` cannot break it for ``M' >= 2``: if ``o' = 1`` by the max, then
    ``s' <= floor((M - 1) M' / M) <= M' - 1`` (``s <= M - 1`` as ``o >= 1``), and the other
    cases are alike, so every scaled request fits. The ratio is **not** scale-invariant
    (rounding and the ``-1`` terms of the volume), so the scaled trace
    must be certified again. Per-request side data that no longer fits (exact times, hash ids,
    predictions) is dropped; ``meta["scaled_from"]`` records ``M`` and the rule.

    >>> from ratio.model import Instance
    >>> inst = Instance.from_tuples(24, [(0, 5, 7), (3, 12, 12)])
    >>> [(r.arrival, r.prompt, r.output) for r in scale_to_capacity(inst, 100).requests]
    [(0, 20, 29), (12, 50, 50)]
    """
    if isinstance(target, bool) or not isinstance(target, int) or target < 2:
        raise InputError(f"--scale-to-capacity must be an integer >= 2, got {target!r}")
    m = instance.capacity
    reqs = []
    for i, r in enumerate(instance.requests):
        s = max(1, r.prompt * target // m)
        o = max(1, r.output * target // m)
        if s + o > target:
            raise InputError(
                f"--scale-to-capacity {target}: request {i} becomes s+o = {s}+{o} > {target}; "
                "choose a larger capacity"
            )
        reqs.append(Request(r.arrival * target // m, s, o, r.id))
    meta = {k: v for k, v in instance.meta.items() if k not in ("arrival_ms", "hash_ids", "slice")}
    meta["scaled_from"] = {
        "M": m,
        "M_target": target,
        "rule": "a' = floor(a M'/M), s' = max(1, floor(s M'/M)), o' = max(1, floor(o M'/M))",
    }
    return Instance(target, tuple(reqs), meta)
