"""Execute every proofs notebook headless in quick mode (issue 7, deliverable 4).

Each notebook is a jupytext percent-format ``.py`` file; it is converted, run by nbclient with
``KVRATIO_QUICK=1`` and must finish in under 3 minutes and write its figure.
(``stability_*`` and ``fluid_*`` notebooks belong to other packages and have their own tests.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NB_DIR = ROOT / "proofs" / "notebooks"
NOTEBOOKS = sorted(
    p for p in NB_DIR.glob("*.py") if not p.name.startswith(("stability_", "fluid_", "_"))
)
FIGURE = {
    "svf_ratio_vs_alpha": "proofs_svf_ratio_vs_alpha.png",
    "poisson_bound_vs_rho": "proofs_poisson_bound_vs_rho.png",
    "onebit_vs_svf_theta": "proofs_onebit_vs_svf_theta.png",
    "policies_vs_svf": "proofs_policies_vs_svf.png",
    "online_growth": "proofs_online_growth.png",
    "vllm_accounting": "proofs_vllm_accounting.png",
}


def test_every_notebook_is_listed() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(FIGURE)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_quick(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("KVRATIO_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # Figures go to a scratch folder: the tracked ones in docs/figures come from full runs.
    monkeypatch.setenv("KVRATIO_FIGURES", str(tmp_path))
    fig = tmp_path / FIGURE[path.stem]
    before = fig.stat().st_mtime_ns if fig.exists() else -1
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute(env=dict(os.environ))
    assert fig.exists() and fig.stat().st_mtime_ns > before
