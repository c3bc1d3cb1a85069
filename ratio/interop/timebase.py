"""Arrival times (milliseconds) to rounds (``docs/queueing.md`` Q2, ``model.md`` section 2).

Two clocks:

``round_ms``
    Every round lasts ``R`` milliseconds: a request arriving ``x`` ms after the origin arrives
    in round ``floor(x / R)``.
``batch-time model``
    Round ``t`` lasts ``tau(batch_t)`` ms (``queueing.md`` Q2: ``unit``, ``staircase``,
    ``affine``, ``mixed_solo``), where ``batch_t`` is what a *reference policy* runs in that
    round; a request arriving at ``x`` arrives in the first round that starts at or after ``x``,
    and a round with nothing to do advances time to the next arrival (Q2). Rounds of the
    base model process whole prompts with the first output token (``first_token=
    "with_prefill"``, Q1): a request starting in round ``t`` puts its ``s`` prompt tokens into
    that round's batch and one decode token into each later round it runs.

The batch-time mapping depends on the reference policy (its batches set the clock), so the
policy is recorded in the trace's ``meta``; the arrival times themselves are kept in
``meta["arrival_ms"]`` so that a time-aware simulator can redo the mapping for any policy.

The mapping is computed as the fixed point of ``g -> rounds(times(simulate(g)))``. Because the
policy is non-anticipating (``model.md`` 5), if a guess ``g`` is right for every request whose
true round is ``< R`` (and puts the others at ``>= R``), the simulated rounds ``0..R-1`` and
hence the start times ``T_0..T_R`` are right, so the next guess is right up to ``R + 1``: the
iteration reaches the unique fixed point in at most ``max round + 2`` steps.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from ratio.errors import InputError
from ratio.queueing.tau import TauModel, parse_tau

__all__ = ["BatchTime", "parse_batch_time", "rounds_by_round_ms", "rounds_by_batch_time"]

#: Batch-time models are those of the extended engine (``queueing.md`` Q2), parsed once.
BatchTime = TauModel
parse_batch_time = parse_tau


def rounds_by_round_ms(times_ms: Sequence[float], round_ms: float) -> list[int]:
    """``floor(x / round_ms)`` for each arrival ``x`` (ms after the origin, ``x >= 0``).

    >>> rounds_by_round_ms([0.0, 49.9, 50.0, 120.0], 50.0)
    [0, 0, 1, 2]
    """
    if not (round_ms > 0 and math.isfinite(round_ms)):
        raise InputError(f"--round-ms must be a positive number, got {round_ms}")
    # The 1e-9 guards against 0.1 * 3 / 0.1 = 2.9999999999999996.
    return [int(math.floor(x / round_ms + 1e-9)) for x in times_ms]


def _round_starts(
    times_ms: Sequence[float],
    prefill: dict[int, int],
    decode: dict[int, int],
    tau: BatchTime,
    last: int,
) -> list[float]:
    """Start times ``T_0..T_{last+1}`` of rounds (``T_0 = 0``) given the per-round batches."""
    sorted_times = sorted(times_ms)
    starts = [0.0]
    for t in range(last + 1):
        p, d = prefill.get(t, 0), decode.get(t, 0)
        now = starts[-1]
        if p or d:
            starts.append(now + float(tau.duration(p, d)))
        else:  # nothing to do: time advances to the next arrival (Q2)
            k = bisect.bisect_right(sorted_times, now)
            starts.append(
                sorted_times[k] if k < len(sorted_times) else now + float(tau.duration(0, 0))
            )
    return starts


def rounds_by_batch_time(
    times_ms: Sequence[float],
    prompts: Sequence[int],
    outputs: Sequence[int],
    *,
    capacity: int,
    tau: BatchTime,
    policy: str = "vllm_fcfs",
) -> list[int]:
    """Arrival rounds under a batch-time model and a reference policy (``queueing.md`` Q2).

    Parameters
    ----------
    times_ms
        Arrival times in ms after the origin (``>= 0``), one per request.
    prompts, outputs
        The requests' lengths (their peaks must fit ``capacity``).
    capacity
        ``M`` in tokens.
    tau
        The batch-time model; durations in ms.
    policy
        The reference policy whose batches set the clock (default ``vllm_fcfs``: what a
        production vLLM server with its default scheduler ran).

    Returns
    -------
    list of int
        Arrival round of each request: the first round starting at or after its time.
    """
    from ratio.model import Instance, Request
    from ratio.simulator import simulate

    n = len(times_ms)
    if n == 0:
        return []
    guess = [0] * n
    # The fixed point is reached within (max round + 2) steps; a round of the simulated
    # schedule is at most every request's recomputed work, so this bound is never hit.
    bound = 4 * (sum(outputs) + n) + 100
    for _ in range(bound):
        inst = Instance(
            capacity,
            tuple(Request(g, s, o) for g, s, o in zip(guess, prompts, outputs, strict=True)),
        )
        res = simulate(inst, policy)
        prefill: dict[int, int] = {}
        decode: dict[int, int] = {}
        runs = [(r.request, r.start, r.rounds) for r in res.schedule.evicted]
        runs += [(i, p, outputs[i]) for i, p in enumerate(res.starts)]
        last = 0
        for i, p, k in runs:
            prefill[p] = prefill.get(p, 0) + prompts[i]
            for t in range(p + 1, p + k):
                decode[t] = decode.get(t, 0) + 1
            last = max(last, p + k - 1)
        last = max(last, max(guess))
        starts = _round_starts(times_ms, prefill, decode, tau, last)
        # First round starting at or after x; past the simulated horizon this is len(starts),
        # a guess the next step refines (idle rounds there jump to the next arrival).
        new = [bisect.bisect_left(starts, x - 1e-9) for x in times_ms]
        if new == guess:
            return new
        guess = new
    raise RuntimeError("batch-time round mapping did not converge (a bug: see module docstring)")
