"""``kvratio compare``: several policies on one trace, each against one shared bracket on OPT
(issue 19, item 3).

Every policy is simulated on the same (sliced) trace and its schedule is verified by the
independent checker (:func:`ratio.check.check`). The bracket ``LB <= OPT <= UB`` is computed
**once** (:func:`offline_opt.bracket.bracket`, with every eviction-free policy run offered as an
upper bound) and shared: policy ``P`` with total latency ``L_P`` gets the certified interval
``[L_P / UB, L_P / LB]`` (exact when ``UB = LB``). The bracket's own schedule is re-checked by
``bracket`` before it is returned. When the trace is too large for the bracket's memory guard,
the results carry ``bracket: null`` and the reason.

With ``eviction="resume"`` (model §7) every policy runs in resume mode, each schedule is checked
in that mode, and the bracket is on the optimum over resume schedules (``opt_over: "resume"``
in the JSON; :func:`offline_opt.bracket.bracket`): its lower end uses only the bounds valid
against them, its upper end may be a policy's resume run. Extended-engine policies (pauses,
token budgets) are refused in either mode: their runs are not base-model schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ratio.errors import InputError
from ratio.model import Instance

__all__ = ["CompareResult", "compare", "plot_compare", "parse_policies"]


def parse_policies(text: str) -> list[str]:
    """``"svf,fcfs,svf:blocking=false"`` -> specs. A comma inside ``NAME:k=v,k2=v2`` belongs
    to the parameters, so a new policy starts only at an item without ``=``."""
    out: list[str] = []
    for item in (x.strip() for x in str(text).split(",")):
        if not item:
            continue
        if "=" in item and ":" not in item and out:
            out[-1] += "," + item
        else:
            out.append(item)
    if not out:
        raise InputError("--policies: give at least one policy, e.g. svf,fcfs,sjf")
    if len(set(out)) != len(out):
        raise InputError(f"--policies: a policy is named twice in {text!r}")
    return out


@dataclass(frozen=True)
class CompareResult:
    instance: Instance
    runs: tuple[Any, ...]  # SimResult per policy, in the order given
    bracket: Any | None  # offline_opt.bracket.Bracket
    bracket_skipped: str
    round_ms: float | None
    eviction: str = "restart"

    def results(self) -> list[dict[str, Any]]:
        from ratio.traceops import seconds_fields

        out = []
        for run in self.runs:
            c = run.costs
            lat = np.asarray(run.completions, dtype=np.int64) - self.instance.arrivals
            d: dict[str, Any] = {
                "policy": run.policy,
                "eviction": run.schedule.eviction,
                "total_latency": run.total_latency,
                "mean_latency": c.mean_latency,
                "p50_latency": c.p50_latency,
                "p99_latency": c.p99_latency,
                "makespan": c.makespan,
                "peak_memory": c.peak_memory,
                "evictions": c.evictions,
                "wasted_tokens": c.wasted_tokens,
            }
            if self.bracket is not None:
                lo, hi = self.bracket.ratio(run.total_latency)
                d.update(
                    {
                        "ratio_lower": str(lo),
                        "ratio_upper": str(hi),
                        "exact": self.bracket.optimal,
                    }
                )
            else:
                d.update({"ratio_lower": None, "ratio_upper": None, "exact": False})
            if self.round_ms is not None:
                d.update(seconds_fields(lat, c.makespan, self.instance.n, self.round_ms))
            out.append(d)
        return out

    def to_dict(self) -> dict[str, Any]:
        inst = self.instance
        return {
            "n": inst.n,
            "M": inst.capacity,
            "alpha": str(inst.alpha),
            "round_ms": self.round_ms,
            "eviction": self.eviction,
            "opt_over": None if self.bracket is None else self.bracket.opt_over,
            "opt_lower": None if self.bracket is None else self.bracket.lower,
            "opt_upper": None if self.bracket is None else self.bracket.upper,
            "bracket": None if self.bracket is None else self.bracket.to_dict(),
            "bracket_skipped": self.bracket_skipped or None,
            "results": self.results(),
        }


def _run_policies(
    instance: Instance,
    policies: Sequence[str],
    eviction: str,
    progress: Callable[[str], None] | None,
) -> list[Any]:
    """Simulate each base-model policy in ``eviction`` mode and verify its schedule with the
    independent checker."""
    from ratio.check import check
    from ratio.policies import REGISTRY, needs_extended_engine, parse_spec
    from ratio.simulator import simulate

    runs = []
    for spec in policies:
        name = parse_spec(spec)[0]
        if name not in REGISTRY:
            raise InputError(
                f"compare runs base-model policies (the ones OPT is defined for); unknown "
                f"{name!r} (valid: {', '.join(sorted(REGISTRY))})"
            )
        if needs_extended_engine(spec):
            raise InputError(
                f"{spec} runs on the extended engine (pauses, token budgets): its runs are not "
                "base-model schedules, which OPT's bracket is for (kvratio simulate runs it, "
                "with --eviction resume too)"
            )
        if progress is not None:
            progress(f"simulating {spec}")
        run = simulate(instance, spec, eviction=eviction)
        verdict = check(instance, run.schedule)
        if not verdict:
            raise AssertionError(
                f"{run.policy}: simulated schedule failed the checker: {verdict.reason}"
            )
        runs.append(run)
    return runs


def compare(
    instance: Instance,
    policies: Sequence[str],
    *,
    time_limit: float | None = 10.0,
    round_ms: float | None = None,
    certify: bool = True,
    progress: Callable[[str], None] | None = None,
    eviction: str = "restart",
) -> CompareResult:
    """Simulate and check every policy, then bracket OPT once (module docstring).

    ``eviction`` (model §7): ``"restart"`` (default) or ``"resume"``; with ``"resume"`` the
    bracket is on the optimum over resume schedules.
    """
    from ratio.model import check_eviction

    eviction = check_eviction(eviction)
    runs = _run_policies(instance, policies, eviction, progress)
    br = None
    skipped = ""
    if not certify:
        skipped = "not asked (--no-bracket)"
    else:
        from offline_opt.bracket import bracket
        from ratio.quiet import quiet_stdout

        resume = eviction == "resume"
        # a resume run with evicted runs is an upper candidate of the resume bracket only
        offered = {r.policy: r for r in runs if resume or not r.schedule.evicted}
        try:
            with quiet_stdout():
                br = bracket(
                    instance,
                    time_limit=time_limit,
                    policy_runs=offered,
                    progress=progress,
                    opt_over="resume" if resume else "nonpreemptive",
                )
        except InputError as e:  # the memory guard: too large to bracket here
            skipped = str(e)
            br = None
    return CompareResult(instance, tuple(runs), br, skipped, round_ms, eviction)


def table_text(res: CompareResult, trace: str) -> str:
    from ratio.cli import table

    inst = res.instance
    rows = []
    secs = res.round_ms is not None
    for d in res.results():
        if d["ratio_lower"] is None:
            ratio = "-"
        elif d["exact"]:
            ratio = f"{float(Fraction(d['ratio_lower'])):.4f}"
        else:
            ratio = (
                f"[{float(Fraction(d['ratio_lower'])):.4f}, "
                f"{float(Fraction(d['ratio_upper'])):.4f}]"
            )
        row: list[Any] = [
            d["policy"],
            d["total_latency"],
            f"{d['mean_latency']:.1f}",
            f"{d['p99_latency']:.1f}",
            d["makespan"],
        ]
        if secs:
            row += [
                f"{d['mean_latency_s']:.3f}",
                f"{d['p99_latency_s']:.3f}",
                f"{d['makespan_s']:.2f}",
                f"{d['throughput_rps']:.3f}",
            ]
        row += [f"{d['peak_memory'] / inst.capacity:.0%}", d["evictions"], ratio]
        rows.append(row)
    header = ["policy", "total lat", "mean", "p99", "makespan"]
    if secs:
        header += ["mean s", "p99 s", "makespan s", "req/s"]
    header += ["peak/M", "evictions", "ratio vs OPT"]
    head = (
        f"{len(res.runs)} policies on {trace} (n = {inst.n}, M = {inst.capacity}, "
        f"alpha = {inst.alpha} = {float(inst.alpha):.4f}); latencies in rounds"
        + (f", seconds at {res.round_ms:g} ms per round" if secs else "")
        + ("; eviction = resume" if res.eviction == "resume" else "")
    )
    lines = [head, table(rows, header)]
    if res.bracket is not None:
        b = res.bracket
        opt = "OPT over resume schedules" if b.opt_over == "resume" else "OPT"
        lines.append(
            f"{opt} in [{b.lower}, {b.upper}] (lower: {b.lower_method}; upper: "
            f"{b.upper_method}; {b.seconds:.1f} s), one bracket shared by every policy; "
            "schedules verified by ratio.check"
            + (" in resume mode" if res.eviction == "resume" else "")
        )
    else:
        lines.append(f"no bracket on OPT: {res.bracket_skipped}")
    return "\n".join(lines)


def plot_compare(res: CompareResult, path: str | Path) -> Path:
    """Latency CDF (left) and KV memory over time (right), one line per policy."""
    from ratio.plot import _plt, save_figure

    plt = _plt()
    inst = res.instance
    k = None if res.round_ms is None else res.round_ms / 1000.0
    unit = "s" if k is not None else "rounds"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for run in res.runs:
        lat = np.sort(np.asarray(run.completions, dtype=float) - inst.arrivals)
        if k is not None:
            lat = lat * k
        y = np.arange(1, lat.size + 1) / lat.size
        a1.step(lat, y, where="post", lw=1.2, label=run.policy)
        mem = run.memory
        x = np.arange(mem.size, dtype=float)
        if k is not None:
            x = x * k
        a2.step(x, mem, where="post", lw=1.0, label=run.policy)
    a1.set_xlabel(f"latency ({unit})")
    a1.set_ylabel("fraction of requests")
    a1.set_title("latency CDF")
    a1.legend(fontsize=8, loc="lower right")
    a2.axhline(inst.capacity, color="crimson", ls="--", lw=1, label="M")
    a2.set_xlabel(f"time ({unit})")
    a2.set_ylabel("KV tokens held")
    a2.set_ylim(0, inst.capacity * 1.08)
    a2.set_title("memory over time")
    a2.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"n = {inst.n}, M = {inst.capacity}, alpha = {float(inst.alpha):.3f}")
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
