"""The building blocks of every route's declared bodies: request and response bases, the
error body, pagination, and the table of responses a route documents.

Request bodies refuse unknown fields and strip strings; response bodies refuse fields they
do not declare, so a response that drifts from the OpenAPI document fails in the tests
(answered 500 by the resolver) instead of reaching a client undocumented. A request field's
limits are constraints of its model: pydantic enforces them and the document declares them,
one number for both.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from ecm.kinds.values import MAX_TEXT, person_name


def text_limits(max_length: int, *, blank: bool = False) -> StringConstraints:
    """A request string's bounds once stripped: at most ``max_length`` characters and, unless
    ``blank``, at least one (``ecm.errors.field_messages`` words each refusal)."""
    return StringConstraints(min_length=None if blank else 1, max_length=max_length)


#: A person's name in a request: never blank, bounded, nothing that hides what a reader sees.
PersonName = Annotated[str, text_limits(MAX_TEXT), AfterValidator(person_name)]


class RequestBody(BaseModel):
    """A request body or one of its objects. Strict: a JSON value of another type than the
    document says (``0`` for a boolean, ``"1"`` or ``false`` for an integer) is refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class ObjectBody(RequestBody):
    """A whole request body that is one JSON object of fields."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("Request body must be a JSON object")
        return data


class ResponseBody(BaseModel):
    """A response body or one of its objects."""

    model_config = ConfigDict(extra="forbid")


class Envelope(RequestBody):
    """A body that wraps its fields in one named object, its only field (``{"mif": {...}}``);
    anything else is refused with the message docs/api/index.md gives, naming the key."""

    @model_validator(mode="before")
    @classmethod
    def _wrapped(cls, data: Any) -> Any:
        (key,) = cls.model_fields
        if not isinstance(data, dict) or not isinstance(data.get(key), dict):
            article = "an" if key[:1] in "aeiou" else "a"
            raise ValueError(f"Request body must be a JSON object with {article} '{key}' object")
        return data


class ErrorBody(ResponseBody):
    """Every error the API answers: ``{"errors": ["...", ...]}``."""

    errors: list[str]


class Pagination(ResponseBody):
    current_page: int
    total_pages: int
    total_count: int
    per_page: int


def responses(ok: dict[int, type[BaseModel]], *errors: int) -> dict[int, OpenAPIResponse]:
    """The OpenAPI responses of a route: its success bodies and its error statuses (always
    401, 403, 422, 500 and 503; ``errors`` adds the others, 404 for a route with an id)."""
    table: dict[int, OpenAPIResponse] = {}
    for status, model in ok.items():
        table[status] = {
            "description": DESCRIPTIONS.get(status, "OK"),
            "content": {"application/json": {"model": model}},
        }
    for status in sorted({401, 403, 422, 500, 503, *errors}):
        table[status] = {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    table[503]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again",
            "schema": {"type": "integer"},
        }
    }
    return table


DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    202: "Accepted: still running; poll the file",
    401: "No token, or an unknown one",
    403: "The token's user is not an admin",
    404: "No such record",
    405: "The path has no such method",
    409: "Changed by someone else meanwhile; read it again",
    413: "The request is over the inline limit (a file of about 4.4 MB, sent as base64); "
    "import large files through an upload URL (POST .../uploads)",
    415: "The body is not sent as application/json",
    422: "The request is invalid; each message names the field",
    500: "An error of ours (logged by type only); nothing was half-written",
    503: "AWS was busy (throttling) past every retry: send it again after Retry-After seconds",
}
