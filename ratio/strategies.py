"""Hypothesis strategies for instances of the model, public for users' own tests.

>>> from hypothesis import given
>>> from ratio.strategies import instances
>>> @given(instances(n=(1, 6), regime="all_at_zero", alpha_max=Fraction(1, 2)))
... def test_my_policy(inst): ...

Examples shrink towards fewer, shorter and earlier requests and a smaller capacity: lengths and
arrivals are drawn as integers from their lower ends and the request list shrinks by deletion.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import strategies as st

from ratio.model import Instance, Request

__all__ = ["instances", "requests", "crowded_instances", "REGIMES"]

REGIMES = ("all_at_zero", "online")


def _pair(x: int | tuple[int, int], name: str) -> tuple[int, int]:
    lo, hi = (x, x) if isinstance(x, int) else x
    if lo > hi or lo < 0:
        raise ValueError(f"{name} must be an int or a (lo, hi) pair with 0 <= lo <= hi")
    return lo, hi


@st.composite
def requests(
    draw: st.DrawFn,
    *,
    prompt: tuple[int, int] = (1, 12),
    output: tuple[int, int] = (1, 16),
    max_arrival: int = 0,
) -> Request:
    """One request with lengths in the given ranges and arrival in ``0..max_arrival``."""
    a = draw(st.integers(0, max_arrival))
    s = draw(st.integers(*prompt))
    o = draw(st.integers(*output))
    return Request(a, s, o)


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    n: int | tuple[int, int] = (1, 8),
    capacity: int | tuple[int, int] = (2, 60),
    regime: str = "all_at_zero",
    alpha_max: Fraction | float | None = None,
    kappa: int | None = None,
    prompt: int | tuple[int, int] = (1, 12),
    output: int | tuple[int, int] = (1, 16),
    max_arrival: int = 12,
) -> Instance:
    """Random instances of the model (``docs/model.md`` section 1) by regime.

    Parameters
    ----------
    n
        Number of requests, or a ``(lo, hi)`` range.
    capacity
        ``M`` or a range; raised where needed so that every request fits and the alpha cap holds.
    regime
        ``"all_at_zero"`` (every arrival 0) or ``"online"`` (arrivals in ``0..max_arrival``).
    alpha_max
        Cap on ``alpha = max_i P_i / M``: ``M`` is raised to ``ceil(max_i P_i / alpha_max)``.
    kappa
        Minimum concurrency ``1/alpha``: the same as ``alpha_max = 1/kappa``.
    prompt, output
        Length ranges (``>= 1``).
    max_arrival
        Latest arrival round in the ``online`` regime.

    Notes
    -----
    Shrinks towards fewer requests, shorter prompts and outputs, earlier arrivals, smaller ``M``.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    n_lo, n_hi = _pair(n, "n")
    c_lo, c_hi = _pair(capacity, "capacity")
    p_lo, p_hi = _pair(prompt, "prompt")
    o_lo, o_hi = _pair(output, "output")
    if p_lo < 1 or o_lo < 1:
        raise ValueError("prompt and output lengths must be >= 1")
    if kappa is not None:
        if kappa < 1:
            raise ValueError("kappa must be >= 1")
        alpha_max = Fraction(1, kappa)
    cap = Fraction(alpha_max) if alpha_max is not None else None
    if cap is not None and not 0 < cap <= 1:
        raise ValueError("alpha_max must be in (0, 1]")
    k = draw(st.integers(n_lo, n_hi))
    last = max_arrival if regime == "online" else 0
    reqs = draw(
        st.lists(
            requests(prompt=(p_lo, p_hi), output=(o_lo, o_hi), max_arrival=last),
            min_size=k,
            max_size=k,
        )
    )
    m = draw(st.integers(c_lo, c_hi))
    top = max((r.peak for r in reqs), default=1)
    m = max(m, top)
    if cap is not None:
        m = max(m, math.ceil(Fraction(top) / cap))
    reqs = [Request(r.arrival, r.prompt, r.output, f"r{i}") for i, r in enumerate(reqs)]
    return Instance(m, tuple(reqs), {"generator": "ratio.strategies.instances", "regime": regime})


@st.composite
def crowded_instances(draw: st.DrawFn) -> Instance:
    """Small ``M`` (a multiple of 4, so of block sizes 1, 2 and 4) and 1-10 requests arriving in
    rounds 0-12, each fitting ``M`` alone: crowded, so that reactive policies preempt often (the
    vLLM mirror and stall tests draw from it)."""
    M = 4 * draw(st.integers(2, 12))
    n = draw(st.integers(1, 10))
    reqs = []
    for _ in range(n):
        s = draw(st.integers(1, M // 2))
        o = draw(st.integers(1, max(1, M - s)))
        reqs.append((draw(st.integers(0, 12)), s, o))
    return Instance.from_tuples(M, reqs)
