""".ci/run cannot pass by skipping (issue 16): each step is checked on its own, so a failed
install or a skipped vLLM test fails the run even when every later step passes.

The script is run in a scratch copy of the repository layout with fake ``pip`` and ``python``
on ``PATH`` (no install, no tests): only the script's control flow is under test.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fake(bin_dir: Path, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)


def _run_ci(tmp_path: Path, *, pip_rc: int, vllm_skips: bool) -> subprocess.CompletedProcess[str]:
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to run .ci/run")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "hardware_check").mkdir()
    (tmp_path / "hardware_check" / "install_cpu.sh").write_text("exit 0\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "pip", f"exit {pip_rc}")
    skipped = (
        'echo "SKIPPED [1] tests/interop/test_vllm_plugin.py:195: no vllm"' if vllm_skips else ""
    )
    _fake(bin_dir, "python", f'case "$*" in *"-m vllm"*) {skipped or "true"};; esac\nexit 0')
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60
    )


def test_ci_passes_when_every_step_passes(tmp_path: Path) -> None:
    r = _run_ci(tmp_path, pip_rc=0, vllm_skips=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all steps passed" in r.stdout


def test_ci_fails_on_install_failure(tmp_path: Path) -> None:
    r = _run_ci(tmp_path, pip_rc=3, vllm_skips=False)
    assert r.returncode == 1
    assert "FAILED steps: 1a install" in r.stdout
    assert "1c default tests: ok" in r.stdout  # the tests still ran, and could not rescue it


def test_ci_fails_on_a_skipped_vllm_test(tmp_path: Path) -> None:
    r = _run_ci(tmp_path, pip_rc=0, vllm_skips=True)
    assert r.returncode == 1
    assert "FAILED steps: 3 no skipped vLLM test" in r.stdout


def test_ci_keeps_the_readme_command() -> None:
    """Step 1 calls exactly the README's command sequence, as three checked steps."""
    readme = (ROOT / "README.md").read_text()
    assert (
        'pip install -e ".[all]" && bash hardware_check/install_cpu.sh && python -m pytest'
        in readme
    )
    text = (ROOT / ".ci" / "run").read_text()
    steps = [
        'step "1a install" pip install -e ".[all]"',
        'step "1b install vLLM (CPU)" bash hardware_check/install_cpu.sh',
        'step "1c default tests" python -m pytest\n',
    ]
    pos = [text.index(s) for s in steps]
    assert pos == sorted(pos)
    assert "KVRATIO_REQUIRE_VLLM=1" in text and "python -m proofs.docs --check" in text
