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
# # Dai, Deng, Li, Peng (arXiv 2504.07347) on the extended engine
# The worked example, Theorem 2's boundary and the request-cap case (`queueing.md` Q1-Q6).
# The experiments are the functions of `proofs.experiments.stability` that
# `tests/queueing/test_reproductions.py` checks. `KVRATIO_QUICK=1` uses short horizons and two
# loads (CI); without it, the sizes of `docs/stability.md`. The figure (Theorem 2: backlog against
# time for `sarathi`, slope against load for `sarathi` and `orca` with the fluid line) goes to
# `$KVRATIO_FIGURES` (default `docs/figures`).

# %%
import os
from pathlib import Path

import ratio
from proofs.experiments.stability import (
    request_cap_batches,
    request_cap_sweep,
    theorem2_sweep,
    worked_example,
)
from ratio.queueing.stability import plot_report

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(ratio.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
    / "stability_reproductions.png"
)
HORIZON = 60000 if QUICK else 120000
LOADS = [0.8, 1.2] if QUICK else [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]

# %% [markdown]
# ## Worked example: three decoding requests (2, 4, 3 tokens left), two 1+1 arriving, budget 4

# %%
for pol in ["orca", "sarathi", "fastertransformer", "vllm_prefill_first"]:
    print(f"{pol:<20}", " | ".join(worked_example(pol)))
print(f"{'orca, budget 5':<20}", " | ".join(worked_example("orca", budget=5)), "(Fig. 8)")

# %% [markdown]
# ## Theorem 2: slope against the fluid prediction `max(0, lambda * 200 - 512 / tau(512))`

# %%
reps = {p: theorem2_sweep(p, LOADS, horizon=HORIZON, seed=1) for p in ("sarathi", "orca")}
for p, rep in reps.items():
    cap = rep.boundary * 200
    print(f"{p}: boundary {rep.boundary * 1000:.3f} requests/s")
    for r in rep.results:
        pred = max(0.0, r.rate * 200 - cap)
        print(
            f"  load {r.load:.2f}: slope {r.slope:7.3f} +- {r.slope_se:.3f} "
            f"(fluid {pred:.3f}) {r.verdict}"
        )
    for r in rep.results:
        if r.load < 1:
            assert r.verdict != "unstable", (p, r)
        if r.load > 1.05:
            assert r.verdict == "unstable", (p, r)
FIG.parent.mkdir(parents=True, exist_ok=True)
plot_report(reps["sarathi"], str(FIG), extra=[reps["orca"]])
print("wrote", FIG)

# %% [markdown]
# ## Request cap: only Sarathi is stable
# One request of 290 + 990 tokens every 467.5 ms (the boundary), at most 100 requests per batch,
# budget 128. Whole prefills of 290 tokens never fit 128, so `fastertransformer` and
# `vllm_prefill_first` never form a batch.

# %%
verdicts = {}
for pol in ["sarathi", "orca", "fastertransformer", "vllm_prefill_first"]:
    r = request_cap_sweep(pol, horizon=200000, seed=1).results[0]
    verdicts[pol] = r.verdict
    print(
        f"{pol:<20} slope {r.slope:.4f} +- {r.slope_se:.4f} {r.verdict} "
        f"throughput {r.throughput:.3f}"
    )
assert verdicts["sarathi"] == "stable"
late = request_cap_batches("sarathi")
print("sarathi batches after 95 s (prefill, decode tokens):", dict(late))
assert set(late) == {(29, 99)}

# %% [markdown]
# ## Comparison: expected against computed
# The worked example's batches traced by hand (tests/queueing/test_reproductions.py; Orca with
# the figure's budget 5), the boundary 512 / tau(512) / 200 with tau(512) = 11.28 + 35.47 * 4 =
# 153.16 (by hand), the fluid slopes above the boundary (2 SE), and the request-cap verdict.

# %%
from proofs.compare import row, table  # noqa: E402

fig8 = ["Ad Bd Cd", "Dp Ep Ad Bd Cd", "Bd Cd Dd Ed", "Bd"]
cmp_rows = [
    row(
        "Fig. 8 Orca batches, budget 5 (1 = same)",
        1,
        "traced by hand",
        int(worked_example("orca", budget=5) == fig8),
    ),
    row(
        "sarathi request-cap verdict stable (1 = yes)",
        1,
        "Dai et al.",
        int(verdicts["sarathi"] == "stable"),
    ),
    row(
        "sarathi request-cap late batches (29, 99) only (1 = yes)",
        1,
        "128 - 99 = 29 prefill tokens, by hand",
        int(set(late) == {(29, 99)}),
    ),
]
for p, rep in reps.items():
    cmp_rows.append(
        row(
            f"{p}: boundary (requests/ms)",
            512 / 153.16 / 200,
            "512 / tau(512) / 200, by hand",
            rep.boundary,
            1e-12,
        )
    )
    for r in rep.results:
        if r.load > 1.05:
            pred = r.rate * 200 - 512 / 153.16
            cmp_rows.append(
                row(
                    f"{p} at {r.load}: slope",
                    pred,
                    "fluid lambda*200 - b/tau(b) (2 SE)",
                    r.slope,
                    2 * r.slope_se,
                )
            )
table("stability_reproductions", cmp_rows)
