"""The local stack runs every function in one process on many threads: a request must be
routed and answered with its own event even while another is being resolved (Powertools
keeps the event on a class; ecm.api.resolver.Resolver keeps it per thread)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from ecm.api.resolver import Resolver


def _event(path: str) -> dict[str, Any]:
    return {
        "resource": "/things/{name}",
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"name": path.rsplit("/", 1)[1]},
        "requestContext": {"path": path, "stage": "local", "resourcePath": "/things/{name}"},
        "body": None,
        "isBase64Encoded": False,
    }


def _answers_at_once(resolver_class: type[APIGatewayRestResolver]) -> dict[str, Any]:
    both_inside = threading.Barrier(2)

    def build() -> APIGatewayRestResolver:
        app = resolver_class()

        @app.get("/things/<name>")
        def thing(name: str) -> dict[str, str]:
            both_inside.wait(timeout=5)  # the other request has begun meanwhile
            return {"name": name, "path": app.current_event.path}

        return app

    answers: dict[str, Any] = {}

    def call(app: APIGatewayRestResolver, name: str) -> None:
        response = app.resolve(_event(f"/things/{name}"), None)  # type: ignore[arg-type]
        answers[name] = json.loads(response["body"])

    threads = [threading.Thread(target=call, args=(build(), n)) for n in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def test_two_requests_at_once_each_see_their_own_event() -> None:
    assert _answers_at_once(Resolver) == {
        "x": {"name": "x", "path": "/things/x"},
        "y": {"name": "y", "path": "/things/y"},
    }


def test_powertools_alone_mixes_them_up() -> None:
    """Why Resolver exists: with the stock resolver one of the two reads the other's event
    (if Powertools ever keeps it per instance, this fails and Resolver can go)."""
    answers = _answers_at_once(APIGatewayRestResolver)
    if answers.get("x", {}).get("path") == "/things/x" and answers.get("y", {}).get("path") == (
        "/things/y"
    ):
        pytest.fail("Powertools now keeps the event per resolver: Resolver is not needed")
