"""The module graph of the package has no circle: read from every import statement (at
module level, inside functions, and under ``TYPE_CHECKING``), so a lazy or typing-only
import that closes a circle fails too. ``from a.b import c`` counts as an import of the
module ``a.b.c`` when there is one, else of ``a.b``. Also: the plots import no engine, and
the numerics import no PyMC."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "bayesmeta"


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in ROOT.rglob("*.py")}


def _imports(mod: str) -> set[str]:
    path = MODULES[mod]
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return {m for m in out if m in MODULES and m != mod}


GRAPH = {m: _imports(m) for m in MODULES}


def _cycles() -> list[list[str]]:
    """One circle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(GRAPH[v]):
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
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_graph_is_read():
    assert len(GRAPH) > 50
    assert "bayesmeta.results" in GRAPH["bayesmeta.classical.fit"]
    assert "bayesmeta.hierarchical.summaries" in GRAPH["bayesmeta.hierarchical.bayesian_meta"]


def test_no_import_circle():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_circle(monkeypatch):
    monkeypatch.setitem(GRAPH, "bayesmeta.results", GRAPH["bayesmeta.results"] | {
        "bayesmeta.classical.fit"})  # fmt: skip
    assert ["bayesmeta.classical.fit", "bayesmeta.results"] in _cycles()


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if m.startswith("bayesmeta.plots")))
def test_plots_import_no_engine(mod):
    engines = ("bayesmeta.classical", "bayesmeta.exact", "bayesmeta.hierarchical")
    assert not [m for m in GRAPH[mod] if m.startswith(engines)]


NUMERICS = sorted(m for m in MODULES if m.startswith(("bayesmeta.classical", "bayesmeta.exact")))


@pytest.mark.parametrize("mod", NUMERICS)
def test_numerics_import_no_pymc(mod):
    names: set[str] = set()
    for n in ast.walk(ast.parse(MODULES[mod].read_text(encoding="utf-8"))):
        if isinstance(n, ast.Import):
            names |= {x.name for x in n.names}
        elif isinstance(n, ast.ImportFrom):
            names.add(n.module or "")
    assert not [n for n in names if n.split(".")[0] in ("pymc", "pytensor", "arviz")]
