"""How ``solve(solver="auto")`` picks and combines its exact methods (issue 15, deliverable 2).

``auto`` runs a short *plan*: a primary exact method for a share of the time left, then HiGHS
with the incumbent (and the bounds so far) for the rest, or HiGHS alone. Every stage's schedule
is re-verified by ``ratio.check`` in :func:`offline_opt.solve`; only the choice of order lives
here.

The primary is picked from cheap instance features (:class:`Features`, ``O(n)``), by what
``benchmarks/bench_opt.py`` measured on three distributions (tables in ``docs/offline_opt.md``,
section "Which exact method `auto` runs"):

* **arrivals not all at 0** -> CP-SAT (the branch and bound needs all arrivals at 0) for
  :data:`CPSAT_SHARE` of the time left, then HiGHS. CP-SAT proves most such instances in a
  fraction of HiGHS's time; where its bound stalls, HiGHS's LP bound proves them (n = 12, seed 0
  of the benchmark). The former split (CP-SAT for at most 10 s, then HiGHS) handed every
  instance that CP-SAT needed more than 10 s for to the slower HiGHS.
* **all at 0, compiled branch and bound available and short outputs** (``max o <=``
  :data:`BNB_MAX_OUTPUT`) -> the compiled branch and bound (:mod:`offline_opt.bnb_jit`) for
  :data:`BNB_SHARE` of the time, then HiGHS, whose dual bound beats the search's root bound on
  instances too large to finish (n = 20 in the docs).
* **all at 0 with long outputs** -> HiGHS alone. The branch and bound's states carry each
  running request's progress, so its table and bounds lose power as the outputs grow; CP-SAT's
  cumulative bound stays far below OPT there; the time-indexed LP bound proves it (M = 200,
  s <= 60, o <= 40, n = 12, 120 s limit on a shared machine: HiGHS proved 3 of 3, the branch and
  bound 1, CP-SAT 1, in the same run). The threshold 16 is the longest output of the
  distribution where the branch and bound wins; at ``o <= 24`` (M = 100, s <= 30) each of the
  two won one of two seeds.
* all at 0 where the compiled engine does not apply (numba missing, or the state does not pack:
  :func:`offline_opt.bnb_jit.supports`), or arrivals without OR-Tools -> HiGHS alone (formerly
  CP-SAT for up to 10 s first, whose bound HiGHS's LP bound beats on every distribution here).

Without a time limit the primary runs alone to its proof (every method here is exact).
"""

from __future__ import annotations

from dataclasses import dataclass

from ratio.model import Instance

__all__ = ["Features", "Plan", "features", "plan", "BNB_MAX_OUTPUT", "BNB_SHARE", "CPSAT_SHARE"]

#: Longest output for which ``auto`` prefers the branch and bound (all arrivals at 0).
BNB_MAX_OUTPUT = 16

#: Share of the time left that the branch and bound gets before HiGHS takes over.
BNB_SHARE = 2 / 3

#: Share of the time left that CP-SAT gets before HiGHS takes over.
CPSAT_SHARE = 1 / 2


@dataclass(frozen=True, slots=True)
class Features:
    """Cheap features of an instance that decide the plan."""

    n: int
    all_at_zero: bool
    max_output: int
    capacity: int
    #: the compiled branch and bound is installed and the instance's state packs
    jit: bool
    #: OR-Tools is installed
    cpsat: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """Stages in order: ``(method, share of the time left when the stage starts)``.

    The last stage's share is 1 (all the time left). ``reason`` says why, for the JSON and
    the tests.
    """

    stages: tuple[tuple[str, float], ...]
    reason: str
    features: Features

    @property
    def primary(self) -> str:
        return self.stages[0][0]


def features(instance: Instance) -> Features:
    """Compute :class:`Features` (``O(n)``; imports the optional backends' availability)."""
    from offline_opt import bnb_jit
    from offline_opt.cpsat import available

    outs = [r.output for r in instance.requests]
    return Features(
        n=instance.n,
        all_at_zero=instance.all_at_zero,
        max_output=max(outs, default=0),
        capacity=instance.capacity,
        jit=bool(outs) and bnb_jit.available() and bnb_jit.supports(outs),
        cpsat=available(),
    )


def plan(instance: Instance, feats: Features | None = None) -> Plan:
    """The plan ``auto`` runs on ``instance`` (module docstring).

    Examples
    --------
    >>> from ratio.model import Instance
    >>> plan(Instance.from_tuples(100, [(0, 3, 30), (0, 4, 6)])).primary  # long output at 0
    'highs'
    """
    f = features(instance) if feats is None else feats
    if f.all_at_zero:
        if f.jit and f.max_output <= BNB_MAX_OUTPUT:
            return Plan((("bnb", BNB_SHARE), ("highs", 1.0)), "all at 0, short outputs", f)
        return Plan((("highs", 1.0),), "all at 0, long outputs", f)
    if f.cpsat:
        return Plan((("cpsat", CPSAT_SHARE), ("highs", 1.0)), "arrivals", f)
    return Plan((("highs", 1.0),), "arrivals, no OR-Tools", f)
