"""Trace files: ``kvratio-trace/1`` JSON (``interfaces.md``).

The bottom layer: it imports only :mod:`ratio.model` and :mod:`ratio.errors` (and
:mod:`ratio.atomic` to write), never the importers or the queueing engine above it; the Azure
importer is :func:`ratio.interop.importers.import_azure_csv`.

Every reader fails with one :class:`~ratio.errors.InputError` line naming the file and the
problem; nothing is silently fixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.model import Instance, Request

__all__ = [
    "TRACE_FORMAT",
    "load",
    "loads",
    "read_json",
    "dump",
    "dumps",
    "to_dict",
    "from_dict",
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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise InputError(f"key {k!r} appears twice in one object")
        out[k] = v
    return out


def _parse_json(text: str, source: str) -> Any:
    """Parse JSON; a key repeated in one object is an error (the parser would keep the last)."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise InputError(f"{source}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except InputError as e:
        raise InputError(f"{source}: {e}") from None
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None


def read_json(path: str | Path) -> Any:
    """Read a JSON file; any problem (missing, a directory, not UTF-8, not JSON) is one
    :class:`InputError` line naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file") from None
    return _parse_json(text, str(p))


def loads(text: str, *, source: str = "trace") -> Instance:
    return from_dict(_parse_json(text, source), source=source)


def load(path: str | Path) -> Instance:
    """Read a ``kvratio-trace/1`` file.

    Raises
    ------
    InputError
        Missing file, invalid JSON, wrong format tag, bad fields, or a request with ``s+o > M``.
    """
    return from_dict(read_json(path), source=str(path))


def dumps(instance: Instance) -> str:
    return json.dumps(to_dict(instance), indent=1)


def dump(instance: Instance, path: str | Path) -> Path:
    """Write a ``kvratio-trace/1`` file atomically (:mod:`ratio.atomic`): the whole file or
    none; an unwritable path raises :class:`~ratio.errors.OutputError` naming it."""
    from ratio.atomic import write_text_atomic

    return write_text_atomic(path, dumps(instance) + "\n")
