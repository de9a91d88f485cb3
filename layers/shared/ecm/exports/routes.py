"""The export routes: make a return file, list them, one with its skipped rows."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from ecm.api.params import FilePage, PerPage, RecordId
from ecm.api.resolver import current_user, json_response
from ecm.api.schemas import responses
from ecm.exports.api import NOT_FOUND, create_export, export_detail, list_exports
from ecm.exports.schemas import ExportFile, ExportList, ExportRequest, ExportStarted

TAGS = ["Return files"]
ExportId = Annotated[str, RecordId(NOT_FOUND)]


def export_routes(base: str) -> Router:
    router = Router()

    @router.post(
        base,
        summary="Make a plan's Return Transmission or Outreach Tracking file for a month",
        description="201 when the file is made within the synchronous window, 202 while it "
        "still runs; the file goes to outbox/<plan>/<kind>/ in the bucket.",
        responses=responses({201: ExportStarted, 202: ExportStarted}, 415),
        tags=TAGS,
    )
    def post_export(body: Annotated[ExportRequest, Body()]) -> Response[ExportStarted]:
        status, result = create_export(body.export, current_user(router)["user_id"])
        return json_response(status, result)

    @router.get(
        base, summary="The exports, newest first", responses=responses({200: ExportList}), tags=TAGS
    )
    def get_exports(
        page: Annotated[FilePage, Query()] = None,
        per_page: Annotated[PerPage, Query(description="Default 25")] = None,
    ) -> Response[ExportList]:
        return json_response(200, list_exports(page, per_page))

    @router.get(
        base + "/<export_id>",
        summary="One export, with the rows it left out and why",
        responses=responses({200: ExportFile}, 404),
        tags=TAGS,
    )
    def get_export(export_id: ExportId) -> Response[ExportFile]:
        return json_response(200, export_detail(export_id))

    return router
