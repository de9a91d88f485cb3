"""Cells corrected by hand, read in place of the file's own: the file stays as it came, and
the corrections are laid over the rows its reader yields, before any row is validated.

A correction names a row as the errors number it (the reader's row number) and a column as
the file names it; ``find_column`` also takes the name of the field the column fills
(``DOB`` for a header ``Date of Birth``) when one column only fills it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ecm.files.fields import FieldMap, normalize_header
from ecm.files.readers.base import Record, RecordStream
from ecm.files.readers.header import FileColumn


@dataclass(frozen=True)
class CellFix:
    """One cell's new text: ``column`` is the column's name as the file spells it."""

    row: int
    column: str
    value: str


def spelled(name: str) -> str:
    """A column name as ``FileColumn`` keeps it: spaces collapsed, no byte-order mark."""
    return " ".join(name.replace("\ufeff", "").split())


def find_column(columns: Sequence[FileColumn], name: str, field_map: FieldMap) -> list[FileColumn]:
    """The columns ``name`` may mean, most literal reading first: the header as spelled,
    then regardless of case, then as headers are compared on import (punctuation, spacing),
    then the columns filling the field(s) it names. One column is the answer; none or
    several, the caller says which."""
    wanted = spelled(name)
    folded = normalize_header(wanted)
    readings = (
        lambda c: c.name == wanted,
        lambda c: c.name.casefold() == wanted.casefold(),
        lambda c: normalize_header(c.name) == folded,
    )
    for reading in readings:
        found = [c for c in columns if reading(c)]
        if found:
            return found
    targets = set(field_map.resolve(wanted))
    return [c for c in columns if targets & set(c.fields)] if targets else []


def correct_records(
    stream: RecordStream, fixes: Sequence[CellFix], field_map: FieldMap
) -> RecordStream:
    """``stream`` with each fixed cell's value in the record keys its column fills.

    Rows keep their numbers. An XML element first met after the corrected record is read
    by its name through ``field_map``, as the reader would have.
    """
    if not fixes:
        return stream
    by_row: dict[int, list[CellFix]] = {}
    for fix in fixes:
        by_row.setdefault(fix.row, []).append(fix)
    source = stream.records
    keys: dict[str, tuple[str, ...]] = {}

    def keys_of(column: str) -> tuple[str, ...]:
        found = keys.get(column)
        if found is None:
            named = next((c for c in stream.columns if c.name == column), None)
            found = named.fields if named is not None else field_map.resolve(column)
            keys[column] = found
        return found

    def records() -> Iterator[Record]:
        try:
            for number, values in source:
                for fix in by_row.get(number, ()):
                    for key in keys_of(fix.column):
                        values[key] = fix.value
                yield number, values
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a reader's file closes with its generator

    stream.records = records()
    return stream


@dataclass(frozen=True)
class FixTarget:
    """A correction as asked: its place in the request, its row and its column's name."""

    index: int
    row: int
    column: str


def _where(target: FixTarget) -> str:
    return f"corrections[{target.index}] (row {target.row}, column '{target.column}')"


def _column_errors(
    stream: RecordStream, targets: Sequence[FixTarget], field_map: FieldMap, named: dict[int, str]
) -> list[tuple[int, str]]:
    errors: list[tuple[int, str]] = []
    for target in targets:
        found = find_column(stream.columns, target.column, field_map)
        if len(found) == 1:
            named[target.index] = found[0].name
        elif not found:
            errors.append((target.index, f"{_where(target)}: the file has no such column"))
        else:
            listed = ", ".join(f"'{c.name}'" for c in found)
            errors.append(
                (target.index, f"{_where(target)}: the name fits several columns ({listed})")
            )
    return errors


def check_targets(
    stream: RecordStream, targets: Sequence[FixTarget], field_map: FieldMap
) -> tuple[dict[int, str], list[str]]:
    """Each correction's column as the file names it (by its index), or why some cannot be
    made: a column the file does not have, or a row that is none of its data rows (a blank
    row and the header's are not). Reads the rows only as far as the last row named."""
    named: dict[int, str] = {}
    errors: list[tuple[int, str]] = []
    headed = stream.header is not None  # XML: its elements are known once all are read
    if headed:
        errors += _column_errors(stream, targets, field_map, named)
    wanted = {t.row for t in targets}
    last = max(wanted, default=0)
    seen: set[int] = set()
    records = stream.records
    try:
        for number, _ in records:
            if number in wanted:
                seen.add(number)
            if headed and number >= last:
                break
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()
    if not headed:
        errors += _column_errors(stream, targets, field_map, named)
    errors += [
        (t.index, f"{_where(t)}: the file has no such data row")
        for t in targets
        if t.row not in seen
    ]
    return named, [message for _, message in sorted(errors, key=lambda e: e[0])]
