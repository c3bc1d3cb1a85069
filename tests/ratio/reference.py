"""A deliberately naive reference simulator for the tests (``docs/model.md`` §2, 6, 7).

Round by round, it recomputes every future round's memory from scratch for each admission
test. It shares no code with ``ratio.simulator`` and exists only to cross-check it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ratio.model import Instance, Run, Schedule


def _future_ok(inst: Instance, members: dict[int, int], t: int) -> bool:
    reqs = inst.requests
    end = max(p + reqs[i].output for i, p in members.items())
    for tau in range(t, end):
        held = sum(
            reqs[i].prompt + (tau - p + 1)
            for i, p in members.items()
            if p <= tau < p + reqs[i].output
        )
        if held > inst.capacity:
            return False
    return True


def lookahead(
    inst: Instance,
    key: Callable[[int], Any],
    *,
    blocking: bool = True,
    reservation: bool = False,
) -> Schedule:
    reqs = inst.requests
    n = inst.n
    running: dict[int, int] = {}
    starts: dict[int, int] = {}
    t = 0
    while len(starts) < n:
        assert t < 10_000, "reference simulator did not finish"
        running = {i: p for i, p in running.items() if p + reqs[i].output > t}
        waiting = [i for i in range(n) if i not in starts and reqs[i].arrival <= t]
        waiting.sort(key=lambda i: (key(i), reqs[i].arrival, i))
        for c in waiting:
            trial = {**running, c: t}
            if reservation:
                ok = sum(reqs[i].peak for i in trial) <= inst.capacity
            else:
                ok = _future_ok(inst, trial, t)
            if ok:
                running[c] = t
                starts[c] = t
            elif blocking:
                break
        t += 1
    return Schedule(tuple(starts[i] for i in range(n)))


def reactive(
    inst: Instance,
    key: Callable[[int], Any],
    *,
    victim: str,
    eviction: str = "restart",
) -> Schedule:
    """vLLM-like: evict on overflow (``victim`` = "latest_admitted" or "largest_key"), no
    admission in a round that evicted, head-of-line admission by current memory.
    ``eviction="resume"``: a request evicted after j tokens keeps them, its next run holds
    ``s + j + k`` in its k-th round and lasts ``o - j`` rounds (model §7)."""
    reqs = inst.requests
    n = inst.n
    running: dict[int, tuple[int, int]] = {}  # i -> (start, admission sequence)
    starts: dict[int, int] = {}
    done: set[int] = set()
    runs: list[Run] = []
    seq = 0
    kept = [0] * n  # tokens kept from evicted runs (resume only)
    t = 0
    while len(done) < n:
        assert t < 10_000, "reference simulator did not finish"
        for i, (p, _) in list(running.items()):
            if p + reqs[i].output - kept[i] <= t:
                done.add(i)
                del running[i]

        def mem(t: int = t) -> int:
            return sum(reqs[i].prompt + kept[i] + t - p + 1 for i, (p, _) in running.items())

        evicted = False
        while running and mem() > inst.capacity:
            if victim == "latest_admitted":
                v = max(running, key=lambda i: running[i][1])
            else:
                v = max(running, key=lambda i: (key(i), reqs[i].arrival, i))
            p, _ = running.pop(v)
            runs.append(Run(v, p, t - p))
            if eviction == "resume":
                kept[v] += t - p
            del starts[v]
            evicted = True
        if not evicted:
            waiting = [
                i for i in range(n) if i not in done and i not in running and reqs[i].arrival <= t
            ]
            waiting.sort(key=lambda i: (key(i), reqs[i].arrival, i))
            for c in waiting:
                if mem() + reqs[c].prompt + kept[c] + 1 <= inst.capacity:
                    running[c] = (t, seq)
                    seq += 1
                    starts[c] = t
                else:
                    break
        t += 1
    return Schedule(tuple(starts[i] for i in range(n)), tuple(runs), eviction)
