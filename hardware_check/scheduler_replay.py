"""Replay a trace through vLLM's own scheduler and KV-cache manager, with a fake model output.

This is how vLLM's tests drive the scheduler (``tests/v1/core/utils.py::create_scheduler``):
a ``Scheduler`` built from a ``VllmConfig`` and a ``KVCacheConfig`` holding exactly
``num_blocks`` blocks, requests added directly, and after every ``schedule()`` a
``ModelRunnerOutput`` that samples one token for each request whose prompt is fully computed.
No model runs and no GPU is needed; the scheduling code is vLLM's, unchanged.

Rounds map to steps as in :mod:`hardware_check.mapping` (``docs/model.md`` sections 2, 9).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hardware_check.mapping import PROMPT_TOKEN, ReplayPlan
from hardware_check.observe import EngineRun, Recorder

__all__ = ["replay_scheduler", "TINY_MODEL"]

#: A model folder with only a config.json (2 layers, hidden 128): enough for vLLM's configs.
TINY_MODEL = Path(__file__).with_name("models") / "tiny-llama"

#: The token the fake model "samples" (never the tiny model's EOS, 2).
SAMPLED_TOKEN = 5


def _quiet() -> None:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")


def build_scheduler(plan: ReplayPlan, model: str | Path = TINY_MODEL) -> Any:
    """A vLLM v1 ``Scheduler`` with ``plan.num_blocks`` KV blocks of ``plan.block_size``."""
    _quiet()
    import torch
    import vllm  # noqa: F401  (import order: vllm first avoids a circular import)
    from vllm.config import CacheConfig, ModelConfig, SchedulerConfig, VllmConfig
    from vllm.v1.core.sched.scheduler import Scheduler
    from vllm.v1.kv_cache_interface import FullAttentionSpec, KVCacheConfig, KVCacheGroupSpec
    from vllm.v1.structured_output import StructuredOutputManager

    model_config = ModelConfig(
        model=str(model),
        dtype="float32",
        seed=0,
        skip_tokenizer_init=True,
        max_model_len=plan.max_model_len,
    )
    scheduler_config = SchedulerConfig(
        max_model_len=plan.max_model_len,
        is_encoder_decoder=False,
        max_num_seqs=plan.max_num_seqs,
        max_num_batched_tokens=plan.max_num_batched_tokens,
        long_prefill_token_threshold=0,
        enable_chunked_prefill=True,
        policy=plan.scheduling_policy,  # type: ignore[arg-type]
        async_scheduling=False,
    )
    cache_config = CacheConfig(
        block_size=plan.block_size,
        enable_prefix_caching=False,
        cache_dtype="auto",
    )
    vllm_config = VllmConfig(
        model_config=model_config,
        scheduler_config=scheduler_config,
        cache_config=cache_config,
    )
    kv_cache_config = KVCacheConfig(
        num_blocks=plan.num_blocks,
        kv_cache_tensors=[],
        kv_cache_groups=[
            KVCacheGroupSpec(
                ["layer"],
                FullAttentionSpec(
                    plan.block_size, num_kv_heads=1, head_size=1, dtype=torch.float32
                ),
            )
        ],
    )
    cache_config.num_gpu_blocks = plan.num_blocks
    return Scheduler(
        vllm_config=vllm_config,
        kv_cache_config=kv_cache_config,
        structured_output_manager=StructuredOutputManager(vllm_config),
        block_size=plan.block_size,
        log_stats=False,
    )


def _make_request(er: Any) -> Any:
    from vllm import SamplingParams
    from vllm.v1.request import Request

    params = SamplingParams(
        max_tokens=er.output, min_tokens=er.output, ignore_eos=True, detokenize=False
    )
    return Request(
        request_id=er.request_id,
        prompt_token_ids=[PROMPT_TOKEN] * er.prompt,
        sampling_params=params,
        pooling_params=None,
        arrival_time=er.arrival_time,
        priority=er.priority,
    )


def replay_scheduler(plan: ReplayPlan, *, max_steps: int | None = None) -> EngineRun:
    """Replay ``plan`` through vLLM's scheduler alone (fake model output).

    Parameters
    ----------
    plan
        From :func:`hardware_check.mapping.plan_replay`.
    max_steps
        Safety limit (default: generous bound from the trace); exceeding it raises
        ``RuntimeError``.

    Returns
    -------
    EngineRun
        Per step and per request observations.
    """
    # long: vLLM's scheduler step loop with the recorder's hooks; one iteration is one step
    import vllm
    from vllm.v1.outputs import ModelRunnerOutput

    t0 = time.perf_counter()
    sched = build_scheduler(plan)
    index_of = {er.request_id: er.index for er in plan.requests}
    rec = Recorder(sched, index_of)
    pending = sorted(plan.requests, key=lambda er: (er.arrival_round, er.index))
    n = len(pending)
    ptr = 0
    completion: dict[int, int] = {}
    limit = max_steps or _step_limit(plan)
    t = 0
    while len(completion) < n:
        if t > limit:
            raise RuntimeError(f"replay did not finish within {limit} steps")
        rec.round = t
        while ptr < n and pending[ptr].arrival_round <= t:
            sched.add_request(_make_request(pending[ptr]))
            ptr += 1
        if not sched.has_requests():
            rec.idle()
            t += 1
            continue
        holder: dict[str, Any] = {}

        def one_step(holder: dict[str, Any] = holder) -> None:
            out = sched.schedule()
            req_ids = list(out.num_scheduled_tokens)
            sampled = []
            for rid in req_ids:
                req = sched.requests[rid]
                done_prefill = req.num_computed_tokens >= req.num_tokens
                sampled.append([SAMPLED_TOKEN] if done_prefill else [])
            mro = ModelRunnerOutput(
                req_ids=req_ids,
                req_id_to_index={r: k for k, r in enumerate(req_ids)},
                sampled_token_ids=sampled,
            )
            holder["out"] = sched.update_from_output(out, mro)
            holder["ids"] = req_ids

        rec.step(one_step)
        for rid in holder["ids"]:
            req = sched.requests.get(rid)
            if req is None or req.is_finished():
                completion[index_of[rid]] = t + 1
        t += 1
    return EngineRun(
        engine="scheduler",
        device="none",
        block_size=plan.block_size,
        usable_blocks=plan.usable_blocks,
        steps=tuple(rec.records),
        runs=rec.runs,
        completion=completion,
        preemptions={i: rec.preemptions.get(i, 0) for i in range(n)},
        vllm_version=vllm.__version__,
        seconds=time.perf_counter() - t0,
    )


def _step_limit(plan: ReplayPlan) -> int:
    """Rounds within which any non-stuck replay ends: every request can run alone."""
    reqs = plan.requests
    last = max(er.arrival_round for er in reqs)
    work = sum(er.output for er in reqs)
    return last + 4 * work + 8 * len(reqs) + 100
