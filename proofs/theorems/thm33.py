"""Thm 3.3 (1-bit SVF, all arrivals at 0): an empirical study.

The paper states an ``O(T)``-type bound for 1-bit SVF in the burst regime whose exact form we
could not read; it is registered as a study: the certified ratio ``L_svf_1bit / UB(OPT)`` against
the threshold ``theta`` (relative to the output spread) and against SVF with full information.
Verdict ``open`` unless the statement is found.

References: Kong, Qi, Ye, Zhou, arXiv 2606.22327, Thm 3.3.
"""

from __future__ import annotations

from proofs.registry import EmpiricalCheck, SymbolicCheck, Theorem


def symbolic() -> list[SymbolicCheck]:
    return []


#: thresholds as a fraction of the largest output in the instance family
THETA_FRACTIONS = (0.25, 0.5, 0.75)


def empirical(quick: bool, seed: int) -> list[EmpiricalCheck]:
    from proofs.sampling import burst_instances
    from proofs.studies import ratio_study

    count = 60 if quick else 1500
    checks = []
    for k, frac in enumerate(THETA_FRACTIONS):
        insts = list(burst_instances(count, seed=seed + k, n_range=(3, 8), capacity_range=(16, 48)))
        omax = max(r.output for inst in insts for r in inst.requests)
        theta = max(1, round(frac * omax))
        pol = f"svf_1bit:theta={theta}"
        checks.append(
            ratio_study(
                f"theta={theta}", f"certified ratio of {pol} (no constant)", pol, insts, None
            )
        )
    return checks


THEOREM = Theorem(
    name="thm33",
    title="Thm 3.3: 1-bit SVF, burst (empirical study)",
    statement="1-bit SVF is O(T)-competitive in the burst regime (exact form not available)",
    source="Kong, Qi, Ye, Zhou, arXiv 2606.22327, Thm 3.3",
    regime="all_at_zero",
    constant="unknown (O(T))",
    symbolic=symbolic,
    empirical=empirical,
    paper="kong2026-svf",
    study_reason="no constant to fail against: the statement's exact constant is not available "
    "to us; an empirical study of svf_1bit's certified ratio, theta a fraction of the largest "
    "output of the sampled instances",
)
