"""API Gateway REQUEST authorizer: X-User-Token → user and role (or 401)."""

from typing import Any

from ecm.api.auth import authorize_request


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize_request(event)
