# Latency comparison for docs/fluid.md (scaled ten-type mix, prompt 6, outputs 5..50, M=20000)
import json, time
from ratio.queueing.fluid_experiments import ten_types, boundary, poisson_trace, run_load
types=ten_types(prompt=6, step=5); M=20000; b=boundary(types,M)
rows=[]
for load in [0.5,0.7,0.85,0.95]:
    inst=poisson_trace(types,load*b,400,M,seed=7)
    for pol in ["wait","nested_wait","fcfs","svf","mcsf","greedy_evict"]:
        r=run_load(pol,inst)  # run to completion: every request finishes
        rows.append({"load":load,"policy":r["policy"],"n":inst.n,"completed":r["completed"],"total_latency":r["total_latency"],"mean_latency":r["mean_latency"],"evictions":r["evictions"]})
        print(rows[-1], flush=True)
json.dump({"boundary":b,"rows":rows},open("/tmp/lat.json","w"))
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
fig,ax=plt.subplots(figsize=(6,4))
for pol in ["wait","nested_wait","fcfs","svf","mcsf","greedy_evict"]:
    xs=[r["load"] for r in rows if r["policy"]==pol]; ys=[r["mean_latency"] for r in rows if r["policy"]==pol]
    ax.plot(xs,ys,marker="o",label=pol)
ax.set_xlabel("load (fraction of the fluid boundary)"); ax.set_ylabel("mean latency (rounds)"); ax.set_yscale("log"); ax.legend(); ax.set_title("ten-type mix /10, M=20000, seed 7")
fig.tight_layout(); fig.savefig("docs/figures/fluid_latency.png",dpi=110)
