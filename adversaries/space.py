"""Search spaces and constraint-keeping mutations (issue 6, deliverable 1).

A *search space* is a trace family: a generator plus constraints (spec ``model.md`` sections 1,
10): the number of requests ``n`` in ``[n_min, n_max]``, prompt lengths ``s`` and output lengths
``o`` in closed ranges, the regime (``all_at_zero``: every ``a_i = 0``; ``online``: arrivals in
``0..arrival_max``), and a cap ``alpha_max`` on ``alpha = max_i P_i / M``: the capacity is kept in
``[ceil(max_i P_i / alpha_max), capacity_max]``. Every function here returns an instance that
satisfies :meth:`SearchSpace.contains`; :func:`repair` is the single place that enforces it.

Mutation operators (each keeps the constraints; one that cannot apply returns ``None``):
change one length, move one arrival (online only), duplicate a request, delete a request, split
a request into two of the same total volume (spec section 4), scale all lengths, scale ``M``.
When ``n`` is fixed (``n_min == n_max``), *duplicate* overwrites another request and *split*
drops another request, so ``n`` stays put.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ratio.errors import InputError
from ratio.model import Instance, Request, volume

__all__ = [
    "REGIMES",
    "SearchSpace",
    "Point",
    "MUTATIONS",
    "sample",
    "repair",
    "mutate",
    "crossover",
    "to_instance",
    "from_instance",
    "parse_fraction",
]

REGIMES = ("all_at_zero", "online")

#: A trace as the search handles it: ``(M, ((a, s, o), ...))``, hashable and cheap to copy.
Point = tuple[int, tuple[tuple[int, int, int], ...]]


def parse_fraction(text: str | Fraction | int | float) -> Fraction:
    """``"1/2"`` -> ``Fraction(1, 2)``; floats are read through their decimal text."""
    if isinstance(text, Fraction):
        return text
    try:
        return Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"expected a fraction like 1/2, got {text!r}") from None


@dataclass(frozen=True)
class SearchSpace:
    """Constraints of a trace family (issue 6, deliverable 1; spec sections 1, 10).

    Parameters
    ----------
    policy
        The policy under test, ``NAME[:key=value,...]`` (``interfaces.md``).
    regime
        ``"all_at_zero"`` or ``"online"``.
    n_min, n_max
        Number of requests.
    prompt_range, output_range
        Closed ranges of ``s`` and ``o``.
    alpha_max
        Cap on ``alpha = max P / M``; ``M >= ceil(max P / alpha_max)``.
    capacity_max
        Largest ``M``; default twice the smallest ``M`` that admits the largest possible peak.
    arrival_max
        Largest arrival round (online regime); default ``2 * output_range[1]``.
    """

    policy: str = "svf"
    regime: str = "all_at_zero"
    n_min: int = 8
    n_max: int = 8
    prompt_range: tuple[int, int] = (1, 16)
    output_range: tuple[int, int] = (1, 16)
    alpha_max: Fraction = Fraction(1, 2)
    capacity_max: int = 0
    arrival_max: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise InputError(f"regime must be one of {', '.join(REGIMES)}, got {self.regime!r}")
        if not 1 <= self.n_min <= self.n_max:
            raise InputError(f"need 1 <= n_min <= n_max, got {self.n_min}, {self.n_max}")
        for name, (lo, hi) in (("prompt", self.prompt_range), ("output", self.output_range)):
            if not 1 <= lo <= hi:
                raise InputError(f"{name} range must satisfy 1 <= lo <= hi, got {lo}..{hi}")
        a = parse_fraction(self.alpha_max)
        if not 0 < a <= 1:
            raise InputError(f"alpha_max must be in (0, 1], got {a}")
        object.__setattr__(self, "alpha_max", a)
        m_top = self.capacity_for(self.prompt_range[1] + self.output_range[1])
        if self.capacity_max == 0:
            object.__setattr__(self, "capacity_max", 2 * m_top)
        elif self.capacity_max < m_top:
            raise InputError(
                f"capacity_max = {self.capacity_max} is below ceil(max peak / alpha_max) = {m_top}"
            )
        if self.arrival_max == 0:
            object.__setattr__(self, "arrival_max", 2 * self.output_range[1])

    def capacity_for(self, max_peak: int) -> int:
        """Smallest ``M`` allowed with this largest peak: ``ceil(max_peak / alpha_max)``."""
        a = self.alpha_max
        return -(-max_peak * a.denominator // a.numerator)

    def contains(self, point: Point) -> bool:
        """Does the trace satisfy every constraint of the space?"""
        M, rows = point
        if not self.n_min <= len(rows) <= self.n_max:
            return False
        (slo, shi), (olo, ohi) = self.prompt_range, self.output_range
        for a, s, o in rows:
            if not (slo <= s <= shi and olo <= o <= ohi):
                return False
            if self.regime == "all_at_zero" and a != 0:
                return False
            if not 0 <= a <= self.arrival_max:
                return False
        top = max(s + o for _, s, o in rows)
        return self.capacity_for(top) <= M <= self.capacity_max

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "regime": self.regime,
            "n_min": self.n_min,
            "n_max": self.n_max,
            "prompt_range": list(self.prompt_range),
            "output_range": list(self.output_range),
            "alpha_max": str(self.alpha_max),
            "capacity_max": self.capacity_max,
            "arrival_max": self.arrival_max,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchSpace:
        return cls(
            policy=d["policy"],
            regime=d["regime"],
            n_min=int(d["n_min"]),
            n_max=int(d["n_max"]),
            prompt_range=(int(d["prompt_range"][0]), int(d["prompt_range"][1])),
            output_range=(int(d["output_range"][0]), int(d["output_range"][1])),
            alpha_max=parse_fraction(d["alpha_max"]),
            capacity_max=int(d["capacity_max"]),
            arrival_max=int(d["arrival_max"]),
        )


def to_instance(point: Point, *, meta: dict[str, Any] | None = None) -> Instance:
    """The :class:`~ratio.model.Instance` of a point (ids ``r0, r1, ...``)."""
    M, rows = point
    return Instance(
        M, tuple(Request(a, s, o, f"r{i}") for i, (a, s, o) in enumerate(rows)), meta or {}
    )


def from_instance(inst: Instance) -> Point:
    return inst.capacity, tuple((r.arrival, r.prompt, r.output) for r in inst.requests)


def _clip(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def repair(space: SearchSpace, M: int, rows: list[tuple[int, int, int]]) -> Point:
    """Project a candidate onto the space: clip lengths and arrivals into their ranges, set
    arrivals to 0 in the burst regime, and raise or lower ``M`` into
    ``[ceil(max P / alpha_max), capacity_max]``."""
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    burst = space.regime == "all_at_zero"
    fixed = tuple(
        (
            0 if burst else _clip(int(a), 0, space.arrival_max),
            _clip(int(s), slo, shi),
            _clip(int(o), olo, ohi),
        )
        for a, s, o in rows
    )
    top = max(s + o for _, s, o in fixed)
    M = _clip(int(M), space.capacity_for(top), space.capacity_max)
    return M, fixed


def _draw_length(rng: np.random.Generator, lo: int, hi: int) -> int:
    # Half uniform, half biased to the ends of the range: worst cases live at the extremes
    # (tall-thin against short-wide requests).
    u = rng.random()
    if u < 0.5 or hi == lo:
        return int(rng.integers(lo, hi + 1))
    span = hi - lo
    k = int(rng.integers(0, max(1, span // 4) + 1))
    return lo + k if u < 0.75 else hi - k


def sample(space: SearchSpace, rng: np.random.Generator) -> Point:
    """Draw a random point of the space (uniform ``n``; lengths uniform or near the range ends;
    ``M`` at its smallest allowed value half of the time, so that ``alpha`` sits at its cap)."""
    n = int(rng.integers(space.n_min, space.n_max + 1))
    rows = []
    for _ in range(n):
        s = _draw_length(rng, *space.prompt_range)
        o = _draw_length(rng, *space.output_range)
        a = 0 if space.regime == "all_at_zero" else int(rng.integers(0, space.arrival_max + 1))
        rows.append((a, s, o))
    top = max(s + o for _, s, o in rows)
    lo = space.capacity_for(top)
    M = lo if rng.random() < 0.5 else int(rng.integers(lo, space.capacity_max + 1))
    return repair(space, M, rows)


# --- mutation operators ---------------------------------------------------------------------
Mutation = Callable[[SearchSpace, Point, np.random.Generator], Point | None]


def change_length(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Change the prompt or the output length of one request (a small step or a fresh draw)."""
    M, rows0 = p
    rows = list(rows0)
    i = int(rng.integers(len(rows)))
    a, s, o = rows[i]
    which = int(rng.integers(2))
    lo, hi = space.prompt_range if which == 0 else space.output_range
    old = s if which == 0 else o
    if rng.random() < 0.5:
        step = int(rng.integers(1, max(2, (hi - lo) // 4 + 1)))
        new = old + (step if rng.random() < 0.5 else -step)
    else:
        new = _draw_length(rng, lo, hi)
    new = _clip(new, lo, hi)
    if new == old:
        return None
    rows[i] = (a, new, o) if which == 0 else (a, s, new)
    return repair(space, M, rows)


def move_arrival(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Move one request's arrival (online regime only)."""
    if space.regime != "online":
        return None
    M, rows0 = p
    rows = list(rows0)
    i = int(rng.integers(len(rows)))
    a, s, o = rows[i]
    if rng.random() < 0.5:
        new = a + int(rng.integers(-3, 4))
    else:
        new = int(rng.integers(0, space.arrival_max + 1))
    new = _clip(new, 0, space.arrival_max)
    if new == a:
        return None
    rows[i] = (new, s, o)
    return repair(space, M, rows)


def duplicate(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Duplicate one request (appended; at ``n_max`` it overwrites another request)."""
    M, rows0 = p
    rows = list(rows0)
    i = int(rng.integers(len(rows)))
    if len(rows) < space.n_max:
        rows.append(rows[i])
    else:
        if len(rows) < 2:
            return None
        j = int(rng.integers(len(rows) - 1))
        j = j + 1 if j >= i else j
        if rows[j] == rows[i]:
            return None
        rows[j] = rows[i]
    return repair(space, M, rows)


def delete(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Delete one request (only above ``n_min``)."""
    M, rows0 = p
    if len(rows0) <= space.n_min:
        return None
    rows = list(rows0)
    del rows[int(rng.integers(len(rows)))]
    return repair(space, M, rows)


def split_volume(
    space: SearchSpace, s: int, o: int, rng: np.random.Generator, tries: int = 12
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Two shapes ``(s1, o1), (s2, o2)`` in range with ``V1 + V2 = V(s, o)`` (spec section 4)."""
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    V = volume(s, o)
    for _ in range(tries):
        o1 = int(rng.integers(olo, ohi + 1))
        s1 = int(rng.integers(slo, shi + 1))
        rest = V - volume(s1, o1)
        if rest < volume(slo, olo):
            continue
        outs = list(range(olo, ohi + 1))
        rng.shuffle(outs)
        for o2 in outs:
            tri = o2 * (o2 + 1) // 2
            if rest > tri and (rest - tri) % o2 == 0:
                s2 = (rest - tri) // o2
                if slo <= s2 <= shi:
                    return (s1, o1), (s2, o2)
    return None


def split(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Split one request into two of the same total volume (at ``n_max`` another request is
    dropped to make room)."""
    M, rows0 = p
    rows = list(rows0)
    i = int(rng.integers(len(rows)))
    a, s, o = rows[i]
    parts = split_volume(space, s, o, rng)
    if parts is None:
        return None
    (s1, o1), (s2, o2) = parts
    rows[i] = (a, s1, o1)
    rows.append((a, s2, o2))
    if len(rows) > space.n_max:
        if len(rows) < 3:
            return None
        j = int(rng.integers(len(rows0) - 1))
        j = j + 1 if j >= i else j
        del rows[j]
    return repair(space, M, rows)


def scale_lengths(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Scale every prompt and output length (and ``M``) by one factor, then clip into range."""
    M, rows0 = p
    f = (Fraction(1, 2), Fraction(2, 3), Fraction(3, 2), Fraction(2))[int(rng.integers(4))]
    rows = [(a, round(s * f), round(o * f)) for a, s, o in rows0]
    out = repair(space, round(M * f), rows)
    return None if out == p else out


def scale_capacity(space: SearchSpace, p: Point, rng: np.random.Generator) -> Point | None:
    """Scale ``M`` (within ``[ceil(max P / alpha_max), capacity_max]``); half of the time set it
    to its smallest allowed value, which puts ``alpha`` at its cap."""
    M, rows = p
    if rng.random() < 0.5:
        newM = 0
    else:
        f = (0.8, 0.9, 1.1, 1.25)[int(rng.integers(4))]
        newM = math.floor(M * f)
    out = repair(space, newM, list(rows))
    return None if out == p else out


#: Registry of mutation operators by name, with their draw weights.
MUTATIONS: dict[str, tuple[Mutation, float]] = {
    "change_length": (change_length, 4.0),
    "move_arrival": (move_arrival, 2.0),
    "duplicate": (duplicate, 1.0),
    "delete": (delete, 1.0),
    "split": (split, 1.0),
    "scale_lengths": (scale_lengths, 0.5),
    "scale_capacity": (scale_capacity, 1.0),
}


def mutate(space: SearchSpace, p: Point, rng: np.random.Generator, steps: int = 1) -> Point:
    """Apply ``steps`` randomly drawn applicable mutations; the result is in the space and, if
    any operator applied, differs from ``p``."""
    names = list(MUTATIONS)
    weights = np.array([MUTATIONS[k][1] for k in names])
    weights = weights / weights.sum()
    cur = p
    for _ in range(steps):
        for _attempt in range(20):
            op = MUTATIONS[names[int(rng.choice(len(names), p=weights))]][0]
            nxt = op(space, cur, rng)
            if nxt is not None and nxt != cur:
                cur = nxt
                break
    return cur


def crossover(space: SearchSpace, a: Point, b: Point, rng: np.random.Generator) -> Point:
    """Uniform crossover: the child's ``n`` and ``M`` come from one parent, request ``i`` from
    either parent's request ``i`` (or the longer parent's where the other has none)."""
    (Ma, ra), (Mb, rb) = a, b
    n = len(ra) if rng.random() < 0.5 else len(rb)
    rows = []
    for i in range(n):
        pick_a = rng.random() < 0.5
        if i < len(ra) and (pick_a or i >= len(rb)):
            rows.append(ra[i])
        else:
            rows.append(rb[i])
    M = Ma if rng.random() < 0.5 else Mb
    return repair(space, M, rows)
