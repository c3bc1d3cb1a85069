"""``eviction=resume`` (model §7): the schedule type, the checker, the costs and the simulator.

A request evicted after producing ``j`` tokens keeps them and is readmitted as if its prompt
were ``s + j`` with ``o - j`` tokens left; its latency still counts from its arrival.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from ratio import Instance, Run, Schedule, check, memory_trace, simulate
from ratio.costs import compute_costs, memory_stats, run_volume, wasted_tokens
from ratio.errors import InputError
from ratio.strategies import instances
from tests.ratio import reference

# Request 0 = (a, s, o) = (0, 2, 5): a run of 2 rounds from round 0 (holding 3, 4 tokens), then
# evicted; under resume its final run from round 4 has prompt 4 and 3 rounds (5, 6, 7 tokens).
ONE = Instance.from_tuples(10, [(0, 2, 5)])
RESUMED = Schedule((4,), (Run(0, 0, 2),), "resume")


def test_resume_schedule_completion_latency_and_memory_by_hand() -> None:
    assert RESUMED.completions(ONE) == (7,)
    assert RESUMED.total_latency(ONE) == 7
    assert check(ONE, RESUMED)
    assert list(memory_trace(ONE, RESUMED)) == [3, 4, 0, 0, 5, 6, 7]
    # Engine convention, blocks of 4: tokens 2, 3 | 4, 5, 6 round up to 4, 4 | 4, 8, 8.
    assert list(memory_trace(ONE, RESUMED, convention="engine", block_size=4)) == [
        4,
        4,
        0,
        0,
        4,
        8,
        8,
    ]
    # The same starts under restart: the final run is o = 5 rounds of prompt 2.
    restart = Schedule((4,), (Run(0, 0, 2),))
    assert restart.completions(ONE) == (9,)
    assert list(memory_trace(ONE, restart)) == [3, 4, 0, 0, 3, 4, 5, 6, 7]


def test_resume_costs_by_hand() -> None:
    c = compute_costs(ONE, RESUMED)
    assert (c.total_latency, c.makespan, c.evictions, c.peak_memory) == (7, 7, 1, 7)
    # The evicted run threw away its prompt and its 2 tokens, recomputed on readmission.
    assert c.wasted_tokens == wasted_tokens(ONE, RESUMED) == 2 + 2
    # Area of the runs: 3 + 4 + 5 + 6 + 7 = 25 = V(2, 5): nothing but the recompute is lost.
    assert c.volume == run_volume(ONE, RESUMED) == 25 == ONE.requests[0].volume
    assert memory_stats(ONE, RESUMED) == (7, 25)
    # Two evictions: the second run's prompt includes the first run's tokens (2 + 2 + 1).
    two = Schedule((5,), (Run(0, 0, 2), Run(0, 3, 1)), "resume")
    assert check(ONE, two)
    assert list(memory_trace(ONE, two)) == [3, 4, 0, 5, 0, 6, 7]
    assert wasted_tokens(ONE, two) == (2 + 2) + (4 + 1)
    assert two.completions(ONE) == (7,)


def test_checker_rejects_bad_resume_schedules() -> None:
    # The evicted runs together produce o = 5 tokens: nothing is left for the final run.
    too_long = Schedule((7,), (Run(0, 0, 2), Run(0, 3, 3)), "resume")
    assert "tokens produced" in check(ONE, too_long).reason
    # Under restart each run is shorter than o, so the same runs are fine there.
    assert check(ONE, Schedule((7,), (Run(0, 0, 2), Run(0, 3, 3))))
    # The final run overlaps the evicted one, or comes before it.
    assert not check(ONE, Schedule((1,), (Run(0, 0, 2),), "resume"))
    assert not check(ONE, Schedule((0,), (Run(0, 5, 2),), "resume"))


def test_checker_counts_the_grown_prompt() -> None:
    """Request 1 = (4, 1, 1) at round 6 meets request 0's resumed run at 7 tokens: 9 > M = 8.
    Reading the resumed run's prompt as s instead of s + j would see 5 + 2 = 7 and accept."""
    inst = Instance.from_tuples(8, [(0, 2, 5), (4, 1, 1)])
    res = check(inst, Schedule((4, 6), (Run(0, 0, 2),), "resume"))
    assert not res and res.round == 6 and res.memory == 9
    assert check(inst, Schedule((4, 7), (Run(0, 0, 2),), "resume"))
    # Restart: request 0's final run holds 3..7 in rounds 4..8; round 6 holds 5 + 2.
    assert check(inst, Schedule((4, 6), (Run(0, 0, 2),)))


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InputError, match="eviction"):
        Schedule((0,), (), "keep")
    with pytest.raises(InputError, match="eviction"):
        simulate(ONE, "vllm_fcfs", eviction="keep")


EVICTING = ["vllm_fcfs", "vllm_priority", "vllm_priority:priority=output", "svf_1bit:theta=4"]


@pytest.mark.parametrize("policy", EVICTING)
@given(inst=instances(n=(1, 7), regime="online", capacity=(2, 30)))
def test_simulated_resume_runs_pass_the_checker(policy: str, inst: Instance) -> None:
    res = simulate(inst, policy, eviction="resume")
    assert res.eviction == "resume"
    assert check(inst, res.schedule), check(inst, res.schedule).reason
    # Every request's runs cover exactly o_i rounds, and their area is V_i.
    kept: dict[int, int] = {}
    for r in res.schedule.evicted:
        kept[r.request] = kept.get(r.request, 0) + r.rounds
    for i, r in enumerate(inst.requests):
        assert res.completions[i] - res.starts[i] + kept.get(i, 0) == r.output
    assert res.costs.volume == sum(inst.volumes)
    assert int(res.memory.sum()) == sum(inst.volumes)
    engine = simulate(inst, policy, eviction="resume", convention="engine", block_size=2)
    assert check(inst, engine.schedule, convention="engine", block_size=2)


@pytest.mark.parametrize(
    "policy, victim", [("vllm_fcfs", "latest_admitted"), ("vllm_priority", "largest_key")]
)
@given(inst=instances(n=(1, 7), regime="online", capacity=(2, 30)))
def test_resume_matches_reference(policy: str, victim: str, inst: Instance) -> None:
    from ratio import volume

    def key(i: int) -> int:
        r = inst.requests[i]
        return r.arrival if policy == "vllm_fcfs" else volume(r.prompt, r.output)

    ref = reference.reactive(inst, key, victim=victim, eviction="resume")
    res = simulate(inst, policy, eviction="resume")
    assert res.starts == ref.starts
    assert sorted((r.request, r.start, r.rounds) for r in res.schedule.evicted) == sorted(
        (r.request, r.start, r.rounds) for r in ref.evicted
    )
    assert check(inst, ref)


def test_resume_is_a_different_run_on_a_known_instance() -> None:
    """vLLM FCFS evicts the latest admitted; under resume it comes back with its tokens and
    finishes sooner than under restart."""
    inst = Instance.from_tuples(12, [(0, 4, 6), (0, 3, 4)])
    restart = simulate(inst, "vllm_fcfs")
    resume = simulate(inst, "vllm_fcfs", eviction="resume")
    assert restart.evictions >= 1 and resume.evictions >= 1
    assert resume.total_latency < restart.total_latency
    assert check(inst, resume.schedule)
    # r1 (s=3, o=4) is evicted after 2 tokens and resumes at 6 with 2 left: done at 8, where
    # the same runs read under restart would end at 10.
    assert resume.schedule == Schedule((0, 6), (Run(1, 0, 2),), "resume")
    assert resume.completions == (6, 8)
    assert Schedule(resume.starts, resume.schedule.evicted).completions(inst) == (6, 10)


def test_cli_simulate_eviction(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from ratio.cli import main

    trace = str(Path(__file__).resolve().parents[2] / "ratio" / "data" / "burst12.json")
    got = {}
    for mode in ("restart", "resume"):
        assert main(["simulate", trace, "--policy", "vllm_fcfs", "--eviction", mode, "--json"]) == 0
        got[mode] = json.loads(capsys.readouterr().out)
        assert got[mode]["eviction"] == mode
    # Measured: vLLM FCFS on burst12, 342 rounds under restart, 300 under resume.
    assert (got["restart"]["total_latency"], got["resume"]["total_latency"]) == (342, 300)
    assert main(["simulate", trace, "--eviction", "keep"]) == 2
    assert "invalid choice" in capsys.readouterr().err
