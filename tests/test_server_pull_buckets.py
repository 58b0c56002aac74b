"""The pull by bucket (issue 18): a pull reads only the caller's buckets past its
cursor (``field_state.bucket``, index ``field_state_by_bucket``), with the same
visibility as the role rule.

Over real HTTPS against the real server process, on SQLite and PostgreSQL: a
record moved into another participant follows it (its stored fields change
bucket), and after the participant is reassigned the new specialist pulls it and
the old one does not; the server's buckets match where every record is placed
and the pull by bucket equals the role rule for every specialist and supervisor
(tests/server_buckets.py). In process: migration 0007 fills the buckets of an
existing database, and SQLite's plan for the pull uses the bucket index.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text

from sync.server import db
from sync.server.engine.pull import _bucket_pull_query
from sync.server.tables import field_state
from tests.server_buckets import check_buckets
from tests.server_proc import backend_url
from tests.server_proc import start_server
from tests.test_server_trust import Raw
from tests.test_server_trust import _seed
from tests.test_server_trust import accepted


def _pull_from(dev: Raw, cursor: int) -> tuple[dict[str, dict], list[str], int]:
    """Every page past ``cursor``: {record id: record}, evicted ids, the new cursor."""
    recs: dict[str, dict] = {}
    evict: list[str] = []
    while True:
        r = dev.post(dev.body(cursor=cursor))
        assert r.status_code == 200, r.text
        body = r.json()
        for rec in body["records"]:
            recs.setdefault(rec["record_id"], {"table": rec["table"], "fields": {}})
            recs[rec["record_id"]]["fields"].update(rec["fields"])
        evict += body["evict"]
        cursor = body["cursor"]
        if not body["more"]:
            return recs, evict, cursor


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_moved_record_is_pulled_by_the_new_owner_and_not_the_old(tmp_path, backend):
    srv = start_server(tmp_path, backend_url(backend), extra_args=("--rate-limit", "0"))
    try:
        srv.users = {"sue": srv.add_user("sue", "supervisor")}
        for name in ("sam", "tom"):
            srv.users[name] = srv.add_user(name, "specialist", supervisor="sue")
        sam, tom = Raw(srv, "sam"), Raw(srv, "tom")
        first = _seed(srv.users["sam"], sam, "Staying", "Here")
        second = _seed(srv.users["sam"], sam, "Moving", "Away")
        goal, p1, p2 = first["goals"], first["participants"], second["participants"]
        # sam moves the first participant's goal to the second (both his)
        moved = sam.changes("goals", goal, {"participant_id": p2})
        assert accepted(sam.push(moved), moved) == {moved[0]["stamp"]}
        with srv.engine().connect() as conn:
            buckets = {
                b for (b,) in conn.execute(
                    select(field_state.c.bucket).where(field_state.c.record_id == goal))
            }  # fmt: skip
        assert buckets == {f"p:{p2}"}  # every stored field followed, not only the new one
        _recs, _ev, sam_cursor = _pull_from(sam, 0)
        seen, _ev, tom_cursor = _pull_from(tom, 0)
        assert not set(seen) & (set(first.values()) | set(second.values()))

        done = srv.cli("participants", "reassign", p2, "--to", "tom")
        assert done.returncode == 0, done.stderr
        tom_b = Raw(srv, "tom")  # his other laptop (a device is not sent its own changes)
        edit = tom_b.changes("goals", goal, {"statement": "walk to the river"})
        assert accepted(tom_b.push(edit), edit) == {edit[0]["stamp"]}

        got, _ev, _c = _pull_from(tom, tom_cursor)
        assert goal in got and got[goal]["fields"]["statement"] == "walk to the river"
        assert got[goal]["fields"]["participant_id"] == p2
        assert p2 in got and got[p2]["fields"]["first_name"] == "Moving"
        assert not set(got) & (set(first.values()) - {goal})  # the first stays sam's
        lost, evicted, _c = _pull_from(sam, sam_cursor)
        assert goal not in lost and p2 not in lost and p2 in evicted
        fresh, _ev, _c = _pull_from(Raw(srv, "sam"), 0)  # a new laptop of sam's
        assert goal not in fresh and p2 not in fresh and p1 in fresh
        # every bucket is where its record is; the two pulls agree for everyone
        assert check_buckets(srv.engine()) > 0
    finally:
        srv.close()


def test_migration_0007_fills_the_buckets_of_an_existing_database(tmp_path):
    engine = db.open_engine(tmp_path / "m")
    try:
        db.upgrade(engine, "0006_dbill")
        rows = [  # record, table, participant, owner
            ("p1", "participants", "p1", ""),
            ("g1", "goals", "p1", ""),
            ("t1", "time_entries", "", "u1"),
            ("s1", "supervision_sessions", "", "u2"),
            ("u1", "users", "", "u1"),
            ("n1", "notes_of_nobody", "", ""),
        ]
        with engine.begin() as conn:
            for i, (rid, table, participant, owner) in enumerate(rows):
                conn.execute(
                    text("INSERT INTO records VALUES (:r, :t, :p, :o, '')"),
                    {"r": rid, "t": table, "p": participant, "o": owner},
                )
                conn.execute(
                    text("INSERT INTO field_state VALUES (:r, 'f', :t, '1', :s, NULL, :q)"),
                    {"r": rid, "t": table, "s": f"{i:012x}.0001.dev", "q": i + 1},
                )
            conn.execute(  # a field without a records row
                text("INSERT INTO field_state VALUES ('lost', 'f', 'goals', '1', 'z', NULL, 9)")
            )
        db.upgrade(engine)
        with engine.connect() as conn:
            got = dict(conn.execute(select(field_state.c.record_id, field_state.c.bucket)).all())
        assert got == {
            "p1": "p:p1", "g1": "p:p1", "t1": "o:u1", "s1": "s:s1", "u1": "g",
            "n1": "x", "lost": "x",
        }  # fmt: skip
        check_buckets(engine)
        db.upgrade(engine, "0007_srv2")
        from alembic import command

        command.downgrade(_config(engine), "0006_dbill")
        with engine.connect() as conn:
            cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(field_state)")]
        assert "bucket" not in cols
    finally:
        engine.dispose()


def _config(engine):
    cfg = db.alembic_config()
    conn = engine.connect()
    cfg.attributes["connection"] = conn
    return cfg


def test_sqlite_pulls_by_the_bucket_index(tmp_path):
    """The plan reads the caller's buckets by (bucket, seq), not every field since
    the cursor (field_state_by_seq) nor every field of the caseload."""
    engine = db.open_engine(tmp_path / "q")
    try:
        db.upgrade(engine)
        seen: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
        params = {"cursor": 0, "top": 10, "limit": 5, "own": ".d", "buckets": ["g", "p:x"]}
        with engine.connect() as conn:
            conn.execute(_bucket_pull_query(False), params).all()
            sql, args = seen[-1]
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args)
            )
        assert "field_state_by_bucket" in plan, plan
    finally:
        engine.dispose()
