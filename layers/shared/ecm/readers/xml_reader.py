"""XML: any root, one <Member> per record, parsed as a stream through defusedxml.

DTDs, entity declarations and external references are refused, so billion-laughs and XXE
files fail with a clear message instead of expanding.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ecm.errors import FileFormatError
from ecm.fields import FieldMap
from ecm.readers.base import Record, RecordStream, too_many_rows

RECORD_TAG = "member"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xml_records(path: Path, field_map: FieldMap, max_rows: int) -> RecordStream:
    stream = RecordStream(records=iter(()))
    unknown: set[str] = set()
    resolved: dict[str, tuple[str, ...]] = {}

    def records() -> Iterator[Record]:
        count = 0
        root: Element | None = None
        try:
            for event, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
                if root is None:
                    root = element
                if event != "end" or _local(element.tag).lower() != RECORD_TAG:
                    continue
                count += 1
                if count > max_rows:
                    raise FileFormatError(too_many_rows(max_rows))
                values: dict[str, Any] = {}
                explicit: set[str] = set()
                for child in element:
                    tag = _local(child.tag)
                    targets = resolved.get(tag)
                    if targets is None:
                        targets = resolved[tag] = field_map.resolve(tag)
                        if not targets:
                            unknown.add(tag)
                            stream.warnings.append(f"Unknown element '{tag}' ignored")
                    text = (child.text or "").strip()
                    for target in targets:
                        # The first explicit element wins over an alias that fills several
                        # fields (MCP_CIN), whichever comes first, as in CSV and XLSX.
                        if target in explicit:
                            continue
                        if len(targets) == 1:
                            values[target] = text
                            explicit.add(target)
                        else:
                            values.setdefault(target, text)
                yield count, values
                root.clear()
        except DefusedXmlException as exc:
            raise FileFormatError(
                f"Invalid XML format: {type(exc).__name__} (DTDs, entities and external "
                "references are not allowed)"
            ) from exc
        except ParseError as exc:
            raise FileFormatError(f"Invalid XML format: {exc}") from exc
        if count == 0:
            raise FileFormatError("Invalid XML format: no <Member> elements found")

    stream.records = records()
    return stream
