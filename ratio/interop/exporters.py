"""Exporters: kvratio traces to the timed-trace JSONL that load generators replay (issue 10,
item 2).

The Mooncake trace shape (FAST'25) is one JSON object per line::

    {"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [...]}

with ``timestamp`` in **milliseconds** since the trace start. Request ``i`` is written with
``input_length = s_i`` and ``output_length = o_i`` and

* ``timestamp`` = its exact arrival time ``meta["arrival_ms"][i]`` when the trace keeps one
  (``kvratio import`` does) and ``exact_times`` is set, else ``a_i * round_ms`` (the start of
  its round; a trace from ``gen`` or ``search``, a re-timed or scaled trace);
* ``hash_ids``: ``ceil(s_i / H)`` fresh integers per request (``hash_block = H > 0``, default
  16), unique across requests: vLLM 0.32's ``vllm bench serve --dataset-name timed_trace``
  builds each prompt from its ``hash_ids``, ``H`` tokens per id
  (``--timed-trace-chunk-hash-size H``), so without them it would send empty prompts, and ids
  of another block size would give prompts of the wrong length; unique ids mean no prefix is
  shared, as in the model. With ``keep_hash_ids`` the trace's own ids (an imported Mooncake
  trace: :data:`MOONCAKE_BLOCK` = 512 tokens per id) are written instead, and the replay needs
  ``--timed-trace-chunk-hash-size 512``.

Lines are in request-index order. Re-importing with the same ``round_ms`` and ``--origin zero``
gives the same requests (the round-trip property test).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.model import Instance

__all__ = [
    "EXPORT_FORMATS",
    "MOONCAKE_BLOCK",
    "mooncake_lines",
    "export_mooncake",
    "default_round_ms",
    "exact_times_ms",
]

EXPORT_FORMATS = ("mooncake",)

#: tokens per hash id in Mooncake's published traces (FAST'25)
MOONCAKE_BLOCK = 512


def default_round_ms(instance: Instance) -> float | None:
    """The trace's own ``meta["round_ms"]`` (set by ``kvratio import --round-ms``), if any."""
    v = instance.meta.get("round_ms")
    if isinstance(v, int | float) and not isinstance(v, bool) and v > 0:
        return float(v)
    return None


def exact_times_ms(instance: Instance) -> list[float] | None:
    """The trace's own arrival times (``meta["arrival_ms"]``, ms after its origin), if it keeps
    one per request and they order like the rounds."""
    v = instance.meta.get("arrival_ms")
    if not (isinstance(v, list | tuple) and len(v) == instance.n):
        return None
    try:
        ms = [float(x) for x in v]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) and x >= 0 for x in ms):
        return None
    order = sorted(range(instance.n), key=lambda i: (instance.requests[i].arrival, ms[i]))
    if any(ms[i] > ms[j] for i, j in zip(order, order[1:], strict=False)):
        return None
    return ms


def _ms(x: float) -> int | float:
    # No rounding: floor((a * R) / R) == a in floating point for any realistic a, which the
    # round-trip property relies on.
    return int(x) if x.is_integer() else x


def mooncake_lines(
    instance: Instance,
    *,
    round_ms: float,
    hash_block: int = 16,
    keep_hash_ids: bool = False,
    exact_times: bool = False,
) -> list[dict[str, Any]]:
    """The JSONL objects of the Mooncake timed-trace shape, one per request.

    >>> from ratio.model import Instance
    >>> inst = Instance.from_tuples(20, [(0, 3, 2), (2, 4, 1)])
    >>> mooncake_lines(inst, round_ms=25, hash_block=2)[1]
    {'timestamp': 50, 'input_length': 4, 'output_length': 1, 'hash_ids': [2, 3]}
    """
    if not (isinstance(round_ms, int | float) and math.isfinite(round_ms) and round_ms > 0):
        raise InputError(f"--round-ms must be a positive number, got {round_ms!r}")
    if isinstance(hash_block, bool) or not isinstance(hash_block, int) or hash_block < 0:
        raise InputError(f"--hash-block must be an integer >= 0, got {hash_block!r}")
    hashes = instance.meta.get("hash_ids") if keep_hash_ids else None
    if not (isinstance(hashes, list | tuple) and len(hashes) == instance.n):
        hashes = None
    exact = exact_times_ms(instance) if exact_times else None
    out = []
    fresh = 0
    for i, r in enumerate(instance.requests):
        obj: dict[str, Any] = {
            "timestamp": _ms(exact[i] if exact is not None else r.arrival * float(round_ms)),
            "input_length": r.prompt,
            "output_length": r.output,
        }
        if hashes is not None and hashes[i] is not None:
            obj["hash_ids"] = list(hashes[i])
        elif hash_block > 0:
            k = -(-r.prompt // hash_block)
            obj["hash_ids"] = list(range(fresh, fresh + k))
            fresh += k
        out.append(obj)
    return out


def export_mooncake(
    instance: Instance,
    path: str | Path,
    *,
    round_ms: float,
    hash_block: int = 16,
    keep_hash_ids: bool = False,
    exact_times: bool = False,
) -> Path:
    """Write :func:`mooncake_lines` to ``path`` (JSONL)."""
    from ratio.atomic import write_text_atomic

    lines = mooncake_lines(
        instance,
        round_ms=round_ms,
        hash_block=hash_block,
        keep_hash_ids=keep_hash_ids,
        exact_times=exact_times,
    )
    return write_text_atomic(path, "".join(json.dumps(o) + "\n" for o in lines))
