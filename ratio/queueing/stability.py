"""The stability harness (``docs/queueing.md`` Q6).

A stability experiment runs a policy on stationary arrivals (Poisson or deterministic, rate
``lambda``) for a horizon, records the backlog (requests and tokens of work in the system)
after every step, and fits its slope over the second half of the horizon. The slope is the
mean of the least-squares slopes of ``blocks`` consecutive windows and its standard error their
standard deviation over ``sqrt(blocks)`` (batch means, robust to the backlog's autocorrelation).
Verdict: ``stable`` if the slope is within two standard errors of 0 and the backlog stays below
the stated bound, ``unstable`` if it is positive beyond two standard errors, else
``inconclusive``.

Boundaries (requests per time unit), stated with each result:

* token boundary (Dai, Deng, Li, Peng, arXiv 2504.07347, Theorem 2): with token budget
  ``b``, ``lambda * E[W] < b / tau(b)``, ``W`` the tokens of work of a request (``s + o``;
  ``s + o - 1`` when the first output comes with the prefill) or of a job (sum over its calls);
* memory boundary (Nie, Si, Zhou, arXiv 2605.04595): with capacity ``M``,
  ``lambda * E[V] < M / tau(N)``, ``V = s*o + o*(o+1)/2`` the volume and ``N = M E[o] / E[V]``
  the mean number of requests that fill the memory (``lambda* = M / E[V]`` in unit rounds);
* with both, the smaller.

Rates run in parallel: local processes, or Ray when asked (as in the adversary search).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ratio.engine import run_engine
from ratio.errors import InputError
from ratio.queueing.policy import get_engine_policy
from ratio.queueing.tau import parse_tau
from ratio.queueing.views import EngineSpec, QRequest

__all__ = [
    "Workload",
    "RateResult",
    "StabilityReport",
    "boundary_of",
    "make_arrivals",
    "fit_slope",
    "run_rate",
    "run_stability",
    "plot_report",
]


@dataclass(frozen=True)
class Workload:
    """What arrives: request types ``(prompt, output, weight)``, or job templates
    ``(networkx DiGraph, weight)`` (``queueing.md`` Q4); each arrival draws one by weight."""

    types: tuple[tuple[int, int, float], ...] = ()
    templates: tuple[tuple[Any, float], ...] = ()

    def __post_init__(self) -> None:
        if bool(self.types) == bool(self.templates):
            raise InputError("a workload needs request types or job templates (one of them)")
        for s, o, w in self.types:
            if s < 1 or o < 1 or w <= 0:
                raise InputError(f"workload type ({s}, {o}, {w}): lengths >= 1 and weight > 0")
        for _, w in self.templates:
            if w <= 0:
                raise InputError("job template weights must be positive")

    def _weights(self) -> np.ndarray:
        w = np.array([t[-1] for t in (self.types or self.templates)], dtype=float)
        return w / w.sum()

    def mean(self, f: Any) -> Fraction:
        """Exact mean of ``f(s, o)`` per arrival (summed over a job's calls)."""
        items: list[tuple[Fraction, Fraction]] = []
        for s, o, w in self.types:
            items.append((Fraction(w).limit_denominator(10**9), Fraction(f(s, o))))
        for g, w in self.templates:
            tot = sum(f(int(d["prompt"]), int(d["output"])) for _, d in g.nodes(data=True))
            items.append((Fraction(w).limit_denominator(10**9), Fraction(tot)))
        return sum((w * v for w, v in items), Fraction(0)) / sum(w for w, _ in items)

    def requests(self, arrivals: Sequence[Any], rng: np.random.Generator) -> tuple[QRequest, ...]:
        k = rng.choice(len(self.types or self.templates), size=len(arrivals), p=self._weights())
        if self.templates:
            from ratio.queueing.jobs import job_stream

            out: list[QRequest] = []
            for n, (a, j) in enumerate(zip(arrivals, k, strict=False)):
                part = job_stream(self.templates[j][0], [a], prefix=f"j{n}.")
                base = len(out)
                out.extend(r.moved(base, f"j{n}") for r in part)
            return tuple(out)
        return tuple(
            QRequest(a, self.types[j][0], self.types[j][1], f"r{n}")
            for n, (a, j) in enumerate(zip(arrivals, k, strict=False))
        )


def boundary_of(
    workload: Workload,
    *,
    tau: Any = None,
    token_budget: int | None = None,
    capacity: int | None = None,
    first_token: str = "separate",
) -> tuple[Fraction, str]:
    """The stated boundary (requests or jobs per time unit) and its formula (Q6)."""
    model = parse_tau(tau)
    free = 1 if first_token == "with_prefill" else 0
    cands: list[tuple[Fraction, str]] = []
    if token_budget is not None:
        work = workload.mean(lambda s, o: s + o - free)
        rate = Fraction(token_budget) / Fraction(model(token_budget)) / work
        cands.append(
            (
                rate,
                f"lambda * E[W] < b_max / tau(b_max) with b_max = {token_budget}, "
                f"tau(b_max) = {float(model(token_budget)):g}, E[W] = {float(work):g} tokens",
            )
        )
    if capacity is not None:
        ev = workload.mean(lambda s, o: s * o + o * (o + 1) // 2)
        eo = workload.mean(lambda s, o: o)
        n = max(1, math.floor(capacity * eo / ev))
        t = Fraction(model(n))
        rate = Fraction(capacity) / (t * ev)
        cands.append(
            (
                rate,
                f"lambda * E[V] < M / tau(N) with M = {capacity}, E[V] = {float(ev):g}, "
                f"N = M E[o] / E[V] = {n}, tau(N) = {float(t):g}",
            )
        )
    if not cands:
        raise InputError(
            "no boundary can be stated: give --token-budget (Dai et al.'s b_max / tau(b_max)) "
            "or --capacity (memory boundary M / E[V])"
        )
    best = min(cands, key=lambda c: c[0])
    formula = best[1] if len(cands) == 1 else "min of: " + "; ".join(c[1] for c in cands)
    return best[0], formula


def make_arrivals(
    rate: Fraction | float, horizon: Any, seed: int, kind: str = "poisson"
) -> list[Any]:
    """Arrival times in ``[0, horizon)``: a Poisson process (floats) or one every ``1/rate``
    (exact fractions when the rate is one)."""
    if rate <= 0:
        raise InputError(f"arrival rate must be positive, got {rate}")
    if kind == "deterministic":
        step = 1 / Fraction(rate) if isinstance(rate, (Fraction, int)) else 1 / rate
        out: list[Any] = []
        t: Any = 0
        while t < horizon:
            out.append(t)
            t = t + step
        return out
    if kind != "poisson":
        raise InputError(f"arrivals must be poisson or deterministic, got {kind!r}")
    rng = np.random.default_rng(seed)
    lam = float(rate)
    n = rng.poisson(lam * float(horizon))
    return sorted(float(x) for x in rng.uniform(0.0, float(horizon), size=n))


def fit_slope(
    times: np.ndarray, values: np.ndarray, start: float, end: float, blocks: int = 10
) -> tuple[float, float]:
    """Slope of ``values`` over ``[start, end]`` and its standard error by batch means.

    The window is cut into ``blocks`` equal spans; each span's slope is its increment over its
    length (the backlog at a time is the value recorded at the last step at or before it), so
    the slope is the window's net increment over its length, and the SE the standard deviation
    of the span slopes over ``sqrt(blocks)``: right for a random walk with drift (an unstable
    queue, whose increments are independent) and conservative for a stationary backlog.
    """
    edges = np.linspace(start, end, blocks + 1)
    idx = np.searchsorted(times, edges, side="right") - 1
    y = np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0).astype(float)
    span = (end - start) / blocks
    slopes = np.diff(y) / span
    return float(slopes.mean()), float(slopes.std(ddof=1) / math.sqrt(blocks))


def verdict_of(slope: float, se: float, max_backlog: float, bound: float) -> str:
    """``queueing.md`` Q6."""
    tol = 1e-9 * max(1.0, abs(slope))
    if slope > 2 * se + tol:
        return "unstable"
    if abs(slope) <= 2 * se + tol and max_backlog <= bound:
        return "stable"
    return "inconclusive"


@dataclass(frozen=True)
class RateResult:
    """One rate of a sweep (``interfaces.md``: ``kvratio stability`` results)."""

    rate: float
    load: float
    slope: float
    slope_se: float
    verdict: str
    throughput: float
    evictions: int
    wasted_tokens: int = 0
    completed: int = 0
    arrived: int = 0
    final_backlog: int = 0
    max_backlog: int = 0
    #: latency (completion - arrival) of the requests completed within the horizon, in the
    #: time unit (issue 19: seconds come from these); 0 when none completed
    mean_latency: float = 0.0
    p50_latency: float = 0.0
    p99_latency: float = 0.0
    times: list[float] = field(default_factory=list, repr=False)
    backlog: list[float] = field(default_factory=list, repr=False)

    def to_dict(self, series: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not series:
            d.pop("times")
            d.pop("backlog")
        return d


@dataclass(frozen=True)
class StabilityReport:
    """A sweep over rates with its boundary (``interfaces.md``)."""

    policy: str
    boundary: float
    boundary_formula: str
    backlog_bound: float
    horizon: float
    seed: int
    tau: str
    results: tuple[RateResult, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, series: bool = False) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "boundary": self.boundary,
            "boundary_formula": self.boundary_formula,
            "backlog_bound": self.backlog_bound,
            "horizon": self.horizon,
            "seed": self.seed,
            "tau": self.tau,
            "params": self.params,
            "results": [r.to_dict(series) for r in self.results],
        }


def run_rate(cfg: dict[str, Any]) -> RateResult:
    """Run one rate (a picklable config, for worker processes)."""
    wl: Workload = cfg["workload"]
    rate = cfg["rate"]
    horizon = cfg["horizon"]
    rng = np.random.default_rng(cfg["seed"])
    arr = make_arrivals(rate, horizon, int(rng.integers(2**31)), cfg["arrivals"])
    reqs = wl.requests(arr, rng)
    pol = get_engine_policy(cfg["policy"])
    spec = EngineSpec(
        cfg["capacity"], cfg["token_budget"], cfg["max_requests"], parse_tau(cfg["tau"])
    )
    res = run_engine(
        reqs,
        pol,
        engines=[spec] * cfg.get("engines", 1),
        prefill=cfg["prefill"],
        first_token=cfg["first_token"],
        until=horizon,
        record_backlog=True,
    )
    bl = res.backlog
    assert bl is not None
    times, tokens = bl[:, 0], bl[:, 2]
    h = float(horizon)
    slope, se = fit_slope(times, tokens, h / 2, h)
    second = tokens[times >= h / 2]
    max_bl = float(second.max()) if second.size else 0.0
    verdict = verdict_of(slope, se, max_bl, cfg["bound"])
    keep: Any = (
        np.unique(np.linspace(0, len(times) - 1, min(len(times), 400)).astype(int))
        if len(times)
        else []
    )
    lat = np.array(
        [
            float(c - r.arrival)
            for c, r in zip(res.completion_times, res.requests, strict=False)
            if c is not None
        ],
        dtype=float,
    )
    return RateResult(
        mean_latency=float(lat.mean()) if lat.size else 0.0,
        p50_latency=float(np.percentile(lat, 50)) if lat.size else 0.0,
        p99_latency=float(np.percentile(lat, 99)) if lat.size else 0.0,
        rate=float(rate),
        load=float(cfg["load"]),
        slope=slope,
        slope_se=se,
        verdict=verdict,
        throughput=res.tokens_processed / h,
        evictions=res.evictions,
        wasted_tokens=res.wasted_tokens,
        completed=sum(1 for c in res.completions if c >= 0),
        arrived=len(reqs),
        final_backlog=int(tokens[-1]) if len(tokens) else 0,
        max_backlog=int(max_bl),
        times=[float(times[k]) for k in keep],
        backlog=[float(tokens[k]) for k in keep],
    )


def run_stability(
    policy: str,
    workload: Workload,
    *,
    rates: Sequence[float] | None = None,
    loads: Sequence[float] | None = None,
    tau: Any = None,
    token_budget: int | None = None,
    max_requests: int | None = None,
    capacity: int | None = None,
    horizon: float,
    seed: int = 0,
    arrivals: str = "poisson",
    prefill: str | None = None,
    first_token: str | None = None,
    engines: int = 1,
    bound: float | None = None,
    workers: int = 1,
    use_ray: bool = False,
) -> StabilityReport:
    """Sweep rates (or loads relative to the stated boundary) for one policy (Q6).

    The seed of rate ``k`` is derived from ``(seed, k)``, so a sweep is reproducible and its
    rates independent. ``bound`` (backlog tokens) defaults to 10 % of the work that arrives over
    the horizon at the boundary rate. ``workers`` processes (or Ray, ``use_ray``: a running
    cluster, else a local instance) run the rates through :func:`ratio.parallel.parallel_map`;
    neither changes the result.
    """
    # long: the per-rate configurations and the report repeat its 16 parameters by name
    pol = get_engine_policy(policy)
    ft = first_token or pol.default_first_token
    pf = prefill or pol.default_prefill
    model = parse_tau(tau)
    if horizon is None or float(horizon) <= 0:
        raise InputError("horizon must be positive")
    if (rates is None) == (loads is None):
        raise InputError("give exactly one of rates or loads")
    b, formula = boundary_of(
        workload, tau=model, token_budget=token_budget, capacity=capacity, first_token=ft
    )
    free = 1 if ft == "with_prefill" else 0
    work = workload.mean(lambda s, o: s + o - free)
    if engines > 1:
        b *= engines
        formula = f"{engines} engines x ({formula})"
    if bound is None:
        bound = 0.1 * float(horizon) * float(b) * float(work)
    pairs = _rate_load_pairs(b, rates, loads, horizon)
    # Each rate's arrivals depend on (seed, rate) only, not on the other rates of the sweep.
    child = [np.random.SeedSequence([seed, int(round(float(rate) * 1e9))]) for rate, _ in pairs]
    cfgs = [
        {
            "workload": workload,
            "rate": rate if arrivals == "deterministic" else float(rate),
            "load": load,
            "horizon": horizon,
            "seed": int(c.generate_state(1)[0]),
            "arrivals": arrivals,
            "policy": pol.spec,
            "capacity": capacity,
            "token_budget": token_budget,
            "max_requests": max_requests,
            "tau": model,
            "prefill": pf,
            "first_token": ft,
            "bound": bound,
            "engines": engines,
        }
        for (rate, load), c in zip(pairs, child, strict=False)
    ]
    from ratio.parallel import parallel_map

    results = parallel_map(run_rate, cfgs, workers=workers, ray="auto" if use_ray else None)
    return StabilityReport(
        pol.spec,
        float(b),
        formula,
        float(bound),
        float(horizon),
        seed,
        model.spec,
        tuple(results),
        {
            "token_budget": token_budget,
            "max_requests": max_requests,
            "capacity": capacity,
            "arrivals": arrivals,
            "prefill": pf,
            "first_token": ft,
            "engines": engines,
            "work_per_arrival": float(work),
        },
    )


def _rate_load_pairs(
    b: Any, rates: Sequence[float] | None, loads: Sequence[float] | None, horizon: float
) -> list[tuple[Any, Any]]:
    """``(rate, load)`` per point of the sweep, from loads (fractions of the boundary ``b``)
    or rates; each positive and with at most ``MAX_ARRIVALS`` expected arrivals."""
    from ratio.validate import MAX_ARRIVALS

    pairs: list[tuple[Any, Any]] = []
    if loads is not None:
        for ld in loads:
            if ld <= 0:
                raise InputError(f"loads must be positive, got {ld}")
            frac = Fraction(str(ld))
            pairs.append((b * frac, frac))
    else:
        assert rates is not None
        for r in rates:
            if r <= 0:
                raise InputError(f"rates must be positive, got {r}")
            pairs.append((Fraction(str(r)), Fraction(str(r)) / b))
    for rate, _ in pairs:
        expected = float(rate) * float(horizon)
        if not expected <= MAX_ARRIVALS:
            raise InputError(
                f"rate {float(rate):g} x horizon {float(horizon):g} = {expected:.3g} arrivals, "
                f"above the limit {MAX_ARRIVALS:.0e} (ratio.validate.MAX_ARRIVALS); "
                "shorten --horizon"
            )
    return pairs


def plot_report(
    report: StabilityReport,
    path: str,
    extra: Sequence[StabilityReport] = (),
    seconds_per_unit: float | None = None,
) -> str:
    """Backlog against time per rate, and slope (+- 2 SE) against load with the boundary and
    the fluid prediction ``max(0, lambda E[W] - b_max / tau(b_max))`` drawn."""
    # long: one figure of two panels, each with its axes, boundary markers and legend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reports = [report, *extra]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    cmap = plt.get_cmap("viridis")
    for k, rr in enumerate(report.results):
        ax1.plot(
            rr.times,
            rr.backlog,
            color=cmap(k / max(1, len(report.results) - 1)),
            label=f"load {rr.load:.2f} ({rr.verdict})",
            lw=1,
        )
    ax1.set_xlabel("time")
    if seconds_per_unit is not None:
        spu = seconds_per_unit
        sec = ax1.secondary_xaxis("top", functions=(lambda x: x * spu, lambda x: x / spu))
        sec.set_xlabel("seconds")
    ax1.set_ylabel("backlog (tokens of work)")
    ax1.set_title(f"{report.policy}: backlog over time")
    ax1.legend(fontsize=7)
    for r in reports:
        loads = [x.load for x in r.results]
        ax2.errorbar(
            loads,
            [x.slope for x in r.results],
            yerr=[2 * x.slope_se for x in r.results],
            marker="o",
            ms=3,
            capsize=2,
            label=r.policy,
        )
    ax2.axvline(1.0, color="k", ls="--", lw=1, label="boundary")
    if report.params.get("token_budget") and not report.params.get("capacity"):
        w = report.params["work_per_arrival"]
        xs = np.linspace(
            min(x.load for x in report.results), max(x.load for x in report.results), 50
        )
        ax2.plot(
            xs,
            np.maximum(0, (xs - 1) * report.boundary * w),
            color="grey",
            lw=1,
            label="fluid: max(0, lambda E[W] - b/tau(b))",
        )
    ax2.set_xlabel("load = rate / boundary")
    ax2.set_ylabel("backlog slope (tokens per time unit)")
    ax2.set_title("slope against load (error bars: 2 SE)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    from ratio.plot import save_figure

    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path
