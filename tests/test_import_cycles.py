"""Import layering: no cycle between lumen_ext packages, and the stage planner, the rollup cubes and the cache
runtime take the store as an argument (no import path leads back to them).

Before, ``cache.stages`` and ``cache.rollup`` asked ``cache.runtime`` for the active store, so the runtime
imported the planner that imported the runtime (inside functions, which a module-level check does not see). The
graph here holds every ``import`` of a lumen_ext module, function bodies included.
"""

from __future__ import annotations

import ast

from support.paths import REPO

# Modules that no cycle may run through. cache.runtime joins them once its installation no longer calls
# cache.instant_updates, which imports it back (the hooks table installs both).
# The planner is cache.stages and the modules it was split into.
ACYCLIC = (
    "lumen_ext.cache.stages",
    "lumen_ext.cache.stage_plan",
    "lumen_ext.cache.pushdown_stages",
    "lumen_ext.cache.rollup_stage",
    "lumen_ext.cache.sql_chain",
    "lumen_ext.cache.rollup",
    "lumen_ext.cache.runtime",
)


def _graph() -> dict[str, set[str]]:
    """lumen_ext module -> the lumen_ext modules it imports anywhere in its code."""
    modules, packages = {}, set()
    for path in (REPO / "lumen_ext").rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
            packages.add(".".join(parts))
        modules[".".join(parts)] = ast.parse(path.read_text(), str(path))
    known = set(modules)
    return {name: _imports(name, tree, known, name in packages) for name, tree in modules.items()}


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``: annotations only, never imported at run time."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skipped.update(id(child) for child in ast.walk(node))
    return skipped


def _imports(name: str, tree: ast.Module, known: set[str], is_package: bool) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` needs the submodule, not whatever package/__init__ imports
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return (found & known) - {name}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    return components


def test_the_graph_sees_imports_inside_functions():
    graph = _graph()
    assert "lumen_ext.cache.runtime" in graph["lumen_ext.views.plot_memo"]  # inside frame_key only
    assert (
        "lumen_ext.cache.csv_copies" in graph["lumen_ext.cache.filescan"]
    )  # `from lumen_ext.cache import ..`
    assert "lumen_ext.cache" not in graph["lumen_ext.cache.filescan"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycle_runs_through_the_planner_or_the_rollups():
    through = [sorted(c) for c in _cycles(_graph()) if c & set(ACYCLIC)]
    assert through == []


def _package(module: str) -> str:
    """``lumen_ext.cache.stages`` -> ``lumen_ext.cache``; top-level modules (``lumen_ext.cli``) stand alone."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_packages():
    """The packages layer: hooks at the bottom (its table names features by string), then cache, security,
    validation, views and serving above what they use; no package imports one that imports it back."""
    packages: dict[str, set[str]] = {}
    for module, imported in _graph().items():
        here = _package(module)
        packages.setdefault(here, set()).update(
            _package(other) for other in imported if _package(other) != here
        )
    assert [sorted(cycle) for cycle in _cycles(packages)] == []
