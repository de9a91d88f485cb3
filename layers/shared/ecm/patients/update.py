"""PUT /patients/{id} (docs/api/patients.md): names, date of birth, acuity and status, with the
status history; a concurrent change between our read and write is a 409, never lost."""

from __future__ import annotations

from collections import Counter
from datetime import date

from pydantic import Field, field_validator
from pynamodb.transactions import TransactWrite

from ecm.api.schemas import RequestBody
from ecm.clock import DATE_FORMAT, iso_timestamp, parse_iso_date
from ecm.errors import ApiError
from ecm.kinds.authorization.member_status import DISCONTINUATION_FIELDS, TERMINATED, change_status
from ecm.kinds.values import person_name
from ecm.models import Patient, PatientKey
from ecm.models.access import as_model, get, next_ids, put_versioned
from ecm.models.versions import versioned
from ecm.patients.audit import record_audit
from ecm.patients.choices import AcuityField, DiscontinuationReasonField, MemberStatusField
from ecm.patients.counts import add_count_updates, add_deltas
from ecm.patients.detail import patient_detail_body
from ecm.patients.index_fields import with_index_fields
from ecm.patients.items import name_key, patient_name_key
from ecm.patients.reading import Item, load_patient, parse_patient_id, patient_change

ELIGIBILITY = "patient.ecm_eligibility_information"
#: The eligibility fields a PUT may change (acuity and status, and what return files report).
ELIGIBILITY_FIELDS = (
    "acuity_level",
    "member_record_status",
    "ecm_enrollment_start_date",
    "ecm_enrollment_end_date",
    *DISCONTINUATION_FIELDS,
)


def _iso_date(value: str | None) -> str | None:
    if value is not None and parse_iso_date(value).year < 1900:
        raise ValueError(DATE_FORMAT)
    return value


class EligibilityUpdate(RequestBody):
    acuity_level: AcuityField = None
    member_record_status: MemberStatusField = None
    ecm_enrollment_start_date: str | None = Field(None, description="YYYY-MM-DD")
    ecm_enrollment_end_date: str | None = Field(None, description="YYYY-MM-DD")
    discontinuation_reason: DiscontinuationReasonField = Field(
        None, description="Why ECM ended; only with member_record_status terminated_member"
    )
    discontinuation_date: str | None = Field(
        None, description="YYYY-MM-DD; defaults to the day the member becomes terminated_member"
    )

    _dates = field_validator(
        "ecm_enrollment_start_date", "ecm_enrollment_end_date", "discontinuation_date"
    )(_iso_date)


class PatientUpdate(RequestBody):
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    ecm_eligibility_information: EligibilityUpdate | None = None

    @field_validator("first_name", "last_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("can't be blank")
        return None if value is None else person_name(value)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: str | None) -> str | None:
        if value is not None and parse_iso_date(value) > date.today():
            raise ValueError("can't be in the future")
        return value


def _move_name_key(
    writes: TransactWrite, old: str | None, new: str | None, patient_id: int
) -> None:
    """Move a patient between name keys in ``writes`` (matching stays right), each write
    conditional on the key's version as read."""
    if old == new:
        return
    for key, add in ((old, False), (new, True)):
        if not key:
            continue
        current = get(PatientKey, key)
        ids = [int(i) for i in (current or {}).get("patient_ids", [])]
        ids = [*ids, patient_id] if add and patient_id not in ids else ids
        if not add:
            ids = [i for i in ids if i != patient_id]
        if ids:
            item = versioned({"key": key, "patient_ids": ids, "last_import": "api"}, current)
            put_versioned(writes, PatientKey, item, current)
        elif current:
            writes.delete(as_model(PatientKey, current))


def _unchanged(prior: Item, patient: Item) -> bool:
    """Whether a PUT left every field it may change as it was."""
    before, after = prior.get("eligibility") or {}, patient.get("eligibility") or {}
    return all(
        prior.get(f) == patient.get(f) for f in ("first_name", "last_name", "date_of_birth")
    ) and all(before.get(f) == after.get(f) for f in ELIGIBILITY_FIELDS)


def _change_eligibility(
    eligibility: Item, update: EligibilityUpdate, now: str, by: str
) -> Item | None:
    """Apply the eligibility part of a PUT in place; answer the new history entry, if any.
    A discontinuation reason or date belongs to a terminated member (422 otherwise), and
    enrollment and discontinuation dates must keep their order."""
    if update.acuity_level is not None:
        eligibility["acuity_level"] = update.acuity_level
    for field in ("ecm_enrollment_start_date", "ecm_enrollment_end_date"):
        if getattr(update, field) is not None:
            eligibility[field] = getattr(update, field)
    discontinuation = {
        field: getattr(update, field)
        for field in DISCONTINUATION_FIELDS
        if getattr(update, field) is not None
    }
    status = update.member_record_status or eligibility.get("member_record_status")
    if discontinuation and status != TERMINATED:
        raise ApiError(
            422,
            f"{ELIGIBILITY}.discontinuation_reason and discontinuation_date need "
            f"member_record_status {TERMINATED}",
        )
    entry = None
    if status != eligibility.get("member_record_status"):
        entry = change_status(
            eligibility,
            str(status),
            now=now,
            by=by,
            reason=update.discontinuation_reason,
            day=update.discontinuation_date,
        )
    else:
        eligibility.update(discontinuation)
    start, end = (
        eligibility.get("ecm_enrollment_start_date"),
        eligibility.get("ecm_enrollment_end_date"),
    )
    if start and end and end < start:
        raise ApiError(
            422, f"{ELIGIBILITY}.ecm_enrollment_end_date can't be before ecm_enrollment_start_date"
        )
    stopped = eligibility.get("discontinuation_date")
    if start and stopped and stopped < start:
        raise ApiError(
            422, f"{ELIGIBILITY}.discontinuation_date can't be before ecm_enrollment_start_date"
        )
    return entry


def update_patient(raw_id: str, change: PatientUpdate, user: Item) -> Item:
    """Apply a PUT; a concurrent change between our read and write is a 409, never lost."""
    patient_id = parse_patient_id(raw_id)
    prior = load_patient(patient_id)
    now = iso_timestamp()
    patient = {**prior, "eligibility": dict(prior.get("eligibility") or {})}
    for field in ("first_name", "last_name", "date_of_birth"):
        value = getattr(change, field)
        if value is not None:
            patient[field] = value
    patient["name"] = f"{patient['first_name']} {patient['last_name']}"
    eligibility = patient["eligibility"]
    history = list(patient.get("ecm_status_history") or [])
    if change.ecm_eligibility_information is not None:
        by = user.get("name") or f"user {user.get('user_id')}"
        entry = _change_eligibility(eligibility, change.ecm_eligibility_information, now, by)
        if entry is not None:
            _, entry["id"] = next_ids("status_history")
            history.append(entry)
    if _unchanged(prior, patient):
        # Nothing to write (an empty body, or the values it already has): no version bump,
        # no history entry; the answer is still a read of the patient.
        record_audit(patient_id, user, "read")
        return patient_detail_body(prior)
    if change.ecm_eligibility_information is not None:
        eligibility["updated_at"] = now
    patient["ecm_status_history"] = history
    patient["updated_at"] = now
    versioned(patient, prior)
    patient["last_import"] = "api"
    with_index_fields(patient)
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    with patient_change() as writes:
        put_versioned(writes, Patient, patient, prior)
        _move_name_key(
            writes,
            patient_name_key(prior),
            name_key(patient["first_name"], patient["last_name"], patient.get("date_of_birth")),
            patient_id,
        )
        add_count_updates(writes, dict(deltas))
    record_audit(patient_id, user, "update")
    return patient_detail_body(patient)
