"""The push's fast path for fields the server does not hold yet (above all the
fields of new records, most of a first sync): the same answer and the same stored
state as the general path (``SyncEngine._apply_one``), without its look-ups that
cannot find anything for such a field.

Which changes may take it is decided twice. Before the loop (``_fresh_stamps``),
from what a change says and what the server held when the push was loaded: no
base, a stamp never seen, not too far ahead, not refused at the trust boundary,
each field once in its record, a record not created deleted, and not a table or
field whose rules need the general path (notes: review decisions and signatures;
conflicts: only the server writes them; ``merged_into``: a merge's group). When
it is applied (``_apply_fresh``), on the state as this push has left it: the
field is still not held and the record is not deleted (a conflict the push
records could have taken the id). Anything else goes the general way, and a
change refused by scope or permission is answered by the general path itself
(``_keep_undelivered``, the refusal kept), so refusals read the same.

Applied one change at a time, in stamp order, like the general path: ``seq``
numbers are handed out in the same order (a field's, its change's, then any
access entries its placement makes), so the stored state is the same to the row.
"""

from __future__ import annotations

from sync import merge
from sync.hlc import HybridLogicalClock
from sync.protocol import PushChange
from sync.protocol import Rejected
from sync.protocol import Restamped
from sync.server.engine.common import Push
from sync.server.engine.common import _dump

# Tables whose changes always take the general path.
_GENERAL_TABLES = frozenset({"encounters", "conflicts"})
# Fields that always take it (a merge: its target and its group).
_GENERAL_FIELDS = frozenset({("participants", "merged_into")})
# ``deleted`` values that leave a record standing (merging._deleted).
_STANDING = (0, False, None)


class Fresh:
    """The fast path of ``SyncEngine.push`` for fields the server does not hold."""

    hlc: HybridLogicalClock
    fast_new_fields: bool = True  # off: every change takes the general path (tests)

    def _fresh_stamps(self, p: Push, chs: list[PushChange], untrusted: dict[str, str]) -> set[str]:
        """The stamps of ``chs`` that may take the fast path (see the module)."""
        if not self.fast_new_fields:
            return set()
        w, future_hex = p.w, p.future_hex
        general: set[str] = set()  # record ids
        fields: dict[str, set[str]] = {}
        for c in chs:
            rid = c.record_id
            if rid in general:
                continue
            stamp = c.stamp
            seen = fields.setdefault(rid, set())
            if (
                c.base is not None
                or c.table in _GENERAL_TABLES
                or (c.table, c.field) in _GENERAL_FIELDS
                or stamp in untrusted
                or stamp in w.seen_origin
                or stamp in w.seen_rejected
                or stamp[:12] > future_hex
                or rid in w.overturn
                or c.field in seen
                or (c.field == "deleted" and c.value not in _STANDING)
                or (rid, c.field) in w.fs
            ):
                general.add(rid)
                continue
            seen.add(c.field)
        return {c.stamp for c in chs if c.record_id not in general}

    def _apply_fresh(self, p: Push, ch: PushChange) -> Rejected | Restamped | None:
        """Apply a change of ``_fresh_stamps``: as ``_apply_one`` would (that path
        for anything this one does not cover)."""
        w = p.w
        rid, name, stamp = ch.record_id, ch.field, ch.stamp
        gone = w.fs.get((rid, "deleted"))
        if (
            (rid, name) in w.fs
            or stamp in w.seen_origin  # the same stamp twice in one push
            or stamp in w.seen_rejected
            or (gone is not None and gone[1] not in ("0", "false", "null"))
        ):
            return self._apply_one(p, ch)  # type: ignore[attr-defined]
        current = w.record_fields(rid)
        key = (ch.table, rid)
        if key in p.scope_reasons:
            reason = p.scope_reasons[key]
        else:
            reason = p.scope_reasons[key] = self._record_scope(p, ch, current)  # type: ignore[attr-defined]
        caller = p.caller
        if reason is None:
            reason = merge.permission_problem(
                caller.role, caller.user_id, ch.table, name, ch.value, current, False
            )
        if reason is not None:  # refused: the general path keeps and answers it
            return self._apply_one(p, ch)  # type: ignore[attr-defined]
        value_json = _dump(ch.value)
        w.change_user[stamp] = caller.user_id
        # merge.decide on a field nobody holds: it applies, with nothing to conflict with
        w.set_field(ch.table, rid, name, ch.value, value_json, stamp, None)
        self._index(w, ch.table, rid, name, ch.value)  # type: ignore[attr-defined]
        w.new_changes.append(
            {
                "seq": w.seq.next(), "stamp": stamp, "origin_stamp": stamp,
                "table_name": ch.table, "record_id": rid, "field": name,
                "value": value_json, "base": None, "user_id": caller.user_id,
                "device_id": caller.device_id, "received_at": p.now_iso,
            }
        )  # fmt: skip
        w.seen_origin[stamp] = stamp
        return None
