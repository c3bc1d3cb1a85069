"""Execute the fluid notebooks headless in quick mode (issue 9), as ``tests/proofs`` does.

Each notebook is a jupytext percent-format ``.py`` file in ``proofs/notebooks/fluid_*.py``; it is
converted, run by nbclient with ``KVRATIO_QUICK=1`` and ``KVRATIO_FIGURES`` set to a scratch
folder (the tracked figures in ``docs/figures`` come from full runs), and must finish in under
3 minutes and write its figure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebook_runner import NB_DIR, run_quick

NOTEBOOKS = sorted(NB_DIR.glob("fluid_*.py"))
FIGURE = {
    "fluid_eviction_cycle": "fluid_eviction_cycle.png",
    "fluid_stable_range": "fluid_stable_range.png",
    "fluid_gate_and_route": "fluid_gate_and_route.png",
    "fluid_latency": "fluid_latency.png",
    "fluid_safety_margin": "fluid_safety_margin.png",
}


def test_every_fluid_notebook_is_listed() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(FIGURE)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_fluid_notebook_runs_quick(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from proofs.compare import read

    fig = run_quick(path, FIGURE[path.stem], monkeypatch, tmp_path)
    # the notebook ends with its comparison table (issue 16): every row passes
    rows = read(fig.parent, path.stem)
    assert rows and all(r["source"] for r in rows)
    assert not [r for r in rows if not r["passed"]], [r for r in rows if not r["passed"]]
