"""The sync wire format, version 1: validated pydantic models used by both ends.

One request does the whole sync: ``POST /v1/sync`` pushes the device's
unacknowledged changes and pulls every field that changed since the device's
cursor, grouped by record so a first full pull stays small after gzip. Bodies
are gzip-compressed JSON both ways. A client speaking an older protocol gets
HTTP 426 with a plain "please update" message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PrivateAttr
from pydantic import Strict
from pydantic import StringConstraints
from pydantic import TypeAdapter
from pydantic import model_validator

PROTOCOL_VERSION = 2  # 2: changes grouped by record with implied stamps; bzip2 bodies
MIN_PROTOCOL_VERSION = 2
#: The port the server listens on unless told otherwise; a server address typed
#: without a port means this one.
DEFAULT_PORT = 8443

#: Changes in one request that every protocol-2 server takes: a client that knows
#: nothing more of its server plans requests of at most this many (bigger outboxes
#: go in several).
MAX_PUSH_CHANGES = 20000
#: What this server takes in one request: a planned request and a tail of up to a
#: quarter of it (so a client never follows a full request with a small one; see
#: docs/SYNC.md, "How many changes a request carries"). Advertised in the
#: ``X-Push-Limit`` header of every sync and enrolment reply (a header: older
#: clients ignore it, where an unknown field in a reply would be refused); an older
#: server sends no header and takes MAX_PUSH_CHANGES.
PUSH_CHANGES_ACCEPTED = MAX_PUSH_CHANGES + MAX_PUSH_CHANGES // 4
PUSH_LIMIT_HEADER = "X-Push-Limit"
MAX_PULL_FIELDS = 20000
DEFAULT_PULL_FIELDS = 20000
MAX_BODY_BYTES = 8 * 1024 * 1024  # after decompression
MAX_COMPRESSED_BYTES = 2 * 1024 * 1024
MAX_BILLING_NUMBER = 9999  # a device's billing number: the first 4 digits of ISA13
MAX_CURSOR = 2**63 - 1  # cursors are seq numbers: 64-bit signed in both databases

_STAMP_RE = r"^[0-9a-f]{12}\.[0-9a-f]{4}\.[a-z2-7]{4,32}$"
StampStr = Annotated[str, StringConstraints(pattern=_STAMP_RE)]
Counter = Annotated[int, Strict(), Field(ge=0, le=0xFFFF)]
WallStep = tuple[Annotated[int, Strict(), Field(ge=1, lt=16**12)], Counter]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[a-z2-7]{4,32}$")]
RecordId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Scalar = str | int | float | bool | None
ReplicaToken = Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9a-f.]*$")]
MAX_WANT = 5000  # records a repair request asks for in full


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class PushChange:
    """One field of one record, as the device wrote it: the unit both ends work in.
    Not validated itself: on the wire changes travel grouped by record
    (``PushRecord``), and that is what the server validates."""

    stamp: str  # also the change's unique id
    table: str
    record_id: str
    field: str
    value: Any = None
    base: str | None = None


# -- stamps on the wire ---------------------------------------------------------------
#
# Stamps are ``wall(12 hex).counter(4 hex).device``. A device writes a record's
# fields in one transaction, so one stamp usually follows the one before it: the
# same wall time and device, counter + 1. On the wire a stamp is therefore given
# relative to the stamp before it (the previous field's, or the previous record's
# last field's), as a "stamp reference":
#
#   (left out)   the next stamp: same wall time and device, counter + 1
#   n            same wall time and device, counter n (0..65535)
#   [dw, n]      wall time dw (>= 1) milliseconds later, same device, counter n
#   "full"       a full stamp (always allowed; needed for the first one)

StampRef = Annotated[str, StringConstraints(pattern=_STAMP_RE)] | Counter | WallStep
_NEXT: Any = object()  # "left out"


_STAMP = re.compile(_STAMP_RE)


def _parts(stamp: str) -> tuple[int, int, str]:
    wall, counter, device = stamp.split(".")
    return int(wall, 16), int(counter, 16), device


def encode_ref(prev: tuple[int, int, str] | None, stamp: str) -> Any:
    """The shortest reference to ``stamp`` after ``prev``; ``_NEXT`` when implied."""
    if prev is None:
        return stamp
    w, c, d = _parts(stamp)
    if d != prev[2] or w < prev[0]:
        return stamp
    if w == prev[0]:
        return _NEXT if c == prev[1] + 1 else c
    return [w - prev[0], c]


def decode_ref(prev: tuple[int, int, str] | None, ref: Any) -> tuple[int, int, str]:
    """The stamp a reference means after ``prev``; ValueError for a bad reference."""
    if isinstance(ref, str):
        return _parts(ref)  # the pattern was checked by validation
    if prev is None:
        raise ValueError("a relative stamp needs a full stamp before it")
    w, c, d = prev
    if ref is _NEXT or ref is None:
        c += 1
    elif isinstance(ref, int):
        c = ref
    else:
        w, c = w + ref[0], ref[1]
    if c > 0xFFFF or w >= 16**12:
        raise ValueError("a relative stamp runs past the largest stamp")
    return w, c, d


def _full(parts: tuple[int, int, str]) -> str:
    return f"{parts[0]:012x}.{parts[1]:04x}.{parts[2]}"


class PushRecord(_Model):
    """On the wire: the changes a device made to one record, in the order written.
    ``stamp`` is the first field's stamp and ``stamps`` the exceptions for later
    fields (both stamp references, see above); ``bases`` the base stamps of fields
    that replaced a value (a new field has none)."""

    table: TableName
    record_id: RecordId
    stamp: StampRef | None = None
    fields: dict[FieldName, Scalar] = Field(min_length=1)
    stamps: dict[FieldName, StampRef] = Field(default_factory=dict)
    bases: dict[FieldName, StampStr] = Field(default_factory=dict)


def group_changes(changes: Iterable[PushChange]) -> list[dict[str, Any]]:
    """Changes (in the order written) as the wire's records: consecutive changes of
    one record share an entry; a field written twice starts a new entry."""
    out: list[dict[str, Any]] = []
    entry: dict[str, Any] | None = None
    prev: tuple[int, int, str] | None = None
    for c in changes:
        if not isinstance(c.stamp, str) or not _STAMP.match(c.stamp):
            raise ValueError("a change's stamp is not a stamp")
        ref = encode_ref(prev, c.stamp)
        if (
            entry is None
            or entry["record_id"] != c.record_id
            or entry["table"] != c.table
            or c.field in entry["fields"]
        ):
            entry = {"table": c.table, "record_id": c.record_id, "fields": {}}
            if ref is not _NEXT:
                entry["stamp"] = ref
            out.append(entry)
        elif ref is not _NEXT:
            entry.setdefault("stamps", {})[c.field] = ref
        entry["fields"][c.field] = c.value
        if c.base is not None:
            entry.setdefault("bases", {})[c.field] = c.base
        prev = _parts(c.stamp)
    return out


def expand_records(records: Iterable[PushRecord]) -> list[PushChange]:
    """The wire's records back as changes (stamps resolved)."""
    out: list[PushChange] = []
    prev: tuple[int, int, str] | None = None
    for r in records:
        first = True
        bases = r.bases
        for name, value in r.fields.items():
            ref = r.stamp if first else r.stamps.get(name, _NEXT)
            if first and ref is None:
                ref = _NEXT
            prev = decode_ref(prev, ref)
            first = False
            out.append(PushChange(_full(prev), r.table, r.record_id, name, value, bases.get(name)))
    return out


HashHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
AuditLength = Annotated[int, Strict(), Field(ge=0, le=2**62)]
MAX_AUDIT_PROOFS = 8


class AuditProof(_Model):
    """The hash of the laptop's audit entry number ``length`` (1-based)."""

    length: AuditLength
    hash: HashHex


class AuditHead(_Model):
    """The head of the laptop's hash-chained audit log: its length and the hash of
    its last entry (64 zeros for an empty log), and the hashes of its entries at
    the lengths it sent in recent syncs, so the server can check that the chain
    it anchored before is still the start of this one (see sync.server.security)."""

    length: AuditLength
    hash: HashHex
    proofs: list[AuditProof] = Field(default_factory=list, max_length=MAX_AUDIT_PROOFS)


class AuditVerdict(_Model):
    """What the server made of the pushed audit head: ``ok``, or the problem
    ('truncated', 'rewritten', 'unproven') it recorded as an alarm; and the
    length of the chain it keeps anchored for this device."""

    ok: bool
    problem: Literal["", "truncated", "rewritten", "unproven"] = ""
    anchored_length: AuditLength


class SyncRequest(_Model):
    """Push and pull in one request. On the wire the pushed changes travel as
    ``records`` (``PushRecord``: grouped by record, stamps implied where they
    follow each other); in Python they are ``changes``, one per field. Build a
    request with ``changes=[...]``."""

    protocol: int
    device_id: DeviceId
    cursor: Annotated[int, Strict()] = Field(0, ge=0, le=MAX_CURSOR)
    records: list[PushRecord] = Field(default_factory=list, max_length=PUSH_CHANGES_ACCEPTED)
    pull_limit: Annotated[int, Strict()] = Field(DEFAULT_PULL_FIELDS, ge=1, le=MAX_PULL_FIELDS)
    client_time_ms: Annotated[int, Strict()] = Field(ge=0, le=MAX_CURSOR)
    audit: AuditHead | None = None  # optional: older clients do not send it
    # Self-healing (docs/SYNC.md, "Restores and repair"); all optional.
    replica: ReplicaToken = ""  # the token the server's last reply gave this vault
    full: bool = False  # a re-pull: include the changes this device wrote itself
    check: bool = False  # end of the sync: answer with the scope digest
    digests: bool = False  # repair: answer with every record's digest
    want: list[RecordId] = Field(default_factory=list, max_length=MAX_WANT)
    _changes: list[PushChange] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_changes(cls, data: Any) -> Any:
        # Python only: JSON cannot hold PushChange objects, so the wire stays records.
        changes = data.get("changes") if isinstance(data, dict) else None
        if (
            isinstance(changes, list)
            and "records" not in data
            and all(isinstance(c, PushChange) for c in changes)
        ):
            data = {k: v for k, v in data.items() if k != "changes"}
            data["records"] = group_changes(changes)
        return data

    @model_validator(mode="after")
    def _expand(self) -> SyncRequest:
        changes = expand_records(self.records)
        if len(changes) > PUSH_CHANGES_ACCEPTED:
            raise ValueError(f"at most {PUSH_CHANGES_ACCEPTED} changes in one request")
        self._changes = changes
        return self

    @property
    def changes(self) -> list[PushChange]:
        return self._changes

    @staticmethod
    def wire_of(
        *,
        device_id: str,
        cursor: int,
        changes: list[PushChange],
        pull_limit: int,
        client_time_ms: int,
        protocol: int = PROTOCOL_VERSION,
        **extra: Any,
    ) -> dict[str, Any]:
        """The JSON form of a request straight from changes, without building the
        model (the client's own changes; the server validates what arrives).
        ``extra``: the optional fields (audit, and the self-healing replica, full,
        check, digests, want), sent only when set."""
        return {
            "protocol": protocol,
            "device_id": device_id,
            "cursor": cursor,
            "pull_limit": pull_limit,
            "client_time_ms": client_time_ms,
            "records": group_changes(changes),
        } | {k: v for k, v in extra.items() if v}

    def wire(self) -> dict[str, Any]:
        """The compact JSON form (optional fields only when set, as ``wire_of``)."""
        unset = {k for k in (*_HEAL_REQUEST, "audit") if not getattr(self, k)}
        return self.model_dump(mode="json", exclude_defaults=False, exclude={"records"} | unset) | {
            "records": [
                r.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
                for r in self.records
            ]
        }


_HEAL_REQUEST = ("replica", "full", "check", "digests", "want")


class Rejected(_Model):
    stamp: StampStr
    reason: str


class Restamped(_Model):
    stamp: StampStr  # as sent
    new_stamp: StampStr  # as the server keeps it


class PulledRecord(_Model):
    """The current value and stamp of every changed field of one record. On the wire
    it has the shape of a ``PushRecord`` (fields ordered by stamp, stamps as
    references; see ``SyncResponse``)."""

    table: TableName
    record_id: RecordId
    fields: dict[FieldName, tuple[Scalar, StampStr]]


def _pulled_wire(records: Iterable[PulledRecord]) -> list[dict[str, Any]]:
    out = []
    prev: tuple[int, int, str] | None = None
    for r in records:
        entry: dict[str, Any] = {"table": r.table, "record_id": r.record_id, "fields": {}}
        for i, (name, (value, stamp)) in enumerate(
            sorted(r.fields.items(), key=lambda kv: kv[1][1])
        ):
            ref = encode_ref(prev, stamp)
            if ref is not _NEXT:
                if i == 0:
                    entry["stamp"] = ref
                else:
                    entry.setdefault("stamps", {})[name] = ref
            entry["fields"][name] = value
            prev = _parts(stamp)
        out.append(entry)
    return out


class _PulledWire(_Model):
    """A pulled record as it travels (see ``SyncResponse``)."""

    table: TableName
    record_id: RecordId
    stamp: StampRef | None = None
    fields: dict[FieldName, Scalar]
    stamps: dict[FieldName, StampRef] = Field(default_factory=dict)


_WIRE_RECORD = TypeAdapter(_PulledWire)


class SyncResponse(_Model):
    """``accepted_all``: every pushed change not listed in ``rejected`` was accepted
    (the server says so instead of echoing thousands of stamps back).

    On the wire each record of ``records`` is ``{table, record_id, stamp, fields:
    {name: value}, stamps}`` like a pushed record: fields in stamp order, stamps as
    references relative to the stamp before (across records too)."""

    protocol: int
    server_time_ms: int
    accepted: list[StampStr] = Field(default_factory=list)
    accepted_all: bool = False
    rejected: list[Rejected] = Field(default_factory=list)
    restamped: list[Restamped] = Field(default_factory=list)
    records: list[PulledRecord] = Field(default_factory=list)
    evict: list[RecordId] = Field(default_factory=list)  # participants that left this caseload
    cursor: int = Field(ge=0, le=MAX_CURSOR)
    more: bool = False
    audit: AuditVerdict | None = None  # only when the request carried an audit head
    # Self-healing (docs/SYNC.md, "Restores and repair"); all optional.
    server_id: str = ""  # this server database's id (a new one: a new database)
    epoch: int = 0  # raised by the administrator after restoring the database
    top: int = 0  # the server's highest seq (a cursor above it: the server lost data)
    replica: ReplicaToken = ""  # the token to send with the next request
    reset: Literal["", "recent", "replica", "server"] = ""  # what the server detected
    digest: str = ""  # the scope digest, when asked (``check``) on the last page
    record_digests: dict[RecordId, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _resolve_stamps(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            return data
        prev: tuple[int, int, str] | None = None
        out = []
        for item in data["records"]:
            if isinstance(item, dict) and isinstance(item.get("fields"), dict):
                item = _WIRE_RECORD.validate_python(item)
                fields = {}
                for i, (name, value) in enumerate(item.fields.items()):
                    ref = item.stamp if i == 0 else item.stamps.get(name, _NEXT)
                    prev = decode_ref(prev, _NEXT if ref is None else ref)
                    fields[name] = (value, _full(prev))
                # Every part was validated above: no second pass over each field.
                item = PulledRecord.model_construct(
                    table=item.table, record_id=item.record_id, fields=fields
                )
            out.append(item)
        return {**data, "records": out}

    def wire(self) -> dict[str, Any]:
        """The compact JSON form."""
        out = self.model_dump(
            mode="json", exclude={"records"} if self.audit else {"records", "audit"}
        )
        if self.accepted_all:
            out["accepted"] = []
        out["records"] = _pulled_wire(self.records)
        return out


# What both enrolments (password, invite) take: the user's password and a device name.
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
DeviceName = Annotated[str, StringConstraints(max_length=80)]


class EnrollBase(_Model):
    """What every enrolment request carries besides who is enrolling: the user's
    password and the device being enrolled (``EnrollRequest``: by user name;
    ``sync.invite.InviteEnrollRequest``: by invite code)."""

    protocol: int
    password: Password
    device_id: DeviceId
    device_name: DeviceName = ""


class EnrollRequest(EnrollBase):
    """``POST /v1/enroll``: the user name and password."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EnrollResponse(_Model):
    protocol: int
    server_time_ms: int
    user_id: RecordId
    role: Literal["specialist", "supervisor", "billing", "admin"]
    token: str
    #: The account's user name (optional: older servers do not send it); an invite
    #: enrolment learns it from here.
    username: str = ""


class ErrorBody(_Model):
    error: str  # a stable code: bad_request, unauthorized, revoked, too_large, update_required, ...
    message: str  # plain words for a person
    detail: Any = None


def dumps(model: SyncRequest | SyncResponse) -> bytes:
    """Compact JSON bytes of a request or reply, as sent on the wire. Text that UTF-8
    cannot hold (a lone surrogate kept by an older server) travels escaped, so the
    reply is still valid JSON and the receiver's schema check can set it aside."""
    wire = model.wire()
    try:
        return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(wire, separators=(",", ":")).encode("ascii")


def acknowledged(resp: SyncResponse, sent: list[PushChange]) -> SyncResponse:
    """The reply with ``accepted`` spelled out from what was sent."""
    if not resp.accepted_all:
        return resp
    refused = {r.stamp for r in resp.rejected}
    return resp.model_copy(update={"accepted": [c.stamp for c in sent if c.stamp not in refused]})


# -- billing reservations (POST /v1/billing/reserve) -----------------------------------

MAX_RESERVE_BATCHES = 100  # batches (one per payer) in one request
MAX_RESERVE_SERVICES = 50_000  # services over all batches of one request
MAX_RELEASE = 1000
ControlStr = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]


class ReserveBatch(_Model):
    """One batch an export is about to write: its id, its interchange control
    number (9 digits), its payer's record id and the services (encounter ids) it bills."""

    batch_id: RecordId
    control: ControlStr
    payer_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9-]*$")] = ""
    encounter_ids: list[RecordId] = Field(min_length=1, max_length=MAX_RESERVE_SERVICES)


class ReserveRequest(_Model):
    """Reserve services for batches before their files are written, and release the
    reservations of batches voided or never written (``release``), in one request."""

    protocol: Annotated[int, Strict()]
    device_id: DeviceId
    batches: list[ReserveBatch] = Field(default_factory=list, max_length=MAX_RESERVE_BATCHES)
    release: list[RecordId] = Field(default_factory=list, max_length=MAX_RELEASE)


class BilledElsewhere(_Model):
    """A service already in another live batch: which batch, who exported it, when."""

    encounter_id: RecordId
    batch_id: RecordId
    control: str  # the other batch's interchange control number (9 digits)
    user: str  # the other batch's exporter (username)
    at: str  # when it was exported or reserved (ISO date-time, UTC)


class ReserveResponse(_Model):
    """``reserved``: every service of every batch is now held for its batch (a
    repeated request answers the same). A service in another live batch is a 409
    ``already_billed`` whose ``detail`` lists :class:`BilledElsewhere`; then nothing
    of the request is stored."""

    protocol: int
    server_time_ms: int
    reserved: int = 0
    released: int = 0
    # The device's billing number (1-9999): the first four digits of its interchange
    # control numbers (docs/BILLING.md). A request with no batches only asks for it.
    billing_number: Annotated[int, Field(ge=0, le=MAX_BILLING_NUMBER)] = 0
