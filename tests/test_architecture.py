"""The package rules of docs/architecture.md, checked on the source itself.

Each test reads ``src/tutela`` with :mod:`ast` (``tools/import_graph.py``), so an import hidden
inside a function counts, and a violation names the file and line.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import tutela
from tutela.errors import TutelaError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "tutela"


def _import_graph() -> ModuleType:
    path = ROOT / "tools" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


graph = _import_graph()

# docs/architecture.md, "Packages and layers": lowest first.
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        ("errors", "domain", "encodings", "files", "private", "safeload", "configfile", "metrics"),
        0,
    ),
    "ledger": 1,
    "ingest": 2,
    "connectors": 2,
    "detect": 3,
    "store": 4,
    "policy": 5,
    "persona": 5,
    "accounts": 6,
    "cases": 7,
    "evidence": 8,
    "research": 8,
    "live": 9,
    "runtime": 8,  # below live: the demo and the runner build through it
    "web": 10,
    "cli": 10,
    "__main__": 11,
}
# Imports within one layer that the table allows.
SAME_LAYER = {
    ("files", "errors"),
    ("private", "errors"),
    ("metrics", "errors"),
    ("configfile", "errors"),
    ("configfile", "safeload"),
    ("configfile", "files"),
    ("domain", "errors"),
    ("persona", "policy"),
    ("cli", "web"),
}


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_top_level_package_has_a_layer() -> None:
    packages = set(graph.package_graph(SRC)) - {"tutela"}
    assert packages - set(LAYERS) == set(), "add the new package to docs/architecture.md and LAYERS"


def test_no_import_cycle_between_packages() -> None:
    assert graph.cycles(graph.package_graph(SRC)) == []


def test_no_import_cycle_between_modules() -> None:
    # inside a package too: a cycle hidden in a function-local import is still a cycle
    assert graph.cycles(graph.module_graph(SRC)) == []


def test_packages_import_only_lower_layers() -> None:
    wrong = []
    for source, targets in graph.package_graph(SRC).items():
        if source == "tutela":
            continue
        for target in targets:
            if LAYERS[target] > LAYERS[source] or (
                LAYERS[target] == LAYERS[source] and (source, target) not in SAME_LAYER
            ):
                wrong.append(f"{source} (layer {LAYERS[source]}) -> {target} ({LAYERS[target]})")
    assert wrong == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


_SQL_MODULES = re.compile(r"^(sqlalchemy|alembic)(\.|$)|^tutela\.store\.(models|_\w+)(\.|$)")
_PRIVATE_STORE_CALL = re.compile(
    r"\b(recorder|store|self\.recorder|self\.store|rec)\.(_append|_audit|_now|_insert_message|"
    r"_conversation|_resolve_contact|_next_seq|_persona_of)\("
)


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_only_the_store_speaks_sql() -> None:
    wrong = []
    for path in _sources():
        if path.is_relative_to(PACKAGE / "store"):
            continue
        rel = path.relative_to(ROOT)
        for line, name in _imports(path):
            if _SQL_MODULES.search(name):
                wrong.append(f"{rel}:{line}: imports {name}")
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _PRIVATE_STORE_CALL.search(text):
                wrong.append(f"{rel}:{number}: calls a private store method: {text.strip()}")
    assert wrong == []


def test_the_sql_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(recorder):\n    from tutela.store.models import CaseRow\n"
        "    return recorder._audit(1)\n",
        encoding="utf-8",
    )
    assert any(_SQL_MODULES.search(name) for _, name in _imports(bad))
    assert _PRIVATE_STORE_CALL.search(bad.read_text(encoding="utf-8"))


MAX_LINES = 600


def test_no_module_over_600_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _all_modules() -> list[ModuleType]:
    modules = [tutela]
    for info in pkgutil.walk_packages(tutela.__path__, "tutela."):
        if ".migrations" in info.name or info.name == "tutela.__main__":
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def test_every_error_class_is_drawn_in_the_error_tree() -> None:
    import tutela.errors

    tree = tutela.errors.__doc__ or ""
    classes = {
        obj
        for module in _all_modules()
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, TutelaError) and obj.__module__.startswith("tutela")
    }
    missing = sorted(
        f"{c.__module__}.{c.__name__}" for c in classes if not re.search(rf"\b{c.__name__}\b", tree)
    )
    assert missing == []
    # one class per name: two different PermissionDenied (or any other) is what this rules out
    names = [c.__name__ for c in classes]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


@pytest.mark.parametrize("cited", ["DESIGN.md", "RECIPES.md", "../shared"])
def test_source_cites_only_the_repository(cited: str) -> None:
    wrong = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _sources()
        for n, text in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if cited in text
    ]
    assert wrong == []
