"""The compiled branch and bound says when it compiles (issue 17: no silent first call), and
compiles before any deadline is set, so a time limit is not spent compiling."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline_opt import bnb_jit

pytestmark = pytest.mark.skipif(not bnb_jit.available(), reason="numba not installed")


def test_first_call_says_it_compiles_then_stays_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "cache" / "kvratio-bnb_jit-x.compiled"
    monkeypatch.setattr(bnb_jit, "_compiled_marker", lambda: marker)
    monkeypatch.setattr(bnb_jit, "_WARM", False)
    bnb_jit.warm()
    err = capsys.readouterr().err
    assert "compiling the exact solver (one time" in err and "solver compiled in" in err
    assert marker.exists()
    monkeypatch.setattr(bnb_jit, "_WARM", False)  # a later process: the marker is there
    bnb_jit.warm()
    assert capsys.readouterr().err == ""


def test_the_time_limit_starts_after_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bnb_jit, "warm", lambda: calls.append("warm"))
    real_perf = bnb_jit.time.perf_counter

    def perf() -> float:
        calls.append("clock")
        return real_perf()

    monkeypatch.setattr(bnb_jit.time, "perf_counter", perf)
    bnb_jit.run_search([1, 2], [2, 1], 4, 100, 5.0)
    assert calls[:2] == ["warm", "clock"]


def test_marker_names_the_source_and_numba_version() -> None:
    m = bnb_jit._compiled_marker()
    assert m.name.startswith("kvratio-bnb_jit-") and m.suffix == ".compiled"
