"""Data types, validation and trace files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given

from ratio import InputError, Instance, Request, Schedule, volume
from ratio.interop.importers import import_azure_csv
from ratio.io import dump, dumps, load, loads
from ratio.strategies import instances


def test_volume_closed_form() -> None:
    for s in range(1, 8):
        for o in range(1, 9):
            assert volume(s, o) == sum(s + k for k in range(1, o + 1))
            assert Request(0, s, o).peak == s + o


@pytest.mark.parametrize(
    "args, match",
    [
        ((-1, 3, 2), "arrival must be >= 0"),
        ((0, 0, 2), "prompt must be >= 1"),
        ((0, 3, 0), "output must be >= 1"),
        ((0, 2.5, 2), "must be an integer"),
        ((0, True, 2), "must be an integer"),
    ],
)
def test_request_validation(args: tuple, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Request(*args)


def test_instance_rejects_oversized_and_duplicates() -> None:
    with pytest.raises(InputError, match=r"peak s\+o = 6\+5 = 11 > M = 10"):
        Instance.from_tuples(10, [(0, 2, 2), (0, 6, 5)])
    with pytest.raises(InputError, match="duplicate request id 'x'"):
        Instance(10, (Request(0, 1, 1, "x"), Request(0, 1, 1, "x")))
    with pytest.raises(InputError, match="capacity M must be >= 1"):
        Instance.from_tuples(0, [])


def test_instance_is_immutable_and_alpha() -> None:
    inst = Instance.from_tuples(12, [(0, 3, 3), (0, 1, 1)])
    assert inst.alpha == Fraction(1, 2)
    with pytest.raises(AttributeError):
        inst.capacity = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.meta["x"] = 1  # type: ignore[index]


def test_schedule_totals() -> None:
    inst = Instance.from_tuples(10, [(0, 6, 2), (1, 3, 1)])
    sched = Schedule((0, 2))
    assert sched.completions(inst) == (2, 3)
    assert sched.total_latency(inst) == 2 + 2


@given(instances(n=(0, 6), regime="online"))
def test_json_round_trip(inst: Instance) -> None:
    back = loads(dumps(inst))
    assert back == inst
    assert back.capacity == inst.capacity


@pytest.mark.parametrize(
    "text, match",
    [
        ("{", "not valid JSON"),
        ('{"format": "other/1", "M": 3, "requests": []}', "format must be"),
        ('{"format": "kvratio-trace/1", "requests": []}', "missing capacity"),
        (
            '{"format": "kvratio-trace/1", "M": 5, "requests": [{"arrival": 0, "prompt": 3}]}',
            "lacks output",
        ),
        (
            '{"format": "kvratio-trace/1", "M": 5, "requests": [{"arrival": 0, "prompt": 3, '
            '"output": 4}]}',
            "can never run",
        ),
    ],
)
def test_loader_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        loads(text)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "absent.json")


def test_dump_load_file(tmp_path: Path) -> None:
    inst = Instance.from_tuples(20, [(0, 3, 4), (2, 5, 1)], meta={"seed": 3})
    p = dump(inst, tmp_path / "t.json")
    obj = json.loads(p.read_text())
    assert obj["format"] == "kvratio-trace/1" and obj["M"] == 20
    assert load(p) == inst and load(p).meta["seed"] == 3


def test_bundled_examples_load() -> None:
    root = Path(__file__).resolve().parents[2] / "ratio" / "data"
    for name in ("burst12.json", "poisson40.json"):
        inst = load(root / name)
        assert inst.n > 0


def test_azure_import_by_column_name(tmp_path: Path) -> None:
    p = tmp_path / "azure.csv"
    # Columns shuffled and an extra one: read by name, never by position.
    p.write_text(
        "GeneratedTokens,Extra,TIMESTAMP,ContextTokens\n"
        "5,x,2023-11-16 18:15:46.600000,10\n"
        "3,y,2023-11-16 18:15:46.700000,4\n"
        "7,z,2023-11-16 18:15:47.000000,2\n"
    )
    inst = import_azure_csv(p, capacity=100, round_ms=100)
    assert [(r.arrival, r.prompt, r.output) for r in inst.requests] == [
        (0, 10, 5),
        (1, 4, 3),
        (4, 2, 7),
    ]


def test_azure_import_reports_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "azure.csv"
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\n1,90,20\n")
    with pytest.raises(InputError, match=r"azure.csv:3: s\+o = 110 > capacity 100"):
        import_azure_csv(p, capacity=100)
