"""One way to build the API handlers: a Powertools REST resolver per function, built from
feature routers, that lets admins only through (once, for every route) and answers every
error as ``{"errors": [...]}``, never letting an exception (or its PHI) reach a response or
log."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from ecm.api.auth import require_admin
from ecm.api.params import parse_json_body
from ecm.errors import ApiError
from ecm.log import logger
from ecm.settings import get_settings


def json_response(status: int, body: Any) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body)
    )


def error_response(status: int, *messages: str) -> Response[str]:
    return json_response(status, {"errors": list(messages)})


def admin_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Every route of the API functions is for admins: checked here, once, before any route
    runs (a route cannot forget it); the user is in ``app.context["user"]`` for the route."""
    authorizer = app.current_event.request_context.authorizer
    raw = dict(authorizer.raw_event) if authorizer is not None else {}
    app.append_context(user=require_admin(raw))
    return next_middleware(app)


def make_resolver(*routers: Router) -> APIGatewayRestResolver:
    """The resolver of one API function: its feature routers, admins only, errors as
    ``{"errors": [...]}``. Called at cold start, it fails there when a variable is missing."""
    get_settings()
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

    app.use(middlewares=[admin_only])
    for router in routers:
        app.include_router(router)
    return app


def current_user(router: Router) -> dict[str, Any]:
    """The admin calling (``admin_only`` put it there)."""
    return dict(router.context["user"])


def query(router: Router) -> dict[str, str] | None:
    return router.current_event.query_string_parameters


def json_body(router: Router) -> Any:
    event = router.current_event
    return parse_json_body(event.body, bool(event.is_base64_encoded))
