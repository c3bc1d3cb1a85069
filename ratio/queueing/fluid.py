"""Fluid models of LLM serving as linear programs (``docs/queueing.md``, sources Ao et al. and
Zhang et al.), and the small fluid maps the fluid-guided policies are built from.

Two LPs, each built with PuLP (the solver choice of ``offline_opt``) and returning one
:class:`LPResult` with the optimum, the solution and the dual prices (shadow prices
``d optimum / d right-hand side``, sign-normalised so that they do not depend on the solver):

* :func:`ao_equilibrium_lp` -- Ao, Luo, Simchi-Levi, Wang (arXiv 2504.11320), the fluid
  equilibrium behind WAIT: in steady state every stage of a type-``j`` request holds
  ``n_j = lambda_j * tau`` requests, so memory is ``sum_j n_j * m_j <= M`` with ``m_j`` the tokens
  a type-``j`` request holds summed over its stages, and the round time ``tau`` follows the
  batch-time model. For ``tau = c0 + c_prefill * prefill_tokens + c_decode * decode_tokens``
  the substitution ``n_j = lambda_j tau`` makes the largest sustainable rate a linear program in
  the rates (see :func:`ao_equilibrium_lp`).
* :func:`zhang_lp` -- Zhang, Lin, Han, Ding (arXiv 2602.02987), the per-GPU fluid LP of
  prefill-decode contention: prefill shares ``x_i``, decode occupancies on mixed GPUs ``y_i`` and
  on decode-only ("solo") GPUs ``z_i``, flow balance with abandonment before prefill (``q_i``)
  and while waiting for a decode slot (``w_i``), and the cap of ``B`` streams per GPU. The paper
  itself was not available to us; the LP is our reconstruction from the description in issue 9
  (stated in full in :func:`zhang_lp`) and every claim about it is checked here, not quoted.

Stage conventions (``queueing.md`` Q1): with ``first_token="with_prefill"`` (the base model) a
request holds ``s + k`` in its ``k``-th round, ``k = 1..o`` (``o`` stages, ``m = V``); with
``"separate"`` it holds ``s`` in its prefill round and ``s + k`` in decode round ``k`` (``o + 1``
stages, ``m = V + s``: Ao et al.'s ``sum_{k=0..o} (l + k)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ratio.errors import InputError

__all__ = [
    "FluidType",
    "LPResult",
    "ZhangClass",
    "ao_equilibrium_lp",
    "zhang_lp",
    "stage_memory",
    "stage_count",
    "wait_thresholds",
    "max_wait_threshold",
    "nested_segments",
    "nested_thresholds",
    "nested_boundary_lp",
    "greedy_map",
    "greedy_orbit",
]


@dataclass(frozen=True)
class FluidType:
    """A request type of the fluid model: prompt ``prompt`` (Ao et al.'s ``l_j``), output
    ``output`` (``o_j``) and arrival weight ``rate`` (``lambda_j``, any positive scale)."""

    prompt: int
    output: int
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.prompt < 1 or self.output < 1:
            raise InputError(f"fluid type ({self.prompt}, {self.output}): lengths must be >= 1")
        if not self.rate > 0:
            raise InputError(f"fluid type ({self.prompt}, {self.output}): rate must be > 0")


@dataclass(frozen=True)
class LPResult:
    """The answer of one fluid LP.

    ``optimum`` is the objective value, ``solution`` the value of every variable by name,
    ``duals`` the shadow price of every constraint by name (the change of the optimum per unit
    increase of the constraint's right-hand side), ``status`` PuLP's status string.
    ``extra`` carries derived quantities (round time, per-stage occupancies, ...).
    """

    optimum: float
    solution: dict[str, float]
    duals: dict[str, float]
    status: str
    solver: str
    extra: dict[str, Any] = field(default_factory=dict)


# --- stage bookkeeping ---------------------------------------------------------------------------
def stage_count(output: int, first_token: str = "with_prefill") -> int:
    """Rounds a request spends in the system without pausing: ``o`` (with_prefill) or ``o + 1``."""
    _ft(first_token)
    return output if first_token == "with_prefill" else output + 1


def stage_memory(prompt: int, output: int, first_token: str = "with_prefill") -> int:
    """Tokens held summed over a request's stages: ``V = s*o + o(o+1)/2`` (with_prefill, the
    volume of ``model.md`` section 4) or ``V + s = sum_{k=0..o} (s + k)`` (separate; Ao et al.)."""
    _ft(first_token)
    v = prompt * output + output * (output + 1) // 2
    return v if first_token == "with_prefill" else v + prompt


def _ft(first_token: str) -> None:
    if first_token not in ("with_prefill", "separate"):
        raise InputError(f"first_token must be with_prefill or separate, got {first_token!r}")


# --- LP plumbing -----------------------------------------------------------------------------
# PuLP 3.x warns on its pre-4.0 API: variables and constraint dicts go through the 4.0 calls
# when the installed PuLP has them (``add_variable``, ``constraints()``), the older ones
# otherwise; the bundled CBC has no 4.0 replacement (``COIN_CMD`` needs a separate CBC), so
# only that one warning is filtered, where the solver is built.
def _var(prob: Any, name: str, low: float | None = 0) -> Any:
    """A continuous variable ``name >= low`` of ``prob``."""
    import pulp

    add = getattr(prob, "add_variable", None)
    return add(name, low) if add is not None else pulp.LpVariable(name, low)


def _constraints(prob: Any) -> list[Any]:
    cons = prob.constraints
    return list(cons()) if callable(cons) else list(cons.values())


def _solver(name: str) -> Any:
    import warnings

    import pulp

    if name == "highs":
        return pulp.HiGHS(
            msg=False, threads=1
        )  # one `threads` value for all HiGHS solves (milp.py)
    if name == "cbc":
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning
            )
            return pulp.PULP_CBC_CMD(msg=False)
    raise InputError(f"solver must be highs or cbc, got {name!r}")


def _solve(
    prob: Any, solver: str, sense_max: bool
) -> tuple[str, float, dict[str, float], dict[str, float]]:
    import pulp

    prob.solve(_solver(solver))
    status = pulp.LpStatus[prob.status]
    if status != "Optimal":
        raise InputError(f"fluid LP {prob.name}: solver status {status}")
    sol = {v.name: float(v.varValue or 0.0) for v in prob.variables()}
    # Shadow prices: PuLP's HiGHS interface reports duals of a maximisation with the opposite
    # sign to CBC's; normalise to d optimum / d rhs (checked against hand-solved cases).
    flip = -1.0 if (solver == "highs" and sense_max) else 1.0
    duals = {c.name: flip * float(c.pi or 0.0) + 0.0 for c in _constraints(prob)}
    return status, float(pulp.value(prob.objective)), sol, duals


# --- Ao et al.: the equilibrium LP ----------------------------------------------------------------
def ao_equilibrium_lp(
    types: Sequence[FluidType],
    capacity: int,
    *,
    tau: Any = None,
    first_token: str = "with_prefill",
    mix: bool = True,
    caps: Sequence[float] | None = None,
    rewards: Sequence[float] | None = None,
    solver: str = "highs",
) -> LPResult:
    """Largest sustainable arrival rate of Ao et al.'s fluid equilibrium (arXiv 2504.11320,
    section 3: the fluid model behind WAIT).

    In equilibrium every stage of type ``j`` holds ``n_j = lambda_j * tau`` requests (Little's
    law per stage), so the memory constraint is ``sum_j n_j m_j <= M`` with ``m_j`` from
    :func:`stage_memory`. With a batch-time model ``tau = c0 + c_p P + c_d D`` (``P`` prefill and
    ``D`` decode tokens of a round: ``P = sum_j n_j l_j``, ``D = sum_j n_j d_j`` with ``d_j`` the
    decode stages of type ``j``), ``tau (1 - sum_j lambda_j c_j) = c0`` where
    ``c_j = c_p l_j + c_d d_j``; substituting, memory becomes linear in the rates::

        maximise    sum_j r_j lambda_j
        subject to  sum_j lambda_j (c0 m_j + M c_j) <= M          ("memory")
                    lambda_j = theta * w_j  (mix=True)            ("mix_j")
                    lambda_j <= caps_j      (caps given)          ("cap_j")
                    lambda_j >= 0

    with ``w_j`` the types' rates normalised to sum 1 (so ``theta`` is the total rate). In unit
    time (``c0 = 1``, ``c_p = c_d = 0``) this is ``sum_j lambda_j m_j <= M``, i.e. the memory
    boundary ``lambda* = M / E[m]`` of ``queueing.md`` Q6.

    Parameters
    ----------
    types
        The request types (rates give the mix).
    capacity
        KV capacity ``M`` in tokens.
    tau
        ``unit`` (default) or ``affine:c0=...,c_prefill=...,c_decode=...``; other batch-time
        models are not affine and are refused.
    first_token
        Stage convention (module docstring).
    mix
        Keep the arrival mix fixed (``lambda_j`` proportional to ``rate``); otherwise the LP
        chooses the mix (then give ``caps``, or the optimum puts every unit on the cheapest type).
    caps, rewards
        Per-type upper bounds on ``lambda_j`` and objective weights (default 1: requests per unit
        time).

    Returns
    -------
    LPResult
        ``optimum`` the largest total reward rate; ``solution`` has ``lambda_j`` (``lam_j``) and
        ``theta``; ``duals`` has ``memory`` (value of one more token of capacity at the
        linearised constraint) and ``mix_j`` / ``cap_j``; ``extra`` has ``tau`` (round time at
        the optimum), ``n`` (requests per stage of each type) and ``memory_used``.

    Examples
    --------
    >>> r = ao_equilibrium_lp([FluidType(2, 2)], 140)   # one type, prompt 2, two output rounds
    >>> round(r.optimum, 9), round(r.duals["memory"], 9)   # 140 / (3 + 4) and 1 / 7
    (20.0, 0.142857143)
    """
    # long: the LP as the paper states it: variables, objective, constraints in order
    import pulp

    from ratio.queueing.tau import Affine, Unit, parse_tau

    if not types:
        raise InputError("the fluid LP needs at least one request type")
    if capacity < 1:
        raise InputError(f"capacity must be >= 1, got {capacity}")
    model = parse_tau(tau)
    if isinstance(model, Unit):
        c0, cp, cd = 1.0, 0.0, 0.0
    elif isinstance(model, Affine):
        c0, cp, cd = float(model.c0), float(model.c_prefill), float(model.c_decode)
    else:
        raise InputError(
            "the equilibrium LP needs an affine batch-time model (unit or affine), "
            f"got {model.spec}"
        )
    J = len(types)
    r = list(rewards) if rewards is not None else [1.0] * J
    if len(r) != J or (caps is not None and len(caps) != J):
        raise InputError("rewards and caps need one value per type")
    m = [stage_memory(t.prompt, t.output, first_token) for t in types]
    dec = [t.output - 1 if first_token == "with_prefill" else t.output for t in types]
    c = [cp * t.prompt + cd * d for t, d in zip(types, dec, strict=True)]
    total_w = sum(t.rate for t in types)
    prob = pulp.LpProblem("ao_equilibrium", pulp.LpMaximize)
    lam = [_var(prob, f"lam_{j}") for j in range(J)]
    theta = _var(prob, "theta")
    prob += pulp.lpSum(r[j] * lam[j] for j in range(J))
    prob += (
        pulp.lpSum((c0 * m[j] + capacity * c[j]) * lam[j] for j in range(J)) <= capacity,
        "memory",
    )
    if mix:
        for j, t in enumerate(types):
            prob += lam[j] - (t.rate / total_w) * theta == 0, f"mix_{j}"
    if caps is not None:
        for j in range(J):
            prob += lam[j] <= float(caps[j]), f"cap_{j}"
    status, opt, sol, duals = _solve(prob, solver, True)
    rates = [sol[f"lam_{j}"] for j in range(J)]
    load = sum(x * cj for x, cj in zip(rates, c, strict=True))
    round_time = c0 / (1.0 - load) if load < 1 else math.inf
    n = [x * round_time for x in rates]
    return LPResult(
        opt,
        sol,
        duals,
        status,
        solver,
        {
            "tau": round_time,
            "n": n,
            "memory_used": sum(nj * mj for nj, mj in zip(n, m, strict=True)),
            "stage_memory": m,
            "first_token": first_token,
        },
    )


# --- Zhang et al.: the per-GPU LP -------------------------------------------------------------
@dataclass(frozen=True)
class ZhangClass:
    """A request class of the prefill-decode contention model: arrival rate per GPU
    ``rate``, prefill iterations ``prefill_iters`` (a prompt of ``s`` tokens in chunks of ``C``:
    ``ceil(s / C)``), decode tokens ``output``, revenue per completed request ``reward``, and
    abandonment rates while waiting for prefill (``abandon``) and, prefilled, for a decode slot
    (``abandon_decode``)."""

    rate: float
    prefill_iters: int
    output: int
    reward: float = 1.0
    abandon: float = 1.0
    abandon_decode: float = 1.0

    def __post_init__(self) -> None:
        if self.rate < 0 or self.prefill_iters < 1 or self.output < 1:
            raise InputError("class: rate >= 0, prefill_iters >= 1 and output >= 1")
        if self.abandon <= 0 or self.abandon_decode <= 0:
            raise InputError("class: abandonment rates must be > 0")


def zhang_lp(
    classes: Sequence[ZhangClass],
    *,
    B: int,
    tau: float,
    gamma: float,
    force_no_decode_wait: bool = False,
    mixed_share: float | None = None,
    solver: str = "highs",
) -> LPResult:
    """Per-GPU fluid LP of prefill-decode contention (Zhang, Lin, Han, Ding, arXiv 2602.02987),
    as reconstructed for this toolkit (see the module docstring).

    A GPU is *mixed* (one prefill slot running chunks, iteration time ``tau = alpha + beta C``
    of the ``mixed_solo`` batch-time model, plus at most ``B - 1`` decode streams, each advancing
    one token per iteration) or *solo* (decode only, at most ``B`` streams, each advancing
    ``gamma`` tokens per unit time). Per GPU (fluid scale ``1/n``)::

        maximise   sum_i r_i (y_i / (o_i tau) + gamma z_i / o_i)            (revenue rate)
        s.t.       x_i / (k_i tau) + theta_i q_i = lambda_i                 ("arrive_i")
                   x_i / (k_i tau) = y_i / (o_i tau) + gamma z_i / o_i + eta_i w_i   ("decode_i")
                   sum_i y_i <= (B - 1) sum_i x_i                           ("mixed_cap")
                   sum_i z_i <= B (1 - sum_i x_i)                           ("solo_cap")
                   sum_i x_i <= 1                                           ("gpus")
                   x, y, z, q, w >= 0

    ``x_i`` is the share of GPUs whose prefill slot serves class ``i`` (so ``sum x`` is the
    share of mixed GPUs), ``y_i`` / ``z_i`` the class-``i`` decode streams on mixed / solo GPUs,
    ``q_i`` / ``w_i`` the fluid waiting for prefill / for a decode slot, abandoning at rates
    ``theta_i`` / ``eta_i``. ``force_no_decode_wait`` adds ``w_i = 0``; ``mixed_share`` fixes
    ``sum_i x_i`` (constraint ``"split"``), e.g. to ``m / n`` for ``m`` mixed engines of ``n``:
    the best revenue with that integer split.

    The rates are those of Zhang et al.'s model (prefill rate ``C / (P_i tau_mix)`` per slot,
    i.e. ``1 / (k_i tau)`` with ``k_i = P_i / C`` chunks; mixed decode ``1 / (D_i tau_mix)``;
    solo decode ``gamma / D_i``).

    Property (tested): if ``gamma * tau >= (B - 1) / B`` a solo GPU decodes at least as fast as a
    mixed GPU's decode part (``B gamma >= (B - 1) / tau``), so prefill that would wait for a
    decode slot can be given up and its GPU share turned solo without losing revenue: the
    optimum is the same with ``w = 0`` forced, i.e. no decode waits at the optimum.

    Returns
    -------
    LPResult
        ``solution`` has ``x_i, y_i, z_i, q_i, w_i``; ``duals`` every named constraint;
        ``extra["mixed_share"] = sum_i x_i``.

    Examples
    --------
    One class, ``B = 4``, ``tau = 2``, ``gamma = 1``, one prefill iteration, 10 output tokens,
    ``lambda = 1``: by hand ``x = 8/15``, revenue ``4/15``.

    >>> r = zhang_lp([ZhangClass(1.0, 1, 10)], B=4, tau=2.0, gamma=1.0)
    >>> round(r.optimum * 15, 9)
    4.0
    """
    # long: the LP as the paper states it: variables, objective, constraints in order
    import pulp

    if not classes:
        raise InputError("the Zhang LP needs at least one class")
    if isinstance(B, bool) or not isinstance(B, int) or B < 2:
        raise InputError(f"B (streams per GPU) must be an integer >= 2, got {B!r}")
    if not tau > 0 or not gamma > 0:
        raise InputError("tau (mixed iteration time) and gamma (solo decode rate) must be > 0")
    classes_idx = range(len(classes))
    prob = pulp.LpProblem("zhang_per_gpu", pulp.LpMaximize)
    x = [_var(prob, f"x_{i}") for i in classes_idx]
    y = [_var(prob, f"y_{i}") for i in classes_idx]
    z = [_var(prob, f"z_{i}") for i in classes_idx]
    q = [_var(prob, f"q_{i}") for i in classes_idx]
    w = [_var(prob, f"w_{i}") for i in classes_idx]
    cl = classes
    prob += pulp.lpSum(
        cl[i].reward * (y[i] * (1.0 / (cl[i].output * tau)) + z[i] * (gamma / cl[i].output))
        for i in classes_idx
    )
    for i in classes_idx:
        k = cl[i].prefill_iters
        prob += x[i] * (1.0 / (k * tau)) + cl[i].abandon * q[i] == cl[i].rate, f"arrive_{i}"
        prob += (
            x[i] * (1.0 / (k * tau))
            - y[i] * (1.0 / (cl[i].output * tau))
            - z[i] * (gamma / cl[i].output)
            - cl[i].abandon_decode * w[i]
            == 0,
            f"decode_{i}",
        )
        if force_no_decode_wait:
            prob += w[i] == 0, f"nowait_{i}"
    prob += pulp.lpSum(y) - (B - 1) * pulp.lpSum(x) <= 0, "mixed_cap"
    prob += pulp.lpSum(z) + B * pulp.lpSum(x) <= B, "solo_cap"
    prob += pulp.lpSum(x) <= 1, "gpus"
    if mixed_share is not None:
        if not 0 <= mixed_share <= 1:
            raise InputError(f"mixed_share must be in [0, 1], got {mixed_share}")
        prob += pulp.lpSum(x) == float(mixed_share), "split"
    status, opt, sol, duals = _solve(prob, solver, True)
    return LPResult(
        opt,
        sol,
        duals,
        status,
        solver,
        {
            "mixed_share": sum(sol[f"x_{i}"] for i in classes_idx),
            "B": B,
            "tau": tau,
            "gamma": gamma,
        },
    )


# --- WAIT thresholds ------------------------------------------------------------------------
def wait_thresholds(types: Sequence[FluidType], L: float) -> list[int]:
    """Ao et al.'s per-type thresholds
    ``n_j = max(1, floor(L lambda_j / sum_k lambda_k (o_k + 1)))``
    (arXiv 2504.11320, section 4, WAIT)."""
    if not L > 0:
        raise InputError(f"threshold L must be > 0, got {L}")
    den = sum(Fraction(t.rate).limit_denominator(10**9) * (t.output + 1) for t in types)
    Lf = Fraction(L).limit_denominator(10**9)
    return [max(1, math.floor(Lf * Fraction(t.rate).limit_denominator(10**9) / den)) for t in types]


def _wait_memory(types: Sequence[FluidType], L: float, first_token: str) -> int:
    n = wait_thresholds(types, L)
    return sum(
        nj * stage_memory(t.prompt, t.output, first_token) for nj, t in zip(n, types, strict=True)
    )


def max_wait_threshold(
    types: Sequence[FluidType], capacity: int, first_token: str = "with_prefill"
) -> int:
    """The largest integer ``L`` whose thresholds fit memory in the fluid model: one batch of
    ``n_j(L)`` requests in every stage of every type, ``sum_j n_j(L) m_j <= M``.

    Raises
    ------
    InputError
        Even one request of each type (``n_j = 1``) does not fit.
    """
    if _wait_memory(types, 1, first_token) > capacity:
        need = _wait_memory(types, 1, first_token)
        raise InputError(
            f"no WAIT threshold fits: one request per stage of each of the {len(types)} type(s) "
            f"needs {need} tokens > capacity {capacity}"
        )
    return largest_fitting(lambda L: _wait_memory(types, L, first_token) <= capacity)


def largest_fitting(fits: Callable[[int], bool]) -> int:
    """The largest integer ``L >= 1`` with ``fits(L)``, for a monotone ``fits`` with
    ``fits(1)`` true (doubling, then bisection)."""
    lo, hi = 1, 2
    while fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


# --- Nested WAIT segments ---------------------------------------------------------------------
def nested_segments(outputs: Mapping[int, float]) -> list[tuple[int, int, float]]:
    """Segments of Nested WAIT (Ao et al., arXiv 2504.11320, section 5) from the output-length
    distribution ``{o: rate}``: boundaries at the distinct output lengths
    ``b_1 < ... < b_K``; segment ``k`` covers output tokens ``b_{k-1} + 1 .. b_k`` (``b_0 = 0``),
    with length ``l_k = b_k - b_{k-1}`` (plus one for the prefill stage in the first segment,
    as ``o + 1`` in WAIT) and alive rate ``Lambda_k = sum_{o >= b_k} rate(o)``.
    Returns ``[(b_k, l_k, Lambda_k)]``."""
    if not outputs:
        raise InputError("nested segments need at least one output length")
    bs = sorted(outputs)
    out = []
    prev = 0
    for k, b in enumerate(bs):
        alive = sum(float(outputs[o]) for o in bs if o >= b)
        length = b - prev + (1 if k == 0 else 0)
        out.append((b, length, alive))
        prev = b
    return out


def nested_thresholds(outputs: Mapping[int, float], L: float) -> list[int]:
    """Threshold per segment: segment ``k`` gets the share ``L_k = L l_k Lambda_k / sum_m l_m
    Lambda_m`` of ``L`` (proportional to its length times the rate still alive in it) and
    admits batches of ``n_k = max(1, floor(L_k / l_k))`` requests (one batch per stage)."""
    if not L > 0:
        raise InputError(f"threshold L must be > 0, got {L}")
    segs = nested_segments(outputs)
    den = sum(ln * al for _, ln, al in segs)
    return [max(1, math.floor(L * al / den + 1e-12)) for _, ln, al in segs]


def nested_boundary_lp(
    types: Sequence[FluidType],
    capacity: int,
    *,
    reserve: float = 1.0,
    solver: str = "highs",
) -> LPResult:
    """The fluid boundary of Nested WAIT (unknown output lengths; Ao et al., arXiv 2504.11320,
    section 5, as read in :mod:`ratio.policies.nested_wait`), in unit time and the
    ``with_prefill`` convention.

    Admitting ``theta`` requests per round, a share ``A_k = sum_{o_j >= b_k} lambda_j /
    sum_j lambda_j`` is alive in segment ``k`` (boundaries ``b_k`` at the distinct output
    lengths), so each of its stages holds ``theta A_k`` requests (type ``j`` in the proportion
    of its rate): the decode memory is ``theta E[V]``, the same as in Ao's equilibrium LP
    (:func:`ao_equilibrium_lp`). What the nested policy adds is the memory of requests paused
    at the segment boundaries until their segment's batch ``n_k = theta A_k`` is complete: a
    batch fills from empty, so a boundary holds ``reserve * n_k`` requests of ``prompt + b_{k-1}``
    tokens (``reserve = 1``: a whole batch, the memory-safe plan; ``1/2``: the mean of a queue
    that fills evenly; ``0``: Ao's LP)::

        maximise    theta
        subject to  theta * sum_j w_j (V_j + reserve * sum_{k >= 2, b_k <= o_j} (s_j + b_{k-1}))
                        <= M                                              ("memory")
                    theta >= 0

    with ``w_j`` the rates normalised to sum 1.

    Examples
    --------
    One type (prompt 2, two output rounds) has one segment and nothing to pause: ``140 / 7``.

    >>> round(nested_boundary_lp([FluidType(2, 2)], 140).optimum, 9)
    20.0

    Outputs 1 and 2 in equal shares, prompt 1: ``E[V] = (2 + 5) / 2``, and half the requests
    pause once holding 2 tokens, so with ``reserve = 1`` ``theta = 10 / (3.5 + 1) = 20 / 9``.

    >>> round(nested_boundary_lp([FluidType(1, 1), FluidType(1, 2)], 10).optimum * 9, 9)
    20.0
    """
    import pulp

    if not types:
        raise InputError("the nested boundary LP needs at least one request type")
    if capacity < 1:
        raise InputError(f"capacity must be >= 1, got {capacity}")
    if not 0 <= reserve <= 1:
        raise InputError(f"reserve must be in [0, 1], got {reserve}")
    bounds = sorted({t.output for t in types})
    total = sum(t.rate for t in types)
    cost = 0.0
    for t in types:
        paused = sum(
            t.prompt + b_prev
            for b_prev, b in zip(bounds, bounds[1:], strict=False)
            if b <= t.output
        )
        cost += (t.rate / total) * (stage_memory(t.prompt, t.output) + reserve * paused)
    prob = pulp.LpProblem("nested_boundary", pulp.LpMaximize)
    theta = _var(prob, "theta")
    prob += theta
    prob += cost * theta <= capacity, "memory"
    status, opt, sol, duals = _solve(prob, solver, True)
    return LPResult(opt, sol, duals, status, solver, {"cost_per_request": cost, "reserve": reserve})


# --- the greedy map (Ao, Dong, Luo, Simchi-Levi, arXiv 2606.15555) --------------------------------
def greedy_map(x: Fraction | float, prompt: int, capacity: int) -> Fraction | float:
    """One round of greedy admission in the fluid for one type with two output rounds
    (``o = 2``, with_prefill): ``x`` requests are in their first round; next round they hold
    ``s + 2`` each and greedy fills the rest at ``s + 1`` each:
    ``x' = (M - (s + 2) x) / (s + 1)``. Fixed point ``x* = M / (2s + 3)``; a deviation is
    multiplied by ``-(s + 2) / (s + 1)`` each round, so it grows: the fixed point is unstable."""
    return (capacity - (prompt + 2) * x) / (prompt + 1)


def greedy_orbit(x0: int, prompt: int, capacity: int, rounds: int) -> list[int]:
    """The integer orbit of greedy admission (floors), before any overflow."""
    xs = [x0]
    for _ in range(rounds):
        nxt = (capacity - (prompt + 2) * xs[-1]) // (prompt + 1)
        if nxt < 0:
            break
        xs.append(nxt)
    return xs
