"""Run one jupytext notebook headless in quick mode, the way every notebook test does.

The notebook (a percent-format ``.py`` file) is converted and executed by nbclient with
``KVRATIO_QUICK=1`` and ``KVRATIO_FIGURES`` pointing at a scratch folder (the tracked figures
in ``docs/figures`` come from full runs); it must finish within 3 minutes, write its figure
there and leave the tracked figure alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "proofs" / "notebooks"


def run_quick(path: Path, figure: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Execute ``path`` in quick mode; returns the figure it wrote under ``tmp_path``."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("KVRATIO_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("KVRATIO_FIGURES", str(tmp_path))
    fig = tmp_path / figure
    tracked = ROOT / "docs" / "figures" / figure
    tracked_before = tracked.stat().st_mtime_ns if tracked.exists() else None
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute(env=dict(os.environ))
    assert fig.exists() and fig.stat().st_size > 0, f"{path.name} wrote no {figure}"
    assert (tracked.stat().st_mtime_ns if tracked.exists() else None) == tracked_before, (
        f"{path.name} rewrote the tracked {figure}"
    )
    return fig
