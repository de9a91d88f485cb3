"""The return files the engine makes. Each names its fields (what a layout's columns may
use), its rows and how the plans call it; the layout, the writing, the record and the API
are the same for both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ecm.errors import ApiError
from ecm.exports.otf import OTF_FIELDS, otf_rows
from ecm.exports.rows import ExportContext, ExportRow
from ecm.exports.rtf import RTF_FIELDS, rtf_rows


@dataclass(frozen=True)
class ExportKind:
    name: str
    label: str
    fields: frozenset[str]
    rows: Callable[[ExportContext], Iterator[ExportRow]]


RTF = ExportKind("rtf", "ECM Provider Return Transmission File", RTF_FIELDS, rtf_rows)
OTF = ExportKind("otf", "ECM Provider Outreach Tracking File", OTF_FIELDS, otf_rows)
EXPORT_KINDS = {RTF.name: RTF, OTF.name: OTF}
EXPORT_FORMATS = ("csv", "xlsx")


def get_export_kind(name: str) -> ExportKind:
    try:
        return EXPORT_KINDS[name]
    except KeyError:
        raise ApiError(422, f"export.kind must be one of {', '.join(EXPORT_KINDS)}") from None
