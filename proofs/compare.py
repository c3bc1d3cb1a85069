"""The comparison table every notebook ends with (issue 16): expected value (with its source),
computed value, tolerance, pass or fail.

:func:`table` prints the markdown table and writes it as JSON next to the notebook's figure
(``$KVRATIO_FIGURES/<name>_comparison.json``), where the notebook tests read and assert it.
A row's expected value must come from outside the computation it checks (a hand derivation, a
closed form, the paper, or a second method) and its ``source`` says which.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["Row", "row", "table", "read"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One comparison: ``|computed - expected| <= tolerance`` (``relation="=="``), or
    ``computed <= expected + tolerance`` (``"<="``) / ``computed >= expected - tolerance``
    (``">="``) for one-sided claims."""

    quantity: str
    expected: float
    source: str
    computed: float
    tolerance: float
    relation: str
    passed: bool


def row(
    quantity: str,
    expected: float | Fraction | int,
    source: str,
    computed: float | Fraction | int,
    tolerance: float = 0.0,
    relation: str = "==",
) -> Row:
    e, c = float(expected), float(computed)
    if relation == "==":
        ok = abs(c - e) <= tolerance
    elif relation == "<=":
        ok = c <= e + tolerance
    elif relation == ">=":
        ok = c >= e - tolerance
    else:
        raise ValueError(f"relation {relation!r}")
    return Row(quantity, e, source, c, float(tolerance), relation, ok)


def _figdir() -> Path:
    return Path(os.environ.get("KVRATIO_FIGURES", ROOT / "docs" / "figures"))


def table(name: str, rows: list[Row]) -> list[Row]:
    """Print the table, write ``<name>_comparison.json``; returns ``rows``."""
    print("| quantity | expected | source | computed | tolerance | pass |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        tol = f"{r.relation} +- {r.tolerance:.3g}" if r.relation == "==" else f"{r.relation}"
        if r.relation != "==" and r.tolerance:
            tol += f" (slack {r.tolerance:.3g})"
        print(
            f"| {r.quantity} | {r.expected:.6g} | {r.source} | {r.computed:.6g} | {tol} "
            f"| {'pass' if r.passed else 'FAIL'} |"
        )
    path = _figdir() / f"{name}_comparison.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    print("wrote", path)
    return rows


def read(folder: Path, name: str) -> list[dict[str, object]]:
    """The table a notebook wrote (for its test)."""
    return list(json.loads((folder / f"{name}_comparison.json").read_text()))
