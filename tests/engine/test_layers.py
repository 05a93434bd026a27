"""The engine's modules depend one way (docs/architecture.md): each imports only modules of its own layer or of
the layers below, the import graph has no cycle, and nothing of the engine imports `openagc.api`.

Imports are read with `ast` from the source: module-level, function-level and `TYPE_CHECKING` ones alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import openagc

SRC = Path(openagc.__file__).parent
ENGINE = SRC / "engine"
PACKAGE = "openagc.engine"

#: Bottom to top. A module reaches what it needs from a layer above it through a Protocol it owns
#: (`context.Host`; `watcher.Woken`, `manager.ManagerHost`, `reconcile.ReconcileHost`, `http.AgentEngine`).
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("foundations", frozenset({"logs", "agent_phone", "states", "topics", "callers"})),
    ("session", frozenset({"context", "session"})),
    ("call operations", frozenset({"media", "transfer", "remote", "routing", "events"})),
    ("commands", frozenset({"command_outcomes", "commands"})),
    ("runtime", frozenset({"runtime", "watcher", "manager", "reconcile", "http", "demo_centre", "simulate",
                              "shards"})),
)
LEVEL = {module: level for level, (_, modules) in enumerate(LAYERS) for module in modules}
#: Shared with the API (moved out of it for the engine): they import neither the API nor the engine.
NEUTRAL = ("services.py", "credentials.py", "store/url_ids.py")


def _imported(path: Path, package: str) -> set[str]:
    """Every module `path` imports (dotted names), wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def _engine_modules() -> list[str]:
    return sorted(p.stem for p in ENGINE.glob("*.py") if p.stem != "__init__")


def _graph() -> dict[str, set[str]]:
    """Engine module → the engine modules it imports."""
    modules = set(_engine_modules())
    graph = {}
    for module in modules:
        names = _imported(ENGINE / f"{module}.py", PACKAGE)
        graph[module] = {n.removeprefix(f"{PACKAGE}.") for n in names
                         if n.startswith(f"{PACKAGE}.") and n.removeprefix(f"{PACKAGE}.") in modules} - {module}
    return graph


def test_every_engine_module_has_a_layer() -> None:
    assert sorted(set(_engine_modules()) - set(LEVEL)) == []
    assert sorted(set(LEVEL) - set(_engine_modules())) == []


def test_imports_run_down_the_layers() -> None:
    upward = sorted(f"{m} ({LAYERS[LEVEL[m]][0]}) → {t} ({LAYERS[LEVEL[t]][0]})"
                    for m, targets in _graph().items() for t in targets if LEVEL[t] > LEVEL[m])
    assert upward == []


def test_the_engine_import_graph_has_no_cycle() -> None:
    graph = _graph()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module):], module])
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_the_engine_imports_nothing_of_the_api() -> None:
    reached = sorted(f"{path.relative_to(SRC)}: {name}" for path in ENGINE.glob("*.py")
                     for name in _imported(path, PACKAGE) if name == "openagc.api" or name.startswith("openagc.api."))
    assert reached == []


def test_what_the_engine_shares_with_the_api_is_neutral() -> None:
    reached = sorted(f"{rel}: {name}" for rel in NEUTRAL
                     for name in _imported(SRC / rel, "openagc" if "/" not in rel else "openagc.store")
                     if name.startswith(("openagc.api", "openagc.engine")))
    assert reached == []


def test_the_reader_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from openagc.engine import runtime\n\nif X:\n    from . import session\n")
    assert {"openagc.engine.runtime", "openagc.engine.session"} <= _imported(module, PACKAGE)
