"""Where an import keeps its files in the bucket, and how it reads and writes them.

- ``uploads/<kind>/<id>/<name>``: a presigned upload; an object here starts its import.
- ``files/<kind>/<id>/<name>``: the file as received, kept for the result files; beside it,
  ``corrections-<n>.json``: the cells a corrected import of it reads in place of the file's.
- ``work/<kind>/<id>/``: the stages' hand-over: validated rows per chunk (``rows-``), the
  plan per chunk (``plan-``, ``creates-``, ``records-``), the manifest (``plan.json``), the
  rows that failed (``failures-``), what each row became (``outcomes.json``) and what a
  plan's MIF changes (``changes-`` pieces, ``changes.json``).
- ``results/<kind>/<id>/``: the result, errors and changes CSVs a user downloads.

Each prefix is a grant of its own (the functions that write it), so the layout lives here.
"""

from __future__ import annotations

from typing import Any

import orjson

from ecm.clients import client
from ecm.settings import get_settings

UPLOAD_PREFIX = "uploads/"
MISSING: Any = object()


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-120:] or "upload"


def upload_key(kind: str, file_id: int, filename: str) -> str:
    return f"{UPLOAD_PREFIX}{kind}/{file_id}/{_safe_name(filename)}"


def original_key(kind: str, file_id: int, original_name: str) -> str:
    return f"files/{kind}/{file_id}/{_safe_name(original_name)}"


def corrections_key(kind: str, file_id: int, corrected_id: int) -> str:
    """The corrections of import ``corrected_id``, beside the original of file ``file_id``."""
    return f"files/{kind}/{file_id}/corrections-{corrected_id}.json"


def work_prefix(kind: str, file_id: int) -> str:
    return f"work/{kind}/{file_id}/"


def rows_key(kind: str, file_id: int, chunk: int) -> str:
    return f"{work_prefix(kind, file_id)}rows-{chunk:05d}.json"


def plan_key(kind: str, file_id: int, chunk: int) -> str:
    return f"{work_prefix(kind, file_id)}plan-{chunk:05d}.json"


def creates_key(kind: str, file_id: int, chunk: int) -> str:
    """A plan chunk's new items as BatchWriteItem bodies, serialised by the plan stage."""
    return f"{work_prefix(kind, file_id)}creates-{chunk:05d}.ndjson"


def records_key(kind: str, file_id: int, chunk: int) -> str:
    """What the file's detail lists for a plan chunk's rows (``eligibility_snapshot``, ...)."""
    return f"{work_prefix(kind, file_id)}records-{chunk:05d}.json"


def manifest_key(kind: str, file_id: int) -> str:
    return f"{work_prefix(kind, file_id)}plan.json"


def failures_key(kind: str, file_id: int, stage: str) -> str:
    return f"{work_prefix(kind, file_id)}failures-{stage}.json"


def outcomes_key(kind: str, file_id: int) -> str:
    return f"{work_prefix(kind, file_id)}outcomes.json"


def changes_piece_key(kind: str, file_id: int, piece: int) -> str:
    """A piece of the lines of the changes file, as the plan stage found them."""
    return f"{work_prefix(kind, file_id)}changes-{piece:05d}.json"


def changes_summary_key(kind: str, file_id: int) -> str:
    """What the file changes in counts, and how many pieces its lines take."""
    return f"{work_prefix(kind, file_id)}changes.json"


def changes_file_key(kind: str, file_id: int) -> str:
    return f"results/{kind}/{file_id}/changes.csv"


def result_keys(kind: str, file_id: int) -> tuple[str, str]:
    """Beside the file's own work area; never under ``uploads/`` (that prefix starts imports)."""
    base = f"results/{kind}/{file_id}/"
    return base + "result.csv", base + "errors.csv"


def put_json(key: str, value: Any) -> None:
    """Write one JSON object of an import's work area (rows, plan chunks, outcomes)."""
    client("s3").put_object(
        Bucket=get_settings().files_bucket,
        Key=key,
        Body=orjson.dumps(value),
        ContentType="application/json",
    )


def get_json(key: str, default: Any = MISSING) -> Any:
    """Read one JSON object back; ``default`` when it does not exist (else NoSuchKey)."""
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=get_settings().files_bucket, Key=key)["Body"]
    except s3.exceptions.NoSuchKey:
        if default is MISSING:
            raise
        return default
    return orjson.loads(body.read())


def put_lines(key: str, lines: list[bytes]) -> None:
    """Write documents serialised beforehand, one per line (the plan's write batches)."""
    client("s3").put_object(
        Bucket=get_settings().files_bucket,
        Key=key,
        Body=b"\n".join(lines),
        ContentType="application/x-ndjson",
    )


def get_lines(key: str) -> list[bytes]:
    """The documents of ``put_lines``, still serialised."""
    body = client("s3").get_object(Bucket=get_settings().files_bucket, Key=key)["Body"]
    return [line for line in body.read().split(b"\n") if line]
