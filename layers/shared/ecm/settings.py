"""Runtime configuration read from the environment that template.yaml (or the local stack) sets.

One place for every name and limit, so handlers and tests never spell an env var twice.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ecm.aws_faults import VARIABLE as AWS_FAULTS_VARIABLE
from ecm.aws_faults import FaultRates, parse_faults
from ecm.plans import check_plan

MB = 1024 * 1024


#: Rows per chunk of validated rows, of plan and of apply invocation. Each chunk costs a
#: fixed ~40 ms of CPU (S3 objects, a Lambda invocation, counters, lock refresh): measured
#: 468 / 342 / 320 µs per imported row at 500 / 1,000 / 2,000 rows (benchmarks/). A
#: 2,000-row apply chunk is 6,000 items, ~240 BatchWriteItem calls, well inside its timeout.
DEFAULT_CHUNK_ROWS = 2000


def _required(env: str) -> Any:
    return Field(validation_alias=env)


def _optional(env: str, default: Any) -> Any:
    return Field(default=default, validation_alias=env)


def _plan_code(variable: str, plan: str) -> str:
    """A plan code a variable names, checked and in lower case (the message names the
    variable)."""
    try:
        return check_plan(plan)
    except ValueError as exc:
        raise ValueError(f"{variable}: plan '{plan}' {exc}") from None


class Settings(BaseSettings):
    """Every setting, from the environment the template (or the local stack) gives a
    function. The tables and the bucket have no default: a function wired without one fails
    at its first use with the variable's name, instead of reaching a table of another name."""

    #: An empty variable counts as unset (the template passes empty parameters through).
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    patients_table: str = _required("PATIENTS_TABLE")
    patient_keys_table: str = _required("PATIENT_KEYS_TABLE")
    authorizations_table: str = _required("AUTHORIZATIONS_TABLE")
    audit_table: str = _required("AUDIT_TABLE")
    activities_table: str = _required("ACTIVITIES_TABLE")
    import_files_table: str = _required("IMPORT_FILES_TABLE")
    exports_table: str = _required("EXPORTS_TABLE")
    meta_table: str = _required("META_TABLE")
    users_table: str = _required("USERS_TABLE")
    providers_table: str = _required("PROVIDERS_TABLE")
    idempotency_table: str = _required("IDEMPOTENCY_TABLE")
    plans_table: str = _required("PLANS_TABLE")
    files_bucket: str = _required("FILES_BUCKET")
    #: only the functions that start imports have one (the template gives it to them)
    state_machine_arn: str = _optional("IMPORT_STATE_MACHINE_ARN", "")
    #: ``host`` or ``host:port`` entries, comma-separated in ECM_URL_ALLOWLIST
    url_allowlist: Annotated[frozenset[str], NoDecode] = _optional("ECM_URL_ALLOWLIST", frozenset())
    max_url_bytes: int = _optional("ECM_MAX_URL_BYTES", 50 * MB)
    url_timeout_seconds: int = _optional("ECM_URL_TIMEOUT_SECONDS", 20)
    max_inline_bytes: int = 6 * MB
    max_file_bytes: int = 50 * MB
    max_rows: int = _optional("ECM_MAX_ROWS", 100_000)
    max_xlsx_uncompressed_bytes: int = 400 * MB
    chunk_rows: int = _optional("ECM_CHUNK_ROWS", DEFAULT_CHUNK_ROWS)
    sync_wait_seconds: float = _optional("ECM_SYNC_WAIT_SECONDS", 25.0)
    fault_hooks_enabled: bool = _optional("ECM_ENABLE_FAULT_HOOKS", False)
    webhook_queue_url: str = _optional("WEBHOOK_QUEUE_URL", "")
    webhook_secret_id: str = _optional("WEBHOOK_SECRET_ID", "")
    default_webhook_url: str = _optional("ECM_DEFAULT_WEBHOOK_URL", "")
    webhook_backoff_seconds: int = _optional("ECM_WEBHOOK_BACKOFF_SECONDS", 30)
    webhook_timeout_seconds: int = _optional("ECM_WEBHOOK_TIMEOUT_SECONDS", 10)
    #: The plan of each inbox folder, as a JSON object of key prefix to plan code
    #: (``{"inbox/mif/healthnet/": "healthnet"}``): a MIF dropped there is that plan's.
    inbox_plans: Annotated[dict[str, str], NoDecode] = _optional("ECM_INBOX_PLANS", {})
    #: Return files (ecm.exports): where exports are queued, and the provider organisation
    #: the files name (a member's own ECM provider and NPI from its MIF come first).
    export_queue_url: str = _optional("EXPORT_QUEUE_URL", "")
    provider_name: str = _optional("ECM_PROVIDER_NAME", "")
    provider_npi: str = _optional("ECM_PROVIDER_NPI", "")
    provider_tin: str = _optional("ECM_PROVIDER_TIN", "")
    provider_phone: str = _optional("ECM_PROVIDER_PHONE", "")
    #: The monthly schedule's exports: plan codes, comma-separated (empty: no schedule).
    export_schedule_plans: Annotated[tuple[str, ...], NoDecode] = _optional(
        "ECM_EXPORT_SCHEDULE_PLANS", ()
    )
    export_schedule_format: str = _optional("ECM_EXPORT_SCHEDULE_FORMAT", "csv")
    #: Local stack only: AWS's throttling, unprocessed items, transaction conflicts and S3
    #: 5xx at the given rates (``ecm.aws_faults``); unset in every deployment.
    aws_faults: Annotated[FaultRates | None, NoDecode] = _optional(AWS_FAULTS_VARIABLE, None)

    @field_validator("url_allowlist", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("export_schedule_plans", mode="before")
    @classmethod
    def _schedule_plans(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return tuple(
            _plan_code("ECM_EXPORT_SCHEDULE_PLANS", p.strip())
            for p in value.split(",")
            if p.strip()
        )

    @field_validator("inbox_plans", mode="before")
    @classmethod
    def _inbox_plans(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            plans = json.loads(value)
        except ValueError:
            raise ValueError("ECM_INBOX_PLANS must be a JSON object") from None
        if not isinstance(plans, dict):
            raise ValueError("ECM_INBOX_PLANS must be a JSON object")
        for prefix, plan in plans.items():
            if not prefix.startswith("inbox/") or not isinstance(plan, str):
                raise ValueError("ECM_INBOX_PLANS maps inbox/ prefixes to plan codes")
            plans[prefix] = _plan_code("ECM_INBOX_PLANS", plan)
        return plans

    @field_validator("aws_faults", mode="before")
    @classmethod
    def _aws_faults(cls, value: Any) -> Any:
        return parse_faults(value) if isinstance(value, str) else value

    @field_validator("default_webhook_url", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class MissingSetting(RuntimeError):
    """A variable the function needs is not set (a wiring mistake, not a request's fault)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        names = sorted(str(error["loc"][0]) for error in exc.errors() if error["type"] == "missing")
        if names:
            raise MissingSetting(f"missing environment variables: {', '.join(names)}") from None
        raise
