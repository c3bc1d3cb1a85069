"""The mirror of vLLM's rules, with the spec-7 switches, is the toolkit's reactive simulation.

No vLLM needed.  Together with the replay tests (vLLM == mirror with resume="keep", stall=True)
this pins every difference between vLLM and ``ratio.simulate`` to those two switches.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware_check.mapping import plan_replay, reference_policy
from hardware_check.mirror import mirror
from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import get_policy
from ratio.simulator import simulate
from ratio.strategies import crowded_instances

traces = crowded_instances  # small M, crowded arrivals: preemptions and stalls


POLICIES = ["vllm_priority", "vllm_fcfs", "vllm_priority:priority=output", "svf", "fcfs"]


@settings(max_examples=150, deadline=None)
@given(inst=traces(), policy=st.sampled_from(POLICIES), B=st.sampled_from([1, 2, 4]))
def test_mirror_with_spec_switches_is_ratio_simulate(inst: Instance, policy: str, B: int) -> None:
    plan = plan_replay(inst, policy, block_size=B)
    assert plan.reference is not None
    ref = simulate(inst, plan.reference, convention="engine", block_size=B)
    m = mirror(plan, resume="restart", stall=False)
    assert tuple(m.runs[i][-1][0] for i in range(inst.n)) == ref.starts
    assert sum(m.preemptions.values()) == ref.evictions
    assert tuple(m.completion[i] for i in range(inst.n)) == ref.completions
    evicted = sorted((r.request, r.start) for r in ref.schedule.evicted)
    assert evicted == sorted((i, p) for i, rs in m.runs.items() for p, _ in rs[:-1])


@settings(max_examples=150, deadline=None)
@given(inst=traces(), policy=st.sampled_from(POLICIES), B=st.sampled_from([1, 2, 4]))
def test_mirror_keep_without_stall_is_ratio_simulate_resume(
    inst: Instance, policy: str, B: int
) -> None:
    """vLLM's resume rule is the model's eviction=resume (model §7): the mirror keeping the
    produced tokens, without the priority stall, is ``simulate(..., eviction="resume")``."""
    plan = plan_replay(inst, policy, block_size=B)
    assert plan.reference is not None
    ref = simulate(inst, plan.reference, convention="engine", block_size=B, eviction="resume")
    m = mirror(plan, resume="keep", stall=False)
    assert tuple(m.runs[i][-1][0] for i in range(inst.n)) == ref.starts
    assert tuple(m.completion[i] for i in range(inst.n)) == ref.completions
    evicted = sorted((r.request, r.start) for r in ref.schedule.evicted)
    assert evicted == sorted((i, p) for i, rs in m.runs.items() for p, _ in rs[:-1])


@settings(deadline=None)
@given(inst=traces(), B=st.sampled_from([1, 4]))
def test_mirror_keep_never_overflows_and_finishes(inst: Instance, B: int) -> None:
    plan = plan_replay(inst, "vllm_priority", block_size=B)
    m = mirror(plan)
    for step in m.steps:
        assert sum(step.blocks.values()) <= plan.usable_blocks
    assert set(m.completion) == set(range(inst.n))
    # With resume="keep" every request is scheduled in exactly o steps (stalls aside).
    count = {i: 0 for i in range(inst.n)}
    for step in m.steps:
        for i in step.running:
            count[i] += 1
    assert count == {i: r.output for i, r in enumerate(inst.requests)}


def test_plan_maps_capacity_and_priorities() -> None:
    inst = Instance.from_tuples(100, [(0, 10, 5), (0, 3, 2), (1, 10, 5), (0, 40, 9)])
    plan = plan_replay(inst, "svf", block_size=32)
    assert plan.num_blocks == 100 // 32 + 1 and plan.usable_blocks == 3
    assert plan.scheduling_policy == "priority"
    assert plan.reference == "vllm_priority:priority=volume"
    pr = [r.priority for r in plan.requests]
    assert pr[1] < pr[0] == pr[2] < pr[3]  # dense rank of the volume, ties kept
    times = [r.arrival_time for r in plan.requests]
    assert len(set(times)) == 4 and times[0] < times[1] < times[3] < times[2]
    assert plan_replay(inst, "vllm_fcfs").scheduling_policy == "fcfs"
    assert reference_policy(get_policy("svf_1bit:theta=4")) is None


def test_plan_rejects_what_cannot_run() -> None:
    inst = Instance.from_tuples(40, [(0, 30, 8)])
    with pytest.raises(InputError, match="usable blocks"):
        plan_replay(inst, "svf", block_size=32)
    with pytest.raises(InputError, match="less than one block"):
        plan_replay(Instance.from_tuples(20, [(0, 1, 1)]), "svf", block_size=32)
