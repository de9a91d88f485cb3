"""Size limits answered where AWS answers them: Lambda's 6 MB invoke payload counts the whole
proxy event (the JSON body as a string, with the request around it), API Gateway's 10 MB
counts the body, and a regional API's URL is at most 10,240 characters."""

from __future__ import annotations

import json

import requests
from stack_fixture import MIF_URL, RunningStack

LAMBDA_MAX_PAYLOAD = 6 * 1024 * 1024
UPLOAD_ROUTE = "POST /v1/admin/clinic/ecm/mifs/uploads"


def _inline_body(size: int) -> bytes:
    """A MIF import body of exactly ``size`` bytes whose file is valid base64 (of zeros)."""
    frame = json.dumps({"mif": {"file": ""}})
    count = (size - len(frame)) // 4 * 4
    body = json.dumps({"mif": {"file": "A" * count}}).encode()
    return body + b" " * (size - len(body))


def _post(stack: RunningStack, body: bytes) -> requests.Response:
    return requests.post(f"{stack.api}{MIF_URL}", data=body, headers=stack.headers(), timeout=120)


def test_a_body_just_under_the_lambda_limit_reaches_the_handler(stack: RunningStack) -> None:
    response = _post(stack, _inline_body(LAMBDA_MAX_PAYLOAD - 16 * 1024))
    # The file (4.6 MB of zero bytes) is read and refused by the import, not by the gateway.
    assert response.status_code == 422, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["errors"]


def test_a_body_under_6_mb_whose_event_is_over_it_is_the_gateway_413(stack: RunningStack) -> None:
    # The body alone fits; the event around it (headers, request context) does not.
    response = _post(stack, _inline_body(LAMBDA_MAX_PAYLOAD - 64))
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    [message] = response.json()["errors"]
    assert message.startswith("Request body is over the inline limit (a file of about 4.4 MB")
    assert UPLOAD_ROUTE in message


def test_a_body_over_10_mb_is_api_gateways_plain_413(stack: RunningStack) -> None:
    response = _post(stack, _inline_body(10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "HTTP content length exceeded 10485760 bytes."


def test_a_url_over_api_gateways_limit_is_a_json_414(stack: RunningStack) -> None:
    for length in (10_300, 100_000):  # the second is past the local server's own line limit
        response = requests.get(
            f"{stack.api}/v1/admin/clinic/ecm/patients?search={'a' * length}",
            headers=stack.headers(),
            timeout=60,
        )
        assert response.status_code == 414, length
        assert response.headers["Content-Type"].startswith("application/json")
        [message] = response.json()["errors"]
        assert "10,240 characters" in message


def test_a_url_just_under_the_limit_is_served(stack: RunningStack) -> None:
    path = "/v1/admin/clinic/ecm/patients?search="
    response = requests.get(
        f"{stack.api}{path}{'a' * (10_240 - len(path))}", headers=stack.headers(), timeout=60
    )
    assert response.status_code in (200, 422), response.text[:300]
    assert "errors" not in response.json() or "10,240" not in response.text
