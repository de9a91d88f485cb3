"""Webhooks for import files, signed per Standard Webhooks (https://www.standardwebhooks.com).

The import engine calls :func:`publish_import_event` at ``import.processing``,
``import.completed`` and ``import.failed``; it builds a payload of ids, statuses, counts and
result links only (never a row value or an error text: those can quote member ids) and puts
it on the webhook queue. The sender Lambda takes each message and :func:`deliver` POSTs it,
signed at that moment, through the same SSRF guard as URL sources. A failure leaves the
message on the queue with an exponential backoff; after the queue's receive limit it goes to
the dead-letter queue. Every attempt of one event carries the same ``webhook-id``.
"""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from ecm.clients import client, webhook_signing_secret
from ecm.clock import iso_timestamp
from ecm.errors import ApiError, UrlRefused
from ecm.faults import fault_point
from ecm.files.addresses import is_allowlisted, is_public_address
from ecm.log import logger
from ecm.settings import get_settings
from ecm.store import presigned_get

Item = dict[str, Any]
EVENT_TYPES = ("import.processing", "import.completed", "import.failed")
MAX_URL_LENGTH = 2048
MAX_BACKOFF_SECONDS = 900
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
USER_AGENT = "ecm-imports-webhooks/1"
#: Where an admin reads the file's detail (fresh result links included), per kind.
DETAIL_PATHS = {
    "mif": "/v1/admin/clinic/ecm/mifs",
    "authorization": "/v1/admin/clinic/ecm/authorizations",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookDeliveryError(Exception):
    """One delivery attempt failed: the receiver's HTTP status, or the URL guard's refusal or
    a connection failure (``refused``). Neither the message nor the log carries the URL."""

    def __init__(self, reason: str, *, status: int | None = None, refused: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.refused = refused


# --- request time --------------------------------------------------------------------------


def validate_webhook_url(url: str, field: str = "webhook_url") -> str:
    """The URL stripped, or 422 ``<field>: ...``: checks that need no DNS lookup.

    https only (plain http for allowlisted hosts), no user name or password, a host name, and
    no literal private, loopback or link-local address. Names are resolved and checked again at
    every delivery, where the connection goes to the vetted address only.
    """
    text = (url or "").strip()
    if not text:
        raise ApiError(422, f"{field}: must not be empty")
    if len(text) > MAX_URL_LENGTH:
        raise ApiError(422, f"{field}: must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ApiError(422, f"{field}: must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise ApiError(422, f"{field}: is not a valid URL") from None
    if scheme not in _DEFAULT_PORTS:
        raise ApiError(422, f"{field}: must be an https:// URL")
    if "@" in parts.netloc:
        raise ApiError(422, f"{field}: must not contain a user name or password")
    if not host:
        raise ApiError(422, f"{field}: must name a host")
    allowlisted = is_allowlisted(host.lower(), port, get_settings().url_allowlist)
    if scheme != "https" and not allowlisted:
        raise ApiError(422, f"{field}: must be an https:// URL")
    if not allowlisted and _is_ip(host) and not is_public_address(host):
        raise ApiError(422, f"{field}: '{host}' is a private or reserved address")
    return text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- publishing (import engine) -------------------------------------------------------------


def webhook_id(kind: str, record: Item, event_type: str) -> str:
    """One id per event of one file record of this stack: a retried engine step that
    publishes the same event again repeats it, and receivers deduplicate on it."""
    origin = f"{get_settings().files_bucket}:{kind}:{record['id']}:{record.get('created_at')}"
    return f"evt_{uuid.uuid5(uuid.NAMESPACE_URL, f'ecm-imports:{origin}:{event_type}').hex}"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _link(key: Any) -> str | None:
    return presigned_get(str(key)) if key else None


def event_payload(kind: str, record: Item, event_type: str) -> Item:
    """The event body: ids, status, counts and links. No PHI, no error text."""
    file_id = int(record["id"])
    return {
        "type": event_type,
        "timestamp": iso_timestamp(),
        "data": {
            "id": file_id,
            "kind": kind,
            "status": record.get("status"),
            "stage": record.get("stage"),
            "dry_run": bool(record.get("dry_run")),
            "mode": record.get("mode") or "all_or_nothing",
            "rows_total": _int_or_none(record.get("rows_total")),
            "rows_processed": int(record.get("rows_processed") or 0),
            "created_count": int(record.get("created_count") or 0),
            "updated_count": int(record.get("updated_count") or 0),
            "records_failed": int(record.get("records_failed") or 0),
            "would_create": _int_or_none(record.get("would_create")),
            "would_update": _int_or_none(record.get("would_update")),
            "result_file_url": _link(record.get("result_file_key")),
            "errors_file_url": _link(record.get("errors_file_key")),
            "detail_path": f"{DETAIL_PATHS[kind]}/{file_id}",
        },
    }


def publish_import_event(kind: str, record: Item, event_type: str) -> None:
    """Queue ``event_type`` for the file's webhook (its own URL, else the stack's default).

    A no-op without a URL. Never raises: a webhook must not fail an import, so any error is
    logged by its type only and dropped.
    """
    file_id = record.get("id")
    try:
        settings = get_settings()
        url = record.get("webhook_url") or settings.default_webhook_url
        if not url:
            return
        if event_type not in EVENT_TYPES:
            raise ValueError("unknown event type")
        url = validate_webhook_url(str(url))
        if not settings.webhook_queue_url:
            raise RuntimeError("WEBHOOK_QUEUE_URL is not set")
        fault_point("webhook_enqueue", "start")
        message_id = webhook_id(kind, record, event_type)
        body = json.dumps(event_payload(kind, record, event_type), separators=(",", ":"))
        client("sqs").send_message(
            QueueUrl=settings.webhook_queue_url,
            MessageBody=json.dumps(
                {"webhook_id": message_id, "type": event_type, "url": url, "body": body}
            ),
        )
    except Exception as exc:
        logger.warning(
            "webhook not queued",
            extra={
                "kind": kind,
                "file_id": file_id,
                "event_type": event_type,
                "error_type": type(exc).__name__,
            },
        )
        return
    logger.info(
        "webhook queued",
        extra={
            "kind": kind,
            "file_id": file_id,
            "event_type": event_type,
            "webhook_id": message_id,
        },
    )


# --- signing and delivery (sender Lambda) ------------------------------------------------------


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``; ``secret`` is base64,
    with or without the ``whsec_`` prefix."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return Webhook(_with_prefix(secret)).sign(msg_id=msg_id, timestamp=moment, data=body)


def _with_prefix(secret: str) -> str:
    return secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + secret


def display_secret(secret: str) -> str:
    """The secret as receivers' Standard Webhooks libraries take it (``whsec_...``)."""
    return _with_prefix(secret.strip())


def signed_headers(secret: str, msg_id: str, body: str, now: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if now is None else now
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def deliver(message: Item) -> None:
    """POST one queued event, signed now; raise :class:`WebhookDeliveryError` unless 2xx."""
    settings = get_settings()
    body = str(message["body"])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        **signed_headers(webhook_signing_secret(), str(message["webhook_id"]), body),
    }
    # Only the sender posts: the API functions that validate a webhook URL, and the import
    # stages that queue events, do not load the HTTP client at their cold start.
    from ecm.files.netguard import post_bytes  # noqa: PLC0415

    try:
        status = post_bytes(
            str(message["url"]),
            body.encode(),
            headers,
            timeout=settings.webhook_timeout_seconds,
            allowlist=settings.url_allowlist,
        )
    except UrlRefused as exc:
        raise WebhookDeliveryError(str(exc), refused=True) from None
    if not 200 <= status < 300:
        raise WebhookDeliveryError(f"receiver answered HTTP {status}", status=status)


def backoff_seconds(receive_count: int) -> int:
    """Base × 2^(attempt-1), capped at 15 minutes: 30, 60, 120, ... 900, 900."""
    base = max(get_settings().webhook_backoff_seconds, 0)
    attempt = max(receive_count, 1)
    return int(min(base * 2 ** min(attempt - 1, 20), MAX_BACKOFF_SECONDS))


def handle_webhook_message(body: str, receive_count: int, receipt_handle: str) -> None:
    """One SQS message of the webhook queue: deliver it, or hide it for the backoff and raise
    (the handler reports it as a batch item failure; the redrive policy ends in the DLQ)."""
    message = json.loads(body)
    log = {"webhook_id": message.get("webhook_id"), "attempt": receive_count}
    try:
        deliver(message)
    except Exception as exc:
        delay = backoff_seconds(receive_count)
        logger.warning(
            "webhook delivery failed",
            extra={
                **log,
                "error_type": type(exc).__name__,
                "status_code": getattr(exc, "status", None),
                "refused": bool(getattr(exc, "refused", False)),
                "retry_in_seconds": delay,
            },
        )
        try:
            client("sqs").change_message_visibility(
                QueueUrl=get_settings().webhook_queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=delay,
            )
        except Exception as visibility_error:  # the queue's own visibility timeout applies
            logger.warning(
                "webhook backoff not set",
                extra={**log, "error_type": type(visibility_error).__name__},
            )
        raise WebhookDeliveryError("delivery failed; retried later") from None
    logger.info("webhook delivered", extra=log)
