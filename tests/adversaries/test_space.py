"""Search spaces: sampling and every mutation operator keep the constraints (issue 6, item 1)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from adversaries.space import (
    MUTATIONS,
    SearchSpace,
    crossover,
    mutate,
    sample,
    split_volume,
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
