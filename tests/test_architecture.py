"""The package's shape: no import cycle between modules or between folders, and no oversized module.

Imports are read from the source (inside functions too), so a cycle hidden behind a function-level import
counts; a lazy name in ``latentexplorer/__init__.py`` is a string, not an import, and the package itself is
never a node of its own graph.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "latentexplorer"

#: The longest a module may grow; a longer one holds more than one job.
MAX_LINES = 520


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports anywhere in its source (``from P import m`` counts ``P.m``)."""
    modules = _modules()
    graph = defaultdict(set)
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{source}.{alias.name}" for alias in node.names]
                targets = [t if t in modules else source for t in targets]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name and t != "latentexplorer")
    return graph


def folder_graphs(graph) -> dict[str, dict[str, set[str]]]:
    """For each package, the graph of its direct children (modules and sub-folders) that its modules' imports draw."""
    out = defaultdict(lambda: defaultdict(set))
    for source, targets in graph.items():
        for target in targets:
            a, b = source.split("."), target.split(".")
            k = 0
            while k < min(len(a), len(b)) and a[k] == b[k]:
                k += 1
            if k < len(a) and k < len(b):
                out[".".join(a[:k])][a[k]].add(b[k])
    return out


def cycles(graph) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan), each sorted."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_through_others():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("level", ["latentexplorer", "latentexplorer.ved", "latentexplorer.ages",
                                   "latentexplorer.steps", "latentexplorer.io", "latentexplorer.audits"])
def test_no_two_folders_import_each_other(level):
    assert cycles(folder_graphs(import_graph()).get(level, {})) == []


def test_every_folder_level_is_free_of_cycles():
    found = {level: c for level, graph in folder_graphs(import_graph()).items() if (c := cycles(graph))}
    assert found == {}


def test_no_module_is_longer_than_one_job_needs():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
