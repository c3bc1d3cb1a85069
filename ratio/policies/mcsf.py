"""MC-SF: memory-constrained shortest first (Jaillet et al.)."""

from __future__ import annotations

from typing import Any, ClassVar

from ratio.errors import InputError
from ratio.policies.base import Policy, RequestView


class MCSF(Policy):
    """Memory-Constrained Shortest First: admit in ascending output length (or its
    prediction), each candidate only if the batch stays within memory at every future
    completion point (look-ahead, ``docs/model.md`` §6), blocking as in the published code.

    Information: ``full`` by default; ``mcsf:predicted=true`` orders and plans with the
    instance's predictions ``o_hat`` (level ``predicted``), and if a request outlives its
    prediction and memory overflows, the most recently admitted request is evicted
    (model §7). Under full information it coincides with ``sjf``.

    References: Jaillet, Jiang, Mellou, Molinaro, Podimata, Zhou, arXiv 2502.07115,
    Algorithm 1 (MC-SF) and Thm 4.1 (constant ratio for all-at-zero arrivals).
    """

    name = "mcsf"
    info = "full"
    summary = "shortest output first with MC-SF's future-memory check"
    PARAMS: ClassVar[dict[str, Any]] = {"blocking": True, "test": "lookahead", "predicted": False}

    def validate(self) -> None:
        if not isinstance(self.params["predicted"], bool):
            raise InputError("policy 'mcsf': predicted must be true or false")
        if self.params["predicted"]:
            self.info = "predicted"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        o = view.output if view.output is not None else view.predicted
        assert o is not None
        return (o,)
