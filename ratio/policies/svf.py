"""Smallest Volume First (the SVF paper's algorithm)."""

from __future__ import annotations

from typing import Any

from ratio.model import volume
from ratio.policies.base import Policy, RequestView


class SVF(Policy):
    """Smallest Volume First: admit waiting requests in ascending volume
    ``V = s*o + o*(o+1)/2`` with look-ahead admission, blocking (``docs/model.md`` §6).

    Information: full. Guarantee (all arrivals at 0, every peak ``<= alpha*M``)::

        L_SVF <= (1 + 2/(1 - alpha)) * OPT

    ``svf:blocking=false`` (skip mode) is a variant outside the theorem.

    References: Kong, Qi, Ye, Zhou, arXiv 2606.22327, Algorithm 1 and Thm 3.2.
    """

    name = "svf"
    info = "full"
    summary = "smallest volume first, look-ahead, blocking (Kong et al. Thm 3.2)"
    PARAMS = {"blocking": True, "test": "lookahead"}

    def key(self, view: RequestView) -> tuple[Any, ...]:
        assert view.output is not None
        return (volume(view.prompt, view.output),)
