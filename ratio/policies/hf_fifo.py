"""Transformers' continuous-batching FIFO scheduler as it is: an extended-engine policy."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

from ratio.policies.extended import EnginePolicy
from ratio.queueing.views import EngineSetup, EngineState, Work

__all__ = ["HFFifo"]


class HFFifo(EnginePolicy):
    """Transformers 5.19's ``FIFOScheduler`` with ``safety_margin=0`` and no CPU offload space,
    step by step, as ``hardware_check/paged_replay.py`` drives it (engine convention, blocks).

    Each step takes candidates in order: the running requests in admission order, then (unless
    new requests are blocked) the waiting queue in its order. A candidate whose next tokens fit
    in the free memory is served and takes it; one that does not fit is **skipped**, and later
    candidates may still fit (no head-of-line blocking). A running request skipped this way is
    *starved*: it pauses for the step, keeping its memory (``docs/queueing.md`` Q1). After the
    batch is chosen, starved requests are evicted newest first (last in candidate order) until
    the remaining starved requests would all fit in the memory left, or only one running request
    remains; their memory is freed after the step's batch was chosen, so it serves the next
    step. Victims rejoin the end of the waiting queue, oldest first, and keep their tokens
    (``eviction="resume"``, the engine's "soft reset"). An eviction blocks new admissions until
    a request completes. If nothing at all fits, the evictions come first and the step is
    scheduled again among the running requests.

    Information: none (the order is arrival and admission order; memory is read from the
    state). Admission: reactive, skipping (model section 7 without head-of-line blocking).

    References: ``transformers/generation/continuous_batching/scheduler.py``
    (``FIFOScheduler.schedule_batch``, ``Scheduler._process_candidates``),
    ``continuous_api.py`` (``ContinuousBatchProcessor.prepare_next_batch``),
    ``offloading_manager.py`` (``OffloadingManager.offload_requests``); ``docs/hardware_check.md``,
    "A second full engine".
    """

    name = "hf_fifo"
    info = "none"
    summary = "transformers' continuous-batching FIFO: skip admission, starved pause, evict newest"
    PARAMS: ClassVar[dict[str, Any]] = {}

    # --- state kept between the engine's calls (rebuilt by reset) ---------------------------
    def reset(self, setup: EngineSetup) -> None:
        self._queue: deque[int] = deque()  # the engine's waiting_requests_order
        self._blocked = False  # block_new_requests
        self._batch: dict[int, list[int]] = {}  # engine -> requests served, chosen by evict
        self._batch_round = -1

    def on_waiting(self, view: Any) -> None:
        self._queue.append(view.index)

    def on_admit(self, index: int, engine: int) -> None:
        self._queue.remove(index)

    def on_complete(self, index: int, output: int) -> None:
        self._blocked = False

    # --- the engine's scheduling pass -------------------------------------------------------
    def _schedule(
        self, state: EngineState, engine: int, free: int, gone: set[int]
    ) -> tuple[list[int], list[int], int]:
        """One pass over the candidates: the served requests, the starved ones, the free
        memory left (``gone``: requests evicted in this step, no longer candidates)."""
        served: list[int] = []
        starved: list[int] = []
        for p in state.running(engine):
            if p.index in gone:
                continue
            need = state.next_held(p.index) - p.held
            if need <= free:
                served.append(p.index)
                free -= need
            else:
                starved.append(p.index)
        if not self._blocked:
            for i in self._queue:
                v = state.view(i)
                if v.engine is not None and v.engine != engine:
                    continue
                need = state.held_after(i, v.prompt, False)
                if need <= free:
                    served.append(i)
                    free -= need
        return served, starved, free

    def _offload(
        self, state: EngineState, engine: int, starved: list[int], free: int, active: int
    ) -> tuple[list[int], int]:
        """Evict starved requests, newest first, until the rest would fit or one is left; the
        victims in the order they rejoin the queue (oldest first) and the memory then free."""
        popped: list[int] = []
        held = {p.index: p.held for p in state.running(engine)}
        while starved and active - len(popped) > 1:
            if sum(state.next_held(i) - held[i] for i in starved) <= free:
                break
            v = starved.pop()
            popped.append(v)
            free += held[v]
        if popped:
            self._blocked = True
        return popped[::-1], free

    # --- decisions --------------------------------------------------------------------------
    def evict(self, state: EngineState, engine: int) -> list[int]:
        """The whole step on ``engine`` (its memory would overflow if every request grew):
        choose the batch, then the victims (class docstring)."""
        cap = state.capacity(engine)
        assert cap is not None
        free = cap - state.held(engine)
        victims: list[int] = []
        served, starved, left = self._schedule(state, engine, free, set())
        while not served:  # nothing fits: evict first, then schedule again
            popped, free = self._offload(
                state, engine, starved, left, len(state.running(engine)) - len(victims)
            )
            if not popped:
                break
            victims += popped
            served, starved, left = self._schedule(state, engine, free, set(victims))
        if starved:
            active = (
                len(state.running(engine))
                - len(victims)
                + sum(1 for i in served if state.progress(i) is None)
            )
            popped, _ = self._offload(state, engine, starved, left, active)
            victims += popped
        if self._batch_round != state.round:
            self._batch, self._batch_round = {}, state.round
        self._batch[engine] = served
        return victims

    def plan(self, state: EngineState) -> Sequence[Work]:
        work: list[Work] = []
        for x in state.ready:
            if self._batch_round == state.round and x in self._batch:
                served = self._batch[x]
            else:
                cap = state.capacity(x)
                free = (1 << 62) if cap is None else cap - state.held(x)
                served, _, _ = self._schedule(state, x, free, set())
            for i in served:
                p = state.progress(i)
                if p is None:
                    work.append(Work(i, x, state.view(i).prompt))
                elif p.can_decode:
                    work.append(Work(i, x, 0, True))
        return work
