"""Nothing typed is lost: the note editor killed with SIGKILL after an autosave,
and a save on a really full filesystem (a small tmpfs in a private mount
namespace), each in a child process running the real editor offscreen."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from tests.conftest import PASSPHRASE
from tests.helpers import ROOT
from tests.helpers import add_person
from tests.note_editor_child import FIRST
from tests.note_editor_child import SECOND

CHILD = ROOT / "tests" / "note_editor_child.py"


def _read_line(proc: subprocess.Popen, deadline: float) -> str:
    """The child's next line of output, or fail when the deadline passes."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (proc.poll() is not None and not sel.select(0)):
                raise AssertionError(
                    f"the editor process gave no line in time: {proc.stderr.read()[-2000:]!r}"
                )
            if sel.select(timeout=left):
                line = proc.stdout.readline()
                if line:
                    return line.strip()
    finally:
        sel.close()


def test_kill_9_after_an_autosave_loses_nothing(vault, tmp_path: Path):
    s = Store.open(vault)
    pid = add_person(Repositories(s), "Marisol", "Quenby").id
    s.close()
    vault.lock()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "crash", str(vault.dir), pid],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        lines = [_read_line(proc, deadline)]
        while not lines[-1].startswith("SAVED 2 "):
            lines.append(_read_line(proc, deadline))
        proc.send_signal(signal.SIGKILL)  # no chance to close the store cleanly
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    note_id = lines[-1].split()[2]

    reopened = Vault(vault.dir)
    reopened.unlock(PASSPHRASE)
    s = Store.open(reopened)
    try:
        note = Repositories(s).encounters.require(note_id)
        assert note.response == FIRST + SECOND
        assert note.participant_id == pid
    finally:
        s.close()


def test_a_really_full_filesystem_keeps_the_draft_and_the_retry_saves(tmp_path: Path):
    """A 4 MiB tmpfs filled to the last byte while the editor holds a long draft."""
    if not shutil.which("unshare") or sys.platform != "linux":
        pytest.skip("needs Linux unshare to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    cmd = (
        f"mount -t tmpfs -o size=4m tmpfs {mnt} && cd {ROOT} && "
        f"QT_QPA_PLATFORM=offscreen PYTHONPATH={ROOT} "
        f"{sys.executable} {CHILD} diskfull {mnt}/vault"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, timeout=180
    )
    if "mount" in proc.stderr and proc.returncode != 0 and not proc.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:120]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "saved_while_full" not in seen, "the filesystem was not full enough"
    assert "disk is full" in seen["message"]
    assert seen["editor_kept_text"] and seen["dirty"]
    assert seen["error_box"] and seen["save_state"] == "Not saved"
    assert seen["saved_after_retry"] and not seen["error_box_after_retry"]
    assert seen["stored_matches"]
