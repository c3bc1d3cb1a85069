"""Replay the hall of fame's worst traces through vLLM's scheduler (issue 4, item 6).

Each line of ``adversaries/hall_of_fame/*.jsonl`` (``kvratio-hof/1``) carries a trace and the
policy it defeats. The trace is replayed through vLLM 0.32's scheduler alone (fake model output,
:func:`hardware_check.scheduler_replay.replay_scheduler`) with the policy's key as vLLM's
priority and blocks of one token (the traces have small ``M``; the CPU engine needs blocks of
32), and compared with the model by :func:`hardware_check.compare.compare`.

Run: ``python -m hardware_check.hall_of_fame [DIR] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOF = ROOT / "adversaries" / "hall_of_fame"

__all__ = ["replay_hall_of_fame", "replayable", "replayable_lines"]

#: The replay's limits: vLLM's ``max_model_len`` for the stub model (8192 tokens), and a size
#: that keeps the replay of the whole hall of fame to minutes. The structured families'
#: traces (issue 15: up to 5200 requests, ``M`` up to 4 million) are beyond both.
MAX_REPLAY_TOKENS = 8192
MAX_REPLAY_N = 64


def replayable(entry: dict[str, Any]) -> bool:
    """Is this hall-of-fame line within the replay's limits?"""
    reqs = entry["trace"]["requests"]
    return len(reqs) <= MAX_REPLAY_N and entry["trace"]["M"] <= MAX_REPLAY_TOKENS


def replayable_lines(directory: Path = HOF) -> list[tuple[str, dict[str, Any]]]:
    """Every hall-of-fame line within :func:`replayable`, as ``("file.jsonl:k", entry)``, in
    file and line order."""
    out = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for k, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip():
                entry = json.loads(line)
                if replayable(entry):
                    out.append((f"{path.name}:{k}", entry))
    return out


def replay_hall_of_fame(
    directory: Path = HOF, *, block_size: int = 1, eviction: str = "resume"
) -> list[dict[str, Any]]:
    """One row per distinct replayable hall-of-fame line (policy and trace; a trace that
    stands for several alpha caps is replayed once): the model-vs-vLLM verdict and its
    figures, the model in ``eviction`` mode (model §7; vLLM's is ``resume``). Lines beyond
    :func:`replayable` are left out."""
    from hardware_check.compare import compare
    from hardware_check.mapping import plan_replay
    from hardware_check.scheduler_replay import replay_scheduler
    from ratio.io import from_dict

    rows = []
    seen: set[str] = set()
    for name, entry in replayable_lines(directory):
        key = json.dumps([entry["policy"], entry["trace"]], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        inst = from_dict(entry["trace"], source=name)
        plan = plan_replay(inst, entry["policy"], block_size=block_size)
        cmp = compare(plan, replay_scheduler(plan), eviction=eviction)
        d = cmp.to_dict()
        rows.append(
            {
                "line": name,
                "policy": entry["policy"],
                "reference": plan.reference,
                "twin": cmp.twin,
                "n": inst.n,
                "M": inst.capacity,
                "steps": d["steps"],
                "preemptions": sum(d["preemptions"]),
                "verdict": d["verdict"],
                "mismatches": d["mismatches"],
                "accounting_mismatches": d["accounting_mismatches"],
                "unexplained": d["unexplained"],
                "explanations": d["explanations"],
                "stalls": cmp.mirror_run.stalls,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("directory", nargs="?", default=str(HOF))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--eviction", choices=("resume", "restart"), default="resume")
    args = ap.parse_args(argv)
    rows = replay_hall_of_fame(Path(args.directory), eviction=args.eviction)
    if args.json:
        print(json.dumps({"rows": rows}))
    else:
        for r in rows:
            print(
                f"{r['line']:<40} {r['policy']:<6} n={r['n']:<3} M={r['M']:<4} "
                f"steps={r['steps']:<4} preemptions={r['preemptions']:<3} {r['verdict']:<9} "
                f"unexplained={r['unexplained']}"
            )
        bad = sum(r["unexplained"] for r in rows)
        print(
            f"{len(rows)} traces, {sum(r['verdict'] == 'match' for r in rows)} match, "
            f"{sum(r['verdict'] == 'explained' for r in rows)} explained, "
            f"{sum(r['mismatches'] for r in rows)} differences, {bad} unexplained "
            f"(eviction={args.eviction})"
        )
    return 0 if all(r["unexplained"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
