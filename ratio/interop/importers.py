"""Importers for production traces, by column name, never by position (issue 10, item 1).

Each reader turns a file into :class:`Row`s (line number, arrival time in **milliseconds**,
prompt and output length in tokens), :func:`build` validates them against the model
(``model.md`` section 1: ``s >= 1``, ``o >= 1``, ``s + o <= M``) and maps times to rounds
(:mod:`ratio.interop.timebase`, ``queueing.md`` Q2). Rows that cannot be used are **reported**
in :attr:`ImportResult.dropped` with their line numbers and the reason; nothing is fixed.

Unit conversions (tested in ``tests/interop/test_importers.py``):

=========  ====================================  =========================================
format     arrival column -> ms                  lengths
=========  ====================================  =========================================
azure      ``TIMESTAMP``: ISO date-time (UTC) or  ``ContextTokens`` -> s,
           seconds; ``(t - t_first) * 1000``      ``GeneratedTokens`` -> o
burstgpt   ``Timestamp``: seconds; ``* 1000``     ``Request tokens`` -> s,
                                                  ``Response tokens`` -> o (0 = failed)
mooncake   ``timestamp``: ms, as is              ``input_length`` -> s,
                                                  ``output_length`` -> o; ``hash_ids`` kept
csv/jsonl  ``--columns arrival=..`` in            ``prompt=..``, ``output=..`` columns
           ``--time-unit`` s, ms, us, ns or round
=========  ====================================  =========================================

Requests are ordered by arrival time (stable: file order breaks ties), which is the request
index of the trace; ids are ``L<line>`` so every request can be traced back to its line.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from ratio.errors import InputError
from ratio.interop.timebase import (
    BatchTime,
    parse_batch_time,
    rounds_by_batch_time,
    rounds_by_round_ms,
)
from ratio.model import Instance, Request

__all__ = [
    "Row",
    "Dropped",
    "ImportResult",
    "FORMATS",
    "TIME_UNITS",
    "read_azure",
    "read_burstgpt",
    "read_mooncake",
    "read_table",
    "build",
    "import_trace",
    "import_azure_csv",
    "parse_columns",
]

#: milliseconds per unit of a generic file's arrival column
TIME_UNITS: dict[str, float] = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6, "round": 0.0}


@dataclass(frozen=True, slots=True)
class Row:
    """One usable-looking line: arrival time in ms (absolute, before the origin shift)."""

    line: int
    time_ms: float | Fraction
    prompt: int
    output: int
    hash_ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Dropped:
    """A line that could not be used, and why (never silently dropped, issue 10)."""

    line: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class ImportResult:
    """An imported trace and its report.

    Attributes
    ----------
    instance
        The trace; ``meta`` records source, format, clock and ``arrival_ms``.
    dropped
        Unusable lines with reasons, in line order.
    merged
        Requests that share a round with an earlier one (``n - distinct arrival rounds``).
    filtered
        Rows excluded on purpose by a filter (BurstGPT ``--model``), not errors.
    """

    instance: Instance
    dropped: tuple[Dropped, ...] = ()
    merged: int = 0
    filtered: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def report(self, path: str | Path) -> dict[str, Any]:
        """The ``kvratio import --json`` object (``interfaces.md``)."""
        return {
            "path": str(path),
            "n": self.instance.n,
            "dropped": [d.to_dict() for d in self.dropped],
            "merged": self.merged,
            "filtered": self.filtered,
            "M": self.instance.capacity,
            "alpha": str(self.instance.alpha),
            **dict(self.extra),
        }


# --- low-level readers ---------------------------------------------------------------------
def _open(path: Path) -> Any:
    try:
        return path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None


def _csv_records(path: Path, need: Sequence[str]) -> Iterator[tuple[int, dict[str, str] | str]]:
    """``(line, {column: value})`` per CSV record, columns matched by stripped name; a string
    instead of the mapping is why the record is unusable."""
    with _open(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: empty file") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a UTF-8 text file") from None
        names = [h.strip().lstrip("\ufeff") for h in header]
        twice = sorted({c for c in need if names.count(c) > 1})
        if twice:
            # A record would silently keep the last copy; which one is meant is not ours to guess.
            raise InputError(f"{path}: column(s) {', '.join(twice)} appear more than once")
        missing = [c for c in need if c not in names]
        if missing:
            raise InputError(
                f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(names)})"
            )
        try:
            for rec in reader:
                if not rec or all(not c.strip() for c in rec):
                    continue
                if len(rec) > len(names):
                    yield reader.line_num, f"{len(rec)} fields, the header has {len(names)}"
                    continue
                yield (
                    reader.line_num,
                    {n: (rec[k] if k < len(rec) else "") for k, n in enumerate(names)},
                )
        except csv.Error as e:
            raise InputError(f"{path}:{reader.line_num}: bad CSV ({e})") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a UTF-8 text file") from None


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line, object)`` per non-blank line; a string instead of an object is the error."""
    with _open(path) as fh:
        try:
            for line, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    yield line, f"not valid JSON ({e.msg})"
                    continue
                if not isinstance(obj, dict):
                    yield line, f"expected a JSON object, got {type(obj).__name__}"
                    continue
                yield line, obj
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a UTF-8 text file") from None


def _int_field(row: Mapping[str, Any], col: str) -> int:
    """An integer token count; raises ValueError with the reason."""
    v = row.get(col)
    if v is None or (isinstance(v, str) and not v.strip()):
        raise ValueError(f"missing {col}")
    if isinstance(v, bool):
        raise ValueError(f"{col} is not an integer: {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise ValueError(f"{col} is not an integer: {v!r}")
    text = str(v).strip()
    try:
        return int(text)
    except ValueError:
        try:
            f = float(text)
        except ValueError:
            raise ValueError(f"{col} is not an integer: {text!r}") from None
        if f.is_integer():
            return int(f)
        raise ValueError(f"{col} is not an integer: {text!r}") from None


def _num_field(row: Mapping[str, Any], col: str) -> float:
    v = row.get(col)
    if v is None or (isinstance(v, str) and not v.strip()):
        raise ValueError(f"missing {col}")
    if isinstance(v, bool):
        raise ValueError(f"{col} is not a number: {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{col} is not a number: {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{col} is not finite: {v!r}")
    return f


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _azure_time_ms(raw: str) -> Fraction:
    """Azure ``TIMESTAMP``: ISO date-time (naive = UTC; 7 fractional digits are cut to 6) or
    plain seconds, to ms since the epoch, exactly (a float would lose sub-ms differences
    at 1.7e12 ms)."""
    text = raw.strip()
    if not text:
        raise ValueError("missing TIMESTAMP")
    try:
        return Fraction(text) * 1000
    except (ValueError, ZeroDivisionError):
        pass
    head, dot, frac = text.partition(".")
    if dot:
        digits = "".join(c for c in frac if c.isdigit())
        rest = frac[len(digits) :]
        text = f"{head}.{digits[:6]}{rest}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad TIMESTAMP {raw.strip()!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return Fraction((dt - _EPOCH) // timedelta(microseconds=1), 1000)


ReadOut = tuple[list[Row], list[Dropped], int]


def read_azure(path: str | Path) -> ReadOut:
    """Azure LLM inference trace CSV: ``TIMESTAMP, ContextTokens, GeneratedTokens``.

    Returns rows (time in ms since the epoch), dropped lines, and 0 filtered.
    """
    p = Path(path)
    rows: list[Row] = []
    dropped: list[Dropped] = []
    for line, rec in _csv_records(p, ("TIMESTAMP", "ContextTokens", "GeneratedTokens")):
        if isinstance(rec, str):
            dropped.append(Dropped(line, rec))
            continue
        try:
            t = _azure_time_ms(rec["TIMESTAMP"])
            s = _int_field(rec, "ContextTokens")
            o = _int_field(rec, "GeneratedTokens")
        except ValueError as e:
            dropped.append(Dropped(line, str(e)))
            continue
        rows.append(Row(line, t, s, o))
    return rows, dropped, 0


def read_burstgpt(path: str | Path, *, model: str | None = None) -> ReadOut:
    """BurstGPT CSV: ``Timestamp`` (s), ``Model``, ``Request tokens``, ``Response tokens``.

    Rows of another model than ``model`` are *filtered* (counted, not errors); rows with
    ``Response tokens = 0`` are failed requests and are dropped with that reason.
    """
    p = Path(path)
    rows: list[Row] = []
    dropped: list[Dropped] = []
    filtered = 0
    need = ["Timestamp", "Request tokens", "Response tokens"] + (["Model"] if model else [])
    for line, rec in _csv_records(p, need):
        if isinstance(rec, str):
            dropped.append(Dropped(line, rec))
            continue
        if model is not None and rec["Model"].strip() != model:
            filtered += 1
            continue
        try:
            t = _num_field(rec, "Timestamp") * 1000.0
            s = _int_field(rec, "Request tokens")
            o = _int_field(rec, "Response tokens")
        except ValueError as e:
            dropped.append(Dropped(line, str(e)))
            continue
        if o == 0:
            dropped.append(Dropped(line, "failed request (Response tokens = 0)"))
            continue
        rows.append(Row(line, t, s, o))
    return rows, dropped, filtered


def read_mooncake(path: str | Path) -> ReadOut:
    """Mooncake-style JSONL: ``timestamp`` (ms), ``input_length``, ``output_length``,
    optional ``hash_ids`` (list of ints, kept for prefix-sharing studies)."""
    p = Path(path)
    rows: list[Row] = []
    dropped: list[Dropped] = []
    for line, obj in _jsonl_records(p):
        if isinstance(obj, str):
            dropped.append(Dropped(line, obj))
            continue
        try:
            t = _num_field(obj, "timestamp")
            s = _int_field(obj, "input_length")
            o = _int_field(obj, "output_length")
        except ValueError as e:
            dropped.append(Dropped(line, str(e)))
            continue
        hashes = obj.get("hash_ids")
        hid: tuple[int, ...] | None = None
        if hashes is not None:
            if not isinstance(hashes, list) or not all(
                isinstance(h, int) and not isinstance(h, bool) for h in hashes
            ):
                dropped.append(Dropped(line, "hash_ids is not a list of integers"))
                continue
            hid = tuple(hashes)
        rows.append(Row(line, t, s, o, hid))
    return rows, dropped, 0


def parse_columns(text: str) -> dict[str, str]:
    """``arrival=COL,prompt=COL,output=COL`` -> mapping (all three required).

    >>> parse_columns("arrival=ts,prompt=in,output=out")
    {'arrival': 'ts', 'prompt': 'in', 'output': 'out'}
    """
    out: dict[str, str] = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        k, eq, v = part.partition("=")
        k = k.strip()
        if not eq or k not in ("arrival", "prompt", "output") or not v.strip():
            raise InputError(
                f"--columns: bad item {part!r} (expected arrival=COL,prompt=COL,output=COL)"
            )
        if k in out:
            raise InputError(f"--columns: {k} is given twice")
        out[k] = v.strip()
    missing = [k for k in ("arrival", "prompt", "output") if k not in out]
    if missing:
        raise InputError(f"--columns: missing {', '.join(missing)}")
    return out


def read_table(
    path: str | Path, *, columns: Mapping[str, str], time_unit: str = "s", kind: str = "csv"
) -> ReadOut:
    """A generic CSV or JSONL file with a column mapping ``arrival/prompt/output -> name``.

    ``time_unit`` is the arrival column's unit (``s``, ``ms``, ``us``, ``ns``); with ``round``
    the column already holds integer rounds, returned as ``time_ms = round`` and mapped
    one-to-one by :func:`build`.
    """
    if time_unit not in TIME_UNITS:
        raise InputError(f"--time-unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    p = Path(path)
    ca, cs, co = columns["arrival"], columns["prompt"], columns["output"]
    scale = TIME_UNITS[time_unit]
    rows: list[Row] = []
    dropped: list[Dropped] = []
    records: Iterator[tuple[int, Any]]
    if kind == "csv":
        records = _csv_records(p, (ca, cs, co))
    elif kind == "jsonl":
        records = _jsonl_records(p)
    else:
        raise InputError(f"unknown table kind {kind!r}")
    for line, obj in records:
        if isinstance(obj, str):
            dropped.append(Dropped(line, obj))
            continue
        try:
            t = float(_int_field(obj, ca)) if time_unit == "round" else _num_field(obj, ca) * scale
            s = _int_field(obj, cs)
            o = _int_field(obj, co)
        except ValueError as e:
            dropped.append(Dropped(line, str(e)))
            continue
        rows.append(Row(line, t, s, o))
    return rows, dropped, 0


# --- validation and clock ------------------------------------------------------------------
def build(
    rows: Sequence[Row],
    dropped: Sequence[Dropped],
    *,
    capacity: int,
    round_ms: float | None = None,
    tau: BatchTime | str | None = None,
    tau_policy: str = "vllm_fcfs",
    origin: str = "first",
    rounds: bool = False,
    filtered: int = 0,
    meta: Mapping[str, Any] | None = None,
) -> ImportResult:
    """Validate rows against the model and map their times to rounds.

    Parameters
    ----------
    rows, dropped
        From a reader; more unusable rows are added here (lengths < 1, ``s + o > M``,
        an arrival before the origin).
    capacity
        ``M`` in tokens.
    round_ms, tau, tau_policy
        The clock: exactly one of ``round_ms`` (ms per round) or ``tau`` (batch-time model,
        ms, run with ``tau_policy``); see :mod:`ratio.interop.timebase`.
    origin
        ``"first"``: times are relative to the earliest usable row (round 0); ``"zero"``:
        time 0 of the file is round 0 (Mooncake and BurstGPT times are already relative).
    rounds
        The times are already integer rounds (generic ``--time-unit round``).

    Raises
    ------
    InputError
        Bad capacity or clock, or no usable row at all.
    """
    # long: validate the rows, map the clock, write the report: steps share the rows
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise InputError(f"--capacity must be an integer >= 1, got {capacity!r}")
    if origin not in ("first", "zero"):
        raise InputError(f"--origin must be first or zero, got {origin!r}")
    if isinstance(tau, str):
        tau = parse_batch_time(tau)
    if not rounds and (round_ms is None) == (tau is None):
        raise InputError("give exactly one clock: --round-ms R or --tau MODEL")
    bad = list(dropped)
    good: list[Row] = []
    for r in rows:
        if r.prompt < 1 or r.output < 1:
            kind = "negative" if min(r.prompt, r.output) < 0 else "zero"
            bad.append(
                Dropped(r.line, f"{kind} length (prompt {r.prompt}, output {r.output}); need >= 1")
            )
        elif r.prompt + r.output > capacity:
            bad.append(
                Dropped(
                    r.line,
                    f"s+o = {r.prompt + r.output} > capacity {capacity}: request larger than "
                    f"the capacity (prompt {r.prompt}, output {r.output})",
                )
            )
        elif origin == "zero" and r.time_ms < 0:
            bad.append(Dropped(r.line, f"arrival {float(r.time_ms):g} ms before the origin 0"))
        else:
            good.append(r)
    bad.sort(key=lambda d: d.line)
    if not good:
        raise InputError(
            f"no usable requests ({len(bad)} unusable"
            + (f", first: line {bad[0].line}: {bad[0].reason}" if bad else "")
            + ")"
        )
    good.sort(key=lambda r: r.time_ms)  # stable: file order breaks ties
    t0: float | Fraction = good[0].time_ms if origin == "first" else 0.0
    rel = [float(r.time_ms - t0) for r in good]
    clock: dict[str, Any]
    if rounds:
        arr = [int(x) for x in rel]
        clock = {"clock": "rounds"}
    elif round_ms is not None:
        arr = rounds_by_round_ms(rel, float(round_ms))
        clock = {"clock": "round_ms", "round_ms": float(round_ms)}
    else:
        assert tau is not None
        arr = rounds_by_batch_time(
            rel,
            [r.prompt for r in good],
            [r.output for r in good],
            capacity=capacity,
            tau=tau,
            policy=tau_policy,
        )
        clock = {"clock": "batch_time", "tau": tau.spec, "tau_policy": tau_policy}
    reqs = tuple(
        Request(a, r.prompt, r.output, f"L{r.line}") for a, r in zip(arr, good, strict=True)
    )
    m: dict[str, Any] = {"generator": "kvratio import", **dict(meta or {}), **clock}
    m["origin"] = origin
    m["dropped"] = len(bad)
    if filtered:
        m["filtered"] = filtered
    if not rounds:
        m["arrival_ms"] = [_tidy(x) for x in rel]
    if any(r.hash_ids is not None for r in good):
        m["hash_ids"] = [list(r.hash_ids) if r.hash_ids is not None else None for r in good]
    inst = Instance(capacity, reqs, m)
    merged = len(arr) - len(set(arr))
    return ImportResult(inst, tuple(bad), merged, filtered, clock)


def _tidy(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


#: format name -> (reader taking (path, **options), default origin)
FORMATS: dict[str, tuple[Callable[..., ReadOut], str]] = {
    "azure": (read_azure, "first"),
    "burstgpt": (read_burstgpt, "first"),
    "mooncake": (read_mooncake, "zero"),
    "csv": (read_table, "first"),
    "jsonl": (read_table, "first"),
}


def import_trace(
    path: str | Path,
    fmt: str,
    *,
    capacity: int,
    round_ms: float | None = None,
    tau: BatchTime | str | None = None,
    tau_policy: str = "vllm_fcfs",
    origin: str | None = None,
    model: str | None = None,
    columns: Mapping[str, str] | str | None = None,
    time_unit: str = "s",
) -> ImportResult:
    """Read ``path`` in format ``fmt`` and build the trace (one call for every format).

    Parameters
    ----------
    fmt
        ``azure``, ``burstgpt``, ``mooncake``, ``csv`` or ``jsonl``.
    model
        BurstGPT only: keep rows whose ``Model`` equals this.
    columns, time_unit
        ``csv``/``jsonl`` only: the column mapping and the arrival column's unit.
    origin
        Default ``zero`` for Mooncake (timestamps are ms since the trace start), else ``first``.

    Examples
    --------
    >>> res = import_trace("tests/data/interop/azure_shuffled.csv", "azure",
    ...                    capacity=4096, round_ms=50)  # doctest: +SKIP
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown import format {fmt!r} (valid: {', '.join(FORMATS)})")
    reader, default_origin = FORMATS[fmt]
    if model is not None and fmt != "burstgpt":
        raise InputError("--model is for --format burstgpt only")
    is_table = fmt in ("csv", "jsonl")
    if is_table:
        if columns is None:
            raise InputError(f"--format {fmt} needs --columns arrival=COL,prompt=COL,output=COL")
        cols = parse_columns(columns) if isinstance(columns, str) else dict(columns)
        rows, dropped, filtered = reader(path, columns=cols, time_unit=time_unit, kind=fmt)
    elif columns is not None:
        raise InputError(f"--columns is for --format csv or jsonl, not {fmt}")
    elif fmt == "burstgpt":
        rows, dropped, filtered = reader(path, model=model)
    else:
        rows, dropped, filtered = reader(path)
    as_rounds = is_table and time_unit == "round"
    meta: dict[str, Any] = {"source": Path(path).name, "format": fmt}
    if model is not None:
        meta["model_filter"] = model
    if is_table:
        meta["columns"] = dict(cols)
        meta["time_unit"] = time_unit
    return build(
        rows,
        dropped,
        capacity=capacity,
        round_ms=None if as_rounds else round_ms,
        tau=None if as_rounds else tau,
        tau_policy=tau_policy,
        origin=origin or default_origin,
        rounds=as_rounds,
        filtered=filtered,
        meta=meta,
    )


def import_azure_csv(
    path: str | Path,
    *,
    capacity: int,
    round_ms: float = 50.0,
    limit: int | None = None,
) -> Instance:
    """Read an Azure LLM inference trace (columns ``TIMESTAMP, ContextTokens, GeneratedTokens``).

    Strict form of :func:`import_trace` (``fmt="azure"``), which it calls: columns are found
    by name; the first request arrives at round 0 and request ``i`` at
    ``floor((t_i - t_0) / round_ms)``; the first unusable line (missing field, length < 1,
    ``s+o > M``) raises an error naming it (``kvratio import`` reports them all instead).
    ``limit`` keeps the first ``limit`` requests in arrival order.
    """
    res = import_trace(path, "azure", capacity=capacity, round_ms=round_ms)
    if res.dropped:
        d = res.dropped[0]
        raise InputError(f"{path}:{d.line}: {d.reason}")
    inst = res.instance
    if limit is not None:
        inst = inst.with_requests(inst.requests[:limit])
    return inst
