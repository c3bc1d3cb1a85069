"""Agent jobs: requests grouped into DAGs (``docs/queueing.md`` Q4).

A trace (``kvratio-trace/1``) may give each request an optional ``job`` (string) and ``after``
(ids of requests of the same job that must complete first); ``interfaces.md``: extend, do not
break, so :mod:`ratio.io` ignores these fields and :func:`load_jobs` reads them from the raw
JSON. Optional ``class`` (int) and ``engine`` (int) label multi-class networks of engines.
Jobs are :class:`networkx.DiGraph` objects in the API (edge ``u -> v``: ``v`` after ``u``);
cycles are rejected with an error that names one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ratio.errors import InputError
from ratio.io import from_dict, read_json
from ratio.model import Instance
from ratio.queueing.views import QRequest

__all__ = [
    "JobTrace",
    "load_jobs",
    "jobs_from_dict",
    "job_graphs",
    "check_acyclic",
    "chain",
    "fork_join",
    "random_dag",
    "job_stream",
    "job_work",
]


@dataclass(frozen=True)
class JobTrace:
    """A trace with its job structure: the base instance and the extended requests."""

    instance: Instance
    requests: tuple[QRequest, ...]

    @property
    def graphs(self) -> dict[str, nx.DiGraph]:
        return job_graphs(self.requests)


def jobs_from_dict(obj: Any, *, source: str = "trace") -> JobTrace:
    """Validate a ``kvratio-trace/1`` object with optional ``job``/``after`` fields."""
    inst = from_dict(obj, source=source)
    raw = obj["requests"]
    ids: dict[str, int] = {}
    for i, r in enumerate(inst.requests):
        rid = r.id if r.id is not None else f"r{i}"
        if rid in ids:
            raise InputError(f"{source}: request id {rid!r} appears twice")
        ids[rid] = i
    reqs = []
    for i, (r, d) in enumerate(zip(inst.requests, raw, strict=True)):
        job = d.get("job")
        if job is not None and not isinstance(job, (str, int)):
            raise InputError(f"{source}: request {i}: 'job' must be a string")
        after_raw = d.get("after", [])
        if not isinstance(after_raw, list):
            raise InputError(f"{source}: request {i}: 'after' must be a list of request ids")
        after = []
        for a in after_raw:
            j = ids.get(str(a))
            if j is None:
                raise InputError(f"{source}: request {i}: 'after' names unknown request {a!r}")
            if inst.requests[j] is r or j == i:
                raise InputError(f"{source}: request {i} cannot come after itself")
            job_j = raw[j].get("job")
            if job is None or str(job_j) != str(job):
                raise InputError(
                    f"{source}: request {i}: 'after' names {a!r} of another job "
                    f"({job_j!r}, not {job!r})"
                )
            after.append(j)
        cls = d.get("class", 0)
        eng = d.get("engine")
        for nm, v in (("class", cls), ("engine", eng)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise InputError(f"{source}: request {i}: {nm!r} must be an integer >= 0")
        reqs.append(
            QRequest(
                r.arrival,
                r.prompt,
                r.output,
                r.id,
                None if job is None else str(job),
                tuple(after),
                int(cls),
                eng,
            )
        )
    out = tuple(reqs)
    check_acyclic(out, source=source)
    return JobTrace(inst, out)


def load_jobs(path: str | Path) -> JobTrace:
    """Read a trace file with its job structure (``queueing.md`` Q4).

    Raises
    ------
    InputError
        Everything :func:`ratio.io.load` rejects, plus unknown or cross-job ``after`` ids and
        cyclic jobs.
    """
    return jobs_from_dict(read_json(path), source=str(path))


def job_graphs(requests: Sequence[QRequest]) -> dict[str, nx.DiGraph]:
    """One DiGraph per job: nodes are request indices, edge ``u -> v`` when ``v`` is after ``u``."""
    graphs: dict[str, nx.DiGraph] = {}
    for i, r in enumerate(requests):
        if r.job is None:
            continue
        g = graphs.setdefault(r.job, nx.DiGraph(job=r.job))
        g.add_node(i, prompt=r.prompt, output=r.output)
        for j in r.after:
            g.add_edge(j, i)
    return graphs


def check_acyclic(requests: Sequence[QRequest], *, source: str = "jobs") -> None:
    """Raise :class:`InputError` naming a cycle if any job's dependencies are cyclic."""
    for job, g in job_graphs(requests).items():
        if not nx.is_directed_acyclic_graph(g):
            cyc = nx.find_cycle(g)
            names = [requests[u].id or f"r{u}" for u, _ in cyc]
            names.append(names[0])
            raise InputError(f"{source}: job {job!r} has a dependency cycle: {' -> '.join(names)}")


# --- shapes (templates: a DiGraph whose nodes carry prompt and output) --------------------------
def chain(k: int, prompt: int, output: int) -> nx.DiGraph:
    """``k`` calls one after another."""
    g = nx.DiGraph()
    for v in range(k):
        g.add_node(v, prompt=prompt, output=output)
        if v:
            g.add_edge(v - 1, v)
    return g


def fork_join(width: int, prompt: int, output: int) -> nx.DiGraph:
    """One call, ``width`` parallel calls after it, one call after all of them."""
    g = nx.DiGraph()
    g.add_node(0, prompt=prompt, output=output)
    last = width + 1
    g.add_node(last, prompt=prompt, output=output)
    for v in range(1, width + 1):
        g.add_node(v, prompt=prompt, output=output)
        g.add_edge(0, v)
        g.add_edge(v, last)
    return g


def random_dag(k: int, prompt: int, output: int, p: float, seed: int) -> nx.DiGraph:
    """``k`` calls; edge ``u -> v`` (``u < v``) with probability ``p`` (acyclic by order)."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    for v in range(k):
        g.add_node(v, prompt=prompt, output=output)
        for u in range(v):
            if rng.random() < p:
                g.add_edge(u, v)
    return g


def job_work(template: nx.DiGraph, first_token: str = "separate") -> int:
    """Tokens of work in one job: ``sum (s + o)`` (``- 1`` per call with the first token
    produced by the prefill round)."""
    free = 1 if first_token == "with_prefill" else 0
    return sum(int(d["prompt"]) + int(d["output"]) - free for _, d in template.nodes(data=True))


def job_stream(
    template: nx.DiGraph | Mapping[str, Any],
    arrivals: Sequence[Any],
    *,
    prefix: str = "j",
) -> tuple[QRequest, ...]:
    """Instantiate the template once per arrival time: requests of job ``j`` are consecutive,
    in the template's topological order, each ``after`` its predecessors in the template. Node
    attributes ``cls`` and ``engine`` (optional) carry over."""
    if not isinstance(template, nx.DiGraph):
        raise InputError("a job template must be a networkx.DiGraph")
    if not nx.is_directed_acyclic_graph(template):
        raise InputError(f"job template has a dependency cycle: {nx.find_cycle(template)}")
    order = list(nx.topological_sort(template))
    out: list[QRequest] = []
    for k, a in enumerate(arrivals):
        base = len(out)
        pos = {v: base + n for n, v in enumerate(order)}
        for v in order:
            d = template.nodes[v]
            out.append(
                QRequest(
                    a,
                    int(d["prompt"]),
                    int(d["output"]),
                    f"{prefix}{k}.{v}",
                    f"{prefix}{k}",
                    tuple(pos[u] for u in template.predecessors(v)),
                    int(d.get("cls", 0)),
                    d.get("engine"),
                )
            )
    return tuple(out)
