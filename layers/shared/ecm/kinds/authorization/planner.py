"""Authorization matching: create or update by AUTH_NO, link to the member's patient and
eligibility record, and change member statuses in decision-date order.

Authorizations are planned chunk by chunk; the patients whose status they change are
planned once at the end (``finish``), because one member's authorizations may be spread
over the whole file. An authorization for a member not known yet is stored unlinked and
listed under ``pending#<MEMBER_ID>`` so the MIF import that brings the member links it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecm.kinds.authorization.member_status import (
    AuthorizationEvent,
    apply_authorization_events,
    assign_history_ids,
)
from ecm.kinds.plan_entry import PlanEntry
from ecm.models.versions import next_version, versioned
from ecm.patients.items import member_key
from ecm.patients.referrals import authorization_received

Item = dict[str, Any]
BATCH = 100
MAX_WARNINGS = 100
_LINK_FIELDS = ("patient_id", "ecm_eligibility_information_id", "patient_name")


class AuthorizationLookup(Protocol):
    def get_keys(self, keys: list[str]) -> dict[str, Item]: ...

    def get_patients(self, ids: list[int]) -> dict[int, Item]: ...

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]: ...

    def reserve(self, counter: str, count: int) -> int: ...


def pending_key(member_id: str) -> str:
    return "pending#" + member_id.strip().upper()


def authorization_snapshot(item: Item) -> Item:
    """What an authorization file's detail lists for one row, frozen at import time."""
    keys = (
        "id",
        "auth_no",
        "auth_type",
        "auth_description",
        "member_id",
        "member_name",
        "authorization_type",
        "status",
        "requesting_provider",
        "servicing_provider",
        "received_date",
        "decision_date",
        "start_date",
        "expiration_date",
        "contact_name",
        "remarks",
        "ecm_eligibility_information_id",
        "patient_id",
        "patient_name",
        "created_at",
        "updated_at",
    )
    return {k: item.get(k) for k in keys}


def build_authorization(
    prior: Item | None,
    record: Item,
    auth_id: int,
    patient: Item | None,
    file_id: int,
    tag: str,
    now: str,
) -> Item:
    old = prior or {}
    same_member = str(old.get("member_id") or "").strip().upper() == (
        str(record.get("member_id") or "").strip().upper()
    )
    if not same_member:
        # The row moved the authorization to another member: the old link is not theirs.
        old = {k: v for k, v in old.items() if k not in _LINK_FIELDS}
    linked = patient or {}
    eligibility_id = linked.get("eligibility_id", old.get("ecm_eligibility_information_id"))
    return {
        **record,
        "id": auth_id,
        "patient_id": linked.get("id", old.get("patient_id")),
        "ecm_eligibility_information_id": eligibility_id,
        "patient_name": linked.get("name", old.get("patient_name")),
        "authorization_file_id": file_id,
        "created_at": old.get("created_at") or now,
        "updated_at": now,
        "version": next_version(old),
        "last_import": tag,
    }


@dataclass
class AuthorizationPlanner:
    file_id: int
    lookup: AuthorizationLookup
    now: str
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unlinked_count: int = 0
    members: dict[str, Item | None] = field(default_factory=dict)
    events: dict[int, list[AuthorizationEvent]] = field(default_factory=dict)
    unlinked: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"authorization#{self.file_id}"

    def _resolve_members(self, member_ids: set[str]) -> None:
        missing = [m for m in member_ids if m not in self.members]
        if not missing:
            return
        keys = self.lookup.get_keys([member_key(m) for m in missing])
        ids = {m: int(keys[member_key(m)]["patient_id"]) for m in missing if member_key(m) in keys}
        patients = self.lookup.get_patients(list(set(ids.values())))
        for member in missing:
            patient = patients.get(ids.get(member, -1))
            self.members[member] = (
                {
                    "id": patient["id"],
                    "eligibility_id": (patient.get("eligibility") or {}).get("id"),
                    "name": patient.get("name"),
                }
                if patient
                else None
            )

    def plan_chunk(self, rows: list[tuple[int, Item]]) -> list[PlanEntry]:
        priors = self.lookup.get_authorizations([r["auth_no"] for _, r in rows])
        self._resolve_members({r["member_id"].upper() for _, r in rows})
        new_count = sum(1 for _, r in rows if r["auth_no"] not in priors)
        next_id = self.lookup.reserve("authorization", new_count) if new_count else 0
        entries: list[PlanEntry] = []
        for row_number, record in rows:
            prior = priors.get(record["auth_no"])
            if prior is None:
                auth_id, next_id = next_id, next_id + 1
                self.created += 1
            else:
                auth_id = int(prior["id"])
                self.updated += 1
            member = record["member_id"].upper()
            patient = self.members.get(member)
            item = build_authorization(
                prior, record, auth_id, patient, self.file_id, self.tag, self.now
            )
            if patient is not None:
                self.events.setdefault(int(patient["id"]), []).append(
                    AuthorizationEvent(
                        record["auth_no"],
                        record.get("status"),
                        record.get("decision_date"),
                        row_number,
                        record.get("received_date"),
                    )
                )
            elif item.get("patient_id") is None:
                self.unlinked.setdefault(member, []).append(record["auth_no"])
                self.unlinked_count += 1
                if len(self.warnings) < MAX_WARNINGS:
                    self.warnings.append(
                        f"Row {row_number}: member '{record['member_id']}' is not known yet; the "
                        "authorization is stored unlinked and linked when a MIF brings the member"
                    )
            entries.append(
                PlanEntry(
                    "authorizations",
                    prior,
                    put=item,
                    row=row_number,
                    snapshot=authorization_snapshot(item),
                )
            )
        return entries

    def finish(self) -> Iterator[PlanEntry]:
        """Patient status changes (in decision order) and the pending keys of unknown members."""
        patient_ids = sorted(self.events)
        for start in range(0, len(patient_ids), BATCH):
            batch = patient_ids[start : start + BATCH]
            priors = self.lookup.get_patients(batch)
            changed: list[tuple[Item, Item]] = []
            for patient_id in batch:
                prior = priors.get(patient_id)
                if prior is None:
                    continue
                patient = {**prior, "eligibility": dict(prior.get("eligibility") or {})}
                events = self.events[patient_id]
                added = apply_authorization_events(patient, events, self.now)
                dated = authorization_received(patient, [e.received_date for e in events])
                if (
                    added
                    or dated
                    or patient["approved_auth_nos"] != (prior.get("approved_auth_nos") or [])
                    or patient.get("latest_authorization") != prior.get("latest_authorization")
                ):
                    versioned(patient, prior)
                    patient["last_import"] = self.tag
                    patient["updated_at"] = self.now
                    changed.append((prior, patient))
            new_history = sum(
                1 for _, p in changed for h in p["ecm_status_history"] if h["id"] is None
            )
            if new_history:
                first = self.lookup.reserve("status_history", new_history)
                assign_history_ids([p for _, p in changed], first)
            for prior, patient in changed:
                yield PlanEntry("patients", prior, put=patient)
        members = sorted(self.unlinked)
        for start in range(0, len(members), BATCH):
            batch_members = members[start : start + BATCH]
            existing = self.lookup.get_keys([pending_key(m) for m in batch_members])
            for member in batch_members:
                key = pending_key(member)
                prior = existing.get(key)
                auth_nos = list((prior or {}).get("auth_nos") or [])
                auth_nos += [a for a in self.unlinked[member] if a not in auth_nos]
                item = {"key": key, "auth_nos": auth_nos, "last_import": self.tag}
                yield PlanEntry("keys", prior, put=versioned(item, prior))
