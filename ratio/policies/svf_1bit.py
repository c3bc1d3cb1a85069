"""1-bit SVF: smallest class-proxy volume first."""

from __future__ import annotations

from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.model import volume
from ratio.policies.base import Policy, RequestView


class SVF1Bit(Policy):
    """1-bit SVF: each request is known only as *short* (``o <= theta``) or *long*; it is
    ranked by the volume of its class proxy, ``s*O + O*(O+1)/2`` with ``O = short`` or
    ``O = long`` (``docs/model.md`` §8), look-ahead admission, blocking.

    Information: ``one_bit``. The look-ahead test plans a short request with ``theta`` (a true
    upper bound, so short requests never cause overflow) and a long one with its proxy
    ``long`` (capped at ``M - s``); should a long request outlive its plan and memory overflow,
    the most recently admitted request is evicted and recomputed (model §7).

    Parameters: ``theta`` (default 64), ``short`` (default ``ceil(theta/2)``), ``long``
    (default ``2*theta``). For geometric outputs the paper's proxies are the conditional means
    ``E[o | o <= theta]`` and ``E[o | o > theta]`` (see ``proofs``).

    References: Kong, Qi, Ye, Zhou, arXiv 2606.22327, section 3.3 (Thm 3.3 burst, Thm 3.5
    Poisson).
    """

    name = "svf_1bit"
    info = "one_bit"
    summary = "1-bit SVF: class-proxy volume first (o <= theta or not)"
    PARAMS: ClassVar[dict[str, Any]] = {
        "theta": 64,
        "short": None,
        "long": None,
        "blocking": True,
        "test": "lookahead",
    }

    def validate(self) -> None:
        theta = self.params["theta"]
        if isinstance(theta, bool) or not isinstance(theta, int) or theta < 1:
            raise InputError(f"policy 'svf_1bit': theta must be an integer >= 1, got {theta!r}")
        short = self.params["short"]
        long = self.params["long"]
        self.short = -(-theta // 2) if short is None else short
        self.long = 2 * theta if long is None else long
        for nm, v in (("short", self.short), ("long", self.long)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"policy 'svf_1bit': {nm} must be an integer >= 1, got {v!r}")
        self.theta = theta

    def key(self, view: RequestView) -> tuple[Any, ...]:
        assert view.long is not None
        proxy = self.long if view.long else self.short
        return (volume(view.prompt, proxy),)

    def believed_output(self, view: RequestView, capacity: int) -> int:
        planned = self.long if view.long else self.theta
        return max(1, min(planned, capacity - view.prompt))
