"""The cells an administrator corrected for an import, kept in the bucket beside the file
they correct (never on the file record: 5,000 corrections would pass DynamoDB's 400 KB item
limit). The values are the members' data: they are answered to the authenticated API and
read by the import, never logged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ecm.files.readers.corrected import CellFix
from ecm.imports.work_area import get_json, put_json

Item = dict[str, Any]


@dataclass(frozen=True)
class Correction:
    """One corrected cell and who corrected it, when."""

    row: int
    column: str
    value: str
    changed_by: str
    changed_at: str

    @property
    def cell(self) -> tuple[int, str]:
        return self.row, self.column


def save_corrections(key: str, corrections: list[Correction]) -> None:
    put_json(key, [asdict(c) for c in corrections])


def load_corrections(record: Item) -> list[Correction]:
    """The corrections an import reads (none for a file imported as it came)."""
    key = record.get("corrections_key")
    if not key:
        return []
    return [Correction(**entry) for entry in get_json(key)]


def cell_fixes(corrections: list[Correction]) -> list[CellFix]:
    return [CellFix(c.row, c.column, c.value) for c in corrections]


def merged(earlier: list[Correction], later: list[Correction]) -> list[Correction]:
    """``earlier`` with ``later`` laid over it: a cell corrected again keeps its last value
    (and who gave it), in the order cells were first corrected."""
    cells = {c.cell: c for c in earlier}
    for correction in later:
        cells[correction.cell] = correction
    return list(cells.values())
