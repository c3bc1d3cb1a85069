"""Hand-worked schedules for every policy (worked out in the comments, round by round)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ratio import Instance, Run, check, simulate
from ratio.strategies import instances

# A: M = 10; r0 = (a 0, s 6, o 2), r1 = (0, 3, 1), r2 = (0, 1, 3).
A = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])


def test_spf() -> None:
    # Key s: r2, r1, r0. t0: r2 (2) and r1 (4 at its last round) fit; r0 would need 7 more.
    # t1: r0 at rounds 1, 2 holds 7, 8 beside r2's 3, 4: 12 > 10. t2: 7 + 4 = 11. t3: r2 done.
    res = simulate(A, "spf")
    assert res.starts == (3, 0, 0) and res.total_latency == 5 + 1 + 3


def test_sorted_f() -> None:
    # By o: r1 (1), r0 (2), r2 (3). {r1}: F = 1. {r1, r0} together: 4 + 7 = 11 > 10, skip r0.
    # {r1, r2}: F = (1 + 3) / 4 = 1, ties go to the larger batch. Next batch when both are
    # done (round 3): {r0}.
    res = simulate(A, "sorted_f")
    assert res.starts == (3, 0, 0)
    # A case where batching costs: r1 = (0, 1, 10) is long; batch {r0, r2} first.
    b = Instance.from_tuples(12, [(0, 2, 1), (0, 1, 10), (0, 2, 1)])
    # By o: r0, r2, r1. {r0}: F = 1; {r0, r2}: 2/4; {r0, r2, r1}: 12/9 -> batch {r0, r2}.
    res = simulate(b, "sorted_f")
    assert res.starts == (0, 1, 0)


def test_svf_1bit() -> None:
    # theta = 2: short proxy 1, long proxy 4. Keys: r0 (short) 6+1 = 7, r1 (short) 3+1 = 4,
    # r2 (long) 4 + 10 = 14. Plans: short -> theta = 2 rounds, long -> 4.
    # t0: r1 fits; r0 needs 7 beside r1's 4: blocked. t1: r1 done, r0 in. t2: r2 planned
    # 4 rounds: round 2 holds 8 + 2 = 10 -> in. r2 really has o = 3: done at 5.
    res = simulate(A, "svf_1bit:theta=2")
    assert res.starts == (1, 0, 2) and res.total_latency == 3 + 1 + 5
    assert res.evictions == 0


def test_vllm_fcfs_head_of_line() -> None:
    # t0: r0 holds 7; r1 needs 4 more: 11 > 10, and r2 waits behind r1 (head-of-line).
    # t2: r0 done, r1 and r2 in.
    res = simulate(A, "vllm_fcfs")
    assert res.starts == (0, 2, 2) and res.total_latency == 2 + 3 + 5


# B: M = 7, r0 = (0, 1, 4), r1 = (0, 1, 3): both fit at first, overflow at round 2.
B = Instance.from_tuples(7, [(0, 1, 4), (0, 1, 3)])


def test_vllm_fcfs_evicts_latest_admitted() -> None:
    # t0: 2 + 2; t1: 3 + 3; t2: 4 + 4 = 8 > 7 -> evict r1 (admitted last), no admission that
    # round; t3: r0 holds 5, r1 restarts with 2: 7 fits.
    res = simulate(B, "vllm_fcfs")
    assert res.starts == (0, 3)
    assert res.schedule.evicted == (Run(1, 0, 2),)
    assert res.total_latency == 4 + 6 and res.costs.wasted_tokens == 1 + 2
    assert check(B, res.schedule)


def test_vllm_priority_evicts_largest_volume() -> None:
    # Volumes: r0 = 4 + 10 = 14, r1 = 3 + 6 = 9. t2: overflow, evict r0 (largest priority).
    # t3: r1 completes, r0 restarts alone.
    res = simulate(B, "vllm_priority")
    assert res.starts == (3, 0)
    assert res.schedule.evicted == (Run(0, 0, 2),)
    assert res.total_latency == 7 + 3


def test_mcsf_with_predictions_evicts_on_overflow() -> None:
    # M = 6, both (0, 1, 3) predicted to need 1 round: both admitted at 0 (2 + 2). At t2 they
    # hold 4 + 4 = 8 > 6: evict the most recent (r1); r1 is retried at once: r0 is overdue,
    # so it may end any round, and 4 + 2 = 6 fits.
    inst = Instance(6, Instance.from_tuples(6, [(0, 1, 3), (0, 1, 3)]).requests, predictions=(1, 1))
    res = simulate(inst, "mcsf:predicted=true")
    assert res.starts == (0, 2)
    assert res.schedule.evicted == (Run(1, 0, 2),)
    assert check(inst, res.schedule)
    # With exact predictions it is SJF.
    exact = Instance(10, A.requests, predictions=(2, 1, 3))
    assert simulate(exact, "mcsf:predicted=true").starts == simulate(A, "sjf").starts == (1, 0, 2)


@settings(deadline=None)
@given(
    inst=instances(n=(1, 7), capacity=(8, 40), prompt=(1, 12), output=(1, 10)),
    block_size=st.sampled_from([2, 4]),
    convention=st.sampled_from(["model", "engine"]),
)
def test_sorted_f_batches_fit_in_blocks(inst: Instance, block_size: int, convention: str) -> None:
    """Sorted-F forms its batches with the run's block rounding and convention: the base
    simulator never rechecks a batch's memory, so a batch sized in tokens overflowed M with
    blocks (M = 15, B = 4) without an error."""
    e = 1 if convention == "engine" else 0
    peaks = [-(-(r.prompt + r.output - e) // block_size) * block_size for r in inst.requests]
    assume(max(peaks) <= inst.capacity)
    run = simulate(inst, "sorted_f", convention=convention, block_size=block_size)
    assert check(inst, run.schedule, convention=convention, block_size=block_size)
