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
# # Greedy admission's eviction cycle against WAIT (issue 9, docs/fluid.md)
#
# Ao, Dong, Luo, Simchi-Levi (arXiv 2606.15555): one request type with prompt `s = 2` and two
# output rounds, capacity `M = 140`, saturated input. The fluid fixed point holds 20 requests in
# each stage (`3 * 20 + 4 * 20 = 140`) and completes 20 per round. Starting from 21 and 19 in the
# two stages, greedy admission (`greedy_evict`: admit while the next round fits, evict the newest
# on overflow) is pushed away from the fixed point by the factor `(s + 2) / (s + 1)` per round and
# settles into a cycle with evictions; WAIT with 20 per stage (`wait:L=60`) stays at the fixed
# point. Second panel: the growth factor of a deviation over two rounds, measured on the integer
# greedy run, against `(s + 2) / (s + 1)` for a sweep of `s`.
#
# `KVRATIO_QUICK=1` runs fewer rounds and fewer `s`; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.fluid import eviction_cycle

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures")) / "fluid_eviction_cycle.png"
)
ROUNDS = 30 if QUICK else 60
SS = (1, 2, 3, 5) if QUICK else (1, 2, 3, 4, 5, 6, 8, 10, 13)

# %%
runs = {p: eviction_cycle(p, rounds=ROUNDS) for p in ("greedy_evict", "wait:L=60")}
for p, r in runs.items():
    tail = r.completed[20:ROUNDS]  # an even number of rounds: whole 2-round cycles
    print(
        f"{p:12s} evictions {r.evictions:4d}  completions/round over rounds "
        f"20..{ROUNDS - 1}: {sum(tail) / len(tail):.2f}  max memory {max(r.memory)}"
    )
    print("  admitted per round:", r.admitted[:16], "...")

# %% [markdown]
# Growth factor **per round**: start `80` requests below the fixed point `x* = 4000` (capacity
# `4000 (2s + 3)`, large so that floors are negligible) and measure
# `|d_5 / d_1| ** (1/4)` from the deviations of the admitted batches (as the test does).

# %%
growth = []
for s in SS:
    M = 4000 * (2 * s + 3)
    r = eviction_cycle("greedy_evict", prompt=s, capacity=M, stage2=4000 - 80, rounds=6)
    devs = [a - 4000 for a in r.admitted[:6]]
    measured = abs(devs[5] / devs[1]) ** 0.25
    growth.append((s, measured, (s + 2) / (s + 1)))
    print(
        f"s={s:2d}  deviations {devs}  measured {measured:.4f}  (s+2)/(s+1) {(s + 2) / (s + 1):.4f}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for p, r in runs.items():
    axes[0].plot(r.admitted, marker=".", label=p)
    axes[1].plot(r.completed, marker=".", label=p)
axes[0].axhline(20, color="k", ls=":", lw=1)
axes[0].set_title("admitted per round (s=2, M=140)")
axes[1].axhline(20, color="k", ls=":", lw=1)
axes[1].axhline(17.5, color="r", ls=":", lw=1)
axes[1].set_title("completed per round (20 vs 17.5)")
for ax in axes[:2]:
    ax.set_xlabel("round")
    ax.legend()
axes[2].plot([g[0] for g in growth], [g[1] for g in growth], "o", label="measured (greedy run)")
axes[2].plot([g[0] for g in growth], [g[2] for g in growth], "k-", label="(s+2)/(s+1)")
axes[2].set_xlabel("prompt s")
axes[2].set_title("growth factor of a deviation per round")
axes[2].legend()
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed

# %%
from proofs.compare import row, table  # noqa: E402

w, g = runs["wait:L=60"], runs["greedy_evict"]
tail_w = w.completed[20:ROUNDS]
tail_g = g.completed[20:ROUNDS]
cmp_rows = [
    row(
        "WAIT completions per round",
        20,
        "140 / (3 + 4) tokens per request, by hand",
        sum(tail_w) / len(tail_w),
    ),
    row("WAIT evictions", 0, "Ao et al.: WAIT never evicts at the fixed point", w.evictions),
    row(
        "greedy completions per round",
        17.5,
        "Ao et al.: 35 every second round",
        sum(tail_g) / len(tail_g),
    ),
    row("greedy evictions", 1, "Ao et al.: greedy admission evicts", g.evictions, relation=">="),
]
for s, measured, want in growth:
    cmp_rows.append(
        row(
            f"growth factor per round, s = {s}",
            want,
            "-(s+2)/(s+1) from the fluid map, by hand",
            measured,
            0.1 * (want - 1),
        )
    )
table("fluid_eviction_cycle", cmp_rows)
