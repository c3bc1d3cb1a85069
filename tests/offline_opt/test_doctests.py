"""The docstring examples of offline_opt run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "mod",
    [
        "offline_opt",
        "offline_opt.auto",
        "offline_opt.bounds",
        "offline_opt.exact_small",
        "offline_opt.upper",
        "offline_opt.bracket",
    ],
)
def test_doctests(mod: str) -> None:
    res = doctest.testmod(importlib.import_module(mod))
    assert res.failed == 0 and res.attempted > 0
