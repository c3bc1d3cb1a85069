"""How the extended engine gets its policy: :func:`get_engine_policy` and the base-policy
adapter.

Every policy is in :data:`ratio.policies.REGISTRY`. An extended one
(:class:`~ratio.policies.extended.EnginePolicy`) runs on the engine as it is; a base one (key
+ look-ahead / reservation / reactive, or batch ``decide``) runs through
:class:`BasePolicyAdapter`, which applies the admission tests of ``model.md`` sections 6-7 from
:mod:`ratio.admission`, the same functions the engine's base-model layer calls.
"""

from __future__ import annotations

import bisect
import heapq
from typing import Any

from ratio.admission import blocks, fits_lookahead, fits_reactive, fits_reservation
from ratio.errors import InputError
from ratio.policies import get_policy
from ratio.policies.base import Policy, RunningView, SystemView
from ratio.policies.extended import EnginePolicy
from ratio.queueing.views import EngineSetup, EngineState, Progress, QView, Work

# EnginePolicy is re-exported for the experiment drivers that import it from here.
__all__ = ["EnginePolicy", "BasePolicyAdapter", "get_engine_policy"]

_BIG = 1 << 62


def get_engine_policy(spec: str | Policy, **params: Any) -> EnginePolicy:
    """An engine policy from ``NAME[:key=value,...]`` (any name of
    :data:`ratio.policies.REGISTRY`) or a policy object: an extended one as it is, a base one
    wrapped in :class:`BasePolicyAdapter`.

    Raises
    ------
    InputError
        Unknown name (the message lists the registry) or bad parameters.
    """
    if isinstance(spec, EnginePolicy):
        if params:
            raise InputError("parameters cannot be given with a policy object")
        return spec
    pol = get_policy(spec, **params)
    if isinstance(pol, EnginePolicy):
        return pol
    return BasePolicyAdapter(pol)


class BasePolicyAdapter(EnginePolicy):
    """A base policy (key + look-ahead / reservation / reactive, or batch ``decide``) on the
    extended engine: every running request decodes each round (in admission order, within the
    token budget and request cap), then waiting requests are admitted with whole prefill by the
    policy's rules of ``model.md`` sections 6-7 (the tests of :mod:`ratio.admission`, which
    :mod:`ratio.simulator` calls too). With default engine parameters the two agree exactly.

    With a token budget or request cap, decodes that do not fit pause, and the look-ahead test
    still assumes that every admitted request advances each round (an approximation that the
    base model never needs).
    """

    name = "base_adapter"

    def __init__(self, base: Policy) -> None:  # noqa: D107 - documented on the class
        if base.admission not in ("lookahead", "reactive", "batch"):
            raise InputError(f"policy {base.spec!r} is not a base policy")
        self.base = base
        self.params = dict(base.params)
        self.info = base.info
        self.blocking = base.blocking
        self.test = base.test
        self.theta = getattr(base, "theta", None)  # the one_bit threshold, for the views

    @property
    def spec(self) -> str:
        return self.base.spec

    # --- state ----------------------------------------------------------------------------
    def reset(self, setup: EngineSetup) -> None:
        self.e = 1 if setup.convention == "engine" else 0
        self.block = setup.block_size
        self.exact = self.info == "full"
        self.waitq: list[tuple[Any, Any, int]] = []
        self.keys: dict[int, Any] = {}
        self.views: dict[int, QView] = {}
        self.believed: dict[int, int] = {}
        self.mode = self.base.admission

    def on_waiting(self, view: QView) -> None:
        i = view.index
        self.views[i] = view
        if i not in self.keys:
            self.keys[i] = self.base.key(view.base) if self.mode != "batch" else ()
        entry = (self.keys[i], view.base.arrival, i)
        if self.blocking:
            heapq.heappush(self.waitq, entry)
        else:
            bisect.insort(self.waitq, entry)

    def on_complete(self, index: int, output: int) -> None:
        self.believed.pop(index, None)

    def on_evict(self, index: int) -> None:
        self.believed.pop(index, None)

    def _running_view(self, p: Progress) -> RunningView:
        # ``produced`` counts the tokens kept from earlier runs too, as the base layer does.
        return RunningView(p.request.base, p.start, p.request.kept + p.produced, p.seq)

    def engine_victim_key(self, progress: Progress) -> tuple[Any, ...]:
        return self.base.victim_key(self._running_view(progress))

    # --- one step -------------------------------------------------------------------------
    def plan(self, state: EngineState) -> list[Work]:
        work: list[Work] = []
        for x in state.ready:
            spec = state.engines[x]
            budget = spec.token_budget if spec.token_budget is not None else _BIG
            cap_req = spec.max_requests if spec.max_requests is not None else _BIG
            used = 0
            count = 0
            running = state.running(x)
            for p in running:
                if count >= cap_req or used >= budget:
                    break
                if p.can_decode:
                    work.append(Work(p.index, x, 0, True))
                    used += 1
                    count += 1
            if self.mode == "reactive" and state.preempted.get(x, False):
                continue
            if self.mode == "batch":
                work.extend(self._batch(state, x, running, budget - used, cap_req - count))
            else:
                work.extend(self._admit(state, x, running, budget - used, cap_req - count))
        return work

    def _batch(
        self, state: EngineState, x: int, running: list[Progress], budget: int, cap_req: int
    ) -> list[Work]:
        M = state.capacity(x)
        waiting = sorted(
            (e for e in self.waitq if self.views[e[2]].engine in (None, x)),
            key=lambda e: (e[1], e[2]),
        )
        view = SystemView(
            state.round,
            M if M is not None else _BIG,
            tuple(self.views[e[2]].base for e in waiting),
            tuple(self._running_view(p) for p in running),
            self.block,
            self.e,
        )
        chosen = list(self.base.decide(view))
        if not chosen:
            return []
        present = {e[2] for e in waiting}
        bad = [i for i in chosen if i not in present]
        if bad:
            raise InputError(f"{self.spec}: decided to start non-waiting {bad}")
        prompts = [self.views[i].prompt for i in chosen]
        if sum(prompts) > budget or len(chosen) > cap_req:
            raise InputError(
                f"{self.spec}: batch at round {state.round} exceeds the engine's budget"
            )
        cs = set(chosen)
        self.waitq = [e for e in self.waitq if e[2] not in cs]
        heapq.heapify(self.waitq)
        return [Work(i, x, s) for i, s in zip(chosen, prompts, strict=True)]

    def _admit(
        self, state: EngineState, x: int, running: list[Progress], budget: int, cap_req: int
    ) -> list[Work]:
        t = state.round
        e, B = self.e, self.block
        M = state.capacity(x)
        Mx = M if M is not None else _BIG
        lookahead = self.mode == "lookahead"
        reservation = self.test == "reservation"
        # The look-ahead members: (believed completion round, b) with memory b + tau at a
        # future round tau, sorted by completion (ratio.admission).
        Cs: list[int] = []
        bs: list[int] = []
        sum_peaks = 0
        mem_now = 0
        if M is not None:
            if lookahead:
                members = []
                for p in running:
                    s_j = p.request.prompt
                    ob = self.believed[p.index]
                    pr = p.produced
                    members.append((t + ob - pr, s_j + pr - t + 1 - e))
                    sum_peaks += blocks(s_j + ob - e, B)
                members.sort()
                Cs = [C for C, _ in members]
                bs = [b for _, b in members]
            else:
                mem_now = state.demand(x)
        out: list[Work] = []
        keep: list[tuple[Any, Any, int]] = []
        q = self.waitq
        while q:
            entry = q[0] if self.blocking else q.pop(0)
            i = entry[2]
            v = self.views[i]
            s = v.prompt
            ok = v.engine is None or v.engine == x
            ob = self.base.believed_output(v.base, Mx)
            if v.kept:  # resumed: plan with what is left of the policy's belief (model §7)
                ob = max(1, min(ob - v.kept, Mx - s))
            peak = blocks(s + ob - e, B)
            if ok and M is not None:
                if lookahead:
                    if reservation:
                        ok = fits_reservation(sum_peaks, peak, M)
                    else:
                        ok = (
                            fits_lookahead(Cs, bs, t, s - t + 1 - e, t + ob, M, B, self.exact,
                                           sum_peaks, peak)
                            is None
                        )  # fmt: skip
                else:
                    ok = fits_reactive(mem_now, blocks(s + 1 - e, B), M)
            if ok:
                ok = s <= budget and cap_req >= 1
            if not ok:
                if self.blocking:
                    break
                keep.append(entry)
                continue
            if self.blocking:
                heapq.heappop(q)
            budget -= s
            cap_req -= 1
            self.believed[i] = ob
            if M is not None:
                if lookahead:
                    k = bisect.bisect_right(Cs, t + ob)
                    Cs.insert(k, t + ob)
                    bs.insert(k, s - t + 1 - e)
                    sum_peaks += peak
                else:
                    mem_now += blocks(s + 1 - e, B)
            out.append(Work(i, x, s))
        if not self.blocking:
            keep.extend(q)
            q[:] = keep
        return out
