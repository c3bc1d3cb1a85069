"""``vllm_v1``: vLLM's v1 scheduler on the extended engine, priority stall included
(``docs/queueing.md`` Q1; ``docs/hardware_check.md``, "Findings").

No vLLM needed: the reference is :func:`hardware_check.mirror.mirror`, the independent
restatement of vLLM's rules that vLLM equals step for step (``tests/hardware_check``). The
engine run of ``vllm_v1`` (resume mode, engine convention, blocks) must equal the mirror with
``resume="keep", stall=True`` in every step (running set and blocks), in its preemptions and
completion rounds; where the stall never fires it must equal the base model's
``vllm_priority`` / ``vllm_fcfs`` (``ratio.simulate``, ``eviction="resume"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hardware_check.compare import stall_twin, twin_steps
from hardware_check.mapping import ReplayPlan, plan_replay
from hardware_check.mirror import MirrorRun, mirror
from ratio.errors import InputError
from ratio.io import load
from ratio.model import Instance
from ratio.policies import get_policy
from ratio.policies.vllm_v1 import VLLMV1
from ratio.queueing import simulate_extended
from ratio.simulator import simulate
from ratio.strategies import crowded_instances
from ratio.testing import run_battery

ROOT_DATA = Path(__file__).resolve().parents[2] / "ratio" / "data"


traces = crowded_instances  # small M, crowded arrivals: preemptions and stalls


POLICIES = ["vllm_priority", "svf", "vllm_priority:priority=output", "vllm_fcfs", "fcfs"]


def v1_spec(plan: ReplayPlan) -> str:
    """The ``vllm_v1`` spec for a plan: its stall twin (priority) or FCFS mode."""
    spec = stall_twin(plan)
    if spec is None:
        assert plan.scheduling_policy == "fcfs"
        spec = "vllm_v1:scheduling=fcfs"
    return spec


def run_v1(inst: Instance, spec: str | Any, B: int, eviction: str = "resume") -> Any:
    return simulate_extended(
        inst,
        spec,
        convention="engine",
        block_size=B,
        eviction=eviction,
        record_batches=True,
        max_rounds=10**5,
    )


def assert_is_mirror(inst: Instance, res: Any, m: MirrorRun, B: int, keep: bool = True) -> None:
    steps = twin_steps(res, B)
    want = {s.step: s.blocks for s in m.steps if s.running}
    assert steps == want, next(
        (t, steps.get(t), want.get(t))
        for t in sorted(set(steps) | set(want))
        if steps.get(t) != want.get(t)
    )
    assert res.completions == tuple(m.completion[i] for i in range(inst.n))
    assert res.starts == tuple(m.runs[i][-1][0] for i in range(inst.n))
    assert res.evictions == sum(m.preemptions.values())
    # Every applied batch fits in memory (tokens, whole blocks); under resume every request
    # runs exactly o steps.
    assert max(mem for _, _, mem in res.memory_rounds) <= inst.capacity
    if not keep:
        return
    count = {i: 0 for i in range(inst.n)}
    for row in steps.values():
        for i in row:
            count[i] += 1
    assert count == {i: r.output for i, r in enumerate(inst.requests)}


@settings(max_examples=150, deadline=None)
@given(
    inst=traces(),
    policy=st.sampled_from(POLICIES),
    B=st.sampled_from([1, 2, 4]),
    eviction=st.sampled_from(["resume", "resume", "restart"]),
)
def test_vllm_v1_is_the_mirror_of_vllm_step_for_step(
    inst: Instance, policy: str, B: int, eviction: str
) -> None:
    """Resume mode is vLLM (mirror ``resume="keep"``); restart mode is the mirror's
    ``resume="restart"`` with the stall."""
    plan = plan_replay(inst, policy, block_size=B)
    keep = eviction == "resume"
    m = mirror(plan, resume="keep" if keep else "restart", stall=True)
    res = run_v1(inst, v1_spec(plan), B, eviction)
    event("stall" if m.stalls else ("preemption" if res.evictions else "no preemption"))
    assert_is_mirror(inst, res, m, B, keep)
    if m.stalls == 0:
        # Without a stall vLLM's rules are the base model's reactive policy (model §7, §9).
        assert plan.reference is not None
        ref = simulate(inst, plan.reference, convention="engine", block_size=B, eviction=eviction)
        assert res.starts == ref.starts
        assert res.completions == ref.completions
        assert res.evictions == ref.evictions
        assert res.uninterrupted
    elif keep:
        # The skipped requests paused (under restart a paused run may be evicted later and
        # its pause lost with it).
        assert not res.uninterrupted


@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("policy", ["vllm_priority", "svf"])
def test_poisson40_stalls_and_matches_the_mirror(policy: str, B: int) -> None:
    """The trace of the replay's finding: vLLM stalls (8 request-steps at B = 1, 6 at B = 4);
    ``vllm_v1`` reproduces it, the base model's ``vllm_priority`` does not."""
    inst = load(ROOT_DATA / "poisson40.json")
    plan = plan_replay(inst, policy, block_size=B)
    m = mirror(plan, resume="keep", stall=True)
    assert m.stalls == {1: 8, 4: 6}[B]
    res = run_v1(inst, v1_spec(plan), B)
    assert_is_mirror(inst, res, m, B)
    assert plan.reference is not None
    base = simulate(inst, plan.reference, convention="engine", block_size=B, eviction="resume")
    assert base.completions != res.completions


class _NoStall(VLLMV1):
    """Planted bug: preempts itself but lets the requests after it run (the model's rule)."""

    name = "vllm_v1_nostall"

    def evict(self, state: Any, engine: int) -> list[int]:
        out = super().evict(state, engine)
        self._skip[engine] = set()
        return out


class _NoFront(VLLMV1):
    """Planted bug: a preempted request joins the back of the FCFS queue."""

    name = "vllm_v1_nofront"

    def on_evict(self, index: int) -> None:
        self._front = False


def test_the_comparison_catches_a_policy_without_the_stall() -> None:
    inst = load(ROOT_DATA / "poisson40.json")
    plan = plan_replay(inst, "svf", block_size=1)
    m = mirror(plan, resume="keep", stall=True)
    with pytest.raises(AssertionError):
        assert_is_mirror(inst, run_v1(inst, _NoStall(), 1), m, 1)


def test_a_whole_step_can_stall() -> None:
    """The first request of the running list is the lowest priority and cannot grow: it
    preempts itself and every other running request skips the step, so round 3 runs nothing;
    the policy asks the engine to plan again at round 4 (``wake_time``)."""
    # M = 10, B = 1: A (volume 45) runs from round 0, B (volume 22) from round 1; at round 3
    # A needs a 7th token with 0 free.
    inst = Instance.from_tuples(10, [(0, 4, 6), (1, 3, 4)])
    plan = plan_replay(inst, "vllm_priority", block_size=1)
    m = mirror(plan, resume="keep", stall=True)
    assert m.steps[3].running == () and m.steps[3].preempted == (0,) and m.stalls == 1
    res = run_v1(inst, "vllm_v1", 1)
    assert_is_mirror(inst, res, m, 1)
    assert 3 not in {b.round for b in res.batches}
    run_battery(inst, get_policy("vllm_v1"), eviction="resume")


def test_fcfs_mode_puts_a_preempted_request_first() -> None:
    """vLLM's FCFS queue: a preempted request goes back to the front (the planted bug, back
    of the queue, is caught on this trace)."""
    for seed_inst in _fcfs_witnesses():
        plan = plan_replay(seed_inst, "vllm_fcfs", block_size=1)
        m = mirror(plan, resume="keep", stall=True)
        assert_is_mirror(seed_inst, run_v1(seed_inst, "vllm_v1:scheduling=fcfs", 1), m, 1)
    inst = _fcfs_witnesses()[0]
    plan = plan_replay(inst, "vllm_fcfs", block_size=1)
    m = mirror(plan, resume="keep", stall=True)
    with pytest.raises(AssertionError):
        assert_is_mirror(inst, run_v1(inst, _NoFront(scheduling="fcfs"), 1), m, 1)


def _fcfs_witnesses() -> list[Instance]:
    # M = 12: requests 0 and 1 run; 2 waits; at round 2 the running pair overflows and 1 (the
    # last admitted) is preempted; it must be readmitted before 2, which arrived first.
    return [Instance.from_tuples(12, [(0, 3, 6), (0, 3, 6), (1, 2, 3)])]


@pytest.mark.parametrize(
    "spec", ["vllm_v1:scheduling=fcfs", "vllm_v1:priority=output", "vllm_v1:priority=arrival"]
)
@settings(max_examples=30, deadline=None)
@given(inst=traces())
def test_battery_on_the_modes(spec: str, inst: Instance) -> None:
    """The registry's battery runs ``vllm_v1`` with defaults; its other modes here."""
    run_battery(inst, get_policy(spec), eviction="resume")


def test_parameters_and_information_level() -> None:
    assert get_policy("vllm_v1").info == "full"
    assert get_policy("vllm_v1:priority=prompt").info == "none"
    assert get_policy("vllm_v1:scheduling=fcfs").info == "none"
    with pytest.raises(InputError, match="scheduling must be one of"):
        get_policy("vllm_v1:scheduling=lifo")
    with pytest.raises(InputError, match="priority must be one of"):
        get_policy("vllm_v1:priority=size")
