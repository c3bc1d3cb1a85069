"""The independent checker on hand-made schedules."""

from __future__ import annotations

from ratio import Instance, Run, Schedule, check, memory_trace


def test_detects_first_overflow_round() -> None:
    inst = Instance.from_tuples(10, [(0, 4, 3), (0, 3, 3)])
    # Both at 0: rounds hold 5+4=9, 6+5=11 -> violation at round 1 with 11 tokens.
    res = check(inst, Schedule((0, 0)))
    assert not res and res.round == 1 and res.memory == 11
    assert check(inst, Schedule((0, 3)))
    assert check(inst, Schedule((0, 2))).round == 2  # 7 + 4 = 11


def test_engine_convention_and_blocks() -> None:
    inst = Instance.from_tuples(10, [(0, 4, 3), (0, 3, 3)])
    # Engine convention holds one token less per request per round: 7, 9, 11 -> fails at 2.
    res = check(inst, Schedule((0, 0)), convention="engine")
    assert not res and res.round == 2 and res.memory == 11
    # Blocks of 4: tokens (4, 3), (5, 4), (6, 5) round up to (4, 4), (8, 4), (8, 8).
    mem = memory_trace(inst, Schedule((0, 0)), convention="engine", block_size=4)
    assert list(mem) == [8, 12, 16]
    assert check(inst, Schedule((0, 0)), convention="engine", block_size=4).round == 1


def test_rejects_early_start_and_bad_runs() -> None:
    inst = Instance.from_tuples(10, [(2, 4, 3)])
    assert "before arrival" in check(inst, Schedule((1,))).reason
    assert not check(inst, Schedule((2, 2)))
    # An evicted run longer than the output, or overlapping the final run.
    assert not check(inst, Schedule((6,), (Run(0, 2, 3),)))
    assert not check(inst, Schedule((4,), (Run(0, 2, 3),)))
    assert check(inst, Schedule((4,), (Run(0, 2, 2),)))


def test_evicted_run_memory_counts() -> None:
    inst = Instance.from_tuples(6, [(0, 2, 3), (0, 2, 2)])
    # An evicted run holds memory like any other run.
    # Round 0: 3 + 3 = 6 fits exactly.
    assert check(inst, Schedule((0, 3), (Run(1, 0, 1),)))
    bad = check(inst, Schedule((0, 3), (Run(1, 1, 1),)))
    assert not bad and bad.round == 1 and bad.memory == 7
