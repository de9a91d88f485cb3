"""CSV/TSV: comma or tab, UTF-8 with or without BOM (Windows-1252 as a fallback), CRLF, quotes."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ecm.errors import FileFormatError
from ecm.fields import FieldMap, plan_columns
from ecm.readers.base import Record, RecordStream, too_many_rows

MAX_COLUMNS = 500


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _encoding(path: Path) -> str:
    if _decodes(path, "utf-8"):
        return "utf-8-sig"
    if _decodes(path, "cp1252"):
        return "cp1252"
    raise FileFormatError(
        "Invalid CSV format: the file is neither UTF-8 nor Windows-1252 text; "
        "save it as CSV UTF-8 and upload it again"
    )


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


def read_csv_records(path: Path, field_map: FieldMap, max_rows: int) -> RecordStream:
    encoding = _encoding(path)
    handle = path.open(encoding=encoding, newline="", errors="strict")
    first_line = handle.readline()
    handle.seek(0)
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        headers = next(reader)
    except StopIteration as exc:
        handle.close()
        raise FileFormatError("Invalid CSV format: the file has no header row") from exc
    except csv.Error as exc:
        handle.close()
        raise _csv_error(exc, 1, path, encoding, delimiter) from exc
    if len(headers) > MAX_COLUMNS:
        handle.close()
        raise FileFormatError(f"Invalid CSV format: more than {MAX_COLUMNS} columns")
    plan = plan_columns(field_map, headers)

    def records() -> Iterator[Record]:
        columns = plan.columns
        last_line = reader.line_num
        row_number = 1
        data_rows = 0
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise _csv_error(exc, last_line + 1, path, encoding, delimiter) from exc
                row_number += 1
                last_line = reader.line_num
                if not row or not any(cell.strip() for cell in row):
                    continue
                data_rows += 1
                if data_rows > max_rows:
                    raise FileFormatError(too_many_rows(max_rows))
                width = len(row)
                values: dict[str, Any] = {
                    name: row[index] if index < width else "" for index, name in columns
                }
                yield row_number, values
        finally:
            handle.close()

    return RecordStream(
        records=records(), warnings=plan.warnings, missing_required=plan.missing_required
    )
