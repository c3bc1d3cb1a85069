"""Helpers for the false controls of issue 16: a claim evaluated at exact rational points.

A control is the theorem's check run on a deliberately false variant (a constant lowered below
the claim, a statement strengthened). For a symbolic claim the check is an exhaustive evaluation
on a grid of exact points: the first point where the claim fails is the ``witness`` that makes
the check refute. Real claims pass the same evaluation, so the grid is part of the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import product
from typing import Any

from proofs.registry import EmpiricalCheck, SymbolicCheck, Worst

__all__ = ["exact_points", "ratio_check"]


def exact_points(
    name: str,
    claim: str,
    expr: Any,
    symbols: Sequence[Any],
    grid: Sequence[Sequence[int | Fraction]],
    *,
    kind: str = "ge",
) -> SymbolicCheck:
    """Evaluate the sympy ``expr`` (claimed ``== 0`` for ``kind="eq"``, ``>= 0`` for ``"ge"``,
    ``> 0`` for ``"gt"``) at every point of the product ``grid`` with exact rationals.

    ``holds`` is False with the first violating point as ``witness``; a point where ``expr`` is
    undefined (zero denominator) is skipped and counted in ``proof``.
    """
    import sympy as sp

    skipped = 0
    count = 0
    for point in product(*grid):
        sub = {
            s: sp.Rational(Fraction(v).numerator, Fraction(v).denominator)
            for s, v in zip(symbols, point, strict=True)
        }
        val = sp.nsimplify(expr.subs(sub))
        if val.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not val.is_Rational:
            skipped += 1
            continue
        count += 1
        bad = (val != 0) if kind == "eq" else (val < 0) if kind == "ge" else (val <= 0)
        if bad:
            return SymbolicCheck(
                name,
                claim,
                False,
                str(val),
                f"evaluated exactly on {count} points; fails here",
                {str(s): str(v) for s, v in zip(symbols, point, strict=True)} | {"value": str(val)},
            )
    return SymbolicCheck(
        name,
        claim,
        True,
        "0" if kind == "eq" else ">= 0",
        f"exact evaluation at {count} grid points ({skipped} undefined skipped)",
    )


def ratio_check(
    name: str,
    claim: str,
    rows: Iterable[tuple[Fraction, Fraction, dict[str, Any] | None, Fraction | None]],
    measure: str,
    *,
    certified: bool = True,
    note: str = "",
) -> EmpiricalCheck:
    """``value <= bound`` on each row ``(value, bound, trace, alpha)``, exact.

    The first row with ``value > bound`` is the counter-example (``certified`` says whether the
    value is a certified lower bound on the true quantity); the worst row is the one with the
    largest ``value / bound``.
    """
    count = 0
    counter: Worst | None = None
    worst: Worst | None = None
    for value, bound, trace, alpha in rows:
        count += 1
        w = Worst(measure, value, bound, certified, trace, alpha)
        if value > bound and counter is None:
            counter = w
        if worst is None or (bound and value / bound > worst.value / worst.constant):  # type: ignore[operator]
            worst = w
    text = f"{count} cases; worst {measure}: " + (
        f"{float(worst.value):.6g} against {float(worst.constant or 0):.6g}" if worst else "none"
    )
    if worst is not None and worst.closeness is not None:
        text += f" ({worst.closeness:.1%} of its bound)"
    return EmpiricalCheck(
        name,
        claim,
        count,
        counter is None,
        worst=worst,
        counterexample=counter,
        note=(note + "; " if note else "") + text,
    )
