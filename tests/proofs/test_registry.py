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


def _thm(sym: list[SymbolicCheck], emp: list[EmpiricalCheck], study: str | None = None) -> Theorem:
    return Theorem(
        "t", "t", "s", "src", "all_at_zero", "c", lambda: sym, lambda q, s: emp, study_reason=study
    )


OK_SYM = [SymbolicCheck("a", "a", True)]
OK_EMP = [EmpiricalCheck("e", "e", 3, True)]


def test_verdict_rules() -> None:
    assert run_theorem(_thm(OK_SYM, OK_EMP)).verdict == "verified"
    w = Worst("r", Fraction(6), Fraction(5), True, {"format": "kvratio-trace/1"})
    bad = [EmpiricalCheck("e", "e", 1, False, counterexample=w)]
    r = run_theorem(_thm(OK_SYM, bad))
    assert r.verdict == "refuted" and r.worst is w
    assert run_theorem(_thm(OK_SYM, OK_EMP, study="no statement")).verdict == "open"
    assert run_theorem(_thm([SymbolicCheck("a", "a", False, "x")], OK_EMP)).verdict == "open"
    assert run_theorem(_thm(OK_SYM, [EmpiricalCheck("e", "e", 1, None)])).verdict == "open"
    assert run_theorem(_thm([], OK_EMP)).verdict == "open"


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
    assert {"theorem", "source", "symbolic", "empirical", "verdict", "worst"} <= set(res)
    assert res["verdict"] == "verified"


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


def test_prove_quick_gives_a_verdict_for_every_theorem(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's done-when: every registered theorem gets a verdict, no check errors."""
    assert main(["prove", "--quick", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    got = {r["theorem"]: r["verdict"] for r in results}
    assert set(got) == set(registry())
    assert all(not r["errors"] for r in results)
    for name in ("volume", "prop31", "lemma_a2", "thm32", "thm34", "thm35"):
        assert got[name] == "verified", (name, results)
    assert got["prop31_largest"] == "refuted"
    for name in ("thm33", "sorted_f", "mcsf"):
        assert got[name] in ("open", "refuted")
        r = next(x for x in results if x["theorem"] == name)
        assert r["reason"]
