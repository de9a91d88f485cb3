"""DynamoDB's JSON protocol over one kept-alive ``http.client`` connection per thread.

Imports write hundreds of thousands of items, 25 per BatchWriteItem. Measured on a 2-core
machine against a loopback endpoint, a BatchWriteItem whose JSON body is already built
costs 2.0-2.3 ms of our CPU through a botocore client (event hooks, user agent, endpoint
rules, urllib3) and 0.8-0.9 ms here: signing, sending and reading one JSON answer. That
difference is about 200 µs per imported row (``benchmarks/``).

What is kept from botocore: the client's endpoint, region and credentials, its modeled
exceptions (``ClientError`` subclasses with the usual ``response["Error"]``), and its hooks:
``before-send`` first (so moto's ``mock_aws`` and botocore stubs answer these calls as they
answer any other), ``before-parameter-build`` and ``after-call`` for observers. What is
not: proxies (Lambda has none), X-Ray's botocore patch, and ``SigV4Auth`` (``sigv4_headers``
signs the same way for a third of the cost). Retries follow botocore's standard mode:
throttling, 5xx and connection errors, up to ``MAX_ATTEMPTS`` with jittered backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import random
import ssl
import threading
import time
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from botocore.awsrequest import AWSPreparedRequest, HTTPHeaders
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


@lru_cache(maxsize=8)
def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, "dynamodb", "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def sigv4_headers(
    credentials: Any, region: str, host: str, operation: str, payload: bytes, now: datetime
) -> dict[str, str]:
    """The request's headers, signed with Signature Version 4 exactly as botocore's
    ``SigV4Auth`` signs them (``tests/unit/test_dynamodb_http.py`` compares the two), at a
    third of its cost: the signing key is derived once a day, and there is only one shape
    of request to canonicalise (POST /, no query, these headers)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    signed = {
        "content-type": _CONTENT_TYPE,
        "host": host,
        "x-amz-date": stamp,
        **({"x-amz-security-token": credentials.token} if credentials.token else {}),
        "x-amz-target": _TARGET + operation,
    }
    names = ";".join(signed)  # already in sorted order
    canonical = "POST\n/\n\n{}\n{}\n{}".format(
        "".join(f"{name}:{value}\n" for name, value in signed.items()),
        names,
        hashlib.sha256(payload).hexdigest(),
    )
    scope = f"{stamp[:8]}/{region}/dynamodb/aws4_request"
    to_sign = (
        f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    key = _signing_key(credentials.secret_key, stamp[:8], region)
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    return {
        **signed,
        "user-agent": _USER_AGENT,
        "authorization": f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}",
    }


def _signed(client: Any, operation: str, payload: bytes) -> AWSPreparedRequest:
    endpoint = client.meta.endpoint_url
    credentials = client._request_signer._credentials  # the client's own credential chain
    headers = sigv4_headers(
        credentials.get_frozen_credentials(),
        client.meta.region_name,
        urlsplit(endpoint).netloc,
        operation,
        payload,
        datetime.now(UTC),
    )
    return AWSPreparedRequest(
        "POST", endpoint + "/", HTTPHeaders.from_dict(headers), payload, False
    )


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
