"""Small-cell suppression for tables that count people (the CMS cell-size rule).

A count from 1 to 10 is shown as "<11". So that a hidden count cannot be worked out
from the table's total, more cells are hidden (shown "*", smallest first) until the
hidden cells add up to 11 or more and none is pinned to one value by the total, the
shown cells and the rule itself ("<11" holds 1 to 10; "*" holds 0 or 11 and more).
A table of fewer than 11 people, or one that no choice of hidden cells protects, is
not broken down at all. Used by app.reports.program.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

#: Smallest count shown as it is; 1..THRESHOLD-1 become SMALL.
THRESHOLD = 11
SMALL = "<11"
HIDDEN = "*"


@dataclass(frozen=True, slots=True)
class Cell:
    label: str
    count: int
    shown: str  # what may be printed: the count, SMALL or HIDDEN


@dataclass(frozen=True, slots=True)
class PeopleTable:
    title: str
    cells: tuple[Cell, ...]  # empty when withheld
    total: int
    total_shown: str
    #: Not broken down: fewer than THRESHOLD people (a category's name alone would
    #: say something about so few), or no safe choice of hidden cells exists.
    withheld: bool = False


def suppress(counts: Sequence[int], total: int) -> list[str]:
    """What each count of a one-way table of people may show, given that the table's
    ``total`` is published: 1..10 as SMALL, and complementary cells as HIDDEN
    (smallest non-zero first) until every hidden cell could hold at least two values
    for a reader who knows the total, the shown cells and the rule itself (a "<11"
    cell holds 1 to 10; a "*" cell 0 or 11 and more). An empty list when no choice of
    cells gets there: the table must not be broken down. The hidden cells also add
    up to 11 or more, since their sum is the total less the cells shown."""
    shown = [str(c) if c == 0 or c >= THRESHOLD else SMALL for c in counts]
    hidden = {i for i, s in enumerate(shown) if s == SMALL}
    if not hidden:
        return shown
    order = sorted(
        (i for i in range(len(counts)) if i not in hidden),
        key=lambda i: (counts[i] == 0, counts[i], i),
    )
    while not _safe(counts, hidden, total):
        if not order:
            return []
        pick = order.pop(0)
        hidden.add(pick)
        shown[pick] = HIDDEN
    return shown


def _domain(count: int, total: int) -> tuple[int, int]:
    """An interval the reader must allow for a hidden cell that holds its true value
    (a sub-interval of what the reader allows, so what it leaves open is open)."""
    if 0 < count < THRESHOLD:
        return 1, THRESHOLD - 1
    return (0, 0) if count == 0 else (THRESHOLD, total)


def _safe(counts: Sequence[int], hidden: set[int], total: int) -> bool:
    """At least two cells hidden, together 11 or more (their sum can be worked out, so
    it must not be a small count itself), and none pinned to one value by the total
    and the other cells' bounds."""
    s = sum(counts[i] for i in hidden)
    if len(hidden) < 2 or s < THRESHOLD:
        return False
    bounds = {i: _domain(counts[i], total) for i in hidden}
    lo_all = sum(lo for lo, _hi in bounds.values())
    hi_all = sum(hi for _lo, hi in bounds.values())
    for lo, hi in bounds.values():
        low = max(lo, s - (hi_all - hi))
        high = min(hi, s - (lo_all - lo))
        if high <= low:
            return False
    return True


def people_table(title: str, counts: Mapping[str, int], order: Sequence[str] = ()) -> PeopleTable:
    labels = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    values = [counts[k] for k in labels]
    total = sum(values)
    total_shown = str(total) if total == 0 or total >= THRESHOLD else SMALL
    shown = suppress(values, total) if total >= THRESHOLD else []
    if total and not shown:
        return PeopleTable(title, (), total, total_shown, withheld=True)
    return PeopleTable(
        title,
        tuple(Cell(k, v, s) for k, v, s in zip(labels, values, shown, strict=True)),
        total,
        total_shown,
    )
