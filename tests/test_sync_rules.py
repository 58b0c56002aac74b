"""sync/ keeps its own copy of the record facts (the server never imports app/);
these tests keep that copy equal to app.domain."""

from __future__ import annotations

import dataclasses

from app.domain import lifecycle
from app.domain.records import RECORD_TYPES
from app.domain.records import Encounter
from app.domain.records import NoteStatus
from sync import rules


def test_tables_and_fields_match_the_records():
    expected = {
        cls.TABLE: tuple(f.name for f in dataclasses.fields(cls) if f.name != "id")
        for cls in RECORD_TYPES
    }
    assert expected == rules.TABLES


def test_free_text_review_and_content_fields_match():
    for cls in RECORD_TYPES:
        assert rules.FREE_TEXT.get(cls.TABLE, frozenset()) == cls.FREE_TEXT, cls.TABLE
    assert rules.NOTE_REVIEW == Encounter.REVIEW_FIELDS
    assert set(lifecycle.CONTENT_FIELDS) == rules.NOTE_CONTENT


def test_status_moves_are_the_life_cycle_graph():
    """Every move sync allows is a move app.domain.lifecycle can make, and back."""
    statuses = {s.value for s in NoteStatus}
    allowed = set().union(*rules.STATUS_MOVES.values())
    assert all(a in statuses and b in statuses for a, b in allowed)
    graph = {
        ("draft", "signed"),
        ("signed", "approved"),
        ("signed", "returned"),
        ("returned", "signed"),
        ("approved", "billed"),
        ("billed", "approved"),
        ("draft", "void"),
        ("signed", "void"),
        ("returned", "void"),
    }
    assert allowed == graph


def test_the_content_defaults_are_the_vaults_column_defaults(tmp_path):
    """A new note travels without the fields at their default; the server hashes it
    with sync.rules.NOTE_CONTENT_DEFAULTS, which must be the vault's defaults."""
    from app.store.db import Store
    from app.store.vault import Vault
    from tests.conftest import FAST_KDF
    from tests.conftest import PASSPHRASE

    v = Vault(tmp_path / "v")
    v.create(PASSPHRASE, FAST_KDF)
    store = Store.open(v, owner_username="ann")
    try:
        cols = {r[1]: r[4] for r in store.conn.execute("PRAGMA table_info(encounters)")}
        for name, default in rules.NOTE_CONTENT_DEFAULTS.items():
            sql = cols[name]
            got = None if sql is None else store.conn.execute(f"SELECT {sql}").fetchone()[0]
            assert got == default, name
        assert set(rules.NOTE_CONTENT_DEFAULTS) == rules.NOTE_CONTENT
    finally:
        store.close()
