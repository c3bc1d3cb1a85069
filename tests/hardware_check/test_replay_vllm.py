"""Replays through real vLLM 0.32 (marker ``vllm``): scheduler alone and full engine on CPU.

Skipped, with the reason printed, only when vLLM is not installed; set
``KVRATIO_REQUIRE_VLLM=1`` (as ``.ci/run`` does after installing it) to turn that skip into a
failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hardware_check.compare import compare
from hardware_check.mapping import plan_replay
from ratio.gen import generate
from ratio.io import load
from ratio.model import Instance

pytestmark = pytest.mark.vllm

try:
    import vllm  # noqa: F401

    HAVE_VLLM = True
except Exception as exc:  # pragma: no cover - depends on the environment
    HAVE_VLLM = False
    WHY = (
        f"vLLM not importable ({type(exc).__name__}: {exc}); run bash hardware_check/install_cpu.sh"
    )

if not HAVE_VLLM:
    if os.environ.get("KVRATIO_REQUIRE_VLLM") == "1":
        raise RuntimeError(WHY)
    pytest.skip(WHY, allow_module_level=True)

from hardware_check.engine_replay import make_llm, replay_engine  # noqa: E402
from hardware_check.scheduler_replay import replay_scheduler  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def random_traces(
    k: int, *, capacity: int, prompt: tuple[int, int], output: tuple[int, int]
) -> list[Instance]:
    return [
        generate(
            10,
            capacity=capacity,
            arrivals="poisson",
            rate=0.7,
            prompt_range=prompt,
            output_range=output,
            seed=seed,
        )
        for seed in range(k)
    ]


def check(plan: Any, run: Any, *, expect_match: bool | None = None) -> Any:
    """Compare in the default resume mode (model §7): vLLM and the model agree step for step,
    preemptions and priority stalls included (priority plans are compared with ``vllm_v1``,
    which pauses the requests the stall skips, queueing Q1)."""
    cmp = compare(plan, run)
    assert cmp.eviction == "resume"
    assert not cmp.accounting, cmp.accounting[:3]
    assert not cmp.unexplained, cmp.unexplained[:3]
    assert dict(cmp.run.completion) == cmp.mirror_run.completion
    assert cmp.verdict == "match", cmp.verdict_line()
    if plan.scheduling_policy == "priority" and plan.reference is not None:
        assert cmp.twin is not None and cmp.twin.startswith("vllm_v1")
    if expect_match is not None:
        assert (cmp.verdict == "match") == expect_match
    return cmp


# --- scheduler alone ------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["vllm_priority", "vllm_fcfs", "svf"])
def test_scheduler_replays_random_traces(policy: str) -> None:
    preempted = stalls = 0
    for inst in random_traces(20, capacity=64, prompt=(1, 24), output=(1, 16)):
        for B in (1, 4):
            plan = plan_replay(inst, policy, block_size=B)
            run = replay_scheduler(plan)
            stalls += check(plan, run).mirror_run.stalls
            preempted += run.total_preemptions
    assert preempted > 0  # the family does exercise eviction
    if policy != "vllm_fcfs":
        assert stalls > 0  # and the priority stall


@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("policy", ["vllm_priority", "svf"])
def test_scheduler_poisson40_stalls_and_matches(policy: str, B: int) -> None:
    """vLLM's priority stall (8 skipped request-steps at B = 1, 6 at B = 4) is a pause of
    ``vllm_v1`` (queueing Q1): match with 0 mismatches. Against the base twin, which cannot
    pause (``--eviction restart``), every difference is explained by the stall and resume."""
    inst = load(ROOT / "ratio" / "data" / "poisson40.json")
    plan = plan_replay(inst, policy, block_size=B)
    run = replay_scheduler(plan)
    cmp = check(plan, run, expect_match=True)
    assert cmp.mirror_run.stalls == {1: 8, 4: 6}[B] and run.total_preemptions > 0
    assert cmp.to_dict()["mismatches"] == 0 and cmp.first_mismatch is None
    assert cmp.twin == "vllm_v1"
    old = compare(plan, run, eviction="restart")
    assert old.twin == plan.reference and old.verdict == "explained" and not old.unexplained
    assert len(old.explanations) == 2


def test_scheduler_trace_with_preemptions_matches_in_resume_mode() -> None:
    inst = load(ROOT / "ratio" / "data" / "burst12.json")
    plan = plan_replay(inst, "vllm_priority", block_size=4)
    run = replay_scheduler(plan)
    cmp = check(plan, run, expect_match=True)
    assert run.total_preemptions == 3 == cmp.reference_sim.evictions
    assert cmp.first_mismatch is None
    # Under restart the model differs from step 14 on, each difference explained by vLLM
    # keeping the preempted requests' tokens.
    old = compare(plan, run, eviction="restart")
    assert old.verdict == "explained" and not old.unexplained
    assert old.first_mismatch is not None and old.first_mismatch.step == 14
    # Volume accounting survives preemption: vLLM keeps the outputs, so each request holds
    # s + j tokens in the step that samples token j + 1, exactly once per j (model §4, 9).
    figures = {name: (m, e) for name, m, e in cmp.figures}
    m, e = figures["volume, engine convention sum (V_i - o_i)"]
    assert m == e == sum(inst.volumes) - sum(r.output for r in inst.requests)


def test_scheduler_without_preemption_matches_step_for_step() -> None:
    inst = Instance.from_tuples(256, [(0, 40, 9), (0, 10, 30), (2, 70, 5), (3, 5, 50), (3, 33, 3)])
    for policy in ("vllm_priority", "vllm_fcfs", "sjf"):
        plan = plan_replay(inst, policy, block_size=32)
        cmp = check(plan, replay_scheduler(plan), expect_match=True)
        assert cmp.run.total_preemptions == 0


# --- full engine on CPU ---------------------------------------------------------------------
FULL_M = 32 * 12
FULL_B = 32


@pytest.fixture(scope="module")
def llm_priority() -> Any:
    inst = Instance.from_tuples(FULL_M, [(0, 1, 1)])
    plan = plan_replay(
        inst, "vllm_priority", block_size=FULL_B, max_model_len=FULL_M, max_num_seqs=64
    )
    return make_llm(plan)


def _full_plan(inst: Instance, policy: str) -> Any:
    return plan_replay(inst, policy, block_size=FULL_B, max_model_len=FULL_M, max_num_seqs=64)


def test_full_engine_replays_random_traces(llm_priority: Any) -> None:
    preempted = 0
    for inst in random_traces(20, capacity=FULL_M, prompt=(8, 120), output=(1, 24)):
        plan = _full_plan(inst, "vllm_priority")
        run = replay_engine(plan, llm=llm_priority)
        check(plan, run)
        # The scheduler-alone path sees the very same steps.
        alone = replay_scheduler(plan)
        assert [s.blocks for s in alone.steps] == [s.blocks for s in run.steps]
        preempted += run.total_preemptions
    assert preempted > 0


def test_full_engine_trace_with_preemptions(llm_priority: Any) -> None:
    reqs = [(0, 90, 40), (0, 100, 35), (0, 80, 45), (1, 60, 50), (2, 20, 30), (4, 110, 20)]
    inst = Instance.from_tuples(FULL_M, reqs)
    plan = _full_plan(inst, "svf")
    run = replay_engine(plan, llm=llm_priority)
    assert run.total_preemptions > 0
    check(plan, run, expect_match=True)
    assert compare(plan, run, eviction="restart").verdict == "explained"


# --- CLI -----------------------------------------------------------------------------------
def test_cli_replay_json(tmp_path: Path) -> None:
    png = tmp_path / "mem.png"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ratio.cli",
            "replay",
            str(ROOT / "ratio/data/burst12.json"),
            "--policy",
            "svf",
            "--block-size",
            "4",
            "--plot",
            str(png),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    obj = json.loads(out.stdout)
    assert obj["verdict"] == "match" and obj["mismatches"] == 0 and obj["eviction"] == "resume"
    assert obj["steps"] == 41 and obj["first_mismatch"] is None
    assert png.stat().st_size > 1000


def test_cli_bad_block_size_is_one_line_exit_2() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ratio.cli",
            "replay",
            str(ROOT / "ratio/data/burst12.json"),
            "--engine",
            "full",
            "--block-size",
            "16",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert "multiple of 32" in out.stderr and "Traceback" not in out.stderr
