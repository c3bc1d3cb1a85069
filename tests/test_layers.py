"""The repository's shape, read from its source with :mod:`ast` (issue 18, deliverables 3-4):
layers that point one way, no private imports across packages, extras that declare what the
code imports, no experiment driver under ``ratio/``, no long function without a reason.

Each check is a pure function of source text, so the tests below also feed it a planted
violation and see it fail."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ratio", "offline_opt", "adversaries", "hardware_check", "proofs")


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` in ``source`` names, at any depth
    (function-local imports count: a lazy import is still a dependency)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def upward_imports(source: str, forbidden: tuple[str, ...]) -> list[str]:
    """The imports in ``source`` of ``forbidden`` packages or their submodules."""
    return sorted(
        m
        for m in imported_modules(source)
        if any(m == f or m.startswith(f + ".") for f in forbidden)
    )


# --- the trace format is the bottom layer ----------------------------------------------------------
IO_FORBIDDEN = ("ratio.interop", "ratio.queueing")


def test_io_imports_nothing_above_it() -> None:
    source = (ROOT / "ratio" / "io.py").read_text()
    assert upward_imports(source, IO_FORBIDDEN) == []


def test_io_layer_check_catches_a_planted_import() -> None:
    source = (ROOT / "ratio" / "io.py").read_text()
    planted = source + "\n\ndef f():\n    from ratio.interop.importers import import_trace\n"
    assert upward_imports(planted, IO_FORBIDDEN) == [
        "ratio.interop.importers",
        "ratio.interop.importers.import_trace",
    ]
    assert upward_imports(source + "\nimport ratio.queueing.tau\n", IO_FORBIDDEN) == [
        "ratio.queueing.tau"
    ]


# --- experiment drivers live beside their notebooks ------------------------------------------------
def experiment_drivers(root: Path) -> list[str]:
    """Modules under ``root`` named as experiment drivers, or importing the drivers' package."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if "experiment" in path.stem or upward_imports(path.read_text(), ("proofs",)):
            out.append(rel)
    return out


def test_no_experiment_driver_under_ratio() -> None:
    assert experiment_drivers(ROOT / "ratio") == []


def test_experiment_driver_check_catches_a_planted_one(tmp_path: Path) -> None:
    pkg = tmp_path / "ratio" / "queueing"
    pkg.mkdir(parents=True)
    (pkg / "engine.py").write_text("import numpy\n")
    assert experiment_drivers(tmp_path / "ratio") == []
    (pkg / "experiments.py").write_text("import numpy\n")
    (pkg / "fluid.py").write_text("from proofs.experiments.fluid import ten_types\n")
    assert experiment_drivers(tmp_path / "ratio") == [
        "ratio/queueing/experiments.py",
        "ratio/queueing/fluid.py",
    ]
