"""A small, independent re-statement of vLLM 0.32's scheduling rules, with two switches.

Why it exists: the toolkit's reactive policies (``docs/model.md`` section 7) and vLLM differ in
two places that the replay measured (docs/hardware_check.md, "Findings"):

``resume``
    vLLM's recompute preemption keeps the output tokens a request has produced: on resumption
    it prefills ``s + j`` tokens (``j`` produced) and needs ``o - j`` more steps
    (``vllm/v1/core/sched/scheduler.py``: "We use `request.num_tokens` instead of
    `request.num_prompt_tokens` to consider the resumed requests").  Spec 7 restarts from
    ``k = 1`` with no output kept.  ``"keep"`` is vLLM, ``"restart"`` the spec.
``stall``
    In priority mode, when the running request that cannot grow is itself the lowest-priority
    one, vLLM preempts it and stops scheduling running requests for that step (``break``):
    the running requests after it in the running list skip the step, keeping their blocks.
    The model lets them run.  ``True`` is vLLM, ``False`` the model.

With ``resume="restart", stall=False`` this mirror reproduces ``ratio.simulate`` with the
``vllm_*`` policies in the engine convention (a test checks it on random traces), and with
``resume="keep", stall=True`` it reproduces vLLM step for step (the replay checks it).  So a
difference between vLLM and the toolkit is *explained* exactly when vLLM matches the mirror.

Everything else follows the model and vLLM alike: one step per round, arrivals join the waiting
queue at their round, running requests are served first in running-list order (admission
order), a request that cannot get a block preempts the victim (priority: largest
``(priority, arrival_time)``; FCFS: the last of the running list) and retries, nothing is
admitted in a step that preempted, waiting requests are admitted head-of-line while their
blocks fit, and a request holds ``ceil((s + j) / B)`` blocks in the step that samples token
``j + 1`` (model §9).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from hardware_check.mapping import ReplayPlan

__all__ = ["MirrorStep", "MirrorRun", "mirror"]


@dataclass(frozen=True)
class MirrorStep:
    step: int
    running: tuple[int, ...]
    blocks: dict[int, int]
    preempted: tuple[int, ...]


@dataclass(frozen=True)
class MirrorRun:
    steps: tuple[MirrorStep, ...]
    runs: dict[int, list[tuple[int, int]]]
    completion: dict[int, int]
    preemptions: dict[int, int]
    stalls: int


def _blocks(tokens: int, b: int) -> int:
    return -(-tokens // b)


def mirror(
    plan: ReplayPlan, *, resume: str = "keep", stall: bool = True, max_steps: int = 10**6
) -> MirrorRun:
    """Run the rules above on ``plan``; see the module docstring."""
    # long: vLLM's scheduling rules restated in the order vLLM applies them (module docstring)
    if resume not in ("keep", "restart"):
        raise ValueError("resume must be 'keep' or 'restart'")
    B = plan.block_size
    reqs = plan.requests
    n = len(reqs)
    S = [r.prompt for r in reqs]
    out_len = [r.output for r in reqs]
    prio = [(r.priority, r.arrival_time) for r in reqs]
    priority_mode = plan.scheduling_policy == "priority"
    order = sorted(range(n), key=lambda i: (reqs[i].arrival_round, i))
    ptr = 0
    produced = [0] * n
    held = [0] * n  # blocks held
    free = plan.usable_blocks
    running: list[int] = []
    wheap: list[tuple[int, float, int]] = []
    wdeque: deque[int] = deque()
    runs: dict[int, list[tuple[int, int]]] = {}
    completion: dict[int, int] = {}
    preemptions = [0] * n
    steps: list[MirrorStep] = []
    stalls = 0

    def push_waiting(i: int, front: bool = False) -> None:
        if priority_mode:
            heapq.heappush(wheap, (*prio[i], i))
        elif front:
            wdeque.appendleft(i)
        else:
            wdeque.append(i)

    def waiting_nonempty() -> bool:
        return bool(wheap) if priority_mode else bool(wdeque)

    def peek() -> int:
        return wheap[0][2] if priority_mode else wdeque[0]

    def pop() -> int:
        return heapq.heappop(wheap)[2] if priority_mode else wdeque.popleft()

    t = 0
    while len(completion) < n:
        if t > max_steps:
            raise RuntimeError("mirror did not finish")
        while ptr < n and reqs[order[ptr]].arrival_round <= t:
            push_waiting(order[ptr])
            ptr += 1
        if not running and not waiting_nonempty():
            steps.append(MirrorStep(t, (), {}, ()))
            t += 1
            continue
        scheduled: list[int] = []
        preempted: list[int] = []
        k = 0
        while k < len(running):
            i = running[k]
            need = _blocks(S[i] + produced[i], B) - held[i]
            ok = True
            while need > free:
                v = max(running, key=lambda r: prio[r]) if priority_mode else running[-1]
                vi = running.index(v)
                del running[vi]
                if vi < k:
                    k -= 1
                if v in scheduled:
                    scheduled.remove(v)
                free += held[v]
                held[v] = 0
                preemptions[v] += 1
                if resume == "restart":
                    produced[v] = 0
                push_waiting(v, front=True)
                preempted.append(v)
                if v == i:
                    ok = False
                    break
                need = _blocks(S[i] + produced[i], B) - held[i]
            if not ok:
                if stall:
                    stalls += len(running) - k
                    break
                continue  # i left the running list; running[k] is the next one
            free -= need
            held[i] += need
            scheduled.append(i)
            k += 1
        if not preempted:
            while waiting_nonempty():
                i = peek()
                need = _blocks(S[i] + produced[i], B)
                if need > free:
                    break
                pop()
                free -= need
                held[i] = need
                running.append(i)
                scheduled.append(i)
                runs.setdefault(i, []).append((t, produced[i]))
        steps.append(
            MirrorStep(
                t,
                tuple(sorted(scheduled)),
                {i: held[i] for i in scheduled},
                tuple(sorted(preempted)),
            )
        )
        for i in scheduled:
            produced[i] += 1
            if produced[i] == out_len[i]:
                completion[i] = t + 1
                running.remove(i)
                free += held[i]
                held[i] = 0
        t += 1
    return MirrorRun(tuple(steps), runs, completion, {i: preemptions[i] for i in range(n)}, stalls)
