"""Pictures of a run: memory over time against ``M``, and a Gantt chart of the runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ratio.simulator import SimResult

__all__ = ["plot_memory", "plot_gantt", "plot_run", "save_figure"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_memory(res: SimResult, ax: Any = None) -> Any:
    """Tokens held per round, with the capacity ``M`` drawn; returns the axes."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    mem = res.memory
    ax.step(range(len(mem)), mem, where="post", lw=1.2, label=f"{res.policy} ({res.convention})")
    ax.axhline(res.instance.capacity, color="crimson", ls="--", lw=1, label="M")
    ax.set_xlabel("round")
    ax.set_ylabel("KV tokens held")
    ax.set_ylim(0, res.instance.capacity * 1.08)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_gantt(res: SimResult, ax: Any = None, max_requests: int = 200) -> Any:
    """One bar per run (evicted runs hatched), one row per request; returns the axes."""
    plt = _plt()
    inst = res.instance
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    n = min(inst.n, max_requests)
    cmap = plt.get_cmap("viridis")
    vmax = max((r.volume for r in inst.requests[:n]), default=1)
    for i in range(n):
        r = inst.requests[i]
        ax.broken_barh(
            [(res.starts[i], r.output)], (i - 0.4, 0.8), color=cmap(r.volume / vmax), lw=0
        )
        ax.plot([r.arrival], [i], "k|", ms=6)
    for run in res.schedule.evicted:
        if run.request < n:
            ax.broken_barh(
                [(run.start, run.rounds)],
                (run.request - 0.4, 0.8),
                facecolor="none",
                edgecolor="crimson",
                hatch="///",
            )
    ax.set_xlabel("round")
    ax.set_ylabel("request (colour = volume; | = arrival)")
    ax.set_ylim(-1, n)
    ax.invert_yaxis()
    return ax


def plot_run(res: SimResult, path: str | Path) -> Path:
    """Memory over time and the Gantt chart in one PNG."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(
        2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]}
    )
    plot_memory(res, a1)
    plot_gantt(res, a2)
    a1.set_title(
        f"{res.policy}: total latency {res.total_latency}, n = {res.instance.n}, "
        f"M = {res.instance.capacity}, alpha = {res.instance.alpha}"
    )
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically (:mod:`ratio.atomic`): the whole file or none, and
    an unwritable path is one line naming it. The format follows the extension."""
    from ratio.atomic import write_with
    from ratio.validate import check_plot_path

    fmt = check_plot_path(path, str(path))
    return write_with(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
