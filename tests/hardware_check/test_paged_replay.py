"""Transformers' paged-KV engine holds, in every step, the blocks the model says (model §9).

``hardware_check.paged_replay`` drives transformers' continuous batching one step per round.
Marker ``vllm``: torch and transformers come with the ``kvratio[vllm]`` extra; skips only when
they are missing and ``KVRATIO_REQUIRE_VLLM`` is not set.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.vllm

try:
    import transformers.generation.continuous_batching  # noqa: F401
except Exception as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("KVRATIO_REQUIRE_VLLM") == "1":
        raise
    pytest.skip(
        f"transformers not importable ({exc}); run bash hardware_check/install_cpu.sh",
        allow_module_level=True,
    )

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hardware_check.paged_replay import (  # noqa: E402
    PagedStep,
    _accounting,
    main,
    replay_paged,
)
from ratio.errors import InputError  # noqa: E402
from ratio.io import load  # noqa: E402
from ratio.model import Instance, Request  # noqa: E402
from ratio.policies.hf_fifo import HFFifo  # noqa: E402
from ratio.strategies import crowded_instances  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "ratio" / "data"
TINY = Path(__file__).resolve().parents[2] / "hardware_check" / "models" / "tiny-llama"


@pytest.mark.parametrize("block_size", [1, 4])
@pytest.mark.parametrize("trace", ["burst12.json", "poisson40.json"])
def test_bundled_traces_match_block_for_block(trace: str, block_size: int) -> None:
    inst = load(DATA / trace)
    run = replay_paged(inst, block_size=block_size, source=trace)
    assert run.verdict == "match", run.mismatches[:3]
    assert run.produced == tuple(r.output for r in inst.requests)
    # the check saw every kind of step: evictions (resume), paused requests, full memory
    assert run.evictions > 0 and run.paused_request_steps > 0
    assert max(s.pool_used for s in run.steps) == inst.capacity // block_size
    busy = [s for s in run.steps if s.batch]
    assert all(s.held for s in busy)
    # some evicted request resumed: it computed its prompt and its kept tokens in one step
    assert any(q > inst.requests[i].prompt for s in busy for i, q in s.queries.items())
    # every request's blocks in its last step are the section 9 peak, ceil((s + o - 1) / B)
    for i, r in enumerate(inst.requests):
        last = run.steps[run.finish[i]]
        assert i in last.batch
        assert last.held[i] == math.ceil((r.prompt + r.output - 1) / block_size)


def test_an_engine_that_reserves_a_lookahead_token_is_a_mismatch(monkeypatch) -> None:
    """Planted bug in the engine: every allocation asks for one token more than it computes."""
    from transformers.generation.continuous_batching.cache import PagedAttentionCache

    store = PagedAttentionCache.can_store_request_tokens

    def one_more(self, state, request_len, dry_run=False):  # type: ignore[no-untyped-def]
        return store(self, state, request_len + 1, dry_run)

    monkeypatch.setattr(PagedAttentionCache, "can_store_request_tokens", one_more)
    inst = Instance(8, [Request(0, 3, 2), Request(0, 2, 3)])
    run = replay_paged(inst, block_size=1)
    assert run.verdict == "mismatch"
    first = run.mismatches[0]
    assert first["step"] == 0 and first["engine_blocks"] == first["model_blocks"] + 1


def test_an_engine_that_frees_late_is_a_mismatch(monkeypatch) -> None:
    """Planted bug: a finished request keeps its blocks one step longer."""
    from transformers.generation.continuous_batching.scheduler import Scheduler

    finish = Scheduler.finish_request
    pending: list[str] = []

    def late(self, request_id):  # type: ignore[no-untyped-def]
        while pending:
            finish(self, pending.pop())
        pending.append(request_id)
        self.active_requests.pop(request_id, None)

    monkeypatch.setattr(Scheduler, "finish_request", late)
    inst = Instance(16, [Request(0, 2, 1), Request(0, 2, 4)])
    run = replay_paged(inst, block_size=1)
    assert run.verdict == "mismatch"
    assert {k: run.mismatches[0][k] for k in ("request", "engine_blocks", "model_blocks")} == {
        "request": 0,
        "engine_blocks": 2,
        "model_blocks": 0,
    }


def test_the_accounting_check_reads_each_field() -> None:
    ok = PagedStep(3, (0,), 1, {0: 2, 1: 1}, {0: 2, 1: 1}, 3, (), 0.0)
    assert _accounting(ok, 4) == []
    assert _accounting(PagedStep(3, (0,), 1, {0: 2}, {0: 2, 1: 1}, 2, (), 0.0), 4)
    assert _accounting(PagedStep(3, (0,), 1, {0: 2, 1: 1}, {0: 2, 1: 1}, 4, (), 0.0), 4)
    assert _accounting(ok, 2)  # over capacity
    tokens = PagedStep(3, (0,), 5, {0: 2}, {0: 2}, 2, (), 0.0, {0: 5}, {0: 1})
    assert _accounting(tokens, 4) == [
        {"step": 3, "request": 0, "engine_tokens": 5, "model_tokens": 1}
    ]


def test_a_request_larger_than_the_engine_is_refused() -> None:
    with pytest.raises(InputError, match="needs 3 blocks"):
        replay_paged(Instance(10, [Request(0, 6, 4)]), block_size=4)


def test_cli_json_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([str(DATA / "burst12.json"), "--block-size", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["mismatched_traces"] == 0
    (res,) = out["results"]
    assert res["format"] == "kvratio-paged-replay/1" and res["verdict"] == "match"
    assert res["n"] == 12 and res["block_size"] == 2 and res["blocks"] == 20
    assert set(res["step_fit"]) >= {"n", "c0", "c1"}
    assert main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_every_hall_of_fame_trace_matches() -> None:
    from hardware_check.paged_replay import _hall_of_fame_traces, load_model, too_large

    traces = _hall_of_fame_traces()
    assert len(traces) >= 20
    model = load_model(TINY, "cpu", "float32", 0)
    runs = [
        replay_paged(inst, block_size=1, source=name, torch_model=model)
        for name, inst in traces
        if not too_large(inst, 1)
    ]
    assert len(runs) == len(traces)
    assert [r.source for r in runs if r.verdict != "match"] == []
    assert sum(r.evictions for r in runs) > 0 and sum(r.paused_request_steps for r in runs) > 0


def test_kvratio_replay_engine_paged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ratio.cli import main as kvratio

    png = tmp_path / "m.png"
    rc = kvratio(
        ["replay", str(DATA / "burst12.json"), "--engine", "paged", "--plot", str(png), "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["verdict"] == "match" and out["block_size"] == 4
    assert png.stat().st_size > 10_000
    rc = kvratio(
        ["replay", str(DATA / "burst12.json"), "--engine", "paged", "--eviction", "restart"]
    )
    assert rc == 2 and "only --eviction resume" in capsys.readouterr().err


@pytest.mark.slow
def test_gpu_check_script_runs_on_cpu(tmp_path: Path) -> None:
    from hardware_check.paged_gpu_check import main as check

    args = ["--device", "cpu", "--model", str(TINY), "--dtype", "float32", "--n", "12"]
    rc = check([*args, "--capacity", "2048", "--hof-block-sizes", "1", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "paged_check.json").read_text())
    assert rc == 0 and res["status"] == "ok", res.get("error")
    assert res["hall_of_fame_mismatched"] == 0 and len(res["hall_of_fame"]) >= 20
    assert res["timing"]["verdict"] == "match" and res["timing"]["busy"]
    assert res["timing"]["decode_seconds_by_batch"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=crowded_instances(), block_size=st.sampled_from([1, 2, 4]))
def test_the_twin_is_the_engine_on_crowded_traces(inst: Instance, block_size: int) -> None:
    """hf_fifo (ratio/policies/hf_fifo.py) computes what the engine computes, step for step."""
    from hardware_check.paged_replay import load_model, too_large

    assume(not too_large(inst, block_size))
    global _MODEL
    if _MODEL is None:
        _MODEL = load_model(TINY, "cpu", "float32", 0)
    run = replay_paged(inst, block_size=block_size, torch_model=_MODEL)
    assert run.verdict == "match", (run.mismatches or run.schedule_mismatches)[:2]
    assert run.twin_evictions == run.evictions
    assert run.twin_paused == run.paused_request_steps


_MODEL = None


class _HeadOfLine(HFFifo):
    def _schedule(self, state, engine, free, gone):  # type: ignore[no-untyped-def]
        served, starved, free = super()._schedule(state, engine, free, gone)
        waiting = [i for i in self._queue]
        admitted = [i for i in served if i in waiting]
        # keep only the admissions before the first waiting request that was skipped
        kept = []
        for i in waiting:
            if i not in admitted:
                break
            kept.append(i)
        for i in admitted[len(kept) :]:
            v = state.view(i)
            free += state.held_after(i, v.prompt, False)
        return [i for i in served if i not in admitted or i in kept], starved, free


class _OldestStarved(HFFifo):
    def _offload(self, state, engine, starved, free, active):  # type: ignore[no-untyped-def]
        return super()._offload(state, engine, starved[::-1], free, active)


class _NeverBlocks(HFFifo):
    def _offload(self, state, engine, starved, free, active):  # type: ignore[no-untyped-def]
        out = super()._offload(state, engine, starved, free, active)
        self._blocked = False
        return out


@pytest.mark.parametrize("variant", [_HeadOfLine, _OldestStarved, _NeverBlocks])
def test_a_wrong_twin_is_a_mismatch(variant: type, monkeypatch: pytest.MonkeyPatch) -> None:
    from ratio.policies import REGISTRY

    monkeypatch.setitem(REGISTRY, "hf_fifo", variant)
    run = replay_paged(load(DATA / "poisson40.json"), block_size=1)
    assert run.mismatches == ()  # the engine's accounting is untouched
    assert run.schedule_mismatches and run.verdict == "mismatch"
