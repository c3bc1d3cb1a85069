"""README's recipe "a new policy is one module and one registry line", walked with two toy
policies, one per engine: register, ``get_policy``, simulate, listed by ``kvratio policies``,
run by ``kvratio simulate`` on the engine it needs, and passed through the battery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from ratio.cli import main
from ratio.model import Instance
from ratio.policies import REGISTRY, EnginePolicy, Policy, RequestView, get_policy, register
from ratio.policies._batching import BatchBuilder, decoders, prefill_candidates
from ratio.queueing import simulate_extended
from ratio.queueing.views import EngineState, Work
from ratio.simulator import simulate
from ratio.strategies import instances
from ratio.testing import run_battery

TRACE = Path(__file__).resolve().parents[2] / "ratio" / "data" / "burst12.json"


class LongestPromptFirst(Policy):
    """Toy base policy: admit the longest prompt first, look-ahead, blocking.

    Information: none.
    """

    name = "toy_lpf"
    info = "none"
    summary = "toy: longest prompt first"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        return (-view.prompt,)


class DecodeFirst(EnginePolicy):
    """Toy extended policy: every running request decodes, then waiting ones are prefilled
    FCFS while memory and the token budget allow.

    Information: none.
    """

    name = "toy_decode_first"
    info = "none"
    summary = "toy: decodes first, then FCFS prefills"

    def plan(self, state: EngineState) -> list[Work]:
        work: list[Work] = []
        for x in state.ready:
            b = BatchBuilder(state, x)
            for p in decoders(state, x):
                b.add_decode(p)
            for i, left, held, new in prefill_candidates(state, x, b.taken):
                if not b.add_prefill(i, left, held, new):
                    break
            work.extend(b.work())
        return work


@pytest.fixture
def toys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one registry line of each toy (``register`` is what a line in REGISTRY does)."""
    monkeypatch.setattr("ratio.policies.REGISTRY", dict(REGISTRY))
    register(LongestPromptFirst)
    register(DecodeFirst)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("toys")
def test_the_recipe_with_a_toy_of_each_kind(capsys: pytest.CaptureFixture[str]) -> None:
    inst = Instance.from_tuples(10, [(0, 2, 3), (0, 5, 2), (1, 1, 1)])
    assert isinstance(get_policy("toy_lpf"), LongestPromptFirst)
    # Info none plans with M - s tokens of output, so one request runs at a time here.
    assert simulate(inst, "toy_lpf").starts == (2, 0, 5)
    assert isinstance(get_policy("toy_decode_first"), DecodeFirst)
    assert simulate_extended(inst, "toy_decode_first").complete
    listed = {p["name"]: p for p in _cli(capsys, "policies")["policies"]}
    assert listed["toy_lpf"]["engine"] == "base"
    assert listed["toy_decode_first"]["engine"] == "extended"
    assert listed["toy_decode_first"]["summary"] == DecodeFirst.summary
    base = _cli(capsys, "simulate", str(TRACE), "--policy", "toy_lpf")
    ext = _cli(capsys, "simulate", str(TRACE), "--policy", "toy_decode_first")
    assert base["policy"] == "toy_lpf" and ext["policy"] == "toy_decode_first"
    assert len(ext["completions"]) == base["n"] == 12


@pytest.mark.parametrize("toy", [LongestPromptFirst, DecodeFirst])
@given(inst=instances(n=(1, 6), regime="online"))
def test_the_toys_pass_the_battery(toy: type[Policy], inst: Instance) -> None:
    run_battery(inst, toy())
