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
    """
    # long: the independent checker: one pass per rule of docs/model.md section 2
    reqs = instance.requests
    if len(schedule.starts) != len(reqs):
        return CheckResult(
            False, reason=f"{len(schedule.starts)} start rounds for {len(reqs)} requests"
        )
    minus = 1 if convention == "engine" else 0
    held: dict[int, int] = {}
    busy: dict[int, list[tuple[int, int]]] = {}

    def occupy(i: int, start: int, rounds: int) -> None:
        s = reqs[i].prompt
        for k in range(1, rounds + 1):
            tokens = s + k - minus
            if block_size > 1:
                tokens = ((tokens + block_size - 1) // block_size) * block_size
            rnd = start + k - 1
            held[rnd] = held.get(rnd, 0) + tokens
        busy.setdefault(i, []).append((start, start + rounds))

    for i, (start, r) in enumerate(zip(schedule.starts, reqs, strict=False)):
        if start < r.arrival:
            return CheckResult(
                False,
                round=start,
                reason=f"request {i} starts at {start} before arrival {r.arrival}",
            )
        occupy(i, start, r.output)
    for run in schedule.evicted:
        if not 0 <= run.request < len(reqs):
            return CheckResult(False, reason=f"evicted run of unknown request {run.request}")
        r = reqs[run.request]
        if run.start < r.arrival:
            return CheckResult(
                False,
                round=run.start,
                reason=f"request {run.request} runs at {run.start} before arrival {r.arrival}",
            )
        if run.rounds >= r.output:
            return CheckResult(
                False,
                round=run.start,
                reason=f"evicted run of request {run.request} has {run.rounds} >= o rounds",
            )
        occupy(run.request, run.start, run.rounds)
    for i, spans in busy.items():
        spans.sort()
        for (_s0, e0), (s1, _) in zip(spans, spans[1:], strict=False):
            if s1 < e0:
                return CheckResult(
                    False, round=s1, reason=f"request {i} has overlapping runs at round {s1}"
                )
        final = (schedule.starts[i], schedule.starts[i] + reqs[i].output)
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
