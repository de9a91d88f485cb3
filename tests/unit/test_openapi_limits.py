"""The OpenAPI document declares each limit the API enforces with the number the code
enforces, and a request just over a declared maximum is refused while one at it is taken."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ecm.api.auth import EXPIRY_DAYS
from ecm.api.catalog import api_resolver
from ecm.api.openapi import openapi_document
from ecm.api.params import MAX_PER_PAGE, MAX_WINDOW, WINDOW_KEY
from ecm.imports.schemas import (
    MAX_CORRECTED_TEXT,
    MAX_CORRECTION_ROW,
    MAX_CORRECTION_VALUE,
    MAX_CORRECTIONS,
)
from ecm.kinds.values import MAX_EMAIL, MAX_TEXT
from ecm.patients.activities import MAX_MINUTES, MAX_NOTE, MAX_OUTCOME
from ecm.plans import PLAN_MAX, PLAN_PATTERN
from ecm.webhooks import MAX_URL_LENGTH

BASE = "/v1/admin/clinic/ecm"
ADMIN = {"user_id": "1", "role": "admin", "name": "Admin"}

#: (schema, property, keyword, the number the code enforces)
LIMITS: list[tuple[str, str, str, int]] = [
    *[
        (schema, field, keyword, number)
        for schema, field in [
            ("PatientUpdate", "first_name"),
            ("PatientUpdate", "last_name"),
            ("ProviderBody", "name"),
            ("ProviderUpdate", "name"),
            ("CareManagerBody", "name"),
            ("CareManagerUpdate", "name"),
        ]
        for keyword, number in (("minLength", 1), ("maxLength", MAX_TEXT))
    ],
    ("CareManagerBody", "email", "maxLength", MAX_EMAIL),
    ("CareManagerUpdate", "email", "maxLength", MAX_EMAIL),
    ("ActivityCreate", "type", "minLength", 1),
    ("ActivityCreate", "occurred_at", "minLength", 1),
    ("ActivityCreate", "outcome", "maxLength", MAX_OUTCOME),
    ("ActivityCreate", "note", "maxLength", MAX_NOTE),
    ("ActivityCreate", "minutes", "minimum", 0),
    ("ActivityCreate", "minutes", "maximum", MAX_MINUTES),
    ("ExportCreate", "plan", "maxLength", PLAN_MAX),
    ("ImportSource", "plan", "maxLength", PLAN_MAX),
    ("UploadRequest", "plan", "maxLength", PLAN_MAX),
    ("ImportSource", "webhook_url", "maxLength", MAX_URL_LENGTH),
    ("UploadRequest", "webhook_url", "maxLength", MAX_URL_LENGTH),
    ("UploadRequest", "filename", "minLength", 1),
    ("UploadRequest", "filename", "maxLength", 200),
    ("PatientFilterRequest", "page", "minimum", 1),
    ("PatientFilterRequest", "page", WINDOW_KEY, MAX_WINDOW),
    ("PatientFilterRequest", "per_page", "minimum", 1),
    ("PatientFilterRequest", "per_page", "maximum", MAX_PER_PAGE),
    ("CorrectionsRequest", "corrections", "maxItems", MAX_CORRECTIONS),
    ("CellCorrection", "value", "maxLength", MAX_CORRECTION_VALUE),
    ("CellCorrection", "column", "minLength", 1),
    ("CellCorrection", "column", "maxLength", 200),
    ("CellCorrection", "row", "minimum", 1),
    ("CellCorrection", "row", "maximum", MAX_CORRECTION_ROW),
    ("ProviderUpdate", "version", "minimum", 0),
    ("RotateTokenRequest", "expires_in_days", "minimum", EXPIRY_DAYS[0]),
    ("RotateTokenRequest", "expires_in_days", "maximum", EXPIRY_DAYS[1]),
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _keyword(document: dict[str, Any], schema: str, field: str, keyword: str) -> Any:
    """``keyword`` of a body field: on the field, or on its non-null branch (``X | None``)."""
    found = document["components"]["schemas"][schema]["properties"][field]
    for branch in [found, *found.get("anyOf", [])]:
        if keyword in branch:
            return branch[keyword]
    return None


def _declared(document: dict[str, Any], schema: str, field: str, keyword: str) -> Any:
    found = _keyword(document, schema, field, keyword)
    assert found is not None, f"{schema}.{field} declares no {keyword}"
    return found


@pytest.mark.parametrize(("schema", "field", "keyword", "number"), LIMITS)
def test_each_body_limit_is_declared_with_the_number_enforced(
    document: dict[str, Any], schema: str, field: str, keyword: str, number: int
) -> None:
    assert _declared(document, schema, field, keyword) == number


def test_plan_codes_are_declared_by_the_pattern_that_checks_them(
    document: dict[str, Any],
) -> None:
    for schema in ("ExportCreate", "ImportSource", "UploadRequest"):
        assert _declared(document, schema, "plan", "pattern") == f"^{PLAN_PATTERN.pattern}$"


def _parameters(document: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, parameter["schema"])
        for path, item in document["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == name and parameter["in"] == "query"
    ]


def test_query_pages_declare_their_bounds_and_the_window(document: dict[str, Any]) -> None:
    per_page = _parameters(document, "per_page")
    assert len(per_page) == 6
    assert all(schema["maximum"] == MAX_PER_PAGE for _, schema in per_page)
    windowed = {path for path, schema in _parameters(document, "page") if WINDOW_KEY in schema}
    assert windowed == {
        f"{BASE}/patients",
        f"{BASE}/patients/{{patient_id}}/audit",
        f"{BASE}/patients/{{patient_id}}/activities",
    }
    for _, schema in _parameters(document, "page"):
        assert schema.get(WINDOW_KEY, MAX_WINDOW) == MAX_WINDOW


def test_path_ids_declare_the_one_spelling_of_an_id(document: dict[str, Any]) -> None:
    ids = [
        (path, parameter["schema"])
        for path, item in document["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert len(ids) == 20
    for path, schema in ids:
        if path.endswith("/plans/{code}"):  # a plan's code, in either case
            assert schema["pattern"] == f"^{PLAN_PATTERN.pattern}$"
        else:
            assert schema["pattern"] == "^[1-9][0-9]{0,17}$", path


def _objects(document: dict[str, Any], schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object schema a request body is made of, following references."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "object":
        yield schema
    for child in [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]:
        yield from _objects(document, child)


def test_every_request_body_refuses_unknown_fields(document: dict[str, Any]) -> None:
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(bodies) == 20
    objects = [o for body in bodies for o in _objects(document, body)]
    assert len(objects) > len(bodies)
    # A record refuses what it does not name; a map (a plan's headers, a layout's code
    # tables) is keyed by the caller's own names, and says what each value must be.
    records = [o for o in objects if "properties" in o]
    maps = [o for o in objects if "properties" not in o]
    assert all(o["additionalProperties"] is False for o in records), records
    assert {o["title"] for o in maps} == {"Mif Columns", "Codes"}
    assert all(isinstance(o["additionalProperties"], dict) for o in maps), maps


# --- just over a declared maximum, through the resolver ---------------------------------


def _request(function: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"path": path, "stage": "local", "authorizer": ADMIN},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
    response = api_resolver(function).resolve(event, None)  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"])


ACTIVITY = {"type": "other", "occurred_at": "2026-01-05T10:00:00Z"}
#: (function, method, path, body for a value, its field as a message names it, schema, field);
#: a value the validation takes meets a record that is not there (404).
FIELDS = [
    (
        "PatientsApiFunction",
        "PUT",
        f"{BASE}/patients/1",
        lambda v: {"patient": {"last_name": v}},
        "patient.last_name",
        "PatientUpdate",
        "last_name",
    ),
    (
        "ActivitiesApiFunction",
        "POST",
        f"{BASE}/patients/1/activities",
        lambda v: {"activity": {**ACTIVITY, "note": v}},
        "activity.note",
        "ActivityCreate",
        "note",
    ),
    (
        "CaseloadApiFunction",
        "PUT",
        f"{BASE}/care_managers/1",
        lambda v: {"care_manager": {"name": v}},
        "care_manager.name",
        "CareManagerUpdate",
        "name",
    ),
    (
        "CaseloadApiFunction",
        "PUT",
        f"{BASE}/care_managers/1",
        lambda v: {"care_manager": {"email": v}},
        "care_manager.email",
        "CareManagerUpdate",
        "email",
    ),
    (
        "CaseloadApiFunction",
        "PUT",
        f"{BASE}/providers/1",
        lambda v: {"provider": {"name": v}},
        "provider.name",
        "ProviderUpdate",
        "name",
    ),
    (
        "MifsApiFunction",
        "POST",
        f"{BASE}/mifs/1/corrections",
        lambda v: {"corrections": [{"row": 2, "column": "DOB", "value": v}]},
        "corrections.0.value",
        "CellCorrection",
        "value",
    ),
    (
        "AuthorizationsApiFunction",
        "POST",
        f"{BASE}/authorizations/1/corrections",
        lambda v: {"corrections": [{"row": 2, "column": v, "value": ""}]},
        "corrections.0.column",
        "CellCorrection",
        "column",
    ),
]


@pytest.mark.parametrize(
    ("function", "method", "path", "body", "name", "schema", "field"),
    FIELDS,
    ids=[name for *_, name, _, _ in FIELDS],
)
def test_a_string_over_its_declared_length_is_refused_and_one_at_it_taken(
    tables: None,
    document: dict[str, Any],
    function: str,
    method: str,
    path: str,
    body: Any,
    name: str,
    schema: str,
    field: str,
) -> None:
    most = _declared(document, schema, field, "maxLength")
    over = _request(function, method, path, body("x" * (most + 1)))
    assert over == (422, {"errors": [f"{name} is longer than {most} characters"]})
    status, taken = _request(function, method, path, body("x" * most))
    assert (status, taken["errors"][0].endswith("not found")) == (404, True), taken
    if _keyword(document, schema, field, "minLength") == 1:
        blank = _request(function, method, path, body("   "))
        assert blank == (422, {"errors": [f"{name} can't be blank"]})


def test_per_page_over_its_declared_maximum_is_refused(
    tables: None, document: dict[str, Any]
) -> None:
    most = int(_declared(document, "PatientFilterRequest", "per_page", "maximum"))
    path = f"{BASE}/patients/filter"
    over = _request("PatientsApiFunction", "POST", path, {"per_page": most + 1})
    assert over == (422, {"errors": [f"per_page must be between 1 and {most}"]})
    status, page = _request("PatientsApiFunction", "POST", path, {"per_page": most})
    assert (status, page["pagination"]["per_page"]) == (200, most)


def test_a_page_past_the_declared_window_is_refused(tables: None, document: dict[str, Any]) -> None:
    window = _declared(document, "PatientFilterRequest", "page", WINDOW_KEY)
    path = f"{BASE}/patients/filter"
    over = _request("PatientsApiFunction", "POST", path, {"page": window // 50 + 1, "per_page": 50})
    assert over[0] == 422
    assert over[1]["errors"][0].startswith(f"page × per_page may reach at most {window:,} items")
    status, page = _request(
        "PatientsApiFunction", "POST", path, {"page": window // 50, "per_page": 50}
    )
    assert (status, page["pagination"]["current_page"]) == (200, window // 50)


def test_corrections_over_their_declared_number_are_refused(
    tables: None, document: dict[str, Any]
) -> None:
    most = _declared(document, "CorrectionsRequest", "corrections", "maxItems")
    path = f"{BASE}/mifs/1/corrections"
    cell = {"row": 2, "column": "DOB", "value": "01-02-1980"}
    over = _request("MifsApiFunction", "POST", path, {"corrections": [cell] * (most + 1)})
    assert over == (422, {"errors": [f"corrections has more than {most:,} items"]})
    status, taken = _request("MifsApiFunction", "POST", path, {"corrections": [cell] * most})
    assert (status, taken) == (404, {"errors": ["MIF file not found"]})


def test_corrected_text_over_its_bound_in_all_is_refused(tables: None) -> None:
    path = f"{BASE}/mifs/1/corrections"
    value = "x" * MAX_CORRECTION_VALUE
    count = MAX_CORRECTED_TEXT // MAX_CORRECTION_VALUE
    cells = [{"row": 2 + i, "column": "DOB", "value": value} for i in range(count)]
    status, taken = _request("MifsApiFunction", "POST", path, {"corrections": cells})
    assert (status, taken) == (404, {"errors": ["MIF file not found"]})
    cells.append({"row": 2, "column": "CIN", "value": "x"})
    over = _request("MifsApiFunction", "POST", path, {"corrections": cells})
    assert over == (
        422,
        {"errors": [f"corrections values hold more than {MAX_CORRECTED_TEXT:,} characters in all"]},
    )


def test_a_plan_longer_than_declared_is_refused(document: dict[str, Any]) -> None:
    most = _declared(document, "ExportCreate", "plan", "maxLength")
    body = {"export": {"kind": "rtf", "plan": "p" * (most + 1), "period": "2026-01"}}
    status, refused = _request("ExportsApiFunction", "POST", f"{BASE}/exports", body)
    assert status == 422
    assert refused["errors"] == [
        f"export.plan must be 1-{most} letters, digits, '-' or '_', starting with a letter or digit"
    ]
