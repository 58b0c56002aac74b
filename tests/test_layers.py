"""The layers as a test, read from every module's imports (with ast, including
imports inside functions): who may import whom, and no import cycles.

    app.ui ──> app.services ──> app.store ──> app.domain
       │            │  └──> app.billing, app.reports (pure; Qt-free)
       └────────────┴──> sync (Qt-free core, shared with the server)

- app.domain imports nothing of app but itself, and nothing of sync;
- app.services imports domain, store, billing, reports and sync, never ui or Qt;
- app.ui imports services and domain (and the pure billing and reports helpers),
  never app.store;
- app.store, app.billing and app.reports never import services or ui;
- the command line (app.cli) calls services, never the store or sync;
- sync/ and sync/server never import app;
- the module import graph has no cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.test_no_qt_in_core import QT
from tests.test_no_qt_in_core import ROOT
from tests.test_no_qt_in_core import _module_name
from tests.test_no_qt_in_core import imported_modules

PACKAGES = ("app", "sync")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts[:3] and top == "sync":
                continue  # alembic scripts, loaded by alembic by path
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours an imported name refers to (``pkg.mod.Thing`` -> ``pkg.mod``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


class _DropTypeChecking(ast.NodeTransformer):
    """``if TYPE_CHECKING:`` imports are for the type checker: they never run, so
    they make no cycle (their ``else`` branch does run and is kept)."""

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        test = node.test
        name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
        if name == "TYPE_CHECKING":
            return [self.visit(n) for n in node.orelse]
        return self.generic_visit(node)


def _raw_imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = _DropTypeChecking().visit(ast.parse(path.read_text(encoding="utf-8")))
    source = ast.unparse(ast.fix_missing_locations(tree))
    return imported_modules(source, module, path.name == "__init__.py")


def imports_of(module: str) -> set[str]:
    """Our modules ``module`` imports (a ``from pkg import mod`` is an edge to
    ``pkg.mod``, not to the package)."""
    raw = _raw_imports(module)
    out: set[str] = set()
    for name in raw:
        target = _resolve(name)
        if target is None or target == module:
            continue
        # "from pkg import mod" also lists "pkg": keep it only if nothing under it
        # was named (the package's own __init__ was really used).
        named_below = any(o != name and o.startswith(name + ".") and o in MODULES for o in raw)
        if named_below and target == name:
            continue
        out.add(target)
    return out


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _offenders(sources: Iterable[str], forbidden: Iterable[str], allowed=()) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in sources:
        bad = sorted(
            t
            for t in imports_of(m) | {n for n in _raw_imports(m) if n.split(".")[0] in QT}
            if any(_under(t, f) for f in forbidden) and not any(_under(t, a) for a in allowed)
        )
        if bad:
            out[m] = bad
    return out


def _in(prefix: str) -> list[str]:
    found = [m for m in MODULES if _under(m, prefix)]
    assert found, f"no modules under {prefix}"
    return found


# The pure record facts both ends share (DESIGN §2: "the record schema is declared
# once"): the domain may read them, nothing else of sync (no clock, no client).
SHARED_CORE = ["sync.schema", "sync.enums", "sync.content", "sync.rules"]


def test_domain_imports_nothing_of_app_and_only_the_shared_record_core() -> None:
    allowed = ["app.domain", *SHARED_CORE]
    assert _offenders(_in("app.domain"), ["app", "sync", *QT], allowed=allowed) == {}


def test_the_shared_record_core_is_pure() -> None:
    """What the domain may import from sync imports nothing but itself."""
    assert _offenders(SHARED_CORE, ["sync", "app", *QT], allowed=SHARED_CORE) == {}


def test_services_import_the_core_but_never_the_ui_or_qt() -> None:
    assert _offenders(_in("app.services"), ["app.ui", "app.cli", "sync.server", *QT]) == {}


def test_ui_never_imports_the_store() -> None:
    assert _offenders(_in("app.ui"), ["app.store", "app.cli"]) == {}


@pytest.mark.parametrize("layer", ["app.store", "app.billing", "app.reports"])
def test_lower_layers_never_import_services_or_ui(layer: str) -> None:
    assert _offenders(_in(layer), ["app.services", "app.ui", "app.cli", *QT]) == {}


def test_the_command_line_calls_services_not_the_store() -> None:
    cli = _in("app.cli")
    assert _offenders(cli, ["app.store", "app.billing.x12", "sync"]) == {}


@pytest.mark.parametrize("top", ["sync", "sync.server"])
def test_sync_and_the_server_never_import_app(top: str) -> None:
    assert _offenders(_in(top), ["app"]) == {}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module (each one an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles() -> None:
    graph = {m: imports_of(m) for m in MODULES}
    assert strongly_connected(graph) == []


# --- the checker itself ---


def test_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_make_no_edge() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.store.db\n"
    tree = _DropTypeChecking().visit(ast.parse(source))
    assert "app.store.db" not in imported_modules(ast.unparse(tree), "app.ui.x")


def test_imports_resolve_to_modules_not_names() -> None:
    assert "app.store.db" in imports_of("app.store.repositories")  # from app.store.db import Store
    assert "app.store.audit" in imports_of("app.store.db")  # from app.store import audit
    assert "app.store" not in imports_of("app.store.db")


def test_the_layer_check_would_notice_a_ui_import_of_the_store(monkeypatch) -> None:
    monkeypatch.setitem(MODULES, "app.ui.fake", ROOT / "tests" / "fixtures" / "no_such.py")

    def fake_raw(module: str) -> set[str]:
        if module == "app.ui.fake":
            return {"app.store.db", "app.store.db.Store"}
        return set()

    monkeypatch.setattr(f"{__name__}._raw_imports", fake_raw)
    assert _offenders(["app.ui.fake"], ["app.store"]) == {"app.ui.fake": ["app.store.db"]}
