"""A child process for tests/test_note_crash.py: the note editor on a real vault,
offscreen, driven by its own signals (no sleeps).

    python tests/note_editor_child.py crash VAULT_DIR PARTICIPANT_ID
        types into a new note; prints "SAVED <n> <encounter id>" after each autosave
        reached the vault, and keeps running until it is killed.

    python tests/note_editor_child.py diskfull VAULT_DIR
        makes a vault (in a small tmpfs), fills the filesystem, saves a draft, frees
        the space, saves again; prints one JSON line with what it saw.

Only invented text; nothing personal is printed.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.records import Participant
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.notes.note_editor import NoteEditorPage
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager

PASSPHRASE = "test passphrase 42"
FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}
FIRST = "Walked to the food pantry together"
SECOND = "; planned the bus route for Monday"


def _context(vault: Vault) -> tuple[AppContext, TaskManager]:
    store = Store.open(vault)
    user = Repositories(store).users.require(store.user_id)
    tasks = TaskManager()
    return AppContext(tasks, Session(vault, store), user), tasks


def crash(vault_dir: str, participant_id: str) -> int:
    app = QApplication([])
    vault = Vault(vault_dir)
    vault.unlock(PASSPHRASE)
    ctx, _tasks = _context(vault)
    page = NoteEditorPage(ctx)
    page.autosave_ms = 200
    page.resize(1000, 700)
    page.show()
    saves = {"n": 0}

    def on_loaded(_id: str) -> None:
        QTest.keyClicks(page.text_edits["response"], FIRST)

    def on_saved(note_id: str) -> None:
        saves["n"] += 1
        print(f"SAVED {saves['n']} {note_id}", flush=True)
        if saves["n"] == 1:
            QTest.keyClicks(page.text_edits["response"], SECOND)

    page.loaded.connect(on_loaded)
    page.saved.connect(on_saved)
    page.open_note("", participant_id)
    return app.exec()  # until SIGKILL


def _fill_filesystem(folder: Path) -> None:
    """Write a junk file until the filesystem has no byte left."""
    fd = os.open(folder / "junk.bin", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def diskfull(vault_dir: str) -> int:
    app = QApplication([])
    vault = Vault(vault_dir)
    vault.create(PASSPHRASE, FAST_KDF)
    ctx, tasks = _context(vault)
    participant = Repositories(ctx.session.store).participants.add(
        Participant(first_name="Corvina", last_name="Testabury")
    )
    page = NoteEditorPage(ctx)
    page.autosave_ms = 10 * 60 * 1000  # the script saves by itself
    page.show()
    text = "Read the lease together and marked the parts to ask about. " * 400
    seen: dict[str, object] = {}

    def finish() -> None:
        note = Repositories(ctx.session.store).encounters.get(page.current_note_id())
        seen["stored_matches"] = note is not None and note.response == text
        print(json.dumps(seen), flush=True)
        tasks.shutdown(final=ctx.session.close)
        app.quit()

    def on_saved(_id: str) -> None:
        if "message" in seen:  # the retry after freeing space
            seen["saved_after_retry"] = True
            seen["error_box_after_retry"] = page.save_error_box.isVisibleTo(page)
            QTimer.singleShot(0, lambda: tasks.run(lambda: None, lambda _r: finish()))
        else:
            seen["saved_while_full"] = True
            QTimer.singleShot(0, finish)

    def on_failed(message: str) -> None:
        seen["message"] = message
        seen["editor_kept_text"] = page.text_edits["response"].toPlainText() == text
        seen["error_box"] = page.save_error_box.isVisibleTo(page)
        seen["save_state"] = page.save_state.text()
        seen["dirty"] = page.dirty
        for junk in Path(vault_dir).parent.glob("junk*.bin"):
            junk.unlink()
        page.save_now()  # the next save retries

    def on_loaded(_id: str) -> None:
        _fill_filesystem(Path(vault_dir).parent)
        page.text_edits["response"].setPlainText(text)
        page.save_now()

    def watchdog() -> None:
        seen["timed_out"] = True
        print(json.dumps(seen), flush=True)
        app.exit(3)

    QTimer.singleShot(120_000, watchdog)  # never hang the test run
    page.loaded.connect(on_loaded)
    page.saved.connect(on_saved)
    page.save_failed.connect(on_failed)
    page.open_note("", participant.id)
    return app.exec()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "crash":
        sys.exit(crash(sys.argv[2], sys.argv[3]))
    if mode == "diskfull":
        sys.exit(diskfull(sys.argv[2]))
    sys.exit(f"unknown mode {mode}")
