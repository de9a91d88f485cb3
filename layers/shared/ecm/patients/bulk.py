"""POST /patients/bulk_update: the changes of PUT /patients/{id} for up to 1,000 patients in
one request, all or nothing (an administrator records a month's enrollments at once).

Each patient's change goes through the PUT's own steps (``plan_update``: the same checks,
status history, counter deltas, index fields, name keys), all of them first: one invalid
entry and nothing is written. The writes then go through ``bulk_writes`` (transactions of
at most 100 actions, undone if a later one finds a patient changed meanwhile: 409).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, field_validator

from ecm.api.schemas import ObjectBody
from ecm.clock import iso_timestamp
from ecm.errors import ApiError, field_messages
from ecm.models import Patient, PatientKey
from ecm.models.access import batch_read
from ecm.patients.audit import record_audits
from ecm.patients.bulk_writes import Write, WriteConflict, write_all
from ecm.patients.detail import patient_details
from ecm.patients.reading import CHANGED_SINCE_READ, NOT_FOUND, Item
from ecm.patients.update import (
    PatientUpdate,
    PlannedUpdate,
    name_key_changes,
    number_history_entries,
    plan_update,
)

MAX_PATIENTS = 1000


def _entry_id(raw: Any) -> int | None:
    patient_id = raw.get("id") if isinstance(raw, dict) else getattr(raw, "id", None)
    return patient_id if isinstance(patient_id, int) and not isinstance(patient_id, bool) else None


def entry_label(index: int, raw: Any) -> str:
    """How an error names an entry: its place in the list, and its id when it has one."""
    patient_id = _entry_id(raw)
    return f"patients[{index}]" if patient_id is None else f"patients[{index}] (id {patient_id})"


class BulkPatientChange(PatientUpdate):
    id: int = Field(description="The patient's id")


class BulkUpdateRequest(ObjectBody):
    """Change up to 1,000 patients at once, all or nothing; each entry is the ``patient``
    of PUT /patients/{id} with the patient's ``id``."""

    patients: list[BulkPatientChange] = Field(
        description=f"1 to {MAX_PATIENTS:,} entries, one per patient",
        json_schema_extra={"minItems": 1, "maxItems": MAX_PATIENTS},
    )

    @field_validator("patients", mode="wrap")
    @classmethod
    def _each(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Every entry checked, each error naming the entry by index and id (pydantic's
        own location, ``patients.3.first_name``, cannot name the id): a 422 raised from
        here reaches the resolver's error handler as it is."""
        if not isinstance(value, list):
            return handler(value)
        if not 1 <= len(value) <= MAX_PATIENTS:
            raise ApiError(
                422, f"patients must hold 1 to {MAX_PATIENTS:,} entries, not {len(value):,}"
            )
        errors: list[str] = []
        first: dict[int, int] = {}
        changes = []
        for index, raw in enumerate(value):
            label = entry_label(index, raw)
            patient_id = _entry_id(raw)
            if patient_id in first:
                errors.append(f"{label}: the same patient as patients[{first[patient_id]}]")
            elif patient_id is not None:
                first[patient_id] = index
            try:
                changes.append(BulkPatientChange.model_validate(raw))
            except ValidationError as exc:
                errors.extend(f"{label}: {message}" for message in field_messages(exc.errors()))
        if errors:
            raise ApiError(422, *errors)
        return changes


def _plan_all(
    changes: list[BulkPatientChange], user: Item
) -> tuple[list[Item], list[PlannedUpdate | None]]:
    """Each patient as read (consistently) and its planned change (None: unchanged); a 422
    naming every entry that is wrong, before anything is written."""
    read = {int(p["id"]): p for p in batch_read(Patient, [c.id for c in changes])}
    now = iso_timestamp()
    errors: list[str] = []
    priors: list[Item] = []
    plans: list[PlannedUpdate | None] = []
    for index, change in enumerate(changes):
        label = entry_label(index, change)
        prior = read.get(change.id)
        if prior is None:
            errors.append(f"{label}: {NOT_FOUND}")
            continue
        try:
            plans.append(plan_update(prior, change, user, now))
        except ApiError as exc:
            # The PUT's messages name fields from its body's ``patient``; an entry is one.
            errors.extend(f"{label}: {m.removeprefix('patient.')}" for m in exc.messages)
        priors.append(prior)
    if errors:
        raise ApiError(422, *errors)
    return priors, plans


def _writes(changes: list[BulkPatientChange], plans: list[PlannedUpdate | None]) -> list[Write]:
    """The patients' writes (each with its counter deltas), then their name keys'."""
    labelled = [
        (entry_label(index, change), plan)
        for index, (change, plan) in enumerate(zip(changes, plans, strict=True))
        if plan is not None
    ]
    writes = [Write(Patient, p.prior, p.patient, label, p.deltas) for label, p in labelled]
    keys = name_key_changes([p.name_move for _, p in labelled])
    return [*writes, *(Write(PatientKey, k.prior, k.new) for k in keys)]


def _conflict(exc: WriteConflict) -> ApiError:
    messages = [
        f"{label}: {CHANGED_SINCE_READ}; nothing was written"
        if label
        else "A patient of the same name and date of birth as a renamed one was changed since "
        "it was read; reload and retry; nothing was written"
        for label in exc.changed
    ] or [f"{CHANGED_SINCE_READ}; nothing was written"]
    messages += [
        f"{label}: changed by someone else after this request wrote it; that change is kept"
        for label in exc.kept
        if label
    ]
    return ApiError(409, *messages)


def bulk_update(changes: list[BulkPatientChange], user: Item) -> Item:
    """Apply every entry or none: 422 naming each invalid entry, 409 naming each patient
    changed meanwhile; each patient audited as PUT audits it (``update``, or ``read`` when
    its entry changed nothing). The answer: each patient as GET /patients/{id} shows it."""
    priors, plans = _plan_all(changes, user)
    changed = [plan for plan in plans if plan is not None]
    number_history_entries(changed)
    try:
        write_all(_writes(changes, plans))
    except WriteConflict as exc:
        raise _conflict(exc) from None
    pairs = list(zip(priors, plans, strict=True))
    record_audits([(int(p["id"]), "read" if plan is None else "update") for p, plan in pairs], user)
    return {"patients": patient_details([p if plan is None else plan.patient for p, plan in pairs])}
