"""The signature invariant, checked on a vault: every signed, returned, approved or
billed note's content hash equals its content (and an approved or billed note's
approved hash too). The hash is sync.content's, computed from the stored fields the
same way the server computes it. Used by ``main.py check`` (app.store.backup) and
after every sync (app.store.replica), which report what they find."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync import content

_COLUMNS = (*content.CONTENT_FIELDS, "status", "content_hash", "approved_content_hash")
_DECIDED = "('signed', 'returned', 'approved', 'billed')"


def signature_problems(conn: Any, note_ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(note id, what is wrong) for every decided note whose hash does not match its
    content; only the notes ``note_ids`` when given."""
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    sql = f"SELECT id, {cols} FROM encounters WHERE deleted = 0 AND status IN {_DECIDED}"
    if note_ids is None:
        rows = conn.execute(sql).fetchall()
    else:
        ids = sorted(set(note_ids))
        rows = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" for _ in chunk)
            rows += conn.execute(f"{sql} AND id IN ({marks})", chunk).fetchall()
    out = []
    for row in rows:
        problem = content.hash_problem(dict(zip(_COLUMNS, row[1:], strict=True)))
        if problem is not None:
            out.append((row[0], problem))
    return out


def valid_signed_notes(conn: Any, specialist_id: str) -> list[str]:
    """The decided notes of ``specialist_id`` whose hashes match their content."""
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    rows = conn.execute(
        f"SELECT id, {cols} FROM encounters WHERE deleted = 0 AND status IN {_DECIDED} "
        "AND specialist_id = ?",
        (specialist_id,),
    ).fetchall()
    return [
        r[0]
        for r in rows
        if content.hash_problem(dict(zip(_COLUMNS, r[1:], strict=True))) is None
        and r[_COLUMNS.index("content_hash") + 1]
    ]


def rehashed(conn: Any, note_ids: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """(note id, field, old hash, new hash) for the hashes of these notes that no
    longer match their content after an identity rewrite (enrolment gives the
    vault's local user the server's id: the same person, so the signature and
    approval stand on the rewritten content)."""
    out = []
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    for note_id in note_ids:
        row = conn.execute(f"SELECT {cols} FROM encounters WHERE id = ?", (note_id,)).fetchone()
        fields = dict(zip(_COLUMNS, row, strict=True))
        now = content.stored_content_hash(fields)
        for f in ("content_hash", "approved_content_hash"):
            if fields[f] and fields[f] != now:
                out.append((note_id, f, fields[f], now))
    return out
