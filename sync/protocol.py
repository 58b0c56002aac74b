"""The sync wire format, version 1: validated pydantic models used by both ends.

One request does the whole sync: ``POST /v1/sync`` pushes the device's
unacknowledged changes and pulls every field that changed since the device's
cursor, grouped by record so a first full pull stays small after gzip. Bodies
are gzip-compressed JSON both ways. A client speaking an older protocol gets
HTTP 426 with a plain "please update" message.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1

MAX_PUSH_CHANGES = 20000  # per request; the client sends bigger outboxes in several
MAX_PULL_FIELDS = 20000
DEFAULT_PULL_FIELDS = 20000
MAX_BODY_BYTES = 8 * 1024 * 1024  # after decompression
MAX_COMPRESSED_BYTES = 2 * 1024 * 1024

StampStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}\.[0-9a-f]{4}\.[a-z2-7]{4,32}$")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[a-z2-7]{4,32}$")]
RecordId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Scalar = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PushChange(_Model):
    """One field of one record, as the device wrote it."""

    stamp: StampStr  # also the change's unique id
    table: TableName
    record_id: RecordId
    field: FieldName
    value: Scalar = None
    base: StampStr | None = None


def _split(stamp: Any) -> tuple[str, str] | None:
    """(wall, device) of a full stamp, None for anything else."""
    if isinstance(stamp, str) and stamp.count(".") == 2:
        wall, _counter, device = stamp.split(".")
        return wall, device
    return None


def _expand(ref: Any, base: tuple[str, str] | None) -> Any:
    """A stamp sent as a bare counter means: the same wall time and device as the
    stamp it is relative to. Anything else is left for validation to judge."""
    if base and isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref <= 0xFFFF:
        return f"{base[0]}.{ref:04x}.{base[1]}"
    return ref


class SyncRequest(_Model):
    """Compact on the wire: a change's ``stamp`` may be a bare counter, meaning the
    previous change's wall time and device (a record's fields are written in one
    transaction, so most stamps differ only in their counter)."""

    protocol: int
    device_id: DeviceId
    cursor: int = Field(0, ge=0)
    changes: list[PushChange] = Field(default_factory=list, max_length=MAX_PUSH_CHANGES)
    pull_limit: int = Field(DEFAULT_PULL_FIELDS, ge=1, le=MAX_PULL_FIELDS)
    client_time_ms: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _relative_stamps(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
            return data
        prev: tuple[str, str] | None = None
        out = []
        for item in data["changes"]:
            if isinstance(item, dict):
                stamp = _expand(item.get("stamp"), prev)
                item = {**item, "stamp": stamp}
                prev = _split(stamp) or prev
            out.append(item)
        return {**data, "changes": out}

    def wire(self) -> dict[str, Any]:
        """The compact JSON form (relative stamps, no null bases)."""
        changes = []
        prev: tuple[str, str] | None = None
        for c in self.changes:
            here = _split(c.stamp)
            item: dict[str, Any] = {
                "stamp": int(c.stamp.split(".")[1], 16) if here == prev else c.stamp,
                "table": c.table,
                "record_id": c.record_id,
                "field": c.field,
                "value": c.value,
            }
            if c.base is not None:
                item["base"] = c.base
            changes.append(item)
            prev = here
        return {**self.model_dump(mode="json", exclude={"changes"}), "changes": changes}


class Rejected(_Model):
    stamp: StampStr
    reason: str


class Restamped(_Model):
    stamp: StampStr  # as sent
    new_stamp: StampStr  # as the server keeps it


class PulledRecord(_Model):
    """The current value and stamp of every changed field of one record. On the wire
    a field's stamp may be a bare counter relative to the record's ``stamp``."""

    table: TableName
    record_id: RecordId
    fields: dict[FieldName, tuple[Scalar, StampStr]]

    @model_validator(mode="before")
    @classmethod
    def _relative_stamps(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "stamp" not in data:
            return data
        base = _split(data.get("stamp"))
        fields = data.get("fields")
        if isinstance(fields, dict):
            fields = {
                k: [v[0], _expand(v[1], base)] if isinstance(v, list | tuple) and len(v) == 2 else v
                for k, v in fields.items()
            }
        return {k: v for k, v in {**data, "fields": fields}.items() if k != "stamp"}

    def wire(self) -> dict[str, Any]:
        stamps = [st for _v, st in self.fields.values()]
        base = min(stamps) if stamps else None
        b = _split(base)
        fields = {
            k: [v, int(st.split(".")[1], 16) if _split(st) == b else st]
            for k, (v, st) in self.fields.items()
        }
        out: dict[str, Any] = {"table": self.table, "record_id": self.record_id, "fields": fields}
        if base:
            out["stamp"] = base
        return out


class SyncResponse(_Model):
    """``accepted_all``: every pushed change not listed in ``rejected`` was accepted
    (the server says so instead of echoing thousands of stamps back)."""

    protocol: int
    server_time_ms: int
    accepted: list[StampStr] = Field(default_factory=list)
    accepted_all: bool = False
    rejected: list[Rejected] = Field(default_factory=list)
    restamped: list[Restamped] = Field(default_factory=list)
    records: list[PulledRecord] = Field(default_factory=list)
    evict: list[RecordId] = Field(default_factory=list)  # participants that left this caseload
    cursor: int = Field(ge=0)
    more: bool = False

    def wire(self) -> dict[str, Any]:
        """The compact JSON form (records with relative stamps)."""
        out = self.model_dump(mode="json", exclude={"records"})
        if self.accepted_all:
            out["accepted"] = []
        out["records"] = [r.wire() for r in self.records]
        return out


class EnrollRequest(_Model):
    protocol: int
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    device_id: DeviceId
    device_name: Annotated[str, StringConstraints(max_length=80)] = ""


class EnrollResponse(_Model):
    protocol: int
    server_time_ms: int
    user_id: RecordId
    role: Literal["specialist", "supervisor", "billing", "admin"]
    token: str


class ErrorBody(_Model):
    error: str  # a stable code: bad_request, unauthorized, revoked, too_large, update_required, ...
    message: str  # plain words for a person
    detail: Any = None


def dumps(model: SyncRequest | SyncResponse) -> bytes:
    """Compact JSON bytes of a request or reply, as sent on the wire."""
    return json.dumps(model.wire(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def acknowledged(resp: SyncResponse, sent: list[PushChange]) -> SyncResponse:
    """The reply with ``accepted`` spelled out from what was sent."""
    if not resp.accepted_all:
        return resp
    refused = {r.stamp for r in resp.rejected}
    return resp.model_copy(update={"accepted": [c.stamp for c in sent if c.stamp not in refused]})
