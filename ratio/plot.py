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


def _seconds_axis(ax: Any, round_ms: float | None) -> None:
    """A second x axis in seconds (``round * round_ms / 1000``) on top of the round axis."""
    if round_ms is None:
        return
    k = round_ms / 1000.0
    sec = ax.secondary_xaxis("top", functions=(lambda x: x * k, lambda x: x / k))
    sec.set_xlabel(f"seconds ({round_ms:g} ms per round)")


def plot_memory(res: SimResult, ax: Any = None, round_ms: float | None = None) -> Any:
    """Tokens held per round, with the capacity ``M`` drawn; returns the axes. With
    ``round_ms`` a second x axis gives seconds."""
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
    _seconds_axis(ax, round_ms)
    return ax


def plot_gantt(
    res: SimResult, ax: Any = None, max_requests: int | None = None, round_ms: float | None = None
) -> Any:
    """One bar per run (evicted runs hatched), one row per request, **every** request unless
    ``max_requests`` is given (issue 19: it used to stop at 200); returns the axes. The bars
    are drawn in one call each, so thousands of requests stay fast."""
    import numpy as np

    plt = _plt()
    inst = res.instance
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    n = inst.n if max_requests is None else min(inst.n, max_requests)
    cmap = plt.get_cmap("viridis")
    vols = np.array([r.volume for r in inst.requests[:n]], dtype=float)
    vmax = max(float(vols.max()) if n else 1.0, 1.0)
    rows = np.arange(n)
    ax.barh(
        rows,
        [r.output for r in inst.requests[:n]],
        left=list(res.starts[:n]),
        height=0.8,
        color=cmap(vols / vmax),
        lw=0,
    )
    ax.plot([r.arrival for r in inst.requests[:n]], rows, "k|", ms=6 if n <= 200 else 2)
    ev = [run for run in res.schedule.evicted if run.request < n]
    if ev:
        ax.barh(
            [run.request for run in ev],
            [run.rounds for run in ev],
            left=[run.start for run in ev],
            height=0.8,
            facecolor="none",
            edgecolor="crimson",
            hatch="///",
        )
    ax.set_xlabel("round")
    ax.set_ylabel(f"request ({n} of {inst.n}; colour = volume; | = arrival)")
    ax.set_ylim(-1, n)
    ax.invert_yaxis()
    return ax


def plot_run(res: SimResult, path: str | Path, round_ms: float | None = None) -> Path:
    """Memory over time and the Gantt chart (every request) in one PNG; with ``round_ms`` the
    time axis also reads in seconds."""
    plt = _plt()
    n = res.instance.n
    fig, (a1, a2) = plt.subplots(
        2,
        1,
        figsize=(9, 6.5 if n <= 200 else min(6.5 + n / 150, 30)),
        sharex=True,
        gridspec_kw={"height_ratios": [1, 2 if n <= 200 else 4]},
    )
    plot_memory(res, a1, round_ms=round_ms)
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
