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
# # Rybko-Stolyar: work conservation is not enough in a network of engines (issue 8)
#
# Dai, Deng, Li, Peng (arXiv 2504.07347, section 6), after Rybko and Stolyar (1992): two engines,
# each doing one token per round (token budget 1, one request per batch), and two routes of
# agent calls: route 1 runs a short call (1 + 1 tokens, class 0) on engine A and then a long call
# (1 + 9 tokens, class 1) on engine B; route 2 the mirror image (class 2 on B, class 3 on A).
# Jobs arrive at 0.15 per round, half on each route, so each engine carries
# `0.075 * (2 + 10) = 0.9` tokens per round: load 0.9. Both policies below are work-conserving
# static class priorities (`class_priority`, `queueing.md` Q1-Q4):
#
# * `order=1-3-0-2` (priority to the long exit calls): while engine B serves route 1's long
#   calls, it starves route 2's entry, so A idles once its own route-1 work is done; the two
#   engines take turns idling and the backlog grows (unstable at load 0.9);
# * `order=0-2-1-3` (priority to the entry calls): stable.
#
# The run starts with 150 route-1 jobs at time 0 (1800 tokens of work), which puts the network
# on the fluid path. A second run starts empty.
#
# `KVRATIO_QUICK=1` runs shorter horizons; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.stability import rybko_stolyar_run

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
    / "stability_rybko_stolyar.png"
)
HORIZON = 16000 if QUICK else 40000
EMPTY_HORIZON = 20000 if QUICK else 60000
ORDERS = {"1-3-0-2": "exit calls first (wrong)", "0-2-1-3": "entry calls first"}

# %%
burst = {o: rybko_stolyar_run(o, HORIZON, burst=150, seed=1) for o in ORDERS}
empty = {o: rybko_stolyar_run(o, EMPTY_HORIZON, burst=0, seed=1) for o in ORDERS}
for name, runs in (("150-job burst", burst), ("empty start", empty)):
    print(name)
    for o, r in runs.items():
        print(
            f"  order={o} ({ORDERS[o]}): backlog at the end {r.final:6d} tokens, "
            f"max {int(r.backlog.max()):6d}"
        )

# %% [markdown]
# The claim checked: after the burst, the wrong priority ends with more work than the burst
# brought (1800 tokens), the reversed priority drains it.

# %%
assert burst["0-2-1-3"].final < 200
assert burst["1-3-0-2"].final > 1800

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, (name, runs) in zip(
    axes, (("150 route-1 jobs at time 0", burst), ("empty start", empty)), strict=True
):
    for o, r in runs.items():
        ax.plot(r.times, r.backlog, lw=1, label=f"class_priority:order={o} ({ORDERS[o]})")
    ax.set_xlabel("round")
    ax.set_ylabel("backlog (tokens of work)")
    ax.set_title(f"Rybko-Stolyar network, load 0.9 per engine: {name}")
    ax.legend(fontsize=7)
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# The burst brings 150 jobs of 12 tokens of work (1800); Rybko and Stolyar: the wrong priority
# keeps more than that, the reversed one drains it (below 200).

# %%
from proofs.compare import row, table  # noqa: E402

cmp_rows = [
    row(
        "wrong priority, backlog at the end",
        1800,
        "the burst's work, 150 x 12 tokens",
        burst["1-3-0-2"].final,
        relation=">=",
    ),
    row(
        "reversed priority, backlog at the end",
        200,
        "drained (Rybko-Stolyar)",
        burst["0-2-1-3"].final,
        relation="<=",
    ),
]
table("stability_rybko_stolyar", cmp_rows)
