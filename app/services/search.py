"""Searching the vault: people by name or Medicaid ID and notes by their words,
through the full-text index the store keeps (app.store.search). Runs on the
database thread; the search bar asks for at most one query at a time.

A person merged into another (app.services.duplicates) is found as the record the
merge kept: a hit on the merged record's name or Medicaid ID, or on one of its
notes, names and opens the survivor, and each person is listed once.
"""

from __future__ import annotations

from dataclasses import replace

from app.services import duplicates
from app.store.repositories import Repositories
from app.store.search import SearchHit as SearchHit
from app.store.search import search


def find(repos: Repositories, text: str, limit: int) -> list[SearchHit]:
    """The hits for ``text``: people first, then notes, at most ``limit`` of each."""
    hits = search(repos.store, text, limit=limit)
    groups = duplicates.survivors(repos)
    if not groups:
        return hits
    names = _names(repos, {groups[h.participant_id] for h in hits if h.participant_id in groups})
    out: list[SearchHit] = []
    people: set[str] = set()
    for h in hits:
        top = groups.get(h.participant_id, h.participant_id)
        if top != h.participant_id:
            h = replace(h, participant_id=top, title=names.get(top, h.title))
            if h.kind == "participant":
                h = replace(h, record_id=top)
        if h.kind == "participant":
            if h.record_id in people:
                continue
            people.add(h.record_id)
        out.append(h)
    return out


def _names(repos: Repositories, ids: set[str]) -> dict[str, str]:
    """The names search shows for these people (preferred name first)."""
    out = {}
    for pid in ids:
        p = repos.participants.get(pid)
        if p is not None:
            out[pid] = f"{p.preferred_name or p.first_name} {p.last_name}"
    return out
