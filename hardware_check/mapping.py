"""How a kvratio trace becomes vLLM requests (``docs/model.md`` sections 1, 2, 9).

Nothing here imports vLLM: the mapping is plain data, so it can be tested and shown without the
engine installed.

* **Rounds are engine steps.** Request ``i`` is added to the engine just before step ``a_i``;
  the replay runs one engine step per round (a round with nothing to schedule is an empty step).
* **Capacity.** ``M`` tokens become ``M // B`` usable KV blocks of ``B`` tokens; vLLM reserves
  one more (the null block, model §9), so the pool is ``num_gpu_blocks = M // B + 1``.  The toolkit
  counts memory in whole blocks with ``block_size=B`` against ``M`` tokens, which is the same
  test (``ceil(x / B) * B <= M`` iff ``ceil(x / B) <= M // B``).
* **Priorities.** The policy under test gives each request a key (model §8); vLLM's priority is an
  ``int``, so the key is replaced by its dense rank (order preserved, ties kept).  Ties then
  break by ``arrival_time``, which is ``a_i + i / (n + 1)``: distinct, and ordered by
  ``(a_i, i)``, the toolkit's tie order.  ``fcfs``-like policies run vLLM's ``fcfs`` policy.
* **Lengths.** Prompt ``s_i`` token ids (any ids: prefix caching is off), and
  ``max_tokens = min_tokens = o_i`` with ``ignore_eos``: exactly ``o_i`` output tokens.
* **Budgets.** ``max_num_seqs = n`` and ``max_num_batched_tokens >= M + n``: neither ever binds
  (every admitted prompt fits in ``M`` tokens, every running request decodes one token), so
  the scheduler is limited by KV memory alone, as in the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ratio.errors import InputError
from ratio.model import Instance
from ratio.policies import Policy, get_policy
from ratio.simulator import make_view

__all__ = ["EngineRequest", "ReplayPlan", "plan_replay", "reference_policy"]

#: A token id that is never the tiny model's EOS (2) and lies inside every vocabulary.
PROMPT_TOKEN = 7


@dataclass(frozen=True)
class EngineRequest:
    """One request as vLLM sees it."""

    index: int
    request_id: str
    arrival_round: int
    prompt: int
    output: int
    priority: int
    arrival_time: float


@dataclass(frozen=True)
class ReplayPlan:
    """Everything the engine needs to replay a trace under a policy."""

    instance: Instance
    policy: str
    scheduling_policy: str  # "priority" | "fcfs"
    block_size: int
    num_blocks: int  # pool size handed to vLLM, the null block included
    max_num_seqs: int
    max_num_batched_tokens: int
    max_model_len: int
    requests: tuple[EngineRequest, ...]
    reference: str | None  # policy spec that ratio.simulate must match step for step

    @property
    def usable_blocks(self) -> int:
        return self.num_blocks - 1

    def to_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "scheduling_policy": self.scheduling_policy,
            "block_size": self.block_size,
            "num_gpu_blocks": self.num_blocks,
            "usable_blocks": self.usable_blocks,
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "max_model_len": self.max_model_len,
            "reference": self.reference,
        }


_FCFS_NAMES = ("fcfs", "vllm_fcfs")


def reference_policy(policy: Policy) -> str | None:
    """The toolkit policy whose simulation vLLM must reproduce step for step.

    ``vllm_fcfs`` and ``vllm_priority`` are their own reference.  A key policy (``svf``,
    ``sjf``, ``spf``, ``fcfs``) runs in vLLM as priority scheduling with its key, which is the
    reactive ``vllm_priority`` with the matching ``priority=`` (``svf`` -> ``volume``, ``sjf`` ->
    ``output``, ``spf`` -> ``prompt``, ``fcfs`` -> ``vllm_fcfs``); other policies have no reactive
    twin and are compared on accounting only.
    """
    name = policy.name
    if name in ("vllm_fcfs", "vllm_priority"):
        return policy.spec
    twin = {"svf": "volume", "sjf": "output", "spf": "prompt", "mcsf": None}
    if name == "fcfs":
        return "vllm_fcfs"
    if name in twin and twin[name] is not None and policy.info == "full":
        return f"vllm_priority:priority={twin[name]}"
    return None


def plan_replay(
    instance: Instance,
    policy: str | Policy,
    *,
    block_size: int = 32,
    max_model_len: int | None = None,
    max_num_seqs: int | None = None,
) -> ReplayPlan:
    """Map ``instance`` and ``policy`` to vLLM requests and engine settings.

    Parameters
    ----------
    instance
        The trace (model §1).
    policy
        The policy under test; its key becomes vLLM's priority.
    block_size
        KV block size ``B`` in tokens (on CPU vLLM needs a multiple of 32).
    max_model_len
        Engine limit on ``s + o``; default: the largest ``s_i + o_i`` rounded up to a block.
    max_num_seqs
        Engine limit on running requests; default ``n`` (never binds).  A larger value lets
        one engine replay several traces.

    Raises
    ------
    InputError
        ``B < 1``, fewer than one usable block, a request that can never fit the pool, or a
        policy without a per-request key (batch policies).
    """
    # long: maps each model parameter to its vLLM setting, one commented block per parameter
    pol = get_policy(policy)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise InputError(f"block size must be an integer >= 1, got {block_size!r}")
    n = instance.n
    if n == 0:
        raise InputError("the trace has no requests")
    usable = instance.capacity // block_size
    if usable < 1:
        raise InputError(
            f"M = {instance.capacity} tokens is less than one block of {block_size} tokens"
        )
    for i, r in enumerate(instance.requests):
        need = -(-(r.prompt + r.output - 1) // block_size)
        if need > usable:
            raise InputError(
                f"request {i} needs {need} blocks of {block_size} at its peak "
                f"> {usable} usable blocks (M = {instance.capacity}): it can never run"
            )
    if pol.admission == "batch":
        raise InputError(f"policy {pol.spec!r} forms batches; vLLM orders requests by a key")
    scheduling = "fcfs" if pol.name in _FCFS_NAMES else "priority"
    theta = getattr(pol, "theta", None)
    keys = []
    for i in range(n):
        view = make_view(instance, i, pol.info, theta)
        keys.append(pol.key(view))
    rank = {k: r for r, k in enumerate(sorted(set(keys)))}
    peak = max(r.prompt + r.output for r in instance.requests)
    mml = max_model_len or -(-peak // block_size) * block_size
    reqs = tuple(
        EngineRequest(
            index=i,
            request_id=f"r{i}",
            arrival_round=r.arrival,
            prompt=r.prompt,
            output=r.output,
            priority=rank[keys[i]] if scheduling == "priority" else 0,
            arrival_time=r.arrival + i / (n + 1),
        )
        for i, r in enumerate(instance.requests)
    )
    seqs = max(n, max_num_seqs or 1)
    return ReplayPlan(
        instance=instance,
        policy=pol.spec,
        scheduling_policy=scheduling,
        block_size=block_size,
        num_blocks=usable + 1,
        max_num_seqs=seqs,
        max_num_batched_tokens=max(instance.capacity + seqs, mml, 256),
        max_model_len=mml,
        requests=reqs,
        reference=reference_policy(pol),
    )
