"""The desktop checks every page of the vault in the background after unlocking
(app.store.page_check): reads go on meanwhile, the first write waits for the check,
and a damaged page is still never written to. Real SQLCipher files with bytes
flipped in a page that opening does not read (the audit log's); the undamaged copy
works, so the tests can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlcipher3
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain.records import Participant
from app.store.db import Store
from app.store.errors import VaultDamaged
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.shell.main_window import MainWindow
from tests.conftest import PASSPHRASE
from tests.helpers import flip_bytes
from tests.helpers import snapshot


@pytest.fixture
def clean(tmp_path: Path, fast_kdf) -> tuple[Path, int]:
    """A vault with 400 people (so the audit log spans many pages), and the root page
    of its audit log."""
    folder = tmp_path / "clean"
    vault = Vault(folder)
    vault.create(PASSPHRASE)
    store = Store.open(vault)
    repos = Repositories(store)
    repos.participants.add_many(
        Participant(first_name=f"Quillan{i:03d}", last_name="Vantresca") for i in range(400)
    )
    for p in repos.participants.list(limit=300):
        store.audit("view", "participants", p.id)
    root = store.conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'"
    ).fetchone()[0]
    store.close()
    vault.lock()
    return folder, root


def _copy(clean: tuple[Path, int], tmp_path: Path, damaged: bool) -> Path:
    folder = tmp_path / ("damaged" if damaged else "good")
    shutil.copytree(clean[0], folder)
    if damaged:
        flip_bytes(folder / "peertrail.db", clean[1])
    return folder


def _open_checking(folder: Path) -> tuple[Vault, Store]:
    """The vault in ``folder`` unlocked, and its store opened with the page check to
    run in the background."""
    vault = Vault(folder)
    vault.unlock(PASSPHRASE)
    return vault, Store.open(vault, check_in_background=True)


def test_reads_go_on_and_the_first_write_is_refused_on_a_damaged_page(clean, tmp_path):
    folder = _copy(clean, tmp_path, damaged=True)
    before = snapshot(folder)
    vault, store = _open_checking(folder)  # opens: the page is not read
    heard: list[BaseException | None] = []
    try:
        assert len(Repositories(store).participants.caseload()) == 400
        # An audited read goes on while the check has not ended; its entry is held.
        person = Repositories(store).participants.caseload()[0]
        assert Repositories(store).participants.open(person.id).id == person.id
        with pytest.raises(VaultDamaged):
            store.set_meta("note_times:x", "{}")
        with pytest.raises(VaultDamaged):  # every write, not only the first
            Repositories(store).participants.add(Participant(first_name="A", last_name="B"))
        with pytest.raises(VaultDamaged):  # and, the damage known, every audited read
            Repositories(store).participants.open(person.id)
        # A write outside transaction() (straight on the connection) is refused too.
        with pytest.raises(sqlcipher3.DatabaseError):
            store.conn.execute("UPDATE meta SET value = value WHERE key = 'device_id'")
        store.when_pages_checked(heard.append)
    finally:
        store.close()
        vault.lock()
    assert len(heard) == 1 and isinstance(heard[0], VaultDamaged)
    assert snapshot(folder) == before  # nothing written
    # Opened the way the command line opens it, the damage is found before anything.
    vault.unlock(PASSPHRASE)
    with pytest.raises(VaultDamaged):
        Store.open(vault)
    vault.lock()


def test_an_undamaged_vault_writes_after_the_check(clean, tmp_path):
    folder = _copy(clean, tmp_path, damaged=False)
    vault, store = _open_checking(folder)
    heard: list[BaseException | None] = []
    try:
        person = Repositories(store).participants.caseload()[0]
        Repositories(store).participants.open(person.id)  # read at once, entry held
        store.set_meta("note_times:x", "{}")
        assert store.page_check is None  # the write waited for it, and it passed
        views = store.conn.execute(
            "SELECT record_id FROM audit_log WHERE action = 'view' ORDER BY seq"
        ).fetchall()
        assert views[-1] == (person.id,)  # the held entry was written first
        store.when_pages_checked(heard.append)
        assert store.meta("note_times:x") == "{}"
    finally:
        store.close()
        vault.lock()
    assert heard == [None]


def test_locking_does_not_wait_for_a_check_under_way(clean, tmp_path):
    folder = _copy(clean, tmp_path, damaged=True)
    vault, store = _open_checking(folder)
    heard: list[BaseException | None] = []
    store.when_pages_checked(heard.append)
    store.start_page_check()
    check = store.page_check
    assert check is not None
    store.close()  # returns at once; the check reads on by itself
    vault.lock()
    check.stop(wait=True)
    assert check.done and heard == []  # a store that closed hears nothing more
    # A check never started is dropped at close, its connection closed.
    vault.unlock(PASSPHRASE)
    store = Store.open(vault, check_in_background=True)
    store.close()
    vault.lock()
    assert store.page_check is not None and not store.page_check.done


def test_the_window_locks_and_says_so_when_a_page_is_damaged(qtbot, clean, tmp_path):
    folder = _copy(clean, tmp_path, damaged=True)
    before = snapshot(folder)
    w = MainWindow(folder)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    edit = w.start.unlock_page.passphrase
    qtbot.keyClicks(edit, PASSPHRASE)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    error = w.start.unlock_page.error
    qtbot.waitUntil(lambda: error.isVisible() and "damaged" in error.text(), timeout=20_000)
    assert w.session is None and w.workspace is None
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=20_000)
    w.close()
    QApplication.processEvents()
    assert snapshot(folder) == before


def test_the_window_opens_an_undamaged_vault(qtbot, clean, tmp_path):
    folder = _copy(clean, tmp_path, damaged=False)
    w = MainWindow(folder)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    edit = w.start.unlock_page.passphrase
    qtbot.keyClicks(edit, PASSPHRASE)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace is not None and w.model.rowCount() == 400, timeout=20_000)
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=20_000)
    QApplication.processEvents()
    assert w.session is not None and not w.start.unlock_page.error.isVisible()
    w.close()
