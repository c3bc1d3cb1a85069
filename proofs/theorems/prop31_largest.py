"""The *false* variant of Prop 3.1: summing the k largest volumes (``docs/model.md`` section 11).

``M * OPT >= sum_k (V_[1] + ... + V_[k])`` with volumes *descending* is false: with ``s = 0``,
``o = 1, 2`` and ``M = 2`` both requests start at round 0, ``OPT = 3`` and ``M * OPT = 6 < 3 + 4``.
That example has ``s = 0``, outside the model (``s >= 1``), so the empirical check also searches
small in-model instances for a counter-example certified by a checked schedule.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem, Worst


def symbolic() -> list[SymbolicCheck]:
    import sympy as sp

    from proofs.symbolic import identity, nonneg_polynomial
    from proofs.theorems.prop31 import _sorted_volumes

    checks: list[SymbolicCheck] = []
    # the largest-k sum exceeds the smallest-k sum by sum over pairs of |V_i - V_j|
    d, v = _sorted_volumes(5)
    small = sum(sum(v[: q + 1]) for q in range(5))
    large = sum(sum(v[::-1][: q + 1]) for q in range(5))
    checks.append(
        nonneg_polynomial(
            "largest-exceeds-smallest",
            "sum_k largest_k - sum_k smallest_k >= 0 (n = 5): the variant claims more",
            large - small,
            d,
            "V_(j) = d_1 + ... + d_j",
        )
    )
    checks.append(
        identity(
            "largest-minus-smallest",
            "sum_k largest_k - sum_k smallest_k = sum_{i<j} |V_i - V_j| (n = 5)",
            large - small,
            sum(b - a for a, b in combinations(v, 2)),
        )
    )
    # the spec's counter-example, outside the model (s = 0): exact arithmetic in sympy
    s, o1, o2, m = 0, 1, 2, 2
    v1 = sp.summation(s + sp.Symbol("k"), (sp.Symbol("k"), 1, o1))
    v2 = sp.summation(s + sp.Symbol("k"), (sp.Symbol("k"), 1, o2))
    # both start at 0: round 0 holds (s+1) + (s+1) = 2 <= M, round 1 holds s+2 = 2 <= M
    mem_ok = (s + 1) + (s + 1) <= m and s + 2 <= m
    opt = o1 + o2  # each request's latency is at least o_i, attained
    lhs = max(v1, v2) + (v1 + v2)
    checks.append(
        SymbolicCheck(
            "spec-counterexample-s0",
            "s = 0, o = 1, 2, M = 2: M * OPT = 6 < 7 = sum_k largest_k (refutes the variant)",
            bool(mem_ok and m * opt < lhs),
            f"M*OPT - sum largest = {m * opt - lhs}",
            "V = 1, 3; starts (0, 0) feasible; OPT = o1 + o2 = 3 (latency >= o); outside s >= 1",
        )
    )
    return checks


def empirical(quick: bool, seed: int) -> list[EmpiricalCheck]:
    from proofs.inequalities import largest_prefix_bound
    from proofs.opt import opt_bounds
    from ratio.check import check
    from ratio.io import to_dict
    from ratio.model import Instance

    tried = 0
    top = 4 if quick else 6
    for m in range(2, 3 * top):
        for s1 in range(1, top):
            for o1 in range(1, top):
                for s2 in range(1, top):
                    for o2 in range(1, top):
                        if s1 + o1 > m or s2 + o2 > m or (s1, o1) > (s2, o2):
                            continue
                        inst = Instance.from_tuples(m, [(0, s1, o1), (0, s2, o2)])
                        tried += 1
                        ob = opt_bounds(inst)
                        ineq = largest_prefix_bound(inst, ob.upper)
                        if not ineq:
                            assert check(inst, ob.schedule)
                            w = Worst(
                                "sum_k largest_k(V) / (M * UB(OPT)) (> 1 refutes)",
                                Fraction(ineq.lhs, ineq.rhs),
                                Fraction(1),
                                True,
                                to_dict(inst),
                                inst.alpha,
                                {
                                    "opt_upper": ob.upper,
                                    "opt_exact": ob.exact,
                                    "opt_starts": list(ob.schedule.starts),
                                },
                            )
                            return [
                                EmpiricalCheck(
                                    "in-model-counterexample",
                                    "search n = 2 in-model instances for "
                                    "M * UB(OPT) < sum_k largest_k",
                                    tried,
                                    False,
                                    worst=w,
                                    counterexample=w,
                                    note=(
                                        f"M = {m}, (s, o) = ({s1}, {o1}), ({s2}, {o2}): "
                                        f"M * UB = {ineq.rhs} < {ineq.lhs}; schedule "
                                        f"{list(ob.schedule.starts)} checked"
                                    ),
                                )
                            ]
    return [
        EmpiricalCheck(
            "in-model-counterexample",
            "search n = 2 in-model instances for M * UB(OPT) < sum_k largest_k",
            tried,
            True,
            note="no in-model counter-example with n = 2 in the searched range",
        )
    ]


THEOREM = Theorem(
    name="prop31_largest",
    title="False variant of Prop 3.1 (k largest volumes)",
    statement="M * OPT >= sum_k (k largest volumes)  [claimed false by model §11]",
    source="docs/model.md section 11 (variant of Kong, Qi, Ye, Zhou, Prop 3.1)",
    regime="all_at_zero",
    constant="lower bound (ratio <= 1)",
    symbolic=symbolic,
    empirical=empirical,
)
