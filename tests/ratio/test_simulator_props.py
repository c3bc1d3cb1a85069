"""Property tests of the simulator against the spec and against a naive reference."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ratio import Instance, Request, check, simulate, volume
from ratio.policies import REGISTRY, get_policy
from ratio.strategies import instances
from ratio.testing import decisions_until, run_battery
from tests.ratio import reference

BASE_POLICIES = [
    "fcfs",
    "sjf",
    "spf",
    "svf",
    "mcsf",
    "sorted_f",
    "vllm_fcfs",
    "vllm_priority",
    "svf:blocking=false",
    "svf:test=reservation",
    "svf_1bit:theta=4",
    "vllm_priority:priority=output",
]


def test_every_registered_policy_is_covered() -> None:
    names = {p.split(":")[0] for p in BASE_POLICIES}
    assert names == {n for n, c in REGISTRY.items() if c.engine == "base"}


@pytest.mark.parametrize("policy", BASE_POLICIES)
@given(inst=instances(n=(1, 7), regime="online"))
def test_battery_online(policy: str, inst: Instance) -> None:
    run_battery(inst, policy)


@pytest.mark.parametrize("policy", BASE_POLICIES)
@given(inst=instances(n=(1, 7), regime="all_at_zero", alpha_max=Fraction(1, 2)))
def test_battery_burst(policy: str, inst: Instance) -> None:
    run_battery(inst, policy)


KEYS = {
    "fcfs": lambda r: r.arrival,
    "sjf": lambda r: r.output,
    "spf": lambda r: r.prompt,
    "svf": lambda r: volume(r.prompt, r.output),
}


@pytest.mark.parametrize("name", sorted(KEYS))
@pytest.mark.parametrize("blocking", [True, False])
@pytest.mark.parametrize("reservation", [False, True])
@given(inst=instances(n=(1, 7), regime="online"))
def test_lookahead_matches_reference(
    name: str, blocking: bool, reservation: bool, inst: Instance
) -> None:
    key = KEYS[name]
    spec = f"{name}:blocking={str(blocking).lower()}"
    if reservation:
        spec += ",test=reservation"
    ref = reference.lookahead(
        inst, lambda i: key(inst.requests[i]), blocking=blocking, reservation=reservation
    )
    assert simulate(inst, spec).starts == ref.starts


@pytest.mark.parametrize(
    "policy, victim", [("vllm_fcfs", "latest_admitted"), ("vllm_priority", "largest_key")]
)
@given(inst=instances(n=(1, 7), regime="online", capacity=(2, 30)))
def test_reactive_matches_reference(policy: str, victim: str, inst: Instance) -> None:
    key = (lambda r: r.arrival) if policy == "vllm_fcfs" else (lambda r: volume(r.prompt, r.output))
    ref = reference.reactive(inst, lambda i: key(inst.requests[i]), victim=victim)
    res = simulate(inst, policy)
    assert res.starts == ref.starts
    assert sorted((r.request, r.start, r.rounds) for r in res.schedule.evicted) == sorted(
        (r.request, r.start, r.rounds) for r in ref.evicted
    )
    assert check(inst, res.schedule)


@given(
    inst=instances(n=(1, 8), regime="online"),
    prompt=st.integers(1, 6),
)
def test_equal_prompts_svf_equals_sjf(inst: Instance, prompt: int) -> None:
    """With all prompts equal the volume grows with o, so SVF's order is SJF's (model §8)."""
    reqs = [Request(r.arrival, prompt, r.output, r.id) for r in inst.requests]
    m = max(inst.capacity, max(prompt + r.output for r in reqs))
    same = Instance(m, tuple(reqs))
    assert simulate(same, "svf").schedule == simulate(same, "sjf").schedule


@given(inst=instances(n=(1, 8), regime="online"))
def test_sjf_and_mcsf_coincide_under_full_information(inst: Instance) -> None:
    assert simulate(inst, "sjf").schedule == simulate(inst, "mcsf").schedule


@given(inst=instances(n=(1, 8), regime="all_at_zero"))
def test_svf_waiting_time_certificate(inst: Instance) -> None:
    """SVF paper Lemma A.2 (model §12): (M-P+1) W_j <= sum_{i admitted before j} P_i o_i,
    summed: (M-P) sum W <= 2 (sum_k prefix_k(V) - sum V)."""
    res = simulate(inst, "svf")
    reqs = inst.requests
    big_p = max(r.peak for r in reqs)
    m = inst.capacity
    order = res.admission_order
    pos = {i: k for k, i in enumerate(order)}
    for j, w in enumerate(res.starts):
        before = sum(reqs[i].peak * reqs[i].output for i in order[: pos[j]])
        assert (m - big_p + 1) * w <= before
    vols = sorted(r.volume for r in reqs)
    prefix_sum = sum(sum(vols[: k + 1]) for k in range(len(vols)))
    assert (m - big_p) * sum(res.starts) <= 2 * (prefix_sum - sum(vols))


@given(inst=instances(n=(1, 6), regime="online", capacity=(2, 25)))
def test_engine_convention_and_blocks_feasible(inst: Instance) -> None:
    for policy in ("svf", "vllm_priority", "vllm_fcfs"):
        for b in (1, 4):
            if any(-(-(r.peak) // b) * b > inst.capacity for r in inst.requests):
                continue
            res = simulate(inst, policy, convention="engine", block_size=b)
            assert check(inst, res.schedule, convention="engine", block_size=b)


@given(inst=instances(n=(2, 7), regime="online"), sigma=st.integers(0, 3))
def test_predicted_policies_never_read_true_outputs(inst: Instance, sigma: int) -> None:
    """mcsf:predicted=true sees only predictions: changing true outputs while keeping the
    predictions leaves every admission decision up to the first completion unchanged."""
    preds = tuple(max(1, min(inst.capacity - r.prompt, r.output + sigma)) for r in inst.requests)
    a = Instance(inst.capacity, inst.requests, predictions=preds)
    res = simulate(a, "mcsf:predicted=true")
    assert check(a, res.schedule)
    first_done = min(res.completions)
    flipped = tuple(
        Request(r.arrival, r.prompt, max(1, min(inst.capacity - r.prompt, r.output + 1)), r.id)
        for r in inst.requests
    )
    assume(any(x.output != r.output for x, r in zip(flipped, inst.requests, strict=False)))
    b = Instance(inst.capacity, flipped, predictions=preds)
    rb = simulate(b, "mcsf:predicted=true")
    horizon = min(first_done, min(rb.completions)) - 1
    assert decisions_until(res, horizon) == decisions_until(rb, horizon)


def test_unknown_policy_lists_valid_names() -> None:
    from ratio import InputError

    with pytest.raises(InputError, match="valid: class_priority, fastertransformer, fcfs"):
        get_policy("nope")
    with pytest.raises(InputError, match="unknown parameter"):
        get_policy("svf:bogus=1")
    with pytest.raises(InputError, match="key=value"):
        get_policy("svf:blocking")
