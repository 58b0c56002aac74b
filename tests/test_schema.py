"""sync.schema is the record schema declared once: these tests hold the app's other
copies to it (a real vault's columns, the record dataclasses and their enums, the
docs' field tables), and check what validate_field accepts and refuses."""

from __future__ import annotations

import dataclasses
import enum
import typing
from datetime import date
from datetime import datetime
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import records as domain
from app.store.codec import _unwrap_optional
from app.store.codec import codec
from sync import rules
from sync import schema
from sync import schema_docs
from sync.schema import SCHEMA
from sync.schema import validate_field

DOCS = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"

SQL_TYPE = {
    schema.TEXT: "TEXT", schema.INT: "INTEGER", schema.REAL: "REAL", schema.BOOL: "INTEGER",
    schema.DATE: "TEXT", schema.TIME: "TEXT", schema.DATETIME: "TEXT", schema.ENUM: "TEXT",
    schema.REF: "TEXT", schema.LIST: "TEXT", schema.JSON: "TEXT",
}  # fmt: skip


def test_rules_tables_are_the_schema():
    assert {t: tuple(f.name for f in fs) for t, fs in SCHEMA.items()} == rules.TABLES
    assert all(fs[0].name == "deleted" for fs in SCHEMA.values())


def test_vault_columns_match_the_schema(store):
    """Every synced table of a real, newly created vault: same columns in the same
    order, same SQL type, NULL allowed exactly where the schema allows None, and the
    same default value."""
    conn = store.conn
    for table, specs in SCHEMA.items():
        cols = conn.execute(f"PRAGMA table_info({table})").fetchall()
        assert cols, table
        assert cols[0][1] == "id" and cols[0][5] == 1
        by_name = {c[1]: c for c in cols[1:]}
        assert list(by_name) == [s.name for s in specs], table
        for spec in specs:
            _cid, name, sql_type, notnull, default, _pk = by_name[spec.name]
            where = f"{table}.{name}"
            assert sql_type == SQL_TYPE[spec.kind], where
            assert bool(notnull) == (not spec.null), where
            value = None if default is None else conn.execute(f"SELECT {default}").fetchone()[0]
            assert value == spec.default, where
            if value is not None and not spec.required:
                assert validate_field(table, name, value) is None, where


def test_vault_tables_are_the_synced_tables(store):
    """No record table the capture triggers watch is missing from the schema."""
    captured = {
        r[0].removesuffix("_cap_ins")
        for r in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_cap_ins'"
        )
    }
    assert captured == set(SCHEMA)


def _kind_of(tp: typing.Any) -> tuple[str, typing.Any]:
    base, _opt = _unwrap_optional(tp)
    if typing.get_origin(base) is tuple:
        return schema.LIST, typing.get_args(base)[0]
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return schema.ENUM, base
    return {
        bool: schema.BOOL, int: schema.INT, float: schema.REAL, date: schema.DATE,
        time: schema.TIME, datetime: schema.DATETIME, str: schema.TEXT,
    }[base], base  # fmt: skip


def test_record_dataclasses_match_the_schema():
    """app.domain.records: same tables, fields, kinds, required fields and enum values."""
    assert {cls.TABLE for cls in domain.RECORD_TYPES} == set(SCHEMA)
    for cls in domain.RECORD_TYPES:
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name != "id"]
        specs = schema.FIELDS[cls.TABLE]
        assert [f.name for f in fields] == list(specs), cls.TABLE
        for f in fields:
            spec = specs[f.name]
            where = f"{cls.TABLE}.{f.name}"
            kind, base = _kind_of(hints[f.name])
            no_default = (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
            if kind == schema.ENUM:
                assert spec.kind == schema.ENUM, where
                assert tuple(m.value for m in base) == spec.values, where
            elif kind == schema.TEXT:
                # ids, JSON texts and the conflicts' enums and date-times are str in Python
                assert spec.kind in (
                    schema.TEXT, schema.REF, schema.JSON, schema.ENUM, schema.DATETIME
                ), where  # fmt: skip
            elif kind == schema.LIST:
                assert spec.kind == schema.LIST, where
                assert spec.item in ((schema.INT,) if base is int else (
                    schema.TEXT, schema.REF, schema.ENUM)), where  # fmt: skip
            else:
                assert spec.kind == kind, where
            assert spec.required == (no_default and f.name != "deleted"), where
            if not no_default and f.default is not None and spec.kind != schema.LIST:
                encoded = codec(cls).encode_field(f.name, f.default)
                assert encoded == spec.default, where


def test_enums_listed_in_items_match_the_domain():
    assert schema.FIELDS["participants"]["contact_methods"].values == tuple(
        m.value for m in domain.ContactMethod
    )
    assert schema.FIELDS["supervision_sessions"]["topics"].values == tuple(
        m.value for m in domain.SupervisionTopic
    )
    from app.domain import conflict_resolution as cr

    assert ("", *(c.value for c in cr.Choice)) == schema.CONFLICT_RESOLUTIONS
    assert set(schema.CONFLICT_KINDS) == set(cr.CHOICES)  # every kind has its choices
    assert schema.CONFLICT_STATUSES == (cr.OPEN, cr.RESOLVED)


def test_docs_field_tables_are_generated_from_the_schema():
    text = DOCS.read_text(encoding="utf-8")
    assert schema_docs.docs_section() in text, (
        "docs/ARCHITECTURE.md's field tables are out of date: run "
        "`python -m sync.schema_docs docs/ARCHITECTURE.md`"
    )


# -- validate_field ------------------------------------------------------------------


GOOD = [
    ("participants", "first_name", "Ada"),
    ("participants", "date_of_birth", "1990-02-28"),
    ("participants", "date_of_birth", None),
    ("participants", "diagnoses", '["F11.20","F32.9"]'),
    ("participants", "status", "on hold"),
    ("participants", "ok_to_leave_message", 1),
    ("participants", "contact_methods", '["phone","mail"]'),
    ("goals", "steps_done", "[0,2]"),
    ("barc10", "scores", "[1,2,3,4,5,6,1,2,3,4]"),
    ("encounters", "start_time", "09:30"),
    ("encounters", "signed_at", "2026-03-01T10:00:00+00:00"),
    ("time_entries", "miles", 12.5),
    ("time_entries", "miles", 3),
    ("billing_batches", "claim_count", 12),
    ("conflicts", "resolved_at", ""),
    ("conflicts", "kept_value", '"a text"'),
    ("users", "supervisor_id", ""),
]

BAD = [
    ("participants", "first_name", "\ud800", "lone surrogate"),
    ("participants", "first_name", "", "required"),
    ("participants", "first_name", 5, "text"),
    ("participants", "first_name", "x" * 201, "longer"),
    ("participants", "first_name", None, "required"),
    ("participants", "status", "hacked", "allowed"),
    ("participants", "date_of_birth", "not-a-date", "YYYY-MM-DD"),
    ("participants", "date_of_birth", "2026-02-30", "calendar"),
    ("participants", "date_of_birth", "", "blank"),
    ("participants", "date_of_birth", "0001-01-01", "between"),
    ("participants", "diagnoses", "F11.20", "JSON"),
    ("participants", "diagnoses", '{"a":1}', "list"),
    ("participants", "diagnoses", "[1]", "text"),
    ("participants", "ok_to_leave_message", 2, "0 or 1"),
    ("participants", "nickname", "x", "unknown field"),
    ("encounters", "group_size", 10**30, "between"),
    ("encounters", "group_size", "12", "whole number"),
    ("encounters", "group_size", 1.5, "whole number"),
    ("encounters", "group_size", True, "whole number"),
    ("encounters", "start_time", "25:00", "time"),
    ("encounters", "participant_id", "../../etc", "record id"),
    ("encounters", "goal_ids", '["x y"]', "record id"),
    ("billing_batches", "claim_count", "lots", "whole number"),
    ("billing_batches", "total_cents", -1, "between"),
    ("barc10", "scores", "[1,2,3]", "10 items"),
    ("barc10", "scores", "[1,2,3,4,5,6,7,1,2,3]", "between"),
    ("time_entries", "miles", float("inf"), "finite"),
    ("time_entries", "minutes", None, "required"),
    ("conflicts", "table_name", "sqlite_master", "allowed"),
    ("nope", "id", "x", "unknown record type"),
]


@pytest.mark.parametrize(("table", "field", "value"), GOOD)
def test_good_values_pass(table, field, value):
    assert validate_field(table, field, value) is None


@pytest.mark.parametrize(("table", "field", "value", "why"), BAD)
def test_bad_values_are_refused_naming_the_field(table, field, value, why):
    reason = validate_field(table, field, value)
    assert reason is not None and why in reason
    if table in SCHEMA:
        assert reason.startswith(f"{field}: ")
    if isinstance(value, str) and len(value) > 3:
        assert value not in reason  # never echoes the value


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=300),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),
)  # fmt: skip
_TARGETS = st.sampled_from([(t, f.name) for t, fs in SCHEMA.items() for f in fs])


@given(_TARGETS, _VALUES)
def test_whatever_passes_can_be_kept_and_read_back(target, value):
    """Anything validate_field accepts encodes as UTF-8, fits a 64-bit integer, and
    decodes with the app's own codec (so a pulled value cannot crash a screen)."""
    table, field = target
    if validate_field(table, field, value) is not None:
        return
    if isinstance(value, str):
        value.encode("utf-8")
    if isinstance(value, int):
        assert schema.INT64_MIN <= value <= schema.INT64_MAX
    cls = domain.BY_TABLE[table]
    c = codec(cls)
    decoders = dict(zip(c.names, c.decoders, strict=True))
    if value is not None:
        decoders[field](value)


def test_everything_the_demo_would_push_fits_the_schema(store):
    """The app's own data (the demo caseload: every record type, a year of notes,
    hours and supervision) is accepted by the server's checks, change by change."""
    from datetime import date as _date

    from app.demo import fill_demo

    fill_demo(store, participants=10, years=1, seed=7, today=_date(2026, 11, 20))
    rows = store.conn.execute("SELECT table_name, field, value FROM outbox").fetchall()
    assert len(rows) > 1000
    problems = {
        (t, f): reason for t, f, v in rows if (reason := validate_field(t, f, v)) is not None
    }
    assert problems == {}
    assert _stored_problems(store.conn) == {}


def _stored_problems(conn) -> dict[tuple[str, str], str]:
    """Every stored value of every synced table that the schema would refuse."""
    out = {}
    for table, specs in SCHEMA.items():
        names = [s.name for s in specs]
        cols = ", ".join(f'"{n}"' for n in names)
        for row in conn.execute(f"SELECT {cols} FROM {table}"):
            for name, value in zip(names, row, strict=True):
                reason = validate_field(table, name, value)
                if reason is not None:
                    out[(table, name)] = reason
    return out


def test_the_demo_teams_records_fit_the_schema(store):
    from datetime import date as _date

    from app.demo_team import fill_demo_team

    fill_demo_team(store, specialists=3, participants=4, today=_date(2026, 11, 20))
    assert _stored_problems(store.conn) == {}
