"""DynamoDB's JSON protocol over one kept-alive ``http.client`` connection per thread.

Imports write hundreds of thousands of items, 25 per BatchWriteItem. Measured on a 2-core
machine against a loopback endpoint, a BatchWriteItem whose JSON body is already built
costs 2.0-2.3 ms of our CPU through a botocore client (event hooks, user agent, endpoint
rules, urllib3) and 0.8-0.9 ms here: signing, sending and reading one JSON answer. That
difference is about 200 µs per imported row (``benchmarks/``).

What is kept from botocore: the client's endpoint, region and credentials, SigV4 signing
(``SigV4Auth``), its modeled exceptions (``ClientError`` subclasses with the usual
``response["Error"]``), and its event hooks: ``before-send`` first (so moto's ``mock_aws``
and botocore stubs answer these calls as they answer any other), ``before-parameter-build``
and ``after-call`` for observers. What is not: proxies (Lambda has none) and X-Ray's botocore
patch. Retries follow botocore's standard mode: throttling, 5xx and connection errors, up to
``MAX_ATTEMPTS`` with jittered exponential backoff.
"""

from __future__ import annotations

import http.client
import os
import random
import ssl
import threading
import time
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import EndpointConnectionError
from botocore.httpsession import get_cert_path

Item = dict[str, Any]

MAX_ATTEMPTS = 6
CONNECT_AND_READ_TIMEOUT = 60.0
_TARGET = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
_USER_AGENT = "ecm-imports"
#: Error codes worth another attempt (botocore's standard retry mode, DynamoDB's share).
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class _Connections(threading.local):
    """This thread's connection and the endpoint it was opened for."""

    endpoint: str = ""
    connection: http.client.HTTPConnection | None = None


_connections = _Connections()


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))


def _connection(endpoint: str) -> http.client.HTTPConnection:
    if _connections.connection is None or _connections.endpoint != endpoint:
        drop_connection()
        parts = urlsplit(endpoint)
        host, port = parts.hostname or "", parts.port
        made: http.client.HTTPConnection
        if parts.scheme == "https":
            made = http.client.HTTPSConnection(
                host, port, timeout=CONNECT_AND_READ_TIMEOUT, context=_tls_context()
            )
        else:
            made = http.client.HTTPConnection(host, port, timeout=CONNECT_AND_READ_TIMEOUT)
        _connections.connection, _connections.endpoint = made, endpoint
    return _connections.connection


def drop_connection() -> None:
    """Close this thread's connection (after an error, or when the endpoint changes)."""
    if _connections.connection is not None:
        _connections.connection.close()
    _connections.connection, _connections.endpoint = None, ""


def _backoff(attempt: int) -> None:
    """Full jitter, 50 ms doubling per attempt, at most 20 s (botocore's standard mode)."""
    time.sleep(random.uniform(0, min(20.0, 0.05 * 2 ** (attempt - 1))))  # noqa: S311 (jitter)


def _signed(client: Any, operation: str, payload: bytes) -> Any:
    endpoint = client.meta.endpoint_url
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=payload,
        headers={
            "Host": urlsplit(endpoint).netloc,
            "Content-Type": _CONTENT_TYPE,
            "X-Amz-Target": _TARGET + operation,
            "User-Agent": _USER_AGENT,
        },
    )
    credentials = client._request_signer._credentials  # the client's own credential chain
    SigV4Auth(credentials.get_frozen_credentials(), "dynamodb", client.meta.region_name).add_auth(
        request
    )
    return request.prepare()


def _exchange(client: Any, operation: str, request: Any) -> tuple[int, bytes, str]:
    """(status, body, request id): a ``before-send`` hook's answer, else the endpoint's."""
    _, stubbed = client.meta.events.emit_until_response(
        f"before-send.dynamodb.{operation}", request=request
    )
    if stubbed is not None:
        return stubbed.status_code, stubbed.content, stubbed.headers.get("x-amzn-requestid", "")
    connection = _connection(client.meta.endpoint_url)
    connection.request("POST", "/", body=request.body, headers=dict(request.headers.items()))
    answer = connection.getresponse()
    body = answer.read()
    return answer.status, body, answer.getheader("x-amzn-requestid") or ""


def _error(body: bytes) -> tuple[str, str]:
    try:
        parsed = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    code = str(parsed.get("__type") or "").rpartition("#")[2]
    return code, str(parsed.get("message") or parsed.get("Message") or "")


def call(client: Any, operation: str, body: Item) -> Item:
    """One DynamoDB ``operation`` (``"BatchWriteItem"``, ...) with ``body`` as its whole JSON
    request, in DynamoDB's attribute-value form; returns the parsed answer.

    Errors raise the client's modeled exception (``ClientError``) or, when the endpoint cannot
    be reached after every attempt, ``EndpointConnectionError``.
    """
    model = client.meta.service_model.operation_model(operation)
    client.meta.events.emit(
        f"before-parameter-build.dynamodb.{operation}", params=body, model=model
    )
    return call_serialized(client, operation, orjson.dumps(body))


def call_serialized(client: Any, operation: str, payload: bytes) -> Item:
    """``call`` with the request body already serialised (the plan stage's write batches)."""
    model = client.meta.service_model.operation_model(operation)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        request = _signed(client, operation, payload)
        try:
            status, answer, request_id = _exchange(client, operation, request)
        except (OSError, http.client.HTTPException) as exc:
            drop_connection()
            if attempt == MAX_ATTEMPTS:
                raise EndpointConnectionError(endpoint_url=client.meta.endpoint_url) from exc
            _backoff(attempt)
            continue
        if status == 200:
            parsed: Item = orjson.loads(answer)
            client.meta.events.emit(
                f"after-call.dynamodb.{operation}",
                http_response=None,
                parsed=parsed,
                model=model,
                context={},
            )
            return parsed
        code, message = _error(answer)
        if attempt < MAX_ATTEMPTS and (status >= 500 or code in RETRYABLE_CODES):
            _backoff(attempt)
            continue
        error: Item = {
            "Error": {"Code": code or str(status), "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
        }
        raise client.exceptions.from_code(error["Error"]["Code"])(error, operation)
    raise AssertionError("unreachable")  # the loop returns or raises
