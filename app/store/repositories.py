"""Repositories: the only way the app reads and writes records.

Each write method runs in a store transaction, so the capture triggers (see
capture.py) record its field-level changes in the outbox in the same
transaction, and it appends to the audit log (field names, never values).
Note life-cycle moves go through app.domain.lifecycle; a plain ``update`` of an
encounter may change only a draft's content.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from typing import Any
from typing import Generic
from typing import TypeVar

import sqlcipher3

from app.domain import lifecycle
from app.domain.records import Addendum
from app.domain.records import Barc10
from app.domain.records import BillingBatch
from app.domain.records import BillingProvider
from app.domain.records import Consent
from app.domain.records import Encounter
from app.domain.records import Goal
from app.domain.records import NoteStatus
from app.domain.records import Participant
from app.domain.records import Payer
from app.domain.records import Record
from app.domain.records import SupervisionSession
from app.domain.records import TimeEntry
from app.domain.records import User
from app.store import audit
from app.store.codec import codec
from app.store.db import Store
from app.store.db import utcnow
from app.store.errors import StoreError
from sync import merge

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
        self.store.audit_view(self.table, rec.id)
        return rec

    def list(self, where: str = "", params: Sequence[Any] = (), *more: Any, **kw: Any) -> list[R]:
        """:meth:`iter`'s records as a list; the same arguments."""
        return list(self.iter(where, params, *more, **kw))

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

    def _audit(self, action: str, record_id: str, table: str = "", **detail: Any) -> None:
        """One audit entry by this store's user and device (``table``: this one's)."""
        audit.append(
            self.store.conn,
            at=utcnow(),
            user_id=self.store.user_id,
            device_id=self.store.device_id,
            action=action,
            record_type=table or self.table,
            record_id=record_id,
            detail=detail or None,
        )

    def _check_new(self, rec: R) -> None:
        """Subclasses refuse records the rules do not allow."""

    def _check_update(self, before: R, after: R) -> None:
        """Subclasses refuse changes the rules do not allow."""

    def _insert(self, rec: R) -> None:
        self.store.conn.execute(self.codec.insert_sql, self.codec.to_row(rec))

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
        sql = self.codec.insert_sql
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
        """The live records (a record merged into another is not listed, unless the
        merges formed a cycle and it is the survivor: app.services.duplicates)."""
        cycle = self.cycle_survivors()
        live = "(merged_into = '' OR id IN (SELECT value FROM json_each(?)))"
        if specialist_id:
            return self.list(
                f"assigned_specialist_id = ? AND {live}",
                (specialist_id, json.dumps(cycle)),
                order_by="last_name, first_name",
            )
        return self.list(live, (json.dumps(cycle),), order_by="last_name, first_name")

    def cycle_survivors(self) -> list[str]:
        """Merged records that are their own survivor (merges made at once on two
        laptops that point at each other: sync.merge.survivor)."""
        rows = self.store.conn.execute(
            "SELECT id, merged_into FROM participants WHERE merged_into != ''"
        )
        edges = {r[0]: r[1] for r in rows}
        return sorted(p for p in edges if merge.survivor(p, edges) == p)


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
        return self._review(
            record_id, "approved", lambda n, t: lifecycle.approve(n, reviewer, t, loaded_hash), at
        )

    def return_for_revision(
        self, record_id: str, reviewer: User, comment: str, at: datetime | None = None
    ) -> Encounter:
        move = lifecycle.return_for_revision
        return self._review(record_id, "returned", lambda n, t: move(n, reviewer, t, comment), at)

    def _review(self, record_id: str, outcome: str, move, at: datetime | None) -> Encounter:
        """A supervisor's decision on a note (``move(note, when)``), audited as a review."""
        return self._transition(
            record_id, "review", lambda n: move(n, at or utcnow()), outcome=outcome
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
        self,
        notes: Sequence[str | Encounter],
        batch_id: str,
        at: datetime | None = None,
        content_hashes: Mapping[str, str] | None = None,
        **detail: Any,
    ) -> int:
        """Mark a whole export batch billed in one transaction; one audit entry names
        the batch and every service. Returns how many services were marked.

        ``notes`` are ids, read here, or the Encounter records the caller read in its
        open transaction (the billing export reads and checks them there, under the
        same write lock, so they are the rows being marked and are not read again).
        Every note must pass the life-cycle rule (approved, content unchanged since
        approval: ``lifecycle.billing_problem``); ``content_hashes`` holds the content
        hashes the caller computed for those same records (the pre-flight's), which
        are not computed again. Then one set-based UPDATE, guarded by status, marks
        them all, and the capture triggers record each service's billing fields for
        sync."""
        when = at or utcnow()
        if not self.store.in_transaction and any(isinstance(n, Encounter) for n in notes):
            raise StoreError("Services given as records must be read in the same transaction.")
        with self.store.transaction():
            records = self._records_in_transaction(notes)
            known = content_hashes or {}
            given = {n.id for n in notes if isinstance(n, Encounter)}  # not read here
            for note in records:
                problem = lifecycle.billing_problem(
                    note, known.get(note.id) if note.id in given else None
                )
                if problem:
                    raise lifecycle.LifecycleError(problem)
            ids = [n.id for n in records]
            values = (NoteStatus.BILLED, batch_id, when)
            self._bulk_update(
                ids, values, NoteStatus.APPROVED, "only approved services can be billed"
            )
            self._bulk_audit("export", batch_id, ids, **detail)
        return len(ids)

    def unbill_many(self, record_ids: Sequence[str], batch_id: str, reason: str) -> int:
        """Put a voided batch's services back to approved, so they can be billed again
        (the life-cycle rule of ``unbill``: only a billed service; here also only one
        billed in this batch). One set-based UPDATE; returns how many."""
        ids = list(dict.fromkeys(record_ids))
        with self.store.transaction():
            values = (NoteStatus.APPROVED, "", None)
            self._bulk_update(
                ids, values, NoteStatus.BILLED, "this service is not billed in that batch", batch_id
            )
            self._bulk_audit("change", batch_id, ids, reason=reason)
        return len(ids)

    def rebill_many(self, record_ids: Sequence[str], from_batch: str, to_batch: str) -> int:
        """Services billed in ``from_batch`` (being voided) that another live batch also
        bills stay billed, under that batch (a double bill resolved by voiding one of
        the two batches). One set-based UPDATE; returns how many."""
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return 0
        with self.store.transaction():
            values = (NoteStatus.BILLED, to_batch, utcnow())
            self._bulk_update(
                ids, values, NoteStatus.BILLED, "this service is not billed in that batch",
                from_batch,
            )  # fmt: skip
            self._bulk_audit("change", to_batch, ids, reason="kept in the batch that stands")
        return len(ids)

    _BILLING_FIELDS = ("status", "billing_batch_id", "billed_at")

    def _records_in_transaction(self, notes: Sequence[str | Encounter]) -> list[Encounter]:
        """The notes as records: ids are read now (in the open transaction)."""
        out: dict[str, Encounter] = {}
        wanted = [n for n in notes if isinstance(n, str)]
        found: dict[str, Encounter] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            found.update(
                (e.id, e) for e in self.iter(f"id IN ({','.join('?' * len(chunk))})", chunk)
            )
        for n in notes:
            rec = found.get(n) if isinstance(n, str) else n
            if rec is None:
                raise NotFound("A service in this batch is not in this vault.")
            out[rec.id] = rec
        return list(out.values())

    def _bulk_update(
        self,
        ids: list[str],
        values: tuple[NoteStatus, str, datetime | None],
        from_status: NoteStatus,
        refusal: str,
        batch_id: str | None = None,
    ) -> None:
        """Set the billing fields of every listed service in one statement, only where
        the status (and batch) are still what the rule needs: all of them or none."""
        enc = self.codec.encode_field
        sets = ", ".join(f'"{k}" = ?' for k in self._BILLING_FIELDS)
        sql = (
            f"UPDATE {self.table} SET {sets} "
            "WHERE id IN (SELECT value FROM json_each(?)) AND deleted = 0 AND +status = ?"
        )  # "+status": look the ids up by key, not every note of that status by index
        params = [enc(k, v) for k, v in zip(self._BILLING_FIELDS, values, strict=True)]
        params += [json.dumps(ids), from_status.value]
        if batch_id is not None:
            sql += " AND +billing_batch_id = ?"
            params.append(batch_id)
        conn = self.store.conn
        # A savepoint makes it all or none even when a caller catches the refusal
        # and goes on in its transaction.
        conn.execute("SAVEPOINT billing_marks")
        try:
            changed = conn.execute(sql, params).rowcount
            if changed != len(ids):
                conn.execute("ROLLBACK TO billing_marks")
        except BaseException:
            with contextlib.suppress(sqlcipher3.Error):
                conn.execute("ROLLBACK TO billing_marks")
            raise
        finally:
            with contextlib.suppress(sqlcipher3.Error):
                conn.execute("RELEASE billing_marks")
        if changed != len(ids):
            # nothing was marked; say which rule stopped it
            present = conn.execute(
                f"SELECT count(*) FROM {self.table} WHERE deleted = 0 "
                "AND id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            ).fetchone()[0]
            if present != len(ids):
                raise NotFound("A service in this batch is not in this vault.")
            raise lifecycle.LifecycleError(refusal)

    def _bulk_audit(self, action: str, batch_id: str, ids: list[str], **detail: Any) -> None:
        fields = list(self._BILLING_FIELDS)
        self._audit(action, batch_id, "billing_batches", fields=fields, encounter_ids=ids, **detail)

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
        """Every record repository, in the order they are made above."""
        return [r for r in vars(self).values() if isinstance(r, Repository)]
