"""The battery every policy must pass, as plain functions users can call on their own policy.

Each check takes an instance and a policy (name or object) and raises ``AssertionError`` with
the witness on failure:

- :func:`check_feasible` - the simulated schedule passes the independent checker;
- :func:`check_no_overflow` - a full-information look-ahead policy never evicts;
- :func:`check_deterministic` - two runs give the same schedule;
- :func:`check_costs` - costs recomputed from start rounds agree with the run;
- :func:`check_non_anticipating` - changing requests that arrive after round t leaves every
  decision made at or before t unchanged (``docs/model.md`` section 5);
- :func:`check_relabelling` - permuting the request list permutes the schedule, provided the
  policy breaks ties by arrival and key only.

:func:`run_battery` runs them all. With hypothesis::

    @given(instances(n=(1, 8), regime="online"))
    def test_my_policy(inst):
        run_battery(inst, MyPolicy())
"""

from __future__ import annotations

from ratio.check import check
from ratio.model import Instance, Request
from ratio.policies import Policy, get_policy
from ratio.simulator import SimResult, simulate

__all__ = [
    "check_feasible",
    "check_no_overflow",
    "check_deterministic",
    "check_costs",
    "check_non_anticipating",
    "check_relabelling",
    "run_battery",
    "decisions_until",
]


def check_feasible(inst: Instance, policy: str | Policy) -> SimResult:
    res = simulate(inst, policy)
    verdict = check(inst, res.schedule)
    assert verdict, f"{res.policy}: infeasible schedule: {verdict.reason}; starts {res.starts}"
    return res


def check_no_overflow(inst: Instance, policy: str | Policy) -> None:
    pol = get_policy(policy)
    if pol.info != "full" or pol.admission == "reactive":
        return
    res = simulate(inst, pol)
    assert res.evictions == 0, f"{pol.spec}: {res.evictions} evictions under full information"
    assert int(res.memory.max(initial=0)) <= inst.capacity


def check_deterministic(inst: Instance, policy: str | Policy) -> None:
    a = simulate(inst, policy)
    b = simulate(inst, policy)
    assert a.schedule == b.schedule, f"{a.policy}: two runs differ"


def check_costs(inst: Instance, policy: str | Policy) -> None:
    res = simulate(inst, policy)
    direct = sum(p + r.output - r.arrival for p, r in zip(res.starts, inst.requests, strict=True))
    assert res.total_latency == direct == res.costs.total_latency
    assert res.costs.makespan == max(
        (p + r.output for p, r in zip(res.starts, inst.requests, strict=False)), default=0
    )


def check_non_anticipating(inst: Instance, policy: str | Policy, t: int | None = None) -> None:
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
    a = simulate(inst, policy)
    b = simulate(other, policy)

    da, db = decisions_until(a, t), decisions_until(b, t)
    assert da == db, (
        f"{a.policy}: decisions up to round {t} depend on requests arriving later: {da} vs {db}"
    )


def decisions_until(res: SimResult, t: int) -> list[tuple[int, int]]:
    """Every ``(request, start)`` of a run that started by round ``t``, evicted later or not:
    whether a run is evicted afterwards is a later decision."""
    runs = [(i, p) for i, p in enumerate(res.starts) if p <= t]
    runs += [(r.request, r.start) for r in res.schedule.evicted if r.start <= t]
    return sorted(runs)


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


def run_battery(inst: Instance, policy: str | Policy) -> None:
    """All checks above on one instance."""
    check_feasible(inst, policy)
    check_no_overflow(inst, policy)
    check_deterministic(inst, policy)
    check_costs(inst, policy)
    check_non_anticipating(inst, policy)
    check_relabelling(inst, policy)
