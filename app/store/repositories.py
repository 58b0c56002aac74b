"""Repositories: the only way the app reads and writes records.

Each write method runs in a store transaction, so the capture triggers (see
capture.py) record its field-level changes in the outbox in the same
transaction, and it appends to the audit log (field names, never values).
Note life-cycle moves go through app.domain.lifecycle; a plain ``update`` of an
encounter may change only a draft's content.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from app.domain import lifecycle
from app.domain.records import (
    Addendum,
    Barc10,
    BillingBatch,
    BillingProvider,
    Consent,
    Encounter,
    Goal,
    NoteStatus,
    Participant,
    Payer,
    Record,
    SupervisionSession,
    TimeEntry,
    User,
)
from app.store import audit
from app.store.codec import codec
from app.store.db import Store, utcnow
from app.store.errors import StoreError

R = TypeVar("R", bound=Record)


class NotFound(StoreError):
    pass


class Repository(Generic[R]):
    def __init__(self, store: Store, cls: type[R]) -> None:
        self.store = store
        self.cls = cls
        self.table = cls.TABLE
        self.codec = codec(cls)
        self._cols = ", ".join(f'"{n}"' for n in self.codec.names)

    # -- reads ---------------------------------------------------------------

    def get(self, record_id: str) -> R | None:
        row = self.store.conn.execute(
            f"SELECT {self._cols} FROM {self.table} WHERE id = ?", (record_id,)
        ).fetchone()
        return self.codec.from_row(row) if row else None  # type: ignore[return-value]

    def require(self, record_id: str) -> R:
        rec = self.get(record_id)
        if rec is None:
            raise NotFound(f"That {self.cls.__name__.lower()} is not in this vault.")
        return rec

    def open(self, record_id: str) -> R:
        """Read a record for a person to look at: the read is audited."""
        rec = self.require(record_id)
        self._audit("view", rec.id)
        return rec

    def list(
        self,
        where: str = "",
        params: Sequence[Any] = (),
        order_by: str = "",
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> list[R]:
        return list(self.iter(where, params, order_by, include_deleted, limit))

    def iter(
        self,
        where: str = "",
        params: Sequence[Any] = (),
        order_by: str = "",
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> Iterator[R]:
        clauses = [] if include_deleted else ["deleted = 0"]
        if where:
            clauses.append(f"({where})")
        sql = f"SELECT {self._cols} FROM {self.table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if order_by:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self.store.conn.execute(sql, tuple(params)):
            yield self.codec.from_row(row)  # type: ignore[misc]

    def count(self, include_deleted: bool = False) -> int:
        sql = f"SELECT count(*) FROM {self.table}"
        if not include_deleted:
            sql += " WHERE deleted = 0"
        return int(self.store.conn.execute(sql).fetchone()[0])

    # -- writes --------------------------------------------------------------

    def _audit(self, action: str, record_id: str, **detail: Any) -> None:
        audit.append(
            self.store.conn,
            at=utcnow(),
            user_id=self.store.user_id,
            device_id=self.store.device_id,
            action=action,
            record_type=self.table,
            record_id=record_id,
            detail=detail or None,
        )

    def _check_new(self, rec: R) -> None:
        """Subclasses refuse records the rules do not allow."""

    def _check_update(self, before: R, after: R) -> None:
        """Subclasses refuse changes the rules do not allow."""

    def _insert(self, rec: R) -> None:
        placeholders = ", ".join("?" for _ in self.codec.names)
        self.store.conn.execute(
            f"INSERT INTO {self.table} ({self._cols}) VALUES ({placeholders})",
            self.codec.to_row(rec),
        )

    def add(self, rec: R) -> R:
        if not isinstance(rec, self.cls):
            raise TypeError(f"expected a {self.cls.__name__}")
        self._check_new(rec)
        with self.store.transaction():
            if self.get(rec.id) is not None:
                raise StoreError(f"That {self.cls.__name__.lower()} already exists.")
            self._insert(rec)
            self._audit("create", rec.id)
        return rec

    def add_many(self, recs: Iterable[R]) -> int:
        """Insert many new records in one transaction (import, demo)."""
        n = 0
        placeholders = ", ".join("?" for _ in self.codec.names)
        sql = f"INSERT INTO {self.table} ({self._cols}) VALUES ({placeholders})"
        with self.store.transaction():
            for rec in recs:
                self._check_new(rec)
                self.store.conn.execute(sql, self.codec.to_row(rec))
                n += 1
            self._audit("create", "", count=n)
        return n

    def _write_changes(self, before: R, after: R, action: str = "change", **detail: Any) -> R:
        old = self.codec.to_values(before)
        new = self.codec.to_values(after)
        changed = [k for k in self.codec.names if old[k] != new[k]]
        if not changed:
            return after
        assignments = ", ".join(f'"{k}" = ?' for k in changed)
        self.store.conn.execute(
            f"UPDATE {self.table} SET {assignments} WHERE id = ?",
            (*[new[k] for k in changed], after.id),
        )
        self._audit(action, after.id, fields=changed, **detail)
        return after

    def update(self, rec: R) -> R:
        with self.store.transaction():
            before = self.require(rec.id)
            if before.deleted:
                raise StoreError(f"That {self.cls.__name__.lower()} was deleted.")
            self._check_update(before, rec)
            return self._write_changes(before, rec)

    def delete(self, record_id: str) -> R:
        """Mark deleted (a tombstone); the row stays."""
        with self.store.transaction():
            before = self.require(record_id)
            self._check_delete(before)
            after = before.replace(deleted=True)
            return self._write_changes(before, after, action="delete")  # type: ignore[arg-type]

    def _check_delete(self, rec: R) -> None:
        """Subclasses refuse deletes the rules do not allow."""

    def restore(self, record_id: str) -> R:
        """Undo a delete (a record deleted on one device while edited on another:
        the person chose to keep it). A record that is not deleted is returned as is."""
        with self.store.transaction():
            before = self.require(record_id)
            if not before.deleted:
                return before
            after = before.replace(deleted=False)
            return self._write_changes(before, after, action="restore")  # type: ignore[arg-type]


class UserRepository(Repository[User]):
    def by_username(self, username: str) -> User | None:
        found = self.list("username = ?", (username,), limit=1)
        return found[0] if found else None


class ParticipantRepository(Repository[Participant]):
    def find_duplicates(
        self, first_name: str, last_name: str, dob: date | None
    ) -> list[Participant]:
        """Participants with the same name (case-insensitive) and date of birth."""
        if dob is None:
            return []
        return self.list(
            "lower(first_name) = lower(?) AND lower(last_name) = lower(?) AND date_of_birth = ?",
            (first_name.strip(), last_name.strip(), dob.isoformat()),
        )

    def medicaid_ids(self) -> set[str]:
        rows = self.store.conn.execute(
            "SELECT medicaid_id FROM participants WHERE deleted = 0 AND medicaid_id != ''"
        )
        return {r[0] for r in rows}

    def caseload(self, specialist_id: str | None = None) -> list[Participant]:
        if specialist_id:
            return self.list(
                "assigned_specialist_id = ?", (specialist_id,), order_by="last_name, first_name"
            )
        return self.list(order_by="last_name, first_name")


class EncounterRepository(Repository[Encounter]):
    """Encounters (service notes). Status moves only through the life-cycle methods."""

    def _check_new(self, rec: Encounter) -> None:
        if rec.status is not NoteStatus.DRAFT:
            raise lifecycle.LifecycleError("a new note starts as a draft")

    def _check_update(self, before: Encounter, after: Encounter) -> None:
        lifecycle.check_edit(before, after)
        allowed = set(lifecycle.CONTENT_FIELDS)
        for name in self.codec.names:
            if name not in allowed and getattr(before, name) != getattr(after, name):
                raise lifecycle.LifecycleError(
                    f"'{name}' changes only through signing, review or billing"
                )

    def _check_delete(self, rec: Encounter) -> None:
        if rec.status is not NoteStatus.DRAFT:
            raise lifecycle.LifecycleError(
                "only a draft can be deleted; a signed note is voided with a reason"
            )

    def _transition(self, record_id: str, action: str, move, **detail: Any) -> Encounter:
        with self.store.transaction():
            before = self.require(record_id)
            after = move(before)
            self._write_changes(before, after, action=action, **detail)
            return after

    def sign(self, record_id: str, signer: User, at: datetime | None = None) -> Encounter:
        return self._transition(
            record_id, "sign", lambda n: lifecycle.sign(n, signer, at or utcnow())
        )

    def approve(
        self, record_id: str, reviewer: User, loaded_hash: str, at: datetime | None = None
    ) -> Encounter:
        return self._transition(
            record_id,
            "review",
            lambda n: lifecycle.approve(n, reviewer, at or utcnow(), loaded_hash),
            outcome="approved",
        )

    def return_for_revision(
        self, record_id: str, reviewer: User, comment: str, at: datetime | None = None
    ) -> Encounter:
        return self._transition(
            record_id,
            "review",
            lambda n: lifecycle.return_for_revision(n, reviewer, at or utcnow(), comment),
            outcome="returned",
        )

    def add_addendum(
        self,
        record_id: str,
        author: User,
        reason: str,
        text: str,
        at: datetime | None = None,
        addendum_id: str | None = None,
    ) -> Addendum:
        with self.store.transaction():
            before = self.require(record_id)
            add, after = lifecycle.make_addendum(
                before, author, at or utcnow(), reason, text, addendum_id
            )
            Repository(self.store, Addendum)._insert(add)
            self._write_changes(before, after, action="addendum", addendum_id=add.id)
            return add

    def addenda(self, record_id: str) -> list[Addendum]:
        return Repository(self.store, Addendum).list(
            "encounter_id = ?", (record_id,), order_by="written_at"
        )

    def mark_billed(self, record_id: str, batch_id: str, at: datetime | None = None) -> Encounter:
        return self._transition(
            record_id,
            "export",
            lambda n: lifecycle.mark_billed(n, batch_id, at or utcnow()),
            batch_id=batch_id,
        )

    def unbill(self, record_id: str, reason: str) -> Encounter:
        return self._transition(record_id, "change", lifecycle.unbill, reason=reason)

    def mark_billed_many(
        self, record_ids: Sequence[str], batch_id: str, at: datetime | None = None, **detail: Any
    ) -> list[Encounter]:
        """Mark a whole export batch billed in one transaction, each service through
        the life-cycle rule; one audit entry names the batch and every service."""
        when = at or utcnow()
        return self._bulk(
            record_ids,
            lambda n: lifecycle.mark_billed(n, batch_id, when),
            "export",
            batch_id,
            **detail,
        )

    def unbill_many(self, record_ids: Sequence[str], batch_id: str, reason: str) -> list[Encounter]:
        """Put a voided batch's services back to approved, so they can be billed again."""
        return self._bulk(record_ids, lifecycle.unbill, "change", batch_id, reason=reason)

    def _bulk(self, record_ids: Sequence[str], move, action: str, batch_id: str, **detail: Any):
        changed = ("status", "billing_batch_id", "billed_at")
        sql = f"UPDATE {self.table} SET " + ", ".join(f'"{k}" = ?' for k in changed)
        sql += " WHERE id = ?"
        out: list[Encounter] = []
        with self.store.transaction():
            rows = []
            for i in range(0, len(record_ids), 500):
                chunk = list(record_ids[i : i + 500])
                found = {e.id: e for e in self.iter(f"id IN ({','.join('?' * len(chunk))})", chunk)}
                for rid in chunk:
                    if rid not in found:
                        raise NotFound("A service in this batch is not in this vault.")
                    after = move(found[rid])
                    enc = self.codec.encode_field
                    rows.append((*[enc(k, getattr(after, k)) for k in changed], rid))
                    out.append(after)
            self.store.conn.executemany(sql, rows)
            audit.append(
                self.store.conn,
                at=utcnow(),
                user_id=self.store.user_id,
                device_id=self.store.device_id,
                action=action,
                record_type="billing_batches",
                record_id=batch_id,
                detail={"fields": list(changed), "encounter_ids": list(record_ids), **detail},
            )
        return out

    def void(self, record_id: str, by: User, reason: str) -> Encounter:
        return self._transition(record_id, "change", lambda n: lifecycle.void(n, by, reason))

    def for_participant(self, participant_id: str) -> list[Encounter]:
        return self.list(
            "participant_id = ?", (participant_id,), order_by="service_date DESC, start_time DESC"
        )


class AddendumRepository(Repository[Addendum]):
    """Addenda are written through EncounterRepository.add_addendum and never change."""

    def add(self, rec: Addendum) -> Addendum:
        raise lifecycle.LifecycleError("add an addendum through its note")

    def add_many(self, recs: Iterable[Addendum]) -> int:
        raise lifecycle.LifecycleError("add an addendum through its note")

    def _check_update(self, before: Addendum, after: Addendum) -> None:
        raise lifecycle.LifecycleError("an addendum cannot be changed once written")

    def _check_delete(self, rec: Addendum) -> None:
        raise lifecycle.LifecycleError("an addendum cannot be removed")


class Barc10Repository(Repository[Barc10]):
    def _check_new(self, rec: Barc10) -> None:
        if len(rec.scores) != 10 or any(not 1 <= s <= 6 for s in rec.scores):
            raise StoreError("A BARC-10 has ten answers, each scored 1 to 6.")

    def _check_update(self, before: Barc10, after: Barc10) -> None:
        self._check_new(after)


class Repositories:
    """All repositories of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.users = UserRepository(store, User)
        self.payers = Repository(store, Payer)
        self.participants = ParticipantRepository(store, Participant)
        self.consents = Repository(store, Consent)
        self.goals = Repository(store, Goal)
        self.barc10 = Barc10Repository(store, Barc10)
        self.encounters = EncounterRepository(store, Encounter)
        self.addenda = AddendumRepository(store, Addendum)
        self.time_entries = Repository(store, TimeEntry)
        self.supervision = Repository(store, SupervisionSession)
        self.billing_providers = Repository(store, BillingProvider)
        self.billing_batches = Repository(store, BillingBatch)

    def all(self) -> list[Repository[Any]]:
        return [
            self.users,
            self.payers,
            self.participants,
            self.consents,
            self.goals,
            self.barc10,
            self.encounters,
            self.addenda,
            self.time_entries,
            self.supervision,
            self.billing_providers,
            self.billing_batches,
        ]
