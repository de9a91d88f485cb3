"""The three routes every file kind has (seed 000 / 001): import, list, detail."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from ecm.api.resolver import admin_context, json_body, json_response
from ecm.imports.api import create_import, file_detail, list_files
from ecm.imports.uploads import create_upload


def register_import_routes(app: APIGatewayRestResolver, kind: str, base: str) -> None:
    @app.post(base)
    def post_file() -> Any:
        user = admin_context(app)
        status, body = create_import(kind, json_body(app), user["user_id"])
        return json_response(status, body)

    @app.post(base + "/uploads")
    def post_upload() -> Any:
        user = admin_context(app)
        return json_response(201, create_upload(kind, json_body(app), user["user_id"]))

    @app.get(base)
    def get_files() -> Any:
        admin_context(app)
        return json_response(200, list_files(kind, app.current_event.query_string_parameters))

    @app.get(base + "/<file_id>")
    def get_file(file_id: str) -> Any:
        admin_context(app)
        query = app.current_event.query_string_parameters
        return json_response(200, file_detail(kind, file_id, query))
