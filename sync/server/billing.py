"""Billing on the server: service reservations for export batches, and each billing
device's number.

``reserve(conn, caller, request)`` is ``POST /v1/billing/reserve``: before an
export writes its files, the device sends every batch it is about to write (batch
id, interchange control number, payer, services) and the batches whose
reservations it gives back (voided, or never written), in one request. In one
transaction, serialised by a counter row lock: a service that another **live**
batch holds — reserved by another export, or marked billed on the server by a
batch that synced without a reservation (an offline export) — refuses the whole
request (409 ``already_billed``, naming that batch's control number, exporter and
date); so does a service the server does not hold as an approved or billed note
(409 ``not_billable``). Otherwise the services are held for their batch and the
answer says so. A batch is live until its ``status`` on the server is ``void``:
reservations of a voided batch are released when the void has synced, or at once
when its device asks (``release``). Only billing roles may reserve; a device may
reserve and release only its own batches. Every reservation, refusal and release
is recorded in ``security_events`` (ids and counts, never personal data).

``billing_number(conn, device_id, role)`` gives a device whose user may bill its
number 1..9999 (assigned once, at enrolment or at its first sync after this
version): the first four digits of the device's interchange control numbers
(docs/BILLING.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sync.protocol import MAX_BILLING_NUMBER
from sync.protocol import MAX_RESERVE_SERVICES
from sync.protocol import BilledElsewhere
from sync.protocol import ReserveRequest
from sync.rules import BILLING_ROLES
from sync.server import security
from sync.server.tables import billing_numbers
from sync.server.tables import billing_reservations
from sync.server.tables import counters
from sync.server.tables import field_state
from sync.server.tables import records
from sync.server.tables import users
from sync.server.trust import Refusal

RESERVE_ROLES = BILLING_ROLES | {"admin"}
LOCK_ROW = "billing"
CHUNK = 500
MAX_DETAIL = 50  # refused services listed in one answer


class BillingRefusal(Refusal):
    """A reservation the server refuses (for 409 already_billed, ``detail`` lists
    the services and batches)."""


@dataclass(frozen=True)
class Reserved:
    reserved: int
    released: int


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _lock(conn: Connection) -> None:
    """Serialise reservations: a row lock on the billing counter (both databases)."""
    security.insert_if_missing(conn, counters, {"name": LOCK_ROW, "value": 0}, "name")
    conn.execute(
        update(counters).where(counters.c.name == LOCK_ROW).values(value=counters.c.value + 1)
    )


def _fields(conn: Connection, table: str, ids: list[str], names: tuple[str, ...]) -> dict:
    """{record id: {field: value}} of the server's current values."""
    out: dict[str, dict[str, Any]] = {}
    for part in _chunks(ids):
        rows = conn.execute(
            select(field_state.c.record_id, field_state.c.field, field_state.c.value).where(
                field_state.c.record_id.in_(part),
                field_state.c.table_name == table,
                field_state.c.field.in_(names),
            )
        )
        for rid, name, raw in rows:
            try:
                value = json.loads(raw) if raw is not None else None
            except ValueError:
                value = None
            out.setdefault(rid, {})[name] = value
    return out


def _voided(conn: Connection, batch_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(batch_ids))
    state = _fields(conn, "billing_batches", ids, ("status", "deleted"))
    return {
        b for b, f in state.items() if f.get("status") == "void" or f.get("deleted") in (1, True)
    }


def _usernames(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted({u for u in user_ids if u})
    out: dict[str, str] = {}
    for part in _chunks(ids):
        q = select(users.c.id, users.c.username).where(users.c.id.in_(part))
        out.update((str(u), str(n)) for u, n in conn.execute(q))
    return {u: str(n) for u, n in out.items()}


def _check_shape(req: ReserveRequest) -> None:
    """What the schema cannot say: ids unique across the request's batches."""
    batch_ids = [b.batch_id for b in req.batches]
    if len(set(batch_ids)) != len(batch_ids):
        raise BillingRefusal(422, "invalid", "A batch id is listed twice in the request.")
    controls = [b.control for b in req.batches]
    if len(set(controls)) != len(controls) or any(int(c) == 0 for c in controls):
        raise BillingRefusal(
            422, "invalid", "Each batch needs its own interchange control number (1-999999999)."
        )
    seen: set[str] = set()
    total = 0
    for b in req.batches:
        total += len(b.encounter_ids)
        if len(set(b.encounter_ids)) != len(b.encounter_ids) or seen & set(b.encounter_ids):
            raise BillingRefusal(
                422, "invalid", "A service is listed twice (in one batch or in two batches)."
            )
        seen |= set(b.encounter_ids)
    if total > MAX_RESERVE_SERVICES:
        raise BillingRefusal(
            422,
            "invalid",
            f"Too many services in one request ({total}; at most {MAX_RESERVE_SERVICES}). "
            "Export a shorter period.",
        )
    if set(req.release) & set(batch_ids):
        raise BillingRefusal(422, "invalid", "A batch cannot be reserved and released at once.")


def _owned_batches(conn: Connection, caller, batch_ids: list[str]) -> dict[str, list[tuple]]:
    """The reservation rows of these batches; refuses another device's batch."""
    rows: dict[str, list[tuple]] = {}
    for part in _chunks(batch_ids):
        q = select(
            billing_reservations.c.batch_id,
            billing_reservations.c.encounter_id,
            billing_reservations.c.device_id,
        ).where(billing_reservations.c.batch_id.in_(part))
        for bid, eid, dev in conn.execute(q):
            rows.setdefault(bid, []).append((eid, dev))
    return rows


def _release(conn: Connection, caller, release: list[str]) -> int:
    if not release:
        return 0
    held = _owned_batches(conn, caller, release)
    voided = _voided(conn, held)
    for bid, rows in held.items():
        if bid not in voided and any(dev != caller.device_id for _e, dev in rows):
            raise BillingRefusal(
                403,
                "forbidden",
                "That batch was reserved by another device; only that device releases it "
                "(or its void, once synced).",
            )
    n = 0
    for part in _chunks(release):
        n += conn.execute(
            delete(billing_reservations).where(billing_reservations.c.batch_id.in_(part))
        ).rowcount
    return n


def _check_batches_mine(conn: Connection, caller, req: ReserveRequest) -> None:
    ids = [b.batch_id for b in req.batches]
    held = _owned_batches(conn, caller, ids)
    if any(dev != caller.device_id for rows in held.values() for _e, dev in rows):
        raise BillingRefusal(403, "forbidden", "That batch id belongs to another device's batch.")
    state = _fields(
        conn, "billing_batches", ids, ("created_by_id", "status", "interchange_control")
    )
    for f in state.values():
        if f.get("created_by_id") not in (None, "", caller.user_id):
            raise BillingRefusal(403, "forbidden", "That batch id belongs to another user's batch.")
        if f.get("status") == "void":
            raise BillingRefusal(409, "batch_void", "That batch is void; export a new batch.")
    controls = [b.control for b in req.batches]
    taken = conn.execute(
        select(billing_reservations.c.control, billing_reservations.c.batch_id)
        .where(billing_reservations.c.control.in_(controls))
        .where(billing_reservations.c.batch_id.notin_(ids))
        .distinct()
    ).all()
    live = [c for c, bid in taken if bid not in _voided(conn, [b for _c, b in taken])]
    if live:
        raise BillingRefusal(
            409,
            "control_taken",
            f"Interchange control number {live[0]} is already used by another live batch.",
        )


def _elsewhere(conn: Connection, req: ReserveRequest) -> tuple[list[BilledElsewhere], int]:
    """Services held by other live batches, and how many services the server does
    not hold as approved or billed notes."""
    mine = {b.batch_id for b in req.batches}
    wanted = [e for b in req.batches for e in b.encounter_ids]
    notes = _fields(conn, "encounters", wanted, ("status", "billing_batch_id", "deleted"))
    not_billable = sum(
        1
        for e in wanted
        if notes.get(e, {}).get("status") not in ("approved", "billed")
        or notes[e].get("deleted") in (1, True)
    )
    holders: dict[str, dict[str, Any]] = {}  # encounter -> holder
    for part in _chunks(wanted):
        q = select(billing_reservations).where(billing_reservations.c.encounter_id.in_(part))
        for row in conn.execute(q).mappings():
            if row["batch_id"] not in mine:
                holders[row["encounter_id"]] = dict(row)
    for e in wanted:
        f = notes.get(e, {})
        other = f.get("billing_batch_id") or ""
        if e not in holders and f.get("status") == "billed" and other and other not in mine:
            holders[e] = {"encounter_id": e, "batch_id": other}
    dead = _voided(conn, {h["batch_id"] for h in holders.values()})
    stale = [e for e, h in holders.items() if h["batch_id"] in dead and "device_id" in h]
    for part in _chunks(stale):  # a voided batch's reservations end here at the latest
        conn.execute(
            delete(billing_reservations).where(billing_reservations.c.encounter_id.in_(part))
        )
    live = {e: h for e, h in holders.items() if h["batch_id"] not in dead}
    unsynced = sorted({h["batch_id"] for h in live.values() if "device_id" not in h})
    state = _fields(
        conn, "billing_batches", unsynced, ("interchange_control", "created_by_id", "created_at")
    )
    for h in live.values():
        if "device_id" not in h:
            f = state.get(h["batch_id"], {})
            ctrl = f.get("interchange_control")
            h["control"] = f"{int(ctrl):09d}" if isinstance(ctrl, int) else "unknown"
            h["user_id"] = str(f.get("created_by_id") or "")
            h["reserved_at"] = str(f.get("created_at") or "")
    names = _usernames(conn, (h["user_id"] for h in live.values()))
    out = [
        BilledElsewhere(
            encounter_id=e,
            batch_id=h["batch_id"],
            control=str(h["control"]),
            user=names.get(h["user_id"], "unknown user"),
            at=str(h["reserved_at"])[:40],
        )
        for e, h in sorted(live.items())
    ]
    return out, not_billable


def reserve(conn: Connection, caller, req: ReserveRequest, now_iso: str) -> Reserved:
    """Reserve and release in one transaction (see the module); BillingRefusal when
    refused, and then the caller's transaction is rolled back: nothing is stored."""
    if caller.role not in RESERVE_ROLES:
        raise BillingRefusal(
            403,
            "forbidden",
            "Only billing staff, a supervisor or an administrator reserve services.",
        )
    _check_shape(req)
    _lock(conn)
    released = _release(conn, caller, list(req.release))
    _check_batches_mine(conn, caller, req)
    others, not_billable = _elsewhere(conn, req)
    if others:
        first = others[0]
        raise BillingRefusal(
            409,
            "already_billed",
            f"{len(others)} service(s) are already in another batch: batch {first.control} "
            f"exported by {first.user} on {first.at[:10] or 'an unknown date'}. Nothing was "
            "exported. Void that batch first if it should not stand.",
            [o.model_dump() for o in others[:MAX_DETAIL]],
        )
    if not_billable:
        raise BillingRefusal(
            409,
            "not_billable",
            f"{not_billable} service(s) are not approved notes on the server (not synced yet, "
            "or changed there). Sync, check again, then export.",
        )
    reserved = 0
    for b in req.batches:
        conn.execute(
            delete(billing_reservations).where(billing_reservations.c.batch_id == b.batch_id)
        )
        rows = [
            dict(encounter_id=e, batch_id=b.batch_id, control=b.control, payer_id=b.payer_id,
                 user_id=caller.user_id, device_id=caller.device_id, reserved_at=now_iso)
            for e in b.encounter_ids
        ]  # fmt: skip
        conn.execute(insert(billing_reservations), rows)
        reserved += len(rows)
    security.record_event(
        conn, "billing_reserve", user_id=caller.user_id, device_id=caller.device_id,
        batches=[{"batch_id": b.batch_id, "control": b.control, "services": len(b.encounter_ids)}
                 for b in req.batches][:MAX_DETAIL],
        released=list(req.release)[:MAX_DETAIL],
    )  # fmt: skip
    return Reserved(reserved, released)


def record_refusal(conn: Connection, caller, req: ReserveRequest, exc: BillingRefusal) -> None:
    """The security log's entry for a refused reservation (its own transaction)."""
    security.record_event(
        conn, "billing_refused", user_id=caller.user_id, device_id=caller.device_id,
        code=exc.code, batches=[b.batch_id for b in req.batches][:MAX_DETAIL],
        services=len(exc.detail) if isinstance(exc.detail, list) else 0,
    )  # fmt: skip


def billing_number(conn: Connection, device_id: str, role: str, now_iso: str) -> int:
    """The device's billing number, assigned on first use to a device whose user
    may bill (0 for other roles, or when all 9999 are taken)."""
    row = conn.execute(
        select(billing_numbers.c.number).where(billing_numbers.c.device_id == device_id)
    ).first()
    if row is not None:
        return int(row[0])
    if role not in RESERVE_ROLES:
        return 0
    for _attempt in range(5):
        top = conn.execute(select(func.max(billing_numbers.c.number))).scalar() or 0
        if top >= MAX_BILLING_NUMBER:
            return 0
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(billing_numbers).values(
                        device_id=device_id, number=top + 1, assigned_at=now_iso
                    )
                )
            return top + 1
        except IntegrityError:  # another device took that number at the same moment
            again = conn.execute(
                select(billing_numbers.c.number).where(billing_numbers.c.device_id == device_id)
            ).first()
            if again is not None:
                return int(again[0])
    return 0


# -- the administrator's view and release -------------------------------------------------


@dataclass(frozen=True)
class HeldBatch:
    """One batch's reservations as ``billing reservations`` lists them (no personal data)."""

    batch_id: str
    control: str
    payer_id: str
    user_id: str
    device_id: str
    reserved_at: str
    services: int


def held_batches(conn: Connection) -> list[HeldBatch]:
    """Every batch that holds reservations, oldest first."""
    q = (
        select(
            billing_reservations.c.batch_id,
            func.min(billing_reservations.c.control),
            func.min(billing_reservations.c.payer_id),
            func.min(billing_reservations.c.user_id),
            func.min(billing_reservations.c.device_id),
            func.min(billing_reservations.c.reserved_at),
            func.count(),
        )
        .group_by(billing_reservations.c.batch_id)
        .order_by(func.min(billing_reservations.c.reserved_at), billing_reservations.c.batch_id)
    )
    return [HeldBatch(*(str(v) for v in r[:6]), int(r[6])) for r in conn.execute(q)]


def admin_release(conn: Connection, batch_id: str, admin: str) -> int:
    """Give back a batch's reservations for an administrator (a laptop lost with a
    batch that will never sync or be voided): its services may be exported again.
    Should the batch still sync later, its services show as billed twice on every
    billing device (app.services.double_billing), as for any offline export.
    A batch that has synced and is not void is refused (BillingRefusal 409
    ``synced``): its services are billed on the server, so it is voided from a
    billing laptop instead. Returns how many services were released (0: the batch
    holds none); recorded in ``security_events``."""
    _lock(conn)
    synced = conn.execute(
        select(records.c.record_id).where(
            records.c.record_id == batch_id, records.c.table_name == "billing_batches"
        )
    ).first()
    if synced is not None and batch_id not in _voided(conn, [batch_id]):
        raise BillingRefusal(
            409, "synced", "That batch has synced: void it from a billing laptop instead."
        )
    n = conn.execute(
        delete(billing_reservations).where(billing_reservations.c.batch_id == batch_id)
    ).rowcount
    if n:
        security.record_event(
            conn, "billing_released_by_admin", username=admin, batch_id=batch_id, services=n
        )
    return int(n)
