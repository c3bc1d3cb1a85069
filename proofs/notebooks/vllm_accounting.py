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
# # vLLM accounting check (`docs/model.md` §9)
#
# In the step producing output token j+1 a request holds `ceil((s + j) / B)` blocks, i.e. the
# engine convention `s + k - 1` in its k-th round, block-rounded. We check, on random traces:
# (1) the toolkit's engine-convention memory equals the per-step blocks of
# `hardware_check.mirror` (vLLM's rules restated, with the toolkit's restart semantics) step
# by step, and (2) the block-rounded area lies in `[sum (V - o), sum (V - o) + (B - 1) sum o]`.
# When vLLM itself is installed, `kvratio replay TRACE --policy P --engine scheduler` runs the
# real scheduler (see `hardware_check`); this notebook needs only the mirror.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import proofs
from proofs.inequalities import block_rounding_bounds
from proofs.opt import dependency
from ratio.gen import generate
from ratio.simulator import simulate

QUICK = os.environ.get("KVRATIO_QUICK") == "1"
ROOT = Path(proofs.__file__).resolve().parents[1]
FIG = (
    Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))
    / "proofs_vllm_accounting.png"
)
B = 16
TRACES = 6 if QUICK else 60
mapping = dependency("hardware_check.mapping")
mirror_mod = dependency("hardware_check.mirror")

# %%
agree = 0
window: list[float] = []
example = None
for seed in range(TRACES):
    inst = generate(
        12,
        capacity=(8 if seed % 2 else 40) * B,
        arrivals="poisson",
        rate=0.7,
        prompt_range=(1, 40),
        output_range=(1, 40),
        seed=seed,
    )
    pol = "vllm_fcfs"
    sim = simulate(inst, pol, convention="engine", block_size=B)
    if not sim.schedule.evicted:
        lo, hi = block_rounding_bounds(inst, sim.schedule, B)
        assert lo and hi
        window.append(float((int(sim.memory.sum()) - lo.lhs) / max(1, hi.rhs - lo.lhs)))
    if mapping is not None and mirror_mod is not None:
        plan = mapping.plan_replay(inst, pol, block_size=B)
        m = mirror_mod.mirror(plan, resume="restart", stall=False)
        mir = np.zeros(len(sim.memory), dtype=np.int64)
        for st in m.steps:
            if st.step < len(mir):
                mir[st.step] = B * sum(st.blocks.values())
        same = bool(np.array_equal(mir, sim.memory))
        agree += same
        print(f"trace {seed}: mirror == toolkit engine memory: {same}, evictions {sim.evictions}")
        if example is None:
            example = (sim.memory, mir)
print(
    f"{agree}/{TRACES} traces agree step by step; block window use {np.round(window, 3).tolist()}"
)

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.8))
if example is not None:
    ax.step(range(len(example[0])), example[0], where="post", label="toolkit (engine, blocks)")
    ax.step(range(len(example[1])), example[1], "--", where="post", label="hardware_check mirror")
ax.set_xlabel("round / engine step")
ax.set_ylabel("KV tokens held (whole blocks)")
ax.set_title(f"vLLM accounting, B = {B}")
ax.legend()
fig.tight_layout()
FIG.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(FIG, dpi=110)
print("wrote", FIG)

# %% [markdown]
# ## Comparison: expected against computed
# The hardware_check mirror is a second implementation of vLLM's block accounting: it must agree
# with the toolkit's engine convention on every trace, step by step; the block-rounding window
# used (closed form `V - o <= V_B <= V - o + (B - 1) o`) must lie in [0, 1].

# %%
from proofs.compare import row, table  # noqa: E402

cmp_rows = [
    row("traces agreeing step by step", TRACES, "every trace (second implementation)", agree),
    row(
        "smallest window use", 0, "block window lower end (closed form)", min(window), relation=">="
    ),
    row(
        "largest window use", 1, "block window upper end (closed form)", max(window), relation="<="
    ),
]
table("proofs_vllm_accounting", cmp_rows)
