"""The package's shape: no import circle, ``train/`` independent of ``toy/`` and ``bench/``, light imports.

The import graph is read statically with :mod:`ast` from every module under ``rewardkit/``: imports at
module level and inside functions alike (a lazy import still ties two modules together), and
``from package import name`` counted as an import of ``package.name`` when that is a submodule.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rewardkit

ROOT = Path(rewardkit.__file__).resolve().parent
PACKAGE = "rewardkit"


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved against ``name``)."""
    if not node.level:
        return node.module or ""
    base = name.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The rewardkit modules ``name`` imports anywhere in its file (module or function level)."""
    found: set[str] = set()

    def add(target: str) -> None:
        # ``import a.b.c`` runs a, a.b and a.b.c; the nearest existing module is the edge that matters
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, name, path.name == "__init__.py")
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                add(sub if sub in modules else source)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest import circle through the component's first module, for the message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return component


def test_the_graph_sees_function_level_and_submodule_imports(tmp_path):
    pkg = tmp_path / "rewardkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "leaf.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from rewardkit.sub import leaf\n")
    (pkg / "b.py").write_text("from .sub import leaf as x\nfrom . import a\n")
    modules = {"rewardkit", "rewardkit.sub", "rewardkit.sub.leaf", "rewardkit.a", "rewardkit.b"}
    assert imports_of("rewardkit.a", pkg / "a.py", modules) == {"rewardkit.sub.leaf"}
    assert imports_of("rewardkit.b", pkg / "b.py", modules) == {"rewardkit.sub.leaf", "rewardkit.a"}
    graph = {"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}
    assert strongly_connected(graph) == [["x", "y", "z"]]
    assert one_cycle(graph, ["x", "y", "z"]) == ["x", "y", "z", "x"]


def test_no_import_circle_among_rewardkit_modules():
    graph = import_graph()
    circles = [" -> ".join(one_cycle(graph, c)) for c in strongly_connected(graph)]
    assert not circles, "import circles (each: modules that import one another):\n" + "\n".join(circles)


def test_train_imports_neither_toy_nor_bench():
    graph = import_graph()
    bad = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name.startswith(f"{PACKAGE}.train.") or name == f"{PACKAGE}.train"
        for target in targets
        if target.split(".")[1:2] in (["toy"], ["bench"])
    )
    assert not bad, "rewardkit.train must not depend on toy/ or bench/:\n" + "\n".join(bad)


def test_importing_rewardkit_and_functional_loads_no_heavy_package():
    code = (
        "import sys, rewardkit, rewardkit.functional, rewardkit.rewards, rewardkit.registry; "
        "print(sorted(m for m in ('torch', 'open_clip', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
