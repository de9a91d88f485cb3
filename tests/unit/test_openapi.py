"""The OpenAPI document: generated from the routes' models, committed, valid, and covering
exactly the routes of template.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from devstack.template import LocalTemplate, load_template
from ecm.api.openapi import openapi_document, openapi_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _template_routes() -> set[tuple[str, str]]:
    functions = LocalTemplate(load_template(), {}, 4566).functions().values()
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for function in functions
        for method, path, _auth in function.routes
    }


def test_the_committed_document_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_json(), "docs/openapi.json is stale: run `make openapi`"


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_document_has_every_route_of_the_template_and_no_other(
    document: dict[str, Any],
) -> None:
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in document["paths"].items()
        for method in item
    }
    # Served, not documented: the document itself, its docs page and the console's files.
    served_only = {
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/docs"),
        ("GET", "/console"),
        ("GET", "/console/{}"),
    }
    assert documented == _template_routes() - served_only
    assert len(documented) == 38


def test_every_error_is_the_errors_body(document: dict[str, Any]) -> None:
    assert document["components"]["schemas"]["ErrorBody"] == {
        "additionalProperties": False,
        "description": 'Every error the API answers: ``{"errors": ["...", ...]}``.',
        "properties": {"errors": {"items": {"type": "string"}, "title": "Errors", "type": "array"}},
        "required": ["errors"],
        "title": "ErrorBody",
        "type": "object",
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)


def test_admin_routes_need_the_token_and_public_ones_do_not(document: dict[str, Any]) -> None:
    assert document["security"] == [{"UserToken": []}]
    assert document["components"]["securitySchemes"]["UserToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-User-Token",
    }
    for path, item in document["paths"].items():
        for operation in item.values():
            if path.startswith("/v1/admin/"):
                assert "security" not in operation
                assert {"401", "403", "422", "500"} <= set(operation["responses"])
            else:
                assert operation["security"] == []


def test_bodies_keep_the_documented_field_names(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["MifImportRequest"]["required"]) == {"mif"}
    assert {"file", "url", "path", "file_type"} <= set(schemas["ImportSource"]["properties"])
    assert {"message", "imported_count", "mif_file_id"} <= set(schemas["MifImported"]["required"])
    seed_file = {
        "id", "filename", "file_type", "source_type", "records_imported", "import_errors",
        "status", "created_at", "updated_at", "file_url",
    }  # fmt: skip
    assert seed_file <= set(schemas["FileSummary"]["required"])
    assert {"mif_files", "pagination"} == set(schemas["MifFiles"]["required"])
    assert "eligibility_informations" in schemas["MifFileDetail"]["required"]
    assert "authorizations" in schemas["AuthorizationFileDetail"]["required"]
    assert set(schemas["Pagination"]["required"]) == {
        "current_page", "total_pages", "total_count", "per_page",
    }  # fmt: skip
    page = next(
        p
        for p in document["paths"]["/v1/admin/clinic/ecm/mifs"]["get"]["parameters"]
        if p["name"] == "per_page"
    )
    assert page["schema"]["type"] == "integer" and page["schema"]["maximum"] == 100


def test_the_document_is_json_of_sorted_keys() -> None:
    text = openapi_json()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_document_declares_the_limits_the_api_enforces(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # Request bodies refuse unknown fields (extra="forbid").
    assert schemas["UploadRequest"]["additionalProperties"] is False
    assert schemas["UploadRequest"]["properties"]["filename"]["maxLength"] == 200
    # The inline file states the real inline limit.
    assert "4.4 MB" in json.dumps(schemas)
    # The page window on every windowed page parameter.
    patients = document["paths"]["/v1/admin/clinic/ecm/patients"]["get"]["parameters"]
    [page] = [p for p in patients if p["name"] == "page"]
    assert "page × per_page may reach at most 10,000 items" in page["schema"]["description"]
