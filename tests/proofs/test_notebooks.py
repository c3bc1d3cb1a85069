"""Execute every notebook in ``proofs/notebooks/`` headless in quick mode (issues 7, 8, 9; one
file since issue 18, which merged the three that split the folder by filename glob).

Each notebook is a jupytext percent-format ``.py`` file; it is converted, run by nbclient with
``KVRATIO_QUICK=1`` and ``KVRATIO_FIGURES`` set to a scratch folder (:mod:`tests.notebook_runner`)
and must finish in under 3 minutes, write its figure, leave the tracked figure alone and end with
a comparison table whose rows all pass (:mod:`proofs.compare`, issue 16). The notebooks assert
the claims they show, so a run that finishes is a run whose claims held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebook_runner import NB_DIR, run_quick

NOTEBOOKS = sorted(p for p in NB_DIR.glob("*.py") if not p.name.startswith("_"))
#: notebook -> the figure it writes (its comparison table shares the figure's stem)
FIGURE = {
    # the theorems (issue 7)
    "svf_ratio_vs_alpha": "proofs_svf_ratio_vs_alpha.png",
    "poisson_bound_vs_rho": "proofs_poisson_bound_vs_rho.png",
    "onebit_vs_svf_theta": "proofs_onebit_vs_svf_theta.png",
    "policies_vs_svf": "proofs_policies_vs_svf.png",
    "online_growth": "proofs_online_growth.png",
    "vllm_accounting": "proofs_vllm_accounting.png",
    # stability (issue 8, proofs.experiments.stability)
    "stability_reproductions": "stability_reproductions.png",
    "stability_agent_jobs": "stability_agent_jobs.png",
    "stability_rybko_stolyar": "stability_rybko_stolyar.png",
    # fluid-guided control (issue 9, proofs.experiments.fluid)
    "fluid_eviction_cycle": "fluid_eviction_cycle.png",
    "fluid_stable_range": "fluid_stable_range.png",
    "fluid_gate_and_route": "fluid_gate_and_route.png",
    "fluid_latency": "fluid_latency.png",
    "fluid_safety_margin": "fluid_safety_margin.png",
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
