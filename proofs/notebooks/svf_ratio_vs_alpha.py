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
# # SVF's certified worst ratio against alpha, with Thm 3.2's bound
#
# Kong, Qi, Ye, Zhou (arXiv 2606.22327), Thm 3.2: `L_SVF <= (1 + 2/(1-alpha)) OPT` for
# all-at-zero instances with known lengths (`docs/model.md` §10). For each alpha bucket we
# plot the worst *certified* ratio `L_SVF / UB(OPT)` (UB: exact optimum for small n, else the
# best checked schedule) over random instances and the `svf_hol_block` family of
# `adversaries`, against the bound curve. Quick mode (`KVRATIO_QUICK=1`) uses few instances.

# %%
import os
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import proofs
from proofs.inequalities import svf_bound
from proofs.opt import dependency, opt_bounds
from proofs.sampling import random_burst
from ratio.check import check
from ratio.simulator import simulate

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(proofs.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
    / "proofs_svf_ratio_vs_alpha.png"
)
PER_BUCKET = 25 if QUICK else 400
BUCKETS = [0.15, 0.25, 1 / 3, 0.5, 0.67, 0.8]

# %%
rng = np.random.default_rng(0)
rows = []
for a in BUCKETS:
    worst = Fraction(0)
    worst_alpha = None
    for _ in range(PER_BUCKET):
        inst = random_burst(
            rng,
            int(rng.integers(2, 7)),
            int(rng.integers(12, 48)),
            a,
            ("uniform", "spread", "prompt_heavy")[int(rng.integers(3))],
        )
        run = simulate(inst, "svf")
        assert check(inst, run.schedule)
        ob = opt_bounds(inst, exact_max_n=5 if QUICK else 6)
        r = Fraction(run.total_latency, ob.upper)
        b = svf_bound(inst.alpha)
        assert b is not None and r <= b, "certified counter-example to Thm 3.2"
        if r > worst:
            worst, worst_alpha = r, inst.alpha
    rows.append((a, worst, worst_alpha))
    print(f"alpha <= {a:.3f}: worst certified L/UB = {float(worst):.4f} at alpha = {worst_alpha}")

# %%
fam_pts = []
fam = dependency("adversaries.families", ("FAMILIES", "certify", "fit_exponent"))
if fam is not None and "svf_hol_block" in fam.FAMILIES:
    for k in (2, 3, 4, 6):
        pt = fam.certify("svf_hol_block", "svf", 24 if QUICK else 128, Fraction(1, k))
        fam_pts.append((float(pt.alpha), float(pt.ratio)))
        print(
            f"svf_hol_block alpha={pt.alpha}: L/UB = {float(pt.ratio):.4f}, "
            f"bound {svf_bound(pt.alpha)}"
        )

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.2))
xs = np.linspace(0.01, 0.9, 200)
ax.plot(xs, 1 + 2 / (1 - xs), "k-", label="Thm 3.2 bound 1 + 2/(1-alpha)")
ax.plot(
    xs,
    np.maximum(2 / (1 - xs), 1 + 4 / (3 * (1 - xs))),
    "k--",
    label="sharper bound max(2/(1-a), 1 + 4/(3(1-a)))",
)
ax.plot(
    [float(w) for _, _, w in rows if w is not None],
    [float(r) for _, r, w in rows if w is not None],
    "o",
    label="random (worst per bucket)",
)
if fam_pts:
    ax.plot(*zip(*fam_pts, strict=True), "s", label="svf_hol_block family")
ax.set_xlabel("alpha = max P / M")
ax.set_ylabel("certified L_SVF / UB(OPT)")
ax.set_yscale("log")
ax.set_title("SVF, all arrivals at 0" + (" (quick)" if QUICK else ""))
ax.legend()
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# Every certified ratio must lie below both bounds (the sharper one from `ratio.theory`, the
# derivation in `docs/theorems.md`, `sharper_closed_form`); the bounds' values at 1/2 and
# -> 0 are the closed forms worked by hand (5 and 3 for the paper, 4 and 7/3 for the sharper).

# %%
from proofs.compare import row, table  # noqa: E402
from ratio.theory import svf_burst_bound, svf_sharper_bound  # noqa: E402

cmp_rows = [
    row(
        "paper's bound at alpha = 1/2",
        5,
        "1 + 2/(1 - 1/2), by hand",
        svf_burst_bound(Fraction(1, 2)),
    ),
    row(
        "sharper bound at alpha = 1/2",
        4,
        "max(4, 1 + 8/3), by hand",
        svf_sharper_bound(Fraction(1, 2)),
    ),
    row("sharper bound at alpha = 0", Fraction(7, 3), "max(2, 7/3), by hand", svf_sharper_bound(0)),
]
for a, worst, wa in rows:
    if wa is not None:
        cmp_rows.append(
            row(
                f"worst certified L/UB, alpha <= {a:.3f}",
                svf_sharper_bound(wa),
                "sharper bound at that instance's alpha",
                worst,
                relation="<=",
            )
        )
for fam_al, fam_r in fam_pts:
    cmp_rows.append(
        row(
            f"svf_hol_block at alpha = {fam_al:.3f}",
            svf_sharper_bound(Fraction(fam_al).limit_denominator(10**6)),
            "sharper bound",
            fam_r,
            relation="<=",
        )
    )
table("proofs_svf_ratio_vs_alpha", cmp_rows)
