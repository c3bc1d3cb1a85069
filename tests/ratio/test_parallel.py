"""The one parallel-map layer (issue 18): every runner returns ``[fn(t) for t in tasks]`` in
task order, and the search and the stability sweeps both go through it."""

from __future__ import annotations

import pytest

from ratio.errors import InputError
from ratio.parallel import LocalRunner, make_runner, parallel_map


def _square_minus(t: tuple[int, int]) -> int:
    a, b = t
    return a * a - b


TASKS = [(k, 3 * k % 7) for k in range(23)]


def test_local_pool_matches_serial_in_order() -> None:
    want = [_square_minus(t) for t in TASKS]
    serial = LocalRunner(_square_minus, 1)
    pool = LocalRunner(_square_minus, 2)
    try:
        assert serial.name == "local:1" and pool.name == "local:2"
        assert serial.map(TASKS) == want
        assert pool.map(TASKS) == want
        assert pool.map(TASKS[::-1]) == want[::-1]
    finally:
        serial.close()
        pool.close()
    assert parallel_map(_square_minus, TASKS, workers=2) == want
    assert parallel_map(_square_minus, [], workers=4) == []


def test_workers_below_one_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="--workers must be >= 1, got 0"):
        make_runner(_square_minus, 0)
    with pytest.raises(InputError, match="--workers must be >= 1, got -1"):
        parallel_map(_square_minus, TASKS, workers=-1)


def test_search_and_stability_use_the_layer() -> None:
    """Neither keeps a pool of its own (the search's runner module is gone)."""
    import inspect

    import adversaries.search as search
    import ratio.queueing.stability as stability

    for mod in (search, stability):
        src = inspect.getsource(mod)
        assert "ProcessPoolExecutor" not in src and "ray.init" not in src, mod.__name__
        assert "ratio.parallel import" in src, mod.__name__
    with pytest.raises(ImportError):
        __import__("adversaries.runner")
