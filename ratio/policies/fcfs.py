"""First Come First Served with look-ahead admission."""

from __future__ import annotations

from typing import Any

from ratio.policies.base import Policy, RequestView


class FCFS(Policy):
    """First Come First Served: admit waiting requests in arrival order with look-ahead
    admission, blocking (``docs/model.md`` sections 6, 8).

    Information: none needed for the order; the look-ahead test uses the exact output
    (``full``), as in the papers' known-length setting.

    References: the baseline of Jaillet et al., arXiv 2502.07115, section 2, and of Kong, Qi,
    Ye, Zhou, arXiv 2606.22327, section 5.
    """

    name = "fcfs"
    info = "full"
    summary = "arrival order, look-ahead, blocking"
    PARAMS = {"blocking": True, "test": "lookahead"}

    def key(self, view: RequestView) -> tuple[Any, ...]:
        return (view.arrival,)
