"""SVF's order in a live vLLM server (issue 10 item 4; ``docs/model.md`` sections 8, 9).

vLLM's priority scheduling (``--scheduling-policy priority``) serves waiting requests in
ascending ``(priority, arrival_time, request_id)``, head-of-line, and preempts the running
request with the largest ``(priority, arrival_time)``; the toolkit's ``vllm_priority`` policy is
that rule. Giving each request ``priority = V = s*o + o*(o+1)/2`` (its volume, model §4) makes
vLLM admit in SVF's order; this module computes such priorities from the toolkit's own policy
keys, so the server and ``ratio.simulate`` can never disagree on a key:

* :func:`request_priority` -- the integer priority of one request under a key policy: ``svf``
  (volume; known output length), ``svf_1bit`` (class-proxy volume ``s*O + O*(O+1)/2``),
  ``mcsf:predicted=true`` / ``sjf`` (output or its prediction), ``spf``, ``vllm_priority:...``.
* :func:`add_request` -- ``LLMEngine.add_request`` with that priority (library use).
* :func:`openai_body` -- a ``/v1/completions`` or ``/v1/chat/completions`` body with
  ``"priority"`` set (clients of ``vllm serve --scheduling-policy priority``).
* :mod:`ratio.interop.vllm_scheduler` -- a scheduler class for ``--scheduler-cls`` that sets
  the priority inside the server from the prompt length and ``max_tokens`` (so replays such as
  ``vllm bench serve --dataset-name timed_trace``, which send no priority, run SVF).

Nothing here imports vLLM at module level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ratio.errors import InputError
from ratio.policies import Policy, RequestView, get_policy

__all__ = ["request_priority", "add_request", "openai_body", "guard_llvmlite", "INT64_MAX"]

#: vLLM validates ``priority`` as a signed 64-bit integer.
INT64_MAX = 2**63 - 1


def request_priority(
    prompt_tokens: int,
    output_tokens: int | None = None,
    *,
    policy: str | Policy = "svf",
    predicted: int | None = None,
    long: bool | None = None,
) -> int:
    """vLLM ``priority`` (smaller is served first) that orders requests as ``policy``'s key.

    Parameters
    ----------
    prompt_tokens
        ``s``, the prompt length in tokens.
    output_tokens
        ``o``, the known output length (``full`` information; also gives the 1-bit class).
    policy
        A key policy: ``svf`` (default), ``svf_1bit[:theta=..,short=..,long=..]``, ``sjf``,
        ``spf``, ``mcsf[:predicted=true]``, ``vllm_priority[:priority=...]``.
    predicted
        ``o_hat`` for ``predicted``-level policies (``mcsf:predicted=true``).
    long
        The 1-bit class (``o > theta``) for ``svf_1bit`` when ``o`` is not known.

    Examples
    --------
    >>> request_priority(3, 2)  # V = 3*2 + 2*3/2
    9
    >>> request_priority(3, policy="svf_1bit:theta=4", long=True)  # proxy O = 8: 24 + 36
    60
    """
    pol = get_policy(policy) if isinstance(policy, str) else policy
    if pol.admission == "batch":
        raise InputError(f"policy {pol.spec} forms batches; vLLM needs a per-request key")
    if isinstance(prompt_tokens, bool) or not isinstance(prompt_tokens, int) or prompt_tokens < 0:
        raise InputError(f"prompt_tokens must be an integer >= 0, got {prompt_tokens!r}")
    info = pol.info
    if info == "full":
        if output_tokens is None:
            raise InputError(f"policy {pol.spec} needs the output length (output_tokens)")
        view = RequestView(0, 0, prompt_tokens, output=output_tokens)
    elif info == "one_bit":
        if long is None:
            theta = getattr(pol, "theta", None)
            if output_tokens is None or theta is None:
                raise InputError(f"policy {pol.spec} needs the class bit (long) or output_tokens")
            long = output_tokens > theta
        view = RequestView(0, 0, prompt_tokens, long=long)
    elif info == "predicted":
        if predicted is None:
            raise InputError(f"policy {pol.spec} needs a predicted output length (predicted)")
        view = RequestView(0, 0, prompt_tokens, predicted=predicted)
    else:
        view = RequestView(0, 0, prompt_tokens)
    key = pol.key(view)
    if pol.name == "fcfs" or (pol.name == "vllm_priority" and pol.params["priority"] == "arrival"):
        raise InputError("arrival order is vLLM's own tie-break: use --scheduling-policy fcfs")
    if len(key) != 1 or isinstance(key[0], bool) or not isinstance(key[0], int):
        raise InputError(f"policy {pol.spec} has no single integer key (got {key!r})")
    p = int(key[0])
    if p > INT64_MAX:
        raise InputError(f"priority {p} exceeds vLLM's int64 range")
    return p


def add_request(
    engine: Any,
    request_id: str,
    prompt_token_ids: Sequence[int],
    output_tokens: int | None = None,
    *,
    policy: str | Policy = "svf",
    predicted: int | None = None,
    long: bool | None = None,
    sampling_params: Any = None,
    arrival_time: float | None = None,
) -> int:
    """Add a request to a vLLM ``LLMEngine`` with ``priority = request_priority(...)``.

    Without ``sampling_params`` the request generates exactly ``output_tokens`` tokens
    (``max_tokens = min_tokens = o``, ``ignore_eos``), as in a replay. The engine must have
    been built with ``scheduling_policy="priority"``. Returns the priority.
    """
    pri = request_priority(
        len(prompt_token_ids), output_tokens, policy=policy, predicted=predicted, long=long
    )
    if sampling_params is None:
        from vllm import SamplingParams

        if output_tokens is None:
            raise InputError("give sampling_params or output_tokens")
        sampling_params = SamplingParams(
            max_tokens=output_tokens, min_tokens=output_tokens, ignore_eos=True, detokenize=False
        )
    engine.add_request(
        request_id,
        {"prompt_token_ids": list(prompt_token_ids)},
        sampling_params,
        arrival_time=arrival_time,
        priority=pri,
    )
    return pri


def openai_body(
    body: Mapping[str, Any],
    prompt_tokens: int,
    output_tokens: int | None = None,
    *,
    policy: str | Policy = "svf",
    predicted: int | None = None,
    long: bool | None = None,
) -> dict[str, Any]:
    """A copy of an OpenAI-style request body with vLLM's ``priority`` field set.

    ``output_tokens`` defaults to the body's ``max_tokens`` (a known-length replay); a real
    client passes its predictor's ``predicted`` (with ``policy="mcsf:predicted=true"``) or the
    class bit (``svf_1bit``).

    >>> openai_body({"model": "m", "prompt": [7, 7, 7], "max_tokens": 2}, 3)["priority"]
    9
    """
    out = dict(body)
    if output_tokens is None and predicted is None and long is None:
        mt = out.get("max_tokens")
        output_tokens = mt if isinstance(mt, int) and not isinstance(mt, bool) else None
    out["priority"] = request_priority(
        prompt_tokens, output_tokens, policy=policy, predicted=predicted, long=long
    )
    return out


def guard_llvmlite() -> None:
    """Let a vLLM 0.32 CPU engine start in a process that has imported numba.

    vLLM's CPU worker (``register_triton_kernel_overrides``) scans every module's namespace
    and calls ``vars(value).get("kernel")`` on each value with a ``__dict__``. llvmlite's
    ``binding.ffi.lib`` wrapper answers any missing attribute, ``__dict__`` included, with a
    wrapped library function, so ``vars(lib)`` is not a mapping and the engine fails with
    ``'_lib_fn_wrapper' object has no attribute 'get'``. numba imports llvmlite, and kvratio
    imports numba for the compiled branch and bound (:mod:`offline_opt.bnb_jit`), so a process
    that computed an optimum and then builds a vLLM engine hits it. This makes the wrapper
    refuse dunder names (as any object without them does); ordinary symbol lookups
    (``LLVMPY_*``) are unchanged. Idempotent; a no-op when llvmlite is not imported. Call it
    before building the engine (``hardware_check`` does).
    """
    import sys

    ffi = sys.modules.get("llvmlite.binding.ffi")
    cls = getattr(ffi, "_lib_wrapper", None)
    if cls is None or getattr(cls, "_kvratio_guarded", False):
        return
    original = cls.__getattr__

    def __getattr__(self: object, name: str) -> object:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return original(self, name)

    cls.__getattr__ = __getattr__
    cls._kvratio_guarded = True
