"""The notebooks' comparison rows fail on a wrong answer (proofs/compare.py)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from proofs.compare import read, row, table


def test_rows_pass_and_fail() -> None:
    assert row("x", 20, "by hand", 20.0).passed
    assert not row("x", 20, "by hand", 17.5, 0.1).passed  # greedy's 17.5 is not WAIT's 20
    assert row("x", 1.5, "by hand", 1.4999, 0.05).passed
    assert not row("growth", 1.0714, "by hand", 1.0, 0.1 * 0.0714).passed  # no growth fails
    assert row("ub", Fraction(4), "bound", 3.9, relation="<=").passed
    assert not row("ub", 4, "bound", 4.1, relation="<=").passed
    assert not row("lb", 0.5, "bound", 0.4, relation=">=").passed
    with pytest.raises(ValueError):
        row("x", 1, "s", 1, relation="~")


def test_table_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KVRATIO_FIGURES", str(tmp_path))
    table("demo", [row("a", 1, "s", 1), row("b", 1, "s", 2)])
    out = capsys.readouterr().out
    assert "| a | 1 | s | 1 |" in out and "FAIL" in out
    rows = read(tmp_path, "demo")
    assert [r["passed"] for r in rows] == [True, False]
    assert json.loads((tmp_path / "demo_comparison.json").read_text()) == rows
