"""Gate-and-route on several engines for prefill-decode contention (Zhang, Lin, Han, Ding)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies.extended import EnginePolicy
from ratio.queueing.fluid import LPResult, ZhangClass, zhang_lp
from ratio.queueing.tau import MixedSolo
from ratio.queueing.views import EngineSetup, EngineState, QView, Work

__all__ = ["GateAndRoute", "RequestClass"]


@dataclass(frozen=True)
class RequestClass:
    """A class of the contention model: ``prompt`` and ``output`` tokens, arrival ``rate`` per
    GPU and ``reward`` per completed request."""

    prompt: int
    output: int
    rate: float
    reward: float = 1.0


class GateAndRoute(EnginePolicy):
    """Gate-and-route: solve the per-GPU fluid LP (:func:`~ratio.queueing.fluid.zhang_lp`) once
    for the classes, make ``ceil(n sum_i x_i*)`` of the ``n`` engines *mixed* (one prefill slot,
    at most ``B - 1`` decodes; ``B`` = the engines' ``max_requests``) and the rest decode-only.
    Gate: when a mixed engine's prefill slot is free it admits the head of the class with the
    smallest ``(X_i - n x_i*) / x_i*`` (``X_i`` the class-``i`` prefills in progress, counted
    until the iteration running their last chunk has ended; classes with ``x_i* = 0`` are never
    admitted). Router: one decode queue (Zhang et al.'s ``Q_d``), served first come first
    served from the end of prefill by every free decode slot of a ready engine: with
    ``local=true`` (default) a free decode slot of the mixed engine that holds the KV first,
    then a decode-only engine's slot, then any other ready mixed engine's slot (the KV moves,
    ``queueing.md`` Q3); ``local=false`` tries the decode-only slot first (the order of the
    issue's text). Both orders keep every decode slot busy in the fluid; in the engine the KV of
    a waiting request moves only between engines that are both between iterations, so mixed
    engines whose 2-unit iterations run on opposite parities cannot pass decodes to each
    other, and decode-only-first then starves the mixed slots of the minority parity
    (``docs/fluid.md``, measured). ``local`` keeps each mixed engine's own slots full.

    Baselines (``interfaces.md`` parameters): ``gate=false,route=false`` -- every engine mixed,
    FCFS admission, decode on the engine that prefilled (the Sarathi-like default);
    ``route=false`` -- the gate on all-mixed engines without the router; ``gate=false`` -- the
    mixed/decode-only split and the router with FCFS admission.

    Engines: every engine uses the ``mixed_solo(alpha, beta, gamma)`` batch-time model (an
    iteration with a prefill chunk of ``C`` tokens lasts ``alpha + beta C``, a decode-only one
    ``1 / gamma``) and ``max_requests = B``; ``first_token="separate"``, chunked prefill of
    ``chunk`` tokens. Information: full (the class of a request is its (prompt, output)).

    Guarantee (Zhang et al.): revenue per GPU converges to the LP value as the number of GPUs
    grows (asymptotic optimality).

    References: Zhang, Lin, Han, Ding, arXiv 2602.02987 (gate-and-route). The LP and the
    rules here are our reconstruction from the description in issue 9.
    """

    name = "gate_and_route"
    summary = "fluid-LP gate and decode router over mixed and decode-only engines"
    info = "full"
    default_prefill: ClassVar[str] = "chunked"
    default_first_token: ClassVar[str] = "separate"
    migrates: ClassVar[bool] = True
    PARAMS: ClassVar[dict[str, Any]] = {"gate": True, "route": True, "local": True, "chunk": 0}

    def validate(self) -> None:
        for k in ("gate", "route", "local"):
            if not isinstance(self.params[k], bool):
                raise InputError(f"policy 'gate_and_route': {k} must be true or false")
        c = self.params["chunk"]
        if isinstance(c, bool) or not isinstance(c, int) or c < 0:
            raise InputError(
                "policy 'gate_and_route': chunk must be an integer >= 0 (0: whole prompt)"
            )
        self.classes: tuple[RequestClass, ...] | None = None
        self._lp_for: tuple[Any, int] | None = None

    def with_classes(self, classes: Sequence[RequestClass]) -> GateAndRoute:
        """The classes and their per-GPU rates (needed: the gate solves the LP from them)."""
        if not classes:
            raise InputError("policy 'gate_and_route': with_classes needs at least one class")
        self.classes = tuple(classes)
        self._lp_for = None
        return self

    # --- set-up ----------------------------------------------------------------------------
    def lp(self, tau: MixedSolo, B: int, mixed_share: float | None = None) -> LPResult:
        """The per-GPU LP of the classes (``mixed_share``: fix the share of mixed GPUs)."""
        assert self.classes is not None
        C = self.params["chunk"] or max(c.prompt for c in self.classes)
        zc = [ZhangClass(c.rate, math.ceil(c.prompt / C), c.output, c.reward) for c in self.classes]
        return zhang_lp(
            zc,
            B=B,
            tau=float(tau.alpha) + float(tau.beta) * C,
            gamma=float(tau.gamma),
            mixed_share=mixed_share,
        )

    def reset(self, setup: EngineSetup) -> None:
        if self.classes is None:
            raise InputError(
                "policy 'gate_and_route' needs its classes and rates: use "
                "GateAndRoute().with_classes([RequestClass(prompt, output, rate, reward), ...])"
            )
        specs = setup.engines
        taus = {s.tau for s in specs}
        Bs = {s.max_requests for s in specs}
        if len(taus) != 1 or not isinstance(specs[0].tau, MixedSolo):
            raise InputError("policy 'gate_and_route': every engine needs the same mixed_solo tau")
        if len(Bs) != 1 or specs[0].max_requests is None or specs[0].max_requests < 2:
            raise InputError(
                "policy 'gate_and_route': every engine needs the same max_requests B >= 2"
            )
        if setup.first_token != "separate":
            raise InputError("policy 'gate_and_route' models first_token='separate'")
        self.B = int(specs[0].max_requests)
        self.n = len(specs)
        self.kind: dict[int, tuple[int, int]] = {}  # request -> (prompt, output): its class
        if self._lp_for != (specs[0].tau, self.B):  # one LP per set-up, not per run
            self.result = self.lp(specs[0].tau, self.B)
            self._lp_for = (specs[0].tau, self.B)
        xs = [self.result.solution[f"x_{i}"] for i in range(len(self.classes or ()))]
        self.target = [self.n * x for x in xs]
        if self.params["route"]:
            self.mixed = min(self.n, math.ceil(self.n * sum(xs) - 1e-9))
            self.mixed = max(1, self.mixed)
        else:
            self.mixed = self.n
        assert self.classes is not None
        self.class_of = {(c.prompt, c.output): k for k, c in enumerate(self.classes)}
        self.queues: list[deque[int]] = [deque() for _ in self.classes]
        self.fcfs: deque[int] = deque()
        self.inprefill = [0] * len(self.classes)
        self.prefilling: dict[int, int] = {}  # mixed engine -> request in its prefill slot
        self.slot: dict[int, int] = {}  # request -> engine whose decode slot it holds
        self.per_engine = [0] * self.n  # decode slots taken per engine
        self.chunk = self.params["chunk"]
        self.decode_seq: dict[int, int] = {}  # request -> order in which its prefill ended
        self._next_seq = 0

    def on_waiting(self, view: QView) -> None:
        self.kind[view.index] = (view.prompt, view.output or 0)
        k = self.class_of.get((view.prompt, view.output or 0))
        if k is None:
            raise InputError(
                f"policy 'gate_and_route': request {view.index} ({view.prompt}, {view.output}) "
                "is in no class given to with_classes"
            )
        if self.params["gate"]:
            self.queues[k].append(view.index)
        else:
            self.fcfs.append(view.index)

    def on_complete(self, index: int, output: int) -> None:
        x = self.slot.pop(index, None)
        if x is not None:
            self.per_engine[x] -= 1
        self.decode_seq.pop(index, None)

    # --- one step --------------------------------------------------------------------------
    def _gate_pick(self) -> int | None:
        if not self.params["gate"]:
            return self.fcfs[0] if self.fcfs else None
        best = None
        for k, q in enumerate(self.queues):
            if q and self.target[k] > 1e-12:
                score = (self.inprefill[k] - self.target[k]) / self.target[k]
                if best is None or score < best[0]:
                    best = (score, k)
        return self.queues[best[1]][0] if best else None

    def _take(self, i: int) -> None:
        k = self.class_of[self.kind[i]]
        if self.params["gate"]:
            self.queues[k].popleft()
        else:
            self.fcfs.popleft()
        self.inprefill[k] += 1

    def plan(self, state: EngineState) -> list[Work]:
        ready = set(state.ready)
        # A prefill whose last chunk has run frees its engine's prefill slot. The engine
        # applies a chunk when its iteration starts, so the slot (and the class count X_i of
        # the gate) is released only once that iteration has ended, i.e. the engine is ready.
        for x, i in list(self.prefilling.items()):
            p = state.progress(i)
            if x in ready and (p is None or p.prefill_left <= 0):
                del self.prefilling[x]
                k = self.class_of[self.kind[i]]
                self.inprefill[k] -= 1
                self.decode_seq[i] = self._next_seq
                self._next_seq += 1
        work: list[Work] = []
        waiting_decode: list[tuple[int, int]] = []  # (request, the engine holding its KV)
        for x in sorted(ready):
            for p in state.running(x):
                i = p.index
                if p.prefill_left > 0:
                    continue
                if i in self.slot:
                    if p.can_decode:
                        work.append(Work(i, x, 0, True))
                elif p.can_decode:
                    waiting_decode.append((i, x))
        # Router over one decode queue (Zhang et al.'s Q_d), first come first served from the
        # end of prefill. With ``local`` (default): a free decode slot of the mixed engine that
        # holds the KV, else a decode-only slot, else (KV transfer) a free decode slot of any
        # other ready mixed engine. With ``local=false``: the decode-only slot first.
        waiting_decode.sort(key=lambda ix: self.decode_seq.get(ix[0], -1))
        route = self.params["route"]
        free_solo = [y for y in range(self.mixed, self.n) if y in ready]
        free_mixed = [y for y in range(self.mixed) if y in ready]
        local = self.params["local"]
        for i, x in waiting_decode:
            if local and x < self.mixed and self.per_engine[x] < self.B - 1:
                self._seat(i, x, work)
                continue
            if route:
                while free_solo and self.per_engine[free_solo[-1]] >= self.B:
                    free_solo.pop()
                if free_solo:
                    self._seat(i, free_solo[-1], work)
                    continue
            if x < self.mixed and self.per_engine[x] < self.B - 1:
                self._seat(i, x, work)
                continue
            if route:
                while free_mixed and self.per_engine[free_mixed[-1]] >= self.B - 1:
                    free_mixed.pop()
                if free_mixed:
                    self._seat(i, free_mixed[-1], work)
        # Gate: one prefill slot per ready mixed engine.
        for x in range(self.mixed):
            if x not in ready:
                continue
            cur = self.prefilling.get(x)
            if cur is None:
                cur = self._gate_pick()
                if cur is None:
                    continue
                self._take(cur)
                self.prefilling[x] = cur
                left = self.kind[cur][0]
            else:
                pc = state.progress(cur)
                assert pc is not None
                left = pc.prefill_left
            amount = left if not self.chunk else min(self.chunk, left)
            work.append(Work(cur, x, amount))
        return work

    def _seat(self, i: int, y: int, work: list[Work]) -> None:
        self.slot[i] = y
        self.per_engine[y] += 1
        work.append(Work(i, y, 0, True))
