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
# # Fluid control against the latency policies (issue 9, docs/fluid.md)
#
# Total (and mean) latency of `wait`, `nested_wait`, `fcfs`, `svf`, `mcsf` and `greedy_evict`
# on the same seeded Poisson traces at 50-95 % of the fluid boundary. Scaled ten-type mix
# (prompt 6, outputs 5, ..., 50, rates 230, 110, ..., 10), M = 20000, every request run to
# completion.
#
# `KVRATIO_QUICK=1` runs a small version; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.fluid import boundary, poisson_trace, run_load, ten_types

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures")) / "fluid_latency.png"
POLICIES = ("wait", "nested_wait", "fcfs", "svf", "mcsf", "greedy_evict")
LOADS = (0.5, 0.95) if QUICK else (0.5, 0.7, 0.85, 0.95)
HORIZON = 40 if QUICK else 400
SEED = 7

# %%
types = ten_types(prompt=6, step=5)
M = 20000
b = boundary(types, M)
print(f"fluid boundary {b:.2f} requests per round")
rows = []
for load in LOADS:
    inst = poisson_trace(types, load * b, HORIZON, M, seed=SEED)
    for pol in POLICIES:
        r = run_load(pol, inst)  # run to completion: every request finishes
        rows.append(
            {
                "load": load,
                "policy": r["policy"],
                "n": inst.n,
                "completed": r["completed"],
                "total_latency": r["total_latency"],
                "mean_latency": r["mean_latency"],
                "evictions": r["evictions"],
                "mean_output": sum(q.output for q in inst.requests) / inst.n,
            }
        )
        print(rows[-1], flush=True)

# %%
print("| load | " + " | ".join(POLICIES) + " |")
print("|---" * (len(POLICIES) + 1) + "|")
for load in LOADS:
    cells = []
    for pol in POLICIES:
        r = next(x for x in rows if x["load"] == load and x["policy"] == pol)
        ev = f" ({r['evictions']} ev.)" if r["evictions"] else ""
        cells.append(f"{r['mean_latency']:.2f}{ev}")
    print(f"| {load:.2f} | " + " | ".join(cells) + " |")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for pol in POLICIES:
    xs = [r["load"] for r in rows if r["policy"] == pol]
    ys = [r["mean_latency"] for r in rows if r["policy"] == pol]
    ax.plot(xs, ys, marker="o", label=pol)
ax.set_xlabel("load (fraction of the fluid boundary)")
ax.set_ylabel("mean latency (rounds)")
ax.set_yscale("log")
ax.legend()
ax.set_title(f"ten-type mix / 10, M = {M}, seed {SEED}")
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# Every request finishes (the runs go to completion), and no mean latency is below the trace's
# mean output length (a request needs one round per output token).

# %%
from proofs.compare import row, table  # noqa: E402

cmp_rows = []
for r in rows:
    tag = f"load {r['load']}, {r['policy']}"
    cmp_rows.append(row(f"{tag}: completed", r["n"], "every request of the trace", r["completed"]))
    cmp_rows.append(
        row(
            f"{tag}: mean latency",
            r["mean_output"],
            "mean output length (lower bound)",
            r["mean_latency"],
            relation=">=",
        )
    )
table("fluid_latency", cmp_rows)
