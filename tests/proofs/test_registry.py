"""The theorem registry, verdicts, the prove CLI and the docs generator (issue 7)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from proofs.registry import (
    EmpiricalCheck,
    SymbolicCheck,
    Theorem,
    Worst,
    get_theorem,
    registry,
    run_theorem,
)
from ratio.cli import main
from ratio.errors import InputError


def _thm(
    sym: list[SymbolicCheck],
    emp: list[EmpiricalCheck],
    study: str | None = None,
    control: list[EmpiricalCheck] | None = None,
) -> Theorem:
    return Theorem(
        "t",
        "t",
        "s",
        "src",
        "all_at_zero",
        "c",
        lambda: sym,
        lambda q, s: emp,
        study_reason=study,
        control=(lambda q, s: ([], control)) if control is not None else None,
        control_claim="false variant",
    )


OK_SYM = [SymbolicCheck("a", "a", True)]
OK_EMP = [EmpiricalCheck("e", "e", 3, True)]
W = Worst("r", Fraction(6), Fraction(5), True, {"format": "kvratio-trace/1"})
BAD = [EmpiricalCheck("e", "e", 1, False, counterexample=W)]


def test_verdict_rules() -> None:
    assert run_theorem(_thm(OK_SYM, OK_EMP, control=BAD)).verdict == "verified"
    r = run_theorem(_thm(OK_SYM, BAD, control=BAD))
    assert r.verdict == "refuted" and r.worst is W
    assert run_theorem(_thm(OK_SYM, OK_EMP, study="no statement")).verdict == "open"
    assert (
        run_theorem(_thm([SymbolicCheck("a", "a", False, "x")], OK_EMP, control=BAD)).verdict
        == "open"
    )
    assert (
        run_theorem(_thm(OK_SYM, [EmpiricalCheck("e", "e", 1, None)], control=BAD)).verdict
        == "open"
    )


def test_verified_needs_a_refuted_control() -> None:
    """Issue 16: a check whose false control also passes could not have failed."""
    r = run_theorem(_thm(OK_SYM, OK_EMP))
    assert r.verdict == "open" and "no false control" in r.reason
    r = run_theorem(_thm(OK_SYM, OK_EMP, control=OK_EMP))
    assert (
        r.verdict == "open"
        and r.control_verdict == "verified"
        and "could not have failed" in r.reason
    )
    # every control check must refute, not just one
    r = run_theorem(_thm(OK_SYM, OK_EMP, control=BAD + OK_EMP))
    assert r.verdict == "open" and r.control_verdict == "open"


def test_uncertified_failure_leaves_a_theorem_open_but_refutes_a_control() -> None:
    w = Worst("r", 6.0, 5.0, False)
    stat = [EmpiricalCheck("e", "e", 1, False, counterexample=w)]
    r = run_theorem(_thm(OK_SYM, stat, control=stat))
    assert r.verdict == "open" and r.control_verdict == "refuted"


def test_symbolic_witness_refutes() -> None:
    import sympy as sp

    from proofs.controls import exact_points

    x = sp.symbols("x")
    bad = exact_points("c", "x - 1 >= 0", x - 1, [x], [range(0, 3)])
    assert not bad.holds and bad.witness == {"x": "0", "value": "-1"}
    good = exact_points("c", "x >= 0", x, [x], [range(0, 3)])
    assert good.holds and good.witness is None
    r = run_theorem(_thm([bad], OK_EMP))
    assert r.verdict == "refuted"


def test_a_raising_check_is_open_with_its_error() -> None:
    def boom() -> list[SymbolicCheck]:
        raise RuntimeError("kaput")

    t = Theorem("t", "t", "s", "src", "r", "c", boom, lambda q, s: OK_EMP)
    r = run_theorem(t)
    assert r.verdict == "open" and "kaput" in r.reason and r.errors


def test_registry_has_the_issue_theorems() -> None:
    names = set(registry())
    assert {
        "volume",
        "prop31",
        "lemma_a2",
        "thm32",
        "thm34",
        "thm35",
        "thm33",
        "sorted_f",
        "mcsf",
    } <= names
    with pytest.raises(InputError):
        get_theorem("nope")


@pytest.mark.parametrize("name", ["volume", "prop31", "lemma_a2", "thm32", "thm34", "thm35"])
def test_symbolic_checks_close(name: str) -> None:
    checks = get_theorem(name).symbolic()
    assert checks and all(c.holds for c in checks), [c for c in checks if not c.holds]


def test_prove_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "lemma_a2", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (res,) = out["results"]
    assert {"theorem", "paper", "source", "symbolic", "empirical", "verdict", "control"} <= set(res)
    assert res["verdict"] == "verified" and res["control"] == "refuted"
    assert res["paper"] == "kong2026-svf" and "setting" in res


def test_prove_refuted_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "prop31_largest", "--quick", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["results"][0]
    assert res["verdict"] == "refuted"
    assert res["worst"]["certified"] and res["worst"]["trace"]["format"] == "kvratio-trace/1"


def test_prove_list_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--list", "--json"]) == 0
    names = [t["theorem"] for t in json.loads(capsys.readouterr().out)["theorems"]]
    assert names == list(registry())
    assert main(["prove", "nope"]) == 2
    assert "unknown theorem" in capsys.readouterr().err


def test_docs_generated(tmp_path: Path) -> None:
    from proofs.docs import write_docs

    res = [run_theorem(get_theorem("prop31_largest"))]
    p = write_docs(res, tmp_path / "t.md")
    text = p.read_text()
    assert "refuted" in text and "kvratio prove prop31_largest --quick" in text


#: Results whose quick checks take about a second: run in the default suite.
FAST = (
    "volume",
    "lemma_a2",
    "sharper_lemma",
    "sharper_certificate",
    "sharper_closed_form",
    "sharper_flat",
    "ao_eviction_cycle",
    "ao_wait_fixed_point",
    "ao_lp_throughput",
    "zhang_lp",
    "zhang_prop32",
)


@pytest.mark.parametrize("name", FAST)
def test_fast_results_verified_with_refuted_control(name: str) -> None:
    r = run_theorem(get_theorem(name))
    assert not r.errors, r.errors
    assert r.verdict == "verified", r.reason
    assert r.control_verdict == "refuted", r.control.reason if r.control else None


@pytest.mark.slow
def test_prove_quick_gives_a_verdict_for_every_theorem(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's done-when: >= 20 results, >= 3 per seed paper, every verified result has a
    refuted control, no check errors, stdout is JSON (solver banners go to stderr)."""
    assert main(["prove", "--quick", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    got = {r["theorem"]: r["verdict"] for r in results}
    assert set(got) == set(registry()) and len(got) >= 20
    assert all(not r["errors"] for r in results)
    for paper in ("kong2026-svf", "ao2025-wait", "dai2025-work-conserving", "zhang2026-pd"):
        assert sum(r["paper"] == paper for r in results) >= 3, paper
    assert {"sharper_lemma", "sharper_certificate", "sharper_closed_form", "sharper_flat"} <= set(
        got
    )
    for r in results:
        if r["verdict"] == "verified":
            assert r["control"] == "refuted", r["theorem"]
    for name in ("volume", "prop31", "lemma_a2", "thm32"):
        assert got[name] == "verified", (name, results)
    assert got["prop31_largest"] == "refuted"
    for name in ("thm33", "sorted_f", "mcsf", "thm34", "thm35", "svf_wait_bound"):
        assert got[name] in ("open", "refuted")
        r = next(x for x in results if x["theorem"] == name)
        assert r["reason"]


def test_theory_bounds() -> None:
    from ratio.theory import svf_burst_bound, svf_flat_bound, svf_sharper_bound

    table = {0: (3, Fraction(7, 3)), Fraction(1, 2): (5, 4), Fraction(3, 4): (9, 8)}
    for a, (paper, sharper) in table.items():
        assert svf_burst_bound(a) == paper and svf_sharper_bound(a) == sharper
    assert svf_flat_bound(Fraction(1, 2)) == 2
    with pytest.raises(InputError):
        svf_sharper_bound(1)


def test_docs_current() -> None:
    """docs/theorems.md's verdict table matches the registry's names (the full --check runs in
    CI: `python -m proofs.docs --check`)."""
    from proofs.docs import verdict_rows

    rows = verdict_rows(Path("docs/theorems.md").read_text())
    names = [r.split("`")[1] for r in rows]
    assert names == list(registry())
