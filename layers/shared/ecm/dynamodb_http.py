"""DynamoDB's JSON protocol over one kept-alive HTTP/1.1 connection per thread.

Imports write hundreds of thousands of items, 25 per BatchWriteItem. Measured on a 2-core
machine against a loopback endpoint, a BatchWriteItem whose JSON body is already built
costs 2.0-2.3 ms of our CPU through a botocore client (event hooks, user agent, endpoint
rules, urllib3) and 0.2-0.35 ms here (0.2 kept alive, 0.3 when the endpoint closes each
connection): signing, sending and reading one JSON answer (``HttpConnection``).

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
import socket
import ssl
import threading
import time
from collections.abc import Iterable
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
_RECEIVE_BYTES = 65536
MAX_HEAD_BYTES = 65536
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


class HttpConnection:
    """One kept-alive HTTP/1.1 connection (TLS for https), for one request at a time.

    ``http.client`` spends about as much CPU reading a response's headers (through the
    ``email`` parser) as the whole rest of a BatchWriteItem; an import makes thousands of
    these calls. This reads exactly what DynamoDB answers: a status line, headers, and a
    body framed by Content-Length, chunked encoding, or the connection's end.
    """

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self.endpoint = endpoint
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        self.sock: socket.socket | None = None
        self.buffer = b""
        #: Where to connect, resolved once: an endpoint that closes every connection (moto's
        #: server) would otherwise cost a lookup per request. An error drops this object.
        self.addresses: list[Any] = []

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _open(self) -> socket.socket:
        if not self.addresses:
            self.addresses = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        failure: OSError | None = None
        for position, (family, kind, protocol, _, address) in enumerate(self.addresses):
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(CONNECT_AND_READ_TIMEOUT)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(address)
            except OSError as exc:  # the next address, as socket.create_connection does
                sock.close()
                failure = exc
                continue
            if position:  # the one that answered first next time
                self.addresses.insert(0, self.addresses.pop(position))
            break
        else:
            raise failure or OSError(f"no address for {self.host}")
        if self.tls:
            sock = _tls_context().wrap_socket(sock, server_hostname=self.host)
        return sock

    def _receive(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(_RECEIVE_BYTES)
        if not data:
            raise ConnectionResetError("the endpoint closed the connection")
        return data

    def request(self, headers: Iterable[tuple[str, str]], body: bytes) -> tuple[int, Item, bytes]:
        """POST / with ``headers`` and ``body``: (status, lowercase headers, body)."""
        if self.sock is None:
            self.sock = self._open()
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
        head = f"POST / HTTP/1.1\r\n{lines}content-length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        while True:
            status, answer_headers, keep_alive = self._read_head()
            if not 100 <= status < 200:  # skip interim answers (100 Continue)
                break
        content = self._read_body(answer_headers, keep_alive)
        if not keep_alive:
            self.close()
        return status, answer_headers, content

    def _read_head(self) -> tuple[int, Item, bool]:
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise http.client.HTTPException("response headers too long")
            buffer += self._receive()
        self.buffer = buffer[end + 4 :]
        status_line, *lines = buffer[:end].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise http.client.BadStatusLine(status_line)
        headers: Item = {}
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise http.client.HTTPException("malformed response header")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        return int(code), headers, keep_alive

    def _read_body(self, headers: Item, keep_alive: bool) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = headers.get("content-length")
        data = bytearray(self.buffer)
        if length is None:  # the body ends with the connection
            if keep_alive:
                raise http.client.HTTPException("response without a length")
            assert self.sock is not None
            while chunk := self.sock.recv(_RECEIVE_BYTES):
                data += chunk
            self.buffer = b""
            return bytes(data)
        size = _number(length, 10)
        while len(data) < size:
            data += self._receive()
        self.buffer = bytes(data[size:])
        return bytes(data[:size])

    def _read_chunked(self) -> bytes:
        body = bytearray()
        buffer = self.buffer
        while True:
            while (end := buffer.find(b"\r\n")) < 0:
                buffer += self._receive()
            size = _number(buffer[:end].split(b";", 1)[0].decode("latin-1"), 16)
            buffer = buffer[end + 2 :]
            if size == 0:  # trailers, if any, end with an empty line
                while not buffer.startswith(b"\r\n") and (end := buffer.find(b"\r\n\r\n")) < 0:
                    buffer += self._receive()
                buffer = buffer[2:] if buffer.startswith(b"\r\n") else buffer[end + 4 :]
                self.buffer = buffer
                return bytes(body)
            while len(buffer) < size + 2:
                buffer += self._receive()
            body += buffer[:size]
            buffer = buffer[size + 2 :]


def _number(text: str, base: int) -> int:
    """A length from a response's framing; a malformed one is a protocol error."""
    try:
        value = int(text.strip(), base)
    except ValueError:
        raise http.client.HTTPException("malformed response length") from None
    if value < 0:
        raise http.client.HTTPException("malformed response length")
    return value


class _Connections(threading.local):
    """This thread's connection."""

    connection: HttpConnection | None = None


_connections = _Connections()


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))


def _connection(endpoint: str) -> HttpConnection:
    current = _connections.connection
    if current is None or current.endpoint != endpoint:
        drop_connection()
        current = _connections.connection = HttpConnection(endpoint)
    return current


def drop_connection() -> None:
    """Close this thread's connection (after an error, or when the endpoint changes)."""
    if _connections.connection is not None:
        _connections.connection.close()
    _connections.connection = None


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
    status, headers, body = connection.request(request.headers.items(), request.body)
    return status, body, headers.get("x-amzn-requestid", "")


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
