"""Execute every proofs notebook headless in quick mode (issue 7, deliverable 4).

Each notebook is a jupytext percent-format ``.py`` file; it is converted, run by nbclient with
``KVRATIO_QUICK=1`` and must finish in under 3 minutes, write its figure and a comparison table whose rows all
pass (:mod:`proofs.compare`).
(``stability_*`` and ``fluid_*`` notebooks belong to other packages and have their own tests.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebook_runner import NB_DIR, run_quick

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
    """The notebook runs, writes its figure, and ends with a comparison table (expected with its
    source, computed, tolerance, pass) in which every row passes (issue 16)."""
    from proofs.compare import read

    fig = run_quick(path, FIGURE[path.stem], monkeypatch, tmp_path)
    rows = read(fig.parent, fig.stem)
    assert rows, f"{path.name} wrote an empty comparison table"
    failed = [r for r in rows if not r["passed"]]
    assert not failed, failed
    assert all(r["source"] for r in rows)
