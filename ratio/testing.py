"""The battery every policy must pass, as plain functions users can call on their own policy.

Each check takes an instance and a policy (name or object; base or extended, as
:data:`ratio.policies.REGISTRY` holds both) and raises ``AssertionError`` with the witness on
failure. Extended policies run on :func:`ratio.queueing.simulate_extended`; keyword arguments
(``engines=...``, ``token_budget=...``) go to it.

- :func:`check_feasible` - the simulated schedule passes the independent checker (base), or
  the run completes every request within memory (extended);
- :func:`check_no_overflow` - a full-information look-ahead policy never evicts;
- :func:`check_deterministic` - two runs give the same decisions;
- :func:`check_costs` - costs recomputed from start rounds agree with the run (base);
- :func:`check_non_anticipating` - changing requests that arrive after round t leaves every
  decision made at or before t unchanged (``docs/model.md`` section 5);
- :func:`check_information_level` - below the ``full`` level, changing output lengths leaves
  every decision before the first completion unchanged (a completion reveals a length, model
  section 5);
- :func:`check_views` - the views an extended policy is shown hold no output length below
  the ``full`` level;
- :func:`check_relabelling` - permuting the request list permutes the schedule, provided the
  policy breaks ties by arrival and key only (base).

:func:`run_battery` runs them all. With hypothesis::

    @given(instances(n=(1, 8), regime="online"))
    def test_my_policy(inst):
        run_battery(inst, MyPolicy())
"""

from __future__ import annotations

from typing import Any

from ratio.check import check
from ratio.model import Instance, Request
from ratio.policies import Policy, get_policy, needs_extended_engine
from ratio.simulator import SimResult, simulate

__all__ = [
    "check_feasible",
    "check_no_overflow",
    "check_deterministic",
    "check_costs",
    "check_non_anticipating",
    "check_information_level",
    "check_views",
    "check_relabelling",
    "run_battery",
    "run_policy",
    "decisions_until",
]


def run_policy(inst: Instance, policy: str | Policy, **engine: Any) -> Any:
    """Run ``policy`` on the engine it needs: :func:`ratio.simulate` for a base policy
    (without engine arguments), else :func:`ratio.queueing.simulate_extended` (which must
    complete every request). Both stop with :class:`~ratio.errors.StuckError` past a generous
    round limit, so that a policy that evicts and re-admits forever fails instead of hanging."""
    limit = max((r.arrival for r in inst.requests), default=0)
    limit += 20 * sum(r.prompt + r.output for r in inst.requests) + 100
    if not engine and not needs_extended_engine(policy):
        return simulate(inst, policy, max_rounds=limit)
    from ratio.queueing import simulate_extended

    engine.setdefault("max_rounds", limit)
    res = simulate_extended(inst, policy, **engine)
    assert res.complete, f"{res.policy}: the run left requests unfinished"
    return res


def _extended(res: Any) -> bool:
    return not isinstance(res, SimResult)


def check_feasible(inst: Instance, policy: str | Policy, **engine: Any) -> Any:
    res = run_policy(inst, policy, **engine)
    if _extended(res) and res.uninterrupted and not engine.get("engines"):
        # A run without pauses is a base-model schedule: the independent checker sees it,
        # in the run's eviction mode and convention.
        verdict = check(inst, res.schedule, convention=res.convention, block_size=res.block_size)
        assert verdict, f"{res.policy}: infeasible schedule: {verdict.reason}"
    if _extended(res):
        # The engine refuses a plan over memory; a paused run has no base-model schedule.
        caps = [sp.capacity for sp in engine.get("engines") or []] or [inst.capacity]
        worst = max((m for _, _, m in res.memory_rounds), default=0)
        assert all(c is None or worst <= c for c in caps), f"{res.policy}: memory {worst}"
        return res
    verdict = check(inst, res.schedule)
    assert verdict, f"{res.policy}: infeasible schedule: {verdict.reason}; starts {res.starts}"
    return res


def check_no_overflow(inst: Instance, policy: str | Policy) -> None:
    pol = get_policy(policy)
    if pol.info != "full" or pol.admission != "lookahead":
        return
    res = simulate(inst, pol)
    assert res.evictions == 0, f"{pol.spec}: {res.evictions} evictions under full information"
    assert int(res.memory.max(initial=0)) <= inst.capacity


def check_deterministic(inst: Instance, policy: str | Policy, **engine: Any) -> None:
    a = run_policy(inst, policy, **engine)
    b = run_policy(inst, policy, **engine)
    assert _decisions(a) == _decisions(b), f"{a.policy}: two runs differ"


def _decisions(res: Any) -> tuple[Any, ...]:
    if _extended(res):
        return (res.starts, res.completions, res.evicted)
    return (res.schedule,)


def check_costs(inst: Instance, policy: str | Policy) -> None:
    res = simulate(inst, policy)
    direct = sum(p + r.output - r.arrival for p, r in zip(res.starts, inst.requests, strict=True))
    assert res.total_latency == direct == res.costs.total_latency
    assert res.costs.makespan == max(
        (p + r.output for p, r in zip(res.starts, inst.requests, strict=False)), default=0
    )


def check_non_anticipating(
    inst: Instance, policy: str | Policy, t: int | None = None, **engine: Any
) -> None:
    """Change every request arriving after round ``t`` (default: the median arrival): each
    request that started at or before ``t`` in the original run must start at the same round
    (and the set of requests started by ``t`` must be the same)."""
    if inst.n < 2:
        return
    arrivals = sorted(r.arrival for r in inst.requests)
    t = arrivals[len(arrivals) // 2] if t is None else t
    late = [i for i, r in enumerate(inst.requests) if r.arrival > t]
    if not late:
        return
    changed = []
    for i, r in enumerate(inst.requests):
        if i in late:
            s = max(1, min(inst.capacity - 1, r.prompt % 5 + 1))
            o = max(1, min(inst.capacity - s, r.output * 2 % 7 + 1))
            changed.append(Request(r.arrival, s, o, r.id))
        else:
            changed.append(r)
    other = Instance(inst.capacity, tuple(changed))
    a = run_policy(inst, policy, **engine)
    b = run_policy(other, policy, **engine)

    da, db = decisions_until(a, t), decisions_until(b, t)
    assert da == db, (
        f"{a.policy}: decisions up to round {t} depend on requests arriving later: {da} vs {db}"
    )


def decisions_until(res: Any, t: int) -> list[tuple[Any, ...]]:
    """Every ``(request, start)`` of a run that started by round ``t``, evicted later or not:
    whether a run is evicted afterwards is a later decision. For an extended run (which may
    pause requests) also every ``(request, -1, completion)`` by ``t``: pauses show there; its
    starts and completions are compared in time (with a batch-time model the engine's round
    index counts scheduling steps, which arrivals add)."""
    if not _extended(res):
        runs: list[tuple[Any, ...]] = [(i, p) for i, p in enumerate(res.starts) if p <= t]
        runs += [(r.request, r.start) for r in res.schedule.evicted if r.start <= t]
        return sorted(runs)
    runs = [(i, p) for i, p in enumerate(res.start_times) if 0 <= p <= t]
    runs += [(r.request, r.start) for r in res.evicted if r.start <= t]
    runs += [(i, -1, c) for i, c in enumerate(res.completion_times) if c is not None and c <= t]
    return sorted(runs)


def _other_length(r: Request, swap: int, capacity: int, theta: int | None) -> int:
    """A different output length for ``r`` that still fits an empty cache and, with a 1-bit
    threshold ``theta``, keeps the bit ``o > theta``: first ``swap`` (another request's length,
    so that the order of lengths changes), else one more or less; ``r.output`` if none."""
    for o in (swap, r.output + 1, r.output - 1, r.output + 2):
        if o == r.output:
            continue
        if o < 1 or r.prompt + o > capacity:
            continue
        if theta is not None and (o > theta) != (r.output > theta):
            continue
        return o
    return r.output


def check_information_level(inst: Instance, policy: str | Policy, **engine: Any) -> None:
    """Below the ``full`` level a policy does not know output lengths (model section 5):
    change every request's output length (the list of lengths reversed where that changes it,
    else by one; keeping predictions, 1-bit classes and what fits),
    and every decision before the first completion of either run must be the same. A policy
    that reads lengths it should not see (from the engine, a global, the instance) fails."""
    pol = get_policy(policy)
    if pol.info == "full":
        return
    theta = getattr(pol, "theta", None) if inst.classes is None else None
    outputs = [r.output for r in inst.requests]
    changed = tuple(
        Request(r.arrival, r.prompt, _other_length(r, swap, inst.capacity, theta), r.id)
        for r, swap in zip(inst.requests, reversed(outputs), strict=True)
    )
    if changed == inst.requests:
        return
    other = Instance(
        inst.capacity,
        changed,
        inst.meta,
        inst.predictions,
        inst.intervals,
        inst.classes,
        inst.class_theta,
    )
    a = run_policy(inst, pol, **engine)
    b = run_policy(other, pol, **engine)
    first = min(min(_completions(a)), min(_completions(b)))
    da, db = decisions_until(a, first - 1), decisions_until(b, first - 1)
    assert da == db, (
        f"{a.policy} (information {pol.info}): decisions before round {first}, the first "
        f"completion, depend on output lengths: {da} vs {db}"
    )


def _completions(res: Any) -> tuple[Any, ...]:
    return tuple(res.completion_times) if _extended(res) else tuple(res.completions)


def check_views(inst: Instance, policy: str | Policy, **engine: Any) -> None:
    """An extended policy below the ``full`` level is shown no output length: not in the
    waiting views, not in the running requests' views (base policies get their views from
    :func:`ratio.simulator.make_view`, which this battery's other checks exercise)."""
    pol = get_policy(policy)
    if not needs_extended_engine(pol) or pol.info == "full":
        return

    def look(state: Any, plan: Any) -> None:
        shown = [*state.waiting(), *(p.request for p in state.running())]
        leaked = [v.index for v in shown if v.output is not None or v.base.output is not None]
        assert not leaked, f"{pol.spec}: views of {leaked} show output lengths"

    run_policy(inst, pol, on_batch=look, **engine)


def check_relabelling(inst: Instance, policy: str | Policy) -> None:
    """Reverse the request list among requests with distinct (key, arrival): the schedule is
    permuted the same way. Only instances whose requests are pairwise distinct are tested,
    since index is the last tie-breaker."""
    rows = [(r.arrival, r.prompt, r.output) for r in inst.requests]
    if len(set(rows)) != len(rows):
        return
    rev = Instance(inst.capacity, tuple(reversed(inst.requests)))
    a = simulate(inst, policy)
    b = simulate(rev, policy)
    pol = get_policy(policy)
    if pol.admission == "batch":
        return
    # Keys may still tie between distinct requests (e.g. equal volumes); compare only when the
    # policy's keys are all distinct.
    from ratio.simulator import make_view

    keys = [
        (pol.key(make_view(inst, i, pol.info, getattr(pol, "theta", None))), r.arrival)
        for i, r in enumerate(inst.requests)
    ]
    if len(set(keys)) != len(keys):
        return
    assert list(a.starts) == list(reversed(b.starts)), (
        f"{a.policy}: relabelling changed the schedule"
    )


def run_battery(inst: Instance, policy: str | Policy, **engine: Any) -> None:
    """All checks above on one instance (those for the base model only when the policy runs
    on :func:`ratio.simulate` without engine arguments)."""
    check_feasible(inst, policy, **engine)
    check_deterministic(inst, policy, **engine)
    check_non_anticipating(inst, policy, **engine)
    check_information_level(inst, policy, **engine)
    check_views(inst, policy, **engine)
    if engine or needs_extended_engine(policy):
        return
    check_no_overflow(inst, policy)
    check_costs(inst, policy)
    check_relabelling(inst, policy)
