"""Theorem registry, check results and verdicts (issue 7; ``docs/model.md`` sections 10-12).

A :class:`Theorem` bundles a statement with two kinds of checks:

* **symbolic** checks (sympy): each returns a :class:`SymbolicCheck` with the simplified residual
  of an identity, or the argument that an inequality holds on its whole domain;
* **empirical** checks: each evaluates an inequality or a ratio on many instances and returns an
  :class:`EmpiricalCheck` with the worst instance seen and how close it came to the constant.

:func:`run_theorem` turns them into a verdict (``interfaces.md``, ``kvratio prove``):

* ``refuted``: some check produced a *certified* counter-example (a trace plus schedules re-verified
  by :func:`ratio.check.check`, with exact integer costs);
* ``open``: the theorem is registered as an empirical study (its statement is not available to us,
  or no symbolic argument is claimed), or some check could not decide (reason given);
* ``verified``: every symbolic and every empirical check holds, **and** the theorem's control
  (the same checks run on a deliberately false variant: a constant lowered below the claim, or a
  statement strengthened) comes out ``refuted``. A check whose control is not refuted could not
  have failed, so its theorem stays ``open`` with that reason (issue 16).

A symbolic check refutes when it fails and carries a ``witness``: an exact point of the domain
where the claimed identity or inequality is false (evaluated with exact rationals).

Each theorem names its ``paper`` (one of :data:`PAPERS`) and, where the setting was changed or
rebuilt (a scaled mix, a toy network, an LP from summaries), a ``setting`` that says so.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

__all__ = [
    "SymbolicCheck",
    "Worst",
    "EmpiricalCheck",
    "Theorem",
    "TheoremResult",
    "THEOREM_MODULES",
    "registry",
    "get_theorem",
    "run_theorem",
    "fmt_number",
    "PAPERS",
    "ControlResult",
]

#: Paper keys of ``kvratio prove --json`` (issue 16).
PAPERS: tuple[str, ...] = (
    "kong2026-svf",
    "ao2025-wait",
    "dai2025-work-conserving",
    "zhang2026-pd",
    "other",
)

#: Modules of :mod:`proofs.theorems`, in the order of the issue (one theorem each).
THEOREM_MODULES: tuple[str, ...] = (
    "volume",
    "prop31",
    "prop31_largest",
    "lemma_a2",
    "thm32",
    "thm34",
    "thm35",
    "thm33",
    "sorted_f",
    "mcsf",
    "svf_steps",
    "sharper",
    "queueing_papers",
)


def fmt_number(x: Fraction | float | int | None) -> str | None:
    """Exact ``"p/q"`` for fractions and ints, ``repr`` rounded to 6 digits for floats."""
    if x is None:
        return None
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)
    if isinstance(x, int):
        return str(x)
    return f"{x:.6g}"


@dataclass(frozen=True)
class SymbolicCheck:
    """Outcome of one sympy check.

    ``holds`` is True when the residual simplified to zero (identity) or the inequality was
    shown on its whole domain; ``residual`` is the simplified expression as a string;
    ``proof`` says how the domain argument goes.
    """

    name: str
    claim: str
    holds: bool
    residual: str = "0"
    proof: str = ""
    witness: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "claim": self.claim,
            "holds": self.holds,
            "residual": self.residual,
            "proof": self.proof,
            "witness": self.witness,
        }


@dataclass(frozen=True)
class Worst:
    """The instance that came closest to (or beyond) the constant.

    ``value`` is the measured quantity (``measure`` names it, e.g. ``L_SVF / UB(OPT)``);
    ``constant`` the theorem's constant at that instance; ``closeness = value / constant``.
    ``certified`` means ``value`` is an exact fraction from schedules re-verified by the
    checker (a lower bound on the true ratio), so ``value > constant`` refutes the claim.
    """

    measure: str
    value: Fraction | float
    constant: Fraction | float | None
    certified: bool
    trace: dict[str, Any] | None = None
    alpha: Fraction | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def closeness(self) -> float | None:
        if self.constant is None or float(self.constant) == 0.0:
            return None
        return float(self.value) / float(self.constant)

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "value": fmt_number(self.value),
            "value_float": float(self.value),
            "constant": fmt_number(self.constant),
            "closeness": self.closeness,
            "certified": self.certified,
            "alpha": fmt_number(self.alpha),
            "trace": self.trace,
            **self.extra,
        }


@dataclass(frozen=True)
class EmpiricalCheck:
    """Outcome of one empirical check over ``instances`` instances (or simulated runs).

    ``holds``: True (held everywhere), False (a certified counter-example is attached as
    ``counterexample``) or None (could not decide: ``note`` says why).
    """

    name: str
    claim: str
    instances: int
    holds: bool | None
    worst: Worst | None = None
    counterexample: Worst | None = None
    note: str = ""
    rows: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "claim": self.claim,
            "instances": self.instances,
            "holds": self.holds,
            "worst": self.worst.to_dict() if self.worst else None,
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
            "note": self.note,
            "rows": list(self.rows),
        }


SymbolicFn = Callable[[], list[SymbolicCheck]]
EmpiricalFn = Callable[[bool, int], list[EmpiricalCheck]]
#: A control: the theorem's checks run on a deliberately false variant; ``(symbolic, empirical)``.
ControlFn = Callable[[bool, int], tuple[list[SymbolicCheck], list[EmpiricalCheck]]]


@dataclass(frozen=True)
class Theorem:
    """One registered result.

    Parameters
    ----------
    name
        Registry key (``kvratio prove NAME``).
    title, statement, source, regime, constant
        What is claimed, by whom, in which regime of model §10, with which constant.
    symbolic, empirical
        The checks (see module docstring); ``empirical(quick, seed)``.
    study_reason
        Set for empirical studies: the verdict is then ``open`` with this reason unless a
        certified counter-example refutes the claim.
    paper
        One of :data:`PAPERS`.
    setting
        Set where the setting was changed or rebuilt (scaled mix, toy network, ...).
    control, control_claim
        The same checks on a deliberately false variant (``control_claim`` says which); it must
        come out ``refuted`` for the theorem to be ``verified``.
    """

    name: str
    title: str
    statement: str
    source: str
    regime: str
    constant: str
    symbolic: SymbolicFn
    empirical: EmpiricalFn
    study_reason: str | None = None
    paper: str = "kong2026-svf"
    setting: str | None = None
    control: ControlFn | None = None
    control_claim: str = ""

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper {self.paper!r} not in {PAPERS}")

    @property
    def command(self) -> str:
        return f"kvratio prove {self.name} --quick"

    def describe(self) -> dict[str, Any]:
        return {
            "theorem": self.name,
            "title": self.title,
            "statement": self.statement,
            "source": self.source,
            "paper": self.paper,
            "setting": self.setting,
            "regime": self.regime,
            "constant": self.constant,
            "control_claim": self.control_claim or None,
            "kind": "study" if self.study_reason else "theorem",
        }


@dataclass(frozen=True)
class ControlResult:
    """The control's checks and their verdict (``refuted`` is what a control must give)."""

    claim: str
    symbolic: tuple[SymbolicCheck, ...]
    empirical: tuple[EmpiricalCheck, ...]
    verdict: str
    reason: str
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "reason": self.reason,
            "symbolic": [c.to_dict() for c in self.symbolic],
            "empirical": [c.to_dict() for c in self.empirical],
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class TheoremResult:
    """A theorem's checks and verdict (``interfaces.md``: ``kvratio prove``)."""

    theorem: Theorem
    symbolic: tuple[SymbolicCheck, ...]
    empirical: tuple[EmpiricalCheck, ...]
    verdict: str
    reason: str
    worst: Worst | None
    errors: tuple[str, ...]
    seconds: float
    quick: bool
    seed: int
    control: ControlResult | None = None

    @property
    def control_verdict(self) -> str:
        """``refuted`` / ``verified`` / ``open`` for the control; ``none`` without one."""
        return self.control.verdict if self.control is not None else "none"

    def to_dict(self) -> dict[str, Any]:
        sym_status = (
            "error"
            if any(e.startswith("symbolic") for e in self.errors)
            else "none"
            if not self.symbolic
            else "holds"
            if all(c.holds for c in self.symbolic)
            else "fails"
        )
        emp_status = (
            "error"
            if any(e.startswith("empirical") for e in self.errors)
            else "none"
            if not self.empirical
            else "holds"
            if all(c.holds is True for c in self.empirical)
            else "fails"
            if any(c.holds is False for c in self.empirical)
            else "undecided"
        )
        return {
            "theorem": self.theorem.name,
            "paper": self.theorem.paper,
            "source": self.theorem.source,
            "statement": self.theorem.statement,
            "setting": self.theorem.setting,
            "regime": self.theorem.regime,
            "constant": self.theorem.constant,
            "symbolic": {"status": sym_status, "checks": [c.to_dict() for c in self.symbolic]},
            "empirical": {
                "status": emp_status,
                "instances": sum(c.instances for c in self.empirical),
                "checks": [c.to_dict() for c in self.empirical],
            },
            "verdict": self.verdict,
            "reason": self.reason,
            "control": self.control_verdict,
            "control_detail": self.control.to_dict() if self.control else None,
            "worst": self.worst.to_dict() if self.worst else None,
            "errors": list(self.errors),
            "seconds": round(self.seconds, 3),
            "quick": self.quick,
            "seed": self.seed,
            "command": self.theorem.command,
        }


_REGISTRY: dict[str, Theorem] = {}


def registry() -> dict[str, Theorem]:
    """All registered theorems by name, in :data:`THEOREM_MODULES` order."""
    if not _REGISTRY:
        for mod in THEOREM_MODULES:
            m = importlib.import_module(f"proofs.theorems.{mod}")
            thms: list[Theorem] = list(getattr(m, "THEOREMS", None) or [m.THEOREM])
            for thm in thms:
                if thm.name in _REGISTRY:
                    raise ValueError(f"theorem {thm.name!r} registered twice")
                _REGISTRY[thm.name] = thm
    return _REGISTRY


def get_theorem(name: str) -> Theorem:
    """The registered theorem ``name``; :class:`~ratio.errors.InputError` lists valid names."""
    from ratio.errors import InputError

    reg = registry()
    if name not in reg:
        raise InputError(f"unknown theorem {name!r} (valid: {', '.join(reg)})")
    return reg[name]


def _pick_worst(checks: tuple[EmpiricalCheck, ...]) -> Worst | None:
    """The counter-example if any; else the worst instance closest to its constant (certified
    ones first); for studies without a constant, the largest certified value."""
    for c in checks:
        if c.counterexample is not None:
            return c.counterexample
    cands = [c.worst for c in checks if c.worst is not None]
    if not cands:
        return None
    with_const = [w for w in cands if w.closeness is not None]
    if with_const:
        return max(with_const, key=lambda w: (w.certified, w.closeness or 0.0))
    return max(cands, key=lambda w: (w.certified, float(w.value)))


def _symbolic_refutes(c: SymbolicCheck) -> bool:
    return not c.holds and c.witness is not None


def _run_checks(
    sym_fn: Callable[[], list[SymbolicCheck]],
    emp_fn: Callable[[], list[EmpiricalCheck]],
) -> tuple[tuple[SymbolicCheck, ...], tuple[EmpiricalCheck, ...], list[str]]:
    errors: list[str] = []
    sym: tuple[SymbolicCheck, ...] = ()
    emp: tuple[EmpiricalCheck, ...] = ()
    try:
        sym = tuple(sym_fn())
    except Exception as e:  # noqa: BLE001 - reported, never hidden
        errors.append(f"symbolic: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    try:
        emp = tuple(emp_fn())
    except Exception as e:  # noqa: BLE001
        errors.append(f"empirical: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    return sym, emp, errors


def decide(
    sym: tuple[SymbolicCheck, ...],
    emp: tuple[EmpiricalCheck, ...],
    errors: list[str],
    study_reason: str | None = None,
    *,
    statistical: bool = False,
) -> tuple[str, str]:
    """The verdict of a set of checks, before the control is considered (module docstring).

    An uncertified counter-example (a simulation's verdict, a float LP) refutes only with
    ``statistical`` (controls); for a theorem it leaves the verdict ``open``."""
    refuting = [
        c
        for c in emp
        if c.holds is False
        and c.counterexample is not None
        and (statistical or c.counterexample.certified)
    ]
    sym_refuting = [c for c in sym if _symbolic_refutes(c)]
    sym_fail = [c for c in sym if not c.holds]
    undecided = [c for c in emp if c.holds is None or (c.holds is False and c not in refuting)]
    if refuting:
        c = refuting[0]
        kind = "certified" if c.counterexample and c.counterexample.certified else "uncertified"
        return "refuted", f"{kind} counter-example ({c.name}): {c.note}".rstrip(": ")
    if sym_refuting:
        s = sym_refuting[0]
        return "refuted", f"exact counter-example ({s.name}) at {s.witness}"
    if errors:
        return "open", "a check raised: " + errors[0].splitlines()[0]
    if study_reason:
        return "open", study_reason
    if sym_fail:
        return "open", "symbolic check did not close: " + "; ".join(
            f"{c.name} (residual {c.residual})" for c in sym_fail
        )
    if undecided:
        return "open", "undecided: " + "; ".join(f"{c.name}: {c.note}" for c in undecided)
    if not sym and not emp:
        return "open", "no check"
    return "verified", (
        f"{len(sym)} symbolic checks hold; {len(emp)} empirical checks hold on "
        f"{sum(c.instances for c in emp)} instances/runs"
    )


def run_theorem(theorem: Theorem, *, quick: bool = True, seed: int = 0) -> TheoremResult:
    """Run every check of ``theorem`` and its control and decide the verdict (module docstring).

    A check that raises is recorded in ``errors`` (with its exception) and forces ``open``:
    a verdict is never drawn from a check that did not finish. ``verified`` needs the control
    to come out ``refuted``.
    """
    t0 = time.perf_counter()
    sym, emp, errors = _run_checks(theorem.symbolic, lambda: theorem.empirical(quick, seed))
    worst = _pick_worst(emp)
    verdict, reason = decide(sym, emp, errors, theorem.study_reason)
    control: ControlResult | None = None
    if theorem.control is not None:
        ctl = theorem.control
        box: dict[str, list[EmpiricalCheck]] = {}

        def _ctl_sym() -> list[SymbolicCheck]:
            s, e = ctl(quick, seed)
            box["e"] = e
            return s

        csym, cemp, cerr = _run_checks(_ctl_sym, lambda: box.get("e", []))
        cverdict, creason = decide(csym, cemp, cerr, statistical=True)
        stubborn = [c.name for c in csym if not _symbolic_refutes(c)] + [
            c.name for c in cemp if c.counterexample is None
        ]
        if cverdict == "refuted" and stubborn:
            cverdict = "open"
            creason = f"control checks not refuted: {', '.join(stubborn)} ({creason})"
        control = ControlResult(theorem.control_claim, csym, cemp, cverdict, creason, tuple(cerr))
        errors += [f"control {e}" for e in cerr]
    if verdict == "verified":
        if control is None:
            verdict = "open"
            reason = "no false control registered: the checks are not shown to bite"
        elif control.verdict != "refuted":
            verdict = "open"
            reason = (
                f"the control ({control.claim}) came out {control.verdict}, not refuted: "
                f"these checks could not have failed ({control.reason})"
            )
        else:
            reason += f"; control ({control.claim}) refuted"
    return TheoremResult(
        theorem,
        sym,
        emp,
        verdict,
        reason,
        worst,
        tuple(errors),
        time.perf_counter() - t0,
        quick,
        seed,
        control,
    )
