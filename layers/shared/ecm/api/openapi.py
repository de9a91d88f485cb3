"""The API's OpenAPI 3 document, generated from the routes' declared models: each API
function's resolver describes its own routes and Powertools' merge joins them.

``docs/openapi.json`` is this document committed (``make openapi`` writes it; a test fails
when it differs), and ``GET /v1/openapi.json`` serves it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server

from ecm.api.catalog import API_FUNCTIONS, api_resolver
from ecm.api.health import health_router
from ecm.api.resolver import Resolver
from ecm.api.schemas import DESCRIPTIONS

TITLE = "ECM Imports API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Member Information File and authorization imports, and the caseload they feed, for "
    "California Medi-Cal Enhanced Care Management providers. Every admin route needs the "
    'X-User-Token header of an admin user; every error is {"errors": ["..."]}.'
)
SCHEME = "UserToken"
TOKEN = {"type": "apiKey", "in": "header", "name": "X-User-Token"}


def _schema_of(app: APIGatewayRestResolver) -> dict[str, Any]:
    return app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)


@cache
def openapi_document() -> dict[str, Any]:
    """The merged document (built once per process; the routes do not change at run time).
    Every admin route's module is loaded here, when the document is first asked for, not at
    the public function's cold start (it answers health checks too)."""
    public_routes = Resolver(enable_validation=True)
    public_routes.include_router(health_router())

    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url="/")],
        security=[{SCHEME: []}],
        on_conflict="error",
    )
    for function in API_FUNCTIONS:
        merge.add_schema(_schema_of(api_resolver(function)))
    public = _schema_of(public_routes)
    for path_item in public.get("paths", {}).values():
        for operation in path_item.values():
            operation["security"] = []  # no token: health and the document itself
            operation["responses"].pop("422", None)  # takes no input
    merge.add_schema(public)
    document = merge.get_openapi_schema()
    _errors_are_ours(document)
    document["components"]["securitySchemes"] = {SCHEME: TOKEN}
    ordered: dict[str, Any] = json.loads(json.dumps(document, sort_keys=True))
    return ordered


#: The bodies Powertools documents for its own 422 and 500; the resolver answers both as
#: ``{"errors": [...]}`` (``ecm.api.resolver``), so the document says so.
_POWERTOOLS_ERRORS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _errors_are_ours(document: dict[str, Any]) -> None:
    ours = {"$ref": "#/components/schemas/ErrorBody"}
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json", {})
                ref = content.get("schema", {}).get("$ref", "")
                if ref.rsplit("/", 1)[-1] in _POWERTOOLS_ERRORS:
                    content["schema"] = ours
                    response["description"] = DESCRIPTIONS.get(int(status), response["description"])
    for name in _POWERTOOLS_ERRORS:
        document["components"]["schemas"].pop(name, None)


def openapi_json() -> str:
    """The document as ``docs/openapi.json`` holds it (sorted keys, two-space indent)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
