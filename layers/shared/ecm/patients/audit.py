"""The audit trail: who read or changed which patient, and when (HIPAA access log)."""

from __future__ import annotations

import uuid

from ecm.api.params import page_window
from ecm.clock import iso_timestamp
from ecm.models import AuditEntry
from ecm.models.access import all_items
from ecm.patients.reading import Item, load_patient, parse_patient_id
from ecm.store import batch_write


def audit_entry(patient_id: int, user: Item, action: str) -> AuditEntry:
    """Who read or changed which patient, and when (HIPAA access log)."""
    at = iso_timestamp()
    return AuditEntry(
        patient_id,
        f"{at}#{uuid.uuid4().hex[:8]}",
        action=action,
        user_id=str(user.get("user_id")),
        user_name=user.get("name"),
        recorded_at=at,
    )


def record_audit(patient_id: int, user: Item, action: str) -> None:
    audit_entry(patient_id, user, action).save()


def record_audits(entries: list[tuple[int, str]], user: Item) -> None:
    """One audit entry per ``(patient_id, action)``, 25 a BatchWriteItem (a bulk change
    audits each patient it read or changed, as a PUT does)."""
    requests = [
        {"PutRequest": {"Item": audit_entry(patient_id, user, action).serialize()}}
        for patient_id, action in entries
    ]
    batch_write(AuditEntry.Meta.table_name, requests)


def list_audit(raw_id: str, page: int | None, per_page: int | None) -> Item:
    patient_id = parse_patient_id(raw_id)
    page, per_page = page_window(page, per_page)
    load_patient(patient_id)
    newest_first = AuditEntry.query(patient_id, scan_index_forward=False, limit=page * per_page)
    entries = list(all_items(newest_first))
    window = entries[(page - 1) * per_page :]
    return {
        "audit_entries": [
            {
                "patient_id": e["patient_id"],
                "action": e["action"],
                "user_id": e["user_id"],
                "user_name": e.get("user_name"),
                "at": e["recorded_at"],
            }
            for e in window
        ]
    }
