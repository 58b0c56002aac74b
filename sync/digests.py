"""Digests of a replica's scope, computed the same way by the client and the server.

Each field contributes ``field_hash(record id, field, stamp)`` (40 bits of
BLAKE2b). The end-of-sync check (``scope``) compares, per record type, the number
of fields the device holds and the sum of their hashes: a lost, extra or stale
field changes it. Both ends keep these sums up to date as fields change (the
server per caseload bucket in ``digest_sums``, the vault per table by triggers),
so the check reads a few rows instead of every field. The repair (``records``)
gives each record a digest of its fields and stamps, so only the records that
differ are exchanged again. docs/SYNC.md, "Restores and repair".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

MASK = (1 << 64) - 1


def field_hash(record_id: str, field: str, stamp: str) -> int:
    raw = f"{record_id}\x1f{field}\x1f{stamp}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=5).digest(), "big")


def scope(per_table: Iterable[tuple[str, int, int]]) -> str:
    """``table:count:sum`` for each table with fields, sorted, ``;``-joined."""
    return ";".join(sorted(f"{t}:{int(n)}:{int(h) & MASK:x}" for t, n, h in per_table if n))


def records(rows: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Record id -> digest, from (record id, field, stamp) rows in any order."""
    sums: dict[str, list[int]] = {}
    for rid, field, stamp in rows:
        acc = sums.setdefault(rid, [0, 0])
        acc[0] += 1
        acc[1] += field_hash(rid, field, stamp)
    return {rid: f"{n}.{h & MASK:x}" for rid, (n, h) in sums.items()}
