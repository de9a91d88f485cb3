"""Cells merged over several rows: a spreadsheet shows the value on every row it covers, but
the file holds it in the top cell only (the others are empty). A provider name and NPI merged
down over a block of members belong to each of them, so each covered row reads the value.

Only merges down rows are filled: a header cell merged across columns leaves its second
column without a header, which the column plan already warns about.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ecm.files.readers.header import Rows, is_blank

#: ((first row, first column), (last row, last column)), 0-based, as calamine gives them.
MergedRange = tuple[tuple[int, int], tuple[int, int]]


def fill_merged_down(
    rows: Iterator[list[Any]], merged: Sequence[MergedRange] | None, first_column: int
) -> Rows:
    """``rows`` from the sheet's first row, their cells from column ``first_column``; each cell
    a merge covers below its top row reads the top cell's value (where it is empty)."""
    starts: dict[int, list[tuple[int, int]]] = {}
    for (top, left), (bottom, _right) in merged or ():
        if bottom > top and left >= first_column:
            starts.setdefault(top, []).append((left - first_column, bottom))
    if not starts:
        return rows
    return _filled(rows, starts)


def _filled(rows: Iterator[list[Any]], starts: dict[int, list[tuple[int, int]]]) -> Rows:
    open_merges: list[tuple[int, Any, int]] = []  # (column, value, last row)
    for number, cells in enumerate(rows):
        row = cells
        if open_merges:
            open_merges = [m for m in open_merges if m[2] >= number]
            row = list(cells)
            for column, value, _ in open_merges:
                if column >= len(row):
                    row.extend([""] * (column + 1 - len(row)))
                if is_blank(row[column]):
                    row[column] = value
        for column, last in starts.get(number, ()):
            value = row[column] if column < len(row) else ""
            if not is_blank(value):
                open_merges.append((column, value, last))
        yield row
