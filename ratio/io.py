"""Trace files: ``kvratio-trace/1`` JSON (``interfaces.md``) and the Azure CSV importer.

Every reader fails with one :class:`~ratio.errors.InputError` line naming the file and the
problem; nothing is silently fixed.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.model import Instance, Request

__all__ = [
    "TRACE_FORMAT",
    "load",
    "loads",
    "dump",
    "dumps",
    "to_dict",
    "from_dict",
    "import_azure_csv",
]

TRACE_FORMAT = "kvratio-trace/1"


def to_dict(instance: Instance) -> dict[str, Any]:
    """The ``kvratio-trace/1`` object of an instance (request order is the index)."""
    reqs = []
    for i, r in enumerate(instance.requests):
        reqs.append(
            {
                "id": r.id if r.id is not None else f"r{i}",
                "arrival": r.arrival,
                "prompt": r.prompt,
                "output": r.output,
            }
        )
    out: dict[str, Any] = {"format": TRACE_FORMAT, "M": instance.capacity, "requests": reqs}
    if instance.meta:
        out["meta"] = dict(instance.meta)
    if instance.predictions is not None:
        out["predictions"] = list(instance.predictions)
    return out


def from_dict(obj: Any, *, source: str = "trace") -> Instance:
    """Validate a ``kvratio-trace/1`` object and build the :class:`Instance`."""
    if not isinstance(obj, Mapping):
        raise InputError(f"{source}: expected a JSON object, got {type(obj).__name__}")
    fmt = obj.get("format")
    if fmt != TRACE_FORMAT:
        raise InputError(f"{source}: format must be {TRACE_FORMAT!r}, got {fmt!r}")
    if "M" not in obj:
        raise InputError(f"{source}: missing capacity field 'M'")
    raw = obj.get("requests")
    if not isinstance(raw, list):
        raise InputError(f"{source}: 'requests' must be a list")
    reqs = []
    for i, r in enumerate(raw):
        if not isinstance(r, Mapping):
            raise InputError(f"{source}: request {i} is not an object")
        missing = [k for k in ("arrival", "prompt", "output") if k not in r]
        if missing:
            raise InputError(f"{source}: request {i} lacks {', '.join(missing)}")
        rid = r.get("id", f"r{i}")
        try:
            reqs.append(Request(r["arrival"], r["prompt"], r["output"], str(rid)))
        except InputError as e:
            raise InputError(f"{source}: request {i}: {e}") from None
    meta = obj.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise InputError(f"{source}: 'meta' must be an object")
    try:
        return Instance(obj["M"], tuple(reqs), meta, obj.get("predictions"))
    except InputError as e:
        raise InputError(f"{source}: {e}") from None


def loads(text: str, *, source: str = "trace") -> Instance:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{source}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return from_dict(obj, source=source)


def load(path: str | Path) -> Instance:
    """Read a ``kvratio-trace/1`` file.

    Raises
    ------
    InputError
        Missing file, invalid JSON, wrong format tag, bad fields, or a request with ``s+o > M``.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a trace file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file") from None
    return loads(text, source=str(p))


def dumps(instance: Instance) -> str:
    return json.dumps(to_dict(instance), indent=1)


def dump(instance: Instance, path: str | Path) -> Path:
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps(instance) + "\n", encoding="utf-8")
    return p


def import_azure_csv(
    path: str | Path,
    *,
    capacity: int,
    round_ms: float = 50.0,
    limit: int | None = None,
) -> Instance:
    """Read an Azure LLM inference trace (columns ``TIMESTAMP, ContextTokens, GeneratedTokens``).

    Columns are found by name, never by position. ``TIMESTAMP`` is a date-time (or seconds); the
    first request arrives at round 0 and request ``i`` at ``floor((t_i - t_0) / round_ms)``.
    Rows that cannot be used (missing fields, non-positive lengths, ``s+o > M``) raise an error
    naming the line: they are never dropped silently.
    """
    from datetime import datetime

    p = Path(path)
    if round_ms <= 0:
        raise InputError(f"--round-ms must be > 0, got {round_ms}")
    try:
        fh = p.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    with fh:
        reader = csv.DictReader(fh)
        cols = {c.strip(): c for c in (reader.fieldnames or [])}
        need = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
        missing = [c for c in need if c not in cols]
        if missing:
            raise InputError(f"{p}: missing column(s) {', '.join(missing)}")
        rows: list[tuple[int, float, int, int]] = []
        for line, row in enumerate(reader, start=2):
            raw_t = (row.get(cols["TIMESTAMP"]) or "").strip()
            try:
                t = float(raw_t)
            except ValueError:
                try:
                    t = datetime.fromisoformat(raw_t).timestamp()
                except ValueError:
                    raise InputError(f"{p}:{line}: bad TIMESTAMP {raw_t!r}") from None
            try:
                s = int((row.get(cols["ContextTokens"]) or "").strip())
                o = int((row.get(cols["GeneratedTokens"]) or "").strip())
            except ValueError:
                raise InputError(f"{p}:{line}: token counts must be integers") from None
            if s < 1 or o < 1:
                raise InputError(f"{p}:{line}: lengths must be >= 1 (prompt {s}, output {o})")
            if s + o > capacity:
                raise InputError(f"{p}:{line}: s+o = {s + o} > capacity {capacity}")
            rows.append((line, t, s, o))
            if limit is not None and len(rows) >= limit:
                break
    if not rows:
        raise InputError(f"{p}: no requests")
    t0 = min(r[1] for r in rows)
    # Timestamps in seconds; rounds of round_ms milliseconds.
    reqs = [
        Request(int(math.floor((t - t0) * 1000.0 / round_ms + 1e-9)), s, o, f"L{line}")
        for line, t, s, o in rows
    ]
    return Instance(
        capacity,
        tuple(reqs),
        {"generator": "azure-csv", "source": p.name, "round_ms": round_ms},
    )
