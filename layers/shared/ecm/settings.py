"""Runtime configuration read from the environment that template.yaml (or the local stack) sets.

One place for every name and limit, so handlers and tests never spell an env var twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

MB = 1024 * 1024


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


#: Rows per chunk of validated rows, of plan and of apply invocation. Each chunk costs a
#: fixed ~40 ms of CPU (S3 objects, a Lambda invocation, counters, lock refresh): measured
#: 468 / 342 / 320 µs per imported row at 500 / 1,000 / 2,000 rows (benchmarks/). A
#: 2,000-row apply chunk is 6,000 items, ~240 BatchWriteItem calls, well inside its timeout.
DEFAULT_CHUNK_ROWS = 2000


@dataclass(frozen=True)
class Settings:
    patients_table: str
    patient_keys_table: str
    authorizations_table: str
    audit_table: str
    activities_table: str
    import_files_table: str
    meta_table: str
    users_table: str
    providers_table: str
    idempotency_table: str
    files_bucket: str
    state_machine_arn: str
    url_allowlist: frozenset[str] = field(default_factory=frozenset)
    max_url_bytes: int = 50 * MB
    url_timeout_seconds: int = 20
    max_inline_bytes: int = 6 * MB
    max_file_bytes: int = 50 * MB
    max_rows: int = 100_000
    max_xlsx_uncompressed_bytes: int = 400 * MB
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    sync_wait_seconds: float = 25.0
    fault_hooks_enabled: bool = False
    webhook_queue_url: str = ""
    webhook_secret_id: str = ""
    default_webhook_url: str = ""
    webhook_backoff_seconds: int = 30
    webhook_timeout_seconds: int = 10


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    allow = {h.strip().lower() for h in env.get("ECM_URL_ALLOWLIST", "").split(",") if h.strip()}
    return Settings(
        patients_table=env.get("PATIENTS_TABLE", "PatientsTable"),
        patient_keys_table=env.get("PATIENT_KEYS_TABLE", "PatientKeysTable"),
        authorizations_table=env.get("AUTHORIZATIONS_TABLE", "AuthorizationsTable"),
        audit_table=env.get("AUDIT_TABLE", "AuditTable"),
        activities_table=env.get("ACTIVITIES_TABLE", "ActivitiesTable"),
        import_files_table=env.get("IMPORT_FILES_TABLE", "ImportFilesTable"),
        meta_table=env.get("META_TABLE", "MetaTable"),
        users_table=env.get("USERS_TABLE", "UsersTable"),
        providers_table=env.get("PROVIDERS_TABLE", "ProvidersTable"),
        idempotency_table=env.get("IDEMPOTENCY_TABLE", "IdempotencyTable"),
        files_bucket=env.get("FILES_BUCKET", "ecm-files"),
        state_machine_arn=env.get("IMPORT_STATE_MACHINE_ARN", ""),
        url_allowlist=frozenset(allow),
        max_url_bytes=_int("ECM_MAX_URL_BYTES", 50 * MB),
        url_timeout_seconds=_int("ECM_URL_TIMEOUT_SECONDS", 20),
        max_rows=_int("ECM_MAX_ROWS", 100_000),
        chunk_rows=_int("ECM_CHUNK_ROWS", DEFAULT_CHUNK_ROWS),
        sync_wait_seconds=float(env.get("ECM_SYNC_WAIT_SECONDS", "25")),
        fault_hooks_enabled=env.get("ECM_ENABLE_FAULT_HOOKS", "") == "1",
        webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", ""),
        webhook_secret_id=env.get("WEBHOOK_SECRET_ID", ""),
        default_webhook_url=env.get("ECM_DEFAULT_WEBHOOK_URL", "").strip(),
        webhook_backoff_seconds=_int("ECM_WEBHOOK_BACKOFF_SECONDS", 30),
        webhook_timeout_seconds=_int("ECM_WEBHOOK_TIMEOUT_SECONDS", 10),
    )


#: How long a read of the webhook signing secret is reused (a rotation is seen within this).
SECRET_CACHE_SECONDS = 300


def webhook_signing_secret() -> str:
    """The Standard Webhooks signing secret from Secrets Manager, cached by Powertools."""
    from aws_lambda_powertools.utilities import parameters

    secret_id = get_settings().webhook_secret_id
    if not secret_id:
        raise RuntimeError("WEBHOOK_SECRET_ID is not set")
    return str(parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)).strip()
