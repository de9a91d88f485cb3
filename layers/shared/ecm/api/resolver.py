"""One way to build the API handlers: a Powertools REST resolver that answers every error
as ``{"errors": [...]}`` and never lets an exception (or its PHI) reach a response or log."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from ecm.api.auth import require_admin
from ecm.errors import ApiError
from ecm.log import logger


def json_response(status: int, body: Any) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body)
    )


def error_response(status: int, *messages: str) -> Response[str]:
    return json_response(status, {"errors": list(messages)})


def make_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response[str]:
        return error_response(exc.status, *exc.messages)

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return error_response(404, "Not found")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        # The type only: a message or traceback may quote a row value.
        logger.error("unhandled error", extra={"error_type": type(exc).__name__})
        return error_response(500, "Internal server error")

    return app


def admin_context(app: APIGatewayRestResolver) -> dict[str, Any]:
    authorizer = app.current_event.request_context.authorizer
    raw = dict(authorizer.raw_event) if authorizer is not None else {}
    return require_admin(raw)


def json_body(app: APIGatewayRestResolver) -> Any:
    body = app.current_event.body
    if not body:
        raise ApiError(422, "Request body is required")
    if app.current_event.is_base64_encoded:
        import base64

        body = base64.b64decode(body).decode()
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(422, "Request body is not valid JSON") from None
