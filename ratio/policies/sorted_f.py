"""Sorted-F (Wang, Ye, Zhou), as reconstructed by the spec."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

from ratio.policies.base import Policy, SystemView


class SortedF(Policy):
    """Sorted-F: batches one after another; when the cache is empty, start the batch X of
    waiting requests minimising ``F(X) = (sum_{i in X} o_i) / |X|^2`` among those feasible when
    all members start together on an empty cache. For each size k the candidate is the k
    requests of smallest ``o_i`` that fit, taken greedily; the k with the least F wins, ties
    to the larger batch (``docs/model.md`` section 8). The next batch starts in the first
    round after the previous batch's last member has completed.

    Information: full. Guarantee claimed by the paper for its exact rule (all arrivals at 0):
    ``L <= 48 * OPT``. This is a **reconstruction** from the paper's metric alone; whether it
    keeps the bound is an empirical question for ``adversaries``.

    References: Wang, Ye, Zhou, arXiv 2508.06133, section 3 (Sorted-F and its 48 bound).
    """

    name = "sorted_f"
    info = "full"
    summary = "batches minimising sum(o)/|X|^2 (reconstruction of Wang-Ye-Zhou)"
    PARAMS: ClassVar[dict[str, object]] = {}
    admission = "batch"

    def decide(self, state: SystemView) -> Sequence[int]:
        if state.running or not state.waiting:
            return []
        order = sorted(state.waiting, key=lambda v: (v.output, v.arrival, v.index))
        chosen: list[tuple[int, int, int]] = []  # (prompt, output, index)
        best: tuple[Fraction, int] | None = None
        best_k = 0
        total_o = 0
        for v in order:
            assert v.output is not None
            trial = [*chosen, (v.prompt, v.output, v.index)]
            if not _fits_together(trial, state.capacity, state.block_size, state.offset):
                continue
            chosen = trial
            total_o += v.output
            k = len(chosen)
            f = Fraction(total_o, k * k)
            if best is None or f < best[0] or (f == best[0] and k > best[1]):
                best = (f, k)
                best_k = k
        return [idx for _, _, idx in chosen[:best_k]]


def _fits_together(
    batch: list[tuple[int, int, int]], capacity: int, block_size: int = 1, offset: int = 0
) -> bool:
    """All members start in the same round on an empty cache: memory peaks in the round just
    before each member completes (model §6), when a member of output ``o >= o_end`` holds
    ``s + o_end - offset`` tokens rounded up to whole blocks (model §2, §9)."""
    for _, o_end, _ in batch:
        total = 0
        for s, o, _ in batch:
            if o >= o_end:
                total += -(-(s + o_end - offset) // block_size) * block_size
        if total > capacity:
            return False
    return True
