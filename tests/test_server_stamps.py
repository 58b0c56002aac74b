"""The server's stamps of fields whose value in a vault is kept back (held at
enrolment or refused): remembered at enrolment from the base chain, by the vault
migration for vaults that already hold changes back, and from pulled fields a
kept-back value beat; the digests count them in place of the kept-back stamps.
(With the real server: tests/test_sync_enrol_existing.py.)"""

from __future__ import annotations

from datetime import date

from app.demo import fill_demo
from app.store import held
from app.store import migrations
from app.store.replica import StoreReplica
from sync import digests
from sync.protocol import PROTOCOL_VERSION
from sync.protocol import PulledRecord
from sync.protocol import SyncResponse

SERVER_USER = "srv-ann-0001"


BASES: dict[str, str | None] = {}  # every change's base stamp, read before enrolment


def _held_status(store) -> list[tuple[str, str, str | None]]:
    """(note id, held stamp, base stamp) of notes whose current status is held."""
    rows = store.conn.execute(
        "SELECT hn.record_id, fs.stamp FROM held_now hn JOIN field_stamps fs "
        "ON fs.record_id = hn.record_id AND fs.field = hn.field "
        "WHERE hn.table_name = 'encounters' AND hn.field = 'status' ORDER BY hn.record_id"
    ).fetchall()
    return [(note, stamp, BASES[stamp]) for note, stamp in rows]


def _enrolled(store) -> StoreReplica:
    fill_demo(store, participants=4, years=1, seed=5, today=date(2026, 11, 2))
    BASES.clear()
    BASES.update(store.conn.execute("SELECT stamp, base_stamp FROM outbox").fetchall())
    replica = StoreReplica(store)
    assert replica.adopt_identity(SERVER_USER, "specialist") > 0
    return replica


def test_enrolment_remembers_the_stamp_the_server_will_hold(store) -> None:
    replica = _enrolled(store)
    held = _held_status(store)
    assert held
    kept = dict(store.conn.execute("SELECT record_id, stamp FROM server_stamps "
                                   "WHERE field = 'status'").fetchall())  # fmt: skip
    kept_back = {k["stamp"]: BASES[k["stamp"]] for k in replica.rejected()}
    remembered = 0
    for note, _stamp, base in held:
        while base in kept_back:  # an older held value: the one before it
            base = kept_back[base]
        if base is not None:  # the newest status that is sent: the server will hold it
            assert kept[note] == base
            remembered += 1
        else:
            assert note not in kept
    assert remembered
    # the record digest counts the server's stamp for the held field
    note = next(n for n, _s, _b in held if n in kept)
    base = kept[note]
    fields = store.conn.execute(
        "SELECT record_id, field, stamp FROM field_stamps WHERE record_id = ? "
        "AND field != 'status'", (note,)
    ).fetchall()  # fmt: skip
    held_other = {k["field"] for k in replica.rejected() if k["record_id"] == note}
    fields = [f for f in fields if f[1] not in held_other]
    expected = digests.records([*fields, (note, "status", base)])[note]
    assert replica.record_digests()[note] == expected


def test_the_migration_fills_them_for_a_vault_that_holds_changes_back(store, monkeypatch) -> None:
    # held changes in the outbox, as vaults before the compact form (app.store.held) kept them
    monkeypatch.setattr(held, "compact", lambda conn: 0)
    _enrolled(store)
    before = store.conn.execute("SELECT * FROM server_stamps ORDER BY 1, 2").fetchall()
    assert before
    store.conn.execute("DROP TABLE server_stamps")
    step = next(m for m in migrations.MIGRATIONS if "server_stamps" in (m.__doc__ or ""))
    with store.transaction():
        step(store.conn)
    after = store.conn.execute("SELECT * FROM server_stamps ORDER BY 1, 2").fetchall()
    assert after == before


def test_a_pulled_field_that_loses_to_a_held_value_is_remembered(store) -> None:
    replica = _enrolled(store)
    note, stamp, _base = _held_status(store)[0]
    digest_before = replica.scope_digest()
    # The server's status is older than the held one (its own writer's), so the
    # held value stays here; the server's stamp is what the digests must count.
    older = f"{int(stamp[:12], 16) - 5:012x}.0000.{'b' * 8}"
    resp = SyncResponse(
        protocol=PROTOCOL_VERSION,
        server_time_ms=int(stamp[:12], 16),
        cursor=replica.cursor + 1,
        records=[PulledRecord(table="encounters", record_id=note,
                              fields={"status": ("signed", older)})],
    )  # fmt: skip
    replica.apply_response(resp)
    assert (
        store.conn.execute(
            "SELECT stamp FROM server_stamps WHERE record_id = ? AND field = 'status'", (note,)
        ).fetchone()[0]
        == older
    )
    assert (
        store.conn.execute(
            "SELECT stamp FROM field_stamps WHERE record_id = ? AND field = 'status'", (note,)
        ).fetchone()[0]
        == stamp
    )  # the held value stays
    after = replica.scope_digest()
    assert after != digest_before
    # a newer value from the server wins: the held stamp no longer counts at all
    newer = f"{int(stamp[:12], 16) + 5:012x}.0000.{'b' * 8}"
    resp = resp.model_copy(update={"records": [PulledRecord(
        table="encounters", record_id=note, fields={"status": ("returned", newer)})]})  # fmt: skip
    replica.apply_response(resp)
    assert (note, "status", newer) in {
        (r, f, s) for r, f, s in store.conn.execute(
            "SELECT record_id, field, stamp FROM field_stamps WHERE record_id = ?", (note,))
    }  # fmt: skip
    ours = replica.record_digests()[note]
    assert ours.startswith(str(len([1 for _ in store.conn.execute(
        "SELECT 1 FROM field_stamps WHERE record_id = ? AND stamp NOT IN (SELECT stamp FROM "
        "outbox WHERE rejected_reason IS NOT NULL) AND field NOT IN (SELECT field FROM "
        "held_now WHERE record_id = ?1)", (note,))])) + ".")  # fmt: skip
