"""Care activities of a patient (docs/api/patients.md): record one, list them newest first.

Why this shape: the patient detail's ``activities_count`` and ``last_activity_at`` must be
real values that a list never has to count, so each activity is written in one transaction
with the patient item, conditional on the patient's version (a racing writer makes us
re-read and retry, never lose a count). Activities live in their own table keyed by patient
and ``occurred_at#id``, so a page is one query in time order. Notes may hold PHI: they are
stored and returned, never logged or quoted in an error.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pynamodb.exceptions import PynamoDBException

from ecm.api.params import page_window
from ecm.clock import iso_timestamp, utc_now
from ecm.errors import ApiError
from ecm.models import Activity, Patient
from ecm.models.access import (
    all_items,
    as_model,
    condition_failed,
    next_ids,
    put_versioned,
    transaction,
)
from ecm.models.versions import next_version
from ecm.patients.audit import record_audit
from ecm.patients.index_fields import with_index_fields
from ecm.patients.reading import load_patient, parse_patient_id

Item = dict[str, Any]

ACTIVITY_TYPES = (
    "outreach",
    "encounter",
    "care_plan",
    "assessment",
    "care_coordination",
    "other",
)
ACTIVITY_METHODS = ("phone", "in_person", "video", "text", "email", "mail", "other")
MAX_OUTCOME = 255
MAX_NOTE = 4000
MAX_MINUTES = 1440
#: Clock skew allowed between the caller and us for ``occurred_at``.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
#: Re-reads of the patient after a version conflict before answering 409.
RETRIES = 3
CONFLICT = "Patient was changed by someone else while recording the activity; retry"

# A date, a time (seconds and fractions optional) and a zone: "Z" or an offset.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII
)
_TIMESTAMP_MESSAGE = "must be an ISO 8601 timestamp with a time zone, e.g. 2024-11-20T14:30:00Z"


def _optional_text(value: Any) -> str | None:
    """Stripped, blank as absent; the field's max_length bounds what is left."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value.strip() or None


def normalise_timestamp(value: Any) -> str:
    """An ISO 8601 timestamp with a zone, as UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if value is None or value == "":
        raise ValueError("can't be blank")
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value.strip()):
        raise ValueError(_TIMESTAMP_MESSAGE)
    try:
        moment = datetime.fromisoformat(value.strip()).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(_TIMESTAMP_MESSAGE) from None
    if moment < EARLIEST:
        raise ValueError("can't be before 1900-01-01")
    if moment > utc_now() + FUTURE_TOLERANCE:
        raise ValueError("can't be more than 5 minutes in the future")
    return iso_timestamp(moment)


def _required(schema: dict[str, Any]) -> None:
    schema["required"] = ["type", "occurred_at"]


class ActivityCreate(BaseModel):
    """POST body's ``activity``; validators run before type coercion so messages are ours
    (``type`` and ``occurred_at`` are required: their validators say so when absent)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_required, strict=True)

    type: str = Field(None, validate_default=True, min_length=1)
    occurred_at: str = Field(None, validate_default=True, min_length=1)
    method: str | None = None
    outcome: str | None = Field(None, max_length=MAX_OUTCOME)
    minutes: int | None = Field(None, ge=0, le=MAX_MINUTES)
    successful: bool | None = Field(
        None, description="Outreach: whether the attempt reached the member (unknown if absent)"
    )
    note: str | None = Field(None, max_length=MAX_NOTE)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> str:
        if value is None or value == "":
            raise ValueError("can't be blank")
        if value not in ACTIVITY_TYPES:
            raise ValueError(f"must be one of {', '.join(ACTIVITY_TYPES)}")
        return str(value)

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at(cls, value: Any) -> str:
        return normalise_timestamp(value)

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str | None:
        if value is None:
            return None
        if value not in ACTIVITY_METHODS:
            raise ValueError(f"must be one of {', '.join(ACTIVITY_METHODS)}")
        return str(value)

    _texts = field_validator("outcome", "note", mode="before")(_optional_text)

    @model_validator(mode="after")
    def _successful_is_outreach(self) -> ActivityCreate:
        if self.successful is not None and self.type != "outreach":
            raise ValueError("successful is recorded for outreach activities only")
        return self

    @field_validator("minutes", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> int | None:
        if value is None:
            return None
        if type(value) is not int or not 0 <= value <= MAX_MINUTES:
            raise ValueError(f"must be an integer between 0 and {MAX_MINUTES}")
        return value


def activity_body(item: Item) -> Item:
    return {
        "id": item["id"],
        "patient_id": item["patient_id"],
        "type": item.get("type"),
        "occurred_at": item.get("occurred_at"),
        "method": item.get("method"),
        "outcome": item.get("outcome"),
        "minutes": item.get("minutes"),
        "successful": item.get("successful"),
        "note": item.get("note"),
        "created_by": item.get("created_by"),
        "created_at": item.get("created_at"),
    }


def _record(patient_id: int, activity: Item) -> None:
    """Put the activity and bump the patient's count in one transaction, retrying conflicts."""
    for attempt in range(RETRIES + 1):
        prior = load_patient(patient_id)
        last = prior.get("last_activity_at")
        patient = {
            **prior,
            "activities_count": int(prior.get("activities_count") or 0) + 1,
            "last_activity_at": max(last, activity["occurred_at"])
            if last
            else activity["occurred_at"],
            "version": next_version(prior),
            "updated_at": iso_timestamp(),
            "last_import": "api",
        }
        with_index_fields(patient)
        try:
            with transaction() as writes:
                writes.save(
                    as_model(Activity, activity), condition=Activity.activity_key.does_not_exist()
                )
                put_versioned(writes, Patient, patient, prior)
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise
            if attempt < RETRIES:
                # Full jitter, so writers that collided once do not collide again in step.
                time.sleep(secrets.randbelow(25 * 2**attempt) / 1000)
        else:
            return
    raise ApiError(409, CONFLICT)


def create_activity(raw_patient_id: str, request: ActivityCreate, user: Item) -> Item:
    """POST /patients/{id}/activities: store with the patient's count, audit."""
    patient_id = parse_patient_id(raw_patient_id)
    load_patient(patient_id)  # 404 before an id is spent
    _, activity_id = next_ids("activity")
    activity: Item = {
        "patient_id": patient_id,
        "activity_key": f"{request.occurred_at}#{activity_id:012d}",
        "id": activity_id,
        "type": request.type,
        "occurred_at": request.occurred_at,
        "method": request.method,
        "outcome": request.outcome,
        "minutes": request.minutes,
        "successful": request.successful,
        "note": request.note,
        "created_by": user.get("name") or f"user {user.get('user_id')}",
        "created_at": iso_timestamp(),
    }
    _record(patient_id, activity)
    record_audit(patient_id, user, "activity")
    return {"activity": activity_body(activity)}


def list_activities(raw_patient_id: str, page: int | None, per_page: int | None) -> Item:
    """GET /patients/{id}/activities: newest first; the total is the patient's counter."""
    patient_id = parse_patient_id(raw_patient_id)
    page, per_page = page_window(page, per_page)
    patient = load_patient(patient_id)
    total = int(patient.get("activities_count") or 0)
    wanted = page * per_page
    items: list[Item] = []
    if (page - 1) * per_page < total:
        newest_first = Activity.query(
            patient_id, scan_index_forward=False, consistent_read=True, limit=wanted
        )
        items = list(all_items(newest_first))
    return {
        "activities": [activity_body(i) for i in items[(page - 1) * per_page : wanted]],
        "pagination": {
            "current_page": page,
            "total_pages": math.ceil(total / per_page) if total else 0,
            "total_count": total,
            "per_page": per_page,
        },
    }
