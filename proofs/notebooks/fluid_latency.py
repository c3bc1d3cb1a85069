# %% [markdown]
# # Fluid control against the latency policies (issue 9, docs/fluid.md)
# Scaled ten-type mix (prompt 6, outputs 5..50), M = 20000; `KVRATIO_QUICK=1` runs a small version.
# %%
import json, os
QUICK = os.environ.get("KVRATIO_QUICK") == "1"
from ratio.queueing.fluid_experiments import ten_types, boundary, poisson_trace, run_load
types=ten_types(prompt=6, step=5); M=20000; b=boundary(types,M)
rows=[]
for load in ([0.5, 0.95] if QUICK else [0.5,0.7,0.85,0.95]):
    inst=poisson_trace(types,load*b,(40 if QUICK else 400),M,seed=7)
    for pol in ["wait","nested_wait","fcfs","svf","mcsf","greedy_evict"]:
        r=run_load(pol,inst)  # run to completion: every request finishes
        rows.append({"load":load,"policy":r["policy"],"n":inst.n,"completed":r["completed"],"total_latency":r["total_latency"],"mean_latency":r["mean_latency"],"evictions":r["evictions"]})
        print(rows[-1], flush=True)
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
fig,ax=plt.subplots(figsize=(6,4))
for pol in ["wait","nested_wait","fcfs","svf","mcsf","greedy_evict"]:
    xs=[r["load"] for r in rows if r["policy"]==pol]; ys=[r["mean_latency"] for r in rows if r["policy"]==pol]
    ax.plot(xs,ys,marker="o",label=pol)
ax.set_xlabel("load (fraction of the fluid boundary)"); ax.set_ylabel("mean latency (rounds)"); ax.set_yscale("log"); ax.legend(); ax.set_title("ten-type mix /10, M=20000, seed 7")
fig.tight_layout()
if not QUICK:
    fig.savefig("docs/figures/fluid_latency.png",dpi=110)
