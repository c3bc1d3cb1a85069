"""Exporters: kvratio traces to the timed-trace JSONL that load generators replay (issue 10,
item 2).

The Mooncake trace shape (FAST'25) is one JSON object per line::

    {"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [...]}

with ``timestamp`` in **milliseconds** since the trace start. Request ``i`` arriving in round
``a_i`` is written at ``timestamp = a_i * round_ms`` with ``input_length = s_i`` and
``output_length = o_i``. ``hash_ids`` are the trace's own (``meta["hash_ids"]``, an imported
Mooncake trace) or else, with ``hash_block = H > 0`` (default 16), ``ceil(s_i / H)`` fresh
integers per request, unique across requests: vLLM 0.32's ``vllm bench serve --dataset-name
timed_trace`` builds each prompt from its ``hash_ids``, ``H`` tokens per id
(``--timed-trace-chunk-hash-size H``), so without them it would send empty prompts; unique ids
mean no prefix is shared, as in the model. Lines are in request-index order. Re-importing with
the same ``round_ms`` and ``--origin zero`` gives the same requests (the round-trip property test).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.model import Instance

__all__ = ["EXPORT_FORMATS", "mooncake_lines", "export_mooncake", "default_round_ms"]

EXPORT_FORMATS = ("mooncake",)


def default_round_ms(instance: Instance) -> float | None:
    """The trace's own ``meta["round_ms"]`` (set by ``kvratio import --round-ms``), if any."""
    v = instance.meta.get("round_ms")
    if isinstance(v, int | float) and not isinstance(v, bool) and v > 0:
        return float(v)
    return None


def _ms(x: float) -> int | float:
    # No rounding: floor((a * R) / R) == a in floating point for any realistic a, which the
    # round-trip property relies on.
    return int(x) if x.is_integer() else x


def mooncake_lines(
    instance: Instance, *, round_ms: float, hash_block: int = 16
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
    hashes = instance.meta.get("hash_ids")
    if not (isinstance(hashes, list | tuple) and len(hashes) == instance.n):
        hashes = None
    out = []
    fresh = 0
    for i, r in enumerate(instance.requests):
        obj: dict[str, Any] = {
            "timestamp": _ms(r.arrival * float(round_ms)),
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
    instance: Instance, path: str | Path, *, round_ms: float, hash_block: int = 16
) -> Path:
    """Write :func:`mooncake_lines` to ``path`` (JSONL)."""
    from ratio.atomic import write_text_atomic

    lines = mooncake_lines(instance, round_ms=round_ms, hash_block=hash_block)
    return write_text_atomic(path, "".join(json.dumps(o) + "\n" for o in lines))
