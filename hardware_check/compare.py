"""Compare a vLLM replay with the model (issue 4, deliverable 2; ``docs/model.md`` §2, 4, 7, 9).

Three layers, from strictest to loosest:

1. **Accounting** (every policy).  In every step each scheduled request holds exactly
   ``ceil((s + j) / B)`` blocks, where ``j`` is the number of its outputs produced before the
   step (model §9: engine convention ``s + k - 1`` in its k-th round, block-rounded), it computes
   its whole ``s + j`` tokens in a run's first step and one token otherwise, it is scheduled in
   exactly ``o`` steps, and it completes the step after its last one.  Volume sums follow.
2. **Schedule vs the toolkit** (policies with a reactive twin: ``vllm_priority``, ``vllm_fcfs``,
   and ``svf``/``sjf``/``spf``/``fcfs`` whose vLLM run *is* that twin, see
   :func:`hardware_check.mapping.reference_policy`).  Under ``eviction="resume"`` (default,
   what vLLM 0.32 does, model §7, §9) a priority plan's twin is :func:`stall_twin`,
   ``vllm_v1`` with the same key on the extended engine
   (``simulate_extended(inst, "vllm_v1:...", convention="engine", block_size=B,
   eviction="resume")``): vLLM's rules with its priority stall, a pause of queueing Q1.
   Otherwise (FCFS plans, or ``eviction="restart"``) the twin is
   ``ratio.simulate(inst, twin, convention="engine", block_size=B, eviction=E)``.  Per step
   the set of running requests and the blocks of each must equal vLLM's, and per request the
   completion round.  Every differing step or completion is a *mismatch*; the first is
   reported.
3. **Explanation** (base twin only).  :func:`hardware_check.mirror.mirror` restates vLLM's
   rules with two switches.  If vLLM equals the mirror with ``resume="keep", stall=True`` step
   for step and the toolkit equals it with the model's switches (``resume`` as ``E``,
   ``stall=False``), every mismatch of layer 2 is accounted for by the documented rules that
   differ (the priority stall, and under ``E = "restart"`` vLLM's keeping of produced tokens):
   the verdict is ``explained``.  Otherwise the mismatches are *unexplained* and the verdict
   ``mismatch``.  The stall twin has both rules, so a mismatch against it is unexplained.
   ``match`` means no mismatch and no accounting difference at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardware_check.mapping import ReplayPlan
from hardware_check.mirror import MirrorRun, mirror
from hardware_check.observe import EngineRun
from ratio.costs import memory_trace
from ratio.engine import ExtResult
from ratio.model import Run, Schedule, check_eviction
from ratio.policies import get_policy
from ratio.simulator import SimResult, simulate

__all__ = [
    "Mismatch",
    "Comparison",
    "compare",
    "engine_schedule",
    "plot_comparison",
    "stall_twin",
    "twin_steps",
]

RESUME_NOTE = (
    "vLLM keeps a preempted request's outputs and resumes it with s + j tokens (model §7 "
    "restarts from k = 1)"
)
STALL_NOTE = (
    "vLLM preempted the running request that could not grow, being the lowest priority, "
    "and skipped the running requests after it for that step"
)


@dataclass(frozen=True)
class Mismatch:
    """One difference: ``kind`` is ``accounting``, ``running``, ``blocks`` or ``completion``."""

    step: int
    kind: str
    request: int | None
    engine: Any
    model: Any
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "request": self.request,
            "engine": self.engine,
            "model": self.model,
            "note": self.note,
        }


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`; ``to_dict`` gives the CLI's JSON (interfaces.md)."""

    plan: ReplayPlan
    run: EngineRun
    policy_sim: SimResult
    reference_sim: SimResult | None
    accounting: tuple[Mismatch, ...]
    mismatches: tuple[Mismatch, ...]
    unexplained: tuple[Mismatch, ...]
    explanations: tuple[str, ...]
    figures: tuple[tuple[str, Any, Any], ...]
    engine_memory: np.ndarray = field(repr=False)
    mirror_run: MirrorRun = field(repr=False)
    eviction: str = "resume"
    #: the policy spec the schedule was compared with (``plan.reference`` or its
    #: :func:`stall_twin`), and the twin's engine run when it is the stall twin
    twin: str | None = None
    twin_run: ExtResult | None = field(default=None, repr=False)

    @property
    def verdict(self) -> str:
        """``match`` (no difference), ``explained`` (every difference accounted for by a
        documented rule, module docstring layer 3) or ``mismatch``."""
        if self.accounting:
            return "mismatch"
        if not self.mismatches:
            return "match"
        return "mismatch" if self.unexplained or not self.explanations else "explained"

    @property
    def first_mismatch(self) -> Mismatch | None:
        allm = sorted(self.accounting + self.mismatches, key=lambda m: (m.step, m.kind))
        return allm[0] if allm else None

    def verdict_line(self) -> str:
        steps = len(self.run.steps)
        ref = self.plan.reference
        if self.verdict == "match":
            if self.twin_run is not None:
                what = f"simulate_extended({self.twin!r}, eviction={self.eviction!r})"
            elif ref:
                what = f"ratio.simulate({ref!r}, eviction={self.eviction!r})"
            else:
                what = "the model's accounting"
            return f"verdict: match - vLLM agrees with {what} in all {steps} steps"
        fm = self.first_mismatch
        assert fm is not None
        n_un = len(self.unexplained) + len(self.accounting)
        text = (
            f"verdict: {self.verdict} - {len(self.mismatches) + len(self.accounting)} "
            f"difference(s) (eviction={self.eviction}) "
            f"over {steps} steps, first at step {fm.step} ({fm.kind}"
            + (f", request {fm.request}" if fm.request is not None else "")
            + f"); {n_un} unexplained"
        )
        if self.explanations and n_un == 0:
            text += "; explained (vLLM matches the mirror step for step): " + "; ".join(
                self.explanations
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        fm = self.first_mismatch
        return {
            "verdict": self.verdict,
            "mismatches": len(self.mismatches) + len(self.accounting),
            "first_mismatch": fm.to_dict() if fm else None,
            "steps": len(self.run.steps),
            "unexplained": len(self.unexplained) + len(self.accounting),
            "explanations": list(self.explanations),
            "accounting_mismatches": len(self.accounting),
            "eviction": self.eviction,
            "policy": self.plan.policy,
            "reference": self.plan.reference,
            "twin": self.twin,
            "engine": self.run.engine,
            "device": self.run.device,
            "vllm_version": self.run.vllm_version,
            "plan": self.plan.to_dict(),
            "figures": {name: {"model": m, "engine": e} for name, m, e in self.figures},
            "starts": list(self.run.starts),
            "completions": [self.run.completion[i] for i in range(self.plan.instance.n)],
            "preemptions": [self.run.preemptions[i] for i in range(self.plan.instance.n)],
            "engine_memory": [int(x) for x in self.engine_memory],
            "seconds": round(self.run.seconds, 3),
        }


def _accounting(plan: ReplayPlan, run: EngineRun) -> list[Mismatch]:
    # long: one check per accounting rule of the comparison, in the module docstring's order
    B = plan.block_size
    reqs = plan.requests
    produced = {i: 0 for i in range(len(reqs))}
    last_step: dict[int, int] = {}
    out: list[Mismatch] = []
    for st in run.steps:
        for i in st.running:
            s, j = reqs[i].prompt, produced[i]
            want_blocks = -(-(s + j) // B)
            if st.blocks[i] != want_blocks:
                out.append(
                    Mismatch(
                        st.step,
                        "accounting",
                        i,
                        st.blocks[i],
                        want_blocks,
                        "blocks held != ceil((s + j) / B)",
                    )
                )
            if st.computed[i] != s + j:
                out.append(
                    Mismatch(
                        st.step,
                        "accounting",
                        i,
                        st.computed[i],
                        s + j,
                        "KV tokens after the step != s + j",
                    )
                )
            want_tokens = s + j if i in st.new_runs else 1
            if st.tokens[i] != want_tokens:
                out.append(
                    Mismatch(
                        st.step,
                        "accounting",
                        i,
                        st.tokens[i],
                        want_tokens,
                        "tokens computed in the step",
                    )
                )
            produced[i] += 1
            last_step[i] = st.step
    for i, r in enumerate(reqs):
        if produced[i] != r.output:
            out.append(
                Mismatch(
                    last_step.get(i, -1),
                    "accounting",
                    i,
                    produced[i],
                    r.output,
                    "steps scheduled != o",
                )
            )
        if run.completion.get(i) != last_step.get(i, -2) + 1:
            out.append(
                Mismatch(
                    last_step.get(i, -1),
                    "accounting",
                    i,
                    run.completion.get(i),
                    last_step.get(i, -2) + 1,
                    "completion != last step + 1",
                )
            )
    total = sum(sum(st.blocks.values()) for st in run.steps)
    if total and max(sum(st.blocks.values()) for st in run.steps) > plan.usable_blocks:
        out.append(
            Mismatch(
                -1, "accounting", None, total, plan.usable_blocks, "blocks held exceed the pool"
            )
        )
    return out


def _sim_steps(inst: Any, sim: SimResult, B: int) -> dict[int, dict[int, int]]:
    """Per round: request -> blocks held (engine convention, in the schedule's eviction mode:
    under resume a run's prompt includes the tokens kept from the request's earlier runs)."""
    steps: dict[int, dict[int, int]] = {}
    for i, s, p, length in sim.schedule.runs(inst):
        for k in range(1, length + 1):
            steps.setdefault(p + k - 1, {})[i] = -(-(s + k - 1) // B)
    return steps


def twin_steps(res: ExtResult, B: int) -> dict[int, dict[int, int]]:
    """Per round: request -> blocks held, from an engine run's batches (``record_batches``,
    engine convention, whole prefill with the first token): a run that starts with a prompt
    of ``s`` tokens (``s + j`` when it resumes) holds ``ceil((s + k - 1) / B)`` blocks in the
    round that produces its k-th token of the run. A paused request is in no batch."""
    prompt: dict[int, int] = {}
    made: dict[int, int] = {}
    steps: dict[int, dict[int, int]] = {}
    for b in res.batches:
        row = steps.setdefault(b.round, {})
        for w in b.work:
            i = w.request
            if w.prefill:
                prompt[i], made[i] = w.prefill, 0
            row[i] = -(-(prompt[i] + made[i]) // B)
            made[i] += 1
    return steps


def paused_request_steps(res: ExtResult, steps: dict[int, dict[int, int]]) -> int:
    """Request-rounds a running request of ``res`` spent outside the batch: the rounds its runs
    span (evicted runs and the last one) less the rounds ``steps`` (:func:`twin_steps`) has it
    computing."""
    running = sum(r.rounds for r in res.evicted) + sum(
        c - p for c, p in zip(res.completions, res.starts, strict=True)
    )
    return running - sum(len(row) for row in steps.values())


@dataclass(frozen=True)
class _Twin:
    """What the comparison reads of the model's twin, from either engine layer."""

    spec: str
    steps: dict[int, dict[int, int]]
    starts: tuple[int, ...]
    completions: tuple[int, ...]
    evictions: int
    memory: np.ndarray
    total_latency: int
    paused: int  # request-rounds a running request spent outside the batch


def _twin_of_sim(spec: str, inst: Any, sim: SimResult, B: int) -> _Twin:
    return _Twin(
        spec,
        _sim_steps(inst, sim, B),
        tuple(sim.starts),
        tuple(sim.completions),
        sim.evictions,
        sim.memory,
        sim.total_latency,
        0,
    )


def _twin_of_run(spec: str, inst: Any, res: ExtResult, B: int) -> _Twin:
    steps = twin_steps(res, B)
    # Memory as the replay records vLLM's: blocks of the requests scheduled in the step (a
    # paused request's blocks are held but not counted, on either side).
    memory = np.zeros(max(steps, default=-1) + 1, dtype=np.int64)
    for r, row in steps.items():
        memory[r] = sum(row.values()) * B
    return _Twin(
        spec,
        steps,
        tuple(res.starts),
        tuple(res.completions),
        res.evictions,
        memory,
        res.total_latency,
        paused_request_steps(res, steps),
    )


def stall_twin(plan: ReplayPlan) -> str | None:
    """The ``vllm_v1`` spec (vLLM's v1 rules with the priority stall, an extended-engine
    policy) for a plan that runs vLLM's priority scheduling with a reactive twin
    ``vllm_priority:priority=P``; ``None`` for FCFS plans (the stall cannot fire there: the
    request that preempts itself is the last of the running list) and plans without a twin."""
    if plan.reference is None or plan.scheduling_policy != "priority":
        return None
    ref = get_policy(plan.reference)
    if ref.name != "vllm_priority":
        return None
    return get_policy("vllm_v1", priority=ref.params["priority"]).spec


def _schedule_mismatches(plan: ReplayPlan, run: EngineRun, twin: _Twin) -> list[Mismatch]:
    model = twin.steps
    last = max([len(run.steps) - 1, *model.keys()]) if model else len(run.steps) - 1
    engine = {st.step: st.blocks for st in run.steps}
    out: list[Mismatch] = []
    for t in range(last + 1):
        e = engine.get(t, {})
        m = model.get(t, {})
        if set(e) != set(m):
            out.append(
                Mismatch(t, "running", None, sorted(e), sorted(m), "requests scheduled in the step")
            )
        elif e != m:
            diff = sorted(i for i in e if e[i] != m[i])
            out.append(
                Mismatch(t, "blocks", diff[0], e[diff[0]], m[diff[0]], "blocks held in the step")
            )
    for i, c in enumerate(twin.completions):
        if run.completion[i] != c:
            out.append(
                Mismatch(
                    min(run.completion[i], c) - 1,
                    "completion",
                    i,
                    run.completion[i],
                    c,
                    "completion round",
                )
            )
    return out


def _mirror_equal(run: EngineRun, m: MirrorRun) -> bool:
    e = [(st.running, st.blocks, st.preempted) for st in run.steps]
    w = [(st.running, st.blocks, st.preempted) for st in m.steps]
    return e == w and run.completion == m.completion and run.runs == m.runs


def engine_schedule(run: EngineRun) -> Schedule:
    """The engine's runs as a resume-mode schedule (model §7): each run but the last of
    request ``i`` lasted until the next began with more tokens produced."""
    evicted = []
    for i, rs in run.runs.items():
        for (p, j), (_p2, j2) in zip(rs, rs[1:], strict=False):
            evicted.append(Run(i, p, j2 - j))
    return Schedule(run.starts, tuple(evicted), "resume")


def compare(plan: ReplayPlan, run: EngineRun, *, eviction: str = "resume") -> Comparison:
    """Compare ``run`` (from either replay path) with the model; see the module docstring.

    ``eviction`` is the model's mode for the twin (model §7): ``"resume"`` (default, vLLM's
    rule) or ``"restart"``. Under ``"resume"`` a priority plan is compared with its
    :func:`stall_twin` (``vllm_v1`` on the extended engine), which also pauses the requests
    that vLLM's priority stall skips; otherwise with ``ratio.simulate(plan.reference)``."""
    # long: one comparison per quantity of the module docstring, in its order, into one report
    eviction = check_eviction(eviction)
    inst = plan.instance
    B = plan.block_size
    n = inst.n
    accounting = _accounting(plan, run)
    # The policy under test as the papers state it: model convention, tokens (model §2).
    policy_sim = simulate(inst, plan.policy, eviction=eviction)
    ref = (
        simulate(inst, plan.reference, convention="engine", block_size=B, eviction=eviction)
        if plan.reference
        else None
    )
    mir = mirror(plan, resume="keep", stall=True)
    vllm_is_mirror = _mirror_equal(run, mir)
    stall_spec = stall_twin(plan) if eviction == "resume" else None
    twin_run: ExtResult | None = None
    twin: _Twin | None = None
    toolkit_is_mirror = True
    if stall_spec is not None:
        from ratio.queueing import simulate_extended

        twin_run = simulate_extended(
            inst,
            stall_spec,
            convention="engine",
            block_size=B,
            eviction="resume",
            record_batches=True,
        )
        twin = _twin_of_run(stall_spec, inst, twin_run, B)
    elif ref is not None:
        assert plan.reference is not None
        twin = _twin_of_sim(plan.reference, inst, ref, B)
        m2 = mirror(plan, resume="keep" if eviction == "resume" else "restart", stall=False)
        toolkit_is_mirror = (
            tuple(m2.runs[i][-1][0] for i in range(n)) == ref.starts
            and sum(m2.preemptions.values()) == ref.evictions
            and tuple(m2.completion[i] for i in range(n)) == ref.completions
        )
    mismatches = _schedule_mismatches(plan, run, twin) if twin is not None else []
    explanations: list[str] = []
    if twin_run is None:
        # The base twin has neither of vLLM's two rules that differ from the model's
        # defaults; the stall twin has both, so nothing is left to explain there.
        if run.total_preemptions and eviction == "restart":
            explanations.append(RESUME_NOTE)
        if mir.stalls:
            explanations.append(f"{STALL_NOTE} ({mir.stalls} request-steps skipped)")
    unexplained = (
        [] if (vllm_is_mirror and toolkit_is_mirror and explanations) else list(mismatches)
    )
    if not vllm_is_mirror and not mismatches:
        unexplained.append(
            Mismatch(
                -1, "mirror", None, "vLLM", "mirror", "vLLM differs from the mirror of its rules"
            )
        )

    # Figures: model side from the toolkit, engine side from the records.
    eng_blocks = np.array(run.blocks_per_step(), dtype=np.int64) * B
    eng_tokens = [sum(st.computed.values()) for st in run.steps]
    lat_engine = sum(run.completion[i] - inst.requests[i].arrival for i in range(n))
    vol_engine_conv = sum(v - r.output for v, r in zip(inst.volumes, inst.requests, strict=True))
    mem_model: Any = twin if twin is not None else policy_sim
    figures: list[tuple[str, Any, Any]] = [
        ("requests", n, n),
        (
            "capacity (tokens | usable blocks of B)",
            inst.capacity,
            f"{plan.usable_blocks} x {B} = {plan.usable_blocks * B}",
        ),
        (f"total latency ({plan.policy}, model conv.)", policy_sim.total_latency, lat_engine),
    ]
    if twin is not None and twin.spec != plan.policy:
        figures.append((f"total latency ({twin.spec}, model)", twin.total_latency, lat_engine))
    figures += [
        ("makespan", int(max(mem_model.completions)), int(max(run.completion.values()))),
        ("preemptions", mem_model.evictions, run.total_preemptions),
        ("steps with a preemption", None, sum(1 for st in run.steps if st.preempted)),
        (
            "peak memory (tokens, blocks x B)",
            int(mem_model.memory.max(initial=0)),
            int(eng_blocks.max(initial=0)),
        ),
        (
            "volume, model convention sum V_i",
            int(sum(inst.volumes)),
            sum(eng_tokens) + sum(len(st.running) for st in run.steps),
        ),
        ("volume, engine convention sum (V_i - o_i)", int(vol_engine_conv), sum(eng_tokens)),
        (
            "volume in blocks x B (engine conv.)",
            int(mem_model.memory.sum()),
            int(eng_blocks.sum()),
        ),
        (
            "completion rounds equal to the model",
            None,
            sum(1 for i in range(n) if run.completion[i] == mem_model.completions[i]),
        ),
        ("vLLM = mirror(resume=keep, stall)", None, vllm_is_mirror),
        (
            "stalled request-steps (model twin | mirror of vLLM)",
            twin.paused if twin is not None else 0,
            mir.stalls,
        ),
    ]
    if not mir.stalls:
        # The engine's own runs, in the toolkit's accounting (resume mode, model §7), must give
        # its memory exactly.
        own = memory_trace(inst, engine_schedule(run), convention="engine", block_size=B)
        same = len(own) <= len(eng_blocks) and bool(
            np.array_equal(own, eng_blocks[: len(own)]) and not eng_blocks[len(own) :].any()
        )
        figures.append(
            ("memory per step = ratio.costs.memory_trace(engine runs, resume)", True, same)
        )
        if not same:
            accounting.append(
                Mismatch(
                    -1,
                    "accounting",
                    None,
                    "engine memory",
                    "memory_trace",
                    "per-step memory differs from the toolkit's",
                )
            )
    return Comparison(
        plan=plan,
        run=run,
        policy_sim=policy_sim,
        reference_sim=ref,
        accounting=tuple(accounting),
        mismatches=tuple(mismatches),
        unexplained=tuple(unexplained),
        explanations=tuple(explanations) if mismatches else (),
        figures=tuple(figures),
        engine_memory=eng_blocks,
        mirror_run=mir,
        eviction=eviction,
        twin=twin.spec if twin is not None else None,
        twin_run=twin_run,
    )


def plot_comparison(cmp: Comparison, path: str | None = None, ax: Any = None) -> Any:
    """Memory per step: vLLM (blocks x B), the toolkit's twin (engine convention, blocks) and
    the policy's own simulation (model convention, tokens), with ``M``; returns the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inst = cmp.plan.instance
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    eng = cmp.engine_memory
    ax.step(
        range(len(eng)),
        eng,
        where="post",
        lw=1.6,
        color="black",
        label=f"vLLM {cmp.run.engine} ({cmp.run.device}), blocks x {cmp.plan.block_size}",
    )
    twin_mem = None
    if cmp.twin_run is not None and cmp.twin is not None:
        twin_mem = _twin_of_run(cmp.twin, inst, cmp.twin_run, cmp.plan.block_size).memory
    elif cmp.reference_sim is not None:
        twin_mem = cmp.reference_sim.memory
    if twin_mem is not None:
        ax.step(
            range(len(twin_mem)),
            twin_mem,
            where="post",
            lw=1.2,
            ls="--",
            color="tab:orange",
            label=f"model {cmp.twin} (engine conv., blocks)",
        )
    own = cmp.policy_sim.memory
    ax.step(
        range(len(own)),
        own,
        where="post",
        lw=1.0,
        ls=":",
        color="tab:blue",
        label=f"model {cmp.plan.policy} (model conv., tokens)",
    )
    ax.axhline(inst.capacity, color="crimson", lw=1, ls="--", label="M")
    ax.set_xlabel("round = engine step")
    ax.set_ylabel("KV tokens held")
    ax.set_title(cmp.verdict_line()[:110], fontsize=8)
    ax.legend(loc="lower left", fontsize=7)
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
    return ax
