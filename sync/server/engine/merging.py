"""Merging one field into the server's state (sync.merge.decide), the conflicts it
leaves (concurrent writes, edits after a delete), the record index (where a
record belongs) and participants' assignments, merge groups included."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sync import merge
from sync import rules
from sync.hlc import HybridLogicalClock
from sync.schema import validate_field
from sync.server.engine.common import _INDEXED
from sync.server.engine.common import _NEW_FIELD
from sync.server.engine.common import CONFLICT_NS
from sync.server.engine.common import Caller
from sync.server.engine.common import _dump
from sync.server.engine.common import _now_iso
from sync.server.engine.working import SeqCounter
from sync.server.engine.working import Working
from sync.server.tables import field_state

_MERGED_INTO = text("field_state.field = 'merged_into'")


class Merging:
    """Field merge, conflicts and the record index, for ``SyncEngine``."""

    hlc: HybridLogicalClock

    def _merge_field(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        value: Any,
        stamp: str,
        base: str | None,
        caller: Caller | None,
        value_json: str | None = None,
        quiet: bool = False,
    ) -> None:
        """Merge one field (``quiet``: the caller keeps the conflict, if any)."""
        cur = w.field(record_id, field)
        # a new field has nothing to merge with
        decision = _NEW_FIELD if cur is None else merge.decide(cur[2], cur[3], stamp, base)
        if decision.outcome is merge.Outcome.DUPLICATE:
            return
        was_deleted = field == "deleted" and cur is not None and _deleted(cur[1])
        if decision.applies:
            if value_json is None:
                value_json = _dump(value)
            w.set_field(table, record_id, field, value, value_json, stamp, base)
            self._index(w, table, record_id, field, value)
        if decision.concurrent and table != "conflicts" and cur is not None and not quiet:
            old = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
            kept, lost = ((value, stamp), old) if decision.applies else (old, (value, stamp))
            if kept[0] != lost[0]:  # two writes of the same value lose nothing
                self._record_conflict(w, table, record_id, field, kept, lost, caller)
        if table == "conflicts":
            return
        deleted = w.fs.get((record_id, "deleted"))
        if deleted is None or not _deleted(deleted[1]):
            return
        if field != "deleted":
            self._after_delete(w, table, record_id, field, deleted[2], caller)
        elif decision.applies and not was_deleted and caller is not None:
            # A delete that arrives after edits its writer had not seen (they reached
            # the server after the device's cursor, from other devices): the same
            # conflicts as when the delete arrives first and the edits after it.
            for name in sorted(w.by_record.get(record_id, ())):
                row = w.fs[(record_id, name)]
                if (
                    name != "deleted"
                    and row[4] > w.cursor
                    and not row[2].endswith("." + caller.device_id)
                ):
                    self._after_delete(w, table, record_id, name, stamp, caller)

    def _after_delete(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        delete_stamp: str,
        caller: Caller | None,
    ) -> None:
        """An "edited after delete" conflict: one per field and delete, holding the
        field's value as it stands (the edit that came with or after the delete)."""
        cur = w.fs[(record_id, field)]
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
        key = f"{record_id}/{field}/{delete_stamp}/edited after delete"
        conflict_id = str(uuid.uuid5(CONFLICT_NS, key))
        w.load([conflict_id])
        if w.by_record.get(conflict_id):
            old = w.fs.get((conflict_id, "kept_stamp"))
            if old is not None and json.loads(old[1]) < kept[1]:
                for name, v in (("kept_value", _dump(kept[0])), ("kept_stamp", kept[1])):
                    prev = w.fs[(conflict_id, name)]
                    self._merge_field(
                        w, "conflicts", conflict_id, name, v, self.hlc.now(), prev[2], None
                    )
            return
        self._record_conflict(
            w, table, record_id, field, kept, (None, ""), caller,
            kind="edited after delete", conflict_id=conflict_id,
        )  # fmt: skip

    def _record_conflict(
        self,
        w: Working,
        table: str,
        record_id: str,
        field: str,
        kept: tuple[Any, str],
        lost: tuple[Any, str],
        caller: Caller | None,
        kind: str | None = None,
        conflict_id: str | None = None,
        participant_id: str | None = None,
    ) -> None:
        if conflict_id is None:
            key = f"{record_id}/{field}/{lost[1]}/{kept[1]}"
            conflict_id = str(uuid.uuid5(CONFLICT_NS, key))
        w.load([conflict_id])
        if w.by_record.get(conflict_id):
            if w.recs.get(conflict_id, {}).get("table_name", "conflicts") == "conflicts":
                return  # recorded before
            # a device took this id for another kind of record: never merge into it
            conflict_id = str(uuid.uuid4())
        rec = w.recs.get(record_id, {})
        lost_by = ""
        if lost[1]:
            lost_by = w.user_of(lost[1]) or (caller.user_id if caller else "")
        fields = {
            "deleted": 0,
            "table_name": table,
            "target_id": record_id,
            "field": field,
            "participant_id": participant_id or rec.get("participant_id", ""),
            "owner_id": rec.get("owner_id", ""),
            "kind": kind or merge.conflict_kind(table, field),
            "kept_value": _dump(kept[0]),
            "kept_stamp": kept[1],
            "lost_value": _dump(lost[0]),
            "lost_stamp": lost[1],
            "lost_by_id": lost_by,
            "detected_at": _now_iso(),
            "status": "open",
        }
        for name, v in fields.items():
            self._merge_field(w, "conflicts", conflict_id, name, v, self.hlc.now(), None, None)

    def server_write(self, conn: Connection, table: str, record_id: str, fields: dict) -> None:
        """Write fields as the server itself (admin commands: users, reassignment),
        with fresh server stamps, through the same merge and index as pushed changes."""
        w = Working(conn, SeqCounter(conn))
        for name, value in fields.items():
            problem = validate_field(table, name, value)
            if problem is not None:
                raise ValueError(f"{table}: {problem}")
            cur = w.field(record_id, name)
            self._merge_field(
                w, table, record_id, name, value, self.hlc.now(), cur[2] if cur else None, None
            )
        w.flush()

    def record_fields(self, conn: Connection, record_id: str) -> dict[str, Any]:
        return Working(conn, SeqCounter(conn)).record_fields(record_id)

    def _index(self, w: Working, table: str, record_id: str, field: str, value: Any) -> None:
        rec = w.recs.get(record_id)
        if (
            rec is not None
            and field not in _INDEXED.get(table, ())
            and (rec["participant_id"] or rec["owner_id"] or record_id not in w.recs_new)
        ):
            return  # nothing about where the record belongs changes (most fields)
        rec = w.record(record_id, table)
        new = record_id in w.recs_new and not rec["participant_id"] and not rec["owner_id"]
        changes_to: dict[str, str] = {}
        if table == "participants" and new:
            changes_to["participant_id"] = record_id
        if table == "users" and new:
            changes_to["owner_id"] = record_id
        if rules.PARTICIPANT_LINK.get(table) == field and table != "participants":
            changes_to["participant_id"] = value or ""
        if rules.OWNER_LINK.get(table) == field and table != "users":
            changes_to["owner_id"] = value or ""
        if table == "encounters" and field == "status":
            changes_to["status"] = value or ""
        if table == "addenda" and field == "encounter_id":
            enc = w.recs.get(str(value)) if value else None
            if enc is None and value:
                w.load([str(value)])
                enc = w.recs.get(str(value))
            changes_to["participant_id"] = enc["participant_id"] if enc else ""
        if changes_to:
            w.update_record(record_id, **changes_to)
        if table == "participants" and field in ("assigned_specialist_id", "merged_into"):
            placed = record_id in w.recs_new and field == "assigned_specialist_id"
            self._place_group(w, record_id, placed, value)

    def _place_group(self, w: Working, participant_id: str, new: bool, value: Any) -> None:
        """A merged record is in the caseload of its survivor's specialist
        (``merge.survivor``), so whoever holds the kept record holds everything merged
        into it: every member of the participant's merge group is assigned (in
        ``assignments``, which scope, pulls and evictions read) to the specialist the
        survivor's ``assigned_specialist_id`` names. A participant in no group keeps
        its own assignment; a new one cannot be in a group yet."""
        if new:
            self._assign(w, participant_id, value or "")
            return
        members = self._merge_group(w, participant_id)
        edges = {m: str(w.record_fields(m).get("merged_into") or "") for m in members}
        top = merge.survivor(participant_id, edges)
        to = str(w.record_fields(top).get("assigned_specialist_id") or "")
        for member in sorted(members):
            if w.record_fields(member) or member == participant_id:
                self._assign(w, member, to)

    def _merge_group(self, w: Working, participant_id: str) -> set[str]:
        """Every participant linked to this one by ``merged_into``, either way
        (the stored values, with this push's on top)."""
        group = {participant_id}
        todo = [participant_id]
        while todo:
            pid = todo.pop()
            linked = set()
            target = w.record_fields(pid).get("merged_into")
            if target:
                linked.add(str(target))
            stored = w.conn.execute(
                select(field_state.c.record_id).where(
                    _MERGED_INTO,  # a literal: the partial index field_state_merged applies
                    field_state.c.table_name == "participants",
                    field_state.c.value == _dump(pid),
                )
            )
            linked |= {r[0] for r in stored}
            linked |= {k[0] for k in w.fs_new | w.fs_dirty if k[1] == "merged_into"}
            for other in sorted(linked - group):
                w.load_assignments([other])
                fields = w.record_fields(other)
                if other == target or fields.get("merged_into") == pid:
                    group.add(other)
                    todo.append(other)
        return group

    def _assign(self, w: Working, participant_id: str, to: str) -> None:
        before = w.assigned_to(participant_id) or ""
        if before == to:
            return
        w.set_assignment(participant_id, to)
        affected: set[tuple[str, bool]] = set()
        for uid, granted in ((before, False), (to, True)):
            if not uid:
                continue
            affected.add((uid, granted))
            sup = w.supervisor_of(uid)
            if sup:
                affected.add((sup, granted))
        # a supervisor of both keeps access: no revoke for them
        granted_to = {u for u, g in affected if g}
        for uid, granted in sorted(affected):
            if not granted and uid in granted_to:
                continue
            w.new_access.append(
                {"seq": w.seq.next(), "participant_id": participant_id, "user_id": uid,
                 "granted": granted}
            )  # fmt: skip


# The JSON texts of ``deleted`` on a record that is not deleted (the usual case:
# checked on every merged field, so without parsing it each time).
_NOT_DELETED = frozenset(("0", "false", "null"))


def _deleted(text: str) -> bool:
    """Whether a stored ``deleted`` value (JSON text) marks the record deleted."""
    return text not in _NOT_DELETED and json.loads(text) in (1, True)
