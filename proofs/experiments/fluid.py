"""The reproductions of issue 9 as plain functions (used by ``tests/fluid``, the notebooks
``proofs/notebooks/fluid_*.py`` and ``docs/fluid.md``). Every function takes ``seed`` where it
draws anything."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ratio.engine import run_engine
from ratio.model import Instance, Request
from ratio.queueing.fluid import FluidType, ao_equilibrium_lp
from ratio.queueing.policy import EnginePolicy, get_engine_policy
from ratio.queueing.views import EngineSpec, QRequest

__all__ = [
    "TEN_TYPE_WEIGHTS",
    "CycleRun",
    "eviction_cycle",
    "ten_types",
    "boundary",
    "poisson_trace",
    "run_load",
    "StablePoint",
    "stable_range_point",
    "SafetyPoint",
    "safety_margin_sweep",
    "GateRouteRun",
    "gate_route_revenue",
]

#: Ao et al.'s ten-type mix: outputs 50, 100, ..., 500 with these relative rates (prompt 60).
TEN_TYPE_WEIGHTS = (230, 110, 80, 70, 60, 40, 30, 20, 10, 10)


@dataclass(frozen=True)
class CycleRun:
    """Per round of the saturated one-type run: admitted, decoded, completed, memory."""

    policy: str
    admitted: list[int]
    decoded: list[int]
    completed: list[int]
    memory: list[int]
    evictions: int


def eviction_cycle(
    policy: str | EnginePolicy,
    *,
    prompt: int = 2,
    capacity: int = 140,
    stage2: int = 19,
    rounds: int = 40,
) -> CycleRun:
    """One type (``prompt``, two output rounds), saturated input, ``stage2`` requests already in
    their second round at round 0 (greedy then admits 21 at ``s = 2``, ``M = 140``: stages 21 and
    19). Returns the per-round trajectory (Ao, Dong, Luo, Simchi-Levi, arXiv 2606.15555)."""
    n = stage2 + (capacity // (prompt + 1) + 1) * (rounds + 1)
    reqs = [QRequest(0, prompt, 2) for _ in range(n)]
    init = {i: (0, prompt, 1) for i in range(stage2)}
    pol = get_engine_policy(policy)
    res = run_engine(
        reqs, pol, engines=[EngineSpec(capacity)], until=rounds, record_batches=True, initial=init
    )
    done = Counter(c for c in res.completions if c >= 0)
    adm, dec, mem = [], [], []
    for b in res.batches:
        adm.append(sum(1 for w in b.work if w.prefill))
        dec.append(sum(1 for w in b.work if w.decode))
        mem.append(b.memory)
    comp = [done.get(r + 1, 0) for r in range(len(adm))]
    return CycleRun(pol.spec, adm, dec, comp, mem, res.evictions)


def ten_types(prompt: int = 60, step: int = 50) -> list[FluidType]:
    """The ten types (outputs ``step, 2 step, ..., 10 step``) with :data:`TEN_TYPE_WEIGHTS`."""
    return [FluidType(prompt, step * (k + 1), float(w)) for k, w in enumerate(TEN_TYPE_WEIGHTS)]


def boundary(types: Sequence[FluidType], capacity: int) -> float:
    """The fluid boundary (requests per round) of the mix: Ao's equilibrium LP in unit time."""
    return ao_equilibrium_lp(list(types), capacity).optimum


def poisson_trace(
    types: Sequence[FluidType],
    rate: float,
    horizon: int,
    capacity: int,
    seed: int,
    burst: int = 0,
) -> Instance:
    """Poisson arrivals of total ``rate`` per round over ``horizon`` rounds, types drawn by their
    weights, arrival times rounded up to rounds (``queueing.md`` Q2). ``burst`` more requests,
    types drawn the same way, arrive at time 0: an initial backlog (the Poisson part is the same
    trace as without it)."""
    rng = np.random.default_rng(seed)
    w = np.array([t.rate for t in types], dtype=float)
    w /= w.sum()
    n = int(rng.poisson(rate * horizon))
    times = np.sort(rng.uniform(0, horizon, size=n))
    kinds = rng.choice(len(types), size=n, p=w)
    first = tuple(
        Request(0, types[k].prompt, types[k].output)
        for k in rng.choice(len(types), size=burst, p=w)
    )
    reqs = first + tuple(
        Request(int(math.ceil(a)), types[k].prompt, types[k].output)
        for a, k in zip(times, kinds, strict=True)
    )
    meta: dict[str, Any] = {"seed": seed, "generator": "fluid.poisson_trace"}
    if burst:
        meta["burst"] = burst
    return Instance(capacity, reqs, meta)


def run_load(
    policy: str | EnginePolicy, inst: Instance, until: int | None = None
) -> dict[str, Any]:
    """Run a policy on a trace with one unit-time engine: throughput (completions per round over
    the second half), evictions, backlog slope (requests per round, second half), latencies."""
    from ratio.engine import requests_of

    pol = get_engine_policy(policy)
    horizon = until if until is not None else None
    res = run_engine(
        requests_of(inst),
        pol,
        engines=[EngineSpec(inst.capacity)],
        until=horizon,
        record_backlog=True,
        instance=inst,
    )
    end = float(res.end_time) if horizon is None else float(horizon)
    half = end / 2
    # Rounds ending in (half, end]: end - half of them (a round ending at ``half`` began before).
    comp = [c for c in res.completion_times if c is not None and c > half]
    bl = res.backlog
    assert bl is not None
    t, q = bl[:, 0], bl[:, 1]
    sel = t >= half
    slope = float(np.polyfit(t[sel], q[sel], 1)[0]) if sel.sum() > 2 else 0.0
    done = [
        float(c - r.arrival)
        for c, r in zip(res.completion_times, res.requests, strict=True)
        if c is not None
    ]
    return {
        "policy": pol.spec,
        "throughput": len(comp) / max(1.0, end - half),
        "evictions": res.evictions,
        "backlog_slope": slope,
        "final_backlog": int(q[-1]) if len(q) else 0,
        "completed": len(done),
        "total_latency": float(sum(done)),
        "mean_latency": float(np.mean(done)) if done else math.nan,
        "result": res,
    }


@dataclass(frozen=True)
class StablePoint:
    """One (policy, load) point of the stable-range experiment: ``load`` as a fraction of the
    fluid boundary ``boundary``, arrival rate ``rate`` (requests per round), ``throughput``
    (completions per round over the second half), ``evictions``, the backlog slope (requests per
    round, second half) with its batch-means standard error, the ``queueing.md`` Q6 ``verdict``
    against the backlog ``bound``, and the largest backlog seen."""

    policy: str
    load: float
    boundary: float
    rate: float
    n: int
    throughput: float
    evictions: int
    slope: float
    slope_se: float
    max_backlog: int
    bound: float
    verdict: str
    #: ``(time, requests)`` rows of the backlog (arrived, not completed), one per round.
    backlog: np.ndarray | None = field(default=None, repr=False, compare=False)


def stable_range_point(
    policy: str | EnginePolicy,
    load: float,
    *,
    types: Sequence[FluidType] | None = None,
    capacity: int = 20000,
    horizon: int = 600,
    seed: int = 1,
    burst: int = 0,
) -> StablePoint:
    """Run ``policy`` on Poisson arrivals of the mix ``types`` (default: the ten types scaled by
    1/10, prompt 6 and outputs 5, ..., 50) at ``load`` times the fluid boundary of Ao's LP
    (:func:`boundary`) for ``horizon`` rounds, and judge stability as ``queueing.md`` Q6 does
    (slope of the backlog in requests over the second half, batch-means SE from
    :func:`ratio.queueing.stability.fit_slope`; bound: ``4 * rate * max output`` requests,
    i.e. four times the backlog of every request served without waiting). ``burst``: requests
    waiting at time 0 besides the Poisson stream (:func:`poisson_trace`), to start saturated."""
    from ratio.queueing.stability import fit_slope, verdict_of

    ts = list(types) if types is not None else ten_types(prompt=6, step=5)
    b = boundary(ts, capacity)
    rate = load * b
    inst = poisson_trace(ts, rate, horizon, capacity, seed, burst=burst)
    r = run_load(policy, inst, until=horizon)
    bl = r["result"].backlog
    assert bl is not None
    slope, se = fit_slope(bl[:, 0], bl[:, 1], horizon / 2, float(horizon))
    bound = 4.0 * rate * max(t.output for t in ts)
    max_backlog = int(bl[:, 1].max()) if len(bl) else 0
    return StablePoint(
        str(r["policy"]),
        load,
        b,
        rate,
        inst.n,
        float(r["throughput"]),
        int(r["evictions"]),
        slope,
        se,
        max_backlog,
        bound,
        verdict_of(slope, se, max_backlog, bound),
        bl[:, :2].copy(),
    )


@dataclass(frozen=True)
class SafetyPoint:
    """Nested WAIT at one threshold ``L`` (``factor`` times the memory-safe ``safe``) on one
    trace of ``n`` requests arriving at ``rate`` per round: ``evictions`` (and per request),
    ``throughput`` (completions per round over the second half) and mean latency in rounds."""

    load: float
    rate: float
    factor: float
    L: int
    safe: int
    n: int
    evictions: int
    eviction_rate: float
    throughput: float
    mean_latency: float


def safety_margin_sweep(
    factors: Sequence[float],
    load: float,
    *,
    types: Sequence[FluidType] | None = None,
    capacity: int = 20000,
    horizon: int = 600,
    seed: int = 1,
) -> list[SafetyPoint]:
    """Nested WAIT's safety margin (issue 9): run ``NestedWait(L)``, given the output-length
    distribution of the mix, at ``L = round(f * safe)`` for each ``f`` in ``factors``, where
    ``safe`` is the memory-safe threshold for the mean prompt
    (:func:`~ratio.policies.nested_wait.max_nested_threshold`), on one Poisson trace at
    ``load`` times Ao's fluid boundary (default mix: the ten types scaled by 1/10, M = 20000)."""
    from ratio.policies.nested_wait import NestedWait, max_nested_threshold

    ts = list(types) if types is not None else ten_types(prompt=6, step=5)
    outs = {t.output: t.rate for t in ts}
    mean_prompt = sum(t.rate * t.prompt for t in ts) / sum(t.rate for t in ts)
    safe = max_nested_threshold(outs, mean_prompt, capacity)
    rate = load * boundary(ts, capacity)
    inst = poisson_trace(ts, rate, horizon, capacity, seed)
    points = []
    for f in factors:
        L = max(1, round(f * safe))
        r = run_load(NestedWait(L=L).with_outputs(outs), inst, until=horizon)
        ev = int(r["evictions"])
        points.append(
            SafetyPoint(
                load,
                rate,
                float(f),
                L,
                safe,
                inst.n,
                ev,
                ev / max(1, inst.n),
                float(r["throughput"]),
                float(r["mean_latency"]),
            )
        )
    return points


@dataclass(frozen=True)
class GateRouteRun:
    """One run of :func:`gate_route_revenue`, per GPU per time unit over the measurement
    window (the last two thirds of the horizon).

    ``revenue``: the reward of every request completed in the window. ``token_revenue``: each
    decode token run in the window earns ``reward / output`` of its request -- the LP's own
    accounting (its objective counts decode throughput ``y_i / (o_i tau) + gamma z_i / o_i``),
    with the same long-run mean as ``revenue`` but without the error of a window that cuts
    through synchronised decode cycles (a mixed engine whose slots all refill at once completes
    its decodes in waves of 60 time units here). ``lp``: the LP value; ``lp_split``: the LP
    with the mixed share fixed to ``mixed / n``, the best a policy can do with that integer
    split. ``mixed_occupancy`` / ``solo_occupancy``: decode streams per mixed engine (of
    ``B - 1``) and per decode-only engine (of ``B``), averaged over the window. ``decode_queue``:
    prefilled requests waiting for a decode slot at the end; ``prefill_share``: share of GPU
    time the prefill slots spent on each class (the LP's ``x_i``)."""

    n: int
    revenue: float
    token_revenue: float
    lp: float
    lp_split: float
    mixed: int
    mixed_occupancy: float
    solo_occupancy: float
    decode_queue: int
    prefill_share: tuple[float, ...]


def gate_route_revenue(
    n: int,
    *,
    gate: bool = True,
    route: bool = True,
    local: bool = True,
    horizon: int = 600,
    seed: int = 1,
    classes: Sequence[Any] | None = None,
    B: int = 8,
    tau: str = "mixed_solo:alpha=1,beta=1/16,gamma=1",
    chunk: int = 16,
) -> GateRouteRun:
    """Revenue per GPU per time unit of ``gate_and_route`` (or a baseline) on ``n`` engines
    (Zhang, Lin, Han, Ding, arXiv 2602.02987), with the LP value, the LP value at the integer
    split and the measured occupancies (:class:`GateRouteRun`).
    Arrivals: Poisson per class at ``n * rate``, on integer times (so that every engine's
    rounds, of length 2 mixed and 1 decode-only here, meet on a common grid and KV moves between
    ready engines). No abandonment: the LP's excess arrivals stay in the prefill queue."""
    # long: one experiment: setup, the run with its per-batch accounting, the results
    from ratio.policies.gate_and_route import GateAndRoute, RequestClass
    from ratio.queueing.tau import MixedSolo, parse_tau

    cls = (
        list(classes)
        if classes is not None
        else [
            RequestClass(16, 30, 0.2, 1.0),
            RequestClass(64, 30, 0.2, 1.0),
        ]
    )
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, float]] = []
    for c in cls:
        m = int(rng.poisson(c.rate * n * horizon))
        rows.extend((int(a), c.prompt, c.output, c.reward) for a in rng.uniform(0, horizon, m))
    rows.sort()
    reqs = [QRequest(a, s, o) for a, s, o, _ in rows]
    reward = {(c.prompt, c.output): c.reward for c in cls}
    index = {(c.prompt, c.output): k for k, c in enumerate(cls)}
    pol = GateAndRoute(gate=gate, route=route, local=local, chunk=chunk).with_classes(cls)
    spec = EngineSpec(None, None, B, parse_tau(tau))
    warm = horizon / 3
    acc = {"tok": 0.0, "mixed": 0.0, "solo": 0.0}
    pf = [0.0] * len(cls)

    last: list[Any] = []

    def on_batch(state: Any, plan: Sequence[Any]) -> None:
        last[:] = [state]  # its queries read the run as it ends, too
        # Each engine's iteration counts for the part of it inside the window; its decode
        # tokens are credited in the same proportion (the fluid view of a token).
        t = float(state.time)
        per: dict[int, list[Any]] = {}
        for w in plan:
            per.setdefault(w.engine, []).append(w)
        for x, items in per.items():
            dur = float(spec.tau.duration(sum(w.prefill for w in items), 0))
            inside = min(t + dur, float(horizon)) - max(t, warm)
            if inside <= 0:
                continue
            for w in items:
                r = reqs[w.request]
                if w.decode:
                    acc["tok"] += reward[(r.prompt, r.output)] / r.output * inside / dur
                    acc["mixed" if x < pol.mixed else "solo"] += inside
                elif w.prefill:
                    pf[index[(r.prompt, r.output)]] += inside

    res = run_engine(reqs, pol, engines=[spec] * n, until=horizon, on_batch=on_batch)
    span = horizon - warm
    rev = sum(
        reward[(r.prompt, r.output)]
        for r, c in zip(res.requests, res.completion_times, strict=True)
        if c is not None and c > warm
    )
    solo = n - pol.mixed
    waiting = sum(1 for p in last[0].running() if p.prefill_left <= 0 and p.index not in pol.slot)
    assert isinstance(spec.tau, MixedSolo)
    split = pol.lp(spec.tau, B, mixed_share=pol.mixed / n).optimum
    return GateRouteRun(
        n,
        rev / (n * span),
        acc["tok"] / (n * span),
        pol.result.optimum,
        split,
        pol.mixed,
        acc["mixed"] / (pol.mixed * span),
        acc["solo"] / (solo * span) if solo else 0.0,
        waiting,
        tuple(v / (n * span) for v in pf),
    )
