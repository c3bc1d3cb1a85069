"""Length-information noise models (issue 10 item 5, docs/model.md section 5): what each level
shows, the error distributions, and non-anticipation with noise attached."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratio.check import check
from ratio.cli import main
from ratio.errors import InputError
from ratio.interop.noise import (
    IntervalNoise,
    LogNormalNoise,
    OneBitNoise,
    attach_info,
    parse_info,
)
from ratio.io import dump
from ratio.model import Instance, Request
from ratio.policies import Policy, RequestView
from ratio.simulator import simulate
from ratio.strategies import instances
from ratio.testing import decisions_until


def big(n: int = 4000, seed: int = 3) -> Instance:
    rng = np.random.default_rng(seed)
    outs = rng.integers(1, 400, size=n)
    return Instance.from_tuples(1000, [(0, 5, int(o)) for o in outs])


def test_lognormal_error_distribution() -> None:
    inst = big()
    assert LogNormalNoise(0.0).attach(inst).predictions == tuple(r.output for r in inst.requests)
    pred = LogNormalNoise(0.5, seed=7).attach(inst).predictions
    assert pred is not None
    o = np.array([r.output for r in inst.requests], dtype=float)
    keep = o >= 50  # rounding to integers blurs the ratio of short outputs
    logr = np.log(np.array(pred, dtype=float)[keep] / o[keep])
    assert abs(logr.mean()) < 0.03
    assert abs(logr.std() - 0.5) < 0.03
    assert LogNormalNoise(0.5, seed=7).attach(inst).predictions == pred  # seeded
    assert LogNormalNoise(0.5, seed=8).attach(inst).predictions != pred


@pytest.mark.parametrize("point", ["upper", "lower", "mid"])
def test_interval_contains_truth(point: str) -> None:
    inst = big(1000)
    out = IntervalNoise(1.0, point=point, seed=1).attach(inst)
    assert out.intervals is not None and out.predictions is not None
    for r, (lo, hi), p in zip(inst.requests, out.intervals, out.predictions, strict=True):
        assert 1 <= lo <= r.output <= hi
        assert hi <= math.ceil(2.0 * (lo + 1))  # u / l ~= 1 + width = 2 (up to rounding)
        assert p == {"upper": hi, "lower": lo}.get(point, p)
        assert lo <= p <= hi
    exact = IntervalNoise(0.0).attach(inst)
    assert exact.intervals == tuple((r.output, r.output) for r in inst.requests)


def test_one_bit_misclassification_rate() -> None:
    inst = big()
    truth = tuple(r.output > 64 for r in inst.requests)
    assert OneBitNoise(0.0, 64).attach(inst).classes == truth
    assert OneBitNoise(1.0, 64).attach(inst).classes == tuple(not b for b in truth)
    noisy = OneBitNoise(0.2, 64, seed=5).attach(inst)
    assert noisy.classes is not None and noisy.class_theta == 64
    wrong = sum(a != b for a, b in zip(noisy.classes, truth, strict=True)) / inst.n
    assert abs(wrong - 0.2) < 0.02


class Recorder(Policy):
    """Records every view it is shown; admits in arrival order."""

    name = "recorder"
    PARAMS: ClassVar[dict[str, Any]] = {"level": "full", "theta": 8}

    def validate(self) -> None:
        self.info = self.params["level"]
        self.theta = self.params["theta"]
        self.seen: list[RequestView] = []
        if self.info != "full":
            self.admission = "reactive"

    def key(self, view: RequestView) -> tuple[Any, ...]:
        self.seen.append(view)
        return (view.arrival,)


def test_views_show_only_the_level() -> None:
    inst = Instance.from_tuples(100, [(0, 3, 20), (1, 4, 2), (2, 5, 9)])
    rec = Recorder(level="predicted")
    simulate(IntervalNoise(1.0, seed=2).attach(inst), rec)
    noisy = IntervalNoise(1.0, seed=2).attach(inst)
    for v in rec.seen:
        assert v.output is None and v.long is None
        assert v.interval == noisy.intervals[v.index]  # type: ignore[index]
        assert v.predicted == noisy.predictions[v.index]  # type: ignore[index]
    rec = Recorder(level="one_bit", theta=8)
    flipped = OneBitNoise(1.0, 8).attach(inst)
    simulate(flipped, rec)
    for v in rec.seen:
        assert v.output is None and v.predicted is None and v.interval is None
        assert v.long == (inst.requests[v.index].output <= 8)  # the classifier's bit, not o > theta
    with pytest.raises(InputError, match="theta = 8"):
        simulate(flipped, Recorder(level="one_bit", theta=9))
    rec = Recorder(level="none")
    simulate(LogNormalNoise(0.5).attach(inst), rec)
    assert all(v.output is None and v.predicted is None and v.long is None for v in rec.seen)


NOISY = [
    ("predicted:sigma=0.7,seed=3", "mcsf:predicted=true"),
    ("interval:width=1.5,seed=4", "mcsf:predicted=true"),
    ("interval:width=1.5,point=lower,seed=4", "mcsf:predicted=true"),
    ("one_bit:flip=0.3,seed=5", "svf_1bit:theta=6"),
]


@pytest.mark.parametrize(("info", "policy"), NOISY)
@given(
    inst=instances(n=(2, 9), regime="online", capacity=(20, 60), max_arrival=10),
    data=st.data(),
)
def test_non_anticipation_with_noise(info: str, policy: str, inst: Instance, data: Any) -> None:
    """Changing requests that arrive after t changes neither the earlier requests' noisy
    information nor any decision made by round t (docs/model.md section 5)."""
    t = data.draw(st.integers(0, 10))
    late = [i for i, r in enumerate(inst.requests) if r.arrival > t]
    changed = list(inst.requests)
    for i in late:
        r = inst.requests[i]
        s = data.draw(st.integers(1, inst.capacity - 1))
        o = data.draw(st.integers(1, inst.capacity - s))
        changed[i] = Request(r.arrival, s, o, r.id)
    extra = data.draw(st.integers(0, 2))  # and a few more late requests
    changed += [Request(t + 1 + k, 1, 1, f"x{k}") for k in range(extra)]
    other = Instance(inst.capacity, tuple(changed))
    a_inst, _ = attach_info(inst, info, policy)
    b_inst, _ = attach_info(other, info, policy)
    early = [i for i, r in enumerate(inst.requests) if r.arrival <= t]
    for field in ("predictions", "intervals", "classes"):
        fa, fb = getattr(a_inst, field), getattr(b_inst, field)
        if fa is not None:
            assert [fa[i] for i in early] == [fb[i] for i in early]
    a, b = simulate(a_inst, policy), simulate(b_inst, policy)
    assert check(a_inst, a.schedule)
    assert decisions_until(a, t) == decisions_until(b, t)


def test_attach_info_errors() -> None:
    inst = Instance.from_tuples(40, [(0, 3, 5)])
    with pytest.raises(InputError, match="works at the 'full' level"):
        attach_info(inst, "predicted:sigma=0.5", "svf")
    with pytest.raises(InputError, match="needs sigma"):
        parse_info("predicted")
    with pytest.raises(InputError, match="unknown level"):
        parse_info("psychic:sigma=1")
    with pytest.raises(InputError, match="needs theta"):
        parse_info("one_bit:flip=0.1")
    with pytest.raises(InputError, match=r"flip must be in \[0.0, 1.0\]"):
        parse_info("one_bit:flip=2,theta=3")
    assert attach_info(inst, "full", "svf") == (inst, "full")
    one, spec = attach_info(inst, "one_bit:flip=0", "svf_1bit:theta=4")
    assert spec == "one_bit:flip=0,theta=4,seed=0" and one.classes == (True,)


def test_cli_simulate_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = dump(big(30), tmp_path / "t.json")
    rc = main(
        [
            "simulate",
            str(trace),
            "--policy",
            "mcsf:predicted=true",
            "--info",
            "predicted:sigma=0.5,seed=1",
            "--json",
        ]
    )
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["info"] == "predicted:sigma=0.5,mu=0,seed=1"
    inst, _ = attach_info(big(30), "predicted:sigma=0.5,seed=1", "mcsf:predicted=true")
    assert obj["total_latency"] == simulate(inst, "mcsf:predicted=true").total_latency
    assert main(["simulate", str(trace), "--policy", "svf", "--info", "predicted:sigma=1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
