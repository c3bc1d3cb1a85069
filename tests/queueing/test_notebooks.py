"""Execute the stability notebooks headless in quick mode (issue 8), as ``tests/fluid`` does.

Each notebook is a jupytext percent-format ``.py`` file in ``proofs/notebooks/stability_*.py``;
it is converted, run by nbclient with ``KVRATIO_QUICK=1`` and ``KVRATIO_FIGURES`` set to a
scratch folder (the tracked figures in ``docs/figures`` come from full runs), and must finish in
under 3 minutes, write its figure and leave the tracked figure alone. The notebooks assert the
claims they show, so a run that finishes is a run whose claims held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebook_runner import NB_DIR, run_quick

NOTEBOOKS = sorted(NB_DIR.glob("stability_*.py"))
FIGURE = {
    "stability_reproductions": "stability_reproductions.png",
    "stability_agent_jobs": "stability_agent_jobs.png",
    "stability_rybko_stolyar": "stability_rybko_stolyar.png",
}


def test_every_stability_notebook_is_listed() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(FIGURE)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stability_notebook_runs_quick(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from proofs.compare import read

    fig = run_quick(path, FIGURE[path.stem], monkeypatch, tmp_path)
    # the notebook ends with its comparison table (issue 16): every row passes
    rows = read(fig.parent, path.stem)
    assert rows and all(r["source"] for r in rows)
    assert not [r for r in rows if not r["passed"]], [r for r in rows if not r["passed"]]
