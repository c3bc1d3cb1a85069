"""``kvratio frontier``: one point per alpha cap from the hall of fame, exact ratios, the bounds
beside them, and a non-trivial PNG (issue 15, deliverable 5)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from adversaries.frontier import frontier, sharper_bound, theorem_bound
from adversaries.halloffame import CAPS, cell_path
from adversaries.store import read_hof


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ratio.cli", "frontier", *args], capture_output=True, text=True
    )


def test_frontier_json_and_png(tmp_path: Path) -> None:
    png = tmp_path / "frontier.png"
    r = _run("--json", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    pts = obj["points"]
    assert [Fraction(p["cap"]) for p in pts] == sorted(CAPS)  # one point per cap
    for p in pts:
        cap = Fraction(p["cap"])
        line = read_hof(cell_path("svf", "all_at_zero", cap))[0]  # the best comes first
        assert p["ratio"] == line["ratio"] and "/" in p["ratio"]  # exact, from the line
        ratio, alpha = Fraction(p["ratio"]), Fraction(p["alpha"])
        assert alpha <= cap and alpha == Fraction(line["alpha"])
        # L/LB is an upper limit of the trace's true ratio, so it is at least L/UB
        assert Fraction(p["L_over_LB"]) >= ratio
        if alpha < 1:
            assert Fraction(p["theorem_bound"]) == 1 + 2 / (1 - alpha)
            assert ratio <= Fraction(p["theorem_bound"])
        else:
            assert p["theorem_bound"] is None
        assert ratio <= Fraction(p["sharper_bound"])
        assert p["command"].startswith("kvratio family ")
    by_cap = {Fraction(p["cap"]): Fraction(p["ratio"]) for p in pts}
    assert by_cap[Fraction(3, 4)] >= Fraction(7, 2) and by_cap[Fraction(1)] >= 10
    # a PNG, and more than an empty canvas
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_sharper_bound_values() -> None:
    assert sharper_bound(Fraction(0)) == Fraction(7, 3)
    assert sharper_bound(Fraction(1, 3)) == 3
    assert sharper_bound(Fraction(1, 2)) == 4
    assert sharper_bound(Fraction(3, 4)) == 8
    assert sharper_bound(Fraction(1)) is None
    assert theorem_bound(Fraction(1, 2)) == 5 and theorem_bound(Fraction(1)) is None


def test_alpha_prime_is_largest_peak_minus_one_over_m() -> None:
    pts = {p["cap"]: p for p in frontier(lower_bounds=False, verify=False)}
    line = read_hof(cell_path("svf", "all_at_zero", Fraction(3, 4)))[0]
    reqs = line["trace"]["requests"]
    P = max(q["prompt"] + q["output"] for q in reqs)
    assert Fraction(pts["3/4"]["alpha_prime"]) == Fraction(P - 1, line["trace"]["M"])
    assert Fraction(pts["3/4"]["sharper_bound"]) == sharper_bound(
        Fraction(P - 1, line["trace"]["M"])
    )


def test_online_frontier_has_no_bound_and_a_tampered_line_is_refused(tmp_path: Path) -> None:
    r = _run("--regime", "online", "--no-lb", "--json")
    assert r.returncode == 0, r.stderr
    pts = json.loads(r.stdout)["points"]
    assert all(p["theorem_bound"] is None and p["sharper_bound"] is None for p in pts)
    assert Fraction(next(p for p in pts if p["cap"] == "1/2")["ratio"]) >= 40
    # a hall of fame whose line claims a lower OPT cost than its schedule has: one line, exit 2
    d = tmp_path / "hof"
    d.mkdir()
    f = cell_path("svf", "all_at_zero", Fraction(1, 1), d)
    shutil.copy(cell_path("svf", "all_at_zero", Fraction(1, 1)), f)
    e = json.loads(f.read_text().splitlines()[0])
    e["opt_upper"] -= 1
    f.write_text(json.dumps(e) + "\n")
    r = _run("--dir", str(d), "--no-lb")
    assert r.returncode == 2 and "fails re-verification" in r.stderr
    assert "Traceback" not in r.stderr
    r = _run("--dir", str(tmp_path / "nope"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
