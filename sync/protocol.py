"""The sync wire format, version 1: validated pydantic models used by both ends.

One request does the whole sync: ``POST /v1/sync`` pushes the device's
unacknowledged changes and pulls every field that changed since the device's
cursor, grouped by record so a first full pull stays small after gzip. Bodies
are gzip-compressed JSON both ways. A client speaking an older protocol gets
HTTP 426 with a plain "please update" message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1

MAX_PUSH_CHANGES = 5000  # per request; the client sends bigger outboxes in several
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


class SyncRequest(_Model):
    protocol: int
    device_id: DeviceId
    cursor: int = Field(0, ge=0)
    changes: list[PushChange] = Field(default_factory=list, max_length=MAX_PUSH_CHANGES)
    pull_limit: int = Field(DEFAULT_PULL_FIELDS, ge=1, le=MAX_PULL_FIELDS)
    client_time_ms: int = Field(ge=0)


class Rejected(_Model):
    stamp: StampStr
    reason: str


class Restamped(_Model):
    stamp: StampStr  # as sent
    new_stamp: StampStr  # as the server keeps it


class PulledRecord(_Model):
    """The current value and stamp of every changed field of one record."""

    table: TableName
    record_id: RecordId
    fields: dict[FieldName, tuple[Scalar, StampStr]]


class SyncResponse(_Model):
    protocol: int
    server_time_ms: int
    accepted: list[StampStr]
    rejected: list[Rejected] = Field(default_factory=list)
    restamped: list[Restamped] = Field(default_factory=list)
    records: list[PulledRecord] = Field(default_factory=list)
    evict: list[RecordId] = Field(default_factory=list)  # participants that left this caseload
    cursor: int = Field(ge=0)
    more: bool = False


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
