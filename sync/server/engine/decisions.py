"""Review decisions in a push: a status move must be allowed and made on the note's
content; a later decision overturns an earlier concurrent one whole; a refused or
losing decision is kept as a conflict."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select

from sync import merge
from sync import rules
from sync.hlc import HybridLogicalClock
from sync.protocol import PushChange
from sync.server.engine.common import Caller
from sync.server.engine.common import Push
from sync.server.engine.common import _by_stamp
from sync.server.engine.working import Working
from sync.server.tables import changes


class Decisions:
    """The decision rules of ``SyncEngine.push``."""

    hlc: HybridLogicalClock

    def _refused_decisions(
        self, w: Working, caller: Caller, chs: list[PushChange]
    ) -> dict[str, str]:
        """Notes whose status move in this push is refused (id -> reason): the push's
        decision fields of those notes are refused with it, whatever their stamp order.
        Judged before the push is applied, on the note as it will be when the move is
        reached: the server's fields with the push's earlier content edits on top."""
        by_note: dict[str, list[PushChange]] = defaultdict(list)
        moved: set[str] = set()
        for ch in chs:
            new = ch.stamp not in w.seen_origin and ch.stamp not in w.seen_rejected
            if ch.table == "encounters" and new:
                by_note[ch.record_id].append(ch)
                if ch.field == "status":
                    moved.add(ch.record_id)
        out = {}
        for record_id in sorted(moved):
            notes = sorted(by_note[record_id], key=_by_stamp)
            w.decisions[record_id] = {
                c.field: (c.value, c.stamp) for c in notes if c.field in rules.NOTE_DECISION
            }
            reason = self._judge_decision(w, caller, record_id, notes)
            if reason is not None:
                out[record_id] = reason
        return out

    def _judge_decision(
        self, w: Working, caller: Caller, record_id: str, chs: list[PushChange]
    ) -> str | None:
        """Why the status moves among ``chs`` (one note's changes, in stamp order) are
        refused, else None. Each move must be allowed from the status it leaves and
        made on the content the note has then (sync.merge.decision_hash_problem)."""
        note = dict(w.record_fields(record_id))
        stamps = {
            f: w.fs[(record_id, f)][2] for f in w.by_record.get(record_id, ()) if f != "status"
        }
        decision = {f: v for f, (v, _s) in w.decisions.get(record_id, {}).items()}
        status = note.get("status") or "draft"
        first = True
        for ch in chs:
            if ch.field in rules.NOTE_CONTENT:
                # an edit that will be applied changes what a later move is made on
                editable = status == "draft" and caller.role in ("specialist", "admin")
                if editable and ch.stamp > stamps.get(ch.field, ""):
                    note[ch.field], stamps[ch.field] = ch.value, ch.stamp
                continue
            if ch.field != "status":
                continue
            if ch.value == status and not decision:
                continue  # nothing moves and nothing is decided
            before = status
            if first and (source := self._overturned_from(w, record_id, ch)) is not None:
                before = source
                w.overturn[record_id] = ch.stamp
            first = False
            problem = merge.permission_problem(
                caller.role, caller.user_id, "encounters", "status", ch.value,
                {**note, "status": before}, True,
            )  # fmt: skip
            if problem is not None:
                w.overturn.pop(record_id, None)
                return f"the review decision was refused whole: {problem}"
            problem = merge.decision_hash_problem(before, ch.value, decision, note)
            if problem is not None:
                w.overturn.pop(record_id, None)
                return problem
            status = note["status"] = ch.value
        return None

    def _overturned_from(self, w: Working, record_id: str, ch: PushChange) -> str | None:
        """The status a concurrent review decision moved the note from, when ``ch`` (a
        review decision made on that same status, without seeing the other) overturns
        it: review decisions race by stamp, the later one wins whole, whatever the
        order they reach the server in. None when ``ch`` does not overturn one."""
        cur = w.field(record_id, "status")
        if cur is None or ch.base is None or ch.base == cur[2] or cur[3] != ch.base:
            return None
        if ch.stamp <= cur[2] or ch.value not in merge.DECISION_SET:
            return None
        if (json.loads(cur[1]) if cur[1] else None) not in merge.DECISION_SET:
            return None
        row = w.conn.execute(
            select(changes.c.value).where(
                or_(changes.c.stamp == ch.base, changes.c.origin_stamp == ch.base)
            )
        ).first()
        source = json.loads(row[0]) if row and row[0] is not None else None
        return "signed" if source == "signed" else None

    def _loses_overturn(self, w: Working, ch: PushChange) -> bool:
        """A field of an overturning decision whose stamp is below the overturned
        decision's value of it (their stamps interleave): it must still win."""
        if ch.record_id not in w.overturn or ch.field not in rules.NOTE_DECISION:
            return False
        cur = w.field(ch.record_id, ch.field)
        return cur is not None and cur[2] > ch.stamp

    def _standing_decision(
        self, w: Working, record_id: str
    ) -> tuple[tuple[Any, str], tuple[Any, str] | None]:
        """The note's standing review decision (status, stamp) and its comment."""
        cur = w.fs[(record_id, "status")]
        comment = w.field(record_id, "review_comment")
        return (json.loads(cur[1]), cur[2]), (
            (json.loads(comment[1]), comment[2]) if comment else None
        )

    def _overturn(
        self,
        p: Push,
        ch: PushChange,
        stamp: str,
        loser: tuple[tuple[Any, str], tuple[Any, str] | None],
    ) -> None:
        """After an overturning status move: the decision fields it does not write take
        the values its decision gives them (merge.DECISION_SET), so nothing of the
        overturned decision is left on the note, and the two decisions are kept as a
        conflict."""
        w = p.w
        pushed = w.decisions.get(ch.record_id, {})
        for name, value in merge.DECISION_SET[ch.value].items():
            cur = w.field(ch.record_id, name)
            if name in pushed or cur is None or json.loads(cur[1]) == value:
                continue
            self._merge_field(
                w, "encounters", ch.record_id, name, value, self.hlc.now(), cur[2], None
            )
        self._decision_conflict(w, p.caller, ch.record_id, (ch.value, stamp), *loser)

    def _keep_refused_decision(self, p: Push, ch: PushChange, reason: str = "") -> None:
        """A status move refused because the note changed, or because another decision
        reached the note first, is kept as a conflict on ``status`` (kept: the status
        that stands): every device that sees the note shows it."""
        if ch.table != "encounters" or ch.field != "status":
            return
        w, caller = p.w, p.caller
        cur = w.field(ch.record_id, ch.field)
        if reason in (merge.SIGN_REFUSED, merge.REVIEW_REFUSED):
            # (a new note's status is left out while it is a draft, its default)
            kept = (json.loads(cur[1]), cur[2]) if cur is not None else ("draft", "")
            kind = merge.SIGN_AGAIN if ch.value == "signed" else "log"
            self._record_conflict(
                w, ch.table, ch.record_id, ch.field, kept, (ch.value, ch.stamp), caller, kind
            )
            return
        if cur is None:
            return
        kept = (json.loads(cur[1]) if cur[1] is not None else None, cur[2])
        decision = merge.decide(cur[2], cur[3], ch.stamp, ch.base)
        if merge.keeps_refused(ch.table, ch.field, decision):
            comment = w.decisions.get(ch.record_id, {}).get("review_comment")
            self._decision_conflict(
                w, caller, ch.record_id, kept, (ch.value, ch.stamp), comment or ("", ch.stamp)
            )

    def _decision_conflict(
        self,
        w: Working,
        caller: Caller | None,
        record_id: str,
        kept: tuple[Any, str],
        lost: tuple[Any, str],
        lost_comment: tuple[Any, str] | None,
    ) -> None:
        """Two review decisions met: the one that stands (``kept``: status, stamp) and
        the one that lost, kept as a conflict on ``status``; a losing return's comment
        is kept as a conflict on ``review_comment`` too (kept: the approval's empty
        comment). The same records whichever of the two reached the server first.
        The same decision made twice (two approvals) loses nothing: no conflict."""
        if kept[0] == lost[0]:
            return
        self._record_conflict(w, "encounters", record_id, "status", kept, lost, caller)
        if lost[0] == "returned" and lost_comment is not None:
            self._record_conflict(
                w, "encounters", record_id, "review_comment", ("", kept[1]), lost_comment,
                caller,
            )  # fmt: skip
