"""Replay a trace through transformers' continuous batching, a paged-KV engine, step by step.

vLLM's CPU attention kernel needs blocks of a multiple of 32 tokens (``cpu_attn.cpp``: "Check
failed: input.block_size % attn_impl::BlockSizeAlignment == 0", seen with blocks of 16 and 1), so
the full vLLM engine cannot take the bundled traces' ``M`` of 22-96 tokens.  Transformers'
continuous batching (``transformers/generation/continuous_batching``) is a second real engine:
its ``PagedAttentionCache`` stores the KV cache in blocks of ``page_size`` tokens, its scheduler
allocates them step by step, and the forward passes are the model's own, on CPU or CUDA.  This
module drives it one step per round (no background thread) and checks its memory accounting
against the model's (``docs/model.md`` sections 2, 7 and 9):

* **Rounds are engine steps.** Request ``i`` is added just before step ``a_i``; a round with
  nothing to compute is an empty step.
* **Capacity.** ``M`` tokens become ``M // B`` blocks of ``B`` tokens (``num_blocks``); the
  engine's two trash sectors are outside that count.  ``B`` below 4 is allowed by relaxing the
  configuration's lower bound on ``page_size`` (a bound of the configuration, not of the kernel:
  the paged attention is written in PyTorch).
* **Settings that keep the engine's decisions memory-bound:** the FIFO scheduler with
  ``safety_margin=0`` (its default reserves 15 % of the blocks), a token budget of ``M + n``
  (no prompt is split), no prefix sharing, no decode fast path, no CUDA graphs, no asynchronous
  batching, SDPA attention everywhere, and no CPU offload space, so an evicted request is "soft
  reset": requeued with its generated tokens as prompt, which is
  ``eviction=resume`` of model section 7.
* **What is compared, per step and per request,** with counts kept here, not read from the
  engine: a request computed in the step that produces its token ``j + 1`` holds
  ``ceil((s + j) / B)`` blocks (model section 9; ``s`` is the arrival prompt, ``j`` the tokens
  it produced so far, evictions included); a started request left out of the step (the engine
  calls it "starved"; a pause, ``docs/queueing.md`` Q1) holds ``ceil((s + j - 1) / B)``, what it
  held in its last step; every other request holds none (a finished request's blocks are freed
  in the step that samples its last token).  The pool's used blocks must equal the sum, and
  stay within ``M // B``.  Each request must produce exactly ``o`` tokens.

The engine's scheduling is its own (decode first, then waiting requests in arrival order,
skipping those that do not fit; starved requests are evicted newest first), and the model
states it as the extended-engine policy ``hf_fifo`` (``ratio/policies/hf_fifo.py``): the replay
also runs that twin and requires the same requests, with the same blocks, in every step, and the
same completion rounds.

Each busy step's wall time is recorded with its batch size and token count, and fitted to
``c0 + c1 * tokens`` (:func:`hardware_check.gpu_check.fit_step_times`), to calibrate the batch
time model (``docs/queueing.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hardware_check.mapping import PROMPT_TOKEN
from ratio.model import Instance

__all__ = ["PagedRun", "PagedStep", "load_model", "replay_paged", "plot_paged", "main"]

#: A model folder with only a config.json (2 layers, hidden 128); weights are random.
TINY_MODEL = Path(__file__).with_name("models") / "tiny-llama"

#: The model policy that restates the engine's scheduling rules (``ratio/policies/hf_fifo.py``).
TWIN = "hf_fifo"

#: An end-of-sequence id no model samples, so every request produces exactly ``o`` tokens.
NO_EOS = -1


@dataclass(frozen=True)
class PagedStep:
    """One engine step: who computed, what each request held, and how long it took."""

    step: int
    batch: tuple[int, ...]  # requests computed in the step
    tokens: int  # query tokens computed
    # blocks each request holds during the step (requests holding none left out)
    held: dict[int, int]
    expected: dict[int, int]  # the model's blocks for the same requests (section 9)
    pool_used: int  # used blocks as the engine's pool counts them
    evicted: tuple[int, ...]  # requests soft reset in the step
    seconds: float
    queries: dict[int, int] = field(default_factory=dict)  # tokens each request computes
    expected_queries: dict[int, int] = field(default_factory=dict)  # the model's (section 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "batch": list(self.batch),
            "tokens": self.tokens,
            "held": {str(k): v for k, v in sorted(self.held.items())},
            "expected": {str(k): v for k, v in sorted(self.expected.items())},
            "pool_used": self.pool_used,
            "evicted": list(self.evicted),
            "seconds": self.seconds,
            "queries": {str(k): v for k, v in sorted(self.queries.items())},
        }


@dataclass(frozen=True)
class PagedRun:
    """A replay's record and its verdict (accounting, and schedule against the twin)."""

    source: str
    n: int
    capacity: int
    block_size: int
    blocks: int
    steps: tuple[PagedStep, ...]
    finish: tuple[int, ...]  # step in which each request produced its last token
    produced: tuple[int, ...]
    mismatches: tuple[dict[str, Any], ...]  # accounting (sections 2, 7, 9)
    schedule_mismatches: tuple[dict[str, Any], ...]  # against the twin policy, hf_fifo
    twin_evictions: int
    twin_paused: int
    engine: str
    device: str
    model: str
    attention: str
    seconds: float
    step_fit: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "match" if not (self.mismatches or self.schedule_mismatches) else "mismatch"

    @property
    def evictions(self) -> int:
        return sum(len(s.evicted) for s in self.steps)

    @property
    def paused_request_steps(self) -> int:
        return sum(len(set(s.held) - set(s.batch)) for s in self.steps)

    def verdict_line(self) -> str:
        head = (
            f"verdict: {self.verdict} ({len(self.mismatches)} accounting and "
            f"{len(self.schedule_mismatches)} schedule mismatches against {TWIN} in "
            f"{len(self.steps)} steps; {self.evictions} evictions, "
            f"{self.paused_request_steps} paused request-steps)"
        )
        first = (self.mismatches or self.schedule_mismatches or (None,))[0]
        if first is not None:
            head += f"; first: {json.dumps(first)}"
        return head

    def to_dict(self, *, steps: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": "kvratio-paged-replay/1",
            "trace": self.source,
            "n": self.n,
            "M": self.capacity,
            "block_size": self.block_size,
            "blocks": self.blocks,
            "engine": self.engine,
            "device": self.device,
            "model": self.model,
            "attention": self.attention,
            "steps": len(self.steps),
            "busy_steps": sum(1 for s in self.steps if s.batch),
            "evictions": self.evictions,
            "paused_request_steps": self.paused_request_steps,
            "peak_blocks": max((s.pool_used for s in self.steps), default=0),
            "makespan": max(self.finish, default=-1) + 1,
            "total_latency": sum(self.finish) + len(self.finish),
            "verdict": self.verdict,
            "mismatches": len(self.mismatches) + len(self.schedule_mismatches),
            "accounting_mismatches": len(self.mismatches),
            "schedule_mismatches": len(self.schedule_mismatches),
            "first_mismatch": (self.mismatches or self.schedule_mismatches or (None,))[0],
            "twin": TWIN,
            "twin_evictions": self.twin_evictions,
            "twin_paused_request_steps": self.twin_paused,
            "seconds": self.seconds,
            "step_fit": self.step_fit,
        }
        if steps:
            d["records"] = [s.to_dict() for s in self.steps]
        return d


def too_large(inst: Instance, block_size: int) -> str | None:
    """Why ``inst`` cannot run with blocks of ``block_size`` (a request's peak, section 9,
    needs more than ``M // B`` blocks), or None."""
    if block_size < 1:
        return f"the block size must be at least 1, got {block_size}"
    blocks = inst.capacity // block_size
    for i, r in enumerate(inst.requests):
        need = math.ceil((r.prompt + r.output - 1) / block_size)
        if need > blocks:
            return (
                f"request {i} needs {need} blocks of {block_size} at its peak; the engine has "
                f"{blocks} (M = {inst.capacity})"
            )
    return None


def load_model(model_dir: str | Path, device: str, dtype: str, seed: int) -> Any:
    """A causal LM from ``model_dir/config.json`` with random weights, built on ``device``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(str(model_dir))
    torch.manual_seed(seed)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(cfg, dtype=getattr(torch, dtype)).eval()


def _build(inst: Instance, block_size: int, model: Any, seed: int) -> tuple[Any, Any]:
    """The manager and its batch processor for ``model``, built but not started."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig
    from transformers.generation.continuous_batching import initialization
    from transformers.generation.continuous_batching.continuous_api import (
        ContinuousBatchingManager,
    )

    if not hasattr(ContinuousBatchingManager, "_create_batch_processor"):
        import transformers

        raise RuntimeError(
            f"transformers {transformers.__version__}: the continuous-batching internals this "
            "replay drives (written against 5.19.0) are not there"
        )
    if block_size < initialization.BOUNDS["page_size"][0]:
        initialization.BOUNDS["page_size"] = (1, initialization.BOUNDS["page_size"][1])
    cb = ContinuousBatchingConfig(
        page_size=block_size,
        num_blocks=inst.capacity // block_size,
        max_batch_tokens=inst.capacity + inst.n,
        scheduler_type="fifo",
        safety_margin=0.0,
        max_blocks_per_request=0,
        use_cuda_graph=False,
        use_async_batching=False,  # one step is computed and applied before the next
        auto_switch_to_flash=False,  # the same attention on every machine
        allow_block_sharing=False,
        cpu_offload_space=0,
        seed=seed,
    )
    gen = GenerationConfig(do_sample=False, max_new_tokens=1)
    manager = ContinuousBatchingManager(model, gen, cb)
    processor = manager._create_batch_processor()
    manager.batch_processor = processor
    return manager, processor


def _allocator(processor: Any, blocks: int) -> Any:
    """The one full-attention allocator, after checking that a sector is one block."""
    cache = processor.cache
    if list(cache.cache_allocators) != ["full_attention"]:
        raise RuntimeError(
            f"the model has attention types {list(cache.cache_allocators)}; the replay "
            "compares full-attention models only"
        )
    alloc = cache.cache_allocators["full_attention"]
    if alloc.blocks_per_sector != 1 or cache.num_sectors != blocks:
        raise RuntimeError(
            f"the engine's pool is {cache.num_sectors} sectors of {alloc.blocks_per_sector} "
            f"blocks, the replay wants {blocks} sectors of one block"
        )
    return alloc


def replay_paged(
    inst: Instance,
    *,
    block_size: int = 4,
    model: str | Path = TINY_MODEL,
    device: str = "cpu",
    dtype: str = "float32",
    seed: int = 0,
    max_steps: int | None = None,
    source: str = "trace",
    torch_model: Any = None,
) -> PagedRun:
    """Replay ``inst`` through transformers' continuous batching and check its KV accounting.

    Parameters
    ----------
    inst
        The trace; requests arrive at their rounds.
    block_size
        ``B``, the engine's ``page_size`` in tokens.
    model
        A folder with a ``config.json`` of a full-attention causal LM; weights are random.
    device, dtype
        Where the engine runs ("cpu" or "cuda") and the weights' torch dtype.
    seed
        Seeds the random weights (greedy decoding: the run is then deterministic).
    source
        The trace's name, for the report.
    torch_model
        A model built by :func:`load_model`, to reuse across replays (then ``model``,
        ``dtype`` and the weights' seed are its own).
    max_steps
        Stop after this many steps (default: ``10 * (sum of outputs + n) + last arrival``).

    Returns
    -------
    PagedRun
        The steps, the accounting mismatches (none means ``match``) and a step-time fit.

    Raises
    ------
    ratio.errors.InputError
        If a request is larger than ``M`` or ``M < B``.
    """
    why = too_large(inst, block_size)
    if why:
        from ratio.errors import InputError

        raise InputError(why)
    blocks = inst.capacity // block_size
    reqs = inst.requests
    t0 = time.perf_counter()
    if torch_model is None:
        torch_model = load_model(model, device, dtype, seed)
    manager, processor = _build(inst, block_size, torch_model, seed)
    alloc = _allocator(processor, blocks)
    limit = max_steps or 10 * (sum(r.output for r in reqs) + len(reqs)) + max(
        (r.arrival for r in reqs), default=0
    )
    steps, produced, finish = _drive(inst, manager, processor, alloc, torch_model, device, limit)
    mismatches = [m for s in steps for m in _accounting(s, blocks)]
    for i, r in enumerate(reqs):
        if produced[i] != r.output:
            mismatches.append({"request": i, "produced": produced[i], "output": r.output})
    _release(manager)
    schedule, twin_evictions, twin_paused = _against_twin(inst, block_size, steps, finish)
    from hardware_check.gpu_check import fit_step_times

    busy = [s for s in steps if s.batch][3:]  # the first steps include warm-up
    import transformers

    return PagedRun(
        source=source,
        n=inst.n,
        capacity=inst.capacity,
        block_size=block_size,
        blocks=blocks,
        steps=tuple(steps),
        finish=tuple(finish),
        produced=tuple(produced),
        mismatches=tuple(mismatches),
        schedule_mismatches=tuple(schedule),
        twin_evictions=twin_evictions,
        twin_paused=twin_paused,
        engine=f"transformers {transformers.__version__} continuous batching",
        device=device,
        model=str(model),
        attention=str(torch_model.config._attn_implementation),
        seconds=time.perf_counter() - t0,
        step_fit=fit_step_times([s.tokens for s in busy], [s.seconds for s in busy]),
    )


def _against_twin(
    inst: Instance, block_size: int, steps: list[PagedStep], finish: list[int]
) -> tuple[list[dict[str, Any]], int, int]:
    """The engine's run against the model's twin :data:`TWIN` on the extended engine (engine
    convention, blocks of ``block_size``, ``eviction=resume``): the same requests computed with
    the same blocks in every step, and the same completion rounds. Returns the differences, and
    the twin's evictions and paused request-steps."""
    from hardware_check.compare import paused_request_steps, twin_steps
    from ratio.queueing import simulate_extended

    res = simulate_extended(
        inst,
        TWIN,
        convention="engine",
        block_size=block_size,
        eviction="resume",
        record_batches=True,
    )
    model = twin_steps(res, block_size)
    out: list[dict[str, Any]] = []
    engine_rounds = {s.step for s in steps if s.batch}
    for r in sorted(engine_rounds | set(model)):
        step = steps[r] if r < len(steps) else None
        eng = {i: step.held[i] for i in step.batch} if step is not None else {}
        mod = model.get(r, {})
        if eng != mod:
            out.append(
                {
                    "step": r,
                    "engine": {str(k): v for k, v in sorted(eng.items())},
                    "model": {str(k): v for k, v in sorted(mod.items())},
                }
            )
    for i, (f, c) in enumerate(zip(finish, res.completions, strict=True)):
        if f + 1 != c:
            out.append({"request": i, "engine_completion": f + 1, "model_completion": c})
    return out, res.evictions, paused_request_steps(res, model)


def _drive(
    inst: Instance,
    manager: Any,
    processor: Any,
    alloc: Any,
    torch_model: Any,
    device: str,
    limit: int,
) -> tuple[list[PagedStep], list[int], list[int]]:
    """Run the engine one step per round: the steps, tokens produced and finishing steps."""
    reqs = inst.requests
    sched = processor.scheduler
    batches = _record_batches(sched)
    index = {f"r{i}": i for i in range(len(reqs))}
    order = sorted(range(len(reqs)), key=lambda i: (reqs[i].arrival, i))
    produced = [0] * len(reqs)
    finish = [-1] * len(reqs)
    resident: set[int] = set()
    steps: list[PagedStep] = []
    k = 0
    rnd = 0
    while k < len(order) or sched.has_pending_requests():
        if rnd >= limit:
            raise RuntimeError(f"the engine has not finished after {limit} steps")
        while k < len(order) and reqs[order[k]].arrival <= rnd:
            i = order[k]
            manager.add_request(
                [PROMPT_TOKEN] * reqs[i].prompt,
                request_id=f"r{i}",
                max_new_tokens=reqs[i].output,
                eos_token_id=NO_EOS,
            )
            k += 1
        batches.clear()
        if not processor.prepare_next_batch():
            steps.append(PagedStep(rnd, (), 0, {}, {}, 0, (), 0.0))
            rnd += 1
            continue
        batch = [b for b in batches if b][-1]
        step = _observe(rnd, batch, index, reqs, produced, resident, alloc, processor)
        ts = time.perf_counter()
        processor._generation_step(torch_model)
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
        seconds = time.perf_counter() - ts
        processor.update_batch()
        for f in batch:
            i = index[f.state.request_id]
            if f.has_new_token:
                produced[i] += 1
                if produced[i] == reqs[i].output:
                    finish[i] = rnd
                    resident.discard(i)
        steps.append(replace(step, seconds=seconds))
        rnd += 1
    return steps, produced, finish


def _record_batches(sched: Any) -> list[Any]:
    """Wrap ``sched.schedule_batch`` so that every batch it returns lands in the list."""
    batches: list[Any] = []
    schedule_batch = sched.schedule_batch

    def recording_schedule(*args: Any, **kwargs: Any) -> Any:
        out = schedule_batch(*args, **kwargs)
        batches.append(out[0])
        return out

    sched.schedule_batch = recording_schedule
    return batches


def _release(manager: Any) -> None:
    """Drop the batch processor now: its ``__del__`` fails if it runs at interpreter exit."""
    import gc

    manager.batch_processor = None
    gc.collect()


def _observe(
    rnd: int,
    batch: list[Any],
    index: dict[str, int],
    reqs: Any,
    produced: list[int],
    resident: set[int],
    alloc: Any,
    processor: Any,
) -> PagedStep:
    """What the engine holds and computes in step ``rnd``, and what the model says.

    ``resident`` (updated here) holds the requests computed since their last start and not
    finished or evicted: counts kept by the replay, not read from the engine.  Evictions are the
    engine's decision: a resident request it no longer counts as active.
    """
    queries = {index[f.state.request_id]: int(f.query_length) for f in batch}
    held = {index[rid]: len(bt) for rid, bt in alloc.block_table.items() if bt}
    active = {index[rid] for rid in processor.scheduler.active_requests}
    evicted = tuple(sorted(resident - active))
    resident -= set(evicted)
    B = alloc.tokens_per_page
    expected: dict[int, int] = {}
    expected_queries: dict[int, int] = {}
    for i in sorted(resident | set(queries)):
        s, j = reqs[i].prompt, produced[i]
        if i in queries:
            expected[i] = math.ceil((s + j) / B)
            # a start (or a resume, with the j tokens kept) computes s + j tokens; a decode 1
            expected_queries[i] = 1 if i in resident else s + j
        else:
            expected[i] = math.ceil((s + j - 1) / B)  # paused: its last step's blocks
    resident |= set(queries)
    cache = processor.cache
    pool_used = (
        cache.num_sectors - cache.pool.num_free_sectors - cache.pool.count_free_blocks(alloc.index)
    )
    return PagedStep(
        rnd,
        tuple(sorted(queries)),
        sum(queries.values()),
        held,
        expected,
        pool_used,
        evicted,
        0.0,
        queries,
        expected_queries,
    )


def _accounting(step: PagedStep, blocks: int) -> list[dict[str, Any]]:
    """Every difference between the engine and the model in one step: tokens computed per
    request (section 2: a start computes the prompt, kept tokens included, in one step), blocks
    per request (section 9), and the pool's count against their sum and ``M // B``."""
    out = []
    for i, q in sorted(step.queries.items()):
        if q != step.expected_queries.get(i):
            out.append(
                {
                    "step": step.step,
                    "request": i,
                    "engine_tokens": q,
                    "model_tokens": step.expected_queries.get(i),
                }
            )
    for i in sorted(set(step.held) | set(step.expected)):
        if step.held.get(i, 0) != step.expected.get(i, 0):
            out.append(
                {
                    "step": step.step,
                    "request": i,
                    "engine_blocks": step.held.get(i, 0),
                    "model_blocks": step.expected.get(i, 0),
                    "in_batch": i in step.batch,
                }
            )
    total = sum(step.held.values())
    if step.pool_used != total or total > blocks:
        out.append(
            {"step": step.step, "pool_used": step.pool_used, "held": total, "capacity": blocks}
        )
    return out


def plot_paged(run: PagedRun, path: str | None = None, ax: Any = None) -> Any:
    """Blocks held per step: the engine's pool and the model's sum, with ``M // B``; returns
    the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    x = [s.step for s in run.steps]
    ax.step(
        x,
        [s.pool_used for s in run.steps],
        where="post",
        lw=1.6,
        color="black",
        label=f"{run.engine} ({run.device}), pool",
    )
    ax.step(
        x,
        [sum(s.expected.values()) for s in run.steps],
        where="post",
        lw=1.2,
        ls="--",
        color="tab:orange",
        label="model, section 9",
    )
    ax.axhline(run.blocks, color="crimson", lw=1, ls="--", label="M // B")
    ax.set_xlabel("round = engine step")
    ax.set_ylabel(f"KV blocks of {run.block_size} tokens")
    ax.set_title(run.verdict_line()[:110], fontsize=8)
    ax.legend(loc="lower left", fontsize=7)
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
    return ax


def _hall_of_fame_traces() -> list[tuple[str, Instance]]:
    """Every distinct trace of the hall of fame within the vLLM replay's limits."""
    from hardware_check.hall_of_fame import replayable_lines
    from ratio.io import from_dict

    out: list[tuple[str, Instance]] = []
    seen: set[str] = set()
    for name, entry in replayable_lines():
        key = json.dumps(entry["trace"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append((name, from_dict(entry["trace"], source=name.split(":")[0])))
    return out


def main(argv: list[str] | None = None) -> int:
    # long: a CLI entry: read the options, replay each trace, print a table or one JSON object
    from ratio.cli import table
    from ratio.errors import InputError
    from ratio.io import load

    ap = argparse.ArgumentParser(
        prog="python -m hardware_check.paged_replay", description=(__doc__ or "").splitlines()[0]
    )
    ap.add_argument("traces", nargs="*", help="kvratio-trace/1 JSON files")
    ap.add_argument(
        "--hall-of-fame", action="store_true", help="replay every distinct hall-of-fame trace"
    )
    ap.add_argument("--block-size", type=int, default=4, help="B in tokens (default 4)")
    ap.add_argument("--model", default=str(TINY_MODEL), help="folder with a config.json")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--records", default=None, help="write every step's records as JSON here")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    try:
        insts = [(t, load(t)) for t in args.traces]
        if args.hall_of_fame:
            fits = [(k, i) for k, i in _hall_of_fame_traces() if not too_large(i, args.block_size)]
            insts += fits
        if not insts:
            raise InputError("give at least one trace, or --hall-of-fame")
        if not (Path(args.model) / "config.json").is_file():
            raise InputError(f"--model {args.model}: no config.json there")
        runs = []
        torch_model = load_model(args.model, args.device, args.dtype, args.seed)
        for name, inst in insts:
            runs.append(
                replay_paged(
                    inst,
                    block_size=args.block_size,
                    model=args.model,
                    device=args.device,
                    dtype=args.dtype,
                    seed=args.seed,
                    source=name,
                    torch_model=torch_model,
                )
            )
            print(f"{name}: {runs[-1].verdict_line()}", file=sys.stderr)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.records:
        Path(args.records).write_text(
            json.dumps({"runs": [r.to_dict(steps=True) for r in runs]}, default=str)
        )
    bad = sum(r.verdict != "match" for r in runs)
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in runs], "mismatched_traces": bad}))
    else:
        rows = [
            (
                Path(r.source).name,
                r.n,
                r.capacity,
                len(r.steps),
                r.evictions,
                r.paused_request_steps,
                r.verdict,
                len(r.mismatches) + len(r.schedule_mismatches),
            )
            for r in runs
        ]
        print(
            table(
                rows, ("trace", "n", "M", "steps", "evictions", "paused", "verdict", "mismatches")
            )
        )
        print(
            f"{len(runs)} traces through {runs[0].engine} ({runs[0].device}), "
            f"B = {args.block_size}: {len(runs) - bad} match, {bad} mismatch"
        )
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
