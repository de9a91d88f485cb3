"""The failed rows' errors cell by cell, for correcting them in place: every error of the
first 500 failed rows as row, column, message and the value the file holds, and how many
rows failed in all (``GET /{mifs|authorizations}/{id}/errors``).

The file record keeps the first 100 messages only (``summarize_errors``: an item stays far
below DynamoDB's 400 KB), so these are kept as a JSON object beside the file's errors CSV,
written with it. Messages and values are the members' data: answered to the authenticated
API, never logged.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from ecm.imports.work_area import get_json, put_json

Item = dict[str, Any]
#: The failed rows listed: as many as the console corrects in place.
MAX_ERROR_ROWS = 500

_ROW = re.compile(r"^Row (\d+): (.*)$", re.S)
_FAILED = re.compile(r"^Validation failed: ", re.S)
# A column is named first, capitalised (DOB, MEMBER_ID, Auth Status), before its quoted
# value or the verb of its message (the row rules word every cell error so).
_COLUMN = r"([A-Z][A-Za-z0-9_ ]{0,60}?)"
_VALUED = re.compile(rf"^{_COLUMN} '((?:[^']|'(?! ))*)' (.*)$", re.S)
_VERB = re.compile(rf"^{_COLUMN} ((?:can't|cannot|must|is|has|should|does not) .*)$", re.S)


@dataclass(frozen=True)
class RowError:
    """One error of a failed row; ``column`` and ``value`` are empty when the message names
    no cell (``duplicate member id ... (also on row 2)``)."""

    row: int
    column: str
    message: str
    value: str


def parse_reason(row: int, reason: str) -> RowError:
    """``DOB '13/45/1990' is not a valid MM-DD-YYYY date`` → DOB, its value, the message."""
    rest = _FAILED.sub("", reason, count=1)
    valued = _VALUED.match(rest)
    if valued:
        return RowError(row, valued.group(1), valued.group(3), valued.group(2))
    verb = _VERB.match(rest)
    if verb:
        return RowError(row, verb.group(1), verb.group(2), "")
    return RowError(row, "", rest, "")


def error_rows_key(kind: str, file_id: int) -> str:
    """Beside the file's errors CSV (``work_area.result_keys``)."""
    return f"results/{kind}/{file_id}/errors.json"


def error_rows(failures: dict[int, list[str]]) -> Item:
    """The document kept: every error of the first ``MAX_ERROR_ROWS`` failed rows, and the
    number of failed rows."""
    listed = sorted(failures)[:MAX_ERROR_ROWS]
    errors = [asdict(parse_reason(row, reason)) for row in listed for reason in failures[row]]
    return {"errors": errors, "total": len(failures)}


def save_error_rows(kind: str, file_id: int, failures: dict[int, list[str]]) -> str:
    key = error_rows_key(kind, file_id)
    put_json(key, error_rows(failures))
    return key


def errors_from_record(record: Item) -> Item:
    """The document for a file whose errors were kept before this one was (or whose rows
    were never read): the messages its record lists, the first 100."""
    failures: dict[int, list[str]] = {}
    for line in record.get("errors") or []:
        match = _ROW.match(str(line))
        if match:
            failures.setdefault(int(match.group(1)), []).append(match.group(2))
    document = error_rows(failures)
    document["total"] = max(int(record.get("records_failed") or 0), len(failures))
    return document


def load_error_rows(record: Item) -> Item:
    """The failed rows' errors of an import file's record, as kept."""
    key = record.get("error_rows_key")
    return dict(get_json(key)) if key else errors_from_record(record)
