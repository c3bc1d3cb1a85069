"""Search spaces: sampling and every mutation operator keep the constraints (issue 6, item 1);
the structured genome space, its exact volume ties and seeds that keep their scale (issue 15)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from adversaries.space import (
    GENOME_OPS,
    MUTATIONS,
    SearchSpace,
    crossover,
    expand,
    genome_n,
    mutate,
    mutate_genome,
    op_change_row,
    op_scale,
    op_tie,
    repair_genome,
    sample,
    sample_genome,
    split_volume,
    tie_shape,
    to_instance,
)
from ratio.model import volume

spaces = st.builds(
    SearchSpace,
    regime=st.sampled_from(["all_at_zero", "online"]),
    n_min=st.integers(1, 4),
    n_max=st.integers(4, 9),
    prompt_range=st.tuples(st.integers(1, 3), st.integers(3, 20)),
    output_range=st.tuples(st.integers(1, 3), st.integers(3, 20)),
    alpha_max=st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(1, 3), Fraction(2, 5)]),
)


@given(space=spaces, seed=st.integers(0, 2**32 - 1))
def test_sample_and_mutations_stay_in_space(space: SearchSpace, seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = sample(space, rng)
    assert space.contains(p)
    for name, (op, _) in MUTATIONS.items():
        q = op(space, p, rng)
        if q is not None:
            assert space.contains(q), name
            inst = to_instance(q)
            assert inst.alpha <= space.alpha_max
            if space.regime == "all_at_zero":
                assert inst.all_at_zero
    q = mutate(space, p, rng, steps=3)
    assert space.contains(q)
    r = crossover(space, p, q, rng)
    assert space.contains(r)


@given(s=st.integers(1, 16), o=st.integers(1, 16), seed=st.integers(0, 1000))
def test_split_keeps_total_volume(s: int, o: int, seed: int) -> None:
    space = SearchSpace(prompt_range=(1, 16), output_range=(1, 16))
    parts = split_volume(space, s, o, np.random.default_rng(seed))
    if parts is not None:
        (s1, o1), (s2, o2) = parts
        assert volume(s1, o1) + volume(s2, o2) == volume(s, o)


def test_capacity_respects_alpha_cap() -> None:
    space = SearchSpace(
        alpha_max=Fraction(1, 3), n_min=1, prompt_range=(1, 10), output_range=(1, 10)
    )
    assert space.capacity_for(20) == 60
    assert space.capacity_for(7) == 21
    assert space.contains((60, ((0, 10, 10),)))
    assert not space.contains((59, ((0, 10, 10),)))
    assert not space.contains((60, ((3, 10, 10),)))  # burst regime: arrivals are 0


# --- issue 15: the structured genome space ------------------------------------------------------
WIDE = SearchSpace(
    n_min=1,
    n_max=10_000,
    prompt_range=(1, 100_000),
    output_range=(1, 100_000),
    alpha_max=Fraction(3, 4),
    capacity_max=10**7,
)

genome_spaces = st.builds(
    SearchSpace,
    regime=st.sampled_from(["all_at_zero", "online"]),
    n_min=st.integers(1, 6),
    n_max=st.integers(6, 3000),
    prompt_range=st.tuples(st.integers(1, 3), st.integers(3, 100_000)),
    output_range=st.tuples(st.integers(1, 3), st.integers(3, 100_000)),
    alpha_max=st.sampled_from([Fraction(1), Fraction(3, 4), Fraction(1, 2), Fraction(1, 4)]),
    work_max=st.sampled_from([0, 10_000, 500_000]),
)


@settings(deadline=None)
@given(space=genome_spaces, seed=st.integers(0, 2**32 - 1))
def test_genomes_and_their_operators_stay_in_space(space: SearchSpace, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = sample_genome(space, rng)
    for _ in range(15):
        assert space.contains(expand(g)), g
        assert genome_n(g) == len(expand(g)[1])
        if space.work_max:
            assert sum(o for _, _, o in expand(g)[1]) <= max(
                space.work_max, genome_n(g) * space.output_range[0]
            )
        for name, (op, _) in GENOME_OPS.items():
            out = op(space, g, rng)
            if out is not None:
                assert space.contains(expand(out)), (name, out)
        g = mutate_genome(space, g, rng, steps=2)


@settings(max_examples=200, deadline=None)
@given(V=st.integers(2, 10**10), seed=st.integers(0, 2**32 - 1))
def test_tie_shape_has_exactly_the_volume(V: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tie_shape(WIDE, V, rng, avoid=1)
    if shape is not None:
        s, o = shape
        assert volume(s, o) == V and o != 1
        assert 1 <= s <= 100_000 and 1 <= o <= 100_000


@settings(deadline=None)
@given(
    s=st.integers(1, 5000),
    o=st.integers(2, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_tie_operator_makes_equal_volumes_of_different_shapes(s: int, o: int, seed: int) -> None:
    """``op_tie`` gives one row a new shape of another row's volume (or one less) with a
    different output; the wide-row case (``o = 1``, ``s = V - 1``) always exists, so some draw
    succeeds."""
    rng = np.random.default_rng(seed)
    V = volume(s, o)
    assume(V <= 100_001)  # the wide shape (V - 1, 1) is in range
    g = (10**6, ((0, s, o, 1), (0, 3, 3, 1)), 1)
    hits = 0
    for _ in range(30):
        out = op_tie(WIDE, g, rng)
        if out is None:
            continue
        (_, s0, o0, _), (_, s1, o1, _) = out[1]
        if (s0, o0) == (s, o):  # row 1 was tied to row 0
            assert (s1, o1) != (s, o) and o1 != o
            assert V - 1 <= volume(s1, o1) <= V
            hits += volume(s1, o1) == V
    assert hits > 0


def test_ties_survive_scaling() -> None:
    """A thin row tied to a wide row (output 1, which can take any volume) stays tied when the
    whole trace is scaled or the thin row is changed."""
    thin = (0, 2916, 308, 10)
    V = volume(2916, 308)
    wide = (0, V - 1, 1, 1)
    g = (2 * V, (thin, wide), 3)
    rng = np.random.default_rng(0)
    seen = tied = other = 0
    for _ in range(40):
        for op in (op_scale, op_change_row):
            out = op(SearchSpace(**{**WIDE.__dict__, "extra": {}}), g, rng)
            if out is None:
                continue
            (_, s0, o0, _), (_, s1, o1, _) = out[1]
            if volume(s0, o0) - 1 <= 100_000:  # the wide shape (V - 1, 1) exists
                assert volume(s0, o0) == volume(s1, o1), out
                seen += 1
            else:  # beyond the prompt range a tie needs a divisible output: most draws find one
                tied += volume(s0, o0) == volume(s1, o1)
                other += 1
    assert seen > 10
    assert tied >= other // 2


def test_family_seed_survives_repair_with_its_scale() -> None:
    """The issue's case: an n = 8 ``svf_hol_block`` seed with M = 361 came out of
    ``Structured._seed`` with M = 128. Through :func:`fit_seed` it is unchanged in a space that
    admits it, and in a narrow space it is scaled as a whole (M against the largest peak
    kept), not clipped row by row."""
    from adversaries.families import FAMILIES
    from adversaries.space import fit_seed, from_instance

    inst, _ = FAMILIES["svf_hol_block"].build(8, Fraction(1, 2))
    seed = from_instance(inst)
    assert seed[0] == 361
    g = fit_seed(WIDE, seed)
    assert expand(g) == seed
    narrow = SearchSpace(n_min=8, n_max=8, alpha_max=Fraction(1, 2))  # s, o in 1..16
    g2 = fit_seed(narrow, seed)
    assert narrow.contains(expand(g2))
    peak = max(s + o for _, s, o in seed[1])
    peak2 = max(s + o for _, s, _, o in ((0, r[1], 0, r[2]) for r in g2[1]))
    assert abs(Fraction(g2[0], peak2) - Fraction(seed[0], peak)) < Fraction(1, 4)
    # the structured strategy's restarts keep M
    from adversaries.strategies.structured import Structured

    st_ = Structured(WIDE, 1)
    Ms = set()
    for _ in range(40):
        fam = st_.family_seed()
        if fam is not None:
            assert WIDE.contains(expand(fam))
            Ms.add(fam[0])
    assert any(M > 128 for M in Ms)


def test_repair_genome_counts_and_capacity() -> None:
    sp = SearchSpace(n_min=6, n_max=6, prompt_range=(1, 50), output_range=(1, 50))
    g = repair_genome(sp, (10**9, ((0, 80, 3, 4), (5, 2, 99, 0)), 7))
    assert genome_n(g) == 6 and sp.contains(expand(g))
    assert g[0] == sp.capacity_max  # M moved to the nearest allowed end, not reset
    kept = repair_genome(WIDE, (5000, ((0, 3000, 2, 2), (0, 1, 70, 1)), 9))
    assert kept == (5000, ((0, 3000, 2, 2), (0, 1, 70, 1)), 9)


@pytest.mark.parametrize("seed", range(12))
def test_repair_keeps_n_when_n_min_equals_n_max(seed: int) -> None:
    """At n_min = n_max = 10^4 with wide lengths, seed 4 once gave 11,120,000 requests: the
    work cap's repetition count used the block's size from before the last row was padded."""
    sp = SearchSpace(
        regime="all_at_zero",
        n_min=10_000,
        n_max=10_000,
        prompt_range=(1, 100_000),
        output_range=(1, 100_000),
        capacity_max=10**7,
    )
    assert genome_n(sample_genome(sp, np.random.default_rng(seed))) == 10_000
