"""Small, sound sympy tools shared by the theorem modules.

Three kinds of argument, each returning a :class:`~proofs.registry.SymbolicCheck`:

* :func:`identity`: ``simplify(lhs - rhs)``; holds iff the residual is 0.
* :func:`nonneg_polynomial`: an expression that expands to a polynomial with non-negative
  coefficients in variables that are non-negative on the domain is >= 0 there.
* :func:`certificate`: ``target == sum_k m_k * h_k + r`` exactly (checked by ``expand``), every
  hypothesis ``h_k >= 0`` given, every multiplier ``m_k`` and the remainder ``r`` non-negative
  polynomials as above, hence ``target >= 0`` (a Positivstellensatz-style certificate).

:func:`converged` picks the branch of a sympy ``Piecewise`` (from a series) whose condition holds
on the stated domain, checking the condition with ``solveset`` rather than assuming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from proofs.registry import SymbolicCheck

__all__ = ["identity", "nonneg_polynomial", "certificate", "converged", "is_nonneg_polynomial"]


def identity(name: str, claim: str, lhs: Any, rhs: Any, proof: str = "") -> SymbolicCheck:
    """``lhs == rhs`` iff ``simplify(lhs - rhs) == 0``; the residual is reported."""
    res = sp.simplify(sp.expand(lhs - rhs))
    if res != 0:
        res = sp.simplify(sp.factor(sp.together(res)))
    return SymbolicCheck(name, claim, res == 0, str(res), proof or "simplify(lhs - rhs) == 0")


def is_nonneg_polynomial(expr: Any, nonneg: Sequence[sp.Symbol]) -> bool:
    """True if ``expr`` expands to a polynomial in ``nonneg`` whose coefficients are all
    non-negative numbers (so ``expr >= 0`` whenever every variable is >= 0)."""
    e = sp.expand(expr)
    if e == 0:
        return True
    try:
        poly = sp.Poly(e, *nonneg)
    except sp.PolynomialError:
        return False
    return all(c.is_number and c >= 0 for c in poly.coeffs())


def nonneg_polynomial(
    name: str, claim: str, expr: Any, nonneg: Sequence[sp.Symbol], domain: str
) -> SymbolicCheck:
    """``expr >= 0`` on ``domain`` (where every symbol in ``nonneg`` is >= 0)."""
    ok = is_nonneg_polynomial(expr, nonneg)
    return SymbolicCheck(
        name,
        claim,
        ok,
        str(sp.factor(sp.expand(expr))),
        f"expands to a polynomial with non-negative coefficients in {', '.join(map(str, nonneg))} "
        f">= 0 ({domain})"
        if ok
        else "not a polynomial with non-negative coefficients",
    )


def certificate(
    name: str,
    claim: str,
    target: Any,
    hyps: Sequence[tuple[str, Any, Any]],
    nonneg: Sequence[sp.Symbol],
    domain: str,
) -> SymbolicCheck:
    """``target >= 0`` from hypotheses ``h_k >= 0`` with multipliers ``m_k``.

    ``hyps`` holds ``(label, h_k, m_k)``. Checks that ``r = target - sum m_k h_k`` and every
    ``m_k`` are non-negative polynomials in ``nonneg``.
    """
    rem = sp.expand(target - sum(m * h for _, h, m in hyps))
    bad = [lbl for lbl, _, m in hyps if not is_nonneg_polynomial(m, nonneg)]
    ok = not bad and is_nonneg_polynomial(rem, nonneg)
    combo = " + ".join(f"({sp.factor(m)})*[{lbl}]" for lbl, _, m in hyps)
    proof = (
        f"target = {combo} + ({sp.factor(rem)}); multipliers and remainder are polynomials with "
        f"non-negative coefficients in {', '.join(map(str, nonneg))} >= 0 ({domain})"
    )
    if bad:
        proof = f"multipliers not non-negative: {bad}"
    return SymbolicCheck(name, claim, ok, str(sp.factor(rem)), proof)


def converged(expr: Any, var: sp.Symbol, domain: sp.Set) -> tuple[Any, list[str]]:
    """Replace each ``Piecewise`` in ``expr`` by its first branch whose condition holds on all
    of ``domain`` (checked with ``solveset`` over the reals); return it and the conditions used.

    Raises ``ValueError`` if no branch's condition covers the domain.
    """
    used: list[str] = []

    def pick(pw: sp.Piecewise) -> Any:
        for branch in pw.args:
            cond = branch.cond
            if cond is sp.true:
                used.append("otherwise")
                return branch.expr
            sol = sp.solveset(cond, var, sp.S.Reals)
            if domain.is_subset(sol):
                used.append(f"{cond} on {domain}")
                return branch.expr
        raise ValueError(f"no branch of {pw} holds on {domain}")

    out = expr.replace(lambda e: isinstance(e, sp.Piecewise), pick)
    return out, used


def nonneg_on_unit_interval(
    name: str, claim: str, expr: Any, var: sp.Symbol, others: Sequence[sp.Symbol], domain: str
) -> SymbolicCheck:
    """``expr >= 0`` for ``var`` in ``[0, 1]`` and ``others >= 0`` by a Bernstein certificate:
    with ``u = 1 - var``, homogenise each power ``var^k`` to degree ``d`` as
    ``var^k (var + u)^(d-k)``; if the expansion has non-negative coefficients in
    ``var, u, others`` (trying ``d`` up to ``deg + 8``), it is >= 0 on the domain (Polya)."""
    u = sp.Symbol("u_", nonnegative=True)
    poly = sp.Poly(sp.expand(expr), var)
    deg = poly.degree()
    for d in range(max(deg, 0), deg + 9):
        hom = sum(c * var**k * (var + u) ** (d - k) for (k,), c in poly.terms())
        if is_nonneg_polynomial(hom, [var, u, *others]):
            return SymbolicCheck(
                name,
                claim,
                True,
                str(sp.factor(sp.expand(expr))),
                f"Bernstein form of degree {d} in {var} and u = 1 - {var} has non-negative "
                f"coefficients ({domain})",
            )
    return SymbolicCheck(
        name,
        claim,
        False,
        str(sp.factor(sp.expand(expr))),
        "no Bernstein certificate up to degree + 8",
    )
