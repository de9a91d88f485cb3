"""Large files go straight to S3 (docs/api/mif-imports.md): a presigned PUT bound to one import.

``POST .../uploads`` creates the file record in ``waiting`` and hands out a 10-minute PUT URL
for ``uploads/<kind>/<id>/<name>``; the object's S3 event starts the import once (the record
leaves ``waiting`` by a conditional write, so a second upload starts nothing). A record
still waiting after its deadline reads as ``expired``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ecm.clients import client
from ecm.clock import iso_timestamp, utc_now
from ecm.errors import ApiError
from ecm.files.readers.detect import EXTENSION_TYPES, accepted_types
from ecm.imports.records import create_import_file, generated_filename, update_import_file
from ecm.imports.schemas import UploadRequest
from ecm.imports.work_area import UPLOAD_PREFIX, upload_key
from ecm.kinds.registry import KINDS, get_kind
from ecm.log import logger
from ecm.models import ImportFile
from ecm.models.access import all_items, condition_failed
from ecm.plans import check_plan_option
from ecm.settings import get_settings
from ecm.webhooks import validate_webhook_url

Item = dict[str, Any]
UPLOAD_SECONDS = 600
CONTENT_TYPE = "application/octet-stream"


def create_upload(kind_name: str, request: UploadRequest, user_id: Any) -> Item:
    kind = get_kind(kind_name)
    if request.webhook_url is not None:
        validate_webhook_url(request.webhook_url, field="webhook_url")
    check_plan_option(request.plan, "plan", accepted=kind.takes_plan)
    declared = (request.file_type or "").lower() or None
    if declared and declared not in accepted_types(kind.file_types):
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
        plan=request.plan,
        original_filename=request.filename,
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
        ImportFile(record["kind"], record["id"]).update(
            actions=[
                ImportFile.status.set("expired"),
                ImportFile.stage.set("expired"),
                ImportFile.updated_at.set(iso_timestamp()),
            ],
            condition=ImportFile.status == "waiting",
        )
    except PynamoDBException as exc:
        if not condition_failed(exc):
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
    now = iso_timestamp()
    try:
        ImportFile(kind, file_id).update(
            actions=[
                ImportFile.status.set("pending"),
                ImportFile.stage.set("received"),
                ImportFile.updated_at.set(now),
            ],
            condition=(ImportFile.status == "waiting")
            & (ImportFile.expires_at > now)
            & (ImportFile.s3_key == key),
        )
    except PynamoDBException as exc:
        if condition_failed(exc):
            logger.info("upload ignored", extra={"kind": kind, "file_id": file_id})
            return False
        raise
    return True


def expire_waiting_uploads() -> int:
    """The scheduled sweep: every upload still waiting past its deadline becomes expired."""
    expired = 0
    for kind in KINDS:
        waiting = ImportFile.query(
            kind,
            filter_condition=(ImportFile.status == "waiting")
            & (ImportFile.expires_at < iso_timestamp()),
        )
        for record in all_items(waiting):
            if expire_if_due(record)["status"] == "expired":
                expired += 1
    if expired:
        logger.info("uploads expired", extra={"count": expired})
    return expired
