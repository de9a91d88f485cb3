"""GET /v1/health, /v1/openapi.json and /v1/docs: answered without a token."""

from typing import Any

from ecm.api.public import public_resolver

app = public_resolver()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
