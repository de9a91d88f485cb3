"""Large files go straight to S3 (seed 003's peer): a presigned PUT bound to one import.

``POST .../uploads`` creates the file record in ``waiting`` and hands out a 10-minute PUT URL
for ``uploads/<kind>/<id>/<name>``; the object's S3 event starts the import once (the record
leaves ``waiting`` by a conditional write, so a second upload starts nothing). A record
still waiting after its deadline reads as ``expired``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecm.clock import iso_timestamp, utc_now
from ecm.errors import ApiError, invalid_body
from ecm.imports.files import create_import_file, generated_filename, update_import_file
from ecm.imports.kinds import ALL_OR_NOTHING, ImportMode, get_kind
from ecm.log import logger
from ecm.readers.detect import EXTENSION_TYPES
from ecm.settings import get_settings
from ecm.store import client, from_item, is_conditional_failure, to_attr, to_item
from ecm.webhooks import validate_webhook_url

Item = dict[str, Any]
UPLOAD_SECONDS = 600
UPLOAD_PREFIX = "uploads/"
CONTENT_TYPE = "application/octet-stream"


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: str = Field(min_length=1, max_length=200)
    file_type: str | None = None
    dry_run: bool = False
    mode: ImportMode = ALL_OR_NOTHING
    webhook_url: str | None = None


def upload_key(kind: str, file_id: int, filename: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[-120:]
    return f"{UPLOAD_PREFIX}{kind}/{file_id}/{safe or 'upload'}"


def create_upload(kind_name: str, body: Any, user_id: Any) -> Item:
    kind = get_kind(kind_name)
    if not isinstance(body, dict):
        raise ApiError(422, "Request body must be a JSON object")
    try:
        request = UploadRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid_body(None, exc) from None
    if request.webhook_url is not None:
        validate_webhook_url(request.webhook_url, field="webhook_url")
    declared = (request.file_type or "").lower() or None
    if declared and declared not in kind.file_types:
        raise ApiError(422, f"file_type must be one of: {', '.join(kind.file_types)}")
    expires = utc_now() + timedelta(seconds=UPLOAD_SECONDS)
    record = create_import_file(
        kind.name,
        "upload",
        request.filename,
        status="waiting",
        stage="waiting_for_upload",
        declared_type=declared,
        created_by=user_id,
        dry_run=request.dry_run,
        mode=request.mode,
        webhook_url=request.webhook_url,
        expires_at=iso_timestamp(expires),
    )
    file_id = int(record["id"])
    key = upload_key(kind.name, file_id, request.filename)
    ext = PurePosixPath(request.filename).suffix.lower()
    provisional = declared or EXTENSION_TYPES.get(ext) or "dat"
    update_import_file(
        kind.name,
        file_id,
        s3_key=key,
        filename=generated_filename(kind.name, provisional, record["created_at"]),
    )
    url = client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": get_settings().files_bucket, "Key": key, "ContentType": CONTENT_TYPE},
        ExpiresIn=UPLOAD_SECONDS,
    )
    return {
        "id": file_id,
        "status": "waiting",
        "upload_url": url,
        "upload_method": "PUT",
        "required_headers": {"Content-Type": CONTENT_TYPE},
        "expires_at": record["expires_at"],
    }


def expire_if_due(record: Item) -> Item:
    """A waiting record past its deadline becomes ``expired`` (checked on every read)."""
    if record.get("status") != "waiting" or record.get("expires_at", "9") > iso_timestamp():
        return record
    try:
        client("dynamodb").update_item(
            TableName=get_settings().import_files_table,
            Key=to_item({"kind": record["kind"], "id": record["id"]}),
            UpdateExpression="SET #s = :e, stage = :e, updated_at = :now",
            ConditionExpression="#s = :w",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":e": to_attr("expired"),
                ":w": to_attr("waiting"),
                ":now": to_attr(iso_timestamp()),
            },
        )
    except ClientError as exc:
        if not is_conditional_failure(exc):
            raise
        return record  # it left waiting meanwhile: the upload arrived in time
    return {**record, "status": "expired", "stage": "expired"}


def uploaded_file(key: str) -> tuple[str, int] | None:
    """``uploads/<kind>/<id>/<name>`` → (kind, id), for the S3 event of an upload."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != UPLOAD_PREFIX.rstrip("/") or not parts[2].isdigit():
        return None
    try:
        return get_kind(parts[1]).name, int(parts[2])
    except ApiError:
        return None


def claim_upload(kind: str, file_id: int, key: str) -> bool:
    """Move the record from waiting to pending once; False for a late or second upload."""
    try:
        client("dynamodb").update_item(
            TableName=get_settings().import_files_table,
            Key=to_item({"kind": kind, "id": file_id}),
            UpdateExpression="SET #s = :p, stage = :r, updated_at = :now",
            ConditionExpression="#s = :w AND expires_at > :now AND s3_key = :k",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":p": to_attr("pending"),
                ":r": to_attr("received"),
                ":w": to_attr("waiting"),
                ":now": to_attr(iso_timestamp()),
                ":k": to_attr(key),
            },
        )
    except ClientError as exc:
        if is_conditional_failure(exc):
            logger.info("upload ignored", extra={"kind": kind, "file_id": file_id})
            return False
        raise
    return True


def expire_waiting_uploads() -> int:
    """The scheduled sweep: every upload still waiting past its deadline becomes expired."""
    from ecm.imports.kinds import KINDS

    expired = 0
    paginator = client("dynamodb").get_paginator("query")
    for kind in KINDS:
        pages = paginator.paginate(
            TableName=get_settings().import_files_table,
            KeyConditionExpression="kind = :k",
            FilterExpression="#s = :w AND expires_at < :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":k": to_attr(kind),
                ":w": to_attr("waiting"),
                ":now": to_attr(iso_timestamp()),
            },
        )
        for page in pages:
            for raw in page["Items"]:
                record = from_item(raw)
                if expire_if_due(record)["status"] == "expired":
                    expired += 1
    if expired:
        logger.info("uploads expired", extra={"count": expired})
    return expired
