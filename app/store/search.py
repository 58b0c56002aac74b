"""Full-text search over participants and notes (SQLite FTS5), for results as you type.

The query is split into words; each word matches as a prefix, and all words must
match (``ada qu`` finds Ada Quill). People come by relevance; notes newest first
(ranking every matching note of a five-year caseload would cost more than
showing the latest ones). FTS syntax typed by a person is never passed
through, so a quote or a dash cannot make a query fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.store.db import Store

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # "participant" or "note"
    record_id: str
    participant_id: str
    title: str  # participant's name
    snippet: str  # matching text with [brackets] around the hits
    date: str  # service date for notes, "" for participants


def fts_query(text: str) -> str:
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words[:8])


def search(store: Store, text: str, limit: int = 30) -> list[SearchHit]:
    q = fts_query(text)
    if not q:
        return []
    conn = store.conn
    hits: list[SearchHit] = []
    for row in conn.execute(
        """
        SELECT p.id, p.first_name, p.last_name, p.preferred_name,
               snippet(participants_fts, -1, '[', ']', '…', 8)
        FROM participants_fts JOIN participants p ON p.rowid = participants_fts.rowid
        WHERE participants_fts MATCH ? AND p.deleted = 0
        ORDER BY rank LIMIT ?
        """,
        (q, limit),
    ):
        name = f"{row[3] or row[1]} {row[2]}"
        hits.append(SearchHit("participant", row[0], row[0], name, row[4], ""))
    for row in conn.execute(
        """
        SELECT e.id, e.participant_id, p.first_name, p.last_name, p.preferred_name,
               snippet(encounters_fts, -1, '[', ']', '…', 12), e.service_date
        FROM encounters_fts
        JOIN encounters e ON e.rowid = encounters_fts.rowid
        JOIN participants p ON p.id = e.participant_id
        WHERE encounters_fts MATCH ? AND e.deleted = 0
        ORDER BY encounters_fts.rowid DESC LIMIT ?
        """,
        (q, limit),
    ):
        name = f"{row[4] or row[2]} {row[3]}"
        hits.append(SearchHit("note", row[0], row[1], name, row[5], row[6]))
    return hits
