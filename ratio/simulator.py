"""The base model's simulator (``docs/model.md`` sections 2, 5-7): :func:`simulate` is the
round engine (:mod:`ratio.engine`) with every parameter at its default, and
:class:`SimResult` is its result in the base model's terms.

One round = one decision, then one state update, as in vLLM's scheduler: at round ``t`` the
engine retires requests whose completion ``C_i = t``, moves requests with ``a_i <= t`` to the
waiting queue as :class:`RequestView`s built for the policy's information level, evicts on
overflow by the policy's victim rule (reactive or imperfect-information policies only), asks
the policy whom to admit, then advances time. It never spins: a state that can make no progress
raises :class:`~ratio.errors.StuckError`. Rounds in which nothing can change are skipped, so the
cost of a run is about one look-ahead test per round that has a blocked queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ratio.costs import Costs, compute_costs, memory_trace
from ratio.engine import make_view, run_rounds
from ratio.model import Instance, Schedule, check_eviction
from ratio.policies import Policy, get_policy

__all__ = ["SimResult", "simulate", "make_view"]


@dataclass(frozen=True)
class SimResult:
    """A simulated run: the schedule plus what was measured on the way.

    ``memory`` (tokens held per round, in the run's convention) and ``costs`` are derived
    from the schedule on first use.
    """

    instance: Instance
    policy: str
    schedule: Schedule
    convention: str = "model"
    block_size: int = 1
    admission_order: tuple[int, ...] = field(default=(), repr=False)

    @property
    def starts(self) -> tuple[int, ...]:
        return self.schedule.starts

    @cached_property
    def completions(self) -> tuple[int, ...]:
        return self.schedule.completions(self.instance)

    @property
    def total_latency(self) -> int:
        return self.schedule.total_latency(self.instance)

    @property
    def evictions(self) -> int:
        return len(self.schedule.evicted)

    @property
    def eviction(self) -> str:
        """The eviction mode of the run (model §7): ``restart`` or ``resume``."""
        return self.schedule.eviction

    @cached_property
    def memory(self) -> np.ndarray:
        return memory_trace(
            self.instance, self.schedule, convention=self.convention, block_size=self.block_size
        )

    @cached_property
    def costs(self) -> Costs:
        return compute_costs(
            self.instance, self.schedule, convention=self.convention, block_size=self.block_size
        )


def simulate(
    instance: Instance,
    policy: str | Policy,
    *,
    convention: str = "model",
    block_size: int = 1,
    max_rounds: int | None = None,
    eviction: str = "restart",
) -> SimResult:
    """Simulate ``policy`` on ``instance`` (model §2, 5-7).

    Parameters
    ----------
    instance
        The trace.
    policy
        A registered name such as ``"svf"`` or ``"svf:blocking=false"``, or a policy object.
    convention
        ``"model"``: a request holds ``s + k`` tokens in its k-th round; ``"engine"``:
        ``s + k - 1`` (vLLM, model §9).
    block_size
        Memory is counted in whole blocks of this many tokens (vLLM's paging, model §9);
        ``M`` stays in tokens.
    max_rounds
        Safety limit; exceeding it raises :class:`StuckError`.
    eviction
        What an evicted request keeps (model §7), for the policies that may evict (reactive
        ones and those with imperfect information): ``"restart"`` (default) loses all
        progress; ``"resume"`` (vLLM 0.32) keeps the ``j`` tokens produced, and the request is
        readmitted as if its prompt were ``s + j`` with ``o - j`` tokens left. A request's
        view and key stay those of its arrival (vLLM's priority does not change on
        preemption).

    Returns
    -------
    SimResult
        Schedule (final start rounds and evicted runs), memory trace and costs.

    Raises
    ------
    InputError
        Unknown policy or convention, or a request that does not fit an empty cache in blocks.
    StuckError
        No progress is possible (the witness round and waiting requests are attached).

    Examples
    --------
    >>> inst = Instance.from_tuples(10, [(0, 6, 2), (0, 3, 1), (0, 1, 3)])
    >>> simulate(inst, "svf").starts
    (3, 0, 0)
    """
    pol = get_policy(policy)
    eviction = check_eviction(eviction)
    layer = run_rounds(  # checks the convention, the block size and the policy's kind
        instance,
        pol,
        convention=convention,
        block_size=block_size,
        max_rounds=max_rounds,
        eviction=eviction,
    )
    return SimResult(
        instance, pol.spec, layer.schedule(), convention, block_size, tuple(layer.admitted_order)
    )
