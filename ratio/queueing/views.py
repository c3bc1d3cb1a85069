"""What an extended-engine policy sees (``docs/queueing.md`` Q1-Q5): the request and engine
types, the per-request views, and :class:`EngineState`, the read-only state of one step.

The engine (:mod:`ratio.engine`) builds these objects; a policy reads them and returns
:class:`Work`. Nothing here advances time or holds the engine's arrays, so the policies package
imports this module and never the engine (``tests/ratio/test_imports.py`` checks it). Output
lengths appear only where the policy's information level allows (``QView.output`` at the
``full`` level) and when a request completes (:meth:`EnginePolicy.on_complete
<ratio.policies.extended.EnginePolicy.on_complete>` receives its length).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

from ratio.errors import InputError
from ratio.queueing.tau import TauModel, Unit, parse_tau

if TYPE_CHECKING:
    from ratio.policies.base import RequestView

__all__ = [
    "QRequest",
    "EngineSpec",
    "EngineSetup",
    "QView",
    "Progress",
    "Work",
    "BatchRecord",
    "EngineState",
    "held_tokens",
    "Number",
]

Number = int | Fraction | float


@dataclass(frozen=True, slots=True)
class QRequest:
    """A request of the extended model: the base fields plus job structure (Q4).

    ``arrival`` is a time (an integer round in the base model, any non-negative number with a
    batch-time model). ``after`` lists indices of requests (of the same ``job``) that must
    complete first. ``cls`` is a class label for multi-class policies; ``engine`` pins the
    request to one engine (routing of an agent network), ``None`` lets the policy choose.
    """

    arrival: Number
    prompt: int
    output: int
    id: str | None = None
    job: str | None = None
    after: tuple[int, ...] = ()
    cls: int = 0
    engine: int | None = None

    def moved(self, offset: int, job: str) -> QRequest:
        """This request in a longer trace: ``after`` indices shifted by ``offset`` (where its
        job starts there) and the job renamed ``job``."""
        return replace(self, job=job, after=tuple(offset + a for a in self.after))


@dataclass(frozen=True)
class EngineSpec:
    """One engine (Q3): KV capacity in tokens (``None``: unbounded), token budget and request
    cap per round (``None``: unbounded), and its batch-time model."""

    capacity: int | None = None
    token_budget: int | None = None
    max_requests: int | None = None
    tau: TauModel = field(default_factory=Unit)

    def __post_init__(self) -> None:
        for name in ("capacity", "token_budget", "max_requests"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InputError(f"engine {name} must be an integer >= 1 or None, got {v!r}")
        object.__setattr__(self, "tau", parse_tau(self.tau))


@dataclass(frozen=True, slots=True)
class QView:
    """What a policy may know of a request (``model.md`` section 5): ``output`` only at the
    ``full`` information level. ``base`` is the foundation's view, for base policies (the view
    of the request's arrival, so its key stays put). Under ``eviction=resume`` (model §7) a
    request evicted after producing ``j`` tokens is readmitted as a request with prompt
    ``s + j`` and ``o - j`` tokens left: ``prompt`` and ``output`` are those of its next run,
    and ``kept`` counts the tokens kept from earlier runs."""

    index: int
    arrival: Number
    prompt: int
    output: int | None
    job: str | None
    cls: int
    engine: int | None
    available: Number
    base: RequestView
    kept: int = 0


@dataclass(frozen=True, slots=True)
class Progress:
    """A running request: its view, engine, prompt tokens processed, outputs produced, start
    round and time, admission sequence number and the tokens it holds now."""

    request: QView
    engine: int
    prefilled: int
    produced: int
    start: int
    start_time: Number
    seq: int
    held: int
    can_decode: bool

    @property
    def index(self) -> int:
        return self.request.index

    @property
    def prefill_left(self) -> int:
        return self.request.prompt - self.prefilled


@dataclass(frozen=True, slots=True)
class Work:
    """One request's work in a round: ``prefill`` prompt tokens and/or one decode token on
    ``engine``. Naming a waiting request admits it there."""

    request: int
    engine: int = 0
    prefill: int = 0
    decode: bool = False


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One executed round of one engine."""

    round: int
    time: Number
    engine: int
    work: tuple[Work, ...]
    duration: Number
    memory: int


def held_tokens(prompt: int, prefilled: int, produced: int, e: int, block: int) -> int:
    """KV tokens held (Q1 memory; ``model.md`` section 2): prompt tokens processed plus output
    tokens, ``s + k - e`` in the round producing output ``k``, in whole blocks."""
    tokens = prefilled + produced - e if produced > 0 else prefilled
    if block == 1:
        return tokens
    return -(-tokens // block) * block


@dataclass(frozen=True, slots=True)
class EngineSetup:
    """What a policy learns once, before a run (:meth:`EnginePolicy.reset`): the engines and
    the run's conventions. No request data."""

    engines: tuple[EngineSpec, ...]
    prefill: str
    first_token: str
    convention: str
    block_size: int
    n: int


class _Reader(Protocol):
    """What :class:`EngineState` asks of the engine (internal)."""

    def waiting_views(self, engine: int | None) -> list[QView]: ...
    def running_progress(self, engine: int | None) -> list[Progress]: ...
    def view_of(self, index: int) -> QView | None: ...
    def progress_of(self, index: int) -> Progress | None: ...
    def memory(self, engine: int, advance: bool) -> int: ...
    def held_after(self, index: int, prefill: int, decode: bool) -> int: ...
    def held_now(self, index: int) -> int: ...
    def held_next(self, index: int) -> int: ...


class EngineState:
    """The read-only state a policy gets at one step, built by the engine.

    Attributes are plain values; the queries return views (:class:`QView`,
    :class:`Progress`) built at the policy's information level, never the engine's arrays.
    """

    __slots__ = ("_r", "round", "time", "ready", "engines", "prefill", "first_token", "preempted")

    def __init__(
        self,
        reader: _Reader,
        round: int,
        time: Number,
        ready: tuple[int, ...],
        setup: EngineSetup,
        preempted: dict[int, bool],
    ) -> None:
        self._r = reader
        self.round = round
        self.time = time
        self.ready = ready
        self.engines: tuple[EngineSpec, ...] = setup.engines
        self.prefill: str = setup.prefill
        self.first_token: str = setup.first_token
        self.preempted = preempted

    # --- queries --------------------------------------------------------------------------
    def waiting(self, engine: int | None = None) -> list[QView]:
        """Waiting requests in FCFS order (available time, arrival, index); with ``engine``,
        only those that may be placed there."""
        return self._r.waiting_views(engine)

    def running(self, engine: int | None = None) -> list[Progress]:
        """Running requests (on ``engine`` or all) in admission order."""
        return self._r.running_progress(engine)

    def view(self, index: int) -> QView:
        """The view of an arrived request (waiting, running or done)."""
        v = self._r.view_of(index)
        if v is None:
            raise InputError(f"request {index} has not arrived")
        return v

    def progress(self, index: int) -> Progress | None:
        """The progress of a running request, ``None`` if it is not running."""
        return self._r.progress_of(index)

    def held(self, engine: int) -> int:
        """Tokens held now on ``engine``."""
        return self._r.memory(engine, False)

    def demand(self, engine: int) -> int:
        """Tokens held on ``engine`` if every running request that can decode advances one
        token (the memory a reactive policy admits against, ``model.md`` section 7)."""
        return self._r.memory(engine, True)

    def capacity(self, engine: int) -> int | None:
        return self.engines[engine].capacity

    def held_after(self, index: int, prefill: int, decode: bool) -> int:
        """Tokens request ``index`` would hold after doing this work (0 if waiting now)."""
        return self._r.held_after(index, prefill, decode)

    def held_now(self, index: int) -> int:
        return self._r.held_now(index)

    def next_held(self, index: int) -> int:
        """What a running request holds after one more decode step if it can decode, else now."""
        return self._r.held_next(index)
