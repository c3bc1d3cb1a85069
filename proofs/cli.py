"""``kvratio prove``: run the theorem registry and print verdicts (``interfaces.md``).

Imports only :mod:`argparse` at load time; sympy and the checks load in the handler.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send whatever the checks print (solver banners from C code included) to stderr, so
    that ``--json`` output stays parseable."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def register(subparsers: Any) -> None:
    """Add ``prove`` to the ``kvratio`` command line."""
    from ratio.cli import add_json_flag

    p = subparsers.add_parser(
        "prove",
        help="check theorems symbolically and on instances; print verdicts",
        description=(
            "Check each registered theorem (sympy checks and empirical checks on instances) and "
            "print verified / refuted (certified counter-example) / open (reason)."
        ),
    )
    p.add_argument("theorem", nargs="?", help="theorem name (default: all; see --list)")
    p.add_argument("--list", action="store_true", help="list the registered theorems")
    p.add_argument("--quick", action="store_true", help="small instance counts (seconds each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write-docs", metavar="PATH", help="also write the markdown table to PATH")
    add_json_flag(p)
    p.set_defaults(func=_cmd_prove)


def _cmd_prove(args: argparse.Namespace) -> int:
    from proofs.registry import get_theorem, registry, run_theorem
    from ratio.cli import emit, table

    if args.list:
        if args.theorem:
            get_theorem(args.theorem)
        thms = [get_theorem(args.theorem)] if args.theorem else list(registry().values())
        rows: list[tuple[str, ...]] = [
            (t.name, t.paper, t.statement, t.regime, t.constant) for t in thms
        ]
        emit(
            args,
            {"theorems": [t.describe() for t in thms]},
            table(rows, ("theorem", "paper", "statement", "regime", "constant")),
        )
        return 0
    thms = [get_theorem(args.theorem)] if args.theorem else list(registry().values())
    results = []
    with _stdout_to_stderr():
        for t in thms:
            print(f"prove: {t.name} ...", file=sys.stderr, flush=True)
            results.append(run_theorem(t, quick=args.quick, seed=args.seed))
    dicts = [r.to_dict() for r in results]
    rows = []
    for r in results:
        w = r.worst
        worst = "-"
        if w is not None:
            worst = f"{float(w.value):.4g}"
            if w.constant is not None:
                worst += f" vs {float(w.constant):.4g}"
            if w.alpha is not None:
                worst += f" (alpha {float(w.alpha):.3g})"
        rows.append(
            (
                r.theorem.name,
                r.theorem.paper,
                r.verdict,
                r.control_verdict,
                worst,
                f"{r.seconds:.1f}s",
                r.reason,
            )
        )
    text = table(
        rows, ("theorem", "paper", "verdict", "control", "worst vs constant", "time", "reason")
    )
    if args.write_docs:
        from proofs.docs import write_docs

        path = write_docs(results, args.write_docs)
        text += f"\nwrote {path}"
    emit(args, {"results": dicts, "quick": args.quick, "seed": args.seed}, text)
    return 1 if any(r.errors for r in results) else 0
