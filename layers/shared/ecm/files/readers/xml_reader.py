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
from ecm.files.readers.base import Record, RecordStream, too_many_rows
from ecm.files.readers.header import FileColumn

RECORD_TAGS = frozenset(("Member", "member", "MEMBER"))
REFUSED = (
    "Invalid XML format: DTDForbidden (DTDs, entities and external references are not allowed)"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _values(element: Element, field_map: FieldMap, stream: RecordStream, resolved: Any) -> Any:
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    for child in element:
        tag = _local(child.tag)
        targets = resolved.get(tag)
        if targets is None:
            targets = resolved[tag] = field_map.resolve(tag)
            stream.fields.update(targets)
            stream.columns.append(FileColumn(tag, targets))
            if not targets:
                stream.warnings.append(f"Unknown element '{tag}' ignored")
                stream.unmapped.append(tag)
        text = (child.text or "").strip()
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
    return values


def read_xml_records(path: Path, field_map: FieldMap, max_rows: int) -> RecordStream:
    stream = RecordStream(records=iter(()))
    resolved: dict[str, tuple[str, ...]] = {}

    def records() -> Iterator[Record]:
        count = 0
        try:
            for _, element in iterparse(str(path), forbid_dtd=True, forbid_entities=True):
                if _local(element.tag) not in RECORD_TAGS:
                    continue
                count += 1
                if count > max_rows:
                    raise FileFormatError(too_many_rows(max_rows))
                yield count, _values(element, field_map, stream, resolved)
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
