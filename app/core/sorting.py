"""Sortable lists: every list page takes ``?sort=<column>`` (ascending) or ``?sort=-<column>`` (descending) for
one of the columns it whitelists, and the ``sort_header`` macro of ``_display.html`` draws the column headers
that switch it. Anything else in ``sort`` falls back to the list's default order (never an error, never a
column the list did not name)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: A list's sortable columns: name in the query string → the SQL expression(s) it orders by.
Columns = Mapping[str, Any]


@dataclass(frozen=True)
class Sort:
    """The order a list is shown in: a whitelisted column and a direction."""

    column: str
    descending: bool = False
    #: the list's own default (the headers show no arrow for it unless asked for)
    default: bool = False

    @property
    def param(self) -> str:
        return f"-{self.column}" if self.descending else self.column

    def next_param(self, column: str) -> str:
        """The ``sort`` value of a header link: the other direction for the current column, else ascending."""
        if column == self.column:
            return column if self.descending else f"-{column}"
        return column

    def aria(self, column: str) -> str:
        if column != self.column:
            return "none"
        return "descending" if self.descending else "ascending"


def flipped(sort: Sort) -> Sort:
    """The same column the other way round (reading a deep page from the far end)."""
    return Sort(sort.column, not sort.descending, sort.default)


def sort_args(sort: Sort) -> dict[str, str]:
    """What a list's links carry to keep its order: nothing for the default order."""
    return {} if sort.default else {"sort": sort.param}


def sort_choices(columns: Columns) -> list[str]:
    """Every ``sort`` value a list accepts: each column ascending, then each descending (the JSON API checks
    its ``sort`` argument against them and answers 422 otherwise)."""
    return [*columns, *(f"-{name}" for name in columns)]


def parse_sort(raw: str | None, columns: Columns, default: str) -> Sort:
    """The order asked for in ``raw`` when it names a column of ``columns``, else ``default`` (itself a
    ``column`` or ``-column``)."""
    text = (raw or "").strip()
    name = text[1:] if text.startswith("-") else text
    if name in columns:
        return Sort(name, text.startswith("-"))
    dname = default.lstrip("-")
    return Sort(dname, default.startswith("-"), default=True)


def order_clauses(sort: Sort, columns: Columns, tiebreak: Sequence[Any] = ()) -> list[Any]:
    """ORDER BY clauses for ``sort``: the column's expressions in its direction, then ``tiebreak`` (unique
    columns, same direction) so pages never overlap."""
    exprs = columns[sort.column]
    if not isinstance(exprs, list | tuple):
        exprs = [exprs]
    out = []
    for expr in [*exprs, *tiebreak]:
        out.append(expr.desc() if sort.descending else expr.asc())
    return out
