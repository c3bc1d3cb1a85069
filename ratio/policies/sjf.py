"""Shortest Job First (shortest output) with look-ahead admission."""

from __future__ import annotations

from typing import Any

from ratio.policies.base import Policy, RequestView


class SJF(Policy):
    """Shortest Job First: admit in ascending output length ``o_i`` with look-ahead
    admission, blocking (``docs/model.md`` sections 6, 8).

    Information: full. Under full information it coincides with ``mcsf`` (a test says so).

    References: Jaillet et al., arXiv 2502.07115, section 4 (MC-SF's order).
    """

    name = "sjf"
    info = "full"
    summary = "shortest output first, look-ahead, blocking"
    PARAMS = {"blocking": True, "test": "lookahead"}

    def key(self, view: RequestView) -> tuple[Any, ...]:
        assert view.output is not None
        return (view.output,)
