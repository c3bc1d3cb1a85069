"""Shared helpers for the offline_opt tests: small instance strategies and fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from ratio.model import Instance, Request

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "spec-examples.json"


def spec_cases() -> list[tuple[Instance, dict]]:
    """The worked examples of model.md with their expected values."""
    data = json.loads(FIXTURES.read_text())
    out = []
    for c in data["cases"]:
        reqs = tuple(
            Request(r["arrival"], r["prompt"], r["output"], f"r{i}")
            for i, r in enumerate(c["requests"])
        )
        out.append((Instance(c["M"], reqs), c))
    return out


def random_instance(rng: np.random.Generator, n: int, *, arrivals: bool) -> Instance:
    """A random small instance: M in 4..30, shapes clipped to fit, optional arrivals."""
    M = int(rng.integers(4, 31))
    rows = []
    for _ in range(n):
        s = int(rng.integers(1, max(2, M // 2)))
        o = int(rng.integers(1, min(8, M - s) + 1))
        a = int(rng.integers(0, 6)) if arrivals else 0
        rows.append((a, s, o))
    return Instance.from_tuples(M, rows)


@st.composite
def small_instances(draw: st.DrawFn, max_n: int = 5, arrivals: bool = True) -> Instance:
    """Hypothesis strategy: up to ``max_n`` requests; shrinks to fewer, shorter, earlier ones."""
    M = draw(st.integers(2, 24))
    n = draw(st.integers(1, max_n))
    rows = []
    for _ in range(n):
        s = draw(st.integers(1, M - 1))
        o = draw(st.integers(1, min(8, M - s)))
        a = draw(st.integers(0, 5)) if arrivals else 0
        rows.append((a, s, o))
    return Instance.from_tuples(M, rows)
