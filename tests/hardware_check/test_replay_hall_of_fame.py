"""Every hall-of-fame trace replays through vLLM's scheduler with no unexplained difference
(issue 4, item 6). Marker ``vllm``; skips only when vLLM is not installed and
``KVRATIO_REQUIRE_VLLM`` is not set."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.vllm

try:
    import vllm  # noqa: F401
except Exception as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("KVRATIO_REQUIRE_VLLM") == "1":
        raise
    pytest.skip(
        f"vLLM not importable ({exc}); run bash hardware_check/install_cpu.sh",
        allow_module_level=True,
    )

from adversaries.store import read_hof  # noqa: E402
from hardware_check.hall_of_fame import HOF, replay_hall_of_fame, replayable  # noqa: E402


def test_hall_of_fame_replays_without_unexplained_differences() -> None:
    rows = replay_hall_of_fame(HOF)
    distinct = {
        json.dumps([e["policy"], e["trace"]], sort_keys=True)
        for e in read_hof(HOF)
        if replayable(e)
    }
    assert len(rows) == len(distinct) >= 20
    for r in rows:
        assert r["accounting_mismatches"] == 0, r
        assert r["unexplained"] == 0, r
        # In resume mode (model §7, vLLM's rule) vLLM and the model agree step for step,
        # preemptions included, and so do priority stalls (vllm_v1 pauses, queueing Q1).
        assert r["verdict"] == "match" and r["mismatches"] == 0, r
    assert any(r["preemptions"] > 0 for r in rows)
    assert any(r["stalls"] > 0 for r in rows)
