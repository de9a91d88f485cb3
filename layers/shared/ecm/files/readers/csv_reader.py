"""CSV/TSV: comma, tab, semicolon or pipe (database exports and healthcare exchange); UTF-8
with or without BOM, UTF-16 with a BOM (Excel's "Unicode Text"), or a legacy code page
(``ecm.readers.encoding``); CRLF or CR lines; quotes; title rows above the header
(``ecm.readers.header``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ecm.errors import FileFormatError
from ecm.files.fields import FieldMap, unnamed_column_warning
from ecm.files.kept import KEPT, cell_picker
from ecm.files.readers.base import Record, RecordStream, too_many_rows
from ecm.files.readers.encoding import detect_encoding
from ecm.files.readers.header import HEADER_SEARCH_ROWS, Header, HeaderAt, find_header

MAX_COLUMNS = 500
#: Tried in this order when the first lines hold as many of each.
DELIMITERS = (",", "\t", ";", "|")


def _unclosed_quote_line(path: Path, encoding: str, delimiter: str, start: int) -> int:
    """The line where the quoted field that never closes opens; the record opens on ``start``.

    Scans the same lines the csv module read (``newline=""``) with its quoting rules: a
    quote opens a field only at the field's start, ``""`` inside quotes is a literal quote.
    """
    opened = start
    in_quote = False
    at_field_start = True
    with path.open(encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if number < start:
                continue
            index = 0
            while index < len(line):
                char = line[index]
                if in_quote:
                    if char == '"':
                        if line.startswith('"', index + 1):
                            index += 1
                        else:
                            in_quote = False
                            at_field_start = False
                elif char == '"' and at_field_start:
                    in_quote = True
                    opened = number
                else:
                    at_field_start = char in (delimiter, "\r", "\n")
                index += 1
    return opened


def _csv_error(
    exc: csv.Error, line: int, path: Path, encoding: str, delimiter: str
) -> FileFormatError:
    text = str(exc)
    if "unexpected end of data" in text or "EOF" in text:
        opened = _unclosed_quote_line(path, encoding, delimiter, line)
        return FileFormatError(f"Invalid CSV format: Unclosed quoted field on line {opened}")
    return FileFormatError(f"Invalid CSV format: {text} on line {line}")


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def _first_lines(path: Path, encoding: str) -> list[str]:
    """The lines the header search may look at (blank ones left out)."""
    lines: list[str] = []
    with path.open(encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                lines.append(line)
            if number >= HEADER_SEARCH_ROWS:
                break
    return lines


class _Rows:
    """The csv module's rows of one file, its errors turned into ours (with the line)."""

    def __init__(self, path: Path, encoding: str, delimiter: str) -> None:
        self.path, self.encoding, self.delimiter = path, encoding, delimiter
        self.handle = path.open(encoding=encoding, newline="", errors="strict")
        self.reader = csv.reader(self.handle, delimiter=delimiter, strict=True)

    def __iter__(self) -> Iterator[list[str]]:
        last_line = self.reader.line_num
        while True:
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _csv_error(
                    exc, last_line + 1, self.path, self.encoding, self.delimiter
                ) from exc
            last_line = self.reader.line_num
            yield row


def _header(
    path: Path, encoding: str, field_map: FieldMap, header_at: HeaderAt | None
) -> tuple[_Rows, Header]:
    """The delimiter and header row: each of ``,`` tab ``;`` ``|`` found in the first lines in
    turn, the most frequent first, until one reads a row holding every required column.
    When none does, what the most frequent one read (its error, or its closest row); the
    pipe, which text holds for other reasons, only when its closest row names more of our
    columns than that."""
    lines = _first_lines(path, encoding)
    counts = {d: sum(_count_outside_quotes(line, d) for line in lines) for d in DELIMITERS}
    order = sorted((d for d in DELIMITERS if counts[d]), key=lambda d: -counts[d]) or [","]
    if header_at is not None and header_at.delimiter:
        order = [header_at.delimiter]
    likeliest: tuple[_Rows, Header] | FileFormatError | None = None
    piped: tuple[_Rows, Header] | FileFormatError | None = None
    for delimiter in order:
        rows = _Rows(path, encoding, delimiter)
        try:
            header = find_header(field_map, [(None, iter(rows))], header_at)
        except FileFormatError as exc:
            rows.handle.close()
            if delimiter == "|":
                piped = exc
            else:
                likeliest = exc if likeliest is None else likeliest
            continue
        if header is None:
            rows.handle.close()
            raise FileFormatError("Invalid CSV format: the file has no header row")
        if header.not_found is None:
            for other in (likeliest, piped):
                if isinstance(other, tuple):
                    other[0].handle.close()
            return rows, header
        if delimiter == "|":
            piped = (rows, header)
        elif likeliest is None:
            likeliest = (rows, header)
        else:
            rows.handle.close()
    return _likelier(likeliest, piped)


def _likelier(
    likeliest: tuple[_Rows, Header] | FileFormatError | None,
    piped: tuple[_Rows, Header] | FileFormatError | None,
) -> tuple[_Rows, Header]:
    """The other delimiters' likeliest reading, or the pipe's when it names more columns."""
    known = len(likeliest[1].plan.columns) if isinstance(likeliest, tuple) else 0
    if isinstance(piped, tuple) and (likeliest is None or len(piped[1].plan.columns) > known):
        if isinstance(likeliest, tuple):
            likeliest[0].handle.close()
        return piped
    if isinstance(piped, tuple):
        piped[0].handle.close()
    chosen = likeliest if likeliest is not None else piped
    if isinstance(chosen, FileFormatError):
        raise chosen
    assert chosen is not None
    return chosen


def read_csv_records(
    path: Path, field_map: FieldMap, max_rows: int, header_at: HeaderAt | None = None
) -> RecordStream:
    encoding = detect_encoding(path)
    rows, header = _header(path, encoding.codec, field_map, header_at)
    if len(header.cells) > MAX_COLUMNS:
        rows.handle.close()
        raise FileFormatError(f"Invalid CSV format: more than {MAX_COLUMNS} columns")
    plan = header.plan
    at = HeaderAt(None, header.at.row, rows.delimiter)
    stream = RecordStream(
        records=iter(()),
        warnings=[*([encoding.warning] if encoding.warning else []), *plan.warnings],
        missing_required=plan.missing_required,
        header=at,
        header_errors=[*plan.errors, *([header.not_found] if header.not_found else [])],
        unmapped=plan.unknown,
        fields={name for _, name in plan.columns},
        kept=plan.kept,
    )

    def records() -> Iterator[Record]:
        # The csv reader itself past the header (the hot loop of every CSV import), or the
        # rows after the closest row when no header was found.
        reader, columns = rows.reader, plan.columns
        kept = cell_picker(plan.kept_at)
        source = reader if header.not_found is None else header.rows
        unnamed = list(plan.unnamed)  # columns without a header, until one shows a value
        row_number, last_line, data_rows = header.at.row, reader.line_num, 0
        try:
            while True:
                try:
                    row = next(source)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise _csv_error(
                        exc, last_line + 1, path, encoding.codec, rows.delimiter
                    ) from exc
                row_number += 1
                last_line = reader.line_num
                if not row or not any(cell.strip() for cell in row):
                    continue
                data_rows += 1
                if data_rows > max_rows:
                    raise FileFormatError(too_many_rows(max_rows))
                width = len(row)
                if unnamed:
                    for index in [i for i in unnamed if i < width and row[i].strip()]:
                        unnamed.remove(index)
                        stream.warnings.append(unnamed_column_warning(index, lettered=False))
                values: dict[str, Any] = {
                    name: row[index] if index < width else "" for index, name in columns
                }
                if kept is not None:
                    values[KEPT] = kept(row)
                yield row_number, values
        finally:
            rows.handle.close()

    stream.records = records()
    return stream
