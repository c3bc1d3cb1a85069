"""Stable range from a backlog, on the issue's unscaled ten-type mix (issue 9; docs/fluid.md,
"Started from a backlog").

Prompt 60, outputs 50, ..., 500, M = 2e6, fluid boundary 70.309 requests per round; Poisson
arrivals at 0.95 of it plus 20000 requests waiting at time 0 (about twice the 11094 in service
at the boundary), 2000 rounds, seed 1. From an empty start greedy admission does not fill the
memory within 2000 rounds at this scale (``test_stable_range_unscaled.py``); from a backlog it
does at once and stays in the eviction regime, serving about 0.885 of the boundary, below the
arrivals: the loss below the boundary that the issue claims. Nested WAIT, given the
output-length distribution, drains the same backlog without evicting.

Slow: about 150 s a run here.
"""

from __future__ import annotations

import numpy as np
import pytest

from proofs.experiments.fluid import StablePoint, stable_range_point, ten_types
from ratio.policies.extended import EnginePolicy
from ratio.policies.nested_wait import NestedWait

pytestmark = pytest.mark.slow

TYPES = ten_types()
LOAD = 0.95
BURST = 20000


def from_backlog(policy: str | EnginePolicy) -> StablePoint:
    return stable_range_point(
        policy, LOAD, types=TYPES, capacity=2_000_000, horizon=2000, seed=1, burst=BURST
    )


def mean_backlog(pt: StablePoint, lo: int, hi: int) -> float:
    """Mean number of requests in the system over rounds [lo, hi)."""
    assert pt.backlog is not None
    t, q = pt.backlog[:, 0], pt.backlog[:, 1]
    return float(np.mean(q[(t >= lo) & (t < hi)]))


@pytest.mark.parametrize("policy", ["greedy_evict", "vllm_fcfs"])
def test_greedy_admission_stays_in_the_eviction_regime_below_the_boundary(policy: str) -> None:
    """Measured (greedy_evict): 303864 evictions, 62.18 per round over rounds 1000-2000 against
    66.79 arriving, backlog slope 7.66 +- 3.04 (unstable); the system grows from about 21000 to
    about 27000 requests (sawtooth of period about 50 rounds; means over 250 rounds)."""
    pt = from_backlog(policy)
    # independent of the LP: M / E[V], the mix's mean volume s o + o(o+1)/2 weighted by rate
    mean_v = sum(t.rate * (t.prompt * t.output + t.output * (t.output + 1) / 2) for t in TYPES)
    assert pt.boundary == pytest.approx(2_000_000 / (mean_v / sum(t.rate for t in TYPES)))
    assert pt.boundary == pytest.approx(70.309, abs=1e-3)
    assert pt.evictions > 100_000
    assert pt.throughput < 0.9 * pt.boundary < pt.rate - 3
    assert pt.verdict == "unstable"
    assert mean_backlog(pt, 1750, 2000) > mean_backlog(pt, 750, 1000) + 2000


def test_nested_wait_drains_the_same_backlog_without_eviction() -> None:
    """Measured: 0 evictions, 68.84 per round against 66.79 arriving, slope -2.00 +- 0.30 (still
    draining at round 2000, so the Q6 verdict is inconclusive)."""
    outs = {t.output: t.rate for t in TYPES}
    pt = from_backlog(NestedWait().with_outputs(outs))
    assert pt.evictions == 0
    assert pt.throughput > pt.rate + 1
    assert pt.slope < 0
    assert mean_backlog(pt, 1750, 2000) < mean_backlog(pt, 750, 1000) - 1000
