"""The same search through Ray (issue 6, item 6): results identical to local evaluation."""

from __future__ import annotations

from fractions import Fraction

import pytest

from adversaries.search import SearchConfig, run_search
from adversaries.space import SearchSpace

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'kvratio[ray]')")


@pytest.mark.ray
def test_ray_local_instance_matches_local_runner() -> None:
    space = SearchSpace(policy="svf", n_min=5, n_max=5, alpha_max=Fraction(1, 2))
    cfg = SearchConfig(space, strategy="hill", seed=4, milp=False)
    local = run_search(cfg, budget_evals=48, progress=False)
    via_ray = run_search(cfg, budget_evals=48, ray="auto", workers=2, progress=False)
    assert via_ray.runner == "ray:auto"
    strip = [{k: v for k, v in e.items() if k != "found_at"} for e in local.hof]
    assert strip == [{k: v for k, v in e.items() if k != "found_at"} for e in via_ray.hof]
