"""The reproductions of issue 8 as plain functions (Dai, Deng, Li, Peng, arXiv 2504.07347, on the
extended engine; ``docs/queueing.md`` Q1-Q6), shared by ``tests/queueing/test_reproductions.py``,
the notebooks ``proofs/notebooks/stability_*.py`` and ``docs/stability.md``. Every function that
draws anything takes ``seed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import networkx as nx
import numpy as np

from ratio.engine import run_engine
from ratio.queueing.jobs import chain, fork_join
from ratio.queueing.policy import get_engine_policy
from ratio.queueing.stability import (
    StabilityReport,
    Workload,
    boundary_of,
    fit_slope,
    make_arrivals,
    run_stability,
)
from ratio.queueing.tau import parse_tau
from ratio.queueing.views import EngineSpec, QRequest

__all__ = [
    "STAIR",
    "MEMORY_POLICIES",
    "MEMORY_MIXES",
    "worked_example",
    "theorem2_sweep",
    "request_cap_sweep",
    "request_cap_batches",
    "agent_template",
    "agent_sweep",
    "JobRun",
    "agent_run",
    "rybko_stolyar_route",
    "rybko_stolyar_requests",
    "RSRun",
    "rybko_stolyar_run",
    "memory_sweep",
]

#: The staircase batch-time model of Dai et al.'s experiments (ms): ``11.28 + 35.47 ceil(b/128)``.
STAIR = "staircase:c=11.28,a=35.47,b0=128"

#: The policies of the KV-memory sweep (issue 8, deliverable 5).
MEMORY_POLICIES = ("fcfs", "svf", "mcsf", "sarathi", "vllm_fcfs")

#: Request mixes ``(prompt, output, weight)`` of the KV-memory sweep: one identical type (the
#: look-ahead policies then coincide) and three types whose order by volume ``V = s o +
#: o (o + 1) / 2`` (1620, 2055, 4040) differs from their order by output (10, 40, 80), so that
#: ``fcfs``, ``svf`` and ``mcsf`` differ.
MEMORY_MIXES: dict[str, tuple[tuple[int, int, float], ...]] = {
    "identical": ((20, 40, 1.0),),
    "varied": ((20, 40, 1.0), (200, 10, 1.0), (10, 80, 1.0)),
}


def worked_example(policy: str, budget: int = 4) -> list[str]:
    """The paper's five-request example: the batches, each written ``"Ad Bd Dp"`` (request letter,
    ``p`` prefill or ``d`` decode).

    Three requests decoding with 2, 4, 3 tokens left, two of 1 prefill + 1 decode token arriving
    during the first batch, token budget ``budget`` (4 in the text; the paper's Orca figure is
    drawn with 5), first token separate from the prefill (as in the paper; ``queueing.md`` Q2).
    """
    reqs = [
        QRequest(0, 1, 3, "A"),
        QRequest(0, 1, 5, "B"),
        QRequest(0, 1, 4, "C"),
        QRequest(Fraction(1, 2), 1, 1, "D"),
        QRequest(Fraction(1, 2), 1, 1, "E"),
    ]
    res = run_engine(
        reqs,
        get_engine_policy(policy),
        engines=[EngineSpec(token_budget=budget)],
        initial={0: (0, 1, 1), 1: (0, 1, 1), 2: (0, 1, 1)},
        record_batches=True,
    )
    if not res.complete:
        raise AssertionError(f"{policy}: the worked example did not complete")
    return [
        " ".join("ABCDE"[w.request] + ("p" if w.prefill else "d") for w in b.work)
        for b in res.batches
    ]


def theorem2_sweep(
    policy: str, loads: Sequence[float], *, horizon: float = 120000, seed: int = 1
) -> StabilityReport:
    """Theorem 2's setting: :data:`STAIR`, ``b_max = 512``, 100 + 100 tokens, Poisson arrivals.
    The boundary is ``(512 / tau(512)) / 200`` requests per ms; above it the fluid slope is
    ``lambda * 200 - 512 / tau(512)`` tokens per ms."""
    return run_stability(
        policy,
        Workload(types=((100, 100, 1.0),)),
        loads=list(loads),
        tau=STAIR,
        token_budget=512,
        horizon=horizon,
        seed=seed,
    )


def request_cap_sweep(policy: str, *, horizon: float = 200000, seed: int = 1) -> StabilityReport:
    """The request-cap case at its boundary: one request of 290 + 990 tokens every 467.5 ms, at
    most 100 requests per batch, token budget 128, :data:`STAIR`."""
    return run_stability(
        policy,
        Workload(types=((290, 990, 1.0),)),
        loads=[1.0],
        tau=STAIR,
        token_budget=128,
        max_requests=100,
        horizon=horizon,
        seed=seed,
        arrivals="deterministic",
    )


def request_cap_batches(
    policy: str = "sarathi", *, horizon: float = 120000, after: float = 95000
) -> Counter[tuple[int, int]]:
    """``(prefill tokens, decode tokens)`` of the batches that start after ``after`` ms in the
    request-cap case (Sarathi settles into ``(29, 99)``)."""
    arr = make_arrivals(Fraction(2, 935), horizon, 0, "deterministic")
    res = run_engine(
        [QRequest(a, 290, 990) for a in arr],
        get_engine_policy(policy),
        engines=[EngineSpec(None, 128, 100, parse_tau(STAIR))],
        until=horizon,
        record_batches=True,
    )
    return Counter(
        (sum(w.prefill for w in b.work), sum(w.decode for w in b.work))
        for b in res.batches
        if b.time > after
    )


def agent_template(shape: str, *, prompt: int = 100, output: int = 100) -> nx.DiGraph:
    """``"chain"``: three calls in a row; ``"fork_join"``: one call, two in parallel, one after
    both (``queueing.md`` Q4)."""
    if shape == "chain":
        return chain(3, prompt, output)
    if shape == "fork_join":
        return fork_join(2, prompt, output)
    raise ValueError(f"unknown agent shape {shape!r} (chain or fork_join)")


def agent_sweep(
    shape: str,
    loads: Sequence[float],
    *,
    policy: str = "sarathi",
    horizon: float = 90000,
    seed: int = 2,
) -> StabilityReport:
    """Agent jobs of :func:`agent_template` arriving as a Poisson stream under :data:`STAIR` and
    ``b_max = 512``; the boundary is ``(512 / tau(512)) / W`` jobs per ms with ``W`` the tokens
    of work of one job (Dai et al., agent workloads)."""
    wl = Workload(templates=((agent_template(shape), 1.0),))
    return run_stability(
        policy, wl, loads=list(loads), tau=STAIR, token_budget=512, horizon=horizon, seed=seed
    )


@dataclass(frozen=True)
class JobRun:
    """One rate of agent jobs under a policy, with two backlogs after every step: ``released``
    (the engine's Q6 backlog: work of requests that have arrived and whose predecessors have
    completed) and ``total`` (plus the work of calls still waiting for their predecessors, i.e.
    all the work of the jobs in the system). ``slope``/``slope_se``: of ``total`` over the
    second half (:func:`~ratio.queueing.stability.fit_slope`)."""

    shape: str
    load: float
    rate: float
    work: float
    capacity_rate: float
    times: np.ndarray
    released: np.ndarray
    total: np.ndarray
    slope: float
    slope_se: float

    @property
    def fluid_slope(self) -> float:
        """``max(0, lambda W - b_max / tau(b_max))`` tokens per time unit."""
        return max(0.0, self.rate * self.work - self.capacity_rate)


def agent_run(
    shape: str,
    load: float,
    *,
    policy: str = "sarathi",
    horizon: float = 90000,
    seed: int = 2,
) -> JobRun:
    """Agent jobs of :func:`agent_template` at ``load`` times the per-job boundary, Poisson
    arrivals (``seed``), :data:`STAIR`, ``b_max = 512``, the policy's own prefill and first-token
    conventions; the total backlog counts calls not yet released by their predecessors, which
    the engine's backlog (``queueing.md`` Q6) leaves out until their release."""
    wl = Workload(templates=((agent_template(shape), 1.0),))
    pol = get_engine_policy(policy)
    model = parse_tau(STAIR)
    ft = pol.default_first_token
    b, _ = boundary_of(wl, tau=model, token_budget=512, first_token=ft)
    free = 1 if ft == "with_prefill" else 0
    work = float(wl.mean(lambda s, o: s + o - free))
    rate = float(b * Fraction(str(load)))
    rng = np.random.default_rng(seed)
    reqs = wl.requests(make_arrivals(rate, horizon, seed), rng)
    res = run_engine(
        list(reqs),
        pol,
        engines=[EngineSpec(None, 512, None, model)],
        prefill=pol.default_prefill,
        first_token=ft,
        until=horizon,
        record_backlog=True,
    )
    assert res.backlog is not None
    times = res.backlog[:, 0].astype(float)
    released = res.backlog[:, 2].astype(float)
    comp = res.completion_times
    starts: list[float] = []
    ends: list[float] = []
    sizes: list[float] = []
    for r in reqs:
        if not r.after:
            continue
        pre = [comp[j] for j in r.after]
        rel = (
            float(max(float(c) for c in pre if c is not None))
            if all(c is not None for c in pre)
            else np.inf
        )
        starts.append(float(r.arrival))
        ends.append(max(float(r.arrival), rel))
        sizes.append(float(r.prompt + r.output - free))
    ev_t = np.array(starts + ends)
    ev_w = np.array(sizes + [-x for x in sizes])
    order = np.argsort(ev_t, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(ev_w[order])])
    waiting = cum[np.searchsorted(ev_t[order], times, side="right")]
    total = released + waiting
    slope, se = fit_slope(times, total, horizon / 2, horizon)
    return JobRun(
        shape, float(load), rate, work, float(b) * work, times, released, total, slope, se
    )


def rybko_stolyar_route(first: tuple[int, int], second: tuple[int, int]) -> nx.DiGraph:
    """A two-step route: a short step (1 + 1 tokens) then a long one (1 + 9 tokens), each given
    as ``(class, engine)``."""
    g = nx.DiGraph()
    g.add_node(0, prompt=1, output=1, cls=first[0], engine=first[1])
    g.add_node(1, prompt=1, output=9, cls=second[0], engine=second[1])
    g.add_edge(0, 1)
    return g


def rybko_stolyar_requests(
    horizon: float, *, rate: float = 0.15, burst: int = 150, seed: int = 1
) -> tuple[QRequest, ...]:
    """Routes A->B (classes 0, 1) and B->A (classes 2, 3) with equal weight, Poisson at ``rate``
    jobs per round in all (load ``rate / 2 * 12 = 0.9`` tokens per round on each engine of budget
    1), after ``burst`` route-1 jobs at time 0."""
    r1, r2 = rybko_stolyar_route((0, 0), (1, 1)), rybko_stolyar_route((2, 1), (3, 0))
    first = (
        Workload(templates=((r1, 1.0),)).requests([0] * burst, np.random.default_rng(0))
        if burst
        else ()
    )
    wl = Workload(templates=((r1, 1.0), (r2, 1.0)))
    more = wl.requests(make_arrivals(rate, horizon, seed), np.random.default_rng(seed))
    off = len(first)
    return tuple(first) + tuple(r.moved(off, f"x{r.job}") for r in more)


@dataclass(frozen=True)
class RSRun:
    """Backlog (tokens of work in the network) after every step of a Rybko-Stolyar run."""

    order: str
    times: np.ndarray
    backlog: np.ndarray

    @property
    def final(self) -> int:
        return int(self.backlog[-1]) if len(self.backlog) else 0


def rybko_stolyar_run(
    order: str,
    horizon: float = 16000,
    *,
    rate: float = 0.15,
    burst: int = 150,
    seed: int = 1,
) -> RSRun:
    """Two engines of token budget 1 and one request per batch under
    ``class_priority:order=ORDER``: ``1-3-0-2`` (priority to the long exit steps) lets the
    backlog grow, ``0-2-1-3`` drains it (Rybko and Stolyar 1992; Dai et al. section 6)."""
    reqs = rybko_stolyar_requests(horizon, rate=rate, burst=burst, seed=seed)
    res = run_engine(
        list(reqs),
        get_engine_policy(f"class_priority:order={order}"),
        engines=[EngineSpec(None, 1, 1)] * 2,
        until=horizon,
        record_backlog=True,
    )
    assert res.backlog is not None
    return RSRun(order, res.backlog[:, 0].copy(), res.backlog[:, 2].copy())


def memory_sweep(
    policy: str,
    loads: Sequence[float],
    *,
    mix: str = "identical",
    capacity: int = 2000,
    horizon: float = 4000,
    seed: int = 1,
) -> StabilityReport:
    """The sweep of ``docs/stability.md`` with KV memory: unit rounds, capacity ``M``, whole
    prefill with the first token (the base model, ``model.md``), loads relative to the memory
    boundary ``M / E[V]`` (``queueing.md`` Q6), requests from :data:`MEMORY_MIXES`."""
    return run_stability(
        policy,
        Workload(types=MEMORY_MIXES[mix]),
        loads=list(loads),
        capacity=capacity,
        horizon=horizon,
        seed=seed,
        first_token="with_prefill",
        prefill="whole",
    )
