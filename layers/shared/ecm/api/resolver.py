"""One way to build the API handlers: a Powertools REST resolver per function, built from
feature routers, that validates every body and query parameter against the route's declared
models (``enable_validation``), lets admins only through (once, for every route), and answers
every error as ``{"errors": [...]}`` (AWS busy past its retries: 503 with Retry-After),
never letting an exception (or its PHI) reach a response or log."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecm.api.auth import require_admin
from ecm.api.params import RecordId, parse_json_text
from ecm.aws_errors import error_name, is_retryable
from ecm.errors import ApiError, bounded_message, field_messages
from ecm.log import logger
from ecm.settings import get_settings

#: Where every admin route is (each function's routes are under it: ``ecm.api.catalog``).
BASE = "/v1/admin/clinic/ecm"

#: Set in the context of a request no route matched (its 404 skips the request checks).
NO_ROUTE = "_no_route"
#: A route's ``<parameter>``: one path segment, whatever it holds (as API Gateway's ``{id}``).
_PARAMETER = re.compile(r"<(\w+)>")


def json_response(status: int, body: Any) -> Response[Any]:
    """A JSON answer; the route's declared model validates and serialises ``body``."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error_response(status: int, *messages: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"errors": [bounded_message(m) for m in messages]}),
    )


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading bodies as JSON only (a body sent as a form or
    as multipart, which Powertools would parse, or fail on without a boundary, is a 415) and
    refusing query parameters the route does not declare, as bodies refuse unknown fields
    (``per-page=100`` must not silently give 25)."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        if app.context.get(NO_ROUTE):
            return next_middleware(app)  # nothing to validate: the 404 comes after admin_only
        route = app.context["_route"]
        _check_ids(route.dependant.path_params, app.context["_route_args"])
        declared = {param.alias for param in route.dependant.query_params}
        given = app.current_event.query_string_parameters or {}
        unknown = sorted(set(given) - declared)
        if unknown:
            raise RequestValidationError(
                [{"loc": ("query", name), "type": "extra_forbidden", "msg": ""} for name in unknown]
            )
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> Any:
        content_type = app.current_event.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise RequestUnsupportedContentType(
                "Unsupported content type", errors=[{"loc": ("body",), "type": "media_type"}]
            )
        return self._parse_json_data(app)


def _check_ids(path_params: list[Any], given: dict[str, str]) -> None:
    """Every record key of the path (a ``RecordId``) spelled as one, else the route's 404,
    before the query and the body are read: ``/mifs/01?x=1`` names no file, whatever its
    query says. Another path parameter is the route's to check (a plan's code on a PUT is
    told the rule)."""
    for param in path_params:
        info = param.field_info
        if isinstance(info, RecordId) and not info.names_a_record(given.get(param.alias, "")):
            raise ApiError(404, info.not_found)


def _authorizer(app: APIGatewayRestResolver) -> dict[str, Any]:
    authorizer = app.current_event.request_context.authorizer
    return dict(authorizer.raw_event) if authorizer is not None else {}


def admin_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Every route of the API functions is for admins: checked here, once, before any route
    runs (a route cannot forget it); the user is in ``app.context["user"]`` for the route."""
    app.append_context(user=require_admin(_authorizer(app)))
    return next_middleware(app)


#: What a request whose AWS call ran out of retries is answered (503), and when to retry.
BUSY_MESSAGE = "The service is busy; try again in a few seconds"
RETRY_AFTER_SECONDS = 2


def busy_response() -> Response[str]:
    return Response(
        status_code=503,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"errors": [BUSY_MESSAGE]}),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unexpected(exc: Exception) -> Response[str]:
    """Every exception no route answered: 503 with Retry-After when AWS was only busy
    (throttling, 5xx, a transaction conflict past every retry: ``ecm.aws_errors``), else a
    500 for an error of ours. The log names the error's code or type only (a message or
    traceback may quote a row value)."""
    if is_retryable(exc):
        logger.warning("service busy", extra={"error_type": error_name(exc)})
        return busy_response()
    logger.error("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "Internal server error")


_resolving = threading.local()


class Resolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with the event it resolves kept per thread.

    Powertools keeps the current event on its ``BaseRouter`` class, one per process, which
    is right on Lambda (one event per process at a time). The local stack runs every
    function in one process on many threads: two requests at once, even to two functions,
    would route and validate with each other's event (seen as a console script answered
    with a style sheet). Here the resolver and its routers read the event of their thread.
    """

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        return _resolving.event  # type: ignore[no-any-return]

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        _resolving.event = value

    @property
    def lambda_context(self) -> LambdaContext:
        return _resolving.context  # type: ignore[no-any-return]

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        _resolving.context = value

    def _to_proxy_event(self, event: dict[str, Any]) -> BaseProxyEvent:
        # Called by resolve() once per event, before anything reads it.
        _resolving.event = super()._to_proxy_event(event)
        return _resolving.event  # type: ignore[no-any-return]

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        _resolving.context = context
        return super().resolve(event, context)

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "") -> re.Pattern[str]:
        """A route's pattern. Powertools' takes a parameter of some characters only and ends
        with ``$``, which also matches before a final newline: ``/mifs/%0A`` was no route (its
        query checked as if for a route of no parameters) and ``/mifs/1%0A`` was file 1.
        Here a parameter is any one segment, so the route's id check answers it, and the
        pattern ends at the end of the path only."""
        return re.compile("^" + _PARAMETER.sub(r"(?P<\1>[^/]+)", rule) + r"/*\Z")

    def _handle_not_found(self, method: str, path: str) -> Any:
        # Powertools answers "no route" through the middlewares, as a route of no parameters:
        # the request checks must not read its query as if a route had declared none.
        self.append_context(**{NO_ROUTE: True})
        return super()._handle_not_found(method, path)


def make_resolver(*routers: Router) -> APIGatewayRestResolver:
    """The resolver of one API function: its feature routers, admins only, errors as
    ``{"errors": [...]}``. Called at cold start, it fails there when a variable is missing."""
    get_settings()
    app = Resolver(
        enable_validation=True,
        json_body_deserializer=parse_json_text,
        response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    # The resolver built Powertools' own at construction; bodies are JSON only here
    # (tests/integration/test_hostile_requests.py proves a form and multipart get a 415).
    app._request_validation_middleware = JsonBodyValidation()

    def refused(status: int, messages: list[str]) -> Response[str]:
        # Powertools validates a request before any middleware runs: an error found before
        # admin_only did is answered to admins only, so staff learn nothing of a route.
        if "user" not in app.context:
            try:
                require_admin(_authorizer(app))
            except ApiError as exc:
                return error_response(exc.status, *exc.messages)
        return error_response(status, *messages)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response[str]:
        return refused(exc.status, exc.messages)

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json(exc: RequestUnsupportedContentType) -> Response[str]:
        return refused(415, ["Content-Type must be application/json"])

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[str]:
        return refused(422, field_messages(exc.errors()))

    @app.exception_handler(UnicodeDecodeError)
    def _undecodable(exc: UnicodeDecodeError) -> Response[str]:
        try:
            app.current_event.decoded_body  # noqa: B018 - raises again if the body is the cause
        except UnicodeDecodeError:
            return refused(422, ["Request body is not valid UTF-8 JSON"])
        return unexpected(exc)

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return error_response(404, "Not found")

    app.exception_handler(Exception)(unexpected)

    app.use(middlewares=[admin_only])
    for router in routers:
        app.include_router(router)
    return app


def current_user(router: Router) -> dict[str, Any]:
    """The admin calling (``admin_only`` put it there)."""
    return dict(router.context["user"])
