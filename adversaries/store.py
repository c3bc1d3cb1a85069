"""Run directories and the hall of fame ``kvratio-hof/1`` (issue 6, deliverables 5 and 8).

A run directory holds

``config.json``   the search settings (space, strategy, seed, budget); a resume must match it
``evals.jsonl``   one line per evaluated trace, appended and flushed as soon as it is evaluated:
                  the trace, its certified evaluation and the elapsed search time. A kill loses
                  at most a half-written last line, which :func:`read_evals` ignores; a resume
                  replays the log through the (deterministic) strategy and evaluates only what
                  the log lacks, so nothing evaluated is lost or evaluated twice.
``hof.jsonl``     the hall of fame (``interfaces.md``): one certified trace per line, each new
                  best ratio as it was found; rewritten atomically
``best.json``     the best trace (``kvratio-trace/1``)
``progress.png``  best certified ratio against time

:func:`verify_entry` re-verifies a hall-of-fame line with the checker alone.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ratio.errors import InputError

__all__ = [
    "HOF_FORMAT",
    "EvalLog",
    "hof_entry",
    "read_evals",
    "read_hof",
    "verify_entry",
    "write_atomic",
    "Verified",
    "RunLock",
    "check_consistency",
]

HOF_FORMAT = "kvratio-hof/1"


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no torn files); an OS
    error (full disk, read-only directory) is one :class:`~ratio.errors.OutputError` line naming
    the path (:mod:`ratio.atomic`)."""
    from ratio.atomic import write_text_atomic

    write_text_atomic(path, text)


class RunLock:
    """An exclusive lock on a run directory, held for the life of the search process.

    ``flock`` on the directory itself: no lock file to leave behind, and the kernel releases it
    when the process ends however it ends (a SIGKILL included), so a stale lock cannot poison the
    next run. A second process on the same directory gets one clear :class:`InputError` line.
    If the directory did not exist, it is created here and removed again by :meth:`release`
    when the run left nothing in it (a refused run leaves no trace).
    """

    def __init__(self, out: Path) -> None:
        import fcntl

        from ratio.atomic import os_error

        self.out = Path(out)
        if str(out).strip() == "":
            raise InputError("--out: the run directory path is empty")
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out}: exists and is not a directory; --out needs a directory")
        for parent in self.out.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise InputError(f"{self.out}: {parent} is not a directory")
                break
        self.created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.fd: int | None = os.open(self.out, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            raise os_error(self.out, e, "cannot create the run directory") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise InputError(
                f"{self.out}: another search is running on this run directory; wait for it to "
                "finish or choose another --out"
            ) from None

    def release(self) -> None:
        """Unlock; remove the directory if this lock created it and it is still empty."""
        if self.fd is None:
            return
        if self.created:
            with contextlib.suppress(OSError):  # not empty: the run wrote something, keep it
                self.out.rmdir()
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_evals(path: Path) -> list[dict[str, Any]]:
    """The evaluation log; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return []
    out = []
    with path.open() as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return out


class EvalLog:
    """Append-only evaluation log: each line is flushed to the OS as soon as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        existing = read_evals(path)
        # Drop a torn tail so the next append starts on a fresh line.
        text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in existing)
        if path.exists() and path.read_text() != text:
            write_atomic(path, text)
        self.entries = existing
        self.fh = path.open("a")

    def append(self, entry: dict[str, Any]) -> None:
        try:
            self.fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self.fh.flush()
        except OSError as e:
            from ratio.atomic import os_error

            # A torn last line is dropped by read_evals; every earlier line is kept.
            raise os_error(self.path, e) from None
        self.entries.append(entry)

    def close(self) -> None:
        try:
            self.fh.close()
        except OSError as e:
            from ratio.atomic import os_error

            raise os_error(self.path, e) from None


def hof_entry(
    *,
    point: tuple[int, tuple[tuple[int, int, int], ...]],
    evaluation: dict[str, Any],
    regime: str,
    strategy: str,
    seed: int,
    evaluations: int,
    seconds: float,
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``kvratio-hof/1`` line (``interfaces.md``) with ``bound_at_alpha`` added."""
    from adversaries.objective import bound_at_alpha, sharper_bound
    from adversaries.space import to_instance
    from ratio.io import to_dict
    from ratio.policies import parse_spec

    inst = to_instance(point, meta={"generator": f"adversaries:{strategy}", "seed": seed})
    policy = evaluation["policy"]
    name, params = parse_spec(policy)
    bound = bound_at_alpha(inst.alpha, policy, regime)
    sharper = sharper_bound(inst, policy, regime)
    ratio = Fraction(evaluation["ratio"])
    return {
        "format": HOF_FORMAT,
        "policy": policy,
        "params": {k: str(v) if isinstance(v, Fraction) else v for k, v in params.items()},
        "regime": regime,
        "alpha": _frac(inst.alpha),
        "ratio": _frac(ratio),
        "ratio_float": float(ratio),
        "bound_at_alpha": None if bound is None else _frac(bound),
        "sharper_bound": None if sharper is None else _frac(sharper),
        "policy_cost": evaluation["policy_cost"],
        "opt_upper": evaluation["opt_upper"],
        "opt_lower": evaluation["opt_lower"],
        "opt_status": evaluation["opt_status"],
        "opt_gap": _frac(
            Fraction(evaluation["opt_upper"] - evaluation["opt_lower"], evaluation["opt_upper"])
        ),
        "opt_starts": list(evaluation["opt_starts"]),
        "trace": to_dict(inst),
        "strategy": strategy,
        "seed": seed,
        "found_at": {"evaluations": evaluations, "seconds": round(seconds, 3)},
        **({"search": search} if search else {}),
    }


def read_hof(path: Path) -> list[dict[str, Any]]:
    """Hall-of-fame lines from a file, a run directory (its ``hof.jsonl``) or a directory of
    ``*.jsonl`` files."""
    path = Path(path)
    if path.is_dir():
        files = (
            [path / "hof.jsonl"] if (path / "hof.jsonl").exists() else sorted(path.glob("*.jsonl"))
        )
    elif path.exists():
        files = [path]
    else:
        raise InputError(f"{path}: no such file or directory")
    if not files:
        raise InputError(f"{path}: no hall of fame (hof.jsonl or *.jsonl) found")
    out = []
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{f}: not a UTF-8 text file (a hall of fame is JSON lines)") from None
        except OSError as e:
            raise InputError(f"{f}: cannot read ({e.strerror})") from None
        for k, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                raise InputError(f"{f}:{k}: not a JSON line") from None
            if not isinstance(obj, dict):
                raise InputError(f"{f}:{k}: expected a JSON object, got {type(obj).__name__}")
            if obj.get("format") != HOF_FORMAT:
                raise InputError(f"{f}:{k}: format is {obj.get('format')!r}, not {HOF_FORMAT}")
            problem = _shape_problem(obj)
            if problem:
                raise InputError(f"{f}:{k}: {problem}")
            obj["_source"] = f"{f}:{k}"
            out.append(obj)
    return out


#: Fields every ``kvratio-hof/1`` line has (``interfaces.md``) and their JSON types.
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "policy": str,
    "regime": str,
    "alpha": str,
    "ratio": str,
    "policy_cost": int,
    "opt_upper": int,
    "opt_lower": int,
    "opt_status": str,
    "opt_starts": list,
    "trace": dict,
}


def _exact(text: Any) -> Fraction | None:
    """``"p/q"`` (or an integer string) as a Fraction; ``None`` for anything else (nan, inf)."""
    if not isinstance(text, str):
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _shape_problem(obj: dict[str, Any]) -> str | None:
    """Why a line is not a ``kvratio-hof/1`` object at all (missing field, wrong type, a ratio
    that is not a fraction), or ``None``. Lines of the right shape go on to
    :func:`verify_entry`."""
    for key, typ in _FIELDS.items():
        if key not in obj:
            return f"missing field {key!r}"
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, typ):
            name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            return f"field {key!r} must be a JSON {name}, got {v!r}"[:200]
    for key in ("ratio", "alpha"):
        if _exact(obj[key]) is None:
            return f"field {key!r} must be an exact fraction 'p/q', got {obj[key]!r}"
    return None


def check_consistency(obj: dict[str, Any]) -> str | None:
    """Internal consistency of a line's recorded figures, before any replay (issue 17): the
    status against the bounds, the gap against the bounds, the float ratio against the exact
    one, and the exact ratio against the recorded costs. ``None`` when consistent."""
    lo, ub, st = obj["opt_lower"], obj["opt_upper"], obj["opt_status"]
    if st not in ("optimal", "feasible"):
        return f"opt_status {st!r} is neither 'optimal' nor 'feasible'"
    if ub < 1:
        return f"opt_upper {ub} < 1"
    if lo > ub:
        return f"opt_lower {lo} > opt_upper {ub}"
    if st == "optimal" and lo != ub:
        return f"opt_status optimal but opt_lower {lo} < opt_upper {ub}"
    if "opt_gap" in obj:
        gap = _exact(obj["opt_gap"])
        if gap is None or gap != Fraction(ub - lo, ub):
            return f"opt_gap {obj['opt_gap']!r} != (opt_upper - opt_lower) / opt_upper"
    ratio = Fraction(obj["ratio"])
    if ratio != Fraction(obj["policy_cost"], ub):
        return f"ratio {obj['ratio']} != policy_cost / opt_upper"
    if "ratio_float" in obj:
        rf = obj["ratio_float"]
        if (
            isinstance(rf, bool)
            or not isinstance(rf, int | float)
            or not abs(float(rf) - float(ratio)) <= 1e-9 * max(1.0, float(ratio))
        ):
            return f"ratio_float {rf!r} disagrees with ratio {obj['ratio']}"
    return None


@dataclass(frozen=True)
class Verified:
    """Outcome of :func:`verify_entry`: ``ok`` and, if not, why."""

    ok: bool
    reason: str
    ratio: Fraction | None = None


def verify_entry(obj: dict[str, Any]) -> Verified:
    """Re-verify a hall-of-fame line from scratch with the checker alone (``interfaces.md``):
    simulate the policy, check its schedule and ``opt_starts`` for feasibility, recompute both
    costs, the ratio, ``alpha`` and the bound at ``alpha``."""
    from adversaries.objective import _prepare, bound_at_alpha, sharper_bound
    from ratio.check import check
    from ratio.io import from_dict
    from ratio.model import Schedule
    from ratio.simulator import simulate

    try:
        problem = _shape_problem(obj) or check_consistency(obj)
    except Exception as exc:  # noqa: BLE001 - any malformed field is a failed verification
        problem = f"malformed line: {exc}"
    if problem:
        return Verified(False, problem)
    try:
        inst = from_dict(obj["trace"])
        policy = obj["policy"]
        inst_p = _prepare(inst, policy)
        sim = simulate(inst_p, policy)
    except Exception as exc:  # a malformed line is a failed verification, not a crash
        return Verified(False, f"cannot replay: {exc}")
    if not check(inst_p, sim.schedule):
        return Verified(False, "the policy's simulated schedule is infeasible")
    if sim.total_latency != obj["policy_cost"]:
        return Verified(False, f"policy cost {sim.total_latency} != recorded {obj['policy_cost']}")
    opt = Schedule(tuple(int(x) for x in obj["opt_starts"]))
    verdict = check(inst, opt)
    if not verdict:
        return Verified(False, f"opt_starts infeasible: {verdict.reason}")
    ub = opt.total_latency(inst)
    if ub != obj["opt_upper"]:
        return Verified(False, f"opt_starts cost {ub} != recorded opt_upper {obj['opt_upper']}")
    ratio = Fraction(sim.total_latency, ub)
    if ratio != Fraction(obj["ratio"]):
        return Verified(False, f"ratio {ratio} != recorded {obj['ratio']}")
    if inst.alpha != Fraction(obj["alpha"]):
        return Verified(False, f"alpha {inst.alpha} != recorded {obj['alpha']}")
    regime = obj["regime"]
    if regime == "all_at_zero" and not inst.all_at_zero:
        return Verified(False, "regime all_at_zero but some arrival is not 0")
    if "bound_at_alpha" in obj:
        b = bound_at_alpha(inst.alpha, policy, regime)
        rec = obj["bound_at_alpha"]
        if (b is None) != (rec is None) or (b is not None and b != Fraction(rec)):
            return Verified(False, f"bound at alpha {b} != recorded {rec}")
    if "sharper_bound" in obj:
        sb = sharper_bound(inst, policy, regime)
        rec = obj["sharper_bound"]
        if (sb is None) != (rec is None) or (sb is not None and sb != Fraction(rec)):
            return Verified(False, f"sharper bound {sb} != recorded {rec}")
    if obj.get("opt_lower") is not None and obj["opt_lower"] > ub:
        return Verified(False, f"opt_lower {obj['opt_lower']} > opt_upper {ub}")
    return Verified(True, "verified", ratio)


def dump_hof(path: Path, entries: Iterable[dict[str, Any]]) -> None:
    """Write hall-of-fame lines atomically (no ``_source`` keys)."""
    text = "".join(
        json.dumps({k: v for k, v in e.items() if not k.startswith("_")}, separators=(",", ":"))
        + "\n"
        for e in entries
    )
    write_atomic(Path(path), text)
