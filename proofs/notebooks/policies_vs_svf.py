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
# # MC-SF, Sorted-F, FCFS and SJF against SVF
#
# Certified ratios `L / UB(OPT)` on the same all-at-zero instances (random families of
# `proofs.sampling`) and on the structured families of `adversaries`. MC-SF (Jaillet et al.)
# coincides with SJF under full information (spec 8); Sorted-F is the spec's reconstruction of
# Wang, Ye, Zhou (claimed bound 48 for their rule).

# %%
import os
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import proofs
from proofs.opt import dependency, opt_bounds
from proofs.sampling import burst_instances
from ratio.check import check
from ratio.simulator import simulate

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(proofs.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
    / "proofs_policies_vs_svf.png"
)
POLICIES = ["svf", "mcsf", "sjf", "sorted_f", "fcfs"]
COUNT = 40 if QUICK else 1000

# %%
insts = list(burst_instances(COUNT, seed=11, n_range=(2, 7)))
ratios: dict[str, list[float]] = {p: [] for p in POLICIES}
for inst in insts:
    ob = opt_bounds(inst, exact_max_n=5 if QUICK else 6)
    for p in POLICIES:
        run = simulate(inst, p)
        assert check(inst, run.schedule)
        ratios[p].append(float(Fraction(run.total_latency, ob.upper)))
for p in POLICIES:
    print(f"{p:9s} mean {np.mean(ratios[p]):.4f}  worst {max(ratios[p]):.4f}")

# %%
fam_rows = []
fam = dependency("adversaries.families", ("FAMILIES", "certify", "fit_exponent"))
if fam is not None:
    for name, f in fam.FAMILIES.items():
        if f.regime != "all_at_zero":
            continue
        for p in POLICIES:
            pt = fam.certify(name, p, 32 if QUICK else 256, Fraction(1, 2))
            fam_rows.append((name, p, float(pt.ratio)))
            print(f"{name:18s} {p:9s} L/UB = {float(pt.ratio):.4f}")

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
a1.boxplot([ratios[p] for p in POLICIES])
a1.set_xticks(range(1, len(POLICIES) + 1), POLICIES)
a1.set_ylabel("certified L / UB(OPT)")
a1.set_title(f"random all-at-zero instances ({COUNT})")
if fam_rows:
    names = sorted({r[0] for r in fam_rows})
    w = 0.8 / len(names)
    for k, nm in enumerate(names):
        vals = [next(r[2] for r in fam_rows if r[0] == nm and r[1] == p) for p in POLICIES]
        a2.bar(np.arange(len(POLICIES)) + k * w, vals, w, label=nm)
    a2.set_xticks(np.arange(len(POLICIES)) + w * (len(names) - 1) / 2, POLICIES)
    a2.set_ylabel("certified L / UB(OPT)")
    a2.set_title("adversaries families, alpha = 1/2")
    a2.legend()
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)
