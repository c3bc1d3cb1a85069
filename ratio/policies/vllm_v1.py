"""vLLM's v1 scheduler as it is, priority stall included: an extended-engine policy."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies.extended import EnginePolicy
from ratio.policies.vllm_priority import _KEYS, VLLMPriority
from ratio.queueing.views import EngineSetup, EngineState, QView, Work

__all__ = ["VLLMV1"]

_SCHEDULING = ("priority", "fcfs")


class VLLMV1(EnginePolicy):
    """vLLM 0.32's v1 scheduler step by step, as ``hardware_check/mirror.py`` restates it
    (``resume="keep", stall=True``), in the engine convention with blocks.

    Each step serves the running requests in running-list (admission) order, each needing the
    memory of its next token. When one cannot get it, the victim is preempted (priority
    scheduling: the largest ``(priority, arrival, index)``; FCFS: the last of the running list)
    and the request retries. If the victim is the request itself, vLLM ``break``s: the running
    requests after it in the list skip the step, keeping their memory (the *priority stall*, a
    pause of ``docs/queueing.md`` Q1; in FCFS mode the request is the last one, so nothing is
    skipped). A step that preempted admits nothing; otherwise waiting requests are admitted
    head-of-line while their whole prompt fits (priority order, or FCFS with a preempted request
    back at the front of the queue).

    ``priority`` is ``vllm_priority``'s key (``volume``, ``output``, ``prompt``, ``peak`` or
    ``arrival``), read from the request's view at arrival, so that it stays put when a request
    resumes (``model.md`` section 7); ``scheduling=fcfs`` ignores it. What an evicted request
    keeps is the engine's ``eviction`` mode: ``"resume"`` is vLLM's.

    Without a stall the run is ``vllm_priority`` (or ``vllm_fcfs``) of the base model, in the
    same eviction mode; with one, the skipped requests pause, which the base model cannot
    express (``tests/queueing/test_vllm_stall.py`` checks both, and that the run equals the
    mirror step for step). On several engines each ready engine runs these rules on its own
    running list, and admits in turn from the shared waiting queue.

    References: vLLM v1 scheduler (``vllm/v1/core/sched/scheduler.py``, ``schedule()``: the
    running loop's preemption and ``break``, ``request_queue.py``); ``docs/hardware_check.md``,
    "Findings".
    """

    name = "vllm_v1"
    info = "full"
    summary = "vLLM v1 scheduler as is: priority stall (a pause) and preemption, Q1/Q5"
    PARAMS: ClassVar[dict[str, Any]] = {"priority": "volume", "scheduling": "priority"}

    def validate(self) -> None:
        if self.params["scheduling"] not in _SCHEDULING:
            raise InputError(
                f"policy 'vllm_v1': scheduling must be one of {', '.join(_SCHEDULING)}"
            )
        if self.params["priority"] not in _KEYS:
            raise InputError(f"policy 'vllm_v1': priority must be one of {', '.join(_KEYS)}")
        self.fcfs = self.params["scheduling"] == "fcfs"
        self._key = VLLMPriority(priority=self.params["priority"])
        if self.fcfs or self._key.info == "none":
            self.info = "none"

    # --- state kept between the engine's calls (rebuilt by reset) ---------------------------
    def reset(self, setup: EngineSetup) -> None:
        self._queue: deque[int] = deque()  # FCFS waiting order (vLLM's deque)
        self._front = False  # the next on_waiting is a preempted request
        self._skip: dict[int, set[int]] = {}  # engine -> running requests stalled this step
        self._skip_round = -1
        self._empty = False  # the last plan was empty with work left (a whole-step stall)

    def on_waiting(self, view: QView) -> None:
        if self._front:
            self._queue.appendleft(view.index)
        else:
            self._queue.append(view.index)
        self._front = False

    def on_evict(self, index: int) -> None:
        self._front = True

    def on_admit(self, index: int, engine: int) -> None:
        self._queue.remove(index)

    def _prio(self, view: QView) -> tuple[Any, ...]:
        b = view.base  # the view at arrival: the key of a resumed request stays its arrival's
        return (*self._key.key(b), b.arrival, view.index)

    # --- decisions --------------------------------------------------------------------------
    def evict(self, state: EngineState, engine: int) -> list[int]:
        """vLLM's running loop on ``engine``: serve in running-list order, preempt on a
        shortfall, stall on self-preemption in priority mode (class docstring)."""
        cap = state.capacity(engine)
        assert cap is not None
        order = [p.index for p in state.running(engine)]
        held = {p.index: p.held for p in state.running(engine)}
        prio = {} if self.fcfs else {p.index: self._prio(p.request) for p in state.running(engine)}
        free = cap - sum(held.values())
        victims: list[int] = []
        skip: set[int] = set()
        k = 0
        while k < len(order):
            i = order[k]
            need = state.next_held(i) - held[i]
            stalled = False
            while need > free:
                v = order[-1] if self.fcfs else max(order, key=prio.__getitem__)
                vi = order.index(v)
                del order[vi]
                if vi < k:
                    k -= 1
                free += held[v]
                victims.append(v)
                if v == i:
                    stalled = True
                    break
            if stalled:
                skip = set(order[k:])
                break
            free -= need
            held[i] += need
            k += 1
        if self._skip_round != state.round:
            self._skip = {}
            self._skip_round = state.round
        self._skip[engine] = skip
        return victims

    def plan(self, state: EngineState) -> Sequence[Work]:
        work: list[Work] = []
        taken: set[int] = set()
        if self.fcfs:
            order = list(self._queue)
        else:
            order = [v.index for v in sorted(state.waiting(), key=self._prio)]
        for x in state.ready:
            skip = self._skip.get(x, set()) if self._skip_round == state.round else set()
            work.extend(
                Work(p.index, x, 0, True)
                for p in state.running(x)
                if p.can_decode and p.index not in skip
            )
            if state.preempted.get(x, False):
                continue  # vLLM admits nothing in a step that preempted
            cap = state.capacity(x)
            room = None if cap is None else cap - state.demand(x)
            for i in order:
                v = state.view(i)
                if i in taken or (v.engine is not None and v.engine != x):
                    continue
                need = state.held_after(i, v.prompt, False)
                if room is not None and need > room:
                    break  # head-of-line
                work.append(Work(i, x, v.prompt))
                taken.add(i)
                if room is not None:
                    room -= need
        self._empty = not work and bool(state.running() or state.waiting())
        return work

    def wake_time(self, state: EngineState) -> Any:
        """After a step in which everything stalled (the first running request preempted
        itself), plan again one round later: no round ends and nothing need arrive."""
        return state.time + 1 if self._empty else None
