"""The policy protocol of the extended engine, its registry, and the base-policy adapter.

An :class:`EnginePolicy` decides, at every step, the whole batch of every ready engine: which
running requests decode, which get prefill tokens (and how many), which waiting requests are
admitted and on which engine (``queueing.md`` Q1, Q3). A running request left out pauses (keeps
its memory, makes no progress), so fluid-control policies such as WAIT (``queueing.md``
sources, Ao et al.) and routing policies on several engines fit the same protocol. Hooks
(:meth:`EnginePolicy.on_waiting`, ``on_admit``, ``on_evict``, ``on_complete``) let a policy keep
incremental state; :meth:`EnginePolicy.evict` applies its victim rule on overflow (Q5).

Every base policy of :mod:`ratio.policies` runs on the engine through
:class:`BasePolicyAdapter`, an independent re-implementation of the admission rules of
``model.md`` sections 6-7 (look-ahead, reservation, reactive, batch; blocking or skip). Policies
that need the extended engine (``orca``, ``sarathi``, ...) are registered in :data:`POLICIES`
with ``admission = "engine"``; the base simulator refuses them with a clear error.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ratio.errors import InputError
from ratio.policies import REGISTRY as BASE_REGISTRY
from ratio.policies import Policy, RequestView, RunningView, SystemView, get_policy, parse_spec

if TYPE_CHECKING:
    from ratio.queueing.engine import EngineState, Progress, QRequest, QView, Work, _Engine

__all__ = [
    "EnginePolicy",
    "BasePolicyAdapter",
    "POLICIES",
    "register_engine_policy",
    "get_engine_policy",
]

_BIG = 1 << 62


class EnginePolicy(Policy):
    """Base class of extended-engine policies (``admission = "engine"``).

    Subclasses set ``name``, ``PARAMS``, ``info``, ``default_prefill`` and
    ``default_first_token`` and implement :meth:`plan`. Parameters and the canonical ``spec``
    string work as for base policies (``interfaces.md``).
    """

    admission = "engine"
    default_prefill: ClassVar[str] = "whole"
    default_first_token: ClassVar[str] = "with_prefill"

    # --- hooks ----------------------------------------------------------------------------
    def reset(self, sim: _Engine) -> None:
        """Called once before a run."""

    def base_view(self, index: int, arrival_round: int, req: QRequest) -> RequestView:
        """The foundation's view of a request at this policy's information level (``model.md``
        section 5)."""
        if self.info == "full":
            return RequestView(index, arrival_round, req.prompt, output=req.output)
        return RequestView(index, arrival_round, req.prompt)

    def on_waiting(self, view: QView) -> None:
        """A request joined the waiting queue (arrival, release by its job, or eviction)."""

    def on_admit(self, index: int, engine: int) -> None:
        """A waiting request was admitted on ``engine``."""

    def on_evict(self, index: int) -> None:
        """A running request was evicted (it will be re-queued through :meth:`on_waiting`)."""

    def on_complete(self, index: int) -> None:
        """A request produced its last token."""

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


#: Extended-engine policies by name (the base ones run through :class:`BasePolicyAdapter`).
POLICIES: dict[str, type[EnginePolicy]] = {}


def register_engine_policy(cls: type[EnginePolicy]) -> type[EnginePolicy]:
    """Add an extended-engine policy class to :data:`POLICIES` (decorator)."""
    if not cls.name:
        raise ValueError("a policy class needs a name")
    if cls.name in BASE_REGISTRY:
        raise ValueError(f"{cls.name!r} is already a base policy")
    POLICIES[cls.name] = cls
    return cls


def get_engine_policy(spec: str | Policy, **params: Any) -> EnginePolicy:
    """An engine policy from ``NAME[:key=value,...]``: an extended one from :data:`POLICIES`,
    or a base one (``ratio.policies.REGISTRY``) wrapped in :class:`BasePolicyAdapter`.

    Raises
    ------
    InputError
        Unknown name (the message lists both registries) or bad parameters.
    """
    from ratio.queueing import policies as _builtin  # noqa: F401  (registers the built-ins)

    if isinstance(spec, EnginePolicy):
        if params:
            raise InputError("parameters cannot be given with a policy object")
        return spec
    if isinstance(spec, Policy):
        return BasePolicyAdapter(spec)
    name, parsed = parse_spec(spec)
    parsed.update(params)
    if name in POLICIES:
        return POLICIES[name](**parsed)
    if name in BASE_REGISTRY:
        return BasePolicyAdapter(get_policy(name, **parsed))
    valid = sorted(set(POLICIES) | set(BASE_REGISTRY))
    raise InputError(f"unknown policy {name!r} (valid: {', '.join(valid)})")


def _blk(tokens: int, b: int) -> int:
    return tokens if b == 1 else -(-tokens // b) * b


class BasePolicyAdapter(EnginePolicy):
    """A base policy (key + look-ahead / reservation / reactive, or batch ``decide``) on the
    extended engine: every running request decodes each round (in admission order, within the
    token budget and request cap), then waiting requests are admitted with whole prefill by the
    policy's rules of ``model.md`` sections 6-7, written here independently of
    :mod:`ratio.simulator`. With default engine parameters the two agree exactly.

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
        self.predictions: Sequence[int] | None = None

    @property
    def spec(self) -> str:
        return self.base.spec

    # --- state ----------------------------------------------------------------------------
    def reset(self, sim: _Engine) -> None:
        self.sim = sim
        self.waitq: list[tuple[Any, Any, int]] = []
        self.keys: dict[int, Any] = {}
        self.believed: dict[int, int] = {}
        self.mode = self.base.admission
        if self.info == "predicted" and self.predictions is None:
            raise InputError(
                "this policy needs predicted output lengths; the instance has none "
                "(add 'predictions' to the trace or attach a noise model)"
            )

    def base_view(self, index: int, arrival_round: int, req: QRequest) -> RequestView:
        info = self.info
        if info == "full":
            return RequestView(index, arrival_round, req.prompt, output=req.output)
        if info == "one_bit":
            theta = getattr(self.base, "theta", None)
            if theta is None:
                raise InputError("one_bit information needs a threshold theta")
            return RequestView(index, arrival_round, req.prompt, long=req.output > theta)
        if info == "predicted":
            assert self.predictions is not None
            return RequestView(index, arrival_round, req.prompt, predicted=self.predictions[index])
        return RequestView(index, arrival_round, req.prompt)

    def on_waiting(self, view: QView) -> None:
        i = view.index
        if i not in self.keys:
            self.keys[i] = self.base.key(view.base) if self.mode != "batch" else ()
        entry = (self.keys[i], view.base.arrival, i)
        if self.blocking:
            heapq.heappush(self.waitq, entry)
        else:
            bisect.insort(self.waitq, entry)

    def on_complete(self, index: int) -> None:
        self.believed.pop(index, None)

    def on_evict(self, index: int) -> None:
        self.believed.pop(index, None)

    def _running_view(self, p: Progress) -> RunningView:
        return RunningView(p.request.base, p.start, p.produced, p.seq)

    def engine_victim_key(self, progress: Progress) -> tuple[Any, ...]:
        return self.base.victim_key(self._running_view(progress))

    # --- one step -------------------------------------------------------------------------
    def plan(self, state: EngineState) -> list[Work]:
        from ratio.queueing.engine import Work

        sim = self.sim
        work: list[Work] = []
        for x in state.ready:
            spec = state.engines[x]
            budget = spec.token_budget if spec.token_budget is not None else _BIG
            cap_req = spec.max_requests if spec.max_requests is not None else _BIG
            used = 0
            count = 0
            for i in sim.run_on[x]:
                if count >= cap_req or used >= budget:
                    break
                if sim.can_decode(i):
                    work.append(Work(i, x, 0, True))
                    used += 1
                    count += 1
            if self.mode == "reactive" and state.preempted.get(x, False):
                continue
            if self.mode == "batch":
                work.extend(self._batch(state, x, budget - used, cap_req - count))
            else:
                work.extend(self._admit(state, x, budget - used, cap_req - count))
        return work

    def _batch(self, state: EngineState, x: int, budget: int, cap_req: int) -> list[Work]:
        from ratio.queueing.engine import Work

        sim = self.sim
        M = state.capacity(x)
        waiting = sorted(
            (e for e in self.waitq if sim.reqs[e[2]].engine in (None, x)),
            key=lambda e: (e[1], e[2]),
        )
        view = SystemView(
            state.round,
            M if M is not None else _BIG,
            tuple(sim.views[e[2]].base for e in waiting),
            tuple(self._running_view(sim.progress(i)) for i in sim.run_on[x]),
        )
        chosen = list(self.base.decide(view))
        if not chosen:
            return []
        present = {e[2] for e in waiting}
        bad = [i for i in chosen if i not in present]
        if bad:
            raise InputError(f"{self.spec}: decided to start non-waiting {bad}")
        if sum(sim.S[i] for i in chosen) > budget or len(chosen) > cap_req:
            raise InputError(
                f"{self.spec}: batch at round {state.round} exceeds the engine's budget"
            )
        cs = set(chosen)
        self.waitq = [e for e in self.waitq if e[2] not in cs]
        heapq.heapify(self.waitq)
        for i in chosen:
            self.believed[i] = sim.O[i]
        return [Work(i, x, sim.S[i]) for i in chosen]

    def _admit(self, state: EngineState, x: int, budget: int, cap_req: int) -> list[Work]:
        from ratio.queueing.engine import Work

        sim = self.sim
        t = state.round
        e, B = sim.e, sim.block
        M = state.capacity(x)
        Mx = M if M is not None else _BIG
        lookahead = self.mode == "lookahead"
        reservation = self.test == "reservation"
        S = sim.S
        # Members of the look-ahead test: (believed completion round, b) with memory b + tau
        # at a future round tau; sorted by completion.
        members: list[tuple[int, int]] = []
        sum_peaks = 0
        mem_now = 0
        if M is not None:
            if lookahead:
                for j in sim.run_on[x]:
                    ob = self.believed[j]
                    pr = sim.produced[j]
                    members.append((t + max(1, ob - pr), S[j] + pr - t + 1 - e))
                    sum_peaks += _blk(S[j] + ob - e, B)
                members.sort()
            else:
                mem_now = state.demand(x)
        out: list[Work] = []
        keep: list[tuple[Any, Any, int]] = []
        q = self.waitq
        while q:
            entry = q[0] if self.blocking else q.pop(0)
            i = entry[2]
            pin = sim.reqs[i].engine
            ok = pin is None or pin == x
            v = sim.views[i].base
            ob = self.base.believed_output(v, Mx)
            if ok and M is not None:
                if lookahead:
                    if reservation:
                        ok = sum_peaks + _blk(S[i] + ob - e, B) <= M
                    else:
                        ok = _fits(members, t + ob, S[i] - t + 1 - e, M, B)
                else:
                    ok = mem_now + _blk(S[i] + 1 - e, B) <= M
            if ok:
                ok = S[i] <= budget and cap_req >= 1
            if not ok:
                if self.blocking:
                    break
                keep.append(entry)
                continue
            if self.blocking:
                heapq.heappop(q)
            budget -= S[i]
            cap_req -= 1
            self.believed[i] = ob if lookahead else sim.O[i]
            if M is not None:
                if lookahead:
                    bisect.insort(members, (t + ob, S[i] - t + 1 - e))
                    sum_peaks += _blk(S[i] + ob - e, B)
                else:
                    mem_now += _blk(S[i] + 1 - e, B)
            out.append(Work(i, x, S[i]))
        if not self.blocking:
            keep.extend(q)
            q[:] = keep
        return out


def _fits(members: list[tuple[int, int]], Cc: int, bc: int, M: int, B: int) -> bool:
    """``model.md`` section 6: with the members (believed completion ``C``, memory ``b + tau``
    at round ``tau < C``) and the candidate, memory stays ``<= M`` at every round just before a
    completion up to the candidate's (memory of a fixed set only grows between completions)."""
    if B == 1:
        k = len(members)
        sb = 0
        cnt = 0
        # Members completing at or after the candidate are all present at tau = Cc - 1.
        lo = bisect.bisect_left(members, (Cc, -_BIG))
        for _, b in members[lo:]:
            sb += b
            cnt += 1
        tau = Cc - 1
        if sb + cnt * tau + bc + tau > M:
            return False
        k = lo - 1
        while k >= 0:
            C = members[k][0]
            while k >= 0 and members[k][0] == C:
                sb += members[k][1]
                cnt += 1
                k -= 1
            tau = C - 1
            if sb + cnt * tau + bc + tau > M:
                return False
        return True
    taus = {C - 1 for C, _ in members if Cc > C} | {Cc - 1}
    for tau in taus:
        total = _blk(bc + tau, B)
        for C, b in members:
            if tau < C:
                total += _blk(b + tau, B)
        if total > M:
            return False
    return True


def base_policy_names() -> list[str]:
    """Names usable on the engine through the adapter."""
    return sorted(BASE_REGISTRY)
