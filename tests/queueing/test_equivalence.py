"""The engine's two progress layers agree on the base model bit for bit (``docs/queueing.md``,
"The engine": the defaults give identical schedules and costs on random instances). Two
independent implementations checking each other in the one loop: the per-request layer
(``fast=False``) against the base model's layer, which ``ratio.simulate`` and the extended
entry run for these parameters; every reported field must be equal, in both eviction modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ratio
from ratio.errors import InputError, StuckError
from ratio.gen import generate
from ratio.io import load
from ratio.model import Instance
from ratio.policies import REGISTRY
from ratio.queueing import simulate_extended
from ratio.strategies import instances

BASE = [
    "fcfs",
    "sjf",
    "spf",
    "svf",
    "svf:blocking=false",
    "svf:test=reservation",
    "mcsf",
    "sorted_f",
    "svf_1bit:theta=4",
    "vllm_fcfs",
    "vllm_priority",
    "vllm_priority:priority=output",
    "vllm_priority:priority=arrival",
]


def test_every_base_policy_is_compared() -> None:
    """The equivalence properties below draw from BASE; every policy of the registry that runs
    on both loops (``engine = "base"``) is in it. Extended policies have no base-simulator
    counterpart; tests/ratio/test_every_policy.py runs the battery on them."""
    assert {p.split(":")[0] for p in BASE} == {n for n, c in REGISTRY.items() if c.engine == "base"}


#: What the engine reports of a run (every field but the optional records).
FIELDS = (
    "starts", "completions", "arrival_rounds", "start_times", "completion_times", "engine_of",
    "evicted", "wasted_tokens", "end_time", "rounds", "tokens_processed", "memory_rounds",
    "policy", "convention", "block_size",
)  # fmt: skip


def _same(inst: Instance, policy: str, **kw: Any) -> None:
    try:
        a = ratio.simulate(inst, policy, **kw)
    except StuckError:
        with pytest.raises(StuckError):
            simulate_extended(inst, policy, fast=False, **kw)
        with pytest.raises(StuckError):
            simulate_extended(inst, policy, **kw)
        return
    b = simulate_extended(inst, policy, fast=False, **kw)
    f = simulate_extended(inst, policy, **kw)
    for name in FIELDS:
        assert getattr(f, name) == getattr(b, name), (policy, name)
    assert b.starts == a.starts, policy
    assert b.completions == a.completions, policy
    assert b.evicted == a.schedule.evicted, policy
    assert b.total_latency == a.total_latency
    assert b.wasted_tokens == a.costs.wasted_tokens
    assert b.costs == a.costs
    # The engine's own memory count agrees with the foundation's memory trace.
    mem = a.memory
    seen = np.zeros(len(mem), dtype=bool)
    for r, _, tokens in b.memory_rounds:
        assert mem[r] == tokens, (policy, r)
        seen[r] = True
    assert not mem[~seen].any()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
@given(
    inst=instances(n=(1, 9), regime="online", capacity=(2, 50)),
    policy=st.sampled_from(BASE),
)
def test_defaults_reproduce_base_online(inst: Instance, policy: str) -> None:
    _same(inst, policy)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
@given(
    inst=instances(n=(1, 8), regime="all_at_zero", capacity=(2, 40)),
    policy=st.sampled_from(BASE),
)
def test_defaults_reproduce_base_burst(inst: Instance, policy: str) -> None:
    _same(inst, policy)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile
@given(
    inst=instances(n=(1, 8), regime="online", capacity=(4, 50)),
    policy=st.sampled_from(["svf", "fcfs", "vllm_fcfs", "vllm_priority", "svf_1bit:theta=3"]),
    convention=st.sampled_from(["model", "engine"]),
    block=st.sampled_from([1, 2, 4]),
    eviction=st.sampled_from(["restart", "resume"]),
)
def test_conventions_blocks_and_eviction(
    inst: Instance, policy: str, convention: str, block: int, eviction: str
) -> None:
    kw: dict[str, Any] = {"convention": convention, "block_size": block, "eviction": eviction}
    try:
        ratio.simulate(inst, policy, **kw)
    except InputError:
        with pytest.raises(InputError):
            simulate_extended(inst, policy, **kw)
        with pytest.raises(InputError):
            simulate_extended(inst, policy, fast=False, **kw)
        return
    _same(inst, policy, **kw)


@pytest.mark.parametrize("policy", ["vllm_fcfs", "vllm_priority", "svf_1bit:theta=4"])
def test_resume_on_example_traces(policy: str) -> None:
    """Both layers resume evicted requests alike (``model.md`` section 7); the traces evict."""
    evicting = 0
    for path in ("ratio/data/burst12.json", "ratio/data/poisson40.json"):
        for block in (1, 4):
            inst = load(path)
            _same(inst, policy, convention="engine", block_size=block, eviction="resume")
            evicting += ratio.simulate(inst, policy, block_size=block, eviction="resume").evictions
    assert evicting > 0


@pytest.mark.parametrize("policy", ["svf", "fcfs", "vllm_fcfs", "vllm_priority", "sorted_f"])
def test_example_traces(policy: str) -> None:
    for path in ("ratio/data/burst12.json", "ratio/data/poisson40.json"):
        _same(load(path), policy)


def test_larger_poisson_trace() -> None:
    inst = generate(400, capacity=120, arrivals="poisson", rate=0.8, seed=3)
    for policy in ("svf", "vllm_fcfs", "mcsf"):
        _same(inst, policy)


def test_base_simulator_refuses_engine_policies() -> None:
    assert {"orca", "sarathi", "fastertransformer", "vllm_prefill_first"} <= set(REGISTRY)
    inst = Instance.from_tuples(10, [(0, 2, 2)])
    with pytest.raises(InputError, match="extended engine"):
        ratio.simulate(inst, "sarathi")
    pol = REGISTRY["sarathi"]()
    with pytest.raises(InputError, match="extended engine"):
        ratio.simulate(inst, pol)


def test_unknown_policy_lists_both_registries() -> None:
    inst = Instance.from_tuples(10, [(0, 2, 2)])
    with pytest.raises(InputError, match="sarathi.*svf|svf.*sarathi"):
        simulate_extended(inst, "nope")


def test_fast_path_only_for_the_base_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The base model's parameters take the base-model layer (the per-request layer never
    runs); any extended parameter, an extended policy, or a batch policy in blocks takes the
    per-request layer."""
    from ratio import engine

    calls: list[str] = []
    general = engine._Steps.begin

    def spy(self: Any) -> Any:
        calls.append(self.pol.spec)
        return general(self)

    monkeypatch.setattr(engine._Steps, "begin", spy)
    inst = generate(30, capacity=40, arrivals="poisson", rate=0.8, seed=2)
    for policy in BASE:
        simulate_extended(inst, policy, convention="engine")
    assert calls == []
    simulate_extended(inst, "svf", token_budget=64)
    simulate_extended(inst, "svf", tau="staircase:c=11.28,a=35.47,b0=128")
    simulate_extended(inst, "sorted_f", block_size=2)
    simulate_extended(inst, "sarathi")
    simulate_extended(inst, "svf", record_batches=True)
    assert calls == ["svf", "svf", "sorted_f", "sarathi", "svf"]
