"""Replay a trace through the full vLLM engine (model forward passes included), in-process.

``VLLM_ENABLE_V1_MULTIPROCESSING=0`` keeps the engine core in this process, so the same
:class:`~hardware_check.observe.Recorder` that watches the scheduler-alone replay wraps the
engine's own scheduler.  The model is a folder holding only a ``config.json`` with
``load_format="dummy"`` (random weights): the tiny Llama on CPU, a real model shape (e.g.
Llama-3.1-8B) on a GPU.  Each request gets ``max_tokens = min_tokens = o`` with ``ignore_eos``,
so it produces exactly ``o`` tokens whatever the weights.

Each ``LLMEngine.step()`` is one round; its wall time is recorded with the batch's token count,
which is what the GPU check fits to ``c0 + c1 * tokens`` (``docs/model.md`` section 2).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hardware_check.mapping import PROMPT_TOKEN, ReplayPlan
from hardware_check.observe import EngineRun, Recorder
from hardware_check.scheduler_replay import TINY_MODEL, _step_limit

__all__ = ["replay_engine", "make_llm"]


def make_llm(
    plan: ReplayPlan,
    *,
    model: str | Path = TINY_MODEL,
    device: str = "cpu",
    dtype: str | None = None,
    seed: int = 0,
) -> Any:
    """Build an in-process ``vllm.LLM`` whose KV pool is exactly ``plan.num_blocks`` blocks."""
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    if device == "cpu":
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM

    from ratio.interop.vllm_plugin import guard_llvmlite

    guard_llvmlite()  # numba (the compiled optimum) may be imported in this process
    kwargs: dict[str, Any] = dict(
        model=str(model),
        load_format="dummy",
        skip_tokenizer_init=True,
        block_size=plan.block_size,
        num_gpu_blocks_override=plan.num_blocks,
        enable_prefix_caching=False,
        async_scheduling=False,
        scheduling_policy=plan.scheduling_policy,
        max_num_seqs=plan.max_num_seqs,
        max_num_batched_tokens=plan.max_num_batched_tokens,
        max_model_len=plan.max_model_len,
        enforce_eager=True,
        seed=seed,
        disable_log_stats=True,
    )
    if dtype is not None:
        kwargs["dtype"] = dtype
    elif device == "cpu":
        kwargs["dtype"] = "float32"
    if device == "cuda":
        kwargs["gpu_memory_utilization"] = 0.9
    return LLM(**kwargs)


def engine_scheduler(llm: Any) -> Any:
    """The scheduler object inside an in-process engine (vLLM 0.32 layout)."""
    core = llm.llm_engine.engine_core  # InprocClient
    inner = getattr(core, "engine_core", None)
    if inner is None or not hasattr(inner, "scheduler"):
        raise RuntimeError(
            "the engine core is not in this process: set VLLM_ENABLE_V1_MULTIPROCESSING=0 "
            "before vllm is imported"
        )
    return inner.scheduler


def replay_engine(
    plan: ReplayPlan,
    *,
    model: str | Path = TINY_MODEL,
    device: str = "cpu",
    dtype: str | None = None,
    llm: Any = None,
    max_steps: int | None = None,
) -> EngineRun:
    """Replay ``plan`` through the full engine; see :func:`replay_scheduler` for the output.

    ``llm`` may be passed to reuse an engine (its pool and settings must match ``plan``).
    """
    t0 = time.perf_counter()
    if llm is None:
        llm = make_llm(plan, model=model, device=device, dtype=dtype)
    engine = llm.llm_engine
    sched = engine_scheduler(llm)
    if sched.policy.value != plan.scheduling_policy:
        raise RuntimeError(
            f"the engine schedules by {sched.policy.value!r}, the plan wants "
            f"{plan.scheduling_policy!r}"
        )
    if sched.max_num_running_reqs < len(plan.requests):
        raise RuntimeError(
            f"the engine runs at most {sched.max_num_running_reqs} requests at once; the trace "
            f"has {len(plan.requests)}, so that limit could bind (build it with max_num_seqs)"
        )
    if sched.max_num_scheduled_tokens < plan.max_num_batched_tokens:
        raise RuntimeError(
            f"the engine's token budget {sched.max_num_scheduled_tokens} is below "
            f"{plan.max_num_batched_tokens}: it could bind"
        )
    if sched.get_num_unfinished_requests():
        raise RuntimeError("the engine still has requests from an earlier replay")
    pool = sched.kv_cache_manager.block_pool.get_num_free_blocks()
    if pool != plan.usable_blocks:
        raise RuntimeError(
            f"the engine has {pool} free KV blocks, the plan wants {plan.usable_blocks}"
        )
    index_of = {er.request_id: er.index for er in plan.requests}
    rec = Recorder(sched, index_of)
    try:
        return _loop(plan, engine, rec, index_of, max_steps, t0, device, model)
    finally:
        rec.close()


def _loop(
    plan: ReplayPlan,
    engine: Any,
    rec: Recorder,
    index_of: dict[str, int],
    max_steps: int | None,
    t0: float,
    device: str,
    model: str | Path,
) -> EngineRun:
    # long: vLLM's engine step loop with the recorder's hooks; one iteration is one engine step
    import vllm
    from vllm import SamplingParams

    pending = sorted(plan.requests, key=lambda er: (er.arrival_round, er.index))
    n = len(pending)
    ptr = 0
    completion: dict[int, int] = {}
    limit = max_steps or _step_limit(plan)
    setup = time.perf_counter() - t0
    # Every request gets its own id per replay so that an engine can be reused.
    t = 0
    while len(completion) < n:
        if t > limit:
            raise RuntimeError(f"replay did not finish within {limit} steps")
        rec.round = t
        while ptr < n and pending[ptr].arrival_round <= t:
            er = pending[ptr]
            params = SamplingParams(
                max_tokens=er.output,
                min_tokens=er.output,
                ignore_eos=True,
                detokenize=False,
            )
            engine.add_request(
                er.request_id,
                {"prompt_token_ids": [PROMPT_TOKEN] * er.prompt},
                params,
                arrival_time=er.arrival_time,
                priority=er.priority,
            )
            ptr += 1
        if not engine.has_unfinished_requests():
            rec.idle()
            t += 1
            continue
        outputs = rec.step(engine.step)
        for out in outputs:
            if out.finished:
                i = index_of[out.request_id]
                completion[i] = t + 1
                produced = len(out.outputs[0].token_ids)
                if produced != plan.requests[i].output:
                    raise RuntimeError(
                        f"request {i} produced {produced} tokens, expected "
                        f"{plan.requests[i].output}"
                    )
        t += 1
    return EngineRun(
        engine="full",
        device=device,
        block_size=plan.block_size,
        usable_blocks=plan.usable_blocks,
        steps=tuple(rec.records),
        runs=rec.runs,
        completion=completion,
        preemptions={i: rec.preemptions.get(i, 0) for i in range(n)},
        vllm_version=vllm.__version__,
        seconds=time.perf_counter() - t0,
        meta={"setup_seconds": setup, "model": str(model)},
    )
