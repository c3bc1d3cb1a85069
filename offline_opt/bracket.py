"""An anytime certified bracket ``LB <= OPT <= UB`` at any size (issue 15, deliverable 1).

:func:`bracket` is the one entry point that ``kvratio opt``, ``kvratio ratio``, the adversary
search and the importers' path call. Within one time limit, counted from the call (warm
start, local search and model building included) it

1. computes the cheap lower bounds of :mod:`offline_opt.bounds` (``O(n log n)``; the
   arrival-aware volume bound, ``O(n^2 log n)``, only where it fits the time);
2. simulates every registered policy once (:func:`offline_opt.upper.policy_specs`; runs
   passed in ``policy_runs`` are reused, not simulated again), cheapest first, each stopped
   at the deadline;
3. list-schedules in several priority orders and in the best policies' start orders
   (:func:`offline_opt.upper.list_schedule`, ``O(n + makespan)`` memory);
4. runs local search on the best orders (steps 2-4 share 60 % of the time);
5. raises the lower bound with the Lagrangian relaxation of the memory constraint
   (:func:`offline_opt.bounds.lagrangian_lower_bound`) in the rest;
6. where the instance is small enough for them (:func:`exact_fits`), runs the exact methods
   (:func:`offline_opt.solve`: branch and bound, CP-SAT, MILP) with the best schedule as the
   incumbent, for the time left;
7. re-verifies the best schedule with :func:`ratio.check.check` (time for that is reserved
   out of the limit) and says which method gave each side.

There is always an answer: the first upper bound (a policy or a list schedule) completes
even past the deadline, and the cheap lower bounds take milliseconds at ``n = 10^4``.

``opt_over="resume"`` brackets the optimum over *resume* schedules instead (model §7; a
request may be evicted and readmitted keeping its tokens): the lower end is the maximum of
the cheap bounds proved valid for them only (:data:`offline_opt.bounds.RESUME_VALID`; the
Lagrangian bound and the exact methods' bounds are not) and of the Lagrangian bound's resume
form (:func:`offline_opt.bounds.lagrangian_resume_lower_bound`), the upper end the best
non-preemptive schedule (every one is a resume schedule) or an offered resume policy run,
whichever is cheaper.

Instances whose working memory would not fit (:func:`memory_estimate` above
:func:`memory_limit`) are refused up front with one :class:`~ratio.errors.InputError` line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TextIO

from offline_opt import bounds as _bounds
from offline_opt.certificate import OptResult, OptStatus
from offline_opt.upper import (
    Deadline,
    list_schedule,
    local_search,
    order_keys,
    policy_schedules,
    policy_specs,
    start_order,
)
from ratio.check import check
from ratio.errors import InputError
from ratio.model import Instance, Schedule

__all__ = [
    "Bracket",
    "OPT_OVER",
    "UpperResult",
    "bracket",
    "opt_result",
    "upper_search",
    "lower_bounds",
    "exact_fits",
    "memory_estimate",
    "memory_limit",
    "TerminalProgress",
]

Progress = Callable[[str], None]

#: Seconds the heuristics (policies, list scheduling, local search, Lagrangian) may take when
#: :func:`bracket` has no time limit (the exact methods, where they fit, then run to the end).
DEFAULT_HEURISTIC_SECONDS = 60.0
#: Largest ``n`` handed to the exact methods (their state spaces and models grow
#: exponentially or with ``n x horizon``; beyond this they only spend the time limit).
EXACT_MAX_N = 20
#: Largest ``n x horizon`` (time-indexed model size) handed to the exact methods.
EXACT_MAX_CELLS = 20_000
#: Seconds per token-round that :func:`ratio.check.check` takes, for the time it is reserved
#: (measured 0.37 to 0.7 us on a shared machine; with margin).
_CHECK_SECONDS_PER_ROUND = 1.2e-6
#: Rough bytes per round of makespan held by the checker's per-round dict and the profile.
_BYTES_PER_ROUND = 120
#: Rough bytes per request (requests, schedules, orders, policy runs).
_BYTES_PER_REQUEST = 2_000
#: The optima :func:`bracket` can bracket: over non-preemptive schedules (``OPT``, model §3)
#: or over resume schedules (model §7; ``OPT_resume <= OPT``).
OPT_OVER = ("nonpreemptive", "resume")
#: Why the resume bracket does not run the exact methods.
_RESUME_SKIP = "they bound the non-preemptive optimum only (opt_over = resume)"


@dataclass(frozen=True)
class UpperResult:
    """The best schedule of :func:`upper_search` and where it came from."""

    cost: int
    schedule: Schedule
    method: str
    order: list[int]
    candidates: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Bracket:
    """A certified ``lower <= OPT <= upper``.

    Attributes
    ----------
    lower, upper
        Exact integers; ``upper`` is the total latency of ``schedule``, which
        :func:`ratio.check.check` accepted.
    lower_method
        Which bound gave ``lower``: ``serial``, ``volume``, ``mean_busy_time``,
        ``mean_busy_time_subset`` or an exact method (``bnb``, ``cpsat``, ``highs``, ...).
    upper_method
        Which method gave ``upper``: ``policy:<spec>``, ``list_schedule:<order>``,
        ``list_schedule+local_search`` or an exact method.
    schedule
        The verified schedule of cost ``upper``.
    lower_bounds, upper_bounds
        Every bound computed, by method (the maximum / minimum is the bracket).
    exact_status
        ``None`` when no exact method ran, else the :class:`~offline_opt.OptResult` status.
    exact_skipped
        Why the exact methods did not run (empty when they did or were not needed).
    seconds
        Wall-clock seconds of the whole call, the final check included.
    opt_over
        Which optimum is bracketed: ``"nonpreemptive"`` (``OPT``) or ``"resume"`` (the
        least total latency over resume schedules, model §7).
    """

    lower: int
    upper: int
    lower_method: str
    upper_method: str
    schedule: Schedule
    lower_bounds: dict[str, int]
    upper_bounds: dict[str, int]
    exact_status: str | None
    exact_skipped: str
    seconds: float
    exact_solver: str | None = None
    opt_over: str = "nonpreemptive"

    @property
    def optimal(self) -> bool:
        return self.lower == self.upper

    @property
    def gap(self) -> Fraction:
        """``(upper - lower) / upper`` (``0`` when optimal or empty)."""
        return Fraction(self.upper - self.lower, self.upper) if self.upper else Fraction(0)

    def ratio(self, policy_cost: int) -> tuple[Fraction, Fraction]:
        """``(L / upper, L / lower)``: the certified bracket of a policy of cost ``L``; only
        the first end may be claimed as a lower bound on its competitive ratio."""
        if self.upper == 0:
            return Fraction(1), Fraction(1)
        hi = Fraction(policy_cost, self.lower) if self.lower > 0 else Fraction(policy_cost)
        return Fraction(policy_cost, self.upper), hi

    def to_dict(self) -> dict[str, Any]:
        return {
            "opt_over": self.opt_over,
            "lower": self.lower,
            "upper": self.upper,
            "lower_method": self.lower_method,
            "upper_method": self.upper_method,
            "lower_bounds": dict(self.lower_bounds),
            "upper_bounds": dict(self.upper_bounds),
            "exact_status": self.exact_status,
            "exact_skipped": self.exact_skipped or None,
            "seconds": round(self.seconds, 4),
        }


class TerminalProgress:
    """One self-overwriting status line on a terminal (``stream``, default stderr); prints
    nothing when the stream is not a TTY. Call :meth:`close` to end the line."""

    def __init__(self, stream: TextIO | None = None, *, every: float = 0.2) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._shown = False

    def __call__(self, text: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        self._last = now
        self.stream.write(f"\r\033[K[{now - self._t0:6.1f} s] {text}")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def memory_limit() -> int:
    """Bytes this package may use: ``KVRATIO_MEMORY_LIMIT`` (bytes) if set, else half the
    machine's physical memory (4 GiB if unknown)."""
    env = os.environ.get("KVRATIO_MEMORY_LIMIT")
    if env:
        try:
            return int(float(env))
        except ValueError:
            raise InputError(
                f"KVRATIO_MEMORY_LIMIT must be a number of bytes, got {env!r}"
            ) from None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def memory_estimate(instance: Instance) -> int:
    """Bytes needed by :func:`bracket`, from below: every feasible schedule lasts at least
    ``max(a_j + o_j)`` and ``sum V / M`` rounds, and the profile and the checker hold a few
    words per round of it, plus a few kilobytes per request."""
    reqs = instance.requests
    if not reqs:
        return 0
    rounds = max(
        max(r.arrival + r.output for r in reqs),
        -(-sum(r.volume for r in reqs) // instance.capacity),
    )
    return rounds * _BYTES_PER_ROUND + len(reqs) * _BYTES_PER_REQUEST


def _gib(x: int) -> str:
    return f"{x / (1 << 30):.2f} GiB"


def check_memory(instance: Instance) -> None:
    """Refuse, with one line, an instance whose working memory exceeds :func:`memory_limit`."""
    need, limit = memory_estimate(instance), memory_limit()
    if need > limit:
        raise InputError(
            f"instance too large for the bracket: needs at least {_gib(need)} of memory "
            f"(n = {instance.n}, horizon over {need // _BYTES_PER_ROUND} rounds), limit "
            f"{_gib(limit)} (set KVRATIO_MEMORY_LIMIT in bytes to change it)"
        )


def exact_fits(instance: Instance) -> str:
    """Empty string when the exact methods may run here, else why not (one phrase)."""
    n = instance.n
    if n > EXACT_MAX_N:
        return f"n = {n} > {EXACT_MAX_N}"
    horizon = max((r.arrival for r in instance.requests), default=0) + sum(
        r.output for r in instance.requests
    )
    if n * horizon > EXACT_MAX_CELLS:
        return f"n x horizon = {n * horizon} > {EXACT_MAX_CELLS}"
    return ""


def lower_bounds(instance: Instance, *, deadline: float | None = None) -> dict[str, int]:
    """Every cheap lower bound of :mod:`offline_opt.bounds` that fits the time, by name.

    ``serial`` and ``mean_busy_time`` always (``O(n log n)``); ``volume`` when all arrivals
    are at 0 or ``n <= 3000`` (its arrival-aware form is ``O(n^2 log n)``) and time is left;
    ``mean_busy_time_subset`` (:func:`offline_opt.bounds.subset_mean_busy_time_lower_bound`)
    when time is left.
    """
    out = {
        "serial": _bounds.serial_lower_bound(instance),
        "mean_busy_time": _bounds.mean_busy_time_lower_bound(instance),
    }
    if instance.all_at_zero or instance.n <= 3000:
        out["volume"] = _bounds.volume_lower_bound(instance)
    if deadline is None or time.perf_counter() < deadline:
        out["mean_busy_time_subset"] = _bounds.subset_mean_busy_time_lower_bound(instance)
    return out


def upper_search(
    instance: Instance,
    *,
    deadline: float | None = None,
    local: bool = True,
    seed: int = 0,
    max_evals: int | None = None,
    runs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    lower: int = 0,
) -> UpperResult:
    """Best schedule from policies, list scheduling and local search before ``deadline``.

    Not yet checker-verified (:func:`bracket` and :func:`offline_opt.upper.best_upper_bound`
    verify what they report). The first schedule always completes; everything after it stops
    at ``deadline``. ``max_evals`` caps each local search (default: 1500 without a deadline,
    else until the deadline or a local optimum). Stops early once a schedule meets ``lower``.
    """
    reqs = instance.requests
    n = len(reqs)
    found = _Candidates(lower, progress)
    pol = policy_schedules(
        instance,
        deadline=deadline,
        runs=runs,
        specs=policy_specs(variants=False),
        on_result=found.on_policy,
    )
    for spec, sched in pol.items():
        found.note(f"policy:{spec}", sched.total_latency(instance), sched, None)
    if not found.cands:  # not even one policy in time: one list schedule, past the deadline
        order = sorted(range(n), key=lambda i: (reqs[i].volume, reqs[i].arrival, i))
        found.note("list_schedule:volume", *list_schedule(instance, order), order)
    for name, order in _list_orders(instance, pol):
        if found.done() or name in found.cands:
            continue
        try:
            found.note(name, *list_schedule(instance, order, deadline=deadline), order)
        except Deadline:
            break
    if local and not found.done() and (deadline is None or time.perf_counter() < deadline):
        _local_search_stage(instance, found, deadline, seed, max_evals)
    if not found.done():
        more = policy_schedules(
            instance,
            deadline=deadline,
            specs=[sp for sp in policy_specs() if sp not in pol],
            on_result=found.on_policy,
        )
        for spec, sched in more.items():
            found.note(f"policy:{spec}", sched.total_latency(instance), sched, None)
    assert found.best is not None
    cost, sched, best_order, name = found.best
    return UpperResult(
        cost=cost,
        schedule=sched,
        method=name,
        order=list(best_order) if best_order is not None else start_order(instance, sched),
        candidates={nm: c for nm, (c, _, _) in found.cands.items()},
    )


class _Candidates:
    """The schedules :func:`upper_search` has tried, by name, and the best one so far."""

    def __init__(self, lower: int, progress: Progress | None) -> None:
        self.lower = lower
        self.progress = progress
        self.cands: dict[str, tuple[int, Schedule, list[int] | None]] = {}
        self.best: tuple[int, Schedule, list[int] | None, str] | None = None

    def note(self, name: str, cost: int, sched: Schedule, order: list[int] | None) -> None:
        self.cands[name] = (cost, sched, order)
        if self.best is None or cost < self.best[0]:
            self.best = (cost, sched, order, name)
        if self.progress is not None:
            self.progress(
                f"OPT in [{self.lower}, {self.best[0]}]  best upper: {self.best[3]}  (tried {name})"
            )

    def done(self) -> bool:
        """A schedule meets the lower bound: nothing can beat it."""
        return self.best is not None and self.best[0] <= self.lower

    def on_policy(self, spec: str, cost: int) -> None:
        if self.progress is not None:
            up = self.best[0] if self.best else "?"
            self.progress(f"OPT in [{self.lower}, {up}]  policy {spec}: {cost}")


def _list_orders(instance: Instance, pol: dict[str, Schedule]) -> list[tuple[str, list[int]]]:
    """List-scheduling orders: the three best policies' start orders, then each priority
    order of :func:`offline_opt.upper.order_keys` (ties by arrival, then index)."""
    reqs = instance.requests
    n = len(reqs)
    ranked = sorted(pol.items(), key=lambda kv: kv[1].total_latency(instance))
    orders: list[tuple[str, list[int]]] = [
        (f"list_schedule:policy:{spec}", start_order(instance, s)) for spec, s in ranked[:3]
    ]
    orders += [
        (
            f"list_schedule:{name}",
            sorted(range(n), key=lambda i, k=key: (k(reqs[i]), reqs[i].arrival, i)),  # type: ignore[misc]
        )
        for name, key in order_keys().items()
    ]
    return orders


def _local_search_stage(
    instance: Instance,
    found: _Candidates,
    deadline: float | None,
    seed: int,
    max_evals: int | None,
) -> None:
    """Local search from the (up to) three best distinct orders, best first, each with an
    equal share of three quarters of the time left (the slow policy variants get the rest)."""
    ls_deadline = deadline
    if deadline is not None:
        ls_deadline = time.perf_counter() + 0.75 * max(deadline - time.perf_counter(), 0.0)
    starts = sorted(
        ((c, s, o, nm) for nm, (c, s, o) in found.cands.items()),
        key=lambda x: x[0],
    )
    seen: set[tuple[int, ...]] = set()
    k = 0
    for cost, sched, maybe_order, _name in starts:
        if (
            k >= 3
            or found.done()
            or (ls_deadline is not None and time.perf_counter() >= ls_deadline)
        ):
            break
        start: tuple[int, Schedule] | None = (cost, sched)
        if maybe_order is None:
            order = start_order(instance, sched)
            start = None
        else:
            order = maybe_order
        if tuple(order) in seen:
            continue
        seen.add(tuple(order))
        # split the time left between the (up to 3) starts, best first
        sub = ls_deadline
        if ls_deadline is not None:
            sub = time.perf_counter() + (ls_deadline - time.perf_counter()) / (3 - k)
        evals = max_evals if max_evals is not None else (1500 if deadline is None else 10**9)
        c, sch, o2 = local_search(
            instance, order, max_evals=evals, seed=seed + k, deadline=sub, start=start
        )
        k += 1
        assert found.best is not None
        if c < found.best[0]:
            found.note("list_schedule+local_search", c, sch, o2)


def bracket(
    instance: Instance,
    *,
    time_limit: float | None = None,
    policy_runs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    exact: bool = True,
    solver: str = "auto",
    seed: int = 0,
    max_evals: int | None = None,
    lagrangian: bool = True,
    opt_over: str = "nonpreemptive",
) -> Bracket:
    """Certified ``LB <= OPT <= UB`` within ``time_limit`` seconds (issue 15, item 1).

    Parameters
    ----------
    instance
        Any valid instance (arrivals allowed).
    time_limit
        Seconds for the whole call, counted from entry; ``None``: the heuristics stop after
        :data:`DEFAULT_HEURISTIC_SECONDS` (or ``max_evals`` evaluations per local search),
        the exact methods, where they fit, run to the end.
        Time for the final checker pass is reserved out of it; the first upper bound always
        completes, so a tiny limit may be overrun by that much.
    policy_runs
        Policy spec -> :class:`ratio.simulator.SimResult` already simulated on ``instance``;
        reused as upper bounds instead of simulating that policy again. A run in resume mode
        with evicted runs is not a non-preemptive schedule: with ``opt_over="resume"`` it is
        an upper candidate as it is (named ``policy:<spec>:resume``), otherwise it is
        ignored.
    progress
        Called with a one-line status now and then (e.g. :class:`TerminalProgress`).
    exact
        Run the exact methods where :func:`exact_fits` allows and time is left.
    solver
        Passed to :func:`offline_opt.solve` for the exact phase.
    seed
        Seed of the local search (the result is reproducible for a given evaluation count).
    max_evals
        Cap on each local search's evaluations (default: see :func:`upper_search`).
    lagrangian
        Run :func:`offline_opt.bounds.lagrangian_lower_bound` (over the best schedule's
        makespan) in the last 40 % of the time (at most 200 iterations).
    opt_over
        ``"nonpreemptive"`` (default): bracket ``OPT``. ``"resume"``: bracket the optimum over
        resume schedules; only the bounds of :data:`offline_opt.bounds.RESUME_VALID` give the
        lower end (the Lagrangian stage runs the resume form,
        :func:`offline_opt.bounds.lagrangian_resume_lower_bound`), the exact methods are
        skipped (``exact_skipped`` says so).

    Returns
    -------
    Bracket
        ``lower <= OPT <= upper``, the verified schedule, and which method gave each side.

    Raises
    ------
    InputError
        Bad time limit or ``opt_over``, or an instance too large for memory (one line, see
        :func:`check_memory`).

    Examples
    --------
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> b = bracket(inst, time_limit=5)
    >>> (b.lower, b.upper, b.optimal)
    (9, 9, True)
    >>> two = Instance.from_tuples(4, [(0, 1, 2), (0, 1, 2)])
    >>> b = bracket(two, time_limit=5, opt_over="resume")
    >>> (b.lower, b.upper, b.lower_method, b.opt_over)
    (5, 6, 'mean_busy_time', 'resume')
    """
    # long: the stages in order under one deadline; each is a helper, these lines merge bounds
    t0 = time.perf_counter()
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"time limit must be > 0 seconds, got {time_limit}")
    if opt_over not in OPT_OVER:
        raise InputError(f"opt_over must be one of {', '.join(OPT_OVER)}, got {opt_over!r}")
    resume = opt_over == "resume"
    check_memory(instance)
    if instance.n == 0:
        return Bracket(
            0, 0, "empty", "empty", Schedule(()), {}, {}, None, "", 0.0, opt_over=opt_over
        )
    np_runs, resume_runs = _split_runs(instance, policy_runs)
    sum_o = sum(r.output for r in instance.requests)
    reserve = sum_o * _CHECK_SECONDS_PER_ROUND + 0.02
    deadline = None
    if time_limit is not None:
        deadline = t0 + max(time_limit - reserve, time_limit * 0.5)

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    say("lower bounds")
    lbs = lower_bounds(instance, deadline=deadline)
    if resume:
        lbs = {k: v for k, v in lbs.items() if k in _bounds.RESUME_VALID}
    lower_method = max(lbs, key=lambda k: (lbs[k], k == "mean_busy_time"))
    lower = lbs[lower_method]
    say(f"OPT >= {lower} ({lower_method}); simulating policies")
    # the upper bound gets 60 % of the time, the Lagrangian lower bound the rest
    # without a limit the heuristics still stop (after DEFAULT_HEURISTIC_SECONDS)
    heur_deadline = deadline if deadline is not None else t0 + DEFAULT_HEURISTIC_SECONDS
    up_deadline = t0 + 0.6 * (heur_deadline - t0)
    up = upper_search(
        instance,
        deadline=up_deadline,
        seed=seed,
        max_evals=max_evals,
        runs=np_runs,
        progress=progress,
        lower=lower,
    )
    ubs = dict(up.candidates)
    upper, sched, upper_method = up.cost, up.schedule, up.method
    if resume:
        for name, (cost, rs) in resume_runs.items():
            ubs[name] = cost
            if cost < upper:
                upper, sched, upper_method = cost, rs, name
    if upper > lower and lagrangian:
        lag = _lagrangian_stage(instance, sched, lower, upper, heur_deadline, say, resume=resume)
        if lag is not None:
            name = "lagrangian_resume" if resume else "lagrangian"
            lbs[name] = lag
            if lag > lower:
                lower, lower_method = lag, name
    exact_status: str | None = None
    exact_solver: str | None = None
    skipped = ""
    if upper > lower and exact and resume:
        skipped = _RESUME_SKIP
    elif upper > lower and exact:
        skipped, res = _exact_stage(instance, solver, deadline, lower, upper, sched, say)
        if res is not None:
            exact_status = res.status
            name = res.solver
            exact_solver = name
            if res.lower_bound > lower:
                lbs[name] = res.lower_bound
                lower, lower_method = res.lower_bound, name
            if res.schedule is not None and res.cost is not None and res.cost < upper:
                ubs[name] = res.cost
                upper, sched, upper_method = res.cost, res.schedule, name
    say(f"OPT in [{lower}, {upper}]; checking the schedule")
    _certify(instance, sched, lower, upper, lower_method, upper_method)
    return Bracket(
        lower=lower,
        upper=upper,
        lower_method=lower_method,
        upper_method=upper_method,
        schedule=sched,
        lower_bounds=lbs,
        upper_bounds=ubs,
        exact_status=exact_status,
        exact_skipped=skipped,
        seconds=time.perf_counter() - t0,
        exact_solver=exact_solver,
        opt_over=opt_over,
    )


def _split_runs(
    instance: Instance, runs: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, tuple[int, Schedule]]]:
    """Offered policy runs -> (the non-preemptive ones, for :func:`upper_search`; the resume
    runs with evicted runs, as ``policy:<spec>:resume`` -> (cost, schedule)). Dropping a
    resume run's evicted runs would leave a final run that produces only the tokens left, so
    such a run is never read as a non-preemptive schedule."""
    if not runs:
        return runs, {}
    plain: dict[str, Any] = {}
    resumed: dict[str, tuple[int, Schedule]] = {}
    for spec, res in runs.items():
        sch = res.schedule
        if sch.evicted and sch.eviction == "resume":
            resumed[f"policy:{res.policy}:resume"] = (sch.total_latency(instance), sch)
        else:
            plain[spec] = res
    return plain, resumed


def _lagrangian_stage(
    instance: Instance,
    sched: Schedule,
    lower: int,
    upper: int,
    deadline: float,
    say: Callable[[str], None],
    *,
    resume: bool = False,
) -> int | None:
    """The Lagrangian lower bound over the upper schedule's horizon, or ``None`` when fewer
    than three of its iterations fit before ``deadline``. ``resume``: its form valid against
    resume schedules (:func:`offline_opt.bounds.lagrangian_resume_lower_bound`)."""
    horizon = max(sched.completions(instance))
    lag_left = deadline - time.perf_counter()
    if resume:
        # one iteration: about 15 ns per (token, round of the window) plus 10 us per token
        sum_o = sum(r.output for r in instance.requests)
        per_iter = sum_o * (horizon + 1) * 1.5e-8 + sum_o * 1e-5
    else:
        # one iteration costs about 5 ns per (request, round) plus 20 us per request
        per_iter = instance.n * (horizon + 1) * 5e-9 + instance.n * 2e-5
    if lag_left <= 3 * per_iter:
        return None
    say(f"OPT in [{lower}, {upper}]; Lagrangian lower bound")
    fn = _bounds.lagrangian_resume_lower_bound if resume else _bounds.lagrangian_lower_bound
    return fn(instance, horizon, ub=upper, deadline=deadline, iters=200)


def _exact_stage(
    instance: Instance,
    solver: str,
    deadline: float | None,
    lower: int,
    upper: int,
    sched: Schedule,
    say: Callable[[str], None],
) -> tuple[str, OptResult | None]:
    """The exact methods from the upper schedule for the time left: ``("", result)``, or
    ``(why they were skipped, None)``."""
    skipped = exact_fits(instance)
    exact_left = None if deadline is None else deadline - time.perf_counter()
    if not skipped and exact_left is not None and exact_left < 0.05:
        skipped = "no time left"
    if skipped:
        return skipped, None
    from offline_opt import solve
    from ratio.quiet import quiet_stdout

    say(f"OPT in [{lower}, {upper}]; exact methods ({solver})")
    with quiet_stdout():
        res = solve(instance, solver=solver, time_limit=exact_left, incumbent=(upper, sched))
    return "", res


def _certify(
    instance: Instance,
    sched: Schedule,
    lower: int,
    upper: int,
    lower_method: str,
    upper_method: str,
) -> None:
    """The checker accepts the upper schedule at its cost, and the bounds do not cross."""
    verdict = check(instance, sched)
    if not verdict or sched.total_latency(instance) != upper:
        raise AssertionError(
            f"upper-bound schedule ({upper_method}) failed the checker: {verdict.reason}"
        )
    if lower > upper:
        raise AssertionError(
            f"lower bound {lower} ({lower_method}) above a feasible cost "
            f"{upper} ({upper_method}): a bound is wrong"
        )


def opt_result(b: Bracket) -> OptResult:
    """The :class:`~offline_opt.OptResult` of a bracket (``kvratio opt``'s JSON fields):
    status ``optimal`` when the sides meet, else ``feasible``; ``solver`` is the exact method
    that ran, else ``"bracket"``."""
    bounds = {f"lower:{k}": v for k, v in b.lower_bounds.items()}
    return OptResult(
        schedule=b.schedule,
        cost=b.upper,
        lower_bound=b.lower,
        gap=b.gap,
        status=OptStatus.OPTIMAL if b.optimal else OptStatus.FEASIBLE,
        solver=b.exact_solver or "bracket",
        seconds=b.seconds,
        best_bound=b.lower,
        bounds=tuple(sorted(bounds.items())),
        lower_method=b.lower_method,
        upper_method=b.upper_method,
    )
