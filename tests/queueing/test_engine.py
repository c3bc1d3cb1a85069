"""Engine rules, batch-time models, jobs, work conservation and the CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratio.cli import main
from ratio.errors import InputError
from ratio.queueing import (
    EngineSpec,
    EngineState,
    QRequest,
    Work,
    get_engine_policy,
    is_work_conserving,
    parse_tau,
    run_engine,
)
from ratio.queueing.jobs import jobs_from_dict, load_jobs


def test_tau_models() -> None:
    st_ = parse_tau("staircase:c=11.28,a=35.47,b0=128")
    assert st_(128) == Fraction(4675, 100) and st_(129) == Fraction(8222, 100)
    assert st_.spec == "staircase:c=11.28,a=35.47,b0=128"
    af = parse_tau("affine:c0=1,c_prefill=0.5,c_decode=2")
    assert af.duration(4, 3) == 9
    ms = parse_tau("mixed_solo:alpha=2,beta=1/4,gamma=4")
    assert ms.duration(8, 5) == 4 and ms.duration(0, 5) == Fraction(1, 4)
    assert parse_tau("unit").duration(100, 100) == 1
    for bad in (
        "nope",
        "staircase:c=1",
        "staircase:c=1,a=1,b0=0",
        "affine:c0=x,c_prefill=1,c_decode=1",
        "unit:x=1",
    ):
        with pytest.raises(InputError):
            parse_tau(bad)


def test_chunked_prefill_first_token_conventions() -> None:
    reqs = [QRequest(0, 10, 3)]
    pol = get_engine_policy("sarathi")
    a = run_engine(reqs, pol, engines=[EngineSpec(token_budget=4)], first_token="separate")
    # 10 prompt tokens in chunks of 4, 4, 2, then 3 decode rounds.
    assert a.completions == (6,)
    b = run_engine(
        reqs,
        get_engine_policy("sarathi"),
        engines=[EngineSpec(token_budget=4)],
        first_token="with_prefill",
    )
    assert b.completions == (5,)
    c = run_engine(
        reqs,
        get_engine_policy("sarathi"),
        engines=[EngineSpec(token_budget=10)],
        prefill="whole",
        first_token="with_prefill",
    )
    assert c.completions == (3,)


def test_eviction_wasted_tokens_and_memory() -> None:
    # Two requests admitted together outgrow M = 9; vllm-like victim: the most recent.
    reqs = [QRequest(0, 3, 4), QRequest(0, 3, 4)]
    res = run_engine(
        reqs,
        get_engine_policy("sarathi"),
        engines=[EngineSpec(capacity=9)],
        prefill="whole",
        first_token="with_prefill",
    )
    assert res.evictions >= 1
    assert res.wasted_tokens == sum(3 + r.rounds for r in res.evicted)
    assert max(m for _, _, m in res.memory_rounds) <= 9
    assert res.complete


def test_dependencies_and_time() -> None:
    reqs = [QRequest(0, 2, 2, "a", "j", ()), QRequest(0, 2, 2, "b", "j", (0,))]
    res = run_engine(
        reqs,
        get_engine_policy("sarathi"),
        engines=[EngineSpec(tau=parse_tau("affine:c0=1,c_prefill=1,c_decode=1"))],
    )
    # a: prefill round (3) + 2 decode rounds (2 each) -> done at 7; b starts then.
    assert res.completion_times[0] == 7 and res.start_times[1] == 7
    assert res.job_latencies() == {"j": 14}


def test_bad_plans_are_clear_errors() -> None:
    from ratio.policies.extended import EnginePolicy

    class Greedy(EnginePolicy):
        name = "greedy_test"

        def plan(self, state: EngineState) -> list[Work]:
            return [Work(v.index, 0, v.prompt) for v in state.waiting()]

    with pytest.raises(InputError, match="token budget"):
        run_engine(
            [QRequest(0, 5, 1), QRequest(0, 5, 1)], Greedy(), engines=[EngineSpec(token_budget=6)]
        )
    with pytest.raises(InputError, match="capacity"):
        run_engine(
            [QRequest(0, 5, 1), QRequest(0, 5, 1)], Greedy(), engines=[EngineSpec(capacity=8)]
        )


def _trace(reqs: list[dict[str, object]]) -> dict[str, object]:
    return {"format": "kvratio-trace/1", "M": 100, "requests": reqs}


def test_jobs_loader_and_cycles(tmp_path: Path) -> None:
    ok = _trace(
        [
            {"id": "a", "arrival": 0, "prompt": 2, "output": 2, "job": "j"},
            {"id": "b", "arrival": 0, "prompt": 2, "output": 2, "job": "j", "after": ["a"]},
            {"id": "c", "arrival": 1, "prompt": 2, "output": 2},
        ]
    )
    p = tmp_path / "t.json"
    p.write_text(json.dumps(ok))
    jt = load_jobs(p)
    assert jt.requests[1].after == (0,) and jt.requests[2].job is None
    assert list(jt.graphs["j"].edges) == [(0, 1)]
    cyc = _trace(
        [
            {"id": "a", "arrival": 0, "prompt": 2, "output": 2, "job": "j", "after": ["b"]},
            {"id": "b", "arrival": 0, "prompt": 2, "output": 2, "job": "j", "after": ["a"]},
        ]
    )
    with pytest.raises(InputError, match="cycle: a -> b -> a|cycle: b -> a -> b"):
        jobs_from_dict(cyc)
    with pytest.raises(InputError, match="unknown request"):
        jobs_from_dict(
            _trace(
                [{"id": "a", "arrival": 0, "prompt": 1, "output": 1, "job": "j", "after": ["zz"]}]
            )
        )
    # The foundation's reader still accepts the extended file (extend, do not break).
    from ratio.io import load

    assert load(p).n == 3


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reqs=st.lists(
        st.tuples(st.integers(0, 6), st.integers(1, 9), st.integers(1, 6)), min_size=1, max_size=7
    ),
    policy=st.sampled_from(["sarathi", "orca"]),
    budget=st.integers(1, 12),
    cap=st.one_of(st.none(), st.integers(1, 4)),
    first=st.sampled_from(["separate", "with_prefill"]),
)
def test_sarathi_and_orca_are_work_conserving(
    reqs: list[tuple[int, int, int]], policy: str, budget: int, cap: int | None, first: str
) -> None:
    seen: list[bool] = []
    res = run_engine(
        [QRequest(a, s, o) for a, s, o in reqs],
        get_engine_policy(policy),
        engines=[EngineSpec(None, budget, cap)],
        first_token=first,
        on_batch=lambda state, batch: seen.append(is_work_conserving(state, batch)),
    )
    assert res.complete and all(seen)


def test_fastertransformer_is_not_work_conserving() -> None:
    seen: list[bool] = []
    run_engine(
        [QRequest(0, 1, 3), QRequest(1, 1, 1)],
        get_engine_policy("fastertransformer"),
        engines=[EngineSpec(token_budget=4)],
        on_batch=lambda state, batch: seen.append(is_work_conserving(state, batch)),
    )
    assert not all(seen)


def test_cli_stability_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "stability",
            "--policy",
            "sarathi",
            "--prompt",
            "10",
            "--output",
            "10",
            "--loads",
            "0.5,1.5",
            "--token-budget",
            "32",
            "--horizon",
            "3000",
            "--seed",
            "1",
            "--json",
        ]
    )
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["boundary"] == pytest.approx(32 / 20)
    assert "b_max" in obj["boundary_formula"]
    assert [r["verdict"] for r in obj["results"]] == ["stable", "unstable"]
    for r in obj["results"]:
        assert set(r) >= {"rate", "load", "slope", "slope_se", "verdict", "throughput", "evictions"}


@pytest.mark.parametrize(
    "argv",
    [
        [
            "--policy",
            "nope",
            "--prompt",
            "1",
            "--output",
            "1",
            "--loads",
            "1",
            "--token-budget",
            "2",
        ],
        ["--policy", "sarathi", "--prompt", "1", "--output", "1", "--loads", "1"],
        [
            "--policy",
            "sarathi",
            "--prompt",
            "1",
            "--output",
            "1",
            "--loads",
            "1",
            "--token-budget",
            "2",
            "--tau",
            "staircase:c=1",
        ],
        [
            "--policy",
            "sarathi:token_budget=0",
            "--prompt",
            "1",
            "--output",
            "1",
            "--loads",
            "1",
            "--token-budget",
            "2",
        ],
        ["--policy", "sarathi", "--prompt", "1", "--output", "1", "--token-budget", "2"],
    ],
)
def test_cli_bad_input_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stability", *argv, "--horizon", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_a_paused_run_is_not_read_as_a_base_model_schedule() -> None:
    """vLLM's priority stall (``vllm_v1``) pauses running requests; on this trace a paused run
    is evicted later. Such a run is no base-model schedule (``uninterrupted`` is False), so its
    costs come from the engine's own records, and the schedule the checker would read is not
    offered as one (read as uninterrupted runs it overflows M)."""
    from ratio.check import check
    from ratio.model import Instance
    from ratio.queueing import simulate_extended

    inst = Instance.from_tuples(
        30,
        [(0, 8, 11), (1, 6, 1), (3, 6, 6), (4, 8, 10), (7, 5, 2), (7, 7, 10), (8, 7, 2),
         (9, 2, 6), (9, 1, 10), (9, 3, 4), (10, 3, 5), (11, 7, 4)],
    )  # fmt: skip
    res = simulate_extended(inst, "vllm_v1", convention="engine", eviction="restart")
    assert res.complete and res.evictions > 0
    assert res.evicted_paused and not res.uninterrupted
    assert not check(inst, res.schedule, convention="engine")
    assert max(m for _, _, m in res.memory_rounds) <= 30
