"""The DynamoDB JSON-protocol sender (ecm.dynamodb_http) against a scripted loopback server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import orjson
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fixtures_builders import self_signed_certificate
from moto import mock_aws

from ecm import dynamodb_http
from ecm.store import is_conditional_failure


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None = None
    close: bool = False  # "Connection: close", as werkzeug (moto's server) always sends
    drop: bool = False  # hang up without answering


@dataclass
class Script:
    answers: list[Answer] = field(default_factory=list)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    connections: set[tuple[str, int]] = field(default_factory=set)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.script.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.script.connections.add(self.client_address)
        answer = self.script.answers.pop(0) if self.script.answers else Answer(200, {})
        if answer.drop:
            self.close_connection = True
            return
        payload = orjson.dumps(answer.body or {})
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", f"req-{len(self.script.seen)}")
        if answer.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


def _client(port: int) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )


@pytest.fixture
def server() -> Iterator[tuple[Script, Any]]:
    script = Script()
    handler = type("Handler", (_Handler,), {"script": script})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = _client(httpd.server_address[1])
    try:
        yield script, client
    finally:
        dynamodb_http.drop_connection()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    attempts: list[int] = []
    monkeypatch.setattr(dynamodb_http, "_backoff", attempts.append)
    return attempts


BODY = {"RequestItems": {"t": [{"PutRequest": {"Item": {"k": {"S": "a"}, "n": {"N": "1"}}}}]}}


def test_sends_the_body_signed_with_the_target_and_returns_the_parsed_answer(server) -> None:
    script, client = server
    script.answers.append(Answer(200, {"UnprocessedItems": {}, "ConsumedCapacity": []}))

    answer = dynamodb_http.call(client, "BatchWriteItem", BODY)

    assert answer == {"UnprocessedItems": {}, "ConsumedCapacity": []}
    headers, body = script.seen[0]
    assert orjson.loads(body) == BODY
    assert headers["x-amz-target"] == "DynamoDB_20120810.BatchWriteItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    auth = headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/dynamodb/aws4_request" in auth
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target" in auth


def test_keeps_one_connection_and_reopens_it_when_the_server_closes_it(server) -> None:
    script, client = server
    script.answers += [Answer(200, {}), Answer(200, {}), Answer(200, {}, close=True)]
    script.answers += [Answer(200, {"Responses": {}})]
    for _ in range(4):
        dynamodb_http.call(client, "BatchWriteItem", BODY)
    assert len(script.seen) == 4
    assert len(script.connections) == 2  # three on the first, then a new one after close


def test_throttling_and_server_errors_are_retried_with_backoff(server, no_backoff_sleep) -> None:
    script, client = server
    throttled = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}
    script.answers += [Answer(400, throttled), Answer(500, {}), Answer(200, {"Responses": {}})]

    assert dynamodb_http.call(client, "BatchGetItem", {"RequestItems": {}}) == {"Responses": {}}
    assert len(script.seen) == 3
    assert no_backoff_sleep == [1, 2]


def test_a_dropped_connection_is_retried_on_a_new_one(server) -> None:
    script, client = server
    script.answers += [Answer(200, {}, drop=True), Answer(200, {"UnprocessedItems": {}})]
    assert dynamodb_http.call(client, "BatchWriteItem", BODY) == {"UnprocessedItems": {}}
    assert len(script.seen) == 2


def test_a_conditional_failure_raises_the_modeled_exception_at_once(server) -> None:
    script, client = server
    script.answers.append(
        Answer(
            400,
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "message": "The conditional request failed",
            },
        )
    )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as raised:
        dynamodb_http.call(client, "PutItem", {"TableName": "t", "Item": {}})
    error = raised.value.response
    assert error["Error"] == {
        "Code": "ConditionalCheckFailedException",
        "Message": "The conditional request failed",
    }
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RequestId"] == "req-1"
    assert is_conditional_failure(raised.value)
    assert len(script.seen) == 1  # not retried


def test_a_client_error_is_not_retried(server, no_backoff_sleep) -> None:
    script, client = server
    script.answers.append(Answer(400, {"__type": "x#ValidationException", "Message": "bad key"}))
    with pytest.raises(ClientError) as raised:
        dynamodb_http.call(client, "BatchGetItem", {"RequestItems": {}})
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": "bad key"}
    assert len(script.seen) == 1
    assert no_backoff_sleep == []


def test_gives_up_after_max_attempts(server, no_backoff_sleep) -> None:
    script, client = server
    script.answers += [Answer(503, {"__type": "x#ServiceUnavailable"})] * 10
    with pytest.raises(ClientError) as raised:
        dynamodb_http.call(client, "BatchWriteItem", BODY)
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert len(script.seen) == dynamodb_http.MAX_ATTEMPTS
    assert no_backoff_sleep == list(range(1, dynamodb_http.MAX_ATTEMPTS))


def test_an_unreachable_endpoint_raises_endpoint_connection_error(no_backoff_sleep) -> None:
    import socket

    with socket.socket() as unused:  # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = _client(port)
    with pytest.raises(EndpointConnectionError):
        dynamodb_http.call(client, "BatchGetItem", {"RequestItems": {}})
    assert len(no_backoff_sleep) == dynamodb_http.MAX_ATTEMPTS - 1


def test_botocore_hooks_see_the_call(server) -> None:
    script, client = server
    script.answers.append(Answer(200, {"Responses": {"t": [{"k": {"S": "a"}}]}}))
    seen: list[tuple[str, Any]] = []
    client.meta.events.register(
        "before-parameter-build.dynamodb",
        lambda params, model, **_: seen.append((model.name, params)),
    )
    client.meta.events.register(
        "after-call.dynamodb", lambda parsed, model, **_: seen.append((model.name, parsed))
    )
    body = {"RequestItems": {"t": {"Keys": [{"k": {"S": "a"}}]}}}
    dynamodb_http.call(client, "BatchGetItem", body)
    assert seen == [
        ("BatchGetItem", body),
        ("BatchGetItem", {"Responses": {"t": [{"k": {"S": "a"}}]}}),
    ]


def test_moto_mock_answers_through_the_before_send_hook() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb_http.call(client, "BatchWriteItem", BODY)
        answer = dynamodb_http.call(
            client, "BatchGetItem", {"RequestItems": {"t": {"Keys": [{"k": {"S": "a"}}]}}}
        )
        assert answer["Responses"]["t"] == [{"k": {"S": "a"}, "n": {"N": "1"}}]
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            dynamodb_http.call(
                client,
                "PutItem",
                {
                    "TableName": "t",
                    "Item": {"k": {"S": "a"}},
                    "ConditionExpression": "attribute_not_exists(k)",
                },
            )


@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
def test_signs_exactly_as_botocore_sigv4(monkeypatch: pytest.MonkeyPatch, token) -> None:
    import datetime as dt

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    now = dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.UTC)
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    payload = orjson.dumps(BODY)
    ours = dynamodb_http.sigv4_headers(
        credentials, "eu-west-2", "dynamodb.eu-west-2.amazonaws.com", "BatchWriteItem", payload, now
    )

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url="https://dynamodb.eu-west-2.amazonaws.com/",
        data=payload,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
        },
    )
    botocore.auth.SigV4Auth(credentials, "dynamodb", "eu-west-2").add_auth(request)

    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"] == "20261123T010203Z"
    assert ours.get("x-amz-security-token") == request.headers.get("X-Amz-Security-Token")


# --- response framing, against a server that writes raw bytes -------------------------------


class RawServer:
    """Answers each request with the next scripted bytes, in pieces of ``piece`` bytes (to
    split headers and bodies across reads), on one connection unless ``hang_up`` (or the
    reply says "connection: close")."""

    def __init__(
        self, replies: list[bytes], piece: int = 1 << 16, tls: Any = None, hang_up: bool = False
    ):
        import socket

        self.replies, self.piece, self.tls, self.hang_up = replies, piece, tls, hang_up
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            while self.replies:
                conn, _ = self.listener.accept()
                self.connections += 1
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                with conn:
                    self._answer(conn)
        except OSError:  # the test closed the listener, or the client hung up mid-reply
            return

    def _answer(self, conn: Any) -> None:
        while self.replies:
            request = self._read_request(conn)
            if request is None:
                return
            self.requests.append(request)
            reply = self.replies.pop(0)
            for start in range(0, len(reply), self.piece):
                conn.sendall(reply[start : start + self.piece])
            if self.hang_up or b"connection: close" in reply.lower():
                return

    @staticmethod
    def _read_request(conn: Any) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += conn.recv(65536)
        return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.listener.close()


def _reply(head: str, body: bytes) -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


def _call_raw(server: RawServer, scheme: str = "http") -> Any:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"{scheme}://localhost:{server.port}"
        if scheme == "https"
        else f"http://127.0.0.1:{server.port}",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    try:
        return dynamodb_http.call(client, "BatchGetItem", {"RequestItems": {}})
    finally:
        dynamodb_http.drop_connection()
        server.close()


ANSWER = b'{"Responses": {"t": [{"k": {"S": "a\\r\\n\\r\\nb"}}]}}'


@pytest.mark.parametrize("piece", [1, 7, 1 << 16])
def test_reads_a_content_length_body_however_the_bytes_arrive(piece: int) -> None:
    reply = _reply(
        f"HTTP/1.1 200 OK\nContent-Type: x\nx-amzn-RequestId: r1\nContent-Length: {len(ANSWER)}\n",
        ANSWER,
    )
    server = RawServer([reply], piece=piece)
    assert _call_raw(server) == orjson.loads(ANSWER)
    assert server.requests[0].startswith(b"POST / HTTP/1.1\r\n")


def test_reads_a_chunked_body_with_extensions_and_trailers() -> None:
    first, second = ANSWER[:10], ANSWER[10:]
    body = (
        f"{len(first):x};ext=1\r\n".encode()
        + first
        + f"\r\n{len(second):X}\r\n".encode()
        + second
        + b"\r\n0\r\nx-trailer: 1\r\n\r\n"
    )
    server = RawServer([_reply("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", body)], piece=5)
    assert _call_raw(server) == orjson.loads(ANSWER)


def test_skips_an_interim_answer_and_reads_a_body_that_ends_with_the_connection() -> None:
    reply = b"HTTP/1.1 100 Continue\r\n\r\n" + _reply("HTTP/1.0 200 OK\nContent-Type: x\n", ANSWER)
    server = RawServer([reply], piece=3)
    assert _call_raw(server) == orjson.loads(ANSWER)


def test_keeps_the_connection_across_answers_split_mid_header() -> None:
    reply = _reply(f"HTTP/1.1 200 OK\nContent-Length: {len(ANSWER)}\n", ANSWER)
    server = RawServer([reply, reply, reply], piece=11)
    client = _client(server.port)
    try:
        for _ in range(3):
            assert dynamodb_http.call(client, "BatchGetItem", {}) == orjson.loads(ANSWER)
    finally:
        dynamodb_http.drop_connection()
        server.close()
    assert len(server.requests) == 3
    assert server.connections == 1


@pytest.mark.parametrize(
    "bad",
    [
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",  # then hangs up short
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n{}",  # keep-alive without a length
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
def test_a_malformed_answer_is_a_connection_error_retried_then_given_up(
    bad: bytes, no_backoff_sleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamodb_http, "CONNECT_AND_READ_TIMEOUT", 5.0)  # a bug fails fast
    server = RawServer([bad] * dynamodb_http.MAX_ATTEMPTS, hang_up=True)
    with pytest.raises(EndpointConnectionError):
        _call_raw(server)
    assert len(no_backoff_sleep) == dynamodb_http.MAX_ATTEMPTS - 1


def test_speaks_tls_to_an_https_endpoint(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert_file, key_file = self_signed_certificate(tmp_path, "localhost")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert_file))
    dynamodb_http._tls_context.cache_clear()
    reply = _reply(f"HTTP/1.1 200 OK\nContent-Length: {len(ANSWER)}\n", ANSWER)
    try:
        server = RawServer([reply], tls=server_side)
        assert _call_raw(server, "https") == orjson.loads(ANSWER)
        assert orjson.loads(server.requests[0].partition(b"\r\n\r\n")[2]) == {"RequestItems": {}}
    finally:
        dynamodb_http._tls_context.cache_clear()


def test_tries_each_resolved_address_once_and_then_connects_to_the_one_that_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    with socket.socket() as unused:  # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        refused = unused.getsockname()
    reply = _reply(f"HTTP/1.1 200 OK\nContent-Length: {len(ANSWER)}\nConnection: close\n", ANSWER)
    server = RawServer([reply, reply])
    lookups: list[str] = []

    def resolve(host: str, port: int, **_: Any) -> list[Any]:
        lookups.append(host)
        stream = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
        return [(*stream, refused), (*stream, ("127.0.0.1", port))]

    monkeypatch.setattr(dynamodb_http.socket, "getaddrinfo", resolve)
    client = _client(server.port)
    try:
        for _ in range(2):  # the server closes after each answer: two connections
            assert dynamodb_http.call(client, "BatchGetItem", {}) == orjson.loads(ANSWER)
    finally:
        dynamodb_http.drop_connection()
        server.close()
    assert lookups == ["127.0.0.1"]
    assert server.connections == 2
