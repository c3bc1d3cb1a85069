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
# # Agent jobs under Sarathi: the per-job boundary (issue 8, docs/stability.md)
#
# Dai, Deng, Li, Peng (arXiv 2504.07347): a work-conserving policy keeps AI-agent workloads,
# whose calls form DAGs, stable whenever the total work per job fits the hardware's token rate:
# `lambda * W < b_max / tau(b_max)`, `W` the tokens of all calls of a job (`queueing.md` Q4, Q6).
# Staircase `tau(b) = 11.28 + 35.47 ceil(b / 128)` ms, `b_max = 512`, calls of 100 prefill + 100
# decode tokens; a chain of three calls and a fork-join (one call, two in parallel, one after
# both), so `W = 600` and `W = 800` tokens. Jobs arrive as a Poisson stream; `sarathi` should be
# stable below load 1 and grow at about `lambda W - b_max / tau(b_max)` tokens per ms above it.
#
# The Q6 verdict (`run_stability`) reads the engine's backlog, which counts a call once its
# predecessors have completed; the work of calls still waiting for their predecessors is left
# out, so that backlog grows more slowly than `lambda W - b_max / tau(b_max)`. The fluid slope is
# checked on the total work of the jobs in the system (`agent_run`, which adds the unreleased
# calls back).
#
# `KVRATIO_QUICK=1` uses a shorter horizon and fewer loads; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.stability import agent_run, agent_sweep, agent_template

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures")) / "stability_agent_jobs.png"
)
HORIZON = 90000 if QUICK else 180000
LOADS = [0.8, 1.2] if QUICK else [0.6, 0.8, 0.9, 1.1, 1.2, 1.4]
SHAPES = ("chain", "fork_join")

# %% [markdown]
# ## Q6 verdicts (engine backlog) and the slope of the total work against the fluid

# %%
reports = {}
runs = {}
for shape in SHAPES:
    g = agent_template(shape)
    rep = agent_sweep(shape, LOADS, horizon=HORIZON, seed=2)
    reports[shape] = rep
    runs[shape] = [agent_run(shape, ld, horizon=HORIZON, seed=2) for ld in LOADS]
    w = rep.params["work_per_arrival"]
    print(
        f"{shape}: {g.number_of_nodes()} calls, {g.number_of_edges()} edges, W = {w:g} tokens, "
        f"boundary {rep.boundary * 1000:.3f} jobs/s"
    )
    for r, jr in zip(rep.results, runs[shape], strict=True):
        print(
            f"  load {r.load:.2f}: Q6 slope {r.slope:7.3f} +- {r.slope_se:.3f} {r.verdict:12s} "
            f"total-work slope {jr.slope:7.3f} +- {jr.slope_se:.3f} (fluid {jr.fluid_slope:.3f})"
        )

# %% [markdown]
# The claims checked: stable at every load below 1, unstable at every load above 1, and above 1
# the total work grows at the fluid rate (within two standard errors).

# %%
for shape, rep in reports.items():
    for r, jr in zip(rep.results, runs[shape], strict=True):
        if r.load < 1:
            assert r.verdict == "stable", (shape, r)
        else:
            assert r.verdict == "unstable", (shape, r)
            assert abs(jr.slope - jr.fluid_slope) <= 2 * jr.slope_se, (shape, jr.load)

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
cmap = plt.get_cmap("viridis")
for ax, shape in zip(axes[:2], SHAPES, strict=True):
    for k, jr in enumerate(runs[shape]):
        c = cmap(k / max(1, len(LOADS) - 1))
        step = max(1, len(jr.times) // 400)
        t = jr.times[::step] / 1000
        ax.plot(t, jr.total[::step], color=c, lw=1, label=f"load {jr.load:.2f}")
        ax.plot(t, jr.released[::step], color=c, lw=0.8, ls=":")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("backlog (tokens of work)")
    ax.set_title(f"sarathi, {shape} jobs: total (solid), released (dotted)")
    ax.legend(fontsize=7)
ax = axes[2]
for shape in SHAPES:
    ax.errorbar(
        [jr.load for jr in runs[shape]],
        [jr.slope for jr in runs[shape]],
        yerr=[2 * jr.slope_se for jr in runs[shape]],
        marker="o",
        ms=3,
        capsize=2,
        label=f"{shape} (total work)",
    )
cap = runs[SHAPES[0]][0].capacity_rate
xs = [min(LOADS), 1.0, max(LOADS)]
ax.plot(xs, [max(0.0, (x - 1) * cap) for x in xs], color="grey", lw=1, label="fluid")
ax.axvline(1.0, color="k", ls="--", lw=1, label="per-job boundary")
ax.set_xlabel("load = job rate / (b_max / tau(b_max) / W)")
ax.set_ylabel("backlog slope (tokens per ms)")
ax.set_title("slope against load (error bars: 2 SE)")
ax.legend(fontsize=7)
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# The boundary is b_max / tau(b_max) / W jobs per ms with tau(512) = 11.28 + 35.47 * 4 = 153.16
# (the staircase, by hand); the verdicts and slopes are Dai et al.'s claims (1 = as claimed).

# %%
from proofs.compare import row, table  # noqa: E402

cmp_rows = []
for shape, rep in reports.items():
    w = rep.params["work_per_arrival"]
    cmp_rows.append(
        row(
            f"{shape}: boundary x W",
            512 / 153.16,
            "512 / tau(512), by hand",
            rep.boundary * w,
            1e-9,
        )
    )
    for r, jr in zip(rep.results, runs[shape], strict=True):
        want = "stable" if r.load < 1 else "unstable"
        cmp_rows.append(
            row(
                f"{shape} at {r.load}: {want}",
                1,
                "Dai et al. (work-conserving)",
                int(r.verdict == want),
            )
        )
        if r.load > 1:
            cmp_rows.append(
                row(
                    f"{shape} at {r.load}: total-work slope",
                    jr.fluid_slope,
                    "fluid rate (2 SE)",
                    jr.slope,
                    2 * jr.slope_se,
                )
            )
table("stability_agent_jobs", cmp_rows)
