"""The protocol of extended-engine policies (``docs/queueing.md`` Q1, Q3, Q5).

An :class:`EnginePolicy` decides, at every step, the whole batch of every ready engine: which
running requests decode, which get prefill tokens (and how many), which waiting requests are
admitted and on which engine. A running request left out pauses (keeps its memory, makes no
progress), so fluid-control policies such as WAIT and routing policies on several engines fit
the same protocol. Hooks (:meth:`EnginePolicy.on_waiting`, ``on_admit``, ``on_evict``,
``on_complete``) let a policy keep incremental state; :meth:`EnginePolicy.evict` applies its
victim rule on overflow (Q5).

A policy sees the run through :class:`~ratio.queueing.views.EngineSetup` (once, in
:meth:`EnginePolicy.reset`), :class:`~ratio.queueing.views.QView` (a request at the policy's
information level) and :class:`~ratio.queueing.views.EngineState` (one step, read-only); it
never holds the engine. An output length below the ``full`` level is revealed only by
:meth:`EnginePolicy.on_complete`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ratio.policies.base import Policy
from ratio.queueing.views import EngineSetup, EngineState, Progress, QView, Work

__all__ = ["EnginePolicy"]


class EnginePolicy(Policy):
    """Base class of extended-engine policies (``admission = "engine"``).

    Subclasses set ``name``, ``PARAMS``, ``info``, ``default_prefill`` and
    ``default_first_token`` and implement :meth:`plan`. Parameters and the canonical ``spec``
    string work as for base policies (``interfaces.md``); registration is one line in
    :data:`ratio.policies.REGISTRY`.
    """

    admission = "engine"
    engine: ClassVar[str] = "extended"
    default_prefill: ClassVar[str] = "whole"
    default_first_token: ClassVar[str] = "with_prefill"

    # --- hooks ----------------------------------------------------------------------------
    def reset(self, setup: EngineSetup) -> None:
        """Called once before a run with the engines and conventions (no request data)."""

    def on_waiting(self, view: QView) -> None:
        """A request joined the waiting queue (arrival, release by its job, or eviction)."""

    def on_admit(self, index: int, engine: int) -> None:
        """A waiting request was admitted on ``engine``."""

    def on_evict(self, index: int) -> None:
        """A running request was evicted (it will be re-queued through :meth:`on_waiting`)."""

    def on_complete(self, index: int, output: int) -> None:
        """A request produced its last token; ``output`` is its length, which a completion
        reveals at every information level."""

    def wake_time(self, state: EngineState) -> Any:
        """A time at which to plan again even if no round ends and nothing arrives (a policy
        that pauses every request, such as WAIT with a patience, needs it); ``None``: no wish."""
        return None

    # --- decisions ------------------------------------------------------------------------
    def engine_victim_key(self, progress: Progress) -> tuple[Any, ...]:
        """Largest first is evicted; default the most recently admitted (``model.md`` 7)."""
        return (progress.seq,)

    def evict(self, state: EngineState, engine: int) -> list[int]:
        """Victims on ``engine`` whose memory would overflow if every decoding request advanced:
        by :meth:`engine_victim_key`, largest first, until it fits (Q5)."""
        cap = state.capacity(engine)
        assert cap is not None
        running = sorted(state.running(engine), key=self.engine_victim_key, reverse=True)
        total = sum(state.next_held(p.index) for p in running)
        out = []
        for p in running:
            if total <= cap:
                break
            total -= state.next_held(p.index)
            out.append(p.index)
        return out

    def plan(self, state: EngineState) -> Sequence[Work]:
        """The work of this step on the ready engines ``state.ready``."""
        raise NotImplementedError
