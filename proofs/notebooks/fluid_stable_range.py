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
# WAIT's per-type thresholds keep the mix (the rarest types get n_j = 1); the unscaled mix
# would need M of about 2e6 and runs too slowly in Python on this machine.
# Poisson arrivals at a fraction `load` of the fluid boundary (Ao's equilibrium LP,
# `ao_equilibrium_lp`, 68.6 requests per round here), one unit-time engine, a fixed horizon;
# throughput = completions per round over the second half, verdict as `queueing.md` Q6.
#
# `KVRATIO_QUICK=1`: two loads and 600 rounds; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from ratio.queueing.fluid_experiments import stable_range_point

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures")) / "fluid_stable_range.png"
POLICIES = ("wait", "nested_wait", "greedy_evict", "vllm_fcfs")
LOADS = (0.9, 0.99) if QUICK else (0.8, 0.9, 0.95, 0.97, 0.99, 1.0)
HORIZON = 600 if QUICK else 2000
SEED = 1

# %%
rows = []
for load in LOADS:
    for p in POLICIES:
        pt = stable_range_point(p, load, horizon=HORIZON, seed=SEED)
        rows.append(pt)
        print(
            f"load {load:.2f} {pt.policy:12s} rate {pt.rate:6.2f} throughput {pt.throughput:6.2f}"
            f" evictions {pt.evictions:7d} slope {pt.slope:6.2f} +- {pt.slope_se:4.2f}"
            f" {pt.verdict}",
            flush=True,
        )

# %%
print("| load | " + " | ".join(POLICIES) + " |")
print("|---" * (len(POLICIES) + 1) + "|")
for load in LOADS:
    cells = []
    for p in POLICIES:
        pt = next(r for r in rows if r.load == load and r.policy == p)
        cells.append(f"{pt.throughput:.1f} / {pt.evictions} / {pt.verdict}")
    print(f"| {load:.2f} ({rows[0].boundary * load:.1f}) | " + " | ".join(cells) + " |")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for p in POLICIES:
    pts = [r for r in rows if r.policy == p]
    axes[0].plot([r.load for r in pts], [r.throughput / r.boundary for r in pts], "o-", label=p)
    axes[1].plot([r.load for r in pts], [r.evictions / r.n for r in pts], "o-", label=p)
axes[0].plot(LOADS, LOADS, "k:", lw=1, label="arrivals")
axes[0].set_ylabel("throughput / fluid boundary")
axes[1].set_ylabel("evictions per request")
axes[1].set_yscale("symlog", linthresh=1e-3)
for ax in axes:
    ax.set_xlabel("load (fraction of the fluid boundary)")
    ax.legend()
fig.suptitle(f"ten-type mix / 10, M = 20000, {HORIZON} rounds, seed {SEED}")
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)
