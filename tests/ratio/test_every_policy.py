"""The battery of :mod:`ratio.testing` on every policy of :data:`ratio.policies.REGISTRY`,
base and extended (issue 18): a policy added to the registry is tested here without a line
of its own, unless it needs set-up that its defaults cannot give (``SETUP`` below)."""

from __future__ import annotations

import inspect
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given

from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import REGISTRY, EnginePolicy, Policy, RequestView, get_policy
from ratio.queueing.views import EngineState, Work
from ratio.strategies import instances
from ratio.testing import check_information_level, run_battery

# Prompts and outputs stay small so that gate_and_route's classes (every (prompt, output) the
# battery can produce, with its changed late requests: prompt <= 5, output <= 7) stay few.
SMALL: dict[str, Any] = {"prompt": (1, 5), "output": (1, 7)}


def _gate_and_route() -> tuple[Policy, dict[str, Any]]:
    from ratio.policies.gate_and_route import GateAndRoute, RequestClass
    from ratio.queueing.tau import MixedSolo
    from ratio.queueing.views import EngineSpec

    classes = [RequestClass(s, o, 0.001, 1.0) for s in range(1, 6) for o in range(1, 8)]
    spec = EngineSpec(None, None, 2, MixedSolo(1, 0, 1))
    return GateAndRoute().with_classes(classes), {"engines": [spec, spec]}


def _fixed(spec: str) -> Any:
    return lambda: (get_policy(spec), {})


#: Policies whose defaults cannot run on every small instance, and how the battery builds
#: them: gate_and_route needs its classes and engines; WAIT's and Nested WAIT's memory-safe
#: thresholds need room for a batch per stage, more than a small M has, so they get ``L``.
SETUP = {
    "gate_and_route": _gate_and_route,
    "wait": _fixed("wait:L=2"),
    "nested_wait": _fixed("nested_wait:L=2"),
}

#: Parameter variants worth a run of their own (the registry's names run with defaults).
VARIANTS = [
    "svf:blocking=false",
    "svf:test=reservation",
    "svf_1bit:theta=4",
    "vllm_priority:priority=output",
    "orca:token_budget=6",
    "sarathi:token_budget=4",
    "class_priority:order=0",
    "wait:L=8",
    "nested_wait:L=8",
]


def _case(spec: str) -> tuple[Policy, dict[str, Any]]:
    if spec in SETUP:
        return SETUP[spec]()
    try:
        return get_policy(spec), {}
    except InputError as exc:  # pragma: no cover - a new policy without a SETUP entry
        pytest.fail(f"{spec}: cannot be built with defaults ({exc}); add it to SETUP")


@pytest.mark.parametrize("spec", [*sorted(REGISTRY), *VARIANTS])
@given(inst=instances(n=(1, 6), regime="online", capacity=(8, 40), **SMALL))
def test_battery_every_policy(spec: str, inst: Instance) -> None:
    pol, engine = _case(spec)
    run_battery(inst, pol, **engine)


@pytest.mark.parametrize("spec", sorted(REGISTRY))
@given(inst=instances(n=(1, 6), regime="online", capacity=(8, 40), **SMALL))
def test_battery_every_policy_resume(spec: str, inst: Instance) -> None:
    """``eviction=resume`` (``docs/model.md`` section 7) on every policy, either layer."""
    pol, engine = _case(spec)
    run_battery(inst, pol, eviction="resume", **engine)


@pytest.mark.parametrize("spec", sorted(n for n, c in REGISTRY.items() if c.engine == "base"))
@given(inst=instances(n=(1, 6), regime="all_at_zero", alpha_max=Fraction(1, 2), **SMALL))
def test_battery_burst_base(spec: str, inst: Instance) -> None:
    pol, engine = _case(spec)
    run_battery(inst, pol, **engine)


def test_vllm_prefill_first_preempts_without_thrashing() -> None:
    """Found by the battery (issue 18): on this trace, M = 16, prefill-first batches used to
    evict a request and re-admit it in the same step, forever, while nothing decoded. Like
    vLLM, a step that preempts is now decode-only: the run completes within memory and passes
    the whole battery (the engine's feasibility check: a run with pauses has no base-model
    schedule for ``ratio.check``)."""
    from ratio.queueing import simulate_extended

    inst = Instance.from_tuples(16, [(12, 1, 3), (1, 4, 7), (7, 4, 6), (6, 2, 1), (7, 1, 7)])
    res = simulate_extended(inst, "vllm_prefill_first", max_rounds=2000)
    assert res.complete and res.evictions > 0
    assert max(m for _, _, m in res.memory_rounds) <= 16
    run_battery(inst, get_policy("vllm_prefill_first"))


# --- the battery catches a policy that peeks ------------------------------------------------
class _PeekingSJF(EnginePolicy):
    """Planted bug: says information ``none`` but admits, one a round, the waiting request
    with the shortest true output, read from the engine behind its read-only state."""

    name = "peeking_sjf"
    info = "none"

    def plan(self, state: EngineState) -> list[Work]:
        engine = state._r  # what a policy must never do
        work = [Work(p.index, 0, 0, True) for p in state.running(0) if p.can_decode]
        waiting = sorted(state.waiting(0), key=lambda v: engine.O[v.index])  # type: ignore[attr-defined]
        if waiting and state.held_after(waiting[0].index, waiting[0].prompt, False) <= (
            (state.capacity(0) or 0) - state.demand(0)
        ):
            work.append(Work(waiting[0].index, 0, waiting[0].prompt))
        return work


class _PeekingKey(Policy):
    """Planted bug for the base simulator: information ``none``, but its key reads the true
    output length from the simulator's frame."""

    name = "peeking_key"
    info = "none"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        frame = inspect.currentframe()
        while frame is not None:
            sim: Any = frame.f_locals.get("self")
            if hasattr(sim, "O"):
                return (sim.O[view.index],)
            frame = frame.f_back
        raise AssertionError("no simulator on the stack")


# Three prompts of 2 at round 0 with outputs 3, 1, 2, one admitted at a time.
PEEK_TRACE = Instance.from_tuples(6, [(0, 2, 3), (0, 2, 1), (0, 2, 2)])


@pytest.mark.parametrize("make", [_PeekingSJF, _PeekingKey])
def test_the_battery_catches_a_policy_that_peeks(make: type[Policy]) -> None:
    honest = "vllm_fcfs" if make is _PeekingKey else "fastertransformer"
    check_information_level(PEEK_TRACE, honest)
    with pytest.raises(AssertionError, match="depend on output lengths"):
        check_information_level(PEEK_TRACE, make())
    with pytest.raises(AssertionError, match="depend on output lengths"):
        run_battery(PEEK_TRACE, make())
