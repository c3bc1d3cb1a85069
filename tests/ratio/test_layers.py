"""Layer rules, checked by parsing imports (issue 18): no module of a policies package imports
an engine module, and the modules of ``ratio/queueing`` and ``ratio/policies`` import each
other in no circle. Each rule is also shown to fail on a planted import."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ratio/policies", "ratio/queueing")
#: What a policy may not import: the round loops, and the names that load them.
ENGINE_MODULES = frozenset(
    {"ratio", "ratio.simulator", "ratio.engine", "ratio.queueing", "ratio.queueing.policy"}
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: The engine and the modules it stands on, checked for circles with the packages.
MODULES = ("ratio/engine.py", "ratio/simulator.py", "ratio/admission.py")


def sources() -> dict[str, str]:
    """Module name -> source for every module of :data:`PACKAGES` and :data:`MODULES`."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path.read_text()
    for rel in MODULES:
        out[_module_name(ROOT / rel)] = (ROOT / rel).read_text()
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports(name: str, source: str, known: set[str]) -> set[str]:
    """The modules ``name`` imports anywhere in its body (functions included), except under
    ``if TYPE_CHECKING:``; ``from a import b`` counts as ``a.b`` when that is a module."""
    found: set[str] = set()
    # The package a relative import starts from (a package's __init__ is its own).
    package = name if any(m.startswith(f"{name}.") for m in known) else name.rsplit(".", 1)[0]
    skip: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                mod = ".".join([*base, mod] if mod else base)
            for a in node.names:
                sub = f"{mod}.{a.name}"
                found.add(sub if sub in known else mod)
    return found


def engine_imports(mods: Mapping[str, str]) -> list[str]:
    """``module -> engine module`` for every policies module that imports an engine module."""
    known = set(mods)
    bad = []
    for name, src in sorted(mods.items()):
        if ".policies" not in f".{name}." and not name.endswith(".policies"):
            continue
        for dep in sorted(imports(name, src, known) & ENGINE_MODULES):
            bad.append(f"{name} -> {dep}")
    return bad


def private_reads(mods: Mapping[str, str]) -> list[str]:
    """``module:line attr`` for every read, in a policies module, of another object's private
    attribute (``state._r``: the engine behind the read-only state); ``self._x`` is fine."""
    out = []
    for name, src in sorted(mods.items()):
        if ".policies" not in f".{name}.":
            continue
        for node in ast.walk(ast.parse(src)):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                out.append(f"{name}:{node.lineno} {node.attr}")
    return out


def cycles(mods: Mapping[str, str]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module, or a module
    importing itself) among ``mods`` (Tarjan's algorithm)."""
    known = set(mods)
    graph = {m: sorted(imports(m, s, known) & known) for m, s in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_policies_module_imports_an_engine() -> None:
    mods = sources()
    assert "ratio.policies.nested_wait" in mods and "ratio.engine" in mods
    assert engine_imports(mods) == []


def test_no_policy_reads_behind_the_state() -> None:
    assert private_reads(sources()) == []
    mods = sources()
    mods["ratio.policies.sarathi"] += "\n\ndef _peek(state):\n    return state._r.O\n"
    assert [r.split(" ")[1] for r in private_reads(mods)] == ["_r"]


def test_no_import_circle() -> None:
    assert cycles(sources()) == []


def test_a_planted_engine_import_is_caught() -> None:
    mods = sources()
    mods["ratio.policies.wait"] += "\n\ndef _peek():\n    from ratio.engine import _Steps\n"
    assert engine_imports(mods) == ["ratio.policies.wait -> ratio.engine"]
    mods = sources()
    mods["ratio.policies.orca"] += "\nfrom ratio import simulate\n"
    assert engine_imports(mods) == ["ratio.policies.orca -> ratio"]


def test_a_planted_circle_is_caught() -> None:
    mods = sources()
    # views imports tau; tau importing views closes a circle.
    mods["ratio.queueing.tau"] += "\nfrom ratio.queueing.views import Work\n"
    assert ["ratio.queueing.tau", "ratio.queueing.views"] in cycles(mods)
    # Imports under TYPE_CHECKING do not run, so they make no circle.
    mods = sources()
    mods["ratio.queueing.tau"] += (
        "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ratio.queueing.views import Work\n"
    )
    assert cycles(mods) == []
