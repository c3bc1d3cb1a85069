"""The ``kvratio`` command line: tables, JSON fields (interfaces.md), plots, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ratio.cli import main
from ratio.io import load

DATA = Path(__file__).resolve().parents[2] / "ratio" / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_simulate_table_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "run.png"
    rc, out, _ = run(
        capsys, "simulate", str(DATA / "burst12.json"), "--policy", "svf", "--plot", str(png)
    )
    assert rc == 0
    assert "total latency" in out and "alpha" in out
    assert png.stat().st_size > 10_000


def test_simulate_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(
        capsys, "simulate", str(DATA / "poisson40.json"), "--policy", "vllm_fcfs", "--json"
    )
    assert rc == 0
    obj = json.loads(out)
    for field in (
        "policy",
        "total_latency",
        "starts",
        "completions",
        "evictions",
        "peak_memory",
        "makespan",
    ):
        assert field in obj
    assert isinstance(obj["total_latency"], int) and len(obj["starts"]) == 40
    assert obj["total_latency"] == sum(c for c in obj["completions"]) - sum(
        r["arrival"] for r in json.loads((DATA / "poisson40.json").read_text())["requests"]
    )


def test_policies_lists_registry(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "policies", "--json")
    names = {p["name"] for p in json.loads(out)["policies"]}
    assert rc == 0 and {"svf", "fcfs", "vllm_priority", "sorted_f", "svf_1bit"} <= names


def test_gen_then_simulate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    gen = ["gen", "--n", "30", "--arrivals", "poisson", "--rate", "0.5", "--seed", "3"]
    rc, out, _ = run(capsys, *gen, "-o", str(path), "--json")
    obj = json.loads(out)
    assert rc == 0 and (obj["path"], obj["n"], obj["M"]) == (str(path), 30, 40)
    assert obj["alpha"] == str(load(path).alpha)
    first = path.read_text()
    run(capsys, *gen, "-o", str(path))
    assert path.read_text() == first  # reproducible from the seed
    rc, out, _ = run(capsys, "simulate", str(path), "--json")
    assert rc == 0 and json.loads(out)["policy"] == "svf"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("not json", "not valid JSON"),
        (
            '{"format": "kvratio-trace/1", "M": 4, "requests": [{"arrival": 0, "prompt": 3, "output": 3}]}',
            "can never run",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "t.json"
    if content is not None:
        path.write_text(content)
    rc, out, err = run(capsys, "simulate", str(path))
    assert rc == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_policy_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "simulate", str(DATA / "burst12.json"), "--policy", "nope")
    assert rc == 2 and "unknown policy 'nope'" in err
    rc, _, err = run(capsys, "simulate", str(DATA / "burst12.json"), "--policy", "svf_1bit:theta=0")
    assert rc == 2 and "theta" in err


def test_import_azure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n0.0,10,5\n0.01,4,3\n0.2,2,7\n")
    out_path = tmp_path / "a.json"
    rc, out, _ = run(
        capsys,
        "import",
        str(src),
        "--format",
        "azure",
        "--capacity",
        "64",
        "--round-ms",
        "50",
        "-o",
        str(out_path),
        "--json",
    )
    obj = json.loads(out)
    assert rc == 0 and obj["n"] == 3 and obj["merged"] == 1


def test_version_is_the_package_version() -> None:
    """``kvratio --version`` prints the single version source, ``ratio.__version__``."""
    import subprocess
    import sys

    import ratio

    out = subprocess.run(
        [sys.executable, "-m", "ratio.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"kvratio {ratio.__version__}"
