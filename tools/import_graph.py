"""Print the import graph between Tutela's top-level packages and any cycle in it.

Usage::

    python tools/import_graph.py            # package -> packages it imports, then cycles
    python tools/import_graph.py --modules  # the same between modules (files)
    python tools/import_graph.py --dot      # Graphviz text of the package graph

Every ``import`` and ``from ... import`` in ``src/tutela`` is read with :mod:`ast`,
including imports inside functions (a function-local import is still a dependency;
hiding a cycle in one is what this script is for). ``if TYPE_CHECKING:`` blocks are
left out: they do not run. Exit status 1 when the package graph has a cycle.

The rules the graph must keep are in ``docs/architecture.md``; the test
``tests/test_architecture.py`` checks them on every run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT_PACKAGE = "tutela"


def module_name(path: Path, src: Path = SRC) -> str:
    """Dotted module name of ``path`` under ``src`` (``__init__`` names its package)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def imports_of(path: Path, src: Path = SRC) -> set[str]:
    """Absolute names of the ``tutela`` modules that ``path`` imports (at any depth)."""
    name = module_name(path, src)
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from tutela.store import ledger`` imports the module ``tutela.store.ledger``
            # (as ``from tutela.store.ledger import x`` does), not a name of the package's
            # ``__init__``; a name that is no module is taken from the ``__init__``.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _module_path(candidate, src) is not None else target)
    return {item for item in found if item == ROOT_PACKAGE or item.startswith(ROOT_PACKAGE + ".")}


def _module_path(name: str, src: Path = SRC) -> Path | None:
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def top_package(module: str) -> str:
    """``tutela.store.models`` -> ``store``; a top-level module names itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the ``tutela`` modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((src / ROOT_PACKAGE).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        graph[module_name(path, src)] = imports_of(path, src)
    return graph


def package_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Top-level package -> the other top-level packages it imports."""
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph(src).items():
        source = top_package(module)
        edges = graph.setdefault(source, set())
        for target in targets:
            other = top_package(target)
            if other != source and other != ROOT_PACKAGE:
                edges.add(other)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="graph between modules")
    parser.add_argument("--dot", action="store_true", help="print Graphviz text")
    args = parser.parse_args(argv)
    graph = module_graph() if args.modules else package_graph()
    if args.dot:
        print("digraph tutela {")
        for source in sorted(graph):
            for target in sorted(graph[source]):
                print(f'  "{source}" -> "{target}";')
        print("}")
    else:
        for source in sorted(graph):
            print(f"{source:<14} -> {', '.join(sorted(graph[source])) or '-'}")
    found = cycles(graph)
    print(f"\ncycles: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    return 1 if found and not args.modules else 0


if __name__ == "__main__":
    raise SystemExit(main())
