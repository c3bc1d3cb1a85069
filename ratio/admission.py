"""The admission tests of ``docs/model.md`` sections 6-7, written once.

Both progress layers of the round engine (:mod:`ratio.engine`) call these functions: the
base model's layer (``_Rounds``, what :func:`ratio.simulate` runs) and, through the base-policy
adapter (:mod:`ratio.queueing.policy`), the per-request layer (``_Steps``). They are pure:
the caller passes the running set as the look-ahead members, sorted by believed completion.

A member ``j`` that started at ``p_j`` and believes it completes at ``C_j`` holds
``b_j + tau`` tokens at a round ``tau < C_j``, with ``b_j = s_j - p_j + 1 - e`` (``e = 1`` in
vLLM's convention, model §9); memory is counted in blocks of ``B`` tokens.
"""

from __future__ import annotations

__all__ = ["blocks", "fits_lookahead", "fits_reservation", "fits_reactive"]


def blocks(tokens: int, b: int) -> int:
    """``tokens`` rounded up to whole blocks of ``b``."""
    return tokens if b == 1 else -(-tokens // b) * b


def fits_lookahead(
    Cs: list[int],
    bs: list[int],
    t: int,
    b_c: int,
    Cc: int,
    M: int,
    B: int,
    exact: bool,
    sum_peaks: int,
    peak_c: int,
) -> int | None:
    """The look-ahead test of model §6: with the members ``(Cs[k], bs[k])`` (sorted by
    ``Cs``) and a candidate admitted at ``t`` (memory ``b_c + tau``, believed completion
    ``Cc``), and nothing else ever admitted, memory stays ``<= M`` at every round just before a
    completion (memory of a fixed set only grows between completions).

    ``exact``: the believed completions are true ones (full information); otherwise a member
    past its believed completion may end any round, so it counts from ``t + 1``. ``sum_peaks``
    and ``peak_c`` (the members' and the candidate's believed peaks, in blocks) give a quick
    sufficient test under exact lengths.

    Returns
    -------
    int | None
        ``None`` if the candidate fits. Otherwise a round before which the same test fails for
        sure while the members stay (exact lengths, ``B = 1``), or ``0`` when unknown.
    """
    # long: one test in its three cases (exact lengths, believed lengths, blocks), inline on the
    # simulator's hot path
    if B == 1 and exact:
        # Sufficient: every member's memory is at most its peak (exact lengths only).
        if sum_peaks + peak_c <= M:
            return None
        sufB = 0
        sufN = 0
        own = False
        # Walk completions from the latest down; checking at tau = C - 1 after adding each
        # member (not only whole groups of equal C) only adds checks that count a subset of
        # the true memory, so it never rejects a feasible candidate. On a failure, the
        # returned round is one before which the same check fails for sure while the members
        # stay: a check at a member's completion C < Cc loses one token a round of waiting
        # (the candidate starts later), so it passes after ``excess`` rounds; the candidate's
        # own peak check only grows until the earliest completion among the members it counts
        # (k + 1 below) leaves it.
        ob = Cc - t
        for k in range(len(Cs) - 1, -1, -1):
            C = Cs[k]
            if Cc > C:
                if not own:
                    tau = Cc - 1
                    if sufB + sufN * tau + b_c + tau > M:
                        return Cs[k + 1] - ob + 1
                    own = True
                sufB += bs[k]
                sufN += 1
                tau = C - 1
                excess = sufB + sufN * tau + b_c + tau - M
                if excess > 0:
                    return t + excess
            else:
                sufB += bs[k]
                sufN += 1
        if not own:
            tau = Cc - 1
            if sufB + sufN * tau + b_c + tau > M:
                return Cs[0] - ob + 1
        return None
    t1 = t + 1
    if B == 1:
        # Imperfect information: a member past its believed completion may end any round.
        sufB = 0
        sufN = 0
        k = len(Cs) - 1
        while k >= 0 and max(Cs[k], t1) >= Cc:
            sufB += bs[k]
            sufN += 1
            k -= 1
        tau = Cc - 1
        if sufB + sufN * tau + b_c + tau > M:
            return 0
        while k >= 0:
            C = max(Cs[k], t1)
            sufB += bs[k]
            sufN += 1
            k -= 1
            tau = C - 1
            if sufB + sufN * tau + b_c + tau > M:
                return 0
        return None
    # Block rounding: not linear in tau, so sum member by member.
    members = [(max(C, t1), b) for C, b in zip(Cs, bs, strict=True)]
    checkpoints = {C - 1 for C, _ in members if Cc > C} | {Cc - 1}
    for tau in checkpoints:
        total = blocks(b_c + tau, B)
        for C, b in members:
            if tau < C:
                total += blocks(b + tau, B)
        if total > M:
            return 0
    return None


def fits_reservation(sum_peaks: int, peak_c: int, M: int) -> bool:
    """The reservation test (model §6): the believed peaks of the running requests and the
    candidate's (``peak_c``, in blocks) sum to ``<= M``."""
    return sum_peaks + peak_c <= M


def fits_reactive(mem_now: int, first_c: int, M: int) -> bool:
    """The reactive test (model §7): this round's memory plus the candidate's first round
    (``first_c`` tokens in blocks) fits ``M``."""
    return mem_now + first_c <= M
