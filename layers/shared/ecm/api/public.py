"""The routes anyone may call without a token: health, the OpenAPI document, its docs page,
and the console's static files (its data comes from the admin API, with the user's token).

The docs page is Powertools' Swagger UI with its JavaScript and CSS inlined from the
package, so the page loads nothing from the internet.
"""

from __future__ import annotations

from pathlib import Path

import aws_lambda_powertools.event_handler.openapi.swagger_ui as assets
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

from ecm import console
from ecm.api.health import health_router
from ecm.api.openapi import openapi_json
from ecm.api.resolver import Resolver, error_response, unexpected

OPENAPI = "/v1/openapi.json"
DOCS = "/v1/docs"
CONSOLE = "/console"


def _swagger_assets() -> tuple[str, str]:
    folder = Path(assets.__file__).parent
    js = (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (folder / "swagger-ui.min.css").read_text(encoding="utf-8")
    return js, css


def public_resolver() -> APIGatewayRestResolver:
    app = Resolver(enable_validation=True)
    app.exception_handler(Exception)(unexpected)
    app.include_router(health_router())

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return error_response(404, "Not found")

    @app.get(OPENAPI, include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, openapi_json())

    @app.get(DOCS, include_in_schema=False)
    def docs() -> Response[str]:
        js, css = _swagger_assets()
        spec = openapi_json().replace("</", "<\\/")
        html = generate_swagger_html(spec, js, css, "", None, False)
        return Response(200, "text/html; charset=utf-8", html)

    @app.get(CONSOLE, include_in_schema=False)
    def console_page() -> Response[str]:
        return _console_answer(app, console.INDEX)

    @app.get(CONSOLE + "/<name>", include_in_schema=False)
    def console_file(name: str) -> Response[str]:
        return _console_answer(app, name)

    return app


def _console_answer(app: APIGatewayRestResolver, name: str) -> Response[str]:
    headers = console.security_headers()
    if name == console.INDEX:
        html = console.index_html(_mount_point(app))
        return Response(200, console.CONTENT_TYPES[".html"], html, headers=headers)
    found = console.asset(name)
    if found is None:
        return error_response(404, "Not found")
    content_type, text = found
    return Response(200, content_type, text, headers=headers)


def _mount_point(app: APIGatewayRestResolver) -> str:
    """Where the console is in the caller's URL: the stage prefix API Gateway puts before
    the resource path (``/Prod``), if any, then ``/console/``."""
    event = app.current_event
    full = str(event.request_context.path or event.path)
    resource = event.path.rstrip("/")
    prefix = full.rstrip("/")[: -len(resource)] if full.rstrip("/").endswith(resource) else ""
    return f"{prefix}{CONSOLE}/"
