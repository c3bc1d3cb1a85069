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
# # Gate-and-route against its baselines (issue 9, docs/fluid.md)
#
# Zhang, Lin, Han, Ding (arXiv 2602.02987): prefill slows decode on a shared GPU. The per-GPU
# fluid LP (`zhang_lp`, our reconstruction) sets the share of mixed GPUs and the prefill share of
# each class; `gate_and_route` makes `ceil(n sum x*)` engines mixed and the rest decode-only,
# gates admission by the LP targets and routes prefilled requests to decode-only slots first.
# Baselines: FCFS admission with decode on the same engine (`gate=false,route=false`, the
# Sarathi-like default), the gate without the router (`route=false`), the router without the
# gate (`gate=false`).
#
# Classes (prompt 16, output 30) and (64, 30), 0.2 arrivals per GPU per time unit each, reward 1,
# `B = 8` streams per engine, `mixed_solo:alpha=1,beta=1/16,gamma=1`, chunk 16 (a mixed iteration
# lasts 2, a decode-only one 1). Revenue per GPU per time unit over the last two thirds of the
# horizon, against the number of GPUs `n`, two ways: `token` credits each decode token run in
# the window with `reward / output` (the LP objective's accounting, free of the error of a
# window that cuts through synchronised decode cycles), `completed` counts the rewards of the
# requests completed in the window. `LP at split` is the LP with the mixed share fixed to the
# integer split `ceil(n sum x*) / n`: the most any policy can earn with that split.
#
# `KVRATIO_QUICK=1`: small `n` and a short horizon; figures go to `$KVRATIO_FIGURES`
# (default `docs/figures`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ratio
from proofs.experiments.fluid import gate_route_revenue

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures")) / "fluid_gate_and_route.png"
)
NS = (5, 10) if QUICK else (10, 50, 100, 500)
HORIZON = 300 if QUICK else 600
SEED = 1
VARIANTS = {
    "gate_and_route": (True, True),
    "FCFS, decode on same engine": (False, False),
    "gate, no router": (True, False),
    "router, no gate": (False, True),
}

# %%
runs: dict[str, list] = {k: [] for k in VARIANTS}
for n in NS:
    for name, (gate, route) in VARIANTS.items():
        r = gate_route_revenue(n, gate=gate, route=route, horizon=HORIZON, seed=SEED)
        runs[name].append(r)
        print(
            f"n={n:4d} {name:28s} token {r.token_revenue:.4f} completed {r.revenue:.4f} "
            f"LP {r.lp:.4f} LP at split {r.lp_split:.4f} mixed {r.mixed} "
            f"occupancy mixed {r.mixed_occupancy:.3f}/7 solo {r.solo_occupancy:.3f}/8",
            flush=True,
        )
lp = runs["gate_and_route"][0].lp

# %%
print("| GPUs | " + " | ".join(VARIANTS) + " | LP at split | ranking |")
print("|---" * (len(VARIANTS) + 3) + "|")
for k, n in enumerate(NS):
    order = sorted(VARIANTS, key=lambda v: -runs[v][k].token_revenue)
    cells = [f"{runs[v][k].token_revenue:.4f} / {runs[v][k].revenue:.4f}" for v in VARIANTS]
    g = runs["gate_and_route"][k]
    cells[0] += f" ({g.mixed} mixed)"
    print(f"| {n} | " + " | ".join(cells) + f" | {g.lp_split:.4f} | " + " > ".join(order) + " |")

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for name in VARIANTS:
    ax.plot(NS, [r.token_revenue for r in runs[name]], "o-", label=f"{name} (token)")
ax.plot(NS, [r.revenue for r in runs["gate_and_route"]], "x--", label="gate_and_route (completed)")
ax.plot(NS, [r.lp_split for r in runs["gate_and_route"]], "k+:", label="LP at the integer split")
ax.axhline(lp, color="k", ls=":", label=f"LP value {lp:.4f}")
ax.set_xscale("log")
ax.set_xlabel("GPUs n")
ax.set_ylabel("revenue per GPU per time unit")
ax.set_title(f"gate-and-route, horizon {HORIZON}, seed {SEED}")
ax.legend(fontsize=8)
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# The LP value 67/330 and its mixed share 0.4 + 8/330 are worked by hand (tests/fluid/test_lp.py);
# the integer split is ceil(n * share); gate_and_route keeps every slot busy, so its token revenue
# is the LP value at that split; no policy exceeds the LP value (Zhang et al.: an upper bound).

# %%
import math  # noqa: E402

from proofs.compare import row, table  # noqa: E402

share = 0.4 + 8 / 330
cmp_rows = [row("LP value", 67 / 330, "by hand: 0.4 * 0.2 ... = 67/330", lp, 1e-9)]
for k, n in enumerate(NS):
    g = runs["gate_and_route"][k]
    cmp_rows.append(
        row(f"n = {n}: mixed engines", math.ceil(n * share), "ceil(n (0.4 + 8/330))", g.mixed)
    )
    cmp_rows.append(
        row(
            f"n = {n}: gate_and_route token revenue",
            g.lp_split,
            "LP at the integer split",
            g.token_revenue,
            0.003 * lp,
        )
    )
    for name in VARIANTS:
        cmp_rows.append(
            row(
                f"n = {n}: {name}",
                lp,
                "LP value (upper bound)",
                runs[name][k].token_revenue,
                1e-3 * lp,
                relation="<=",
            )
        )
table("fluid_gate_and_route", cmp_rows)
