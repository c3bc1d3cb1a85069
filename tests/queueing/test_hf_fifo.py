"""``hf_fifo`` (transformers' continuous-batching FIFO scheduler) on hand-worked traces.

The engine itself is compared with the policy in ``tests/hardware_check/test_paged_replay.py``;
these examples pin the rules without transformers (engine convention, blocks of one token,
``eviction=resume``).
"""

from __future__ import annotations

from ratio.model import Instance
from ratio.queueing import simulate_extended


def _run(M: int, reqs: list[tuple[int, int, int]]):  # type: ignore[no-untyped-def]
    res = simulate_extended(
        Instance.from_tuples(M, reqs),
        "hf_fifo",
        convention="engine",
        block_size=1,
        eviction="resume",
        record_batches=True,
    )
    batches = [(b.round, [(w.request, w.prefill) for w in b.work]) for b in res.batches]
    return res, batches


def test_nothing_fits_evicts_first_then_serves_the_rest() -> None:
    # M = 5: A (2, 3) and B (1, 3) hold 3 + 2 after round 1; in round 2 neither can grow
    # (A needs 4, B 3). Nothing fits, so the newest starved, B, is evicted first, and A then
    # runs in the same step on B's freed memory; B resumes with its 2 tokens once A is done.
    res, batches = _run(5, [(0, 2, 3), (0, 1, 3)])
    assert batches == [
        (0, [(0, 2), (1, 1)]),
        (1, [(0, 0), (1, 0)]),
        (2, [(0, 0)]),
        (3, [(1, 3)]),  # prompt 1 + 2 kept tokens, one token left
    ]
    assert res.completions == (3, 4) and res.evictions == 1


def test_a_starved_request_pauses_while_the_newest_is_evicted() -> None:
    # M = 4, three requests (1, 3), (1, 3), (1, 2) hold 1 each after round 0. In round 1 only
    # A can grow: B and C are starved. C (the newest) is evicted; B now fits the memory left
    # but was not scheduled, so it pauses, holding its block. Admissions stay blocked until A
    # completes; then the queue is C, B (eviction order), both admitted with their kept token.
    res, batches = _run(4, [(0, 1, 3), (0, 1, 3), (0, 1, 2)])
    assert batches == [
        (0, [(0, 1), (1, 1), (2, 1)]),
        (1, [(0, 0)]),  # B paused, C evicted
        (2, [(0, 0)]),  # B cannot grow: evicted too (one running request is left)
        (3, [(2, 2), (1, 2)]),
        (4, [(1, 0)]),
    ]
    assert res.completions == (3, 5, 4) and res.evictions == 2


def test_admission_skips_a_request_that_does_not_fit() -> None:
    # No head-of-line blocking: with 3 tokens free, the (0, 4, 1) request waits while the
    # (0, 2, 1) behind it is admitted.
    res, batches = _run(6, [(0, 3, 2), (1, 4, 1), (1, 2, 1)])
    assert batches[1] == (1, [(0, 0), (2, 2)])
    assert res.starts == (0, 2, 1)
