"""Files dropped into the bucket's inbox (SFTP sync, ``aws s3 cp``) start imports.

An S3 event may arrive twice (S3 and SQS both deliver at least once): the object's
bucket/key/eTag/sequencer is the idempotency key, so one upload imports once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import ValidationError

from ecm.clients import idempotency_store
from ecm.imports.starting import start_import, start_inbox_import
from ecm.imports.uploads import claim_upload, uploaded_file
from ecm.kinds.registry import KINDS, get_kind
from ecm.log import logger
from ecm.settings import get_settings

INBOX_KINDS = {kind.inbox_prefix: kind.name for kind in KINDS.values()}
IDEMPOTENCY_DAYS = 30

config = IdempotencyConfig(
    event_key_jmespath="[bucket, key, etag, sequencer]",
    expires_after_seconds=IDEMPOTENCY_DAYS * 86400,
    raise_on_no_idempotency_key=True,
)


def inbox_kind(key: str) -> str | None:
    for prefix, kind in INBOX_KINDS.items():
        if key.startswith(prefix) and not key.endswith("/"):
            return kind
    return None


def _start_once(s3_object: dict[str, Any]) -> int:
    @idempotent_function(
        data_keyword_argument="s3_object",
        persistence_store=idempotency_store(),
        config=config,
    )
    def start(s3_object: dict[str, Any]) -> int:
        return start_inbox_import(s3_object["kind"], s3_object["key"])

    return int(start(s3_object=s3_object))


def handle_inbox_message(body: str) -> list[int]:
    """One SQS message (an S3 event notification, read by Powertools' parser model) → the
    ids of the imports it started. A message that is no S3 notification fails (and reaches
    the dead-letter queue after its retries)."""
    message = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    started: list[int] = []
    bucket = get_settings().files_bucket
    try:
        records = S3Model.model_validate(message).Records
    except (ValidationError, AttributeError):  # the model's own check fails on a missing "s3"
        raise ValueError("the message is not an S3 event notification") from None
    for record in records:
        stored = record.s3.object
        if not record.eventName.startswith("ObjectCreated") or stored is None:
            continue
        key = unquote_plus(stored.key)
        ours = record.s3.bucket.name == bucket
        upload = uploaded_file(key) if ours else None
        if upload is not None:
            kind_name, file_id = upload
            if claim_upload(kind_name, file_id, key):
                start_import(get_kind(kind_name), file_id)
                started.append(file_id)
            continue
        kind = inbox_kind(key)
        if not ours or kind is None:
            logger.info("inbox event ignored", extra={"reason": "not an inbox key"})
            continue
        started.append(
            _start_once(
                {
                    "kind": kind,
                    "bucket": record.s3.bucket.name,
                    "key": key,
                    "etag": stored.eTag,
                    # moto's events carry no sequencer: the event time stands in
                    "sequencer": stored.sequencer or record.eventTime.isoformat(),
                }
            )
        )
    return started
