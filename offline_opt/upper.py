"""Upper bounds on ``OPT``: registered policies, list scheduling and local search (issue 3 item 3,
issue 15 item 1).

Every schedule that leaves this package as a bound is re-verified by :func:`ratio.check.check`;
its total latency is therefore a valid upper bound ``UB >= OPT``. The best one is the exact
methods' warm start and the source of the MILP's per-request horizons (:mod:`offline_opt.milp`).

List scheduling places requests one by one, in a given order, each at its earliest start
``p >= a_i`` at which it fits in every one of its rounds beside those already placed (the
"list-scheduling greedy" of ``docs/offline_opt.md``). Any permutation gives a feasible schedule;
local search improves the permutation.

Memory and time (issue 15): the memory profile is one integer array over the rounds used so
far (grown by doubling), so a list schedule needs ``O(n + makespan)`` memory. Placing request
``i`` tests candidate starts with one vectorised pass over its ``o_i`` rounds each and jumps,
after a failed test, straight to the first start that the violated rounds still allow
(:func:`_earliest_start`); no ``horizon x o`` temporary is ever built. Every long loop here
takes a ``deadline`` (a :func:`time.perf_counter` value) and raises :class:`Deadline` past it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ratio.check import check
from ratio.model import Instance, Schedule

__all__ = [
    "Deadline",
    "list_schedule",
    "order_keys",
    "policy_specs",
    "policy_schedules",
    "local_search",
    "best_upper_bound",
]


class Deadline(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a long computation of this package when its ``deadline`` has passed."""


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline


class _Profile:
    """Tokens held per round, ``mem[t]`` for ``t < len``, zero beyond; grows by doubling."""

    def __init__(self, size: int) -> None:
        self.mem = np.zeros(max(size, 16), dtype=np.int64)

    def window(self, p: int, o: int) -> np.ndarray:
        end = p + o
        if end > self.mem.shape[0]:
            size = self.mem.shape[0]
            while size < end:
                size *= 2
            grown = np.zeros(size, dtype=np.int64)
            grown[: self.mem.shape[0]] = self.mem
            self.mem = grown
        return self.mem[p:end]


def _earliest_start(prof: _Profile, a: int, s: int, o: int, M: int, ramp: np.ndarray) -> int:
    """Least ``p >= a`` with ``mem[p + k - 1] + s + k <= M`` for ``k = 1..o``.

    Jump rule: if round ``t = p + k - 1`` overflows, a start ``q`` in ``(p, t]`` puts round
    ``t`` at position ``t - q + 1`` and needs ``mem[t] + s + t - q + 1 <= M``, i.e.
    ``q >= t + 1 + s + mem[t] - M``; a start ``q > t`` avoids round ``t``. So every feasible
    ``q > p`` satisfies ``q >= min(t + 1 + s + mem[t] - M, t + 1)`` for every overflowing
    ``t``, and the search jumps to the largest of these (always ``> p``: an overflowing round
    has ``t + 1 + s + mem[t] - M > p``). Rounds past every placed run are empty, so the search
    ends.
    """
    p = a
    while True:
        w = prof.window(p, o)
        over = w + ramp + (s - M)  # > 0 where round p + k - 1 overflows
        if int(over.max()) <= 0:
            return p
        ks = np.flatnonzero(over > 0)
        # t = p + k (0-based k): required q >= min(t + over_t - ... ) ; see docstring
        t = p + ks
        need = np.minimum(t + 1 + s + w[ks] - M, t + 1)
        p = int(need.max())


def list_schedule(
    instance: Instance, order: Sequence[int], *, deadline: float | None = None
) -> tuple[int, Schedule]:
    """Place requests in ``order``, each at its earliest feasible start; return ``(L, schedule)``.

    Feasible by construction (a request is placed only where every one of its rounds fits);
    the caller still re-verifies with the checker before claiming anything. ``O(n + makespan)``
    memory; raises :class:`Deadline` once ``deadline`` has passed.

    Examples
    --------
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> list_schedule(inst, [1, 2, 0])
    (9, Schedule(starts=(3, 0, 0), evicted=(), eviction='restart'))
    """
    cost, starts, _ = _place(instance, order, 0, None, deadline)
    return cost, Schedule(tuple(starts))


#: A list-scheduling state after a prefix of the order: (profile, cost so far, starts so far).
_Checkpoint = tuple[np.ndarray, int, list[int]]


def _place(
    instance: Instance,
    order: Sequence[int],
    pos: int,
    state: _Checkpoint | None,
    deadline: float | None,
    every: int = 0,
) -> tuple[int, list[int], dict[int, _Checkpoint]]:
    """Place ``order[pos:]`` on top of ``state`` (the state after ``order[:pos]``; ``None``
    for an empty profile, ``pos = 0``). Returns the cost, the starts, and (``every > 0``)
    copies of the state at every position that is a multiple of ``every``."""
    reqs = instance.requests
    M = instance.capacity
    if state is None:
        vol = sum(r.volume for r in reqs)
        est = (
            max((r.arrival for r in reqs), default=0)
            + 2 * (vol // M)
            + 2 * max((r.output for r in reqs), default=1)
        )
        prof = _Profile(est)
        starts = [0] * len(reqs)
        cost = 0
    else:
        prof = _Profile(0)
        prof.mem = state[0].copy()
        cost, starts = state[1], list(state[2])
    marks: dict[int, _Checkpoint] = {}
    ramps: dict[int, np.ndarray] = {}
    for k in range(pos, len(order)):
        if every and k % every == 0:
            marks[k] = (prof.mem.copy(), cost, list(starts))
        if k & 63 == 63 and _past(deadline):
            raise Deadline
        i = order[k]
        r = reqs[i]
        o = r.output
        ramp = ramps.get(o)
        if ramp is None:
            ramp = ramps[o] = np.arange(1, o + 1, dtype=np.int64)
        p = _earliest_start(prof, r.arrival, r.prompt, o, M, ramp)
        prof.window(p, o)[:] += ramp + r.prompt
        starts[i] = p
        cost += p + o - r.arrival
    return cost, starts, marks


def order_keys() -> dict[str, Callable[[Any], Any]]:
    """Priority orders tried by list scheduling (smallest key first; ties by arrival, index)."""
    return {
        "volume": lambda r: r.volume,
        "output": lambda r: r.output,
        "prompt": lambda r: r.prompt,
        "peak": lambda r: r.peak,
        "arrival": lambda r: r.arrival,
        "volume_per_output": lambda r: r.volume / r.output,
    }


_ORDER_KEYS = order_keys()

#: Policies tried first, cheapest and usually best first (measured at n = 10^4 in
#: ``docs/offline_opt.md``); the others follow in registry order.
_POLICY_FIRST = ("vllm_priority", "svf", "vllm_fcfs", "sjf", "fcfs", "mcsf", "spf")


def policy_specs(*, variants: bool = True) -> list[str]:
    """Every registered policy at its defaults, then (``variants``) ``blocking=false`` where
    it has that parameter (these simulate about 100x slower); the usual best first."""
    from ratio.policies import REGISTRY

    names = [p for p in _POLICY_FIRST if p in REGISTRY]
    names += sorted(set(REGISTRY) - set(names))
    specs = list(names)
    for name in names if variants else ():
        if "blocking" in getattr(REGISTRY[name], "PARAMS", {}):
            specs.append(f"{name}:blocking=false")
    return specs


def _timed_policy(spec: str, deadline: float | None) -> Any:
    """The policy object of ``spec`` whose decisions raise :class:`Deadline` past ``deadline``
    (so that one slow policy cannot overrun the caller's time limit)."""
    from ratio.policies import get_policy

    pol = get_policy(spec)
    if deadline is None:
        return pol
    calls = [0]

    def timed(method: Callable[..., Any], every: int) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            calls[0] += 1
            if calls[0] % every == 0 and time.perf_counter() > deadline:
                raise Deadline
            return method(*args)

        return wrapper

    # the simulator calls these per arrival, per look-ahead test, per eviction and per
    # batch decision: between them they bound the work done between two clock readings
    pol.key = timed(pol.key, 64)  # type: ignore[method-assign]
    pol.believed_output = timed(pol.believed_output, 64)  # type: ignore[method-assign]
    pol.victim_key = timed(pol.victim_key, 64)  # type: ignore[method-assign]
    pol.decide = timed(pol.decide, 1)  # type: ignore[method-assign]
    return pol


def policy_schedules(
    instance: Instance,
    *,
    deadline: float | None = None,
    runs: dict[str, Any] | None = None,
    specs: Iterable[str] | None = None,
    on_result: Callable[[str, int], None] | None = None,
) -> dict[str, Schedule]:
    """Schedules of every registered policy (:func:`policy_specs`), simulated once each.

    Evicted runs are dropped: removing runs only lowers memory, and the completing runs keep
    the cost, so the result is a feasible non-preemptive schedule. ``runs`` maps a policy spec
    to a :class:`ratio.simulator.SimResult` already computed for this instance (reused, not
    simulated again). A policy that cannot run here (it needs predictions, say) gives no
    schedule; simulation stops at ``deadline`` (the schedules found so far are returned).
    """
    from ratio.simulator import simulate

    out: dict[str, Schedule] = {}
    given = dict(runs or {})
    for res in given.values():
        if res.instance is not instance and res.instance != instance:
            raise ValueError(f"policy run {res.policy!r} is for another instance")
        out[res.policy] = Schedule(res.schedule.starts)
        if on_result is not None:
            on_result(res.policy, out[res.policy].total_latency(instance))
    for spec in policy_specs() if specs is None else specs:
        if spec in out:
            continue
        if _past(deadline):
            break
        try:
            res = simulate(instance, _timed_policy(spec, deadline))
        except Deadline:
            break
        except Exception:  # noqa: BLE001 - a policy that cannot run here gives no bound
            continue
        if res.policy in out:
            continue
        out[res.policy] = Schedule(res.schedule.starts)
        if on_result is not None:
            on_result(res.policy, out[res.policy].total_latency(instance))
    return out


def local_search(
    instance: Instance,
    order: Sequence[int],
    *,
    max_evals: int = 2000,
    seed: int = 0,
    deadline: float | None = None,
    start: tuple[int, Schedule] | None = None,
) -> tuple[int, Schedule, list[int]]:
    """First-improvement local search on the list-scheduling order (swap and insert moves).

    Returns ``(cost, schedule, order)``; the cost never increases. Seeded; stops after
    ``max_evals`` list schedules, at a local optimum, or at ``deadline`` (returning the best
    so far, never raising). ``start`` is ``list_schedule(instance, order)`` when the caller
    has it already. At large ``n`` the moves are local (``|i - j| <= 32``): a request moves
    among its neighbours in the order.
    """
    # long: one first-improvement loop over two move kinds that share the incumbent and the deadline
    rng = np.random.default_rng(seed)
    cur = list(order)
    n = len(cur)
    if start is None:
        try:
            start = list_schedule(instance, cur, deadline=deadline)
        except Deadline:
            start = list_schedule(instance, cur)
    best_cost, best_sched = start
    if n < 2:
        return best_cost, best_sched, cur
    # checkpoints of the current order's placement every ``every`` positions (at most 32,
    # and at most 64 MiB of profiles), so that a move evaluates only the changed suffix
    horizon = max(p + r.output for p, r in zip(best_sched.starts, instance.requests, strict=True))
    every = max(8, -(-n // min(32, max(1, (64 << 20) // (8 * (2 * horizon + 16))))))
    try:
        _, _, marks = _place(instance, cur, 0, None, deadline, every)
    except Deadline:
        return best_cost, best_sched, cur
    reach = n if n <= 64 else 32
    evals = 0
    fails = 0
    while evals < max_evals and fails < 4 * n * min(reach, n):
        if _past(deadline):
            break
        i = int(rng.integers(n))
        lo, hi = max(0, i - reach), min(n - 1, i + reach)
        j = int(rng.integers(lo, hi + 1))
        if i == j:
            continue
        cand = cur.copy()
        if abs(i - j) == 1 or rng.random() < 0.5:
            cand[i], cand[j] = cand[j], cand[i]
        else:
            x = cand.pop(i)
            cand.insert(j, x)
        m = (min(i, j) // every) * every
        try:
            c, starts, _ = _place(instance, cand, m, marks[m], deadline)
        except Deadline:
            break
        evals += 1
        if c < best_cost:
            best_cost, best_sched, cur = c, Schedule(tuple(starts)), cand
            fails = 0
            try:
                _, _, fresh = _place(instance, cur, m, marks[m], deadline, every)
            except Deadline:
                break
            marks.update(fresh)
        else:
            fails += 1
    return best_cost, best_sched, cur


def start_order(instance: Instance, sched: Schedule) -> list[int]:
    """Requests by start round in ``sched`` (ties by index): the order that list scheduling
    turns back into a schedule at least as good when the schedule is left-justified."""
    st = sched.starts
    return sorted(range(instance.n), key=lambda i: (st[i], i))


def best_upper_bound(
    instance: Instance,
    *,
    local_search: bool = True,
    seed: int = 0,
    max_evals: int = 1500,
    time_limit: float | None = None,
) -> tuple[int, Schedule]:
    """Best feasible schedule found: all registered policies, list scheduling in several
    priority orders and in each policy's start order, then local search from the best order,
    all within ``time_limit`` seconds when given (the first list schedule always completes,
    so there is always an answer). See :func:`offline_opt.bracket.bracket` for the version
    that also reports which method won.

    Returns
    -------
    (UB, schedule)
        ``UB >= OPT``; the schedule is verified by ``ratio.check``.

    Examples
    --------
    >>> from ratio.model import Instance
    >>> best_upper_bound(Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)]))[0]
    9
    """
    from offline_opt.bracket import upper_search

    if instance.n == 0:
        return 0, Schedule(())
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    res = upper_search(
        instance,
        deadline=deadline,
        local=local_search,
        seed=seed,
        max_evals=max_evals,
    )
    best_cost, best_sched = res.cost, res.schedule
    verdict = check(instance, best_sched)
    if not verdict or best_sched.total_latency(instance) != best_cost:
        raise AssertionError(f"upper bound schedule failed the checker: {verdict.reason}")
    return best_cost, best_sched
