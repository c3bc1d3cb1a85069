"""The CLI contract of ``interfaces.md`` under bad input, faults and limits (issue 17).

Every case runs the real command line in a fresh process (``python -m ratio.cli``): bad input
gives exit 2 and exactly one line on stderr that names the argument or the path, never an
internal error, and leaves no file behind; extreme but valid traces are answered in bounded
time or refused at once with the limit named; two searches cannot share a run directory; a
full or read-only file system leaves no partial file; Ctrl-C and SIGTERM stop the test suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOF = ROOT / "adversaries" / "hall_of_fame" / "svf__online__alpha-1-3.jsonl"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KVRATIO_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def kv(*args: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``kvratio ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "ratio.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=_env(),
    )


def _stderr_lines(res: subprocess.CompletedProcess) -> list[str]:
    # Solver banners (HiGHS prints two lines when it loads) are not the command's message.
    return [
        ln
        for ln in res.stderr.splitlines()
        if ln.strip() and not ln.startswith(("Running HiGHS", "Includes third-party"))
    ]


def assert_refused(res: subprocess.CompletedProcess, *names: str) -> str:
    """Exit 2, one line on stderr naming every ``names``, nothing on stdout."""
    lines = _stderr_lines(res)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert "internal error" not in line and "Traceback" not in res.stderr, line
    for n in names:
        assert n in line, (n, line)
    assert res.stdout == "", res.stdout
    return line


def _listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def _trace(path: Path, requests: list[tuple[int, int, int]], M: int = 40) -> Path:
    obj = {
        "format": "kvratio-trace/1",
        "M": M,
        "requests": [{"arrival": a, "prompt": s, "output": o} for a, s, o in requests],
    }
    path.write_text(json.dumps(obj))
    return path


def _hof_line() -> dict:
    return json.loads(HOF.read_text().splitlines()[0])


def _optimal_line() -> dict:
    """A proven-optimal ``kvratio-hof/1`` line worked by hand: M = 10, requests (s, o) = (3, 4)
    and (2, 1) at round 0. SVF starts the smaller volume (3 < 22) and then the other at round 0
    (3 + 4 tokens in round 0, 7 <= 10 at the peak), so L = 4 + 1 = 5, which is also the sum of
    the outputs, a lower bound on OPT: OPT = 5, ratio 1, alpha = 7/10."""
    return {
        "format": "kvratio-hof/1",
        "policy": "svf",
        "params": {},
        "regime": "all_at_zero",
        "alpha": "7/10",
        "ratio": "1/1",
        "ratio_float": 1.0,
        "policy_cost": 5,
        "opt_upper": 5,
        "opt_lower": 5,
        "opt_status": "optimal",
        "opt_gap": "0/1",
        "opt_starts": [0, 0],
        "trace": {
            "format": "kvratio-trace/1",
            "M": 10,
            "requests": [
                {"id": "r0", "arrival": 0, "prompt": 3, "output": 4},
                {"id": "r1", "arrival": 0, "prompt": 2, "output": 1},
            ],
        },
        "strategy": "hand",
        "seed": 0,
        "found_at": {"evaluations": 1, "seconds": 0.0},
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Inputs of the argument cases, in a directory of their own; ``tmp`` is where the cases
    may try to write (it must stay as it was)."""
    inp = tmp_path / "in"
    inp.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    f: dict[str, str] = {"tmp": str(out)}
    f["trace"] = str(_trace(inp / "t.json", [(0, 3, 4), (0, 5, 2), (2, 4, 6)]))
    (inp / "plain").write_text("a regular file\n")
    f["file"] = str(inp / "plain")
    (inp / "dup.json").write_text(
        '{"format": "kvratio-trace/1", "M": 40, "M": 80, '
        '"requests": [{"arrival": 0, "prompt": 1, "output": 1}]}'
    )
    f["tracedup"] = str(inp / "dup.json")
    (inp / "dup.csv").write_text("t,prompt_tokens,out,prompt_tokens\n0,5,3,7\n1,2,2,4\n")
    f["csvdup"] = str(inp / "dup.csv")
    (inp / "bin.jsonl").write_bytes(bytes(range(256)) * 4)
    f["binary"] = str(inp / "bin.jsonl")
    line = _hof_line()
    del line["trace"]
    (inp / "notrace.jsonl").write_text(json.dumps(line) + "\n")
    f["hof_notrace"] = str(inp / "notrace.jsonl")
    line = _hof_line()
    line["ratio"] = "nan"
    (inp / "nan.jsonl").write_text(json.dumps(line) + "\n")
    f["hof_nan"] = str(inp / "nan.jsonl")
    return f


_STAB = ["stability", "--prompt", "2", "--output", "3", "--horizon", "10"]

#: (id, argv, what the one line must name). ``{key}`` is filled from the ``files`` fixture.
ARG_CASES: list[tuple[str, list[str], list[str]]] = [
    # internal errors before the fix
    ("gen-seed-negative", ["gen", "--n", "3", "--seed", "-1", "-o", "{tmp}/a.json"], ["--seed"]),
    ("search-seed-negative", ["search", "--seed", "-1", "--out", "{tmp}/run"], ["--seed"]),
    (
        "stability-capacity-0",
        _STAB + ["--policy", "svf", "--rates", "1", "--capacity", "0"],
        ["--capacity"],
    ),
    (
        "stability-rates-nan",
        _STAB + ["--policy", "svf", "--rates", "nan", "--capacity", "40"],
        ["--rates"],
    ),
    (
        "stability-horizon-1e18",
        [
            "stability",
            "--policy",
            "svf",
            "--prompt",
            "2",
            "--output",
            "3",
            "--rates",
            "1",
            "--capacity",
            "40",
            "--horizon",
            "1e18",
        ],
        ["--horizon"],
    ),
    ("gen-out-directory", ["gen", "--n", "3", "-o", "{tmp}"], ["{tmp}", "directory"]),
    ("gen-out-empty", ["gen", "--n", "3", "-o", ""], ["-o"]),
    ("gen-out-under-a-file", ["gen", "--n", "3", "-o", "{file}/x.json"], ["{file}"]),
    ("search-out-is-a-file", ["search", "--out", "{file}", "--budget", "8"], ["{file}"]),
    ("search-out-dev-null", ["search", "--out", "/dev/null", "--budget", "8"], ["/dev/null"]),
    ("simulate-plot-txt", ["simulate", "{trace}", "--plot", "{tmp}/p.txt"], ["--plot"]),
    (
        "family-plot-txt",
        ["family", "svf_hol_block", "--n", "8", "--plot", "{tmp}/p.txt"],
        ["--plot"],
    ),
    (
        "stability-plot-dir",
        _STAB + ["--policy", "svf", "--rates", "1", "--capacity", "40", "--plot", "{tmp}"],
        ["--plot", "directory"],
    ),
    (
        "export-to-a-device",
        ["export", "{trace}", "--round-ms", "50", "-o", "/dev/null"],
        ["/dev/null", "regular file"],
    ),
    ("show-binary-file", ["show", "{binary}"], ["{binary}", "UTF-8"]),
    ("show-line-without-trace", ["show", "{hof_notrace}"], ["'trace'"]),
    ("show-ratio-nan", ["show", "{hof_nan}"], ["'ratio'", "nan"]),
    # invalid values silently accepted before the fix
    (
        "simulate-bool-maybe",
        ["simulate", "{trace}", "--policy", "svf:blocking=maybe"],
        ["blocking", "true or false"],
    ),
    ("ratio-bool-maybe", ["ratio", "{trace}", "--policy", "svf:blocking=maybe"], ["blocking"]),
    (
        "search-bool-maybe",
        ["search", "--policy", "svf:blocking=maybe", "--out", "{tmp}/run"],
        ["blocking"],
    ),
    (
        "family-bool-maybe",
        ["family", "svf_hol_block", "--policy", "svf:blocking=maybe"],
        ["blocking"],
    ),
    (
        "stability-bool-maybe",
        _STAB + ["--policy", "svf:blocking=maybe", "--rates", "1", "--capacity", "40"],
        ["blocking"],
    ),
    (
        "policy-key-twice",
        ["simulate", "{trace}", "--policy", "svf:blocking=true,blocking=false"],
        ["blocking", "twice"],
    ),
    (
        "tau-key-twice",
        _STAB
        + [
            "--policy",
            "svf",
            "--rates",
            "1",
            "--capacity",
            "40",
            "--tau",
            "staircase:c=1,c=2,a=1,b0=1",
        ],
        ["'c'", "twice"],
    ),
    (
        "info-key-twice",
        [
            "simulate",
            "{trace}",
            "--policy",
            "mcsf:predicted=true",
            "--info",
            "predicted:sigma=1,sigma=2",
        ],
        ["sigma", "twice"],
    ),
    (
        "policy-bool-yes",
        ["simulate", "{trace}", "--policy", "mcsf:predicted=yes"],
        ["predicted", "true or false"],
    ),
    ("policy-int-nan", ["simulate", "{trace}", "--policy", "svf_1bit:theta=nan"], ["theta"]),
    ("opt-time-limit-nan", ["opt", "{trace}", "--time-limit", "nan"], ["--time-limit"]),
    ("search-time-limit-nan", ["search", "--time-limit", "nan"], ["--time-limit"]),
    ("search-milp-max-n-negative", ["search", "--milp-max-n", "-1"], ["--milp-max-n"]),
    ("search-budget-nan", ["search", "--budget", "nans", "--out", "{tmp}/run"], ["--budget"]),
    (
        "gen-rate-inf",
        ["gen", "--n", "3", "--arrivals", "poisson", "--rate", "inf", "-o", "{tmp}/a.json"],
        ["--rate"],
    ),
    (
        "gen-prompt-mean-negative",
        ["gen", "--n", "3", "--prompt-mean", "-1", "-o", "{tmp}/a.json"],
        ["--prompt-mean"],
    ),
    (
        "csv-column-twice",
        [
            "import",
            "{csvdup}",
            "--format",
            "csv",
            "--columns",
            "arrival=t,prompt=prompt_tokens,output=out",
            "--time-unit",
            "round",
            "--capacity",
            "100",
            "-o",
            "{tmp}/imp.json",
        ],
        ["prompt_tokens", "more than once"],
    ),
    ("trace-key-twice", ["simulate", "{tracedup}"], ["'M'", "twice"]),
    # limits
    (
        "search-n-1e8",
        ["search", "--budget", "3s", "--n", "100000000", "--out", "{tmp}/run"],
        ["--n", "10000"],
    ),
    ("search-workers-0", ["search", "--workers", "0", "--out", "{tmp}/run"], ["--workers"]),
    (
        "search-time-limit-negative",
        ["search", "--time-limit", "-1", "--out", "{tmp}/run"],
        ["--time-limit"],
    ),
]


@pytest.mark.parametrize("argv,names", [c[1:] for c in ARG_CASES], ids=[c[0] for c in ARG_CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    files: dict[str, str], argv: list[str], names: list[str]
) -> None:
    out = Path(files["tmp"])
    before = _listing(out.parent)
    res = kv(*[a.format(**files) for a in argv], timeout=60)
    assert_refused(res, *[n.format(**files) for n in names])
    assert _listing(out.parent) == before  # no config.json, no empty or partial file


def test_refused_search_leaves_no_state_and_the_next_run_works(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for bad in (["--time-limit", "-1"], ["--workers", "0"], ["--policy", "svf:blocking=maybe"]):
        assert_refused(kv("search", "--out", str(run), "--budget", "8", "--quiet", *bad))
        assert not run.exists()
    res = kv("search", "--out", str(run), "--budget", "2", "--quiet", "--json", timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["evaluations"] == 2


# --- extreme but valid traces ---------------------------------------------------------------
def test_arrival_at_round_1e15_is_answered_without_allocating(tmp_path: Path) -> None:
    far = 10**15
    t = _trace(tmp_path / "far.json", [(0, 2, 3), (far, 2, 3)])
    for policy in ("svf", "vllm_fcfs"):
        t0 = time.monotonic()
        res = kv("simulate", str(t), "--policy", policy, "--json", timeout=60)
        assert res.returncode == 0, res.stderr
        obj = json.loads(res.stdout)
        assert obj["completions"] == [3, far + 3]
        assert obj["makespan"] == far + 3 and obj["peak_memory"] == 5
        assert time.monotonic() - t0 < 30
    # A plot would draw 10^15 rounds: refused at once, naming the limit, nothing written.
    png = tmp_path / "far.png"
    assert_refused(kv("simulate", str(t), "--plot", str(png)), "--plot", "MAX_PLOT_ROUNDS")
    assert not png.exists()


def test_huge_output_is_refused_at_once_naming_the_limit(tmp_path: Path) -> None:
    t = _trace(tmp_path / "big.json", [(0, 2, 10**17)], M=10**18)
    t0 = time.monotonic()
    assert_refused(kv("simulate", str(t), timeout=30), "10^8", "MAX_WORK_ROUNDS")
    assert time.monotonic() - t0 < 20


def test_stability_arrivals_are_bounded(tmp_path: Path) -> None:
    assert_refused(
        kv(*_STAB[:5], "--policy", "svf", "--rates", "1", "--capacity", "40", "--horizon", "1e11"),
        "MAX_ARRIVALS",
    )


# --- show: internal consistency of a line ----------------------------------------------------
@pytest.mark.parametrize(
    "edit,why",
    [
        ({"opt_lower": 4}, "opt_status optimal but opt_lower 4 < opt_upper 5"),
        ({"opt_gap": "1/2"}, "opt_gap"),
        ({"ratio_float": 1.5}, "ratio_float"),
        ({"opt_status": "bogus"}, "opt_status"),
    ],
    ids=["optimal-with-gap", "gap-mismatch", "float-disagrees", "unknown-status"],
)
def test_show_fails_inconsistent_lines(tmp_path: Path, edit: dict, why: str) -> None:
    line = {**_optimal_line(), **edit}
    f = tmp_path / "h.jsonl"
    f.write_text(json.dumps(line) + "\n")
    res = kv("show", str(f), "--json")
    assert res.returncode == 1, res.stderr
    entry = json.loads(res.stdout)["entries"][0]
    assert entry["status"].startswith("FAILED") and why in entry["status"], entry["status"]
    # the unedited line passes: the check is about the edit
    f.write_text(json.dumps(_optimal_line()) + "\n")
    assert kv("show", str(f), "--json").returncode == 0


# --- file-system faults ----------------------------------------------------------------------
def _gen(out: str) -> subprocess.CompletedProcess:
    return kv("gen", "--n", "2000", "-o", out)


def test_unwritable_paths_exit_2_naming_the_path(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    for out in (f"{plain}/sub/t.json", "/proc/kvratio-contract.json"):
        assert_refused(_gen(out), out)
    assert plain.read_text() == "x"


@contextlib.contextmanager
def _tmpfs(path: Path, opts: str) -> Iterator[Path]:
    """A small tmpfs at ``path`` (needs root and mount); skips the test when not possible."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_read_only_file_system_exit_2_naming_the_path(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        out = str(ro / "t.json")
        assert_refused(_gen(out), out, "Read-only")
        assert_refused(kv("search", "--out", str(ro / "run"), "--budget", "8"), str(ro / "run"))
        assert _listing(ro) == set()


def test_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "full", "size=64k") as full:
        trace = _trace(tmp_path / "t.json", [(0, 3, 4), (0, 5, 2)])
        # gen of 2000 requests is about 150 kB: it cannot fit
        out = str(full / "t.json")
        assert_refused(_gen(out), out, "No space left")
        assert _listing(full) == set()
        # export of a trace that does not fit
        big = tmp_path / "big.json"
        assert kv("gen", "--n", "3000", "-o", str(big)).returncode == 0
        out = str(full / "m.jsonl")
        assert_refused(kv("export", str(big), "--round-ms", "50", "-o", out), out)
        assert _listing(full) == set()
        # fill the disk, then a plot cannot be written
        filler = full / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            fh.write(b"\0" * (64 * 1024))
        png = str(full / "p.png")
        assert_refused(kv("simulate", str(trace), "--plot", png), png)
        assert _listing(full) == {"filler"}
        filler.unlink()
        # a search that fills the disk names the file it could not write and keeps whole files
        with open(filler, "wb") as fh:
            fh.write(b"\0" * (52 * 1024))
        run = full / "run"
        res = kv("search", "--out", str(run), "--budget", "400", "--quiet", timeout=240)
        assert_refused(res, str(run))
        assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
        for name in ("hof.jsonl", "best.json", "config.json"):
            if (run / name).exists():  # written atomically: whole or absent
                text = (run / name).read_text()
                if name.endswith(".jsonl"):
                    for ln in text.splitlines():
                        json.loads(ln)
                else:
                    json.loads(text)


def test_atomic_write_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    """In-process complement of the tmpfs tests (no root needed): an OS error while writing
    leaves the previous content and no temporary file."""
    from ratio.atomic import write_text_atomic
    from ratio.errors import OutputError

    p = tmp_path / "t.json"
    write_text_atomic(p, "old\n")
    real = os.fsync

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    os.fsync = full  # type: ignore[assignment]
    try:
        with pytest.raises(OutputError, match=str(p)):
            write_text_atomic(p, "new\n")
    finally:
        os.fsync = real
    assert p.read_text() == "old\n"
    assert _listing(tmp_path) == {"t.json"}


# --- concurrency -----------------------------------------------------------------------------
def _popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ratio.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )


def _wait_for_lines(path: Path, k: int, proc: subprocess.Popen, limit: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if path.exists() and path.read_text().count("\n") >= k:
            return
        if proc.poll() is not None:
            pytest.fail(f"search ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    pytest.fail(f"{path} did not reach {k} lines")


def test_two_searches_on_one_out_cannot_interleave_and_ctrl_c_keeps_the_log(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    args = ["search", "--out", str(run), "--quiet", "--seed", "3"]
    first = _popen(*args, "--budget", "100000")
    try:
        _wait_for_lines(run / "evals.jsonl", 8, first)
        second = kv(*args, "--budget", "100000")
        assert_refused(second, str(run), "another search")
        assert first.poll() is None  # the first one is still running, untouched
        first.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err[-2000:]
    assert "interrupted" in err and "internal error" not in err
    lines = (run / "evals.jsonl").read_text().splitlines()
    done = [json.loads(ln) for ln in lines]
    assert [e["i"] for e in done] == list(range(len(done)))  # one writer, no duplicates
    # The resume accepts the directory, re-evaluates nothing and continues.
    res = kv(*args, "--budget", str(len(done) + 8), "--json", timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    obj = json.loads(res.stdout)
    assert obj["evaluations"] == len(done) + 8 and obj["new_evaluations"] == 8


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    """flock belongs to the process: SIGKILL frees it, so no stale lock poisons a resume."""
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from adversaries.store import RunLock; "
            f"l = RunLock({str(run)!r}); print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert_refused(kv("search", "--out", str(run), "--budget", "8"), "another search")
    finally:
        holder.kill()
        holder.wait()
    res = kv("search", "--out", str(run), "--budget", "1", "--quiet", "--json", timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


# --- signals ---------------------------------------------------------------------------------
_SIGNAL_TEST = """
import os, signal, time

def test_a_before():
    {before}

def test_b_wait():
    {inside}
    print("READY", flush=True)
    time.sleep(60)

def test_c_after():
    pass
"""


def _pytest_until_signal(
    tmp_path: Path, before: str, inside: str, sig: int
) -> tuple[int, str, float]:
    """Run a small pytest session with this repository's conftest as a plugin, send ``sig``
    while its second test sleeps; returns its exit code, output and seconds to stop."""
    f = tmp_path / "test_sig.py"
    f.write_text(_SIGNAL_TEST.format(before=before, inside=inside))
    argv = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-s", "-q"]
    argv += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-c", os.devnull, str(f)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=_env()
    )
    assert proc.stdout is not None
    t0 = time.monotonic()
    out = ""
    while "READY" not in out and time.monotonic() - t0 < 60:
        ln = proc.stdout.readline()
        if not ln:
            break
        out += ln
    assert "READY" in out, out
    t1 = time.monotonic()
    proc.send_signal(sig)
    try:
        rest, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return -999, out, 30.0
    return proc.returncode, out + rest, time.monotonic() - t1


# Ray's ray.init installs a SIGTERM handler that raises SystemExit, which pytest records as a
# failed test and goes on: SIGTERM in any later test did not stop the suite. The conftest puts
# the handlers back after every test.
_RAY_LIKE = "signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(SystemExit(15)))"
# CP-SAT with catch_sigint_signal (its default) takes SIGINT during a solve and leaves SIG_DFL
# behind, so Ctrl-C in the same test killed pytest without its summary (offline_opt.cpsat now
# turns the option off).
_CPSAT = (
    "from offline_opt.cpsat import available, solve_cpsat\n"
    "    from ratio.model import Instance\n"
    "    if available(): solve_cpsat(Instance.from_tuples(20, [(0, 3, 4), (0, 5, 2)]), [10, 10])"
)


@pytest.mark.parametrize(
    "before,inside,sig",
    [
        ("pass", _CPSAT, signal.SIGINT),
        (_RAY_LIKE, "pass", signal.SIGTERM),
        (_RAY_LIKE, "pass", signal.SIGINT),
    ],
    ids=["sigint-after-cpsat", "sigterm-after-ray-handler", "sigint-after-ray-handler"],
)
def test_pytest_stops_on_ctrl_c_and_sigterm(
    tmp_path: Path, before: str, inside: str, sig: int
) -> None:
    rc, out, seconds = _pytest_until_signal(tmp_path, before, inside, sig)
    assert rc == 2, out  # pytest's "interrupted" exit code, after its summary
    assert "KeyboardInterrupt" in out and "2 passed" not in out, out
    assert seconds < 20


def test_ctrl_c_on_the_process_group_stops_workers_without_tracebacks(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the parent and its worker processes: one line, exit 130, the
    log kept, and no traceback from the workers."""
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ratio.cli", "search", "--out", str(run), "--quiet"]
        + ["--workers", "2", "--budget", "10000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
    )
    try:
        _wait_for_lines(run / "evals.jsonl", 16, proc)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err[-2000:]
    assert _stderr_lines(subprocess.CompletedProcess([], 130, "", err)) == [
        "kvratio: interrupted"
    ], err[-3000:]
    done = [json.loads(ln) for ln in (run / "evals.jsonl").read_text().splitlines()]
    assert [e["i"] for e in done] == list(range(len(done)))
