"""Digests of a replica's scope, computed the same way by the client and the server.

The end-of-sync check (``scope``) compares, per record type, how many fields the
device holds and the newest stamp among them: a lost, extra or missing newest
change shows, in one aggregate query on each side. The repair (``record``) gives
each record a digest of its fields and their stamps (CRC-32 over ``field=stamp``
in field order), so only the records that differ are exchanged again.
docs/SYNC.md, "Restores and repair".
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable


def scope(per_table: Iterable[tuple[str, int, str | None]]) -> str:
    """``table:count:newest stamp`` for each table with fields, sorted, ``;``-joined."""
    parts = sorted(f"{t}:{int(n)}:{top or ''}" for t, n, top in per_table if n)
    return ";".join(parts)


def records(rows: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Record id -> digest, from (record id, field, stamp) rows in any order."""
    by_record: dict[str, list[str]] = {}
    for rid, field, stamp in rows:
        by_record.setdefault(rid, []).append(f"{field}={stamp}")
    return {
        rid: f"{len(items)}.{zlib.crc32(';'.join(sorted(items)).encode()):08x}"
        for rid, items in by_record.items()
    }
