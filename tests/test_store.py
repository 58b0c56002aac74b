"""The store: audit chain, full disk, search, state digest, duplicates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from datetime import time
from pathlib import Path

import pytest

from app.domain.records import Participant
from app.store import audit
from app.store.db import Store
from app.store.digest import state_digest
from app.store.digest import status
from app.store.errors import DiskFull
from app.store.repositories import Repositories
from app.store.search import fts_query
from app.store.search import search
from tests.builders import add_encounter
from tests.helpers import ROOT
from tests.helpers import add_person


def test_audit_chain_intact_and_records_reads(repos, store):
    p = add_person(repos, "Ansel", "Brightwater")
    repos.participants.update(p.replace(county="Ward"))
    repos.participants.open(p.id)
    assert audit.verify(store.conn) == []
    actions = [e["action"] for e in audit.trail(store.conn, p.id)]
    assert actions == ["create", "change", "view"]
    change = audit.trail(store.conn, p.id)[1]
    assert change["detail"] == {"fields": ["county"]}  # field names, never values


def _tamper(store: Store, sql: str, *params) -> None:
    store.conn.execute("DROP TRIGGER audit_log_no_update")
    store.conn.execute("DROP TRIGGER audit_log_no_delete")
    with store.transaction(mode="purge"):
        store.conn.execute(sql, params)


def test_audit_chain_detects_a_modified_entry(repos, store):
    for i in range(5):
        add_person(repos, f"Bryony{i}", "Caskwell")
    _tamper(store, "UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 3")
    breaks = audit.verify(store.conn)
    assert [(b.seq, b.reason) for b in breaks] == [(3, "was modified after it was written")]


def test_audit_chain_detects_a_removed_entry(repos, store):
    for i in range(5):
        add_person(repos, f"Corwin{i}", "Dunmore")
    _tamper(store, "DELETE FROM audit_log WHERE seq = 4")
    assert [b.seq for b in audit.verify(store.conn)] == [4, 5]


def test_audit_log_refuses_updates(repos, store):
    add_person(repos, "Delphine", "Eastwick")
    with pytest.raises(Exception, match="append-only"), store.transaction():
        store.conn.execute("UPDATE audit_log SET action = 'view'")


def test_disk_full_rolls_back_and_keeps_earlier_data(repos, store):
    """SQLite's own full-disk path (SQLITE_FULL), reached with max_page_count."""
    saved = [add_person(repos, f"Elric{i}", "Fairbairn") for i in range(3)]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = [
        Participant(first_name=f"Fenna{i}", last_name="G" * 2000, address="x" * 4000)
        for i in range(50)
    ]
    with pytest.raises(DiskFull, match="disk is full") as e:
        repos.participants.add_many(big)
    assert "Fenna" not in str(e.value)
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert {p.id for p in repos.participants.list()} == {p.id for p in saved}
    assert audit.verify(store.conn) == []
    add_person(repos, "Gideon", "Harrowgate")  # and the store still works


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from app.store.vault import Vault
    from app.store.db import Store
    from app.store.errors import DiskFull
    from app.store.repositories import Repositories
    from app.domain.records import Participant
    kdf = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8192}
    v = Vault(sys.argv[1]); v.create("disk full test phrase", kdf)
    s = Store.open(v); r = Repositories(s)
    saved, message = 0, ""
    try:
        for i in range(100000):
            r.participants.add(Participant(first_name=f"Hollis{i}", last_name="I" * 500,
                                           address="y" * 3000))
            saved += 1
    except DiskFull as e:
        message = str(e)
    s.close()
    v2 = Vault(sys.argv[1]); v2.unlock("disk full test phrase")
    s2 = Store.open(v2)
    n = Repositories(s2).participants.count()
    from app.store import audit
    ok = audit.verify(s2.conn) == []
    print(json.dumps({"saved": saved, "count": n, "message": message, "chain_ok": ok}))
    """
)


def test_a_real_full_filesystem(tmp_path: Path):
    """A 2 MiB tmpfs, mounted in a private mount namespace (needs unshare)."""
    if not shutil.which("unshare") or sys.platform != "linux":
        pytest.skip("needs Linux unshare to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(FULL_DISK_SCRIPT)
    cmd = (
        f"mount -t tmpfs -o size=2m tmpfs {mnt} && "
        f"cd {ROOT} && PYTHONPATH={ROOT} {sys.executable} {script} {mnt}/vault"
    )
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True)
    if "mount" in proc.stderr and proc.returncode != 0 and not proc.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:120]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["saved"] > 0
    assert "disk is full" in result["message"]
    assert result["count"] == result["saved"]  # every committed record, no half record
    assert result["chain_ok"]


def test_search_finds_people_and_notes_by_prefix(repos, store):
    me = store.user_id
    a = add_person(repos, "Imogen", "Jessup", county="Rolette")
    add_person(repos, "Jasper", "Kilbride")
    practised = "Practised the job interview for the grocery warehouse"
    at = (time(9), time(10))
    add_encounter(repos, a, None, me, on=date(2026, 2, 2), at=at, intervention=practised)
    hits = search(store, "imo jes")
    assert [(h.kind, h.record_id) for h in hits] == [("participant", a.id)]
    notes = search(store, "warehou")
    assert [h.kind for h in notes] == ["note"] and notes[0].participant_id == a.id
    assert "[warehouse]" in notes[0].snippet
    assert search(store, '"') == [] and search(store, "") == []
    assert search(store, "kil (*") != []  # typed punctuation never breaks a query
    assert search(store, "-- OR NEAR(") == []
    assert fts_query('a"b') == '"a"* "b"*'


def test_search_skips_deleted(repos, store):
    p = add_person(repos, "Kestrel", "Lowther")
    repos.participants.delete(p.id)
    assert search(store, "kestrel") == []


def test_state_digest_is_equal_for_equal_content(tmp_path, fast_kdf):
    from app.store.vault import Vault

    people = [
        Participant(first_name=f"Lark{i}", last_name="Mayfield", date_of_birth=date(1970, 1, i + 1))
        for i in range(6)
    ]
    digests = []
    for name, order in (("one", people), ("two", list(reversed(people)))):
        v = Vault(tmp_path / name)
        v.create("digest test phrase")
        s = Store.open(v, owner_username="same")
        r = Repositories(s)
        # same owner record id on both, so only the order of writes differs
        with s.transaction(mode="purge"):
            s.conn.execute("DELETE FROM users")
        for p in order:
            r.participants.add(p)
        digests.append(state_digest(s))
        info = status(s)
        assert info["counts"]["participants"]["records"] == 6
        assert info["outbox"]["pending"] > 0
        s.close()
    assert digests[0] == digests[1]


def test_duplicate_detection_by_name_and_birth_date(repos):
    add_person(repos, "Mireille", "Northcott", date_of_birth=date(1985, 5, 5))
    assert repos.participants.find_duplicates("mireille", "NORTHCOTT", date(1985, 5, 5))
    assert not repos.participants.find_duplicates("Mireille", "Northcott", date(1985, 5, 6))
