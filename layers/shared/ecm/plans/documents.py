"""The plans' layout documents from before plans were records (``config/plans/<code>.json``
in the files bucket): found, and migrated into records once (``ecm.cli migrate-plans``).

Until a plan's document is migrated, exports still read it (ecm.exports.layouts); after,
the record is the plan's one home and the document is left as it was, unread.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ecm.clients import client
from ecm.exports.layouts import PLAN_PREFIX, LayoutError, plan_document_key, read_plan_document
from ecm.plans import check_plan
from ecm.plans.records import get_plan, save_plan
from ecm.settings import get_settings

Item = dict[str, Any]


def has_document(code: str) -> bool:
    """Whether the plan has a document in the bucket. Asked with a GetObject (its body left
    unread), as every optional object is read: S3 answers a missing key 404 only to a role
    that may list the bucket, and the local stack records that answer as the ListBucket it
    needs, so the grant is checked like the others."""
    try:
        answer = client("s3").get_object(
            Bucket=get_settings().files_bucket, Key=plan_document_key(code)
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    answer["Body"].close()
    return True


def document_codes() -> list[str]:
    """The plan codes that have a document, from the documents' keys."""
    pages = (
        client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=get_settings().files_bucket, Prefix=PLAN_PREFIX)
    )
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    names = [k[len(PLAN_PREFIX) : -len(".json")] for k in keys if k.endswith(".json")]
    return sorted(n for n in names if "/" not in n)


def migrate_documents(by: str = "migrate-plans") -> Item:
    """Each plan's document as its record, unless the plan has a record already (the record
    wins). A document that can't be used is left, and named with every problem."""
    migrated: list[str] = []
    kept: list[str] = []
    refused: dict[str, list[str]] = {}
    for name in document_codes():
        try:
            code = check_plan(name)
            document = read_plan_document(name)
        except ValueError as exc:
            problems = exc.problems if isinstance(exc, LayoutError) else [str(exc)]
            refused[plan_document_key(name)] = problems
            continue
        if document is None or get_plan(code) is not None:
            kept.append(code)
            continue
        fields = document.model_dump(exclude_none=True, exclude={"plan"})
        save_plan(code, {"name": document.mcp_name or code, "full_roster": True, **fields}, by)
        migrated.append(code)
    return {"migrated": migrated, "already_records": kept, "refused": refused}
