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
]

HOF_FORMAT = "kvratio-hof/1"


def _frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no torn files)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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
        self.fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self.fh.flush()
        self.entries.append(entry)

    def close(self) -> None:
        self.fh.close()


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
        for k, line in enumerate(f.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{f}:{k}: not a JSON line") from None
            if obj.get("format") != HOF_FORMAT:
                raise InputError(f"{f}:{k}: format is {obj.get('format')!r}, not {HOF_FORMAT}")
            obj["_source"] = f"{f}:{k}"
            out.append(obj)
    return out


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
