"""Searching the vault: people by name or Medicaid ID and notes by their words,
through the full-text index the store keeps (app.store.search). Runs on the
database thread; the search bar asks for at most one query at a time.
"""

from __future__ import annotations

from app.store.repositories import Repositories
from app.store.search import SearchHit as SearchHit
from app.store.search import search


def find(repos: Repositories, text: str, limit: int) -> list[SearchHit]:
    """The hits for ``text``: people first, then notes, at most ``limit`` of each."""
    return search(repos.store, text, limit=limit)
