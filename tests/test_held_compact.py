"""Changes held at enrolment in their compact form (app.store.held, issue 18): the
list of refused and held changes, what can be resent or dismissed and the sync
digests are exactly what they were with the held changes as outbox rows, before
and after anything moves the held fields on (an edit, a pulled value, a rewrite,
an eviction), and a vault that held changes as outbox rows is converted by its
migration. Real SQLCipher vaults with the demo caseload."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.demo import fill_demo
from app.store import capture
from app.store import held
from app.store import migrations
from app.store.db import Store
from app.store.refused import dismiss
from app.store.refused import refused_changes
from app.store.refused import resend
from app.store.replica import StoreReplica
from app.store.vault import Vault
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PulledRecord
from sync.protocol import SyncResponse
from tests.conftest import PASSPHRASE

SERVER_USER = "srv-ann-0001"


def _listed(store: Store) -> dict[str, dict[str, Any]]:
    """stamp -> what the refused-changes screen shows of it (all its fields)."""
    out = {}
    for r in refused_changes(store):
        d = r.as_dict()
        out[d.pop("stamp")] = d
    return out


def _old_form(store: Store, monkeypatch) -> StoreReplica:
    """A demo vault enrolled as a specialist with its held changes left in the
    outbox, as vaults kept them before the compact form."""
    fill_demo(store, participants=4, years=1, seed=5, today=date(2026, 11, 2))
    replica = StoreReplica(store)
    with monkeypatch.context() as m:
        m.setattr(held, "compact", lambda conn: 0)
        assert replica.adopt_identity(SERVER_USER, "specialist") > 0
    return replica


def _state(store: Store, replica: StoreReplica) -> tuple[Any, ...]:
    return _listed(store), replica.rejected(), replica.scope_digest(), replica.record_digests()


def _held_rows_in_outbox(store: Store) -> int:
    return store.conn.execute(
        "SELECT count(*) FROM outbox WHERE substr(rejected_reason, 1, ?) = ?",
        (len(held.HELD_PREFIX), held.HELD_PREFIX),
    ).fetchone()[0]


@pytest.fixture
def compacted(store: Store, monkeypatch) -> tuple[StoreReplica, tuple[Any, ...]]:
    """The demo vault in the compact form, and its state read in the old form."""
    replica = _old_form(store, monkeypatch)
    before = _state(store, replica)
    assert _held_rows_in_outbox(store) == len(before[0]) > 100
    with store.transaction():
        assert held.compact(store.conn) == len(before[0])
    return replica, before


def test_the_compact_form_shows_and_counts_what_the_outbox_rows_did(store, compacted) -> None:
    replica, before = compacted
    assert _held_rows_in_outbox(store) == 0
    assert _state(store, replica) == before
    assert all(v["held"] and v["reason"].startswith(held.HELD_PREFIX) for v in before[0].values())
    # most held changes are the field's value now: neither stamp nor value is stored
    implied = store.conn.execute("SELECT count(*) FROM held_listed").fetchone()[0]
    explicit = store.conn.execute(
        "SELECT count(*) FROM held_changes WHERE stamp != '' AND kept = 1"
    ).fetchone()[0]
    assert implied > len(before[0]) / 2 and explicit > 0
    assert implied + explicit == held.count(store.conn) == len(before[0])
    # a handful of kinds for the whole vault: the reason is not repeated per change
    kinds = store.conn.execute("SELECT count(*) FROM held_kinds").fetchone()[0]
    assert kinds < len(before[0]) / 10
    assert replica.pending_count() == len(replica.pending(100_000))
    limited = refused_changes(store, limit=5)
    assert [r.stamp for r in limited] == sorted(before[0], reverse=True)[:5]


def _held_field(store: Store, field: str) -> tuple[str, str, str]:
    """(note id, held stamp, held value) of a note whose ``field`` now is held."""
    rid, stamp = store.conn.execute(
        "SELECT hn.record_id, fs.stamp FROM held_now hn JOIN field_stamps fs "
        "ON fs.record_id = hn.record_id AND fs.field = hn.field "
        "WHERE hn.table_name = 'encounters' AND hn.field = ? ORDER BY 1 LIMIT 1",
        (field,),
    ).fetchone()
    value = store.conn.execute(f'SELECT "{field}" FROM encounters WHERE id = ?', (rid,))
    return rid, stamp, value.fetchone()[0]


def _pull(
    replica: StoreReplica, rid: str, field: str, value: Any, stamp: str, table: str = "encounters"
) -> None:
    """The server's reply bringing ``value`` for one field, on ``stamp``."""
    replica.apply_response(
        SyncResponse(
            protocol=PROTOCOL_VERSION,
            server_time_ms=int(stamp[:12], 16),
            cursor=replica.cursor + 1,
            records=[PulledRecord(table=table, record_id=rid, fields={field: (value, stamp)})],
        )
    )


def _evict(replica: StoreReplica, pid: str, stamp: str) -> None:
    """The server's reply saying the participant left this caseload."""
    replica.apply_response(
        SyncResponse(
            protocol=PROTOCOL_VERSION,
            server_time_ms=int(stamp[:12], 16),
            cursor=replica.cursor + 1,
            evict=[pid],
        )
    )


def _later(stamp: str, ms: int = 5) -> str:
    return f"{int(stamp[:12], 16) + ms:012x}.0000.{'b' * 8}"


def test_a_held_value_survives_whatever_moves_its_field_on(store, compacted) -> None:
    replica, (shown, *_rest) = compacted
    # a newer value pulled from the server replaces the note's status here
    rid, stamp, value = _held_field(store, "status")
    _pull(replica, rid, "status", "returned", _later(stamp))
    assert store.conn.execute("SELECT status FROM encounters WHERE id = ?", (rid,)).fetchone() == (
        "returned",
    )
    # the same value with a newer stamp: only the stamp moves on
    rid2, stamp2, value2 = _held_field(store, "reviewed_by_id")
    _pull(replica, rid2, "reviewed_by_id", value2, _later(stamp2))
    # a rewrite in place that moves no stamp (as adopting an identity does)
    rid3, _stamp3, _value3 = _held_field(store, "approved_content_hash")
    with store.transaction(mode="remote"):
        store.conn.execute(
            "UPDATE encounters SET approved_content_hash = ? WHERE id = ?", ("0" * 64, rid3)
        )
    # an edit on this laptop
    rid4, _stamp4, _value4 = _held_field(store, "reviewed_at")
    with store.transaction():
        store.conn.execute(
            "UPDATE encounters SET reviewed_at = '2026-11-01T10:00:00+00:00' WHERE id = ?", (rid4,)
        )
    # then the field whose stamp alone moved on changes its value too
    with store.transaction(mode="remote"):
        store.conn.execute("UPDATE encounters SET reviewed_by_id = 'x' WHERE id = ?", (rid2,))
    assert _listed(store) == shown
    assert shown[stamp]["value"] == value and shown[stamp2]["value"] == value2
    # a value rewritten in place keeps its (held) stamp: still left out of the digests
    now = set(store.conn.execute("SELECT record_id, field FROM held_now").fetchall())
    assert (rid3, "approved_content_hash") in now
    assert not {(rid, "status"), (rid2, "reviewed_by_id"), (rid4, "reviewed_at")} & now
    # and the digests no longer leave out fields whose value now is not a held one
    assert replica.record_digests()[rid] != compacted[1][3][rid]


def test_triggers_rebuilt_with_a_tables_capture_keep_held_values(store, compacted) -> None:
    """A later migration that adds a column rebuilds the table's capture triggers
    (capture.install): the held triggers are rebuilt with them."""
    replica, (shown, *_rest) = compacted
    with store.transaction(mode="migrate"):
        store.conn.execute("ALTER TABLE encounters ADD COLUMN \"later\" TEXT NOT NULL DEFAULT ''")
        capture.install(store.conn, "encounters")
    names = {
        r[0]
        for r in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'encounters'"
        )
    }
    assert {"encounters_held_upd", "encounters_held_del", "encounters_cap_upd"} <= names
    # tables with nothing held pay nothing on their writes
    assert not store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'participants_held_upd'"
    ).fetchone()
    rid, stamp, value = _held_field(store, "status")
    _pull(replica, rid, "status", "returned", _later(stamp))
    assert _listed(store) == shown and shown[stamp]["value"] == value


def test_a_later_hold_adds_to_what_is_held(store, compacted) -> None:
    """Changes held again (a vault enrolled a second time) join the record's list;
    a change whose value here is no longer its own is kept whole."""
    _replica, (shown, *_rest) = compacted
    rid, _stamp, _value = _held_field(store, "status")
    with store.transaction():
        store.conn.execute("UPDATE encounters SET review_comment = 'again' WHERE id = ?", (rid,))
        store.conn.execute("UPDATE encounters SET review_comment = 'twice' WHERE id = ?", (rid,))
    rows = store.conn.execute(
        "SELECT seq, stamp FROM outbox WHERE record_id = ? AND field = 'review_comment' "
        "ORDER BY seq",
        (rid,),
    ).fetchall()
    with store.transaction():
        store.conn.executemany(
            "UPDATE outbox SET rejected_reason = ?, rejected_at = '2026-12-01T00:00:00+00:00' "
            "WHERE seq = ?",
            [(held.HELD_PREFIX + "held again", seq) for seq, _s in rows],
        )
        assert held.compact(store.conn) == 2
    now = _listed(store)
    assert {s: v for s, v in now.items() if s in shown} == shown
    added = {s: v for s, v in now.items() if s not in shown}
    assert {s: v["value"] for s, v in added.items()} == {rows[0][1]: "again", rows[1][1]: "twice"}
    assert all(v["reason"] == held.HELD_PREFIX + "held again" for v in added.values())
    assert held.count(store.conn) == len(shown) + 2


def test_an_evicted_participants_held_changes_stay_to_be_seen(store, compacted) -> None:
    replica, (shown, *_rest) = compacted
    rid, stamp, _value = _held_field(store, "status")
    pid = store.conn.execute("SELECT participant_id FROM encounters WHERE id = ?", (rid,))
    pid = pid.fetchone()[0]
    _evict(replica, pid, stamp)
    now = _listed(store)
    assert now.keys() == shown.keys()
    gone = [s for s, v in now.items() if not v["record_here"]]
    assert stamp in gone
    for s, v in now.items():  # everything as it was, but the records that left
        assert {**v, "record_here": shown[s]["record_here"]} == shown[s]
    with pytest.raises(Exception, match="no longer on this laptop"):
        resend(store, stamp)
    dismiss(store, stamp)
    assert stamp not in _listed(store)


def test_resend_and_dismiss_a_held_change(store, compacted) -> None:
    replica, (shown, *_rest) = compacted
    rid, stamp, value = _held_field(store, "status")
    waiting = replica.pending_count()
    resend(store, stamp)
    queued = store.conn.execute(
        "SELECT value, base_stamp FROM outbox WHERE record_id = ? AND field = 'status' "
        "AND rejected_reason IS NULL ORDER BY seq DESC LIMIT 1",
        (rid,),
    ).fetchall()
    assert queued == [(value, stamp)]  # the held value again, on the held stamp
    assert replica.pending_count() == waiting + 1
    other = next(s for s, v in shown.items() if v["record_id"] != rid and s != stamp)
    dismiss(store, other)
    left = _listed(store)
    assert left == {s: v for s, v in shown.items() if s not in (stamp, other)}
    actions = store.conn.execute(
        "SELECT json_extract(detail, '$.how') FROM audit_log WHERE action = 'sync' "
        "ORDER BY seq DESC LIMIT 2"
    ).fetchall()
    assert {a for (a,) in actions} == {"refused change resent", "refused change dismissed"}
    for s in list(left):  # the last one of a record takes its number with it
        dismiss(store, s)
    assert _listed(store) == {}
    assert store.conn.execute("SELECT count(*) FROM held_records").fetchone()[0] == 0
    with pytest.raises(Exception, match="no longer waiting"):
        dismiss(store, stamp)


def test_a_vault_holding_changes_in_its_outbox_is_converted_by_its_migration(
    store, vault: Vault, monkeypatch
) -> None:
    replica = _old_form(store, monkeypatch)
    before = _state(store, replica)
    # the vault as the schema before the compact form had it
    step = migrations.MIGRATIONS.index(migrations._v11)
    with store.transaction(mode="migrate"):
        for (table,) in store.conn.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_held_upd'"
        ).fetchall():
            held.drop(store.conn, table)
        for name in ("field_stamps_held_upd", "field_stamps_held_del"):
            store.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        for view in ("held_now", "held_fields", "held_listed"):
            store.conn.execute(f"DROP VIEW {view}")
        for table in ("held_changes", "held_records", "held_kinds"):
            store.conn.execute(f"DROP TABLE {table}")
    store.conn.execute(f"PRAGMA user_version = {step}")
    store.close()
    vault.lock()
    vault.unlock(PASSPHRASE)
    upgraded = Store.open(vault)
    try:
        assert upgraded.schema_version == migrations.LATEST
        assert upgraded.migration_backup is not None
        assert _held_rows_in_outbox(upgraded) == 0
        again = StoreReplica(upgraded)
        assert _state(upgraded, again) == before
        # the triggers were installed: an edit keeps the held value
        rid, stamp, value = _held_field(upgraded, "status")
        _pull(again, rid, "status", "returned", _later(stamp))
        assert _listed(upgraded)[stamp]["value"] == value
    finally:
        upgraded.close()


# -- property: whatever happens to the vault, a held change stays what it was ------


def _columns_of(store: Store, table: str) -> set[str]:
    return {r[1] for r in store.conn.execute(f"PRAGMA table_info({table})")}


def _other_value(store: Store, table: str, field: str, rid: str) -> Any:
    """A value the field has on another record of the table (so it fits the
    column's type and checks), or None when every record has the same one."""
    row = store.conn.execute(
        f'SELECT "{field}" FROM {table} WHERE "{field}" IS NOT '
        f'(SELECT "{field}" FROM {table} WHERE id = ?) AND "{field}" IS NOT NULL LIMIT 1',
        (rid,),
    ).fetchone()
    return None if row is None else row[0]


def _random_step(store, replica, rng, shown, gone_records) -> tuple[str, str | None]:
    """One random thing that can happen to a vault holding changes; returns what it
    did and the stamp it took out of the list (dismissed or resent), if any."""
    stamp = rng.choice(sorted(shown))
    entry = shown[stamp]
    table, rid, field = entry["table"], entry["record_id"], entry["field"]
    here = rid not in gone_records and entry["record_here"]
    op = rng.choice(("edit", "rewrite", "pull-new", "pull-same", "evict", "dismiss", "resend"))
    if op in ("edit", "rewrite", "pull-new", "pull-same") and (
        not here or field not in _columns_of(store, table)
    ):
        op = "dismiss"
    if op in ("edit", "rewrite"):
        new = _other_value(store, table, field, rid)
        if new is None:
            return "skip", None
        how = store.transaction(mode="remote") if op == "rewrite" else store.transaction()
        with how:
            store.conn.execute(f'UPDATE {table} SET "{field}" = ? WHERE id = ?', (new, rid))
        return op, None
    if op.startswith("pull"):
        now = store.conn.execute(
            "SELECT stamp FROM field_stamps WHERE record_id = ? AND field = ?", (rid, field)
        ).fetchone()
        base = now[0] if now else stamp
        value = store.conn.execute(f'SELECT "{field}" FROM {table} WHERE id = ?', (rid,))
        value = value.fetchone()[0]
        if op == "pull-new":
            value = _other_value(store, table, field, rid)
        if not isinstance(value, str) or value[:1] in "[{":
            return "skip", None  # only plain text travels unchanged by the codec here
        _pull(replica, rid, field, value, _later(max(base, stamp), rng.randint(1, 50)), table)
        return op, None
    if op == "evict":
        child_tables = ("consents", "goals", "barc10", "encounters")
        if table not in ("participants", *child_tables):
            return "skip", None
        pid = (
            rid
            if table == "participants"
            else store.conn.execute(
                f"SELECT participant_id FROM {table} WHERE id = ?", (rid,)
            ).fetchone()
        )
        if pid is None:
            return "skip", None
        pid = pid if isinstance(pid, str) else pid[0]
        _evict(replica, pid, stamp)
        return op, None
    if op == "resend" and here:
        base = store.conn.execute(
            "SELECT stamp FROM field_stamps WHERE record_id = ? AND field = ?", (rid, field)
        ).fetchone()
        resend(store, stamp)
        queued = store.conn.execute(
            "SELECT value, base_stamp FROM outbox WHERE record_id = ? AND field = ? "
            "AND rejected_reason IS NULL ORDER BY seq DESC LIMIT 1",
            (rid, field),
        ).fetchone()
        # the held value again, on the stamp the field has here now (the held one
        # when nothing moved it on)
        assert queued == (entry["value"], base[0] if base else stamp), "resent as held"
        return op, stamp
    dismiss(store, stamp)
    return "dismiss", stamp


@pytest.mark.parametrize("seed", range(6))
def test_held_changes_stay_what_they_were_whatever_happens_to_the_vault(
    store, compacted, seed: int
) -> None:
    """Property: after any sequence of edits here, rewrites in place, pulled values
    (new, or the same with a newer stamp), evictions, dismissals and resends, the
    list of held changes is the first list less what was dismissed or resent, each
    with its value, reason and stamp as held (only ``record_here`` may change, for
    records that left this laptop)."""
    import random

    replica, (shown, *_rest) = compacted
    rng = random.Random(seed)
    expected = dict(shown)
    done: list[str] = []
    gone_records: set[str] = set()
    for _ in range(40):
        if not expected:
            break
        op, taken = _random_step(store, replica, rng, expected, gone_records)
        done.append(op)
        if taken is not None:
            expected.pop(taken)
        now = _listed(store)
        assert now.keys() == expected.keys(), f"after {done}"
        for s, v in now.items():
            if not v["record_here"]:
                gone_records.add(v["record_id"])
            assert {**v, "record_here": expected[s]["record_here"]} == expected[s], f"after {done}"
        expected = {s: {**expected[s], "record_here": now[s]["record_here"]} for s in expected}
        assert held.count(store.conn) + _pending_refused(store) == len(expected)
    assert len({op for op in done if op != "skip"}) >= 4, done


def _pending_refused(store: Store) -> int:
    return store.conn.execute(
        "SELECT count(*) FROM outbox WHERE rejected_reason IS NOT NULL"
    ).fetchone()[0]
