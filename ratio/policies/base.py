"""The policy protocol shared by every scheduler (``docs/model.md`` sections 5-8).

A policy never sees the :class:`~ratio.model.Instance`. The simulator hands it
:class:`RequestView` objects, built when a request arrives and holding only what the policy's
information level allows (model §5), and, for batch-forming policies, a
:class:`SystemView` of the current round.

Three admission modes (``Policy.admission``):

``"lookahead"``
    Admit in key order a candidate only if, assuming nothing else is ever admitted, memory stays
    ``<= M`` in every future round (model §6); ``blocking`` stops at the first misfit.
    ``test="reservation"`` admits only if the peaks of the running requests and the candidate sum
    to ``<= M``.
``"reactive"``
    Admit in key order while the current round's memory fits; evict on overflow by the
    policy's victim rule (model §7).
``"batch"``
    The policy's :meth:`Policy.decide` returns the requests to start this round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from ratio.errors import InputError

__all__ = ["RequestView", "RunningView", "SystemView", "Policy", "parse_value"]

INFO_LEVELS = ("full", "one_bit", "predicted", "none")


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a policy may know of one arrived request (model §5).

    ``output`` is set only at the ``full`` level, ``long`` (``o > theta``) only at ``one_bit``,
    ``predicted`` (and ``interval``, when the instance has interval predictions ``[l, u]``)
    only at ``predicted``.
    """

    index: int
    arrival: int
    prompt: int
    output: int | None = None
    long: bool | None = None
    predicted: int | None = None
    interval: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class RunningView:
    """A running request: its view, its start round and the tokens produced so far."""

    request: RequestView
    start: int
    produced: int
    admitted_seq: int


@dataclass(frozen=True, slots=True)
class SystemView:
    """The state a batch-forming policy sees at ``round``."""

    round: int
    capacity: int
    waiting: tuple[RequestView, ...]
    running: tuple[RunningView, ...]
    #: memory accounting of the run (model §2, §9): tokens held per request in its k-th round
    #: are ``s + k - offset`` (offset 1 in the engine convention), rounded up to blocks
    block_size: int = 1
    offset: int = 0


def parse_value(text: str) -> Any:
    """Parse a ``key=value`` parameter value: bool (``true``/``false`` only), int, Fraction
    ``p/q``, finite float, else string. ``nan`` and ``inf`` stay strings, so that a numeric
    parameter refuses them (:func:`ratio.validate.check_param`)."""
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    if "/" in text:
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            pass
    try:
        v = float(text)
    except ValueError:
        return text
    return v if math.isfinite(v) else text


class Policy:
    """Base class: subclasses set the class attributes and override :meth:`key` (or
    :meth:`decide` for ``admission = "batch"``).

    Parameters are keyword arguments declared in ``PARAMS`` (name -> default); unknown names fail
    with the list of valid ones. ``spec`` is the canonical ``NAME[:key=value,...]`` string, which
    lists only parameters that differ from their defaults.
    """

    name: ClassVar[str] = ""
    info: str = "full"
    summary: ClassVar[str] = ""
    PARAMS: ClassVar[Mapping[str, Any]] = {}
    admission: str = "lookahead"
    #: Which engine the policy needs: ``"base"`` (:func:`ratio.simulate`; the extended engine
    #: runs it through an adapter) or ``"extended"`` (``ratio.queueing`` only).
    engine: ClassVar[str] = "base"
    blocking: bool = True
    test: str = "lookahead"

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            valid = ", ".join(sorted(self.PARAMS)) or "none"
            raise InputError(
                f"policy {self.name!r}: unknown parameter(s) {', '.join(unknown)} (valid: {valid})"
            )
        from ratio.validate import check_param

        params = {
            k: check_param(f"policy {self.name!r}", k, v, self.PARAMS[k]) for k, v in params.items()
        }
        self.params: dict[str, Any] = {**self.PARAMS, **params}
        self.blocking = bool(self.params.get("blocking", type(self).blocking))
        self.test = str(self.params.get("test", type(self).test))
        if self.test not in ("lookahead", "reservation"):
            raise InputError(f"policy {self.name!r}: test must be lookahead or reservation")
        self.validate()

    def validate(self) -> None:
        """Check parameter values; raise :class:`InputError` with a clear message."""

    @property
    def spec(self) -> str:
        changed = {k: v for k, v in self.params.items() if self.PARAMS.get(k) != v}
        if not changed:
            return self.name
        body = ",".join(f"{k}={_fmt(v)}" for k, v in sorted(changed.items()))
        return f"{self.name}:{body}"

    def __repr__(self) -> str:
        return f"<policy {self.spec}>"

    # --- key policies -------------------------------------------------------------------------
    def key(self, view: RequestView) -> tuple[Any, ...]:
        """Sort key: smallest first. Ties break by arrival, then index (the simulator adds both)."""
        raise NotImplementedError

    def believed_output(self, view: RequestView, capacity: int) -> int:
        """The output length the policy plans with in its look-ahead test.

        Exact at the ``full`` level; otherwise the policy's own estimate, never above
        ``capacity - prompt`` (a request must be runnable on an empty cache).
        """
        if view.output is not None:
            return view.output
        if view.predicted is not None:
            return max(1, min(view.predicted, capacity - view.prompt))
        return max(1, capacity - view.prompt)

    def victim_key(self, running: RunningView) -> tuple[Any, ...]:
        """Eviction order: the running request with the largest victim key goes first.

        Default: the most recently admitted (vLLM FCFS, model §7).
        """
        return (running.admitted_seq,)

    # --- batch policies -----------------------------------------------------------------------
    def decide(self, state: SystemView) -> Sequence[int]:
        """Indices of waiting requests to start this round (``admission = "batch"`` only)."""
        raise NotImplementedError


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
