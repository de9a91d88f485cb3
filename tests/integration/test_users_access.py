"""Who may enter, on the local stack: the users' routes, and how long a revoked token still
passes. The gateway caches the authorizer's answer per token as API Gateway does; this
stack's cache lasts ``TTL`` seconds (ECM_AUTHORIZER_TTL_SECONDS), so a rotated-out, a
disabled and an expired token pass until then, and are refused after it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from stack_fixture import STAFF_TOKEN, RunningStack, start_stack, stop_stack

TTL = 8
USERS = "/v1/admin/clinic/ecm/users"
#: Any admin route: a care manager's token reaches it (403) only through the authorizer.
PROBE = "/v1/admin/clinic/ecm/providers"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp("users"), {"ECM_AUTHORIZER_TTL_SECONDS": str(TTL)}
    )
    yield running
    stop_stack(running)


def _call(stack: RunningStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", stack.headers())
    return requests.request(method, f"{stack.api}{path}", timeout=60, **kwargs)


def _care_manager(stack: RunningStack, name: str) -> tuple[int, str]:
    created = _call(
        stack,
        "POST",
        "/v1/admin/clinic/ecm/care_managers",
        json={"care_manager": {"name": name, "role": "olcm"}},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return int(body["care_manager"]["id"]), body["token"]


def _passes(stack: RunningStack, token: str) -> bool:
    """Did the gateway let the token through? (A care manager is then refused by the
    route, 403; the gateway refuses an unknown token with 401.)"""
    status = _call(stack, "GET", PROBE, headers=stack.headers(token)).status_code
    assert status in (401, 403), status
    return status == 403


def test_the_listing_shows_users_without_tokens(stack: RunningStack) -> None:
    user_id, token = _care_manager(stack, "Lia Listed")
    listed = _call(stack, "GET", USERS)
    assert listed.status_code == 200, listed.text
    text = listed.text
    assert token not in text
    assert hashlib.sha256(token.encode()).hexdigest() not in text
    assert "token_hash" not in text
    (mine,) = [u for u in listed.json()["users"] if u["id"] == user_id]
    assert mine["role"] == "olcm"
    assert mine["disabled"] is False
    assert mine["token_expires_at"] is None
    staff = _call(stack, "GET", USERS, headers=stack.headers(STAFF_TOKEN))
    assert (staff.status_code, staff.json()) == (403, {"errors": ["Admin access required"]})


def test_errors_of_the_users_routes(stack: RunningStack) -> None:
    admins = [u for u in _call(stack, "GET", USERS).json()["users"] if u["role"] == "admin"]
    own = _call(stack, "POST", f"{USERS}/{admins[0]['id']}/disable", json={})
    assert (own.status_code, own.json()) == (409, {"errors": ["You cannot disable your own user"]})
    for path in (f"{USERS}/999999/disable", f"{USERS}/abc/enable"):
        missing = _call(stack, "POST", path, json={})
        assert (missing.status_code, missing.json()) == (404, {"errors": ["User not found"]})
    user_id, _ = _care_manager(stack, "Eva Errors")
    for days in (0, 3651, "7"):
        invalid = _call(stack, "POST", f"{USERS}/{user_id}/token", json={"expires_in_days": days})
        assert invalid.status_code == 422, invalid.text
        assert invalid.json()["errors"][0].startswith("expires_in_days"), invalid.text


def test_revoked_tokens_pass_until_the_cache_expires_then_are_refused(
    stack: RunningStack,
) -> None:
    rotated_id, rotated = _care_manager(stack, "Rita Rotated")
    disabled_id, disabled = _care_manager(stack, "Dan Disabled")
    expired_id, expired = _care_manager(stack, "Ed Expired")
    primed = time.monotonic()
    assert all(_passes(stack, token) for token in (rotated, disabled, expired))  # now cached

    rotation = _call(stack, "POST", f"{USERS}/{rotated_id}/token", json={"expires_in_days": 30})
    assert rotation.status_code == 201, rotation.text
    new_token = rotation.json()["token"]
    assert rotation.json()["user"]["token_expires_at"]
    assert _passes(stack, new_token)  # the new token at once
    off = _call(stack, "POST", f"{USERS}/{disabled_id}/disable", json={})
    assert (off.status_code, off.json()["user"]["disabled"]) == (200, True)
    stack.client("dynamodb").update_item(
        TableName="UsersTable",
        Key={"token_hash": {"S": hashlib.sha256(expired.encode()).hexdigest()}},
        UpdateExpression="SET token_expires_at = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    revoked = (rotated, disabled, expired)
    still = [_passes(stack, token) for token in revoked]
    if time.monotonic() - primed < TTL:  # else this machine was too slow to see the cache
        assert still == [True, True, True]

    # Refused once the cached answers expire: not before the TTL, and soon after it.
    deadline = primed + TTL + 60
    refused: dict[str, float] = {}
    while len(refused) < len(revoked) and time.monotonic() < deadline:
        for token in revoked:
            if token not in refused and not _passes(stack, token):
                refused[token] = time.monotonic()
        time.sleep(0.25)
    assert len(refused) == len(revoked), "a revoked token still passes long after the TTL"
    assert min(refused.values()) >= primed + TTL
    assert _passes(stack, new_token)

    # Enabled again: let in at once (a refusal is not cached).
    on = _call(stack, "POST", f"{USERS}/{disabled_id}/enable", json={})
    assert (on.status_code, on.json()["user"]["disabled"]) == (200, False)
    assert _passes(stack, disabled)
    listed = {u["id"]: u for u in _call(stack, "GET", USERS).json()["users"]}
    assert listed[rotated_id]["token_rotated_at"]
    assert listed[expired_id]["token_expires_at"] == "2020-01-01T00:00:00.000Z"


def test_the_cli_rotates_a_token(stack: RunningStack) -> None:
    user_id, old = _care_manager(stack, "Cleo Cli")
    out = stack.run_cli("rotate-token", "--id", str(user_id))
    new = out.strip().splitlines()[-1]
    assert new != old
    assert _passes(stack, new)
    assert str(user_id) in stack.run_cli("list-users")
