"""Independent feasibility checker (``docs/model.md`` section 2).

Written from the spec alone, sharing no code with the simulator or :mod:`ratio.costs`: it
walks every run token by token and adds memory round by round in a plain dict. Slow and
obvious on purpose; it is the referee for every schedule any solver or search produces.
"""

from __future__ import annotations

from dataclasses import dataclass

from ratio.model import Instance, Schedule

__all__ = ["CheckResult", "check", "assert_feasible"]


@dataclass(frozen=True)
class CheckResult:
    """``feasible``; else the first violated ``round``, the ``memory`` held then, and why."""

    feasible: bool
    round: int | None = None
    memory: int | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.feasible


def check(
    instance: Instance,
    schedule: Schedule,
    *,
    convention: str = "model",
    block_size: int = 1,
) -> CheckResult:
    """Is ``schedule`` feasible for ``instance``?

    Checks: one start per request, ``p_i >= a_i``, evicted runs start at or after arrival and
    end before the request's next run, runs are shorter than ``o_i``, and in every round the
    held tokens (``s + k``, or ``s + k - 1`` in the engine convention, in whole blocks) sum to
    at most ``M``. Returns the first violated round and its memory.

    The schedule's ``eviction`` mode (model §7) says what a run holds. ``restart``: every run
    of request ``i`` has prompt ``s_i`` and the final run ``o_i`` rounds. ``resume``: a run
    after evicted runs of ``j`` rounds in all has prompt ``s_i + j``, the final run
    ``o_i - j`` rounds, and the evicted runs together produce fewer than ``o_i`` tokens.
    """
    # long: the independent checker: one pass per rule of docs/model.md sections 2 and 7
    reqs = instance.requests
    mode = getattr(schedule, "eviction", "restart")
    if mode not in ("restart", "resume"):
        return CheckResult(False, reason=f"unknown eviction mode {mode!r}")
    if len(schedule.starts) != len(reqs):
        return CheckResult(
            False, reason=f"{len(schedule.starts)} start rounds for {len(reqs)} requests"
        )
    minus = 1 if convention == "engine" else 0
    held: dict[int, int] = {}
    busy: dict[int, list[tuple[int, int]]] = {}

    def occupy(i: int, prompt: int, start: int, rounds: int) -> None:
        for k in range(1, rounds + 1):
            tokens = prompt + k - minus
            if block_size > 1:
                tokens = ((tokens + block_size - 1) // block_size) * block_size
            rnd = start + k - 1
            held[rnd] = held.get(rnd, 0) + tokens
        busy.setdefault(i, []).append((start, start + rounds))

    # Evicted runs, request by request in time order. Under resume a run starts from the
    # tokens its request kept from the earlier runs (its prompt grows by them).
    by_request: dict[int, list[tuple[int, int]]] = {}
    for run in schedule.evicted:
        if not 0 <= run.request < len(reqs):
            return CheckResult(False, reason=f"evicted run of unknown request {run.request}")
        by_request.setdefault(run.request, []).append((run.start, run.rounds))
    kept = [0] * len(reqs)
    for i in sorted(by_request):
        r = reqs[i]
        for start, rounds in sorted(by_request[i]):
            if start < r.arrival:
                return CheckResult(
                    False,
                    round=start,
                    reason=f"request {i} runs at {start} before arrival {r.arrival}",
                )
            if kept[i] + rounds >= r.output:
                return CheckResult(
                    False,
                    round=start,
                    reason=(
                        f"evicted run of request {i} ends with {kept[i] + rounds} >= o = "
                        f"{r.output} tokens produced"
                    ),
                )
            occupy(i, r.prompt + kept[i], start, rounds)
            if mode == "resume":
                kept[i] += rounds
    final_end: list[int] = []
    for i, (start, r) in enumerate(zip(schedule.starts, reqs, strict=False)):
        if start < r.arrival:
            return CheckResult(
                False,
                round=start,
                reason=f"request {i} starts at {start} before arrival {r.arrival}",
            )
        occupy(i, r.prompt + kept[i], start, r.output - kept[i])
        final_end.append(start + r.output - kept[i])
    for i, spans in busy.items():
        spans.sort()
        for (_s0, e0), (s1, _) in zip(spans, spans[1:], strict=False):
            if s1 < e0:
                return CheckResult(
                    False, round=s1, reason=f"request {i} has overlapping runs at round {s1}"
                )
        final = (schedule.starts[i], final_end[i])
        if spans[-1] != final:
            return CheckResult(
                False, round=spans[-1][0], reason=f"request {i} runs after its completing run"
            )
    for rnd in sorted(held):
        if held[rnd] > instance.capacity:
            return CheckResult(
                False,
                round=rnd,
                memory=held[rnd],
                reason=f"round {rnd} holds {held[rnd]} > M = {instance.capacity} tokens",
            )
    return CheckResult(True)


def assert_feasible(instance: Instance, schedule: Schedule, **kw: object) -> None:
    """Raise :class:`~ratio.errors.InfeasibleError` if :func:`check` fails."""
    from ratio.errors import InfeasibleError

    res = check(instance, schedule, **kw)  # type: ignore[arg-type]
    if not res:
        raise InfeasibleError(res.reason)
