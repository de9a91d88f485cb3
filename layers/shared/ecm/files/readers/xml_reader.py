"""XML: any root, one <Member> per record (any case, any namespace), parsed as a stream by
defusedxml (docs/decisions/0013-xml-by-defusedxml.md: every XML byte goes through it).

The parser refuses any DTD, entity declaration or external reference before its first
record, so billion-laughs and XXE files fail with a clear message instead of expanding or
reading anything; each record is removed from the tree once read, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ecm.errors import FileFormatError
from ecm.files.fields import FieldMap
from ecm.files.kept import KEPT, KeptColumns
from ecm.files.readers.base import Record, RecordStream, too_many_rows

RECORD_TAGS = frozenset(("Member", "member", "MEMBER"))
REFUSED = (
    "Invalid XML format: DTDForbidden (DTDs, entities and external references are not allowed)"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _unknown(tag: str, stream: RecordStream, kept_at: dict[str, int | None]) -> None:
    """An element no field is known by, met for the first time: kept (a map that keeps
    unknown columns) or ignored, and said so."""
    stream.unmapped.append(tag)
    if stream.kept is None:
        stream.warnings.append(f"Unknown element '{tag}' ignored")
        return
    kept_at[tag] = position = stream.kept.add(tag)
    if position is not None:
        stream.warnings.append(f"Unknown element '{tag}' kept as a plan field")


def _values(
    element: Element,
    field_map: FieldMap,
    stream: RecordStream,
    resolved: Any,
    kept_at: dict[str, int | None],
) -> Any:
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    cells: list[str] | None = None  # the kept elements' texts, by position
    for child in element:
        tag = _local(child.tag)
        targets = resolved.get(tag)
        if targets is None:
            targets = resolved[tag] = field_map.resolve(tag)
            stream.fields.update(targets)
            if not targets:
                _unknown(tag, stream, kept_at)
        text = (child.text or "").strip()
        if not targets:
            position = kept_at.get(tag)
            if position is not None and text:
                cells = cells if cells is not None else []
                if len(cells) <= position:
                    cells.extend([""] * (position + 1 - len(cells)))
                cells[position] = cells[position] or text  # the first one, as for fields
            continue
        for target in targets:
            # The first explicit element wins over an alias that fills several fields
            # (MCP_CIN), whichever comes first, as in CSV and XLSX.
            if target in explicit:
                continue
            if len(targets) == 1:
                values[target] = text
                explicit.add(target)
            else:
                values.setdefault(target, text)
    if cells is not None:
        values[KEPT] = cells
    return values


def read_xml_records(path: Path, field_map: FieldMap, max_rows: int) -> RecordStream:
    stream = RecordStream(records=iter(()), kept=KeptColumns() if field_map.keeps_unknown else None)
    resolved: dict[str, tuple[str, ...]] = {}
    kept_at: dict[str, int | None] = {}  # each unknown element's position among the kept

    def records() -> Iterator[Record]:
        count = 0
        try:
            for _, element in iterparse(str(path), forbid_dtd=True, forbid_entities=True):
                if _local(element.tag) not in RECORD_TAGS:
                    continue
                count += 1
                if count > max_rows:
                    raise FileFormatError(too_many_rows(max_rows))
                yield count, _values(element, field_map, stream, resolved, kept_at)
                element.clear()  # what stays is an empty element per record (~20 MB at 100k)
        except DefusedXmlException as exc:
            raise FileFormatError(REFUSED) from exc
        except ParseError as exc:
            line, column = exc.position
            detail = str(exc).split(":", 1)[0]
            raise FileFormatError(
                f"Invalid XML format: {detail}, line {line}, column {column + 1}"
            ) from exc
        if count == 0:
            raise FileFormatError("Invalid XML format: no <Member> elements found")

    stream.records = records()
    return stream
