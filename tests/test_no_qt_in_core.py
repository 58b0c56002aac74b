"""The core (domain, store, billing, sync) never needs Qt, and the domain needs no store.

Checked twice: by importing the core in a fresh interpreter and looking at
``sys.modules``, and by reading every source file's imports (including imports
inside functions and ``importlib.import_module("...")`` with a literal name).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import last_json
from tests.helpers import run_python

ROOT = Path(__file__).resolve().parent.parent

CORE_MODULES = [
    "app.domain.records",
    "app.domain.units",
    "app.domain.lifecycle",
    "app.domain.validation",
    "app.store.vault",
    "app.store.db",
    "app.store.repositories",
    "app.store.search",
    "app.store.digest",
    "app.services.vaults",
    "app.services.review",
    "app.services.billing",
    "app.services.billing_batches",
    "app.services.syncing",
    "app.paths",
    "sync.hlc",
]
QT = {"PySide6", "shiboken6"}
QT_FREE_DIRS = ["app/domain", "app/store", "app/services", "app/billing", "app/reports", "sync"]
DOMAIN_FORBIDDEN_TOP = {"sqlite3", "sqlcipher3", "pysqlcipher3", "PySide6", "shiboken6"}
DOMAIN_FORBIDDEN_PREFIXES = ("app.store", "app.ui")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module name a source file imports, relative imports resolved."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
            ):
                found.add(arg.value)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _py_files(rel_dir: str) -> list[Path]:
    return sorted((ROOT / rel_dir).rglob("*.py"))


def _imports_of(path: Path) -> set[str]:
    return imported_modules(
        path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
    )


def test_importing_the_core_does_not_load_qt() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {CORE_MODULES!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules "
        "if k.split('.')[0] in ('PySide6', 'shiboken6'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("QT_API", None)
    proc = run_python("-c", code, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout) == []


def test_the_subprocess_check_would_notice_qt() -> None:
    """Guard against a vacuous pass: the same probe does see PySide6 when it is loaded."""
    pytest.importorskip("PySide6")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, PySide6; print('PySide6' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == "True"


@pytest.mark.parametrize("rel_dir", QT_FREE_DIRS)
def test_core_sources_never_import_qt(rel_dir: str) -> None:
    files = _py_files(rel_dir)
    assert files, f"no sources under {rel_dir}"
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports_of(p) if _top(m) in QT) for p in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_domain_imports_no_database_store_or_ui() -> None:
    files = _py_files("app/domain")
    assert files
    offenders: dict[str, list[str]] = {}
    for p in files:
        bad = sorted(
            m
            for m in _imports_of(p)
            if _top(m) in DOMAIN_FORBIDDEN_TOP
            or any(m == x or m.startswith(x + ".") for x in DOMAIN_FORBIDDEN_PREFIXES)
        )
        if bad:
            offenders[str(p.relative_to(ROOT))] = bad
    assert offenders == {}


# --- the checker itself ---


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import PySide6.QtCore", "app.store.x", "PySide6.QtCore"),
        ("from PySide6 import QtWidgets", "app.store.x", "PySide6"),
        ("def f():\n    import shiboken6\n", "sync.x", "shiboken6"),
        ("import importlib\nimportlib.import_module('PySide6.QtGui')", "sync.x", "PySide6.QtGui"),
        ("__import__('PySide6')", "sync.x", "PySide6"),
        ("from ..store import db", "app.domain.x", "app.store"),
        ("from ..ui.main import Window", "app.domain.x", "app.ui.main"),
        ("from app.store.db import Store", "app.domain.x", "app.store.db"),
        ("from . import records", "app.domain.x", "app.domain.records"),
        ("from .records import User", "app.domain", "app.domain.records"),
        ("import sqlcipher3.dbapi2 as sq", "app.domain.x", "sqlcipher3.dbapi2"),
        ("try:\n    import sqlite3\nexcept ImportError:\n    pass\n", "app.domain.x", "sqlite3"),
    ],
)
def test_import_scanner_finds(source: str, module: str, expected: str) -> None:
    is_package = module == "app.domain"
    assert expected in imported_modules(source, module, is_package)
