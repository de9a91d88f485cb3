"""Starting an import, whatever brought the file (a POST, an upload, the inbox): its
record, its original in the bucket, and one execution of the import state machine."""

from __future__ import annotations

import json
import uuid
from pathlib import PurePosixPath
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ecm.aws_errors import error_name, is_retryable
from ecm.clients import client
from ecm.clock import iso_timestamp
from ecm.files.readers.detect import DATA_URI_TYPES, EXTENSION_TYPES, claimed_type
from ecm.files.sources import ReceivedFile, store_original
from ecm.imports.records import (
    create_import_file,
    generated_filename,
    mark_failed,
    update_import_file,
)
from ecm.imports.schemas import ImportSource
from ecm.kinds.registry import ALL_OR_NOTHING, ImportKind, get_kind
from ecm.log import logger
from ecm.models import ImportFile
from ecm.models.access import condition_failed
from ecm.plans import inbox_plan
from ecm.settings import get_settings

Item = dict[str, Any]


def _provisional_type(received: ReceivedFile, declared: str | None) -> str:
    ext = PurePosixPath(received.original_name).suffix.lower()
    return (
        (declared or "").lower()
        or claimed_type(received.data_uri_type, DATA_URI_TYPES)
        or EXTENSION_TYPES.get(ext)
        or "dat"
    )


def _given_name(received: ReceivedFile, options: ImportSource | None) -> str | None:
    """The file's own name: the one the request gives, else the URL's or the key's (an
    inline file has none of its own)."""
    if options is not None and options.filename:
        return options.filename
    return None if received.source_type == "base64" else received.original_name


def register_file(
    kind: ImportKind,
    received: ReceivedFile,
    declared: str | None,
    user_id: Any,
    options: ImportSource | None = None,
    plan: str | None = None,
) -> Item:
    """The file's record (``pending``) and its original kept under ``files/``."""
    record = create_import_file(
        kind.name,
        received.source_type,
        received.original_name,
        declared_type=declared,
        data_uri_type=received.data_uri_type,
        created_by=user_id,
        dry_run=bool(options and options.dry_run),
        mode=options.mode if options else ALL_OR_NOTHING,
        webhook_url=options.webhook_url if options else None,
        plan=options.plan if options else plan,
        original_filename=_given_name(received, options),
    )
    filename = generated_filename(
        kind.name, _provisional_type(received, declared), record["created_at"]
    )
    update_import_file(kind.name, record["id"], filename=filename)
    record["filename"] = filename
    store_original(received, record["s3_key"])
    return record


def start_import(kind: ImportKind, file_id: int) -> None:
    """One state machine execution for the file; a failed start marks the file failed."""
    settings = get_settings()
    name = f"{kind.name}-{file_id}-{uuid.uuid4().hex[:12]}"
    try:
        response = client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=name,
            input=json.dumps({"kind": kind.name, "file_id": file_id}),
        )
    except Exception:
        mark_failed(kind.name, file_id, ["The import could not be started; try again"])
        raise
    try:
        note_started(kind.name, file_id, response["executionArn"])
    except Exception as exc:
        if not is_retryable(exc):
            raise
        # The import runs (its validate stage says "processing" too): an error here must not
        # have the caller start the same file again.
        logger.warning(
            "import start not recorded",
            extra={"kind": kind.name, "file_id": file_id, "error_type": error_name(exc)},
        )


def note_started(kind: str, file_id: int, execution_arn: str) -> None:
    """The execution on the record, and ``processing`` unless a stage moved it on already
    (a quick import may finish before this write, delayed by retries, lands)."""
    try:
        ImportFile(kind, file_id).update(
            actions=[
                ImportFile.status.set("processing"),
                ImportFile.execution_arn.set(execution_arn),
                ImportFile.updated_at.set(iso_timestamp()),
            ],
            condition=ImportFile.status == "pending",
        )
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise
        update_import_file(kind, file_id, execution_arn=execution_arn)


def start_inbox_import(kind_name: str, key: str) -> int:
    """A file dropped under the kind's inbox prefix: import it like a ``path`` source."""
    kind = get_kind(kind_name)
    received = ReceivedFile("inbox", PurePosixPath(key).name, s3_key=key)
    plan = inbox_plan(key, get_settings().inbox_plans) if kind.takes_plan else None
    record = register_file(kind, received, None, "inbox", plan=plan)
    start_import(kind, int(record["id"]))
    logger.info("inbox import started", extra={"kind": kind.name, "file_id": record["id"]})
    return int(record["id"])
