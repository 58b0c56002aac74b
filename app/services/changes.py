"""What a write changed, returned by every service that writes (Anki's OpChanges).

A write returns ``Done(value, changed)``: the value the caller wants (a saved
record, a count, an outcome) and a :class:`Changed` naming the tables, and the
record ids where known, it wrote. The desktop's context broadcasts ``changed`` so
every screen showing those tables refreshes; no screen names tables by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Changed:
    """Tables (and record ids, when known) a write touched."""

    tables: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()

    @staticmethod
    def of(*tables: str, ids: Iterable[str | None] = ()) -> Changed:
        return Changed(frozenset(tables), frozenset(i for i in ids if i))

    def __or__(self, other: Changed) -> Changed:
        return Changed(self.tables | other.tables, self.ids | other.ids)

    def __bool__(self) -> bool:
        return bool(self.tables)


NOTHING = Changed()


@dataclass(frozen=True)
class Done(Generic[T]):
    """A write's result: its value and what it changed."""

    value: T
    changed: Changed = NOTHING
