"""The worked examples of ``tests/data/spec-examples.json`` (computed by independent code)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from ratio import Instance, check, simulate
from tests.conftest import DATA

CASES = json.loads((DATA / "spec-examples.json").read_text())["cases"]


def _inst(case: dict) -> Instance:
    return Instance.from_tuples(
        case["M"], [(r["arrival"], r["prompt"], r["output"]) for r in case["requests"]]
    )


@pytest.mark.parametrize("k", range(len(CASES)))
def test_policy_starts_match_fixture(k: int) -> None:
    case = CASES[k]
    inst = _inst(case)
    for policy, expected in case["expected"].items():
        res = simulate(inst, policy)
        assert list(res.starts) == expected["starts"], (k, policy)
        assert res.total_latency == expected["total_latency"], (k, policy)
        assert check(inst, res.schedule)


@pytest.mark.parametrize("k", range(len(CASES)))
def test_alpha_and_opt_floor(k: int) -> None:
    case = CASES[k]
    inst = _inst(case)
    if case.get("alpha"):
        assert inst.alpha == Fraction(case["alpha"])
    # Every policy's cost is at least the optimum the fixture states.
    for policy in ("svf", "sjf", "fcfs", "spf", "sorted_f", "vllm_fcfs", "vllm_priority"):
        assert simulate(inst, policy).total_latency >= case["opt"]
