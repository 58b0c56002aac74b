"""One person, one record: finding likely duplicate participants, marking a pair
"not the same person", and a supervisor's merge.

* ``find_duplicates`` runs the matcher (app.domain.duplicates) over the live
  participants in this vault (a specialist's vault holds their caseload, a
  supervisor's the team), leaving out pairs marked "not the same person". Sync
  runs it after every sync (app.services.syncing.record_sync_success) and keeps
  the count, which the caseload shows.
* ``mark_distinct`` records "not the same person" on the record with the smaller
  id (``participants.distinct_from``): an ordinary field change, so it syncs and
  the pair is not shown again on any device.
* ``merge`` (supervisors and administrators) fills the kept record's empty fields
  from the other record, lists the fields where both hold different values (the
  other record keeps its values: nothing is lost), and makes the other record a
  tombstone pointing at the kept one (``participants.merged_into``). Notes,
  goals, consents, BARC-10 scores (and the hours logged against those notes) are
  never rewritten: a record's children belong to its survivor
  (``sync.merge.survivor``), which every device and the server compute the same
  way from the same fields, so a signed note keeps matching its hash, children
  that arrive later for the tombstone follow it, and two merges made at once on
  two laptops converge (docs/SYNC.md, "Merged records"). The audit log records
  who merged what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.duplicates import Person
from app.domain.duplicates import likely_duplicates
from app.domain.duplicates import pair_key
from app.domain.records import Participant
from app.domain.records import Role
from app.services.changes import Changed
from app.services.changes import Done
from app.store.errors import StoreError
from app.store.repositories import Repositories
from sync import merge as sync_merge

DUPLICATES_KEY = "duplicates_found"

#: Fields a merge never copies from the other record: identity, ownership and the
#: merge's own fields (a supervisor cannot reassign; the kept record's status stands).
NOT_FILLED = frozenset(
    {"id", "deleted", "assigned_specialist_id", "status", "merged_into", "distinct_from"}
)


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    a: Participant
    b: Participant
    reason: str

    @property
    def ids(self) -> tuple[str, str]:
        return (self.a.id, self.b.id)


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    kept: Participant
    merged: Participant
    filled: tuple[str, ...]  # fields of the kept record filled from the other
    conflicting: tuple[str, ...]  # fields both held, differently (kept on the tombstone)


# -- survivors -------------------------------------------------------------------------


def merge_map(repos: Repositories) -> dict[str, str]:
    """Every participant this vault holds that was merged -> the id it names."""
    rows = repos.store.conn.execute(
        "SELECT id, merged_into FROM participants WHERE merged_into != ''"
    )
    return {r[0]: r[1] for r in rows}


def survivors(repos: Repositories) -> dict[str, str]:
    """Every participant in a merge group -> its survivor (sync.merge.survivor)."""
    return sync_merge.merge_groups(merge_map(repos))


def survivor_of(repos: Repositories, participant_id: str) -> str:
    return sync_merge.survivor(participant_id, merge_map(repos))


def group_ids(repos: Repositories, participant_id: str) -> list[str]:
    """The participant's survivor and every record merged into it (children of all
    of them are the survivor's)."""
    groups = survivors(repos)
    top = groups.get(participant_id, participant_id)
    return sorted({top} | {p for p, s in groups.items() if s == top})


def is_live(p: Participant, groups: dict[str, str]) -> bool:
    """Not deleted, and its own survivor (a merged record is not shown)."""
    return not p.deleted and groups.get(p.id, p.id) == p.id


# -- finding ---------------------------------------------------------------------------


def _distinct_pairs(people: list[Participant]) -> set[tuple[str, str]]:
    return {pair_key(p.id, other) for p in people for other in p.distinct_from}


def find_duplicates(repos: Repositories) -> list[DuplicatePair]:
    """Likely duplicate pairs among the live participants of this vault."""
    groups = survivors(repos)
    everyone = repos.participants.list()
    live = {p.id: p for p in everyone if is_live(p, groups)}
    people = [
        Person(p.id, p.first_name, p.last_name, p.date_of_birth, p.medicaid_id, p.preferred_name)
        for p in live.values()
    ]
    matches = likely_duplicates(people, _distinct_pairs(everyone))
    return [DuplicatePair(live[m.a_id], live[m.b_id], m.reason) for m in matches]


def refresh_count(repos: Repositories) -> int:
    """Find the likely duplicates again and keep their number in the vault."""
    n = len(find_duplicates(repos))
    repos.store.set_meta(DUPLICATES_KEY, str(n))
    return n


def known_count(repos: Repositories) -> int:
    """The number found by the last check (after a sync, a merge or a mark)."""
    text = repos.store.meta(DUPLICATES_KEY, "0")
    return int(text) if text.isdigit() else 0


# -- writing ---------------------------------------------------------------------------


def mark_distinct(repos: Repositories, a_id: str, b_id: str) -> Done[int]:
    """Mark two records "not the same person" (on the one with the smaller id); the
    value is the number of likely duplicates left."""
    if a_id == b_id:
        raise StoreError("Choose two different records.")
    low, high = pair_key(a_id, b_id)
    with repos.store.transaction():
        record = repos.participants.require(low)
        repos.participants.require(high)
        if high not in record.distinct_from:
            marks = tuple(sorted({*record.distinct_from, high}))
            repos.participants.update(record.replace(distinct_from=marks))  # type: ignore[arg-type]
    n = refresh_count(repos)
    return Done(n, Changed.of(Participant.TABLE, ids=[low, high]))


def _empty(value: object) -> bool:
    return value in sync_merge.EMPTY_VALUES


def merge(repos: Repositories, keep_id: str, other_id: str) -> Done[MergeOutcome]:
    """Merge ``other_id`` into ``keep_id`` (supervisors and administrators only)."""
    user = repos.users.get(repos.store.user_id)
    if user is None or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise StoreError("Only a supervisor merges records.")
    if keep_id == other_id:
        raise StoreError("Choose two different records.")
    with repos.store.transaction():
        groups = survivors(repos)
        keep = repos.participants.require(keep_id)
        other = repos.participants.require(other_id)
        for p in (keep, other):
            if not is_live(p, groups):
                raise StoreError("That record was already merged or removed; refresh the list.")
        codec = repos.participants.codec
        kept_values, other_values = codec.to_values(keep), codec.to_values(other)
        filled, conflicting = [], []
        for name in codec.names:
            if name in NOT_FILLED:
                continue
            mine, theirs = kept_values[name], other_values[name]
            if _empty(theirs) or mine == theirs:
                continue
            (filled if _empty(mine) else conflicting).append(name)
        if filled:
            fill = {n: getattr(other, n) for n in filled}
            keep = repos.participants.update(keep.replace(**fill))  # type: ignore[assignment]
        other = repos.participants.update(other.replace(merged_into=keep.id))  # type: ignore[assignment]
        repos.store.audit(
            "merge", Participant.TABLE, other.id,
            into=keep.id, filled=filled, conflicting=conflicting,
        )  # fmt: skip
    refresh_count(repos)
    outcome = MergeOutcome(keep, other, tuple(filled), tuple(conflicting))
    return Done(outcome, Changed.of(Participant.TABLE, ids=[keep.id, other.id]))


def merge_trail(repos: Repositories, participant_id: str) -> list[dict]:
    """The merges recorded for a record (who, when, into what, which fields)."""
    rows = repos.store.conn.execute(
        "SELECT at, user_id, record_id, detail FROM audit_log WHERE action = 'merge' "
        "AND (record_id = ? OR detail LIKE ?) ORDER BY seq",
        (participant_id, f'%"into":"{participant_id}"%'),
    )
    return [{"at": r[0], "user_id": r[1], "merged": r[2], **json.loads(r[3] or "{}")} for r in rows]
