"""The routes every file kind has (docs/api/mif-imports.md): import, upload URL, list, detail,
the failed rows' errors, and a corrected import of a file already received.

Annotations are evaluated here, at definition, because each kind's body models are built
from its ``ImportKind`` (no ``from __future__ import annotations`` in this module).
"""

from typing import Annotated, Union

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from ecm.api.params import FilePage, PerPage, RecordId, RecordsPerPage
from ecm.api.resolver import current_user, json_response
from ecm.api.schemas import responses
from ecm.imports.api import create_import, file_detail, file_errors, list_files
from ecm.imports.correcting import correct_import
from ecm.imports.schemas import (
    CorrectionsRequest,
    ErrorRows,
    Upload,
    UploadRequest,
    kind_schemas,
)
from ecm.imports.uploads import create_upload
from ecm.kinds.registry import get_kind


def import_router(kind_name: str, base: str) -> Router:
    router = Router()
    kind, models = get_kind(kind_name), kind_schemas(kind_name)
    tag = [f"{kind.label} imports"]
    Result = Union[models.imported, models.dry_run, models.accepted]  # type: ignore[name-defined]  # noqa: UP007

    @router.post(
        base,
        summary=f"Import a {kind.label} file",
        description="201 when imported within the synchronous window, 200 for a dry run, "
        "202 while it still runs; 422 lists every row error and nothing is written.",
        responses=responses(
            {201: models.imported, 200: models.dry_run, 202: models.accepted}, 413, 415
        ),
        tags=tag,
    )
    def post_file(body: Annotated[models.request, Body()]) -> Response[Result]:  # type: ignore[name-defined]
        request = getattr(body, kind.body_key)
        status, result = create_import(kind.name, request, current_user(router)["user_id"])
        return json_response(status, result)

    @router.post(
        base + "/uploads",
        summary=f"An upload URL for a large {kind.label} file",
        responses=responses({201: Upload}, 415),
        tags=tag,
    )
    def post_upload(body: Annotated[UploadRequest, Body()]) -> Response[Upload]:
        return json_response(201, create_upload(kind.name, body, current_user(router)["user_id"]))

    @router.get(
        base,
        summary=f"List {kind.label} files",
        responses=responses({200: models.listing}),
        tags=tag,
    )
    def get_files(
        page: Annotated[FilePage, Query()] = None,
        per_page: Annotated[PerPage, Query(description="Default 25")] = None,
    ) -> Response[models.listing]:  # type: ignore[name-defined]
        return json_response(200, list_files(kind.name, page, per_page))

    @router.get(
        base + "/<file_id>",
        summary=f"One {kind.label} file and what it imported",
        responses=responses({200: models.detail}, 404),
        tags=tag,
    )
    def get_file(
        file_id: Annotated[str, RecordId(kind.not_found)],
        records_page: Annotated[FilePage, Query()] = None,
        records_per_page: Annotated[RecordsPerPage, Query(description="Default 500")] = None,
    ) -> Response[models.detail]:  # type: ignore[name-defined]
        return json_response(200, file_detail(kind.name, file_id, records_page, records_per_page))

    @router.get(
        base + "/<file_id>/errors",
        summary=f"The failed rows of a {kind.label} file, cell by cell",
        description="Every error of the first 500 failed rows (row, column, message, value) "
        "and how many rows failed in all; the file's import_errors keeps the first 100 "
        "messages only. Empty for a file no row of which failed.",
        responses=responses({200: ErrorRows}, 404),
        tags=tag,
    )
    def get_errors(file_id: Annotated[str, RecordId(kind.not_found)]) -> Response[ErrorRows]:
        return json_response(200, file_errors(kind.name, file_id))

    @router.post(
        base + "/<file_id>/corrections",
        summary=f"Import a {kind.label} file again with cells corrected",
        description="A new import of the file's stored original, its cells corrected, answered "
        "as an import is; the original and its record are kept as they are. 422 names each "
        "correction whose row or column the file does not have, and nothing starts.",
        responses=responses({201: models.imported, 200: models.dry_run, 202: models.accepted}, 404),
        tags=tag,
    )
    def post_corrections(
        file_id: Annotated[str, RecordId(kind.not_found)],
        body: Annotated[CorrectionsRequest, Body()],
    ) -> Response[Result]:
        user = current_user(router)["user_id"]
        return json_response(*correct_import(kind.name, file_id, body, user))

    return router
