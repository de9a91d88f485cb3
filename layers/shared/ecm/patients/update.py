"""PUT /patients/{id} (docs/api/patients.md): names, date of birth, acuity and status, with the
status history; a concurrent change between our read and write is a 409, never lost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from pydantic import Field, field_validator
from pynamodb.transactions import TransactWrite

from ecm.api.schemas import PersonName, RequestBody
from ecm.clock import iso_timestamp, parse_iso_date, request_date
from ecm.errors import ApiError
from ecm.kinds.authorization.member_status import DISCONTINUATION_FIELDS, TERMINATED, change_status
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
from ecm.patients.referral_update import ReferralUpdate, change_referral

ELIGIBILITY = "patient.ecm_eligibility_information"
#: The eligibility fields a PUT may change (acuity and status, and what return files report).
ELIGIBILITY_FIELDS = (
    "acuity_level",
    "member_record_status",
    "ecm_enrollment_start_date",
    "ecm_enrollment_end_date",
    *DISCONTINUATION_FIELDS,
    "referral",
)


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

    referral: ReferralUpdate | None = Field(
        None, description="The member's referral: its status set by hand, its dates"
    )

    _dates = field_validator(
        "ecm_enrollment_start_date", "ecm_enrollment_end_date", "discontinuation_date"
    )(request_date)


class PatientUpdate(RequestBody):
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    date_of_birth: str | None = None
    ecm_eligibility_information: EligibilityUpdate | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: str | None) -> str | None:
        if value is not None and parse_iso_date(value) > date.today():
            raise ValueError("can't be in the future")
        return value


@dataclass
class KeyChange:
    """One name key's write: ``new`` over ``prior`` (either None: created or deleted)."""

    prior: Item | None
    new: Item | None


def name_key_changes(moves: list[tuple[str | None, str | None, int]]) -> list[KeyChange]:
    """The name-key writes of patients moving between keys (``(old, new, id)`` each), one
    write per key whatever number of patients move through it, so that matching stays
    right; each key is read here, its write conditional on the version read."""
    ids_of: dict[str, list[int]] = {}
    priors: dict[str, Item | None] = {}
    for old, new, patient_id in moves:
        if old == new:
            continue
        for key, add in ((old, False), (new, True)):
            if not key:
                continue
            if key not in priors:
                priors[key] = get(PatientKey, key)
                ids_of[key] = [int(i) for i in (priors[key] or {}).get("patient_ids", [])]
            ids = ids_of[key]
            if add and patient_id not in ids:
                ids.append(patient_id)
            elif not add:
                ids_of[key] = [i for i in ids if i != patient_id]
    changes = []
    for key, current in priors.items():
        ids = ids_of[key]
        if ids:
            item = versioned({"key": key, "patient_ids": ids, "last_import": "api"}, current)
            changes.append(KeyChange(current, item))
        elif current:
            changes.append(KeyChange(current, None))
    return changes


def add_key_change(writes: TransactWrite, change: KeyChange) -> None:
    """Write one name key in ``writes``, conditional on its version as read."""
    if change.new is not None:
        put_versioned(writes, PatientKey, change.new, change.prior)
    elif change.prior is not None:
        writes.delete(as_model(PatientKey, change.prior))


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


@dataclass
class PlannedUpdate:
    """A patient's next version, computed from the version read and not yet written."""

    prior: Item
    patient: Item
    #: the new status history entry (in ``patient``'s history), its id given just before
    #: the write so that a refused change reserves none
    entry: Item | None
    deltas: Counter[str]

    @property
    def name_move(self) -> tuple[str | None, str | None, int]:
        patient = self.patient
        new = name_key(patient["first_name"], patient["last_name"], patient.get("date_of_birth"))
        return patient_name_key(self.prior), new, int(patient["id"])


def plan_update(prior: Item, change: PatientUpdate, user: Item, now: str) -> PlannedUpdate | None:
    """What a PUT makes of ``prior``; None when it changes nothing (an empty body, or the
    values it already has: no version bump, no history entry). 422 (``ApiError``) for
    values that contradict each other or the patient."""
    patient = {**prior, "eligibility": dict(prior.get("eligibility") or {})}
    for field in ("first_name", "last_name", "date_of_birth"):
        value = getattr(change, field)
        if value is not None:
            patient[field] = value
    patient["name"] = f"{patient['first_name']} {patient['last_name']}"
    history = list(patient.get("ecm_status_history") or [])
    entry = None
    if change.ecm_eligibility_information is not None:
        by = user.get("name") or f"user {user.get('user_id')}"
        eligibility = patient["eligibility"]
        update = change.ecm_eligibility_information
        entry = _change_eligibility(eligibility, update, now, by)
        if entry is not None:
            history.append(entry)
        change_referral(prior, eligibility, update.referral, now, by)
    if _unchanged(prior, patient):
        return None
    if change.ecm_eligibility_information is not None:
        patient["eligibility"]["updated_at"] = now
    patient["ecm_status_history"] = history
    patient["updated_at"] = now
    versioned(patient, prior)
    patient["last_import"] = "api"
    with_index_fields(patient)
    deltas: Counter[str] = Counter()
    add_deltas(deltas, prior, patient)
    return PlannedUpdate(prior, patient, entry, deltas)


def number_history_entries(planned: list[PlannedUpdate]) -> None:
    """Give the new status history entries their ids, reserved in one counter update."""
    entries = [p.entry for p in planned if p.entry is not None]
    if entries:
        first, _ = next_ids("status_history", len(entries))
        for offset, entry in enumerate(entries, start=1):
            entry["id"] = first + offset


def update_patient(raw_id: str, change: PatientUpdate, user: Item) -> Item:
    """Apply a PUT; a concurrent change between our read and write is a 409, never lost."""
    patient_id = parse_patient_id(raw_id)
    prior = load_patient(patient_id)
    planned = plan_update(prior, change, user, iso_timestamp())
    if planned is None:
        # The answer is still a read of the patient.
        record_audit(patient_id, user, "read")
        return patient_detail_body(prior)
    number_history_entries([planned])
    with patient_change() as writes:
        put_versioned(writes, Patient, planned.patient, prior)
        for key_change in name_key_changes([planned.name_move]):
            add_key_change(writes, key_change)
        add_count_updates(writes, dict(planned.deltas))
    record_audit(patient_id, user, "update")
    return patient_detail_body(planned.patient)
