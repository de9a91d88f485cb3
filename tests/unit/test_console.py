"""The console's files as the public function answers them: only shipped files, a strict
content security policy, a <base href> that follows the stage prefix, and value lists that
are the API's own."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ecm import console
from ecm.api.public import public_resolver
from ecm.console.choices import choices_json
from ecm.kinds.mif.fields import MIF_FIELDS
from ecm.kinds.values import ACUITY_LEVELS
from ecm.patients.activities import ACTIVITY_METHODS
from ecm.patients.choices import DISCONTINUATION_REASONS


def _event(path: str, resource: str, full_path: str | None = None) -> dict[str, Any]:
    name = path.rsplit("/", 1)[1] if resource.endswith("{name}") else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"name": name} if name else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "GET",
            "path": full_path or path,
            "stage": "Prod",
            "requestId": "test",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _get(path: str, full_path: str | None = None) -> dict[str, Any]:
    resource = "/console" if path.rstrip("/") == "/console" else "/console/{name}"
    answer: dict[str, Any] = public_resolver().resolve(_event(path, resource, full_path), None)
    multi = answer.get("multiValueHeaders") or {}
    answer["headers"] = {**answer.get("headers", {}), **{k: v[-1] for k, v in multi.items()}}
    return answer


def test_the_page_sets_its_base_to_where_the_console_is_mounted() -> None:
    local = _get("/console")
    assert local["statusCode"] == 200
    assert local["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert '<base href="/console/">' in local["body"]
    staged = _get("/console", full_path="/Prod/console")
    assert '<base href="/Prod/console/">' in staged["body"]
    assert "{{BASE}}" not in staged["body"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("choices.json", "application/json"),
    ],
)
def test_shipped_files_are_served_with_their_type_and_a_strict_policy(
    name: str, content_type: str
) -> None:
    answer = _get(f"/console/{name}")
    assert answer["statusCode"] == 200
    headers = answer["headers"]
    assert headers["Content-Type"] == content_type
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("name", ["nope.js", "..%2Fapi%2Fpublic.py", "__init__.py", "static"])
def test_anything_not_shipped_is_404_in_the_error_body(name: str) -> None:
    answer = _get(f"/console/{name}")
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"errors": ["Not found"]}


def test_the_value_lists_are_the_apis_constants() -> None:
    choices = json.loads(choices_json())
    assert choices["acuity_level"] == list(ACUITY_LEVELS)
    assert choices["activity_method"] == list(ACTIVITY_METHODS)
    assert "continuing_member" in choices["member_record_status"]
    assert choices["discontinuation_reason"] == DISCONTINUATION_REASONS
    assert (choices["export_kind"], choices["export_format"]) == (["rtf", "otf"], ["csv", "xlsx"])
    assert choices["mif_field"] == list(MIF_FIELDS.fields)


def test_uploads_may_go_to_s3_and_the_local_endpoint_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/ignored/path")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    policy = console.security_headers()["Content-Security-Policy"]
    connect = re.search(r"connect-src ([^;]+)", policy)
    assert connect is not None
    assert connect.group(1).split() == [
        "'self'",
        "https://*.amazonaws.com",
        "http://127.0.0.1:4566",
    ]


def test_every_script_is_a_module_without_inline_code_or_html_parsing() -> None:
    names = console.asset_names()
    assert {"index.html", "app.js", "api.js", "dom.js", "importer.js", "console.css"} <= names
    page = console.index_html("/console/")
    assert re.findall(r"<script[^>]*>", page) == ['<script type="module" src="app.js">']
    assert "http://" not in page and "https://" not in page  # nothing from the internet
    for name in sorted(n for n in names if n.endswith(".js")):
        found = console.asset(name)
        assert found is not None
        script = found[1]
        # Values from the API are set as text, never parsed as markup.
        assert not re.search(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write", script), (
            name
        )
        assert not re.search(r"\beval\(|new Function\(", script), name
        for imported in re.findall(r'from "\./([^"]+)"', script):
            assert imported in names, f"{name} imports {imported}, which is not shipped"
