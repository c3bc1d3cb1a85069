"""Volume closed form, engine convention and block rounding (``docs/model.md`` sections 4, 9).

``V = sum_{k=1..o} (s + k) = s*o + o(o+1)/2``; the engine convention holds one token less per
round, ``V - o``; vLLM's paging rounds each round's ``s + k - 1`` tokens up to whole blocks of
``B``, which adds between 0 and ``B - 1`` tokens per round.
"""

from __future__ import annotations

import numpy as np

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem, Worst


def symbolic() -> list[SymbolicCheck]:
    import sympy as sp

    from proofs.symbolic import identity

    s, o, k = sp.symbols("s o k", integer=True, nonnegative=True)
    b = sp.symbols("B", integer=True, positive=True)
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
    # Block rounding: B*ceil(x/B) evaluated (sympy ceiling, exact) on every x < 64, B <= 17.
    from proofs.controls import exact_points

    x = sp.symbols("x", integer=True, nonnegative=True)
    rounded = b * sp.ceiling(x / b)
    grid = [range(0, 64), range(1, 18)]
    checks.append(
        exact_points(
            "block-rounding-lower",
            "B*ceil(x/B) - x >= 0 (x < 64, 1 <= B <= 17, ceiling evaluated)",
            rounded - x,
            [x, b],
            grid,
        )
    )
    checks.append(
        exact_points(
            "block-rounding-upper",
            "x + B - 1 - B*ceil(x/B) >= 0 (x < 64, 1 <= B <= 17, ceiling evaluated)",
            x + b - 1 - rounded,
            [x, b],
            grid,
        )
    )
    return checks


def empirical(quick: bool, seed: int) -> list[EmpiricalCheck]:
    # long: the theorem's checks in the order docs/theorems.md states them, one block each
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


def control(quick: bool, seed: int) -> tuple[list[SymbolicCheck], list[EmpiricalCheck]]:
    """False variants: the closed form with o(o-1)/2, and the block window one token narrower
    (B*ceil(x/B) <= x + B - 2). Both must fail at an exact point."""
    import sympy as sp

    from proofs.controls import exact_points

    s, o, k, x = sp.symbols("s o k x", integer=True, nonnegative=True)
    b = sp.symbols("B", integer=True, positive=True)
    model = sp.summation(s + k, (k, 1, o))
    return [
        exact_points(
            "volume-closed-form (false: o(o-1)/2)",
            "sum_{k=1..o}(s+k) - (s*o + o(o-1)/2) == 0",
            model - (s * o + o * (o - 1) / 2),
            [s, o],
            [range(0, 8), range(1, 8)],
            kind="eq",
        ),
        exact_points(
            "block-rounding-upper (false: B - 2)",
            "x + B - 2 - B*ceil(x/B) >= 0",
            x + b - 2 - b * sp.ceiling(x / b),
            [x, b],
            [range(0, 64), range(1, 18)],
        ),
    ], []


THEOREM = Theorem(
    name="volume",
    title="Volume closed form, engine convention, block rounding",
    statement=(
        "V = sum_{k=1..o}(s+k) = s*o + o(o+1)/2; engine convention V - o; with blocks of B tokens "
        "V - o <= V_B <= V - o + (B-1) o"
    ),
    source="docs/model.md sections 4 and 9 (Kong, Qi, Ye, Zhou, arXiv 2606.22327, section 2)",
    regime="any",
    constant="identity",
    symbolic=symbolic,
    empirical=empirical,
    paper="kong2026-svf",
    control=control,
    control_claim="V = s*o + o(o-1)/2 and B*ceil(x/B) <= x + B - 2",
)
