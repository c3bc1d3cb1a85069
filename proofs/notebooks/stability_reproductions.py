# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Dai, Deng, Li, Peng (arXiv 2504.07347) on the extended engine
# The worked example, Theorem 2's boundary and the request-cap case (`queueing.md` Q1-Q6).
# `KVRATIO_QUICK=1` uses short horizons (CI); without it, the sizes of `docs/stability.md`.

# %%
import os
from fractions import Fraction

from ratio.queueing import EngineSpec, QRequest, get_engine_policy, run_engine
from ratio.queueing.stability import Workload, run_stability

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
STAIR = "staircase:c=11.28,a=35.47,b0=128"

# %% [markdown]
# ## Worked example: three decoding requests (2, 4, 3 tokens left), two 1+1 arriving, budget 4

# %%
reqs = [
    QRequest(0, 1, 3, "A"),
    QRequest(0, 1, 5, "B"),
    QRequest(0, 1, 4, "C"),
    QRequest(Fraction(1, 2), 1, 1, "D"),
    QRequest(Fraction(1, 2), 1, 1, "E"),
]
for pol in ["orca", "sarathi", "fastertransformer", "vllm_prefill_first"]:
    res = run_engine(
        reqs,
        get_engine_policy(pol),
        engines=[EngineSpec(token_budget=4)],
        initial={0: (0, 1, 1), 1: (0, 1, 1), 2: (0, 1, 1)},
        record_batches=True,
    )
    seq = [
        " ".join("ABCDE"[w.request] + ("p" if w.prefill else "d") for w in b.work)
        for b in res.batches
    ]
    print(f"{pol:<20}", " | ".join(seq))

# %% [markdown]
# ## Theorem 2: slope against the fluid prediction

# %%
horizon = 60000 if QUICK else 120000
wl = Workload(types=((100, 100, 1.0),))
rep = run_stability(
    "sarathi", wl, loads=[0.8, 1.2], tau=STAIR, token_budget=512, horizon=horizon, seed=1
)
cap = 512 / 153.16
for r in rep.results:
    pred = max(0.0, r.rate * 200 - cap)
    print(
        f"load {r.load:.2f}: slope {r.slope:.3f} +- {r.slope_se:.3f} (fluid {pred:.3f}) {r.verdict}"
    )
assert rep.results[0].verdict != "unstable" and rep.results[1].verdict == "unstable"

# %% [markdown]
# ## Request cap: only Sarathi is stable

# %%
wl = Workload(types=((290, 990, 1.0),))
for pol in ["sarathi", "orca", "fastertransformer", "vllm_prefill_first"]:
    rep = run_stability(
        pol,
        wl,
        loads=[1.0],
        tau=STAIR,
        token_budget=128,
        max_requests=100,
        horizon=200000,
        seed=1,
        arrivals="deterministic",
    )
    r = rep.results[0]
    print(
        f"{pol:<20} slope {r.slope:.4f} +- {r.slope_se:.4f} {r.verdict} throughput {r.throughput:.3f}"
    )
