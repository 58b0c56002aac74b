"""Converting records to database values and back, driven by the dataclass types.

str/int/float -> as is; bool -> 0/1; date, time, datetime -> ISO 8601 text;
enums -> their value; tuples -> compact JSON arrays; ``None`` -> NULL.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import time
from functools import cache
from typing import Any

from app.domain.records import Record

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _codec_for(tp: Any) -> tuple[Encoder, Decoder, str]:
    """(encode, decode, SQL type) for one annotated field type."""
    base, _optional = _unwrap_optional(tp)
    if typing.get_origin(base) is tuple:
        return (
            lambda v: json.dumps(list(v), separators=(",", ":")),
            lambda v: tuple(json.loads(v)) if v and v != "[]" else (),
            "TEXT",
        )
    if isinstance(base, type) and issubclass(base, enum.Enum):
        members = {m.value: m for m in base}

        def to_member(v: Any, members: dict = members, base: type = base) -> Any:
            m = members.get(v)
            return m if m is not None else base(v)  # base(v): aliases, or a clear error

        return (lambda v: v.value, to_member, "TEXT")
    if base is bool:
        return (lambda v: 1 if v else 0, lambda v: bool(v), "INTEGER")
    if base is datetime:
        return (lambda v: v.isoformat(), datetime.fromisoformat, "TEXT")
    if base is date:
        return (lambda v: v.isoformat(), date.fromisoformat, "TEXT")
    if base is time:
        return (lambda v: v.isoformat(timespec="minutes"), time.fromisoformat, "TEXT")
    if base is int:
        return (int, int, "INTEGER")
    if base is float:
        return (float, float, "REAL")
    if base is str:
        return (str, str, "TEXT")
    raise TypeError(f"no store codec for field type {tp!r}")


@dataclasses.dataclass(frozen=True)
class RecordCodec:
    cls: type[Record]
    names: tuple[str, ...]
    encoders: tuple[Encoder, ...]
    decoders: tuple[Decoder, ...]
    # (position, decoder) of the columns a read must convert: text and integers come
    # out of the (STRICT) tables as str and int already. Reading 10,000 notes at once
    # (billing) spends a good part of its time in these calls.
    converting: tuple[tuple[int, Decoder], ...] = ()

    @property
    def insert_sql(self) -> str:
        """``INSERT INTO <table> (<every column>) VALUES (?, …)`` for :meth:`to_row`."""
        cols = ", ".join(f'"{n}"' for n in self.names)
        marks = ", ".join("?" for _ in self.names)
        return f"INSERT INTO {self.cls.TABLE} ({cols}) VALUES ({marks})"

    def to_row(self, rec: Record) -> tuple[Any, ...]:
        out = []
        for name, enc in zip(self.names, self.encoders, strict=True):
            v = getattr(rec, name)
            out.append(None if v is None else enc(v))
        return tuple(out)

    def to_values(self, rec: Record) -> dict[str, Any]:
        return dict(zip(self.names, self.to_row(rec), strict=True))

    def from_row(self, row: typing.Sequence[Any]) -> Record:
        values = list(row)
        for i, dec in self.converting:
            v = values[i]
            if v is not None:
                values[i] = dec(v)
        return self.cls(**dict(zip(self.names, values, strict=True)))

    def encode_field(self, name: str, value: Any) -> Any:
        enc = self.encoders[self.names.index(name)]
        return None if value is None else enc(value)


@cache
def codec(cls: type[Record]) -> RecordCodec:
    hints = typing.get_type_hints(cls)
    names, encs, decs = [], [], []
    for f in dataclasses.fields(cls):
        enc, dec, _sql = _codec_for(hints[f.name])
        names.append(f.name)
        encs.append(enc)
        decs.append(dec)
    converting = tuple((i, d) for i, d in enumerate(decs) if d not in (str, int))
    return RecordCodec(cls, tuple(names), tuple(encs), tuple(decs), converting)


def sql_type(cls: type[Record], name: str) -> str:
    return _codec_for(typing.get_type_hints(cls)[name])[2]
