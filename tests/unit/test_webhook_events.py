"""Import webhooks: Standard Webhooks signing (the spec's test vector), request-time URL checks,
a payload without PHI, delivery through the SSRF guard, backoff, and the sender handler.

AWS is moto in-process. Name resolution is replaced and every socket connect must go to
loopback, so nothing here can reach the network; private addresses are tested by fake DNS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import urllib3.util.connection
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import base as parameters_base
from moto import mock_aws
from standardwebhooks import Webhook

from devstack.lambdas import LambdaContext, load_handler
from devstack.template import LocalTemplate, load_template
from ecm.errors import ApiError
from ecm.models.access import reset_clients
from ecm.settings import get_settings
from ecm.webhooks import (
    WebhookDeliveryError,
    backoff_seconds,
    deliver,
    event_payload,
    handle_webhook_message,
    publish_import_event,
    sign,
    signed_headers,
    validate_webhook_url,
    webhook_id,
)

SECRET = "c2VjcmV0LWZvci11bml0LXRlc3RzLW9mLXdlYmhvb2tzISE="  # base64, like a generated one
_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect


# --- sandbox: fake DNS, loopback-only connects, moto ---------------------------------------------


@dataclass
class FakeNet:
    hosts: dict[str, list[str]] = field(default_factory=dict)
    connects: list[Any] = field(default_factory=list)


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    fake = FakeNet()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in fake.hosts:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port)))
                for ip in fake.hosts[name]
            ]
        try:
            ipaddress.ip_address(name)
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "no real DNS in unit tests") from None
        return _REAL_GETADDRINFO(host, port, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        fake.connects.append(address)
        assert ipaddress.ip_address(address[0]).is_loopback, f"connect to {address!r}"
        _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return fake


@dataclass
class Aws:
    queue_url: str
    monkeypatch: pytest.MonkeyPatch

    def setenv(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    def messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        received = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Settings only (no AWS): set ECM_URL_ALLOWLIST."""

    def set_allowlist(value: str) -> None:
        monkeypatch.setenv("ECM_URL_ALLOWLIST", value)
        get_settings.cache_clear()

    set_allowlist("")
    yield set_allowlist
    get_settings.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, fake_aws: None) -> Iterator[Aws]:
    for name, value in {
        "FILES_BUCKET": "unit-bucket",
        "WEBHOOK_SECRET_ID": "WebhookSigningSecret",
        "ECM_WEBHOOK_BACKOFF_SECONDS": "1",
        "ECM_URL_ALLOWLIST": "",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ECM_DEFAULT_WEBHOOK_URL", raising=False)
    parameters.clear_caches()
    parameters_base.DEFAULT_PROVIDERS.clear()
    reset_clients()
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="unit-bucket")
        queue_url = boto3.client("sqs").create_queue(QueueName="WebhookQueue")["QueueUrl"]
        boto3.client("secretsmanager").create_secret(
            Name="WebhookSigningSecret", SecretString=SECRET
        )
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue_url)
        get_settings.cache_clear()
        yield Aws(queue_url, monkeypatch)
    parameters.clear_caches()
    parameters_base.DEFAULT_PROVIDERS.clear()
    get_settings.cache_clear()
    reset_clients()


# --- a local receiver ---------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[int], tuple[int, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.answer = answer
        self.received: list[Received] = []

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(
            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        status, headers = self.server.answer(len(self.server.received))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[Receiver] = []

    def start(
        answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (204, {}),
    ) -> Receiver:
        server = Receiver(answer)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- signing ------------------------------------------------------------------------------------

# The Standard Webhooks specification's example (its reference libraries test the same values).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_test_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    # the stored secret may lack the prefix
    assert sign(SPEC_SECRET.removeprefix("whsec_"), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == (
        SPEC_SIGNATURE
    )
    # and it is the HMAC-SHA256 of "{id}.{timestamp}.{body}" with the base64-decoded secret
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    content = f"{SPEC_ID}.{SPEC_TIMESTAMP}.{SPEC_BODY}".encode()
    digest = hmac.new(key, content, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == SPEC_SIGNATURE


def test_signed_headers_pass_the_reference_verifier() -> None:
    body = '{"type":"import.completed","data":{"id":1}}'
    headers = signed_headers(SECRET, "evt_abc", body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert Webhook("whsec_" + SECRET).verify(body, headers) == json.loads(body)
    tampered = body.replace('"id":1', '"id":2')
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + SECRET).verify(tampered, headers)


# --- request-time URL check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/ecm",
        "https://hooks.example.com:8443/ecm?token=abc",
        "  https://hooks.example.com/ecm  ",
        "https://8.8.8.8/hook",
    ],
)
def test_valid_webhook_urls(url: str, allow: Callable[[str], None]) -> None:
    assert validate_webhook_url(url, field="mif.webhook_url") == url.strip()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "must not be empty"),
        ("hooks.example.com/ecm", "must be an https:// URL"),
        ("ftp://hooks.example.com/ecm", "must be an https:// URL"),
        ("http://hooks.example.com/ecm", "must be an https:// URL"),
        ("https://user:pw@hooks.example.com/ecm", "user name or password"),
        ("https:///ecm", "must name a host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://10.0.0.7/hook", "private or reserved"),
        ("https://127.0.0.1:8443/hook", "private or reserved"),
        ("https://[::1]/hook", "private or reserved"),
        ("https://hooks.example.com/" + "a" * 2048, "at most 2048"),
    ],
)
def test_invalid_webhook_urls_are_422_naming_the_field(
    url: str, reason: str, allow: Callable[[str], None]
) -> None:
    with pytest.raises(ApiError) as caught:
        validate_webhook_url(url, field="mif.webhook_url")
    assert caught.value.status == 422
    (message,) = caught.value.messages
    assert message.startswith("mif.webhook_url: ")
    assert reason in message


def test_allowlisted_host_may_use_http_and_a_private_address(
    allow: Callable[[str], None],
) -> None:
    allow("127.0.0.1:8080")
    assert validate_webhook_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    with pytest.raises(ApiError):
        validate_webhook_url("http://127.0.0.1:8081/hook")


# --- publishing ---------------------------------------------------------------------------------

PHI = {
    "member_id": "700123456A",
    "first": "Evangelina",
    "last": "Quintanilla",
    "dob": "03-14-1961",
}


def _record(**extra: Any) -> dict[str, Any]:
    """An import-file record as the engine holds it, with PHI where records may carry it."""
    return {
        "kind": "mif",
        "id": 7,
        "original_name": f"{PHI['last']}_{PHI['first']}.csv",
        "filename": "mif_20241124_120530.csv",
        "source_type": "base64",
        "status": "completed",
        "stage": "finalized",
        "file_type": "csv",
        "records_imported": 3,
        "created_count": 2,
        "updated_count": 1,
        "rows_total": 4,
        "rows_processed": 4,
        "records_failed": 1,
        "mode": "valid_rows",
        "dry_run": False,
        "import_errors": f"Row 3: Member ID '{PHI['member_id']}' is duplicated",
        "errors": [f"Row 3: Member ID '{PHI['member_id']}' is duplicated"],
        "warnings": [f"Row 2: {PHI['first']} {PHI['last']} born {PHI['dob']}"],
        "s3_key": f"files/mif/7/{PHI['last']}_{PHI['first']}.csv",
        "result_file_key": "results/mif/7/result.csv",
        "errors_file_key": "results/mif/7/errors.csv",
        "webhook_url": "https://hooks.example.com/ecm",
        "created_at": "2024-11-24T12:05:30.000Z",
        "updated_at": "2024-11-24T12:05:31.000Z",
        **extra,
    }


def test_publish_queues_one_signed_ready_event_without_phi(aws: Aws) -> None:
    publish_import_event("mif", _record(), "import.completed")
    (message,) = aws.messages()
    assert message["webhook_id"] == webhook_id("mif", _record(), "import.completed")
    assert message["webhook_id"] != webhook_id("mif", _record(), "import.processing")
    assert message["webhook_id"].startswith("evt_")
    assert message["url"] == "https://hooks.example.com/ecm"
    assert message["type"] == "import.completed"
    payload = json.loads(message["body"])
    assert payload["type"] == "import.completed"
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    assert set(data) == {
        "id",
        "kind",
        "status",
        "stage",
        "dry_run",
        "mode",
        "rows_total",
        "rows_processed",
        "created_count",
        "updated_count",
        "records_failed",
        "would_create",
        "would_update",
        "result_file_url",
        "errors_file_url",
        "detail_path",
    }
    assert {k: data[k] for k in ("id", "kind", "status", "created_count", "updated_count")} == {
        "id": 7,
        "kind": "mif",
        "status": "completed",
        "created_count": 2,
        "updated_count": 1,
    }
    assert (data["rows_total"], data["records_failed"], data["mode"]) == (4, 1, "valid_rows")
    assert data["detail_path"] == "/v1/admin/clinic/ecm/mifs/7"
    for name, key in (("result_file_url", "result.csv"), ("errors_file_url", "errors.csv")):
        link = urlsplit(data[name])
        assert link.path == f"/unit-bucket/results/mif/7/{key}"
        assert parse_qs(link.query)["X-Amz-Expires"] == ["1800"]
    text = message["body"].lower()
    for value in PHI.values():
        assert value.lower() not in text
    assert "duplicated" not in text and "row 3" not in text


def test_payload_of_a_failed_file_without_results_has_no_links_and_no_errors(aws: Aws) -> None:
    record = _record(status="failed", stage="rolled_back", result_file_key=None)
    del record["errors_file_key"]
    data = event_payload("authorization", record, "import.failed")["data"]
    assert data["result_file_url"] is None and data["errors_file_url"] is None
    assert data["detail_path"] == "/v1/admin/clinic/ecm/authorizations/7"
    assert "errors" not in data and "import_errors" not in data


def test_no_url_means_no_event_and_the_stack_default_applies(aws: Aws) -> None:
    publish_import_event("mif", _record(webhook_url=None), "import.processing")
    assert aws.messages() == []
    aws.setenv("ECM_DEFAULT_WEBHOOK_URL", "https://default.example.com/hooks")
    publish_import_event("mif", _record(webhook_url=None), "import.processing")
    (message,) = aws.messages()
    assert message["url"] == "https://default.example.com/hooks"


def test_publish_never_raises_and_logs_only_the_error_type(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    aws.setenv("WEBHOOK_QUEUE_URL", aws.queue_url + "-missing")
    with caplog.at_level("INFO"):
        publish_import_event("mif", _record(), "import.failed")
        publish_import_event("mif", _record(webhook_url="http://10.0.0.1/x"), "import.failed")
    failures = [r for r in caplog.records if r.getMessage() == "webhook not queued"]
    assert [getattr(r, "error_type", None) for r in failures] == ["QueueDoesNotExist", "ApiError"]
    text = json.dumps([{**r.__dict__, "args": None} for r in caplog.records], default=str)
    assert "hooks.example.com" not in text and "10.0.0.1" not in text
    assert PHI["member_id"] not in text


# --- delivery -----------------------------------------------------------------------------------


def _message(url: str, body: str = '{"type":"import.completed","data":{"id":7}}') -> dict[str, Any]:
    return {"webhook_id": "evt_0123", "type": "import.completed", "url": url, "body": body}


def test_delivery_posts_the_exact_body_signed(aws: Aws, receiver: Callable[..., Receiver]) -> None:
    server = receiver()
    aws.setenv("ECM_URL_ALLOWLIST", server.host)
    message = _message(server.url())
    deliver(message)
    (got,) = server.received
    assert got.path == "/hook"
    assert got.body == message["body"].encode()
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "evt_0123"
    assert Webhook("whsec_" + SECRET).verify(got.body, got.headers) == json.loads(got.body)


def test_non_2xx_and_redirects_are_failures(aws: Aws, receiver: Callable[..., Receiver]) -> None:
    target = receiver()
    server = receiver(
        lambda n: (500, {}) if n == 1 else (302, {"Location": target.url()}),
    )
    aws.setenv("ECM_URL_ALLOWLIST", f"{server.host},{target.host}")
    with pytest.raises(WebhookDeliveryError, match="HTTP 500"):
        deliver(_message(server.url()))
    with pytest.raises(WebhookDeliveryError, match="HTTP 302"):
        deliver(_message(server.url()))
    assert target.received == []  # a redirect is never followed


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.1.20"])
def test_no_delivery_to_a_private_address_without_the_allowlist(
    address: str, aws: Aws, net: FakeNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    net.hosts["hooks.internal.example"] = [address]
    attempts: list[Any] = []

    def create_connection(target: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(target)
        raise AssertionError(f"connection attempted to {target!r}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    with pytest.raises(WebhookDeliveryError, match="private or reserved address"):
        deliver(_message("https://hooks.internal.example/hook"))
    assert attempts == [] and net.connects == []


def test_loopback_receiver_is_refused_unless_allowlisted(
    aws: Aws, receiver: Callable[..., Receiver]
) -> None:
    server = receiver()
    with pytest.raises(WebhookDeliveryError):
        deliver(_message(server.url()))
    assert server.received == []


def test_backoff_doubles_from_the_base_and_caps_at_15_minutes(aws: Aws) -> None:
    aws.setenv("ECM_WEBHOOK_BACKOFF_SECONDS", "30")
    assert [backoff_seconds(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 900, 900, 900]


# --- the sender Lambda --------------------------------------------------------------------------


def _sender() -> Callable[[dict[str, Any], Any], Any]:
    function = LocalTemplate(load_template(), {}, 4566).functions()["WebhookSenderFunction"]
    return load_handler(function)


def _sqs_event(aws: Aws) -> tuple[dict[str, Any], list[str]]:
    sqs = boto3.client("sqs")
    received = sqs.receive_message(
        QueueUrl=aws.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        for m in received
    ]
    return {"Records": records}, [m["MessageId"] for m in received]


def test_sender_reports_failures_and_hides_them_for_the_backoff(
    aws: Aws, receiver: Callable[..., Receiver]
) -> None:
    good = receiver()
    bad = receiver(lambda n: (500, {}))
    aws.setenv("ECM_URL_ALLOWLIST", f"{good.host},{bad.host}")
    sqs = boto3.client("sqs")
    for server in (good, bad):
        sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps(_message(server.url())))
    event, ids = _sqs_event(aws)
    assert len(ids) == 2
    failed_id = ids[[json.loads(r["body"])["url"] for r in event["Records"]].index(bad.url())]

    result = _sender()(event, LambdaContext("WebhookSenderFunction"))

    assert result == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    assert len(good.received) == 1 and len(bad.received) == 1
    # the failed message is invisible for the 1 s backoff, then comes back as attempt 2
    assert sqs.receive_message(QueueUrl=aws.queue_url).get("Messages", []) == []
    time.sleep(1.2)
    again = sqs.receive_message(
        QueueUrl=aws.queue_url, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [json.loads(m["Body"])["url"] for m in again] == [bad.url()]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_handle_message_raises_after_setting_the_visibility(
    aws: Aws, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(lambda n: (503, {}))
    aws.setenv("ECM_URL_ALLOWLIST", server.host)
    aws.setenv("ECM_WEBHOOK_BACKOFF_SECONDS", "60")
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps(_message(server.url())))
    (message,) = sqs.receive_message(QueueUrl=aws.queue_url, VisibilityTimeout=0)["Messages"]
    with pytest.raises(WebhookDeliveryError):
        handle_webhook_message(message["Body"], 2, message["ReceiptHandle"])
    time.sleep(0.2)
    assert sqs.receive_message(QueueUrl=aws.queue_url).get("Messages", []) == []  # hidden 120 s


def test_a_message_failing_every_attempt_ends_in_the_dead_letter_queue(
    aws: Aws, receiver: Callable[..., Receiver]
) -> None:
    server = receiver(lambda n: (500, {}))
    aws.setenv("ECM_URL_ALLOWLIST", server.host)
    aws.setenv("ECM_WEBHOOK_BACKOFF_SECONDS", "0")  # visible again at once
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="WebhookDeadLetterQueue")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    sqs.set_queue_attributes(
        QueueUrl=aws.queue_url,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
            )
        },
    )
    sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps(_message(server.url())))
    sender = _sender()
    for attempt in (1, 2, 3):
        event, ids = _sqs_event(aws)
        assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(attempt)
        result = sender(event, LambdaContext("WebhookSenderFunction"))
        assert result == {"batchItemFailures": [{"itemIdentifier": ids[0]}]}
    assert sqs.receive_message(QueueUrl=aws.queue_url).get("Messages", []) == []
    (dead,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert json.loads(dead["Body"])["webhook_id"] == "evt_0123"
    assert len(server.received) == 3


def test_the_local_stack_polls_every_sqs_event_source_of_the_template() -> None:
    functions = LocalTemplate(load_template(), {}, 4566).functions()
    sources = {name: f.queues for name, f in functions.items() if f.queues}
    assert set(sources) == {"ImportTriggerFunction", "WebhookSenderFunction", "ExportFunction"}
    (webhooks,) = sources["WebhookSenderFunction"]
    assert webhooks.queue == "WebhookQueue"
    assert webhooks.queue_arn == "arn:aws:sqs:us-east-1:123456789012:WebhookQueue"
    assert webhooks.report_failures
    raw = load_template()["Resources"]
    redrive = raw["WebhookQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    assert raw["WebhookSigningSecret"]["Type"] == "AWS::SecretsManager::Secret"
