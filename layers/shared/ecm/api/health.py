"""GET /v1/health, the one route without a token that the OpenAPI document describes.

It lives apart from the public resolver because that resolver also serves the document:
the document is built from this route, and the resolver serves what the document builds.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler.api_gateway import Router

from ecm.api.schemas import ResponseBody

HEALTH = "/v1/health"


class Health(ResponseBody):
    status: Literal["ok"]


def health_router() -> Router:
    router = Router()

    @router.get(HEALTH, summary="Is the API up", tags=["Health"])
    def health() -> Health:
        return Health(status="ok")

    return router
