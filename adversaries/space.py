"""Search spaces and constraint-keeping mutations (issue 6, deliverable 1).

A *search space* is a trace family: a generator plus constraints (``docs/model.md`` sections 1,
10): the number of requests ``n`` in ``[n_min, n_max]``, prompt lengths ``s`` and output lengths
``o`` in closed ranges, the regime (``all_at_zero``: every ``a_i = 0``; ``online``: arrivals in
``0..arrival_max``), and a cap ``alpha_max`` on ``alpha = max_i P_i / M``: the capacity is kept in
``[ceil(max_i P_i / alpha_max), capacity_max]``. Every function here returns an instance that
satisfies :meth:`SearchSpace.contains`; :func:`repair` is the single place that enforces it.

Mutation operators (each keeps the constraints; one that cannot apply returns ``None``):
change one length, move one arrival (online only), duplicate a request, delete a request, split
a request into two of the same total volume (model §4), scale all lengths, scale ``M``.
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
    "Genome",
    "GENOME_OPS",
    "expand",
    "fit_seed",
    "genome_n",
    "genome_of",
    "is_genome",
    "mutate_genome",
    "repair_genome",
    "sample_genome",
    "tie_shape",
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
    """Constraints of a trace family (issue 6, deliverable 1; model §1, 10).

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
    work_max
        Largest total output ``sum_i o_i`` of a structured trace (:func:`repair_genome`): the
        simulator's and the checker's work grows with it, and a cap keeps every evaluation
        short (``0``: no cap).
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
    work_max: int = 500_000
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
            "work_max": self.work_max,
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
            work_max=int(d.get("work_max", 500_000)),
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
    """Two shapes ``(s1, o1), (s2, o2)`` in range with ``V1 + V2 = V(s, o)`` (model §4)."""
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


# --- the structured (genome) space: blocks repeated, scale genes, exact volume ties ---------
#: A structured trace: ``(M, block, reps)``; ``block`` is a tuple of ``(a, s, o, c)`` rows,
#: each standing for ``c`` copies of request ``(a, s, o)``, and the trace is the block (rows in
#: order, copies adjacent) repeated ``reps`` times, so ``n = reps * sum(c)``. Order matters:
#: SVF breaks volume ties by index, so a tied thin row placed before a wide row is admitted
#: first. ``M``, the lengths and ``reps`` are the scale genes.
Genome = tuple[int, tuple[tuple[int, int, int, int], ...], int]


def is_genome(x: Any) -> bool:
    """Is ``x`` a :data:`Genome` (three fields) rather than a :data:`Point` (two)?"""
    return len(x) == 3


def expand(g: Genome) -> Point:
    """The plain trace of a genome: each row ``c`` times, the block ``reps`` times."""
    M, block, reps = g
    rows: list[tuple[int, int, int]] = []
    for a, s, o, c in block:
        rows.extend([(a, s, o)] * c)
    return M, tuple(rows) * reps


def genome_n(g: Genome) -> int:
    return g[2] * sum(c for *_, c in g[1])


def genome_of(point: Point) -> Genome:
    """A plain trace as a genome: consecutive equal requests become one row, ``reps = 1``."""
    M, rows = point
    block: list[tuple[int, int, int, int]] = []
    for a, s, o in rows:
        if block and block[-1][:3] == (a, s, o):
            block[-1] = (a, s, o, block[-1][3] + 1)
        else:
            block.append((a, s, o, 1))
    return M, tuple(block), 1


def tri(o: int) -> int:
    """``o (o + 1) / 2``: the output's share of a volume ``V = s o + o (o + 1) / 2``."""
    return o * (o + 1) // 2


def tie_shape(
    space: SearchSpace,
    V: int,
    rng: np.random.Generator,
    *,
    avoid: int | None = None,
    below: int = 0,
    tries: int = 48,
) -> tuple[int, int] | None:
    """A shape ``(s, o)`` in the space's ranges with ``V(s, o) = V - d`` for some ``d`` in
    ``0..below`` (exact tie when ``below = 0``), and ``o != avoid``.

    ``V(s, o) = V`` has a solution for output ``o`` exactly when ``o`` divides ``V - o(o+1)/2``.
    Outputs are tried log-uniformly (``o = 1`` always divides, giving the widest shape ``s = V -
    1``), then ``o = 1`` and ``o = 2``.
    """
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    top = min(ohi, math.isqrt(2 * V) + 1)
    if top < olo:
        return None
    cands = [_log_draw(rng, olo, top) for _ in range(tries)] + [olo, min(olo + 1, top)]
    for o in cands:
        if o == avoid:
            continue
        rest = V - tri(o)
        if rest < o * slo:
            continue
        s, r = divmod(rest, o)
        if r > below:
            continue
        if slo <= s <= shi:
            return s, o
    return None


def _log_draw(rng: np.random.Generator, lo: int, hi: int) -> int:
    """An integer in ``lo..hi``, log-uniform (scales from 1 to 10^5 equally likely)."""
    if hi <= lo:
        return lo
    x = math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))
    return _clip(int(x), lo, hi)


def repair_genome(space: SearchSpace, g: Genome) -> Genome:
    """Project a genome onto the space, keeping its scale genes wherever they are allowed.

    Lengths and arrivals are clipped into their ranges (rows that become equal stay separate),
    counts are at least 1, ``n = reps * sum(c)`` is brought into ``[n_min, n_max]`` by changing
    ``reps`` first and the counts only if that cannot work, and ``M`` is kept when it lies in
    ``[ceil(max P / alpha_max), capacity_max]``, else moved to the nearest end.
    """
    M, block0, reps = g
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    burst = space.regime == "all_at_zero"
    block = [
        (
            0 if burst else _clip(int(a), 0, space.arrival_max),
            _clip(int(s), slo, shi),
            _clip(int(o), olo, ohi),
            max(1, int(c)),
        )
        for a, s, o, c in block0
    ] or [(0, slo, olo, 1)]
    # The block alone must fit under n_max.
    while sum(r[3] for r in block) > space.n_max:
        C = sum(r[3] for r in block)
        k = max(range(len(block)), key=lambda i: block[i][3])
        a, s, o, c = block[k]
        if c > 1:
            block[k] = (a, s, o, max(1, c - (C - space.n_max)))
        else:
            del block[-1]
    C = sum(r[3] for r in block)
    reps = max(1, int(reps))
    r = min(reps, space.n_max // C)
    if r * C < space.n_min:
        r = -(-space.n_min // C)
    if r * C > space.n_max or r < 1:
        r = 1
        a, s, o, c = block[-1]
        block[-1] = (a, s, o, c + max(0, space.n_min - C))
        C = sum(r[3] for r in block)
    W = space.work_max
    if W:
        # Total output r * sum(c * o) <= work_max: fewer repetitions first, then shorter
        # outputs (n stays in range: r * C >= n_min already, so r only falls).
        per = sum(c * o for _, _, o, c in block)
        if r * per > W:
            r = max(1, -(-space.n_min // C), min(r, W // per))
        if r * per > W:
            cap_o = max(space.output_range[0], W // (r * C))
            block = [(a, s, min(o, cap_o), c) for a, s, o, c in block]
    top = max(s + o for _, s, o, _ in block)
    M = _clip(int(M), space.capacity_for(top), space.capacity_max)
    return M, tuple(block), r


def fit_seed(space: SearchSpace, point: Point) -> Genome:
    """A seed trace (a family member, a hall-of-fame line) as a genome of the space, keeping
    its scale: unchanged when it already satisfies the space; otherwise every length and ``M``
    are first scaled by one common factor so that the largest prompt, output and ``M`` fit
    their ranges (the shape of the trace is kept, unlike clipping each length), then
    :func:`repair_genome` settles the rest."""
    M, rows = point
    g = genome_of(point)
    if space.contains(point):
        return g
    f = Fraction(1)
    smax = max(s for _, s, _ in rows)
    omax = max(o for _, _, o in rows)
    for have, cap in ((smax, space.prompt_range[1]), (omax, space.output_range[1])):
        if have > cap:
            f = min(f, Fraction(cap, have))
    if space.capacity_max < M:
        f = min(f, Fraction(space.capacity_max, M))
    if f < 1:
        g = (
            max(1, math.floor(M * f)),
            tuple((a, max(1, round(s * f)), max(1, round(o * f)), c) for a, s, o, c in g[1]),
            1,
        )
    return repair_genome(space, g)


def sample_genome(space: SearchSpace, rng: np.random.Generator, *, m_cap: int = 4096) -> Genome:
    """A random genome at a small scale (``M`` log-uniform up to ``m_cap``, block of 1-4 rows,
    ``reps`` 1-8); the mutations let every scale gene grow up to the space's limits.

    Rows are drawn as *wide* (prompt near ``alpha M``, short output), *thin* (short prompt,
    output up to about ``sqrt(2 alpha M)``, so its volume is near a wide row's) or free
    (log-uniform lengths); half the time a thin row is tied to a wide row's volume.
    """
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    m_lo = space.capacity_for(slo + olo)
    M = _log_draw(rng, max(m_lo, 8), max(m_lo, min(space.capacity_max, m_cap)))
    peak = max(slo + olo, int(M * space.alpha_max))
    rows: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(3))
        if kind == 0:  # wide
            o = _log_draw(rng, olo, max(olo, min(ohi, 4)))
            s = max(slo, peak - o - int(rng.integers(0, 3)))
        elif kind == 1:  # thin
            o = _log_draw(rng, olo, max(olo, min(ohi, math.isqrt(2 * peak) + 1)))
            s = _log_draw(rng, slo, max(slo, min(shi, 8)))
        else:
            s = _log_draw(rng, slo, max(slo, min(shi, peak)))
            o = _log_draw(rng, olo, max(olo, min(ohi, peak)))
        a = 0 if space.regime == "all_at_zero" else int(rng.integers(0, space.arrival_max + 1))
        rows.append((a, s, o, _log_draw(rng, 1, 4)))
    g: Genome = (M, tuple(rows), _log_draw(rng, 1, 8))
    if len(rows) >= 2 and rng.random() < 0.5:
        g = tie(space, repair_genome(space, g), rng) or g
    return repair_genome(space, g)


# Genome operators: each returns a genome in the space (through repair_genome) or None.
GenomeOp = Callable[[SearchSpace, Genome, np.random.Generator], Genome | None]

_FACTORS = (Fraction(1, 2), Fraction(2, 3), Fraction(4, 5), Fraction(5, 4), Fraction(3, 2), 2)


def _factor(rng: np.random.Generator) -> Fraction:
    return Fraction(_FACTORS[int(rng.integers(len(_FACTORS)))])


def _tie_groups(block: tuple[tuple[int, int, int, int], ...]) -> dict[int, list[int]]:
    """Rows grouped by volume, only groups with at least two distinct shapes."""
    by: dict[int, list[int]] = {}
    for i, (_, s, o, _) in enumerate(block):
        by.setdefault(volume(s, o), []).append(i)
    return {V: idx for V, idx in by.items() if len({(block[i][1], block[i][2]) for i in idx}) > 1}


def _retie(
    space: SearchSpace,
    old: tuple[tuple[int, int, int, int], ...],
    new: list[tuple[int, int, int, int]],
    rng: np.random.Generator,
) -> list[tuple[int, int, int, int]]:
    """Keep the exact volume ties of ``old`` in ``new`` (same row indices): the first row of
    each tied group whose volume changed leads, the others get a shape of the leader's new
    volume with their output as near as possible to their own."""
    for idx in _tie_groups(old).values():
        live = [i for i in idx if i < len(new)]
        if len(live) < 2:
            continue
        vols = [volume(new[i][1], new[i][2]) for i in live]
        if len(set(vols)) == 1:
            continue
        lead = next(
            (i for i, v in zip(live, vols, strict=True) if v != volume(*old[i][1:3])), live[0]
        )
        V = volume(new[lead][1], new[lead][2])
        for i in live:
            if i == lead:
                continue
            a, s, o, c = new[i]
            shape = _tie_near(space, V, o)
            if shape is not None:
                new[i] = (a, shape[0], shape[1], c)
    return new


def _tie_near(space: SearchSpace, V: int, o_hint: int) -> tuple[int, int] | None:
    """A shape of volume exactly ``V`` with output as near ``o_hint`` as the ranges allow
    (outputs ``o_hint, o_hint - 1, o_hint + 1, ...``, at most 255 of them, starting above the
    outputs whose prompt would exceed the range, then ``o = 1``)."""
    (slo, shi), (olo, ohi) = space.prompt_range, space.output_range
    # Outputs below about V / shi would need a prompt above the range: start above them.
    o_lo = max(olo, V // (shi + 1))
    while o_lo > olo and (V - tri(o_lo)) // o_lo <= shi:
        o_lo = o_lo * 3 // 4
    while o_lo <= ohi and (V - tri(o_lo)) // o_lo > shi:
        o_lo += 1
    o_hint = max(o_hint, o_lo)
    for d in range(128):
        for o in sorted({o_hint - d, o_hint + d}):
            if not olo <= o <= ohi:
                continue
            rest = V - tri(o)
            if rest >= o * slo and rest % o == 0 and slo <= rest // o <= shi:
                return rest // o, o
    if olo == 1 and slo <= V - 1 <= shi:
        return V - 1, 1
    return None


def op_tie(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Give row ``j`` a new shape whose volume equals row ``i``'s (or is one less, so that it is
    admitted just before ``i`` by SVF), with a different output: creates an exact tie between
    requests of different shapes."""
    return tie(space, g, rng)


def tie(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    M, block, reps = g
    if len(block) < 2:
        return None
    i, j = (int(x) for x in rng.choice(len(block), size=2, replace=False))
    _, si, oi, _ = block[i]
    below = 1 if rng.random() < 0.25 else 0
    shape = tie_shape(space, volume(si, oi), rng, avoid=oi, below=below)
    if shape is None:
        return None
    rows = list(block)
    a, _, _, c = rows[j]
    rows[j] = (a, shape[0], shape[1], c)
    out = repair_genome(space, (M, tuple(rows), reps))
    return None if out == g else out


def op_change_row(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Change one row's prompt or output (a relative step or a log-uniform draw); rows tied
    with it follow (:func:`_retie`)."""
    M, block, reps = g
    rows = list(block)
    i = int(rng.integers(len(rows)))
    a, s, o, c = rows[i]
    which = int(rng.integers(2))
    lo, hi = space.prompt_range if which == 0 else space.output_range
    old = s if which == 0 else o
    u = rng.random()
    if u < 0.4:
        new = old + int(rng.choice((-1, 1))) * int(rng.integers(1, 3))
    elif u < 0.8:
        new = round(old * _factor(rng)) if old > 1 else old + 1
    else:
        new = _log_draw(rng, lo, min(hi, max(2 * M, 2)))
    new = _clip(int(new), lo, hi)
    if new == old:
        return None
    rows[i] = (a, new, o, c) if which == 0 else (a, s, new, c)
    rows = _retie(space, block, rows, rng)
    out = repair_genome(space, (M, tuple(rows), reps))
    return None if out == g else out


def op_count(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Change one row's number of copies (``+-1``, doubled or halved)."""
    M, block, reps = g
    rows = list(block)
    i = int(rng.integers(len(rows)))
    a, s, o, c = rows[i]
    u = rng.random()
    c2 = c + 1 if u < 0.3 else c - 1 if u < 0.6 else 2 * c if u < 0.8 else c // 2
    if c2 < 1 or c2 == c:
        return None
    rows[i] = (a, s, o, c2)
    out = repair_genome(space, (M, tuple(rows), reps))
    return None if out == g else out


def op_reps(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Repeat the block more or fewer times (``+-1``, ``x2``, ``/2``, ``x 3/2``)."""
    M, block, reps = g
    u = rng.random()
    r2 = (
        reps + 1
        if u < 0.3
        else reps - 1
        if u < 0.5
        else 2 * reps
        if u < 0.7
        else (reps // 2 if u < 0.85 else (3 * reps + 1) // 2)
    )
    if r2 < 1:
        return None
    out = repair_genome(space, (M, block, r2))
    return None if out == g else out


def op_capacity(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Scale ``M`` alone (a factor in ``1/2 .. 2``), or set it to its least allowed value
    (``alpha`` at its cap)."""
    M, block, reps = g
    M2 = 0 if rng.random() < 0.3 else math.floor(M * _factor(rng))
    out = repair_genome(space, (M2, block, reps))
    return None if out == g else out


def op_scale(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Scale the whole trace: ``M`` by ``f^2`` and prompts by ``f^2``, outputs by ``f`` (the
    shape of memory against time is kept: thin volumes ``~ o^2/2`` grow as wide ones ``~ s``),
    or everything by ``f``; ties are re-made (:func:`_retie`)."""
    M, block, reps = g
    f = _factor(rng)
    if rng.random() < 0.6:
        fs, fo, fm = f * f, f, f * f
    else:
        fs = fo = fm = f
    rows = [(a, max(1, round(s * fs)), max(1, round(o * fo)), c) for a, s, o, c in block]
    rows = _retie(space, block, rows, rng)
    out = repair_genome(space, (max(1, round(M * fm)), tuple(rows), reps))
    return None if out == g else out


def op_group(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Act on a group of rows at once: shift the prompts of every row with the same output
    as row ``i`` (or of every wide row, ``s > o``) by one step, or make every row of the
    group as wide as ``alpha`` allows (``s = floor(alpha M) - o``); ties follow."""
    M, block, reps = g
    i = int(rng.integers(len(block)))
    if rng.random() < 0.5:
        grp = [k for k, r in enumerate(block) if r[2] == block[i][2]]
    else:
        grp = [k for k, r in enumerate(block) if r[1] > r[2]] or [i]
    rows = list(block)
    u = rng.random()
    top = math.floor(M * space.alpha_max)
    for k in grp:
        a, s, o, c = rows[k]
        if u < 0.4:
            s2 = max(1, top - o)
        elif u < 0.7:
            s2 = s + int(rng.choice((-1, 1))) * max(1, s // 16)
        else:
            s2 = round(s * _factor(rng))
        rows[k] = (a, max(1, s2), o, c)
    rows = _retie(space, block, rows, rng)
    out = repair_genome(space, (M, tuple(rows), reps))
    return None if out == g else out


def op_rows(space: SearchSpace, g: Genome, rng: np.random.Generator) -> Genome | None:
    """Edit the block: add a row (a copy of a row given a tied shape of another output, or a
    fresh thin or wide row), delete a row, or move a row (order breaks SVF's ties)."""
    M, block, reps = g
    rows = list(block)
    u = rng.random()
    if u < 0.45 and len(rows) < 12:
        i = int(rng.integers(len(rows)))
        a, s, o, c = rows[i]
        shape = tie_shape(space, volume(s, o), rng, avoid=o, below=int(rng.random() < 0.25))
        if shape is None or rng.random() < 0.3:
            peak = max(2, math.floor(M * space.alpha_max))
            if rng.random() < 0.5:
                o2 = _log_draw(rng, 1, 4)
                shape = (max(1, peak - o2), o2)
            else:
                shape = (_log_draw(rng, 1, 8), _log_draw(rng, 1, math.isqrt(2 * peak) + 1))
        pos = int(rng.integers(len(rows) + 1))
        rows.insert(pos, (a, shape[0], shape[1], 1))
    elif u < 0.7 and len(rows) > 1:
        del rows[int(rng.integers(len(rows)))]
    elif len(rows) > 1:
        i, j = (int(x) for x in rng.choice(len(rows), size=2, replace=False))
        rows.insert(j, rows.pop(i))
    else:
        return None
    out = repair_genome(space, (M, tuple(rows), reps))
    return None if out == g else out


#: Genome operators by name, with their draw weights.
GENOME_OPS: dict[str, tuple[GenomeOp, float]] = {
    "tie": (op_tie, 2.0),
    "change_row": (op_change_row, 3.0),
    "count": (op_count, 1.5),
    "reps": (op_reps, 1.5),
    "capacity": (op_capacity, 1.0),
    "scale": (op_scale, 1.5),
    "group": (op_group, 1.5),
    "rows": (op_rows, 1.5),
}


def mutate_genome(
    space: SearchSpace, g: Genome, rng: np.random.Generator, steps: int = 1
) -> Genome:
    """Apply ``steps`` randomly drawn applicable genome operators."""
    names = list(GENOME_OPS)
    weights = np.array([GENOME_OPS[k][1] for k in names])
    weights = weights / weights.sum()
    cur = g
    for _ in range(steps):
        for _attempt in range(20):
            op = GENOME_OPS[names[int(rng.choice(len(names), p=weights))]][0]
            nxt = op(space, cur, rng)
            if nxt is not None and nxt != cur:
                cur = nxt
                break
    return cur
