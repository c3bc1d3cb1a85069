"""Volume closed form, engine convention and block rounding (spec ``model.md`` sections 4, 9).

``V = sum_{k=1..o} (s + k) = s*o + o(o+1)/2``; the engine convention holds one token less per
round, ``V - o``; vLLM's paging rounds each round's ``s + k - 1`` tokens up to whole blocks of
``B``, which adds between 0 and ``B - 1`` tokens per round.
"""

from __future__ import annotations

import numpy as np

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem, Worst


def symbolic() -> list[SymbolicCheck]:
    import sympy as sp

    from proofs.symbolic import identity, nonneg_polynomial

    s, o, k, b, q, r = sp.symbols("s o k B q r", integer=True, nonnegative=True)
    model = sp.summation(s + k, (k, 1, o))
    engine = sp.summation(s + k - 1, (k, 1, o))
    v = s * o + o * (o + 1) / 2
    checks = [
        identity(
            "volume-closed-form",
            "sum_{k=1..o} (s+k) = s*o + o(o+1)/2",
            model,
            v,
            "sympy summation over k, then simplify",
        ),
        identity(
            "engine-volume",
            "sum_{k=1..o} (s+k-1) = V - o",
            engine,
            v - o,
            "sympy summation over k, then simplify",
        ),
    ]
    # x = q*B + r with 0 <= r <= B-1: B*ceil(x/B) = x if r = 0 else (q+1)*B.
    # Lower: (q+1)B - x = B - r >= 1 > 0 when r >= 1; upper: (q+1)B - x = B - r <= B - 1 iff r >= 1.
    bm1 = sp.symbols("Bm1", integer=True, nonnegative=True)  # B - 1 - r >= 0
    checks.append(
        nonneg_polynomial(
            "block-rounding-lower",
            "x <= B*ceil(x/B): with x = qB + r, 1 <= r <= B-1, (q+1)B - x = B - r >= 0",
            ((q + 1) * b - (q * b + r)).subs(b, r + bm1 + 1),
            [r, bm1],
            "B = r + 1 + Bm1, Bm1 >= 0",
        )
    )
    rm1 = sp.symbols("rm1", integer=True, nonnegative=True)  # r - 1 >= 0
    checks.append(
        nonneg_polynomial(
            "block-rounding-upper",
            "B*ceil(x/B) <= x + B - 1: (x + B - 1) - (q+1)B = r - 1 >= 0 for r >= 1 "
            "(r = 0: slack B-1)",
            ((q * b + r) + b - 1 - (q + 1) * b).subs(r, rm1 + 1),
            [rm1],
            "r = rm1 + 1, rm1 >= 0",
        )
    )
    # summed over the o rounds of a request: V - o <= V_B <= V - o + (B-1) o
    checks.append(
        nonneg_polynomial(
            "block-volume-window",
            "per request: (V - o) + o(B-1) - (V - o) = o(B-1) >= 0 (window width)",
            o * (b - 1).subs(b, bm1 + 1),
            [o, bm1],
            "B >= 1",
        )
    )
    return checks


def empirical(quick: bool, seed: int) -> list[EmpiricalCheck]:
    from proofs.inequalities import block_rounding_bounds, volume_identities
    from proofs.sampling import burst_instances
    from ratio.check import check
    from ratio.model import volume
    from ratio.simulator import simulate

    # exhaustive small grid for the closed form, ceil rounding per round
    bad: list[tuple[int, int, int]] = []
    grid = 0
    top = 24 if quick else 64
    for s in range(0, top):
        for o in range(1, top):
            v = sum(s + k for k in range(1, o + 1))
            if v != volume(s, o) or sum(s + k - 1 for k in range(1, o + 1)) != volume(s, o) - o:
                bad.append((s, o, 0))
            for b in (1, 2, 16):
                vb = sum(-(-(s + k - 1) // b) * b for k in range(1, o + 1))
                if not (volume(s, o) - o <= vb <= volume(s, o) - o + (b - 1) * o):
                    bad.append((s, o, b))
            grid += 1
    checks = [
        EmpiricalCheck(
            "closed-form-grid",
            f"V, V - o and block bounds for s < {top}, o < {top}, B in (1, 2, 16)",
            grid,
            not bad,
            note=f"first failure (s, o, B) = {bad[0]}" if bad else "exhaustive grid",
        )
    ]
    # schedules: area of simulated runs equals the volumes; block rounding window
    count = 150 if quick else 3000
    fails = 0
    worst_gap = -1.0
    worst: Worst | None = None
    rng = np.random.default_rng(seed)
    for inst in burst_instances(count, seed=seed, n_range=(1, 10)):
        pol = ("svf", "fcfs", "sjf", "sorted_f")[int(rng.integers(4))]
        run = simulate(inst, pol)
        assert check(inst, run.schedule)
        b = int(rng.choice([2, 4, 16]))
        ineqs = volume_identities(inst, run.schedule) + block_rounding_bounds(inst, run.schedule, b)
        if not all(ineqs):
            fails += 1
        lo, hi = ineqs[2], ineqs[3]
        width = hi.rhs - lo.lhs
        gap = float(hi.lhs - lo.lhs) / float(width) if width else 0.0
        if gap > worst_gap:
            from ratio.io import to_dict

            worst_gap = gap
            worst = Worst(
                "fraction of the block-rounding window used: (area_B - sum(V-o)) / ((B-1) sum o)",
                gap,
                1.0,
                False,
                to_dict(inst),
                inst.alpha,
                {"policy": pol, "block_size": b},
            )
    checks.append(
        EmpiricalCheck(
            "schedule-areas",
            "area of simulated schedules = sum V (model), sum (V - o) (engine), block window",
            count,
            fails == 0,
            worst=worst,
            note=f"{fails} failures"
            if fails
            else "policies svf, fcfs, sjf, sorted_f; B in 2, 4, 16",
        )
    )
    return checks


THEOREM = Theorem(
    name="volume",
    title="Volume closed form, engine convention, block rounding",
    statement=(
        "V = sum_{k=1..o}(s+k) = s*o + o(o+1)/2; engine convention V - o; with blocks of B tokens "
        "V - o <= V_B <= V - o + (B-1) o"
    ),
    source="spec model.md sections 4 and 9 (Kong, Qi, Ye, Zhou, arXiv 2606.22327, section 2)",
    regime="any",
    constant="identity",
    symbolic=symbolic,
    empirical=empirical,
)
