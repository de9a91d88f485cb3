"""The file kinds the engine imports. Each names its fields, formats, row rules and planner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from ecm.errors import ApiError
from ecm.files.fields import FieldMap
from ecm.imports.changes_file import WorkAreaChanges
from ecm.kinds.authorization.fields import AUTHORIZATION_FIELDS
from ecm.kinds.authorization.planner import AuthorizationPlanner
from ecm.kinds.authorization.rows import validate_authorization_row
from ecm.kinds.mif.changes import ChangeTracker
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.mif.plan_fields import PlanFields
from ecm.kinds.mif.planner import MifPlanner, PatientLookup
from ecm.kinds.mif.rows import validate_mif_row
from ecm.kinds.plan_entry import PlanEntry
from ecm.patients.providers import ProviderDirectory, list_providers
from ecm.patients.reading import plan_member_ids
from ecm.plans.records import full_roster

Item = dict[str, Any]

#: ``mode`` of an import: every row or none (the documents' default), or the valid rows only.
ImportMode = Literal["all_or_nothing", "valid_rows"]
ALL_OR_NOTHING: ImportMode = "all_or_nothing"
VALID_ROWS: ImportMode = "valid_rows"


class Planner(Protocol):
    errors: list[str]
    warnings: list[str]
    created: int
    updated: int

    def plan_chunk(self, rows: list[tuple[int, Item]]) -> list[PlanEntry]: ...

    def finish(self) -> Iterable[PlanEntry]: ...


@dataclass(frozen=True)
class ImportKind:
    name: str
    label: str
    field_map: FieldMap
    file_types: tuple[str, ...]
    validate_row: Callable[[int, dict[str, Any], bool, date], tuple[Item, list[str]]]
    unique_field: str
    unique_label: str
    #: builds the planner of one import from its file record
    make_planner: Callable[[Item, PatientLookup, str], Planner]
    success_message: str
    id_field: str
    not_found: str
    body_key: str
    list_key: str
    detail_key: str
    records_key: str
    inbox_prefix: str
    #: what "imported_count" counts: every row (MIF, docs/api/mif-imports.md) or new records
    #: (docs/api/authorization-imports.md)
    imported_counts_created_only: bool
    #: the result file's column naming the record each row created or updated
    result_id_column: str
    format_error_prefix: str | None = None
    #: whether a file names the health plan it came from (``plan``; MIFs do)
    takes_plan: bool = False


def _mif_planner(record: Item, lookup: PatientLookup, now: str) -> Planner:
    directory = ProviderDirectory(list_providers())
    file_id, plan = int(record["id"]), record.get("plan")
    changes = (
        ChangeTracker(
            file_id, plan, full_roster(plan), WorkAreaChanges("mif", file_id), plan_member_ids
        )
        if plan
        else ChangeTracker(file_id)
    )
    kept = PlanFields(tuple(record.get("kept_columns") or ()))
    return MifPlanner(file_id, lookup, directory, now, plan=plan, changes=changes, plan_fields=kept)


MIF = ImportKind(
    name="mif",
    label="MIF",
    field_map=MIF_FIELDS,
    file_types=("csv", "xml", "xlsx"),
    validate_row=validate_mif_row,
    unique_field="member_id",
    unique_label="Member ID",
    make_planner=_mif_planner,
    success_message="MIF data imported successfully",
    id_field="mif_file_id",
    not_found="MIF file not found",
    body_key="mif",
    list_key="mif_files",
    detail_key="mif_file",
    records_key="eligibility_informations",
    inbox_prefix="inbox/mif/",
    imported_counts_created_only=False,
    result_id_column="patient_id",
    takes_plan=True,
)


def _authorization_planner(record: Item, lookup: PatientLookup, now: str) -> Planner:
    return AuthorizationPlanner(int(record["id"]), lookup, now)


AUTHORIZATION = ImportKind(
    name="authorization",
    label="Authorization",
    field_map=AUTHORIZATION_FIELDS,
    file_types=("xlsx", "xlsm", "xls"),
    validate_row=validate_authorization_row,
    unique_field="auth_no",
    unique_label="Auth No",
    make_planner=_authorization_planner,
    success_message="Authorization data imported successfully",
    id_field="authorization_file_id",
    not_found="Authorization file not found",
    body_key="authorization",
    list_key="authorization_files",
    detail_key="authorization_file",
    records_key="authorizations",
    inbox_prefix="inbox/authorizations/",
    imported_counts_created_only=True,
    result_id_column="authorization_id",
    format_error_prefix="Invalid Excel format",
)

KINDS = {MIF.name: MIF, AUTHORIZATION.name: AUTHORIZATION}


def get_kind(name: str) -> ImportKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ApiError(404, f"Unknown import kind '{name}'") from None
