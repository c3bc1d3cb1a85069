"""What the replay records of a vLLM scheduler, step by step (issue 4, deliverable 2).

The same :class:`Recorder` watches vLLM's scheduler in both replay paths (scheduler alone with a
fake model output, and the full engine in-process): it wraps ``Scheduler.schedule`` and, right
after each call, reads which requests were scheduled, how many KV blocks each holds *during*
that step (``docs/model.md`` section 9: blocks are freed only in the step that samples the last
token), which were preempted, and who waits.  Nothing here imports vLLM at module level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StepRecord", "EngineRun", "Recorder"]


@dataclass(frozen=True)
class StepRecord:
    """One engine step (= one model round).

    ``blocks[i]`` is the number of KV blocks request ``i`` holds during the step,
    ``tokens[i]`` the tokens it was scheduled to compute (a run's first step computes its whole
    prompt, plus the outputs it already has after a preemption), ``computed[i]`` its tokens with
    KV written once the step ends.
    """

    step: int
    running: tuple[int, ...]
    waiting: tuple[int, ...]
    blocks: dict[int, int]
    tokens: dict[int, int]
    computed: dict[int, int]
    preempted: tuple[int, ...]
    new_runs: tuple[int, ...]
    free_blocks: int
    seconds: float = 0.0

    @property
    def batch_tokens(self) -> int:
        return sum(self.tokens.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "running": list(self.running),
            "waiting": list(self.waiting),
            "blocks": {str(k): v for k, v in sorted(self.blocks.items())},
            "tokens": {str(k): v for k, v in sorted(self.tokens.items())},
            "preempted": list(self.preempted),
            "new_runs": list(self.new_runs),
            "free_blocks": self.free_blocks,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class EngineRun:
    """A whole replay as the engine did it.

    ``runs[i]`` lists ``(start_step, produced_before)`` for each run of request ``i`` (a run
    starts when the request is scheduled with no KV; ``produced_before`` is the number of output
    tokens it already had, which vLLM keeps across a preemption).  ``completion[i]`` is the step
    after the one that sampled its last token (the model's ``C_i``).
    """

    engine: str
    device: str
    block_size: int
    usable_blocks: int
    steps: tuple[StepRecord, ...]
    runs: dict[int, list[tuple[int, int]]]
    completion: dict[int, int]
    preemptions: dict[int, int]
    vllm_version: str = ""
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(self.runs[i][-1][0] for i in sorted(self.runs))

    @property
    def total_preemptions(self) -> int:
        return sum(self.preemptions.values())

    def blocks_per_step(self) -> list[int]:
        return [sum(s.blocks.values()) for s in self.steps]


class Recorder:
    """Wrap ``scheduler.schedule`` and record a :class:`StepRecord` per call.

    Parameters
    ----------
    scheduler
        A vLLM v1 ``Scheduler``.
    index_of
        Map from vLLM request id to the trace's request index.
    """

    def __init__(self, scheduler: Any, index_of: dict[str, int]) -> None:
        self.scheduler = scheduler
        self.index_of = index_of
        self._cache: dict[str, int] = {}
        self.round = 0
        self.records: list[StepRecord] = []
        self.runs: dict[int, list[tuple[int, int]]] = {}
        self.preemptions: dict[int, int] = {}
        self._last: dict[str, Any] | None = None
        self._inner = scheduler.schedule
        scheduler.schedule = self._schedule  # instance attribute shadows the method

    def _schedule(self, *args: Any, **kwargs: Any) -> Any:
        sched = self.scheduler
        before = {r.request_id: r.num_preemptions for r in self._all_requests()}
        out = self._inner(*args, **kwargs)
        kvm = sched.kv_cache_manager
        tokens: dict[int, int] = {}
        blocks: dict[int, int] = {}
        computed: dict[int, int] = {}
        new_runs = []
        for rid, k in out.num_scheduled_tokens.items():
            i = self.index(rid)
            tokens[i] = int(k)
            blocks[i] = sum(len(g) for g in kvm.get_block_ids(rid))
            req = sched.requests[rid]
            # _update_after_schedule has already advanced num_computed_tokens by k.
            computed[i] = int(req.num_computed_tokens)
            if req.num_computed_tokens == k:  # started from no KV: a new run
                new_runs.append(i)
                self.runs.setdefault(i, []).append((self.round, len(req.output_token_ids)))
        preempted = []
        for r in self._all_requests():
            if r.num_preemptions > before.get(r.request_id, 0):
                i = self.index(r.request_id)
                preempted.append(i)
                self.preemptions[i] = self.preemptions.get(i, 0) + (
                    r.num_preemptions - before.get(r.request_id, 0)
                )
        waiting = tuple(sorted(self.index(r.request_id) for r in sched.waiting))
        self._last = {
            "running": tuple(sorted(tokens)),
            "waiting": waiting,
            "blocks": blocks,
            "tokens": tokens,
            "computed": computed,
            "preempted": tuple(sorted(preempted)),
            "new_runs": tuple(sorted(new_runs)),
            "free_blocks": int(kvm.block_pool.get_num_free_blocks()),
        }
        return out

    def close(self) -> None:
        """Stop recording: the scheduler's own ``schedule`` method is visible again."""
        if self.scheduler.__dict__.get("schedule") == self._schedule:
            del self.scheduler.schedule

    def index(self, rid: str) -> int:
        """Trace index of a vLLM request id (the engine appends ``-<random>`` to ours)."""
        i = self._cache.get(rid)
        if i is None:
            i = self.index_of.get(rid)
            if i is None:
                i = self.index_of[rid.rsplit("-", 1)[0]]
            self._cache[rid] = i
        return i

    def _all_requests(self) -> list[Any]:
        return list(self.scheduler.requests.values())

    def step(self, fn: Any) -> Any:
        """Run one engine step ``fn()`` as round ``self.round``, timing it; record the step."""
        self._last = None
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        if self._last is None:
            raise RuntimeError("the engine step did not call the scheduler")
        self.records.append(StepRecord(step=self.round, seconds=dt, **self._last))
        return result

    def idle(self) -> None:
        """A round in which the engine has nothing to do."""
        self.records.append(
            StepRecord(
                step=self.round,
                running=(),
                waiting=(),
                blocks={},
                tokens={},
                computed={},
                preempted=(),
                new_runs=(),
                free_blocks=int(self.scheduler.kv_cache_manager.block_pool.get_num_free_blocks()),
            )
        )
