"""Shortest Prompt First with look-ahead admission."""

from __future__ import annotations

from typing import Any

from ratio.policies.base import Policy, RequestView


class SPF(Policy):
    """Shortest Prompt First: admit in ascending prompt length ``s_i`` with look-ahead
    admission, blocking (``docs/model.md`` sections 6, 8).

    Information: the order needs only ``s_i``; the look-ahead test uses the exact output
    (``full``).

    References: the prompt-only baseline of Kong, Qi, Ye, Zhou, arXiv 2606.22327, section 5.
    """

    name = "spf"
    info = "full"
    summary = "shortest prompt first, look-ahead, blocking"
    PARAMS = {"blocking": True, "test": "lookahead"}

    def key(self, view: RequestView) -> tuple[Any, ...]:
        return (view.prompt,)
