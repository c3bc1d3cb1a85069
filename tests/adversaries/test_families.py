"""Structured families: hand-written schedules are feasible, ratios certified, growth with n
(issue 6, items 2 and 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from adversaries.families import (
    FAMILIES,
    build_svf_gated_groups,
    build_svf_thin_blocks_wide,
    build_svf_thin_sync,
    certify,
    fit_exponent,
    fit_limit,
    gated_shape,
    parse_n_list,
    thin_sync_length,
)
from ratio.check import check
from ratio.errors import InputError
from ratio.model import Schedule
from ratio.simulator import simulate

#: The alphas each family is tried at (the older families take 1/k only; the alpha = 1 one
#: exists only there).
ALPHAS = {
    "svf_thin_blocks_wide": [Fraction(1)],
    "svf_gated_groups": [Fraction(1, 2), Fraction(3, 4), Fraction(9, 10)],
    "svf_thin_sync": [Fraction(1, 2), Fraction(1, 4)],
}
CASES = [
    (name, n, a)
    for name in sorted(FAMILIES)
    for n in (8, 33, 64)
    for a in ALPHAS.get(name, [Fraction(1, 2), Fraction(1, 3)])
]


@pytest.mark.parametrize(("name", "n", "alpha"), CASES)
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


def test_thin_blocks_wide_cost_is_the_closed_form_and_grows_linearly() -> None:
    for n in (4, 16, 32):
        k = n - 1
        L = k * k
        pt = certify("svf_thin_blocks_wide", "svf", n, Fraction(1))
        assert pt.alpha == 1 and pt.capacity == L * (L + 3) // 2
        # SVF: T at 0, the k wide ones wait L rounds, then one per round
        assert pt.policy_cost == L + k * L + k * (k + 1) // 2
        assert pt.opt_upper <= k * (k + 1) // 2 + k + L
        assert pt.ratio >= Fraction(2 * k, 3)
    assert certify("svf_thin_blocks_wide", "svf", 16, Fraction(1)).ratio >= 10
    with pytest.raises(InputError):
        build_svf_thin_blocks_wide(16, Fraction(1, 2))


def test_gated_groups_mechanism() -> None:
    """Every request has one volume; SVF starts gate j only once members of group j complete
    (``L`` rounds after the group's first start), and no thin request of group j+1 before
    gate j."""
    alpha = Fraction(3, 4)
    inst, _ = build_svf_gated_groups(200, alpha)
    s, L = gated_shape(alpha)
    assert len(set(inst.volumes)) == 1 and inst.alpha <= alpha
    sim = simulate(inst, "svf")
    starts = sim.schedule.starts
    gates = [i for i, r in enumerate(inst.requests) if r.output == 1]
    assert len(gates) == inst.meta["groups"] >= 2
    prev = -1
    for g in gates:
        group = [i for i in range(prev + 1, g)]
        assert starts[g] >= min(starts[i] for i in group) + L  # waits while the group runs
        assert all(starts[i] >= starts[g] for i in range(g + 1, inst.n))  # head of line
        prev = g
    assert inst.meta["x"] * (s + 1) + inst.requests[gates[0]].peak > inst.capacity


@pytest.mark.parametrize(
    ("alpha", "n", "at_least"),
    [(Fraction(3, 4), 1380, Fraction(7, 2)), (Fraction(9, 10), 1600, Fraction(8))],
)
def test_gated_groups_reach_issue_15_targets(alpha: Fraction, n: int, at_least: Fraction) -> None:
    pt = certify("svf_gated_groups", "svf", n, alpha)
    assert pt.alpha <= alpha and pt.ratio >= at_least
    assert pt.ratio <= 1 / (1 - pt.alpha) + 1  # below the 1/(1-alpha) limit of its mechanism


def test_thin_sync_is_synchronised_and_reaches_target() -> None:
    inst, _ = build_svf_thin_sync(400, Fraction(1, 4))
    L = thin_sync_length(400)
    assert {r.output for r in inst.requests} == {L} and L == 200
    starts = simulate(inst, "svf").schedule.starts
    assert all(p % L == 0 for p in starts)  # whole batches only
    assert sorted(starts)[::20] == [j * L for j in range(20)]  # 20 per batch
    assert inst.alpha == Fraction(1, 20)
    pt = certify("svf_thin_sync", "svf", 2000, Fraction(1, 4))
    assert pt.ratio >= Fraction(18, 10) and pt.ub_source == "hand-written"


def test_fit_limit_recovers_a_planted_limit() -> None:
    ns = [100, 200, 400, 800, 1600]
    r_inf, c = fit_limit(ns, [3.5 - 40 / n for n in ns])
    assert abs(r_inf - 3.5) < 1e-9 and abs(c - 40) < 1e-6
