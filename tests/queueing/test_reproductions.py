"""Reproductions of Dai, Deng, Li, Peng (arXiv 2504.07347) on the extended engine (issue 8)."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest

from ratio.queueing import EngineSpec, QRequest, get_engine_policy, parse_tau, run_engine
from ratio.queueing.jobs import chain, fork_join
from ratio.queueing.stability import Workload, make_arrivals, run_stability

STAIR = "staircase:c=11.28,a=35.47,b0=128"


def _example(policy: str) -> list[str]:
    """Three requests decoding with 2, 4, 3 tokens left; two of 1 prefill + 1 decode token
    arriving during the first batch; token budget 4 (first token separate, as in the paper)."""
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
        engines=[EngineSpec(token_budget=4)],
        initial={0: (0, 1, 1), 1: (0, 1, 1), 2: (0, 1, 1)},
        record_batches=True,
    )
    assert res.complete
    return [
        " ".join("ABCDE"[w.request] + ("p" if w.prefill else "d") for w in b.work)
        for b in res.batches
    ]


@pytest.mark.parametrize(
    ("policy", "batches"),
    [
        ("orca", ["Ad Bd Cd", "Dp Ep Ad Bd", "Bd Cd Dd Ed", "Bd Cd"]),
        ("sarathi", ["Ad Bd Cd", "Ad Bd Cd Dp", "Bd Cd Dd Ep", "Bd Ed"]),
        ("fastertransformer", ["Ad Bd Cd", "Ad Bd Cd", "Bd Cd", "Bd", "Dp Ep", "Dd Ed"]),
        ("vllm_prefill_first", ["Ad Bd Cd", "Dp Ep", "Ad Bd Cd Dd", "Bd Cd Ed", "Bd"]),
    ],
)
def test_five_request_worked_example(policy: str, batches: list[str]) -> None:
    assert _example(policy) == batches


def test_theorem2_boundary_sarathi_and_orca() -> None:
    """Slope within two SE of ``lambda * 200 - b_max / tau(b_max)`` at 1.1 and 1.2 of the
    boundary, zero (stable) below 0.9; ``b_max = 512``, 100 + 100 tokens, Poisson."""
    wl = Workload(types=((100, 100, 1.0),))
    cap = Fraction(512) / parse_tau(STAIR)(512)  # tokens per ms
    for policy in ("sarathi", "orca"):
        rep = run_stability(
            policy,
            wl,
            loads=[0.6, 0.8, 0.9, 1.1, 1.2],
            tau=STAIR,
            token_budget=512,
            horizon=120000,
            seed=1,
        )
        assert rep.boundary == pytest.approx(float(cap / 200))
        assert 16.7 < rep.boundary * 1000 < 16.75
        for r in rep.results:
            if r.load <= 0.9:
                assert r.verdict == "stable", (policy, r)
            else:
                pred = r.rate * 200 - float(cap)
                assert abs(r.slope - pred) <= 2 * r.slope_se, (policy, r, pred)
                assert r.verdict == "unstable"


def test_non_work_conserving_policies_diverge_below_boundary() -> None:
    wl = Workload(types=((100, 100, 1.0),))
    rep = run_stability(
        "fastertransformer", wl, loads=[0.6], tau=STAIR, token_budget=512, horizon=60000, seed=1
    )
    assert rep.results[0].verdict == "unstable"
    rep = run_stability(
        "vllm_prefill_first",
        wl,
        loads=[0.95],
        tau=STAIR,
        token_budget=512,
        horizon=120000,
        seed=1,
    )
    assert rep.results[0].verdict == "unstable"


def test_request_cap_only_sarathi_is_stable() -> None:
    """One request every 467.5 ms of 290 + 990 tokens, at most 100 requests per batch,
    budget 128: Sarathi settles into batches of 29 prefill + 99 decode tokens."""
    wl = Workload(types=((290, 990, 1.0),))
    verdicts = {}
    for policy in ("sarathi", "orca", "fastertransformer", "vllm_prefill_first"):
        rep = run_stability(
            policy,
            wl,
            loads=[1.0],
            tau=STAIR,
            token_budget=128,
            max_requests=100,
            horizon=200000,
            seed=1,
            arrivals="deterministic",
        )
        assert rep.boundary == pytest.approx(1 / 467.5)
        verdicts[policy] = rep.results[0]
    assert verdicts["sarathi"].verdict == "stable"
    for policy in ("orca", "fastertransformer", "vllm_prefill_first"):
        assert verdicts[policy].verdict == "unstable", policy
    # Whole prefills of 290 tokens never fit a budget of 128: no batch is ever formed.
    assert verdicts["fastertransformer"].throughput == 0
    assert verdicts["vllm_prefill_first"].throughput == 0
    arr = make_arrivals(Fraction(2, 935), 120000, 0, "deterministic")
    res = run_engine(
        [QRequest(a, 290, 990) for a in arr],
        get_engine_policy("sarathi"),
        engines=[EngineSpec(None, 128, 100, parse_tau(STAIR))],
        until=120000,
        record_batches=True,
    )
    late = [
        (sum(w.prefill for w in b.work), sum(w.decode for w in b.work))
        for b in res.batches
        if b.time > 95000
    ]
    assert Counter(late) == {(29, 99): len(late)}


@pytest.mark.parametrize("shape", ["chain", "fork_join"])
def test_agent_jobs_stable_below_job_boundary(shape: str) -> None:
    g = chain(3, 100, 100) if shape == "chain" else fork_join(2, 100, 100)
    wl = Workload(templates=((g, 1.0),))
    rep = run_stability(
        "sarathi", wl, loads=[0.8, 1.2], tau=STAIR, token_budget=512, horizon=90000, seed=2
    )
    work = 200 * g.number_of_nodes()
    assert rep.params["work_per_arrival"] == work
    assert rep.boundary == pytest.approx(512 / 153.16 / work)
    assert [r.verdict for r in rep.results] == ["stable", "unstable"]


def _route(first: tuple[int, int], second: tuple[int, int]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node(0, prompt=1, output=1, cls=first[0], engine=first[1])
    g.add_node(1, prompt=1, output=9, cls=second[0], engine=second[1])
    g.add_edge(0, 1)
    return g


def test_rybko_stolyar_wrong_priority_is_unstable() -> None:
    """Two engines, two routes A->B and B->A (short first step, long second), one request per
    round, load 0.9 on each engine: priority to the long exit steps (classes 1 and 3) lets a
    fluid-scale backlog grow; the reversed priority drains it (Rybko-Stolyar; Dai et al. sec. 6)."""
    r1, r2 = _route((0, 0), (1, 1)), _route((2, 1), (3, 0))
    horizon = 16000
    burst = Workload(templates=((r1, 1.0),)).requests([0] * 150, np.random.default_rng(0))
    wl = Workload(templates=((r1, 1.0), (r2, 1.0)))
    more = wl.requests(make_arrivals(0.15, horizon, 1), np.random.default_rng(1))
    off = len(burst)
    reqs = list(burst) + [
        QRequest(
            r.arrival,
            r.prompt,
            r.output,
            r.id,
            f"x{r.job}",
            tuple(off + a for a in r.after),
            r.cls,
            r.engine,
        )
        for r in more
    ]
    final = {}
    for order in ("1-3-0-2", "0-2-1-3"):
        res = run_engine(
            reqs,
            get_engine_policy(f"class_priority:order={order}"),
            engines=[EngineSpec(None, 1, 1)] * 2,
            until=horizon,
            record_backlog=True,
        )
        assert res.backlog is not None
        final[order] = res.backlog[-1, 2]
    assert final["0-2-1-3"] < 200
    assert final["1-3-0-2"] > 1800  # more than the initial burst's 1800 tokens of work
