"""Reproductions of Dai, Deng, Li, Peng (arXiv 2504.07347) on the extended engine (issue 8).

The experiments live in :mod:`ratio.queueing.experiments` (shared with the notebooks
``proofs/notebooks/stability_*.py``); the numbers checked here are those of the issue.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

from ratio.queueing import parse_tau
from ratio.queueing.experiments import (
    STAIR,
    agent_sweep,
    agent_template,
    request_cap_batches,
    request_cap_sweep,
    rybko_stolyar_run,
    theorem2_sweep,
    worked_example,
)


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
    assert worked_example(policy) == batches


def test_theorem2_boundary_sarathi_and_orca() -> None:
    """Slope within two SE of ``lambda * 200 - b_max / tau(b_max)`` at 1.1 and 1.2 of the
    boundary, zero (stable) below 0.9; ``b_max = 512``, 100 + 100 tokens, Poisson."""
    cap = Fraction(512) / parse_tau(STAIR)(512)  # tokens per ms
    for policy in ("sarathi", "orca"):
        rep = theorem2_sweep(policy, [0.6, 0.8, 0.9, 1.1, 1.2], horizon=120000, seed=1)
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
    rep = theorem2_sweep("fastertransformer", [0.6], horizon=60000, seed=1)
    assert rep.results[0].verdict == "unstable"
    rep = theorem2_sweep("vllm_prefill_first", [0.95], horizon=120000, seed=1)
    assert rep.results[0].verdict == "unstable"


def test_request_cap_only_sarathi_is_stable() -> None:
    """One request every 467.5 ms of 290 + 990 tokens, at most 100 requests per batch,
    budget 128: Sarathi settles into batches of 29 prefill + 99 decode tokens."""
    verdicts = {}
    for policy in ("sarathi", "orca", "fastertransformer", "vllm_prefill_first"):
        rep = request_cap_sweep(policy, horizon=200000, seed=1)
        assert rep.boundary == pytest.approx(1 / 467.5)
        verdicts[policy] = rep.results[0]
    assert verdicts["sarathi"].verdict == "stable"
    for policy in ("orca", "fastertransformer", "vllm_prefill_first"):
        assert verdicts[policy].verdict == "unstable", policy
    # Whole prefills of 290 tokens never fit a budget of 128: no batch is ever formed.
    assert verdicts["fastertransformer"].throughput == 0
    assert verdicts["vllm_prefill_first"].throughput == 0
    late = request_cap_batches("sarathi", horizon=120000, after=95000)
    assert sum(late.values()) > 0
    assert late == Counter({(29, 99): sum(late.values())})


@pytest.mark.parametrize("shape", ["chain", "fork_join"])
def test_agent_jobs_stable_below_job_boundary(shape: str) -> None:
    rep = agent_sweep(shape, [0.8, 1.2], horizon=90000, seed=2)
    work = 200 * agent_template(shape).number_of_nodes()
    assert rep.params["work_per_arrival"] == work
    assert rep.boundary == pytest.approx(512 / 153.16 / work)
    assert [r.verdict for r in rep.results] == ["stable", "unstable"]


def test_rybko_stolyar_wrong_priority_is_unstable() -> None:
    """Two engines, two routes A->B and B->A (short first step, long second), one request per
    round, load 0.9 on each engine: priority to the long exit steps (classes 1 and 3) lets a
    fluid-scale backlog grow; the reversed priority drains it (Rybko-Stolyar; Dai et al. sec. 6)."""
    wrong = rybko_stolyar_run("1-3-0-2", 16000, burst=150, seed=1)
    right = rybko_stolyar_run("0-2-1-3", 16000, burst=150, seed=1)
    assert right.final < 200
    assert wrong.final > 1800  # more than the initial burst's 1800 tokens of work


@pytest.mark.parametrize("shape", ["chain", "fork_join"])
def test_agent_jobs_total_work_grows_at_the_fluid_rate(shape: str) -> None:
    """Above the per-job boundary all the work of the jobs in the system (released or waiting
    for predecessors) grows at lambda * W - b_max / tau(b_max), within two standard errors."""
    from ratio.queueing.experiments import agent_run

    run = agent_run(shape, 1.2, horizon=90000)
    assert abs(run.slope - run.fluid_slope) <= 2 * run.slope_se + 1e-9, (
        run.slope,
        run.slope_se,
        run.fluid_slope,
    )
