"""Shared fixtures: a real SQLCipher vault in a temporary folder per test.

Tests use real Argon2id with a small memory cost (the stored parameters make
that per-vault), so the suite stays quick while running the real code path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault

PASSPHRASE = "test passphrase 42"
FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}


@pytest.fixture
def fast_kdf(monkeypatch):
    """Make new vaults (also those the CLI creates in-process) use cheap KDF settings."""
    monkeypatch.setattr("app.store.vault.DEFAULT_KDF", FAST_KDF)
    return FAST_KDF


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(vault_dir: Path, fast_kdf) -> Vault:
    v = Vault(vault_dir)
    v.recovery_key = v.create(PASSPHRASE)  # type: ignore[attr-defined]
    return v


@pytest.fixture
def store(vault: Vault):
    s = Store.open(vault)
    yield s
    s.close()


@pytest.fixture
def repos(store: Store) -> Repositories:
    return Repositories(store)


from tests.laptop import laptops  # noqa: E402, F401  (fixture)
from tests.ui_support import app_ctx  # noqa: E402, F401  (fixtures)
from tests.ui_support import app_ctx_for  # noqa: E402, F401  (fixtures)
from tests.ui_support import make_window  # noqa: E402, F401  (fixtures)


@pytest.fixture(autouse=True)
def _qt_style_restored():
    """A test that applies a style sheet, palette or font size to the application (the
    fit, theme and font-size tests, the note flow) leaves the next test the
    application as it found it, including the base sheet font sizes scale from."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = (
        (app.styleSheet(), app.palette(), app.font(), app.property("peertrail_base_sheet"))
        if app is not None
        else None
    )
    yield
    app = QApplication.instance()
    if app is None:
        return
    if before is None:
        app.setStyleSheet("")
        app.setProperty("peertrail_base_sheet", None)
        return
    sheet, palette, font, base = before
    if app.property("peertrail_base_sheet") != base:
        app.setProperty("peertrail_base_sheet", base)
    if app.font() != font:
        app.setFont(font)
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
