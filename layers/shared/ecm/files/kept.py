"""Columns no field is known by, carried along with each row instead of dropped (a MIF keeps
them on the member's eligibility record as its ``plan_fields``).

A reader puts a row's cells of those columns under ``KEPT`` in its values, aligned with
``KeptColumns.headers``; validation turns them into text, cut to ``MAX_VALUE`` characters.
What does not fit (more than ``MAX_COLUMNS`` columns, a header longer than ``MAX_HEADER``
characters or given twice, a value cut) is said once per file, naming the columns, never
once per row. Bounded so a member's item stays far below DynamoDB's 400 KB: 100 values of
1,000 characters under headers of 200 are ~120 KB at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any

from ecm.kinds.values import shown_cell

#: The key of a row's values holding its kept cells: no field is named so.
KEPT = "_kept"
#: The key of a validated record holding the kept cells as text (trailing blanks left out).
RECORD_KEY = "plan_fields"
MAX_COLUMNS = 100
MAX_HEADER = 200
MAX_VALUE = 1000
#: Columns a warning names at most (the rest are counted).
NAMED = 20


def kept_header(header: object) -> str:
    """A header as the key of its values: its text, trimmed, each run of spaces and line
    breaks one space (as ``unmapped_columns`` and a plan's ``mif_columns`` spell it)."""
    return " ".join(str(header).split())


def kept_text(value: Any) -> str:
    """A cell as text, as a spreadsheet shows it: a whole number without ``.0``, a number of
    more than 15 digits in the 15 it keeps, a date ``YYYY-MM-DD`` (with its time when it has
    one), a time ``HH:MM:SS``."""
    if type(value) is str:  # every CSV and XML cell, and most workbook ones
        return value.strip()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return shown_cell(value)


def cell_picker(indexes: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """How a row's kept cells are taken from it, by column index (None: none is kept); a
    short row's missing cells are blank."""
    if not indexes:
        return None
    needed = max(indexes) + 1
    whole = itemgetter(*indexes) if len(indexes) > 1 else lambda row: (row[indexes[0]],)

    def pick(row: Sequence[Any]) -> Sequence[Any]:
        if len(row) >= needed:
            return whole(row)
        return tuple(row[i] if i < len(row) else "" for i in indexes)

    return pick


def _named(headers: Sequence[str]) -> str:
    names = ", ".join(f"'{h}'" for h in headers[:NAMED])
    more = len(headers) - NAMED
    return names + (f" and {more} more" if more > 0 else "")


@dataclass
class KeptColumns:
    """The columns one file keeps, in the file's order, and what it could not keep."""

    headers: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    #: cells cut to ``MAX_VALUE`` characters, per position in ``headers``
    cut: Counter[int] = field(default_factory=Counter)

    def add(self, header: object) -> int | None:
        """Keep a column: its position in ``headers``, or None when it cannot be kept."""
        key = kept_header(header)
        if not key:
            return None
        if len(key) > MAX_HEADER or len(self.headers) >= MAX_COLUMNS or key in self.headers:
            self.left_out.append(key if len(key) <= MAX_HEADER else key[:MAX_HEADER] + "...")
            return None
        self.headers.append(key)
        return len(self.headers) - 1

    def texts(self, cells: Sequence[Any] | None) -> list[str]:
        """A row's kept cells as text, aligned with ``headers``, without trailing blanks
        (``[]``: the row holds none)."""
        if not cells:
            return []
        # Text cells (every CSV and XML one) without a call each: this runs on every row.
        texts = [c.strip() if c.__class__ is str else kept_text(c) for c in cells]
        while texts and not texts[-1]:
            texts.pop()
        if texts and max(map(len, texts)) > MAX_VALUE:
            for position, text in enumerate(texts):
                if len(text) > MAX_VALUE:
                    texts[position] = text[:MAX_VALUE]
                    self.cut[position] += 1
        return texts

    def warnings(self) -> list[str]:
        """What was not kept, said once for the file."""
        said = []
        if self.left_out:
            said.append(
                f"Columns not kept as plan fields (at most {MAX_COLUMNS} columns, each header "
                f"at most {MAX_HEADER} characters and given once): {_named(self.left_out)}"
            )
        if self.cut:
            cut = [self.headers[p] for p in sorted(self.cut)]
            cells = sum(self.cut.values())
            said.append(
                f"{cells} value{'s' if cells > 1 else ''} longer than {MAX_VALUE:,} characters "
                f"kept cut to {MAX_VALUE:,}, in {_named(cut)}"
            )
        return said
