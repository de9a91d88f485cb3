"""MIF matching: decide, for every valid row, which patient it creates or updates.

Rules (docs/using/mif-imports.md, Matching): match on MEMBER_ID first; else on first + last name +
date of birth (case/space-insensitive), but only a patient with no member id: two member ids are two
members, never merged (a warning names both). A name alone never merges two people whose
dates of birth differ. Two existing patients matching one row, or two rows matching one
patient, are errors.
The planner reads through a ``PatientLookup`` so it runs the same against DynamoDB and a
dictionary in unit tests; it batches every read per chunk.
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
from ecm.kinds.authorization.planner import pending_key
from ecm.kinds.mif.changes import ChangeTracker
from ecm.kinds.mif.plan_fields import PlanFields
from ecm.kinds.plan_entry import PlanEntry
from ecm.models.versions import versioned
from ecm.patients.items import (
    build_patient,
    eligibility_snapshot,
    member_key,
    name_key,
    patient_name_key,
)
from ecm.patients.providers import ProviderDirectory
from ecm.patients.referrals import authorization_received, keep_referral

Item = dict[str, Any]

#: ``_match_by_name``'s answer when several stored patients could be the row's.
AMBIGUOUS = -1


class PatientLookup(Protocol):
    def get_keys(self, keys: list[str]) -> dict[str, Item]: ...

    def get_patients(self, ids: list[int]) -> dict[int, Item]: ...

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]: ...

    def reserve(self, counter: str, count: int) -> int:
        """Reserve ``count`` ids and return the first."""
        ...


@dataclass
class NameKeyState:
    prior: Item | None
    ids: list[int]
    dirty: bool = False


@dataclass
class MifPlanner:
    file_id: int
    lookup: PatientLookup
    providers: ProviderDirectory
    now: str
    #: the health plan the file came from, if it names one (kept on each eligibility record)
    plan: str | None = None
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    used: dict[int, int] = field(default_factory=dict)
    created_ids: set[int] = field(default_factory=set)
    names: dict[str, NameKeyState] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    linked_authorizations: int = 0
    #: what the file changes against its plan's list (without one: the snapshots only)
    changes: ChangeTracker = field(default_factory=ChangeTracker)
    #: the file's kept columns, merged into each member's plan fields
    plan_fields: PlanFields = field(default_factory=PlanFields)

    @property
    def tag(self) -> str:
        return f"mif#{self.file_id}"

    def _load_names(self, keys: set[str]) -> None:
        missing = [k for k in keys if k not in self.names]
        if not missing:
            return
        found = self.lookup.get_keys(missing)
        for key in missing:
            item = found.get(key)
            ids = [int(i) for i in item.get("patient_ids", [])] if item else []
            self.names[key] = NameKeyState(prior=item, ids=ids)

    def plan_chunk(self, rows: list[tuple[int, Item]]) -> list[PlanEntry]:
        # Each row's member key and name key, computed once.
        keyed = [
            (
                row_number,
                record,
                member_key(record["member_id"]),
                name_key(record["first_name"], record["last_name"], record["date_of_birth"]),
            )
            for row_number, record in rows
        ]
        members = self.lookup.get_keys([mk for _, _, mk, _ in keyed])
        self._load_names({nk for _, _, mk, nk in keyed if nk and mk not in members})
        # The patients a name + DOB could match: each one's member id decides (read once,
        # and kept as the prior image of the patient a row then updates).
        candidates = self.lookup.get_patients(
            sorted(
                {
                    i
                    for _, _, mk, nk in keyed
                    if nk and mk not in members
                    for i in self.names[nk].ids
                    if i not in self.created_ids
                }
            )
        )

        targets: list[tuple[int, Item, str, int | None]] = []
        for row_number, record, mk, nk in keyed:
            hit = members.get(mk)
            patient_id: int | None = int(hit["patient_id"]) if hit else None
            if patient_id is None and nk:
                patient_id = self._match_by_name(row_number, record, nk, candidates)
                if patient_id == AMBIGUOUS:
                    continue
            if patient_id is not None:
                if patient_id in self.used:
                    self.errors.append(
                        f"Row {row_number}: matches the same patient as row {self.used[patient_id]}"
                    )
                    continue
                self.used[patient_id] = row_number
            targets.append((row_number, record, mk, patient_id))

        priors = {pid: candidates[pid] for _, _, _, pid in targets if pid in candidates}
        priors.update(
            self.lookup.get_patients(
                [pid for _, _, _, pid in targets if pid is not None and pid not in priors]
            )
        )
        # A key may point at a patient item that is gone: that row creates a patient too.
        new_count = sum(1 for _, _, _, pid in targets if pid is None or pid not in priors)
        next_patient = self.lookup.reserve("patient", new_count) if new_count else 0
        next_elig = self.lookup.reserve("eligibility", new_count) if new_count else 0
        old_names = {nk for pid in priors if (nk := patient_name_key(priors[pid]))}
        self._load_names(old_names | {nk for _, _, _, nk in keyed if nk})

        entries: list[PlanEntry] = []
        built: list[tuple[int, Item | None, Item]] = []
        new_members: dict[str, Item] = {}
        for row_number, record, mk, matched_id in targets:
            prior = priors.get(matched_id) if matched_id is not None else None
            if matched_id is None or prior is None:
                patient_id, eligibility_id = next_patient, next_elig
                next_patient += 1
                next_elig += 1
                self.created_ids.add(patient_id)
                self.used[patient_id] = row_number
                self.created += 1
            else:
                patient_id = matched_id
                eligibility_id = int(prior["eligibility"]["id"])
                self.updated += 1
            provider = self.providers.find(record.get("ecm_npi"), record.get("ecm_provider_name"))
            patient = build_patient(
                prior,
                record,
                patient_id,
                eligibility_id,
                self.file_id,
                provider,
                self.tag,
                self.now,
                plan=self.plan,
            )
            keep_referral(patient)
            self.changes.row(prior, patient, record)
            self.plan_fields.apply(prior, patient, record)
            built.append((row_number, prior, patient))
            key_item = members.get(mk)
            if key_item is None or int(key_item["patient_id"]) != patient_id:
                # New member, or a member key left pointing at a missing patient: (re)point it.
                item = versioned(
                    {"key": mk, "patient_id": patient_id, "last_import": self.tag}, key_item
                )
                entries.append(PlanEntry("keys", key_item, put=item, row=row_number))
                members[mk] = item
                new_members[record["member_id"].upper()] = patient
            self._move_name(prior, patient, patient_id)
        entries.extend(self._link_pending_authorizations(new_members))
        for row_number, prior, patient in built:
            entries.append(
                PlanEntry(
                    "patients",
                    prior,
                    put=patient,
                    row=row_number,
                    snapshot=eligibility_snapshot(patient),
                )
            )
        return entries

    def _match_by_name(
        self, row_number: int, record: Item, nk: str, candidates: dict[int, Item]
    ) -> int | None:
        """The stored patient a row with a new member id is, by name and date of birth.

        Only a patient with no member id (or this one) can be: two member ids (CINs) are two
        Medi-Cal members whatever their names, so a look-alike with another id gets a new
        patient beside it and a warning naming both ids, never a merge. ``AMBIGUOUS`` when
        several patients could be this one (an error on the row).
        """
        member = record["member_id"].strip().upper()
        same: list[int] = []
        others: list[tuple[int, str]] = []
        for candidate in self.names[nk].ids:
            patient = candidates.get(candidate)
            if patient is None or candidate in self.created_ids:
                continue  # a key left pointing at a missing patient, or one this file made
            stored = str((patient.get("eligibility") or {}).get("member_id") or "")
            if stored.strip().upper() in ("", member):
                same.append(candidate)
            else:
                others.append((candidate, stored))
        if len(same) > 1:
            self.errors.append(
                f"Row {row_number}: ambiguous match: {len(same)} patients have this name and "
                "date of birth and none has this member ID"
            )
            return AMBIGUOUS
        if same:
            return same[0]
        for candidate, stored in others:
            self.warnings.append(
                f"Row {row_number}: member ID '{record['member_id']}' is new; patient "
                f"{candidate} (member ID '{stored}') has the same name and date of birth. "
                "A new patient was created: two member IDs are two members, never merged"
            )
        return None

    def _link_pending_authorizations(self, new_members: dict[str, Item]) -> list[PlanEntry]:
        """Authorizations stored before their member was known: link them, apply statuses."""
        if not new_members:
            return []
        pending = self.lookup.get_keys([pending_key(m) for m in new_members])
        if not pending:
            return []
        auth_nos = [a for item in pending.values() for a in item.get("auth_nos", [])]
        authorizations = self.lookup.get_authorizations(auth_nos)
        entries: list[PlanEntry] = []
        touched: list[Item] = []
        for member, patient in new_members.items():
            key = pending_key(member)
            waiting = pending.get(key)
            if waiting is None:
                continue
            events = []
            for auth_no in waiting.get("auth_nos", []):
                auth = authorizations.get(auth_no)
                if auth is None or auth.get("patient_id") is not None:
                    continue
                linked = {
                    **auth,
                    "patient_id": patient["id"],
                    "ecm_eligibility_information_id": patient["eligibility"]["id"],
                    "patient_name": patient["name"],
                    "updated_at": self.now,
                    "last_import": self.tag,
                }
                entries.append(PlanEntry("authorizations", auth, put=versioned(linked, auth)))
                events.append(
                    AuthorizationEvent(
                        auth_no,
                        auth.get("status"),
                        auth.get("decision_date"),
                        int(auth["id"]),
                        auth.get("received_date"),
                    )
                )
            if apply_authorization_events(patient, events, self.now):
                touched.append(patient)
            authorization_received(patient, [e.received_date for e in events])
            entries.append(PlanEntry("keys", waiting, delete={"key": key}))
            self.linked_authorizations += len(events)
        new_history = sum(1 for p in touched for h in p["ecm_status_history"] if h["id"] is None)
        if new_history:
            assign_history_ids(touched, self.lookup.reserve("status_history", new_history))
        return entries

    def _move_name(self, prior: Item | None, patient: Item, patient_id: int) -> None:
        old = patient_name_key(prior) if prior else None
        new = patient_name_key(patient)
        if old == new:
            return
        if old and patient_id in self.names[old].ids:
            self.names[old].ids.remove(patient_id)
            self.names[old].dirty = True
        if new:
            state = self.names.setdefault(new, NameKeyState(prior=None, ids=[]))
            state.ids.append(patient_id)
            state.dirty = True

    def finish(self) -> Iterator[PlanEntry]:
        """Writes of the name keys, which rows of several chunks may have changed, then the
        marks of the plan's members the file leaves out (read a batch at a time)."""
        self.warnings.extend(self.plan_fields.warnings())
        for key, state in self.names.items():
            if not state.dirty:
                continue
            prior = state.prior
            if not state.ids:
                if prior:
                    yield PlanEntry("keys", prior, delete={"key": key})
                continue
            item = {"key": key, "patient_ids": state.ids, "last_import": self.tag}
            yield PlanEntry("keys", prior, put=versioned(item, prior))
        yield from self.changes.drops(self.lookup, set(self.used), self.tag)
