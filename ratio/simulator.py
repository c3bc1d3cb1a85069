"""The discrete-time simulator of the base model (``docs/model.md`` sections 2, 5-7).

One round = one decision, then one state update, as in vLLM's scheduler: at round ``t`` the
simulator (1) moves requests with ``a_i <= t`` to the waiting queue as :class:`RequestView`s
built for the policy's information level, (2) retires requests whose completion ``C_i = t``,
(3) evicts on overflow by the policy's victim rule (reactive or imperfect-information
policies only), (4) asks the policy whom to admit, then advances time. It is the only place
that advances time, and it never spins: a state that can make no progress raises
:class:`~ratio.errors.StuckError`.

Rounds in which nothing can change are skipped (an empty system jumps to the next arrival; a
reactive policy jumps to the next arrival, completion or overflow), so the cost of a run is
about one look-ahead test per round that has a blocked queue.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ratio.admission import blocks as _blocks
from ratio.admission import fits_lookahead, fits_reactive, fits_reservation
from ratio.costs import Costs, compute_costs, memory_trace
from ratio.errors import InputError, StuckError
from ratio.model import Instance, Run, Schedule, check_eviction
from ratio.policies import Policy, RequestView, RunningView, SystemView, get_policy

__all__ = ["SimResult", "simulate", "make_view"]


@dataclass(frozen=True)
class SimResult:
    """A simulated run: the schedule plus what was measured on the way.

    ``memory`` (tokens held per round, in the run's convention) and ``costs`` are derived
    from the schedule on first use.
    """

    instance: Instance
    policy: str
    schedule: Schedule
    convention: str = "model"
    block_size: int = 1
    admission_order: tuple[int, ...] = field(default=(), repr=False)

    @property
    def starts(self) -> tuple[int, ...]:
        return self.schedule.starts

    @cached_property
    def completions(self) -> tuple[int, ...]:
        return self.schedule.completions(self.instance)

    @property
    def total_latency(self) -> int:
        return self.schedule.total_latency(self.instance)

    @property
    def evictions(self) -> int:
        return len(self.schedule.evicted)

    @property
    def eviction(self) -> str:
        """The eviction mode of the run (model §7): ``restart`` or ``resume``."""
        return self.schedule.eviction

    @cached_property
    def memory(self) -> np.ndarray:
        return memory_trace(
            self.instance, self.schedule, convention=self.convention, block_size=self.block_size
        )

    @cached_property
    def costs(self) -> Costs:
        return compute_costs(
            self.instance, self.schedule, convention=self.convention, block_size=self.block_size
        )


def make_view(instance: Instance, i: int, info: str, theta: int | None = None) -> RequestView:
    """The view of request ``i`` at information level ``info`` (model §5)."""
    r = instance.requests[i]
    if info == "full":
        return RequestView(i, r.arrival, r.prompt, output=r.output)
    if info == "one_bit":
        if theta is None:
            raise InputError("one_bit information needs a threshold theta")
        if instance.classes is not None:  # a noisy classifier's bits (ratio.interop.noise)
            if instance.class_theta != theta:
                raise InputError(
                    f"the instance's 1-bit classes are for theta = {instance.class_theta}, "
                    f"the policy uses theta = {theta}"
                )
            return RequestView(i, r.arrival, r.prompt, long=instance.classes[i])
        return RequestView(i, r.arrival, r.prompt, long=r.output > theta)
    if info == "predicted":
        if instance.predictions is None:
            raise InputError(
                "this policy needs predicted output lengths; the instance has none "
                "(add 'predictions' to the trace or attach a noise model)"
            )
        iv = instance.intervals[i] if instance.intervals is not None else None
        return RequestView(i, r.arrival, r.prompt, predicted=instance.predictions[i], interval=iv)
    if info == "none":
        return RequestView(i, r.arrival, r.prompt)
    raise InputError(f"unknown information level {info!r}")


def simulate(
    instance: Instance,
    policy: str | Policy,
    *,
    convention: str = "model",
    block_size: int = 1,
    max_rounds: int | None = None,
    eviction: str = "restart",
) -> SimResult:
    """Simulate ``policy`` on ``instance`` (model §2, 5-7).

    Parameters
    ----------
    instance
        The trace.
    policy
        A registered name such as ``"svf"`` or ``"svf:blocking=false"``, or a policy object.
    convention
        ``"model"``: a request holds ``s + k`` tokens in its k-th round; ``"engine"``:
        ``s + k - 1`` (vLLM, model §9).
    block_size
        Memory is counted in whole blocks of this many tokens (vLLM's paging, model §9);
        ``M`` stays in tokens.
    max_rounds
        Safety limit; exceeding it raises :class:`StuckError`.
    eviction
        What an evicted request keeps (model §7), for the policies that may evict (reactive
        ones and those with imperfect information): ``"restart"`` (default) loses all
        progress; ``"resume"`` (vLLM 0.32) keeps the ``j`` tokens produced, and the request is
        readmitted as if its prompt were ``s + j`` with ``o - j`` tokens left. A request's
        view and key stay those of its arrival (vLLM's priority does not change on
        preemption).

    Returns
    -------
    SimResult
        Schedule (final start rounds and evicted runs), memory trace and costs.

    Raises
    ------
    InputError
        Unknown policy or convention, or a request that does not fit an empty cache in blocks.
    StuckError
        No progress is possible (the witness round and waiting requests are attached).

    Examples
    --------
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> simulate(inst, "svf").starts
    (3, 0, 0)
    """
    pol = get_policy(policy)
    eviction = check_eviction(eviction)
    if convention not in ("model", "engine"):
        raise InputError(f"convention must be 'model' or 'engine', got {convention!r}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise InputError(f"block_size must be an integer >= 1, got {block_size!r}")
    if pol.admission not in ("lookahead", "reactive", "batch"):
        raise InputError(
            f"policy {pol.spec!r} needs the extended engine (ratio.queueing), "
            "not the base simulator"
        )
    sim = _Simulator(instance, pol, convention, block_size, max_rounds, eviction)
    schedule, order = sim.run()
    return SimResult(instance, pol.spec, schedule, convention, block_size, tuple(order))


class _Simulator:
    """The round loop's state. Internal: use :func:`simulate`."""

    def __init__(
        self,
        instance: Instance,
        pol: Policy,
        convention: str,
        block_size: int,
        max_rounds: int | None,
        eviction: str = "restart",
    ) -> None:
        self.inst = instance
        self.eviction = eviction
        self.pol = pol
        self.M = instance.capacity
        self.e = 1 if convention == "engine" else 0
        self.B = block_size
        self.max_rounds = max_rounds
        # Prompt and output of each request's next run: under eviction=resume an eviction
        # after j tokens moves j tokens from O to S (model §7); ``kept`` counts them.
        self.S = [r.prompt for r in instance.requests]
        self.O = [r.output for r in instance.requests]
        self.kept = [0] * instance.n
        self.A = [r.arrival for r in instance.requests]
        for i in range(instance.n):
            first = self.S[i] + 1 - self.e
            top = self.S[i] + self.O[i] - self.e
            if _blocks(max(first, top), self.B) > self.M:
                raise InputError(
                    f"request {i} needs {_blocks(top, self.B)} tokens in blocks of {self.B} "
                    f"> M = {self.M}: it can never run"
                )
        theta = getattr(pol, "theta", None)
        self.info = pol.info
        self.theta = theta
        self.exact = pol.info == "full"
        self.reservation = pol.test == "reservation"
        self.may_overflow = pol.admission == "reactive" or not self.exact
        # Running state (request index -> values); the look-ahead list is sorted by believed
        # completion round, ascending.
        self.start: dict[int, int] = {}
        self.seq: dict[int, int] = {}
        self.believed: dict[int, int] = {}
        self.views: list[RequestView | None] = [None] * instance.n
        self.la_C: list[int] = []
        self.la_i: list[int] = []
        self.la_b: list[int] = []  # b_j = s_j - p_j + 1 - e: member j holds b_j + t at round t
        self.comp: list[tuple[int, int]] = []
        self.sumB = 0  # sum over running of b_j = s_j - p_j + 1 - e
        self.sumP = 0  # sum over running of believed peaks (reservation test)
        self.next_seq = 0
        # The earliest round at which the last failed look-ahead test could pass if the
        # running set stays as it is (exact lengths, B = 1), else None; lets the loop skip the
        # rounds in which a blocked head cannot become admissible.
        self.retry_at: int | None = None

    # --- memory ---------------------------------------------------------------------------
    def _b(self, i: int) -> int:
        return self.S[i] - self.start[i] + 1 - self.e

    def mem_now(self, t: int) -> int:
        if self.B == 1:
            return self.sumB + len(self.start) * t
        return sum(_blocks(self._b(i) + t, self.B) for i in self.start)

    def try_admit(self, t: int, i: int, final_start: list[int], admitted_order: list[int]) -> bool:
        """Admit waiting request ``i`` at round ``t`` if the policy's admission test passes:
        look-ahead or reservation (model §6) with the policy's planned output, or the current
        round's memory (reactive, model §7); the tests are :mod:`ratio.admission`'s."""
        pol, M, S, e, B = self.pol, self.M, self.S, self.e, self.B
        cand = self.views[i]
        assert cand is not None
        if pol.admission == "lookahead":
            ob = pol.believed_output(cand, M)
            if self.kept[i]:  # resumed: plan with what is left of the policy's belief
                ob = max(1, min(ob - self.kept[i], M - S[i]))
            peak = S[i] + ob - e
            if B != 1:
                peak = _blocks(peak, B)
            if self.reservation:
                ok = fits_reservation(self.sumP, peak, M)
                self.retry_at = None
            else:
                fail = fits_lookahead(
                    self.la_C, self.la_b, t, S[i] - t + 1 - e, t + ob, M, B, self.exact,
                    self.sumP, peak,
                )  # fmt: skip
                ok = fail is None
                self.retry_at = fail or None
        else:
            ob = self.O[i]
            ok = fits_reactive(self.mem_now(t), _blocks(S[i] + 1 - e, B), M)
            self.retry_at = None
        if ok:
            self.admit(t, i, ob)
            final_start[i] = t
            admitted_order.append(i)
        return ok

    # --- state changes --------------------------------------------------------------------
    def admit(self, t: int, i: int, ob: int) -> None:
        self.start[i] = t
        self.seq[i] = self.next_seq
        self.next_seq += 1
        self.believed[i] = ob
        C = t + ob
        pos = bisect.bisect_right(self.la_C, C)
        self.la_C.insert(pos, C)
        self.la_i.insert(pos, i)
        self.la_b.insert(pos, self.S[i] - t + 1 - self.e)
        heapq.heappush(self.comp, (t + self.O[i], i))
        self.sumB += self.S[i] - t + 1 - self.e
        self.sumP += _blocks(self.S[i] + ob - self.e, self.B)

    def remove(self, i: int) -> None:
        p = self.start.pop(i)
        self.seq.pop(i)
        ob = self.believed.pop(i)
        C = p + ob
        lo = bisect.bisect_left(self.la_C, C)
        k = self.la_i.index(i, lo)
        del self.la_C[k]
        del self.la_i[k]
        del self.la_b[k]
        self.sumB -= self.S[i] - p + 1 - self.e
        self.sumP -= _blocks(self.S[i] + ob - self.e, self.B)

    def running_views(self, t: int) -> list[RunningView]:
        out = []
        for i, p in self.start.items():
            v = self.views[i]
            assert v is not None
            out.append(RunningView(v, p, self.kept[i] + t - p, self.seq[i]))
        return out

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> tuple[Schedule, list[int]]:
        inst, pol = self.inst, self.pol
        n = inst.n
        A = self.A
        order = sorted(range(n), key=lambda i: (A[i], i))
        ptr = 0
        keys: list[Any] = [None] * n
        blocking = pol.blocking
        waiting: list[tuple[Any, int, int]] = []  # heap (blocking) or sorted list (skip)
        final_start = [-1] * n
        evicted: list[Run] = []
        admitted_order: list[int] = []
        done = 0
        t = A[order[0]] if n else 0
        lookahead = pol.admission == "lookahead"
        reactive = pol.admission == "reactive"
        batch = pol.admission == "batch"
        M = self.M
        comp = self.comp
        info, theta = self.info, self.theta
        max_rounds = self.max_rounds

        def enqueue(i: int) -> None:
            entry = (keys[i], A[i], i)
            if blocking:
                heapq.heappush(waiting, entry)
            else:
                bisect.insort(waiting, entry)

        while done < n:
            if max_rounds is not None and t > max_rounds:
                raise StuckError(
                    f"{pol.spec}: no completion of all requests by round {max_rounds}",
                    round=t,
                    waiting=[w[2] for w in waiting],
                )
            while ptr < n and A[order[ptr]] <= t:
                i = order[ptr]
                v = make_view(inst, i, info, theta)
                self.views[i] = v
                keys[i] = pol.key(v) if not batch else ()
                enqueue(i)
                ptr += 1
            while comp and comp[0][0] <= t:
                _, i = heapq.heappop(comp)
                self.remove(i)
                done += 1
            if done == n:
                break

            preempted = False
            if self.may_overflow and self.start and self.mem_now(t) > M:
                running = self.running_views(t)
                running.sort(key=pol.victim_key, reverse=True)
                for rv in running:
                    if self.mem_now(t) <= M:
                        break
                    i = rv.request.index
                    p = self.start[i]
                    self.remove(i)
                    comp.remove((p + self.O[i], i))
                    heapq.heapify(comp)
                    evicted.append(Run(i, p, t - p))
                    if self.eviction == "resume":
                        self.S[i] += t - p
                        self.O[i] -= t - p
                        self.kept[i] += t - p
                    enqueue(i)
                    preempted = True

            admitted_any = False
            if batch:
                state = SystemView(
                    t,
                    M,
                    tuple(self.views[w[2]] for w in sorted(waiting)),  # type: ignore[misc]
                    tuple(self.running_views(t)),
                    self.B,
                    self.e,
                )
                chosen = list(pol.decide(state))
                if chosen:
                    present = {w[2] for w in waiting}
                    bad = [i for i in chosen if i not in present]
                    if bad:
                        raise InputError(f"{pol.spec}: decided to start non-waiting {bad}")
                    cs = set(chosen)
                    waiting[:] = [w for w in waiting if w[2] not in cs]
                    heapq.heapify(waiting)
                    for i in chosen:
                        self.admit(t, i, self.O[i])
                        final_start[i] = t
                        admitted_order.append(i)
                    admitted_any = True
                    if self.mem_now(t) > M:
                        raise InputError(f"{pol.spec}: batch at round {t} overflows memory")
            elif not (reactive and preempted):
                if blocking:
                    while waiting and self.try_admit(t, waiting[0][2], final_start, admitted_order):
                        heapq.heappop(waiting)
                        admitted_any = True
                else:
                    keep = [
                        w
                        for w in waiting
                        if not self.try_admit(t, w[2], final_start, admitted_order)
                    ]
                    admitted_any = len(keep) < len(waiting)
                    waiting[:] = keep

            # Advance time.
            next_arrival = A[order[ptr]] if ptr < n else None
            if not self.start:
                if waiting and not admitted_any and next_arrival is None:
                    raise StuckError(
                        f"{pol.spec}: round {t}: {len(waiting)} request(s) wait on an empty "
                        "cache and nothing else will arrive",
                        round=t,
                        waiting=[w[2] for w in waiting],
                    )
                if not waiting:
                    assert next_arrival is not None
                    t = max(t + 1, next_arrival)
                    continue
                t += 1
                continue
            if waiting and (lookahead or preempted):
                # A blocked head can become admissible by waiting alone (model §6); after a
                # preemption round, admission resumes in the next round. With blocking
                # admission the head's failed test says how long it fails for sure while the
                # running set stays (retry_at); arrivals and completions end that early.
                nxt = t + 1
                if blocking and lookahead and not preempted and self.retry_at is not None:
                    nxt = min(self.retry_at, comp[0][0])
                    if next_arrival is not None:
                        nxt = min(nxt, next_arrival)
                t = max(t + 1, nxt)
                continue
            # Otherwise nothing changes before the next arrival, completion or overflow.
            nxt = comp[0][0]
            if next_arrival is not None:
                nxt = min(nxt, next_arrival)
            if self.may_overflow and self.B == 1:
                nrun = len(self.start)
                over = (M - self.sumB) // nrun + 1
                nxt = min(nxt, over)
            elif self.may_overflow or (waiting and not batch):
                nxt = t + 1
            t = max(t + 1, nxt)

        if any(p < 0 for p in final_start):
            raise StuckError("internal: a request never started", round=t, waiting=[])
        return Schedule(tuple(final_start), tuple(evicted), self.eviction), admitted_order
