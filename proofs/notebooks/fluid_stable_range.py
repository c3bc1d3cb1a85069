# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Stable range: fluid control against greedy admission (issue 9, docs/fluid.md)
#
# Ao, Luo, Simchi-Levi, Wang (arXiv 2504.11320) mix: ten types, prompt 60, outputs
# 50, 100, ..., 500, rates proportional to 230, 110, 80, 70, 60, 40, 30, 20, 10, 10. Scaled here
# by 1/10 (prompt 6, outputs 5, ..., 50) with M = 20000 tokens, the smallest capacity at which
# WAIT's per-type thresholds keep the mix (the rarest types get n_j = 1).
# Poisson arrivals at a fraction `load` of the fluid boundary (Ao's equilibrium LP,
# `ao_equilibrium_lp`, 68.6 requests per round here), one unit-time engine, a fixed horizon;
# throughput = completions per round over the second half, verdict as `queueing.md` Q6.
#
# Nested WAIT does not know output lengths; it is run twice: learning their distribution from
# what it sees (`nested_wait`, Kaplan-Meier), and given the distribution (`nested_wait (dist.)`,
# as in the paper). Its own boundary is lower than Ao's: requests pause at the segment
# boundaries holding memory (`nested_boundary_lp`, drawn as vertical lines).
#
# The full mode also runs the issue's own, unscaled mix (prompt 60, outputs 50, ..., 500,
# M = 2e6, boundary 70.3) at 0.90, 0.95, 0.97, 0.99 for wait, nested_wait, greedy_evict and
# vllm_fcfs, 2000 rounds, seed 1 (about 80-120 s a run here), drawn in
# `fluid_stable_range_unscaled.png`, and the same mix started from a backlog of 20000 requests
# (`fluid_stable_range_backlog.png`). `KVRATIO_STABLE_RANGE=scaled`, `unscaled` or `backlog`
# runs one part only (full mode; default all three).
#
# `KVRATIO_QUICK=1`: the scaled mix only, two loads and 600 rounds; figures go to
# `$KVRATIO_FIGURES` (default `docs/figures`).

# %%
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.fluid import boundary, stable_range_point, ten_types
from ratio.policies.extended import EnginePolicy
from ratio.policies.nested_wait import NestedWait
from ratio.queueing.fluid import nested_boundary_lp

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
PART = "scaled" if QUICK else os.environ.get("KVRATIO_STABLE_RANGE", "all")
assert PART in ("scaled", "unscaled", "backlog", "all"), PART
ROOT = Path(ratio.__file__).resolve().parents[1]
FIGDIR = Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
FIG = FIGDIR / "fluid_stable_range.png"
TYPES = ten_types(prompt=6, step=5)


def policies(types: list) -> dict[str, Callable[[], str | EnginePolicy]]:
    """The five policies compared; ``nested_wait (dist.)`` is given the mix's output lengths."""
    outs = {t.output: t.rate for t in types}
    return {
        "wait": lambda: "wait",
        "nested_wait": lambda: "nested_wait",
        "nested_wait (dist.)": lambda: NestedWait().with_outputs(outs),
        "greedy_evict": lambda: "greedy_evict",
        "vllm_fcfs": lambda: "vllm_fcfs",
    }


POLICIES = policies(TYPES)
LOADS = (0.87, 0.99) if QUICK else (0.8, 0.87, 0.9, 0.95, 0.97, 0.99, 1.0)
AO = boundary(TYPES, 20000)
NESTED = {r: nested_boundary_lp(TYPES, 20000, reserve=r).optimum / AO for r in (1.0, 0.5)}
print(
    f"Ao's boundary {AO:.3f}; nested boundary / Ao: reserve 1 {NESTED[1.0]:.3f}, "
    f"reserve 1/2 {NESTED[0.5]:.3f}"
)
HORIZON = 600 if QUICK else 2000
SEED = 1


# %%
def table(rows: list, loads: tuple, names: list[str], ao: float) -> None:
    """Markdown table: throughput / evictions / verdict per load and policy."""
    print("| load | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for load in loads:
        cells = []
        for p in names:
            pt = next(r for q, r in rows if r.load == load and q == p)
            cells.append(f"{pt.throughput:.1f} / {pt.evictions} / {pt.verdict}")
        print(f"| {load:.2f} ({ao * load:.1f}) | " + " | ".join(cells) + " |")


def draw(rows: list, loads: tuple, names: list[str], nested: dict, title: str, path: Path) -> None:
    """Throughput / boundary and evictions per request against load; nested boundaries dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for p in names:
        pts = [r for q, r in rows if q == p]
        axes[0].plot([r.load for r in pts], [r.throughput / r.boundary for r in pts], "o-", label=p)
        axes[1].plot([r.load for r in pts], [r.evictions / r.n for r in pts], "o-", label=p)
    axes[0].plot(loads, loads, "k:", lw=1, label="arrivals")
    for r, ls in ((1.0, "--"), (0.5, "-.")):
        for ax in axes:
            ax.axvline(nested[r], color="grey", ls=ls, lw=1)
        axes[0].text(
            nested[r], min(loads), f" nested, reserve {r:g}", rotation=90, fontsize=7, va="bottom"
        )
    axes[0].set_ylabel("throughput / fluid boundary")
    axes[1].set_ylabel("evictions per request")
    axes[1].set_yscale("symlog", linthresh=1e-3)
    for ax in axes:
        ax.set_xlabel("load (fraction of the fluid boundary)")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print("wrote", path)


def sweep(
    policies: dict,
    loads: tuple,
    types: list | None = None,
    capacity: int = 20000,
    burst: int = 0,
) -> list:
    """``stable_range_point`` for every load and policy (one run at a time)."""
    rows = []
    for load in loads:
        for p, make in policies.items():
            pt = stable_range_point(
                make(),
                load,
                horizon=HORIZON,
                seed=SEED,
                types=types,
                capacity=capacity,
                burst=burst,
            )
            rows.append((p, pt))
            print(
                f"load {load:.2f} {p:20s} rate {pt.rate:6.2f} throughput {pt.throughput:6.2f}"
                f" evictions {pt.evictions:7d} slope {pt.slope:6.2f} +- {pt.slope_se:4.2f}"
                f" {pt.verdict}",
                flush=True,
            )
    return rows


# %%
if PART in ("scaled", "all"):
    rows = sweep(POLICIES, LOADS)
    table(rows, LOADS, list(POLICIES), AO)
    draw(
        rows,
        LOADS,
        list(POLICIES),
        NESTED,
        f"ten-type mix / 10, M = 20000, {HORIZON} rounds, seed {SEED}",
        FIG,
    )

# %% [markdown]
# ## The unscaled mix (full mode)
# Prompt 60, outputs 50, ..., 500, M = 2e6 (WAIT's thresholds are the same integers as on the
# scaled mix; about ten times as many requests are in the system, so relative memory
# fluctuations are about three times smaller).

# %%
TYPES_U = ten_types()
CAP_U = 2_000_000
if PART in ("unscaled", "all"):
    CAP_U = 2_000_000
    AO_U = boundary(TYPES_U, CAP_U)
    NESTED_U = {r: nested_boundary_lp(TYPES_U, CAP_U, reserve=r).optimum / AO_U for r in (1.0, 0.5)}
    LOADS_U = (0.9, 0.95, 0.97, 0.99)
    POLICIES_U: dict[str, Callable[[], str | EnginePolicy]] = {
        "wait": lambda: "wait",
        "nested_wait": lambda: "nested_wait",
        "greedy_evict": lambda: "greedy_evict",
        "vllm_fcfs": lambda: "vllm_fcfs",
    }
    rows_u = sweep(POLICIES_U, LOADS_U, types=TYPES_U, capacity=CAP_U)
    table(rows_u, LOADS_U, list(POLICIES_U), AO_U)
    draw(
        rows_u,
        LOADS_U,
        list(POLICIES_U),
        NESTED_U,
        f"ten-type mix (prompt 60, outputs 50..500), M = 2e6, {HORIZON} rounds, seed {SEED}",
        FIGDIR / "fluid_stable_range_unscaled.png",
    )

# %% [markdown]
# ## Started from a backlog (full mode)
# The same unscaled mix, with 20000 requests (types drawn by the rates) waiting at time 0 besides
# the Poisson stream: about twice the 11094 requests in service at the boundary (Little's law).
# Stability is a property of every starting state; from empty, greedy admission at this scale
# rarely fills the memory within 2000 rounds, from a backlog it does at once. Drawn: requests in
# the system against time, one panel per load.

# %%
if PART in ("backlog", "all"):
    AO_B = boundary(TYPES_U, CAP_U)
    LOADS_B = (0.85, 0.9, 0.95)
    BURST = 20000
    POLICIES_B = policies(TYPES_U)
    rows_b = sweep(POLICIES_B, LOADS_B, types=TYPES_U, capacity=CAP_U, burst=BURST)
    table(rows_b, LOADS_B, list(POLICIES_B), AO_B)
    fig, axes = plt.subplots(1, len(LOADS_B), figsize=(5 * len(LOADS_B), 4), sharey=True)
    for ax, load in zip(axes, LOADS_B, strict=True):
        for p in POLICIES_B:
            pt = next(r for q, r in rows_b if q == p and r.load == load)
            assert pt.backlog is not None
            ax.plot(pt.backlog[:, 0], pt.backlog[:, 1], lw=1, label=f"{p} ({pt.evictions} ev.)")
        ax.set_title(f"load {load:.2f} of the boundary")
        ax.set_xlabel("round")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("requests in the system")
    fig.suptitle(
        f"ten-type mix, M = 2e6, {BURST} requests waiting at time 0, {HORIZON} rounds, seed {SEED}"
    )
    fig.tight_layout()
    FIGDIR.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGDIR / "fluid_stable_range_backlog.png", dpi=110)
    print("wrote", FIGDIR / "fluid_stable_range_backlog.png")

# %% [markdown]
# ## Comparison: expected against computed
# Expected by construction, not from the runs: WAIT never evicts (it admits only whole batches
# that fit at its thresholds; Nested WAIT may, above its nested boundary), and no policy completes more than arrives plus the initial backlog
# (throughput <= rate within the Poisson noise of the trace, 3 %). The scaled part's stability
# verdicts are the docs' (2000 rounds, slow tests), not repeated here.

# %%
from proofs.compare import row  # noqa: E402
from proofs.compare import table as comparison  # noqa: E402

cmp_rows = []
for name, pts_ in (("scaled", rows if PART in ("scaled", "all") else []),):
    for p, pt in pts_:
        if p == "wait":
            cmp_rows.append(
                row(
                    f"{name} {p} at {pt.load}: evictions",
                    0,
                    "whole batches only (WAIT's rule)",
                    pt.evictions,
                )
            )
        cmp_rows.append(
            row(
                f"{name} {p} at {pt.load}: throughput",
                pt.rate,
                "arrival rate (upper bound)",
                pt.throughput,
                0.03 * pt.rate,
                relation="<=",
            )
        )
if cmp_rows:
    comparison("fluid_stable_range", cmp_rows)
