"""Prop 3.1 (OPT lower bound, all arrivals at 0) and the stronger bound of model §11.

``M * OPT >= sum_k (V_(1) + ... + V_(k))`` with volumes ascending: the first ``k`` completions
have used at least the ``k`` smallest volumes of area inside ``[0, C_(k)]``, whose area is at most
``M * C_(k)``. Spec 11 sharpens each term to ``max(ceil(prefix_k / M), o_(k))``. The identity
``sum_k prefix_k = sum_i V_i + sum_{i<j} min(V_i, V_j)`` rewrites the bound pairwise.

References: Kong, Qi, Ye, Zhou, arXiv 2606.22327, Prop 3.1; ``docs/model.md`` section 11.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem, Worst

#: Sizes for which the sorted-volume identities are expanded symbolically.
SYMBOLIC_N = (1, 2, 3, 4, 5, 6)


def _sorted_volumes(n: int) -> tuple[list, list]:
    import sympy as sp

    d = sp.symbols(f"d1:{n + 1}", nonnegative=True)
    v = [sum(d[: j + 1]) for j in range(n)]  # V_(1) <= ... <= V_(n) by construction
    return list(d), v


def symbolic() -> list[SymbolicCheck]:
    import sympy as sp

    from proofs.symbolic import identity, is_nonneg_polynomial

    checks: list[SymbolicCheck] = []
    # 1. the identity, general n: coefficient of V_(j) on each side
    n, j, k, i = sp.symbols("n j k i", integer=True, positive=True)
    checks.append(
        identity(
            "prefix-identity-coefficients",
            "coefficient of V_(j): #{k >= j} = 1 + #{i > j} (pairs where V_(j) is the min)",
            sp.summation(1, (k, j, n)),
            1 + sp.summation(1, (i, j + 1, n)),
            "sympy summation with symbolic n, j; simplify",
        )
    )
    # 2. the identity expanded for small n with sorted volumes V_(j) = d_1 + ... + d_j
    res_all = []
    for m in SYMBOLIC_N:
        _, v = _sorted_volumes(m)
        lhs = sum(sum(v[: q + 1]) for q in range(m))
        rhs = sum(v) + sum(sp.Min(a, b) for a, b in combinations(v, 2))
        res_all.append(sp.simplify(lhs - rhs))
    ok = all(r == 0 for r in res_all)
    checks.append(
        SymbolicCheck(
            "prefix-identity-expanded",
            f"sum_k prefix_k = sum V + sum_pairs min(V_i, V_j) for n in {SYMBOLIC_N}",
            ok,
            str(res_all if not ok else 0),
            "V_(j) = d_1 + ... + d_j with d >= 0 so sympy resolves each Min; residual simplified",
        )
    )
    # 3. exchange lemma: any k volumes sum to at least the k smallest (n <= 5, every subset)
    bad = []
    for m in SYMBOLIC_N[:5]:
        d, v = _sorted_volumes(m)
        for size in range(1, m + 1):
            for sub in combinations(range(m), size):
                if not is_nonneg_polynomial(sum(v[q] for q in sub) - sum(v[:size]), d):
                    bad.append((m, sub))
    checks.append(
        SymbolicCheck(
            "k-smallest-exchange",
            "sum of any k volumes >= prefix_k (every subset, n <= 5)",
            not bad,
            str(bad or 0),
            "each difference is a polynomial with non-negative coefficients in d >= 0",
        )
    )
    return checks


def empirical(quick: bool, seed: int) -> list[EmpiricalCheck]:
    # long: the theorem's checks in the order docs/theorems.md states them, one block each
    from proofs.inequalities import prefix_identity, prop31, section11
    from proofs.opt import UB_POLICIES, dependency, opt_bounds, section11_bound
    from proofs.sampling import burst_instances
    from ratio.check import check
    from ratio.io import to_dict
    from ratio.simulator import simulate

    bounds_mod = dependency("offline_opt.bounds")
    count = 200 if quick else 5000
    fails: list[str] = []
    counter: Worst | None = None
    exact = 0
    worst: Worst | None = None
    for inst in burst_instances(count, seed=seed, n_range=(1, 8)):
        if not prefix_identity(inst):
            fails.append(f"identity fails on {to_dict(inst)}")
        if bounds_mod is not None and bounds_mod.volume_lower_bound(inst) != section11_bound(inst):
            fails.append(
                f"offline_opt.bounds.volume_lower_bound != spec-11 formula on {to_dict(inst)}"
            )
        ob = opt_bounds(inst, exact_max_n=5 if quick else 6)
        exact += ob.exact
        costs = [ob.upper]
        for pol in UB_POLICIES[:3]:
            run = simulate(inst, pol)
            assert check(inst, run.schedule)
            costs.append(run.total_latency)
        for cst in costs:
            for ineq in (prop31(inst, cst), section11(inst, cst)):
                if not ineq:
                    fails.append(f"{ineq.name}: {ineq.lhs} > {ineq.rhs}")
                    if counter is None:
                        counter = Worst(
                            f"{ineq.name}: lhs / rhs (> 1 refutes)",
                            Fraction(ineq.lhs, max(int(ineq.rhs), 1)),
                            Fraction(1),
                            True,
                            to_dict(inst),
                            inst.alpha,
                            {"schedule_cost": cst},
                        )
        lb = section11(inst, ob.upper).lhs
        val = Fraction(lb, ob.upper)
        if worst is None or val > worst.value:
            worst = Worst(
                "section-11 bound / UB(OPT) (<= 1; 1 means the bound is tight)",
                val,
                Fraction(1),
                True,
                to_dict(inst),
                inst.alpha,
                {
                    "opt_upper": ob.upper,
                    "opt_exact": ob.exact,
                    "opt_source": ob.source,
                    "prop31_bound": str(Fraction(prop31(inst, 0).lhs, inst.capacity)),
                },
            )
    note = (
        f"{len(fails)} failures; first: {fails[0]}"
        if fails
        else f"every schedule cost (best-known UB and svf/sjf/spf runs) >= both bounds; "
        f"{exact} instances with exact OPT; offline_opt.bounds.volume_lower_bound "
        + ("agrees with the spec-11 formula" if bounds_mod is not None else "not installed")
    )
    return [
        EmpiricalCheck(
            "bounds-below-every-schedule",
            "prefix identity; sum prefix <= M L and section-11 bound <= L for checked schedules",
            count,
            not fails,
            worst=worst,
            counterexample=counter,
            note=note,
        )
    ]


def control(quick: bool, seed: int) -> tuple[list[SymbolicCheck], list[EmpiricalCheck]]:
    """False variants: the pairwise identity with ``max`` in place of ``min`` (exact points), and
    the section-11 bound raised by 1/8 against the best checked schedule (exact OPT for n <= 5)."""
    import sympy as sp

    from proofs.controls import exact_points, ratio_check
    from proofs.opt import opt_bounds, section11_bound
    from proofs.sampling import burst_instances
    from ratio.io import to_dict

    d = sp.symbols("d1:4", nonnegative=True)
    v = [d[0], d[0] + d[1], d[0] + d[1] + d[2]]
    lhs = v[0] + (v[0] + v[1]) + (v[0] + v[1] + v[2])
    rhs = sum(v) + sum(sp.Max(a, b) for a, b in combinations(v, 2))
    sym = exact_points(
        "prefix-identity (false: max)",
        "sum_k prefix_k = sum V + sum_pairs max(V_i, V_j) (n = 3)",
        lhs - rhs,
        list(d),
        [range(0, 3)] * 3,
        kind="eq",
    )
    rows = []
    for inst in burst_instances(40 if quick else 400, seed=seed, n_range=(1, 5)):
        ob = opt_bounds(inst, exact_max_n=5)
        rows.append(
            (Fraction(9, 8) * section11_bound(inst), Fraction(ob.upper), to_dict(inst), inst.alpha)
        )
    emp = ratio_check(
        "section-11 bound x 9/8 (false)",
        "9/8 * section-11 bound <= UB(OPT) (a checked schedule's cost)",
        rows,
        "9/8 * section-11 bound / UB(OPT)",
    )
    return [sym], [emp]


THEOREM = Theorem(
    name="prop31",
    title="Prop 3.1: OPT lower bound (burst), with the section-11 strengthening",
    statement=(
        "M * OPT >= sum_k (V_(1)+...+V_(k)) (volumes ascending) "
        "= sum_i V_i + sum_{i<j} min(V_i, V_j); "
        "stronger: OPT >= sum_k max(ceil(prefix_k/M), o_(k))"
    ),
    source="Kong, Qi, Ye, Zhou, arXiv 2606.22327, Prop 3.1; docs/model.md section 11",
    regime="all_at_zero",
    constant="lower bound (ratio bound / OPT <= 1)",
    symbolic=symbolic,
    empirical=empirical,
    paper="kong2026-svf",
    control=control,
    control_claim="sum prefix = sum V + sum max(V_i, V_j); OPT >= 9/8 * section-11 bound",
)
