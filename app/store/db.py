"""The open store: one keyed connection, its clock, transactions and repositories.

``Store.open(vault)`` connects (the vault must be unlocked), migrates with a
backup first, registers the change-capture functions and loads the device's
hybrid logical clock. All writes happen inside ``store.transaction()``, which
maps a full disk to :class:`DiskFull` after rolling back, so earlier data stays
intact. The store is used from one thread at a time (the UI's database worker).
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import os
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlcipher3

from app.domain.records import Role
from app.domain.records import User
from app.store import audit
from app.store import migrations
from app.store.capture import CaptureContext
from app.store.codec import codec
from app.store.errors import CaptureViolation
from app.store.errors import DiskFull
from app.store.errors import StoreError
from app.store.errors import VaultDamaged
from app.store.page_check import BackgroundPageCheck
from app.store.page_check import Listener
from app.store.vault import Vault
from app.store.vault import check_pages
from app.store.vault import is_disk_full
from sync import merge
from sync.hlc import HybridLogicalClock
from sync.hlc import elapsed_ms
from sync.hlc import now_ms

#: SQLite authorizer actions that write rows.
_WRITES = frozenset({sqlcipher3.SQLITE_INSERT, sqlcipher3.SQLITE_UPDATE, sqlcipher3.SQLITE_DELETE})


def new_device_id() -> str:
    return base64.b32encode(os.urandom(10)).decode().lower()  # 16 chars of a-z2-7


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Store:
    def __init__(self, conn: sqlcipher3.Connection, vault: Vault | None = None) -> None:
        self.conn = conn
        self.vault = vault
        self.capture = CaptureContext(stamp=self._next_stamp)
        self.capture.register(conn)
        self._depth = 0
        self.hlc: HybridLogicalClock | None = None
        self.device_id = ""
        self.user_id = ""
        self.migration_backup: Path | None = None
        #: The check of every page still running in the background (see open()).
        self.page_check: BackgroundPageCheck | None = None
        #: Audit entries of reads made while that check runs, written once it passed.
        self._held_audit: list[dict] = []
        self.os_clock = now_ms  # this laptop's clock (tests replace it)
        self.elapsed_clock = elapsed_ms  # time that passed, whatever the clock says (tests too)
        self.clock_offset_ms = 0  # server time minus ours, measured by sync
        # (this laptop's clock, elapsed clock) when the offset was measured or loaded:
        # a change of the laptop's clock since shows as a jump between the two
        self._clock_anchor: tuple[int, int] | None = None
        self._offset_dirty = False
        self._load_meta()

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        vault: Vault,
        owner_username: str | None = None,
        owner_id: str | None = None,
        check_in_background: bool = False,
    ) -> Store:
        """The vault's store. Every page's HMAC is checked before anything is written
        (a damaged page: VaultDamaged, nothing written): before opening, or with
        ``check_in_background`` (the desktop's unlock) on a thread of its own while
        the store is read (started by :meth:`start_page_check` or the first write,
        which waits for it; app.store.page_check).
        An open that must write (a migration, a new vault's identity) checks first."""
        conn = vault.connect() if check_in_background else vault.connect_checked()
        try:
            store = cls(conn, vault)
            if check_in_background:
                if migrations.version(conn) == migrations.LATEST and store.device_id:
                    store.page_check = BackgroundPageCheck(vault.connect(), vault.db_path)
                    # Every statement that writes (also an audited read's entry, written
                    # outside transaction()) waits for the check when it is prepared.
                    conn.set_authorizer(store._writes_wait_for_check)
                else:
                    check_pages(conn, vault.db_path)
            store.migration_backup = migrations.migrate(conn, vault.db_path, vault.data_key.hex())
            store._ensure_identity(owner_username, owner_id)
        except sqlcipher3.DatabaseError as e:
            conn.close()
            if is_disk_full(e):
                raise DiskFull() from None
            raise VaultDamaged(
                "The vault's database is damaged and could not be read. It was left as it "
                "is. Check it for damage, or restore a backup."
            ) from None
        except BaseException:
            conn.close()
            raise
        return store

    def _load_meta(self) -> None:
        try:
            rows = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlcipher3.OperationalError:
            rows = {}  # a new database: the first migration creates meta
        self.device_id = rows.get("device_id", "")
        self.user_id = rows.get("owner_user_id", "")
        self.capture.user_id = self.user_id
        if self.device_id:
            last = rows.get("hlc_last")
            newest = self.conn.execute(
                "SELECT max(stamp) FROM outbox WHERE device_id = ?", (self.device_id,)
            ).fetchone()[0]
            if newest and (not last or newest > last):
                last = newest
            self.clock_offset_ms = int(rows.get("clock_offset_ms", "0") or 0)
            # Stamps follow the server's clock once sync has measured the offset, so
            # a laptop whose clock is wrong does not write stamps from another day.
            self.hlc = HybridLogicalClock(self.device_id, last, wall=self.corrected_now)

    def _ensure_identity(self, owner_username: str | None, owner_id: str | None = None) -> None:
        """A new vault gets a device id and an owner user record."""
        if self.device_id:
            return
        with self.transaction(mode="migrate"):
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('device_id', ?)", (new_device_id(),)
            )
        self._load_meta()
        owner = User(
            **({"id": owner_id} if owner_id else {}),
            username=owner_username or _login_name(),
            display_name="",
            role=Role.SPECIALIST,
        )
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('owner_user_id', ?)", (owner.id,)
            )
            self.capture.user_id = owner.id
            users = codec(User)  # as Repository.add writes it (db sits below repositories)
            self.conn.execute(users.insert_sql, users.to_row(owner))
            audit.append(
                self.conn, at=utcnow(), user_id=self.user_id, device_id=self.device_id,
                action="create", record_type=User.TABLE, record_id=owner.id, detail=None,
            )  # fmt: skip
        self._load_meta()

    def close(self) -> None:
        if self._held_audit:  # reads made during the check: their entries are kept
            with contextlib.suppress(StoreError, sqlcipher3.Error):
                self.flush_held_audit()
        if self.page_check is not None:
            self.page_check.stop()
        with contextlib.suppress(sqlcipher3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    def audit_view(self, record_type: str, record_id: str) -> None:
        """Audit a person's read of a record. While the background page check runs the
        entry is held (a read must not wait seconds for it) and written, in order, by
        the next transaction, :meth:`flush_held_audit` or close, once the check passed."""
        entry = {
            "at": utcnow(),
            "user_id": self.user_id,
            "device_id": self.device_id,
            "action": "view",
            "record_type": record_type,
            "record_id": record_id,
            "detail": None,
        }
        check = self.page_check
        if check is not None and not check.done and not self._depth:
            self._held_audit.append(entry)
            return
        if check is not None and check.error is not None:
            raise check.error  # a damaged vault: nothing is written
        if self._held_audit and not self._depth:
            with self.transaction():  # writes the held entries first
                audit.append(self.conn, **entry)
            return
        audit.append(self.conn, **entry)

    def flush_held_audit(self) -> None:
        """Write the audit entries held during the page check (waits for the check)."""
        if self._held_audit:
            with self.transaction():
                pass  # the transaction writes them

    def start_page_check(self) -> None:
        """Begin the background check of every page (if one is waiting; any thread)."""
        check = self.page_check
        if check is not None:
            check.start()

    def when_pages_checked(self, listener: Listener) -> None:
        """``listener(None)`` once every page passed its check, ``listener(error)``
        if one failed (at once when the check is over or was done before opening;
        else on the check's thread)."""
        if self.page_check is None:
            listener(None)
        else:
            self.page_check.on_done(listener)

    def _writes_wait_for_check(self, action: int, *_: object) -> int:
        """SQLite's authorizer while the background check runs: a statement that
        inserts, updates or deletes is prepared only once every page passed (it waits
        for the check) and is refused if one failed."""
        if action not in _WRITES:
            return sqlcipher3.SQLITE_OK
        check = self.page_check
        if check is None:
            return sqlcipher3.SQLITE_OK
        try:
            check.wait()
        except BaseException:
            return sqlcipher3.SQLITE_DENY
        return sqlcipher3.SQLITE_OK

    def _pages_checked(self) -> None:
        """Writes wait for the background check of every page; a damaged vault is
        never written to (VaultDamaged, each time)."""
        check = self.page_check
        if check is not None:
            check.wait()
            self.page_check = None
            self.conn.set_authorizer(None)  # every page passed: writes go as before

    # -- clock and transactions -----------------------------------------------

    def _next_stamp(self) -> str:
        if self.hlc is None:
            raise StoreError("This vault has no device id yet.")
        return self.hlc.now()

    @contextlib.contextmanager
    def transaction(self, mode: str = "local") -> Iterator[sqlcipher3.Connection]:
        """A write transaction. Nested calls join the outer one."""
        if self._depth:
            if mode != self.capture.mode:
                raise StoreError("cannot change capture mode inside a transaction")
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._pages_checked()
        clock_before = self.hlc.last if self.hlc else None
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlcipher3.OperationalError as e:
            raise _translate(e) from None
        self.capture.mode = mode
        self._depth = 1
        held, self._held_audit = self._held_audit, []
        try:
            for entry in held:  # reads audited during the page check, in their order
                audit.append(self.conn, **entry)
            yield self.conn
            if self.hlc is not None and self.hlc.last != clock_before:
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('hlc_last', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self.hlc.last,),
                )
            if self._offset_dirty:  # a correction that ended: not applied after a restart
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('clock_offset_ms', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(self.clock_offset_ms),),
                )
                self._offset_dirty = False
            self.conn.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlcipher3.Error):
                self.conn.execute("ROLLBACK")
            self._held_audit = held + self._held_audit  # rolled back: kept for the next
            if isinstance(e, sqlcipher3.Error):
                raise _translate(e) from None
            raise
        finally:
            self._depth = 0
            self.capture.mode = None

    @property
    def in_transaction(self) -> bool:
        """Whether a ``transaction()`` is open (what it reads stays as read until it ends)."""
        return self._depth > 0

    def corrected_now(self) -> int:
        """Milliseconds since the epoch by this laptop's clock, corrected to the server's
        while the laptop's clock is still off the way sync measured it (see
        ``_follow_clock_change``)."""
        os_now = self.os_clock()
        if self.clock_offset_ms:
            self._follow_clock_change(os_now)
        return os_now + self.clock_offset_ms

    def _follow_clock_change(self, os_now: int) -> None:
        """End or adjust the correction when this laptop's clock was set since it was
        measured, so no stale correction is applied to new edits.

        * Within a run, a change of the clock shows as a jump between the laptop's
          clock and the elapsed clock. A jump that brings the clock to the server's
          (within the warning threshold) ends the correction; a jump back that leaves
          it still wrong keeps correcting what remains. A jump forward that does not
          put it right is left alone (it may be a sleep the elapsed clock missed).
        * After a restart: a laptop that ran ahead and was set right has corrected
          time behind the stamps it already made, while its own clock is not: the
          correction has ended.
        """
        elapsed = self.elapsed_clock()
        if self._clock_anchor is None:
            self._clock_anchor = (os_now, elapsed)
            last = self.hlc.wall_seen if self.hlc is not None else 0
            slack = merge.WARN_OFFSET_MS
            if self.clock_offset_ms < 0 and os_now + self.clock_offset_ms < last - slack <= os_now:
                self._end_correction(0)
            return
        os_at, elapsed_at = self._clock_anchor
        jump = (os_now - os_at) - (elapsed - elapsed_at)
        self._clock_anchor = (os_now, elapsed)
        if abs(jump) <= merge.WARN_OFFSET_MS:
            return
        if abs(self.clock_offset_ms - jump) <= merge.WARN_OFFSET_MS:
            self._end_correction(0)
        elif jump < 0:
            self._end_correction(self.clock_offset_ms - jump)

    def _end_correction(self, offset_ms: int) -> None:
        self.clock_offset_ms = offset_ms
        self._offset_dirty = True  # saved with the next transaction

    def set_clock_offset(self, offset_ms: int) -> None:
        """Follow the server's clock (measured by sync) for new stamps."""
        self.set_meta("clock_offset_ms", str(int(offset_ms)))
        self.clock_offset_ms = int(offset_ms)
        self._clock_anchor = (self.os_clock(), self.elapsed_clock())
        self._offset_dirty = False
        if self.hlc is None:
            return
        pending = self.conn.execute(
            "SELECT count(*) FROM outbox WHERE acked_at IS NULL AND rejected_reason IS NULL"
        ).fetchone()[0]
        if not pending:  # every stamp from the wrong clock was sent and re-stamped
            now = self.hlc.wall()
            bound = f"{now + 10 * 60 * 1000:012x}"
            newest_sane = self.conn.execute(
                "SELECT max(stamp) FROM field_stamps WHERE stamp < ?", (bound,)
            ).fetchone()[0]
            self.hlc.rewind(now)
            if newest_sane:
                self.hlc.observe(newest_sane)
            self.set_meta("hlc_last", self.hlc.last)

    @contextlib.contextmanager
    def page_cache(self, mib: int) -> Iterator[None]:
        """A larger page cache while a bulk write runs and commits. Marking 10,000
        services billed touches some 9,000 pages (the notes, their outbox rows and
        field stamps); in the default cache (8 MB) the capture's writes spill to the
        WAL and are read and decrypted again, which took 0.5 s of CPU. The previous
        size is set back afterwards, which gives the extra pages back."""
        before = int(self.conn.execute("PRAGMA cache_size").fetchone()[0])
        page_kib = int(self.conn.execute("PRAGMA page_size").fetchone()[0]) // 1024
        before_kib = -before if before < 0 else before * page_kib  # negative: KiB; else pages
        if before_kib >= mib * 1024:
            yield  # already at least that big
            return
        self.conn.execute(f"PRAGMA cache_size = {-int(mib) * 1024}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {before}")

    @contextlib.contextmanager
    def mode(self, mode: str) -> Iterator[None]:
        """Inside a transaction, write in another capture mode for a while (sync
        purging what left the caseload in the middle of applying a reply)."""
        if not self._depth:
            raise StoreError("a capture mode is switched only inside a transaction")
        before = self.capture.mode
        self.capture.mode = mode
        try:
            yield
        finally:
            self.capture.mode = before

    # -- helpers ----------------------------------------------------------------

    def meta(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def audit(self, action: str, record_type: str = "", record_id: str = "", **detail) -> None:
        with self.transaction():
            audit.append(
                self.conn,
                at=utcnow(),
                user_id=self.user_id,
                device_id=self.device_id,
                action=action,
                record_type=record_type,
                record_id=record_id,
                detail=detail,
            )

    @property
    def schema_version(self) -> int:
        return migrations.version(self.conn)


def _translate(e: sqlcipher3.Error) -> StoreError:
    if is_disk_full(e):
        return DiskFull()
    text = str(e)
    if "peertrail:" in text:
        return CaptureViolation(text.split("peertrail:", 1)[1].strip().capitalize() + ".")
    if isinstance(e, sqlcipher3.DatabaseError) and (
        "malformed" in text or "not a database" in text
    ):
        return VaultDamaged(
            "The vault's database is damaged; the last change was not saved. "
            "Check it for damage, or restore a backup."
        )
    if "locked" in text or "busy" in text:
        return StoreError("The vault is busy in another PeerTrail window. Try again.")
    return StoreError(f"The change could not be saved ({type(e).__name__}).")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "me"
