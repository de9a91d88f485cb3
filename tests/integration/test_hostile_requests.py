"""Requests no client should send, against the local stack (docs/api/index.md):
each gets a 4xx with {"errors": [...]} as JSON, never a 500, and the stack stays up."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from stack_fixture import STAFF_TOKEN, RunningStack

from devstack.template import LocalTemplate, load_template

BASE = "/v1/admin/clinic/ecm"


def _routes(*methods: str) -> list[tuple[str, str]]:
    functions = LocalTemplate(load_template(), {}, 4566).functions().values()
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for function in functions
        for method, path, auth in function.routes
        if auth and method in methods
    )


def _send(stack: RunningStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, stack.api + path, headers=stack.headers(), timeout=60, **kwargs)


def _errors(response: requests.Response) -> list[str]:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"errors"} and all(isinstance(e, str) for e in body["errors"])
    return list(body["errors"])


WRITES = _routes("POST", "PUT")


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_that_is_not_utf8_is_a_422(stack: RunningStack, method: str, path: str) -> None:
    response = _send(stack, method, path, data=b'{"a": "\xff\xfe"}')
    assert response.status_code == 422
    assert _errors(response) == ["Request body is not valid UTF-8 JSON"]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_json_nested_10000_deep_is_a_422(stack: RunningStack, method: str, path: str) -> None:
    response = _send(stack, method, path, data="[" * 10_000 + "]" * 10_000)
    assert response.status_code == 422
    assert _errors(response) == ["Request body is nested too deeply"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", f"{BASE}/mifs/uploads", "POST"),
        ("GET", f"{BASE}/authorizations/uploads", "POST"),
        ("PUT", f"{BASE}/patients/filter", "POST"),
        ("DELETE", f"{BASE}/mifs", "GET, POST"),
    ],
)
def test_a_method_the_resource_lacks_is_a_405_saying_which_it_has(
    stack: RunningStack, method: str, path: str, allowed: str
) -> None:
    response = _send(stack, method, path, data="{}")
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert _errors(response) == [f"Method {method} not allowed"]


@pytest.mark.parametrize("page", ["٣", "01", "1_000", "+1", " 2", "true", "0", "-1", "1.0"])
@pytest.mark.parametrize("path", [f"{BASE}/mifs", f"{BASE}/authorizations", f"{BASE}/patients"])
def test_page_numbers_are_parsed_strictly(stack: RunningStack, path: str, page: str) -> None:
    response = _send(stack, "GET", path, params={"page": page})
    assert response.status_code == 422
    assert _errors(response) == ["page must be a positive integer"]


@pytest.mark.parametrize("raw", ["01", "1%20", "1.0", "+1", "١"])
def test_ids_spelled_another_way_name_no_record(stack: RunningStack, raw: str) -> None:
    for path, message in (
        (f"{BASE}/patients/{raw}", "Patient not found"),
        (f"{BASE}/mifs/{raw}", "MIF file not found"),
    ):
        response = _send(stack, "GET", path)
        assert (response.status_code, _errors(response)) == (404, [message]), path


@pytest.mark.parametrize("raw", ["%0A", "1%0A", "%0D%0A", "1%09", "1%00"])
def test_an_id_holding_a_control_character_is_a_404_whatever_the_query(
    stack: RunningStack, raw: str
) -> None:
    for method, path, message in (
        ("GET", f"{BASE}/mifs/{raw}?records_per_page=7", "MIF file not found"),
        ("GET", f"{BASE}/authorizations/{raw}?page=1", "Authorization file not found"),
        ("GET", f"{BASE}/patients/{raw}/audit?search=a", "Patient not found"),
        ("PUT", f"{BASE}/care_managers/{raw}?x=1", "Care manager not found"),
        ("POST", f"{BASE}/users/{raw}/disable", "User not found"),
    ):
        response = _send(stack, method, path, json={})
        assert (response.status_code, _errors(response)) == (404, [message]), path


def test_an_unknown_path_is_a_json_404(stack: RunningStack) -> None:
    response = _send(stack, "GET", f"{BASE}/nothing-here")
    assert (response.status_code, _errors(response)) == (404, ["Not found"])
    deeper = _send(stack, "GET", f"{BASE}/mifs/1/nothing?records_per_page=7")
    assert (deeper.status_code, _errors(deeper)) == (404, ["Not found"])


def test_every_json_answer_says_application_json(stack: RunningStack) -> None:
    response = _send(stack, "GET", f"{BASE}/patients")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "text/csv"],
)
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_not_sent_as_json_is_a_415(
    stack: RunningStack, method: str, path: str, content_type: str
) -> None:
    headers = {**stack.headers(), "Content-Type": content_type}
    response = requests.request(
        method, stack.api + path, headers=headers, data=b'{"mif": {}}', timeout=60
    )
    assert response.status_code == 415
    assert _errors(response) == ["Content-Type must be application/json"]


def test_staff_learn_nothing_from_a_bad_request(stack: RunningStack) -> None:
    staff = {**stack.headers(STAFF_TOKEN), "Content-Type": "text/plain"}
    for response in (
        requests.post(f"{stack.api}{BASE}/mifs", headers=staff, data="x", timeout=60),
        requests.get(f"{stack.api}{BASE}/patients?per-page=3", headers=staff, timeout=60),
        requests.get(f"{stack.api}{BASE}/patients?page=01", headers=staff, timeout=60),
    ):
        assert (response.status_code, _errors(response)) == (403, ["Admin access required"])


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        (f"{BASE}/patients", "per-page=100", "Unknown query parameter 'per-page'"),
        (f"{BASE}/mifs", "page=1&records_page=2", "Unknown query parameter 'records_page'"),
        (f"{BASE}/patients/1/audit", "search=a", "Unknown query parameter 'search'"),
    ],
)
def test_a_query_parameter_the_route_does_not_have_is_a_422(
    stack: RunningStack, path: str, query: str, message: str
) -> None:
    response = _send(stack, "GET", f"{path}?{query}")
    assert (response.status_code, _errors(response)) == (422, [message])


@pytest.mark.parametrize(
    "path", [f"{BASE}/patients", f"{BASE}/patients/1/audit", f"{BASE}/patients/1/activities"]
)
def test_a_page_too_deep_to_read_cheaply_is_a_422(stack: RunningStack, path: str) -> None:
    response = _send(stack, "GET", path, params={"page": "101", "per_page": "100"})
    assert response.status_code == 422
    assert _errors(response) == [
        "page × per_page may reach at most 10,000 items; "
        "narrow the list with search or filters instead"
    ]
    deep = _send(stack, "POST", f"{BASE}/patients/filter", json={"page": 401, "per_page": 25})
    assert deep.status_code == 422
    assert _errors(deep)[0].startswith("page × per_page may reach at most 10,000")
    assert _send(stack, "GET", path, params={"page": "100", "per_page": "100"}).status_code in (
        200,
        404,
    )


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (f"{BASE}/mifs/uploads", {"filename": "a.csv", "dry_run": 0}, "dry_run"),
        (f"{BASE}/patients/filter", {"filters": {"provider_id": False}}, "filters.provider_id"),
        (f"{BASE}/patients/filter", {"page": "1"}, "page"),
        (f"{BASE}/mifs", {"mif": {"file": 12}}, "mif.file"),
    ],
)
def test_a_value_of_another_json_type_than_documented_is_refused(
    stack: RunningStack, path: str, body: dict[str, Any], message: str
) -> None:
    response = _send(stack, "POST", path, json=body)
    assert response.status_code == 422
    assert [e.split(" ", 1)[0] for e in _errors(response)] == [message]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_key_given_twice_is_a_422(stack: RunningStack, method: str, path: str) -> None:
    response = _send(stack, method, path, data='{"a": 1, "a": 2}')
    assert response.status_code == 422
    assert _errors(response) == ["Request body has the key 'a' more than once"]
    nested = _send(stack, method, path, data='{"patient": {"first_name": "A", "first_name": "B"}}')
    assert _errors(nested) == ["Request body has the key 'first_name' more than once"]


LONG = "x" * 10_000
EMOJI = "🩺😀👩🏽‍⚕️" * 3
NUL = "Ana\x00Lopez"
#: Bodies no form sends, for every write route: the longest strings, emoji, NUL bytes.
ODD_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    (method, path, body)
    for value in (LONG, EMOJI, NUL)
    for method, path, body in [
        ("POST", f"{BASE}/mifs", {"mif": {"file": value, "file_type": "csv"}}),
        ("POST", f"{BASE}/mifs", {"mif": {"path": value}}),
        ("POST", f"{BASE}/mifs", {"mif": {"url": value}}),
        ("POST", f"{BASE}/mifs", {"mif": {"file": "eA==", "plan": value}}),
        ("POST", f"{BASE}/mifs/uploads", {"filename": value}),
        ("POST", f"{BASE}/authorizations", {"authorization": {"path": value}}),
        ("PUT", f"{BASE}/patients/1", {"patient": {"first_name": value}}),
        ("PUT", f"{BASE}/patients/1", {"patient": {"date_of_birth": value}}),
        ("POST", f"{BASE}/patients/filter", {"search": value}),
        ("POST", f"{BASE}/patients/filter", {"sort_by": value, "filters": {"status": value}}),
        ("PUT", f"{BASE}/patients/1/case_load", {"case_load": {"provider_id": None}}),
        (
            "POST",
            f"{BASE}/patients/1/activities",
            {"activity": {"type": "outreach", "occurred_at": value, "note": value}},
        ),
        (
            "POST",
            f"{BASE}/patients/1/activities",
            {
                "activity": {
                    "type": "other",
                    "occurred_at": "2026-11-01T10:00:00Z",
                    "outcome": value,
                    "note": value,
                }
            },
        ),
        ("POST", f"{BASE}/providers", {"provider": {"name": value, "npi": value}}),
        ("POST", f"{BASE}/care_managers", {"care_manager": {"name": value, "role": "olcm"}}),
        (
            "POST",
            f"{BASE}/care_managers",
            {"care_manager": {"name": "Rosa", "role": "olcm", "email": value, "phone": value}},
        ),
        ("PUT", f"{BASE}/care_managers/1", {"care_manager": {"name": value}}),
        ("POST", f"{BASE}/exports", {"export": {"kind": "rtf", "plan": value, "period": value}}),
    ]
]


@pytest.mark.parametrize(("method", "path", "body"), ODD_BODIES)
def test_long_strings_emoji_and_nul_bytes_never_break_a_route(
    stack: RunningStack, method: str, path: str, body: dict[str, Any]
) -> None:
    response = _send(stack, method, path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        errors = _errors(response)
        assert errors and all(len(e) < 2_000 for e in errors)  # no echo of 10,000 characters


def test_no_traceback_reached_the_log(stack: RunningStack) -> None:
    assert "Traceback" not in stack.log_text()


def test_the_stack_answers_health_after_all_that(stack: RunningStack) -> None:
    assert requests.get(f"{stack.api}/v1/health", timeout=30).json() == {"status": "ok"}
