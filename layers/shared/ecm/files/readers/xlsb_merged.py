"""Cells merged over rows in an ``.xlsb``: calamine reports merges for XLSX and XLS only.

Excel writes a sheet's merges after its cells, as one BrtBeginMergeCells record (its count)
followed by that many BrtMergeCell records (first row, last row, first column, last column).
Cells are records too, so the part is scanned for that run of records rather than parsed
record by record: a run is taken only when every record of it is well formed. The part is
read in blocks, so memory stays bounded whatever the sheet's size.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path, PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ecm.files.readers.merged import MergedRange

_BUNDLE_SHEET = 156  # BrtBundleSh: a sheet's name and relationship id in workbook.bin
_BEGIN_MERGES = b"\xb1\x01\x04"  # BrtBeginMergeCells (177), 4 bytes: the count
_MERGE = b"\xb0\x01\x10"  # BrtMergeCell (176), 16 bytes
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_BLOCK = 1 << 20
#: What a damaged part raises (an XML ParseError is a SyntaxError).
_UNREADABLE = (
    KeyError,
    IndexError,
    struct.error,
    zipfile.BadZipFile,
    DefusedXmlException,
    SyntaxError,
    UnicodeDecodeError,
    ValueError,
)


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """The records of a small part (workbook.bin): varint type and size, then the data."""
    records, index = [], 0
    while index < len(data):
        kind = data[index]
        index += 1
        if kind & 0x80:
            kind = (kind & 0x7F) | (data[index] << 7)
            index += 1
        size = shift = 0
        for _ in range(4):
            byte = data[index]
            index += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        records.append((kind, data[index : index + size]))
        index += size
    return records


def _wide(data: bytes, at: int) -> tuple[str, int]:
    (count,) = struct.unpack_from("<I", data, at)
    if count == 0xFFFFFFFF:
        return "", at + 4
    end = at + 4 + 2 * count
    return data[at + 4 : end].decode("utf-16-le"), end


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part, from workbook.bin and its relationships."""
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in fromstring(archive.read("xl/_rels/workbook.bin.rels")).iter(_RELATIONSHIPS)
    }
    parts = {}
    for kind, data in _records(archive.read("xl/workbook.bin")):
        if kind == _BUNDLE_SHEET:
            rel_id, at = _wide(data, 8)
            name, _ = _wide(data, at)
            target = targets.get(rel_id, "")
            parts[name] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return {name: str(PurePosixPath(part)) for name, part in parts.items()}


def _merges_in(archive: zipfile.ZipFile, part: str) -> list[MergedRange]:
    with archive.open(part) as handle:
        data = b""
        while block := handle.read(_BLOCK):
            data = data[-(len(_BEGIN_MERGES) + 3) :] + block
            at = data.find(_BEGIN_MERGES)
            while at >= 0:
                data = data[at:]
                while len(data) < 7:
                    more = handle.read(_BLOCK)
                    if not more:
                        return []
                    data += more
                (count,) = struct.unpack_from("<I", data, 3)
                need = 7 + 19 * min(count, 100_000)
                while len(data) < need and (more := handle.read(_BLOCK)):
                    data += more
                found = _run(data[7:need], count)
                if found is not None:
                    return found
                at = data.find(_BEGIN_MERGES, 1)
    return []


def _run(data: bytes, count: int) -> list[MergedRange] | None:
    if count > 100_000 or len(data) < 19 * count:
        return None
    merges: list[MergedRange] = []
    for index in range(count):
        record = data[19 * index : 19 * index + 19]
        if record[:3] != _MERGE:
            return None
        top, bottom, left, right = struct.unpack_from("<4I", record, 3)
        merges.append(((top, left), (bottom, right)))
    return merges


def xlsb_merges(path: Path) -> dict[str, list[MergedRange]]:
    """Each sheet's merges, 0-based as calamine gives Excel's; {} when the parts cannot be
    read (calamine then says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            return {
                name: merges
                for name, part in _sheet_parts(archive).items()
                if part in names and (merges := _merges_in(archive, part))
            }
    except _UNREADABLE:
        return {}
