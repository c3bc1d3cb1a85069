"""The search loop: ask, evaluate (in parallel), log, tell (issues 6 and 15).

:func:`run_search` drives a registered strategy over a :class:`~adversaries.space.SearchSpace`
until its budget (seconds or evaluations) is spent, keeps the hall of fame of certified ratios,
and stops at once with the trace if SVF's waiting-time certificate fails (model §12).

Strategies rank traces by the screen ``log(L / LB)`` (:mod:`adversaries.objective`); a trace is
certified (``L / UB`` with a checker-verified ``UB``) only when its screen beats the best
certified ratio before its batch, so the screen never hides a trace that would beat the best.
Points are plain traces ``(M, rows)`` or genomes ``(M, block, reps)``
(:data:`adversaries.space.Genome`); the log stores genomes compactly.

Reproducibility: the strategy is seeded, batches have a fixed size independent of the number of
workers, the screen threshold is the best ratio *before* each batch, and no time limit decides
an evaluation, so for a given seed the sequence of evaluated traces does not depend on
``--workers``, Ray or the machine; an evaluation budget reproduces a run bit for bit, a time
budget reproduces a prefix of it.

Resumability: with an output directory every evaluation is appended to ``evals.jsonl`` as soon as
it returns; a resumed run replays that log through the strategy (no re-evaluation) and continues.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from adversaries.space import Point, SearchSpace, expand, is_genome, to_instance
from adversaries.store import EvalLog, dump_hof, hof_entry, write_atomic
from adversaries.strategies import get_strategy
from ratio.errors import InputError

__all__ = [
    "SearchConfig",
    "SearchResult",
    "run_search",
    "evaluate_task",
    "parse_budget",
    "plot_progress",
]


def parse_budget(text: str) -> tuple[float | None, int | None]:
    """``"90s"``, ``"10m"``, ``"1h"`` -> seconds; ``"5000"`` or ``"5000evals"`` -> evaluations."""
    t = text.strip().lower()
    try:
        if t.endswith("evals"):
            return None, int(t[:-5])
        for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
            if t.endswith(suffix):
                v = float(t[: -len(suffix)]) * mult
                if v <= 0:
                    raise ValueError
                return v, None
        v = int(t)
        if v <= 0:
            raise ValueError
        return None, v
    except ValueError:
        raise InputError(
            "--budget must be a duration (30s, 10m, 1h) or an evaluation count (5000), "
            f"got {text!r}"
        ) from None


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search's sequence of traces (the budget only its length)."""

    space: SearchSpace
    strategy: str = "anneal"
    seed: int = 1
    batch: int = 8
    milp: bool = False
    milp_max_n: int = 10
    time_limit: float = 20.0
    strategy_params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["space"] = self.space.to_dict()
        return d


@dataclass
class SearchResult:
    """What a search found: the best hall-of-fame entry, counts, and any certificate violation."""

    best: dict[str, Any] | None
    hof: list[dict[str, Any]]
    evaluations: int
    certified: int
    optimal: int
    milps: int
    filtered: int
    seconds: float
    new_evaluations: int
    violation: dict[str, Any] | None = None
    out: Path | None = None
    runner: str = "local:1"

    @property
    def evals_per_second(self) -> float:
        return self.evaluations / self.seconds if self.seconds > 0 else 0.0


def _check_config(out: Path, cfg: SearchConfig) -> None:
    path = out / "config.json"
    want = cfg.to_dict()
    if path.exists():
        have = json.loads(path.read_text())
        if have != want:
            diff = sorted(k for k in want if have.get(k) != want[k])
            raise InputError(
                f"{out} holds a run with other settings ({', '.join(diff)}); "
                "resume with the same settings or choose another --out"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(want, indent=1) + "\n")


def run_search(
    cfg: SearchConfig,
    *,
    budget_seconds: float | None = None,
    budget_evals: int | None = None,
    out: Path | str | None = None,
    workers: int = 1,
    ray: str | None = None,
    progress: bool = True,
) -> SearchResult:
    """Run (or resume) a certified search.

    Parameters
    ----------
    cfg
        Space, strategy, seed and objective options.
    budget_seconds, budget_evals
        Stop when the total elapsed search time (over all resumes) or the total number of
        evaluations reaches this; at least one is required.
    out
        Run directory (resumable); ``None`` keeps everything in memory.
    workers, ray
        Parallel evaluation (:mod:`ratio.parallel`: local processes, or Ray at ``ray``, ``"auto"``
        or a cluster address); does not change the result.
    """
    if budget_seconds is None and budget_evals is None:
        raise InputError("a search needs a budget (seconds or evaluations)")
    run = _Run(cfg, out, budget_seconds, budget_evals, workers, ray)
    bar = _Progress(progress, budget_seconds, budget_evals)
    try:
        while not run.done():
            run.step()
            bar.update(run.state, run.elapsed())
    finally:
        bar.close()
        run.close()
    return run.finish()


class _Run:
    """One run of :func:`run_search`: its strategy, log, replay and counters. Each
    :meth:`step` asks the strategy for a batch, takes what the log already holds, evaluates
    the rest through a :mod:`ratio.parallel` runner, updates the hall of fame and tells the
    strategy."""

    def __init__(
        self,
        cfg: SearchConfig,
        out: Path | str | None,
        budget_seconds: float | None,
        budget_evals: int | None,
        workers: int,
        ray: str | None,
    ) -> None:
        self.cfg = cfg
        self.budget_seconds, self.budget_evals = budget_seconds, budget_evals
        self.workers, self.ray = workers, ray
        self.strat = get_strategy(
            cfg.strategy, cfg.space, cfg.seed, batch=cfg.batch, **cfg.strategy_params
        )
        self.opts = {"milp": cfg.milp, "milp_max_n": cfg.milp_max_n, "time_limit": cfg.time_limit}
        self.out_dir = Path(out) if out is not None else None
        self.log: EvalLog | None = None
        self.replay: list[dict[str, Any]] = []
        if self.out_dir is not None:
            _check_config(self.out_dir, cfg)
            self.log = EvalLog(self.out_dir / "evals.jsonl")
            self.replay = list(self.log.entries)
        self.base_seconds = float(self.replay[-1]["t"]) if self.replay else 0.0
        self.state = _State()
        self.runner: Any = None
        self.t_start = time.perf_counter()

    def elapsed(self) -> float:
        """Search seconds over all resumes."""
        return self.base_seconds + time.perf_counter() - self.t_start

    def done(self) -> bool:
        state = self.state
        if state.violation is not None:
            return True
        if self.budget_evals is not None and state.evals >= self.budget_evals:
            return True
        return (
            self.budget_seconds is not None
            and state.evals >= len(self.replay)
            and self.elapsed() >= self.budget_seconds
        )

    def step(self) -> None:
        """One batch: ask, evaluate (from the log or afresh), record, tell."""
        batch = self.strat.ask()
        if self.budget_evals is not None:
            batch = batch[: self.budget_evals - self.state.evals]
        results, todo = self._replayed(batch)
        if todo:
            self._evaluate(batch, todo, results)
        fitness = self._record(batch, results)
        self.state.evals += len(fitness)
        self.strat.tell(batch[: len(fitness)], fitness)

    def _replayed(self, batch: list[Any]) -> tuple[list[dict[str, Any]], list[int]]:
        """The batch's results the log holds (``{}`` elsewhere) and the positions to evaluate;
        a logged point that differs from the strategy's is an error (another code version)."""
        results: list[dict[str, Any]] = []
        todo: list[int] = []
        for k, p in enumerate(batch):
            idx = self.state.evals + k
            if idx < len(self.replay):
                e = self.replay[idx]
                if _log_fields(p) != {k: e.get(k) for k in _log_fields(p)}:
                    raise InputError(
                        f"{self.out_dir}: evaluation {idx} in the log differs from the "
                        "strategy's replay (another code version?); choose another --out"
                    )
                results.append(e["eval"])
            else:
                results.append({})
                todo.append(k)
        return results, todo

    def _evaluate(self, batch: list[Any], todo: list[int], results: list[dict[str, Any]]) -> None:
        """Evaluate ``batch[k]`` for ``k`` in ``todo`` into ``results``, logging each one. The
        screen threshold is the best ratio before the batch, so workers cannot change it."""
        from ratio.parallel import make_runner

        if self.runner is None:
            self.runner = make_runner(evaluate_task, self.workers, self.ray)
        thr = self.state.best_ratio
        policy = self.cfg.space.policy
        tasks = [
            (_wire(batch[k]), policy, f"{thr.numerator}/{thr.denominator}", self.opts) for k in todo
        ]
        fresh = self.runner.map(tasks)
        now = self.elapsed()
        for k, ev in zip(todo, fresh, strict=True):
            results[k] = ev
            if self.log is not None:
                entry = {"i": self.state.evals + k, **_log_fields(batch[k])}
                self.log.append({**entry, "eval": ev, "t": round(now, 3)})

    def _record(self, batch: list[Any], results: list[dict[str, Any]]) -> list[float]:
        """Count the batch's evaluations, grow the hall of fame, stop at a violation; returns
        the fitness of each point up to the first violation (the strategy is told those)."""
        state, cfg = self.state, self.cfg
        fitness: list[float] = []
        for k, (p, ev) in enumerate(zip(batch, results, strict=True)):
            idx = state.evals + k
            t_found = float(self.replay[idx]["t"]) if idx < len(self.replay) else self.elapsed()
            if "violation" in ev:
                state.violation = {
                    "message": ev["violation"],
                    "certificate": ev["certificate"],
                    "trace": _trace_dict(_plain(p)),
                    "evaluation": idx + 1,
                }
                fitness.append(0.0)
                break
            state.record(ev)
            fitness.append(math.log(Fraction(ev["screen"])))
            if ev["ratio"] is None:
                continue
            r = Fraction(ev["ratio"])
            if r > state.best_ratio or not state.hof:
                state.best_ratio = max(r, state.best_ratio)
                state.hof.append(
                    hof_entry(
                        point=_plain(p),
                        evaluation=ev,
                        regime=cfg.space.regime,
                        strategy=cfg.strategy,
                        seed=cfg.seed,
                        evaluations=idx + 1,
                        seconds=t_found,
                        search=_search_info(cfg, self.budget_evals),
                    )
                )
                if self.out_dir is not None:
                    dump_hof(self.out_dir / "hof.jsonl", state.hof)
                    _write_best(self.out_dir, state.hof[-1])
        return fitness

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()
        if self.log is not None:
            self.log.close()

    def finish(self) -> SearchResult:
        """The result; with an output directory, ``summary.json`` (and ``violation.json``)
        and the progress plot are written."""
        state, replay, out_dir = self.state, self.replay, self.out_dir
        seconds = (
            self.elapsed()
            if state.evals > len(replay)
            else (float(replay[state.evals - 1]["t"]) if state.evals else 0.0)
        )
        res = SearchResult(
            best=state.hof[-1] if state.hof else None,
            hof=state.hof,
            evaluations=state.evals,
            certified=state.certified,
            optimal=state.optimal,
            milps=state.milps,
            filtered=state.filtered,
            seconds=seconds,
            new_evaluations=max(0, state.evals - len(replay)),
            violation=state.violation,
            out=out_dir,
            runner=self.runner.name if self.runner is not None else "replay",
        )
        if out_dir is not None:
            if state.violation is not None:
                text = json.dumps(state.violation, indent=1) + "\n"
                write_atomic(out_dir / "violation.json", text)
            write_atomic(out_dir / "summary.json", json.dumps(summary(res), indent=1) + "\n")
            plot_progress(out_dir)
        return res


def _plain(p: Any) -> Point:
    """The plain trace of a point or genome."""
    return expand(p) if is_genome(p) else p


def _wire(p: Any) -> list[Any]:
    """A point or genome as JSON-able lists (what the runner ships to a worker; the inverse is
    the top of :func:`evaluate_task`)."""
    if is_genome(p):
        return [p[0], [list(r) for r in p[1]], p[2]]
    return [p[0], [list(r) for r in p[1]]]


#: ``(point, policy, threshold "p/q", options)``; the point is ``[M, rows]`` (rows of ``[a, s,
#: o]``) or a genome ``[M, block, reps]`` (rows of ``[a, s, o, copies]``), expanded here.
Task = tuple[list[Any], str, str, dict[str, Any]]


def evaluate_task(task: Task) -> dict[str, Any]:
    """Evaluate one point: ``(point, policy, threshold "p/q", options)`` -> evaluation dict,
    or ``{"violation": ...}`` when SVF's waiting-time certificate fails (model §12).

    The task :func:`run_search` maps over a batch with a :mod:`ratio.parallel` runner: a plain
    function of JSON-able arguments, so every runner gives the same results."""
    from adversaries.objective import CertificateViolation, evaluate

    point, policy, threshold, opts = task
    if len(point) == 3:
        M, block, reps = point
        rows4 = tuple((int(a), int(s), int(o), int(c)) for a, s, o, c in block)
        plain = expand((int(M), rows4, int(reps)))
    else:
        M, rows = point
        plain = (int(M), tuple((int(a), int(s), int(o)) for a, s, o in rows))
    inst = to_instance(plain)
    try:
        ev = evaluate(inst, policy, threshold=Fraction(threshold), **opts)
    except CertificateViolation as exc:
        return {"violation": str(exc), "certificate": exc.certificate.to_dict()}
    return ev.to_dict()


def _log_fields(p: Any) -> dict[str, Any]:
    """How a point is written in ``evals.jsonl``: ``M`` and ``rows``, or for a genome ``M``,
    ``block`` and ``reps`` (an ``n = 10^4`` trace takes a few numbers, not 10^4 rows)."""
    if is_genome(p):
        return {"M": p[0], "block": [list(r) for r in p[1]], "reps": p[2]}
    return {"M": p[0], "rows": [list(r) for r in p[1]]}


def _search_info(cfg: SearchConfig, budget_evals: int | None) -> dict[str, Any]:
    """What reproduces the line: the config, and the evaluation budget when it had one."""
    return {**cfg.to_dict(), "budget_evals": budget_evals}


def _trace_dict(p: Point) -> dict[str, Any]:
    from ratio.io import to_dict

    return to_dict(to_instance(p))


def _write_best(out: Path, entry: dict[str, Any]) -> None:
    write_atomic(out / "best.json", json.dumps(entry["trace"], indent=1) + "\n")


def summary(res: SearchResult) -> dict[str, Any]:
    """The ``kvratio search`` JSON object (``interfaces.md``)."""
    b = res.best
    return {
        "best_ratio": b["ratio"] if b else None,
        "best_trace": str(res.out / "best.json") if (b and res.out is not None) else None,
        "alpha": b["alpha"] if b else None,
        "bound_at_alpha": b["bound_at_alpha"] if b else None,
        "sharper_bound": b.get("sharper_bound") if b else None,
        "evaluations": res.evaluations,
        "certified": res.certified,
        "optimal": res.optimal,
        "milps": res.milps,
        "filtered": res.filtered,
        "seconds": round(res.seconds, 3),
        "evals_per_second": round(res.evals_per_second, 2),
        "new_evaluations": res.new_evaluations,
        "violation": res.violation,
        "best": {k: v for k, v in b.items() if k != "search"} if b else None,
        "runner": res.runner,
    }


class _State:
    def __init__(self) -> None:
        self.evals = 0
        self.certified = 0
        self.optimal = 0
        self.milps = 0
        self.filtered = 0
        self.best_ratio = Fraction(1)
        self.hof: list[dict[str, Any]] = []
        self.violation: dict[str, Any] | None = None

    def record(self, ev: dict[str, Any]) -> None:
        self.certified += bool(ev.get("certified", True))
        self.optimal += ev["opt_status"] == "optimal"
        self.milps += bool(ev["milp"])
        self.filtered += bool(ev["filtered"])


class _Progress:
    """A live progress bar on stderr: best certified ratio, its alpha, evaluations per second,
    MILPs solved."""

    def __init__(self, on: bool, seconds: float | None, evals: int | None) -> None:
        self.bar = None
        self.by_time = evals is None
        if not on:
            return
        from tqdm import tqdm

        total = seconds if self.by_time else evals
        unit = "s" if self.by_time else "ev"
        self.bar = tqdm(
            total=total,
            unit=unit,
            file=sys.stderr,
            mininterval=0.5,
            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}{unit} [{elapsed}<{remaining}{postfix}]",
        )
        self.t0 = time.perf_counter()
        self.e0: int | None = None

    def update(self, st: _State, elapsed: float) -> None:
        if self.bar is None:
            return
        if self.e0 is None:
            self.e0 = st.evals
            self.t0 = time.perf_counter()
        dt = max(1e-9, time.perf_counter() - self.t0)
        best = st.hof[-1] if st.hof else None
        self.bar.set_postfix_str(
            f"best={float(st.best_ratio):.4f} alpha={best['alpha'] if best else '-'} "
            f"ev/s={(st.evals - self.e0) / dt:.0f} milp={st.milps}",
            refresh=False,
        )
        target = min(elapsed, self.bar.total) if self.by_time else st.evals
        self.bar.update(target - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plot_progress(out: Path, ax: Any = None) -> Any:
    """Plot best certified ratio against search time from ``out/evals.jsonl`` into
    ``out/progress.png`` (or onto ``ax``); returns the axes."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adversaries.store import read_evals

    entries = read_evals(Path(out) / "evals.jsonl")
    ts, best = [0.0], [1.0]
    cur = Fraction(1)
    for e in entries:
        ev = e["eval"]
        if ev.get("ratio") is None:
            continue
        r = Fraction(ev["ratio"])
        if r > cur:
            cur = r
            ts.append(float(e["t"]))
            best.append(float(r))
    if entries:
        ts.append(float(entries[-1]["t"]))
        best.append(float(cur))
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.step(ts, best, where="post")
    ax.set_xlabel("search time (s)")
    ax.set_ylabel("best certified ratio L / UB(OPT)")
    ax.grid(True, lw=0.3)
    if own:
        fig.tight_layout()
        fig.savefig(Path(out) / "progress.png", dpi=110)
        plt.close(fig)
    return ax
