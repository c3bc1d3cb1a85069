"""Structured families: hand-written schedules are feasible, ratios certified, growth with n
(issue 6, items 2 and 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from adversaries.families import FAMILIES, certify, fit_exponent, parse_n_list
from ratio.check import check
from ratio.model import Schedule
from ratio.simulator import simulate


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("n", [8, 33, 64])
@pytest.mark.parametrize("alpha", [Fraction(1, 2), Fraction(1, 3)])
def test_hand_written_schedule_is_feasible(name: str, n: int, alpha: Fraction) -> None:
    fam = FAMILIES[name]
    inst, sched = fam.build(n, alpha)
    assert inst.n == n
    assert check(inst, sched)
    if fam.regime == "all_at_zero":
        assert inst.all_at_zero
    for pol in fam.policies:
        pt = certify(name, pol, n, alpha)
        assert check(inst, Schedule(pt.opt_starts))
        assert Schedule(pt.opt_starts).total_latency(inst) == pt.opt_upper
        assert pt.policy_cost == simulate(pt.instance, pol).total_latency
        assert pt.ratio == Fraction(pt.policy_cost, pt.opt_upper)


def test_online_family_grows_for_every_policy() -> None:
    for pol in ("fcfs", "sjf", "svf", "mcsf"):
        ns = [16, 64, 256]
        rs = [float(certify("online_long_first", pol, n, Fraction(1, 2)).ratio) for n in ns]
        assert rs[0] < rs[1] < rs[2]
        assert fit_exponent(ns, rs) > 0.4


def test_svf_family_certifies_above_one_point_six_at_n_256() -> None:
    pt = certify("svf_hol_block", "svf", 256, Fraction(1, 2))
    assert pt.ratio > Fraction(8, 5)
    assert pt.ub_source == "hand-written"


def test_parse_n_list() -> None:
    assert parse_n_list("8,16,...,128") == [8, 16, 32, 64, 128]
    assert parse_n_list("10,20,30,...,50") == [10, 20, 30, 40, 50]
    assert parse_n_list("3,5") == [3, 5]
    assert parse_n_list("3,5,...,9") == [3, 5, 7, 9]


def test_family_cli(tmp_path: Path) -> None:
    png = tmp_path / "f.png"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ratio.cli",
            "family",
            "online_long_first",
            "--n",
            "8,16,...,64",
            "--alpha",
            "1,1/2",
            "--plot",
            str(png),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert len(obj["points"]) == 4 * 4 * 2 and png.exists()
    assert all(v > 0 for v in obj["exponents"].values())
    r = subprocess.run(
        [sys.executable, "-m", "ratio.cli", "family", "nope"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "unknown family" in r.stderr
