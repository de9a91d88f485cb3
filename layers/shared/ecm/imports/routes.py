"""The routes every file kind has (seed 000 / 001): import, upload URL, list, detail."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from ecm.api.resolver import current_user, json_body, json_response, query
from ecm.imports.api import create_import, file_detail, list_files
from ecm.imports.uploads import create_upload


def import_router(kind: str, base: str) -> Router:
    router = Router()

    @router.post(base)
    def post_file() -> Any:
        status, body = create_import(kind, json_body(router), current_user(router)["user_id"])
        return json_response(status, body)

    @router.post(base + "/uploads")
    def post_upload() -> Any:
        upload = create_upload(kind, json_body(router), current_user(router)["user_id"])
        return json_response(201, upload)

    @router.get(base)
    def get_files() -> Any:
        return json_response(200, list_files(kind, query(router)))

    @router.get(base + "/<file_id>")
    def get_file(file_id: str) -> Any:
        return json_response(200, file_detail(kind, file_id, query(router)))

    return router
