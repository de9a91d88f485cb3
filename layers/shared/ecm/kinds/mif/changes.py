"""What a plan's MIF changes against the plan's list as its earlier MIFs left it: which
members it adds, which it changes and how, which it leaves as they were, and who was on the
list and is not in this file (docs/using/mif-imports.md, What changed).

The plan's list is its members (``eligibility.plan``) not marked ``in_latest_mif: false``:
after a full-roster file, exactly the members of that file. A member's values "from the
plan's MIFs" are ``eligibility.mif_values``, the MIF's own values as the files last gave
them (blank cells give nothing), so a change made by hand since is not the plan's change;
a member imported before that snapshot was kept is compared with what it holds.

The tracker sees every planned row (``row``) and, at the end, marks the members who were on
the list and are not in the file (``drops``): each mark is a patient write of the import, so
apply writes it on condition and rollback restores it. What it finds goes to a
``ChangeSink`` in pieces, never as one list of the whole file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ecm.kinds.plan_entry import PlanEntry
from ecm.models.versions import versioned

Item = dict[str, Any]
Change = Literal["added", "changed", "dropped"]

#: The MIF fields a change names, in the file's order, and where a row's record has them.
MIF_VALUE_FIELDS: tuple[tuple[str, str], ...] = (
    ("MEMBER_ID", "member_id"),
    ("CIN", "cin"),
    ("FIRST_NAME", "first_name"),
    ("LAST_NAME", "last_name"),
    ("DOB", "date_of_birth"),
    ("GENDER", "gender"),
    ("ADDRESS", "address"),
    ("CITY", "city"),
    ("STATE", "state"),
    ("ZIP", "zip"),
    ("PHONE", "phone"),
    ("ECM_SERVICE_AUTH_ID", "ecm_service_auth_id"),
    ("ECM_PROVIDER_NAME", "ecm_provider_name"),
    ("ECM_NPI", "ecm_npi"),
    ("ECM_BENEFIT_AUTH_EFF_DATE", "ecm_benefit_auth_eff_date"),
    ("ECM_BENEFIT_AUTH_END_DATE", "ecm_benefit_auth_end_date"),
    ("ACUITY_LEVEL", "acuity_level"),
)
#: Lines handed to the sink at once: a piece of the changes file, whatever the file's size.
LINES_PER_PIECE = 5_000
#: Members read at once when looking for the ones a file leaves out.
DROP_BATCH = 500
#: Between a field's old and new value in the changes file.
ARROW = " → "


def mif_values(record: Item) -> dict[str, str]:
    """A row's own values by MIF field, blanks left out (a blank cell changes nothing)."""
    values: dict[str, str] = {}
    for name, key in MIF_VALUE_FIELDS:
        value = record.get(key)
        if value is not None and value != "":
            values[name] = str(value)
    return values


def _stored_values(patient: Item) -> dict[str, str]:
    """What a member holds, by MIF field (a member imported before ``mif_values`` was kept)."""
    eligibility = patient.get("eligibility") or {}
    address = patient.get("address") or {}
    held = {
        "FIRST_NAME": patient.get("first_name"),
        "LAST_NAME": patient.get("last_name"),
        "DOB": patient.get("date_of_birth"),
        "GENDER": patient.get("gender"),
        "ADDRESS": address.get("street"),
        "CITY": address.get("city"),
        "STATE": address.get("state"),
        "ZIP": address.get("zip"),
        "PHONE": patient.get("phone"),
    }
    for name, key in MIF_VALUE_FIELDS:
        if name not in held:
            held[name] = eligibility.get(key)
    return {name: str(value) for name, value in held.items() if value not in (None, "")}


def held_values(patient: Item) -> dict[str, str]:
    """The member's values from the MIFs that listed it: their snapshot, else what it holds."""
    snapshot = (patient.get("eligibility") or {}).get("mif_values")
    if snapshot is not None:
        return {str(name): str(value) for name, value in snapshot.items()}
    return _stored_values(patient)


def field_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """``FIELD: old → new`` for each field the row gives a value other than the held one."""
    return [
        f"{name}: {old.get(name, '')}{ARROW}{new[name]}"
        for name, _ in MIF_VALUE_FIELDS
        if name in new and old.get(name) != new[name]
    ]


def on_list(patient: Item | None, plan: str) -> bool:
    """Whether a stored member is on the plan's list: the plan's, and not marked dropped."""
    if patient is None:
        return False
    eligibility = patient.get("eligibility") or {}
    return eligibility.get("plan") == plan and eligibility.get("in_latest_mif") is not False


def mark_listed(patient: Item, values: dict[str, str], held: dict[str, str]) -> None:
    """A MIF row lists the member: its values join the snapshot, a drop mark goes."""
    eligibility = patient["eligibility"]
    eligibility["mif_values"] = {**held, **values}
    eligibility.pop("in_latest_mif", None)
    eligibility.pop("dropped_in_mif_file_id", None)


def dropped(patient: Item, file_id: int, tag: str) -> Item:
    """The member's next version, marked as not in the file ``file_id``; nothing else
    changes (``updated_at`` neither: the member's data did not)."""
    eligibility = {
        **patient["eligibility"],
        "in_latest_mif": False,
        "dropped_in_mif_file_id": file_id,
    }
    return versioned({**patient, "eligibility": eligibility, "last_import": tag}, patient)


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One line of the changes file: a member and what happened to it."""

    member_id: str
    change: Change
    fields: tuple[str, ...] = ()

    def stored(self) -> list[Any]:
        return [self.member_id, self.change, list(self.fields)]

    @classmethod
    def load(cls, stored: list[Any]) -> ChangeLine:
        return cls(str(stored[0]), stored[1], tuple(stored[2]))


@dataclass
class ChangeCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "dropped": self.dropped,
        }


class ChangeSink(Protocol):
    """Where a tracker's findings go: the lines in numbered pieces, then the summary."""

    def put_piece(self, number: int, lines: list[ChangeLine]) -> None: ...

    def put_summary(self, counts: ChangeCounts, pieces: int) -> None: ...


class PatientReader(Protocol):
    def get_patients(self, ids: list[int]) -> dict[int, Item]: ...


@dataclass
class ChangeTracker:
    """What one MIF changes. Without a plan (``plan`` None) it only keeps each listed
    member's snapshot current; with one, it also counts, writes the lines and marks drops
    (``full_roster`` False: a file that may list part of the plan drops nobody)."""

    #: the file whose drops it marks (a tracker without a plan marks none)
    file_id: int = 0
    plan: str | None = None
    full_roster: bool = True
    sink: ChangeSink | None = None
    #: the plan's member ids (from its list index; a stale entry is checked on its item)
    members: Callable[[str], Iterable[int]] | None = None
    counts: ChangeCounts = field(default_factory=ChangeCounts)
    lines: list[ChangeLine] = field(default_factory=list)
    pieces: int = 0

    def row(self, prior: Item | None, patient: Item, record: Item) -> None:
        """A planned row: ``patient`` is the member's next version (changed here)."""
        values = mif_values(record)
        held = held_values(prior) if prior is not None else {}
        mark_listed(patient, values, held)
        if self.plan is None:
            return
        if not on_list(prior, self.plan):
            self.counts.added += 1
            self._line(ChangeLine(record["member_id"], "added"))
            return
        changes = field_changes(held, values)
        if changes:
            self.counts.changed += 1
            self._line(ChangeLine(record["member_id"], "changed", tuple(changes)))
        else:
            self.counts.unchanged += 1

    def drops(self, reader: PatientReader, listed: set[int], tag: str) -> Iterator[PlanEntry]:
        """The marks of the members on the plan's list this file leaves out, read and
        yielded ``DROP_BATCH`` at a time; then the last lines and the summary."""
        if self.plan is not None and self.full_roster and self.members is not None:
            missing = sorted({int(i) for i in self.members(self.plan)} - listed)
            for start in range(0, len(missing), DROP_BATCH):
                batch = missing[start : start + DROP_BATCH]
                found = reader.get_patients(batch)
                for patient_id in batch:
                    patient = found.get(patient_id)
                    if patient is None or not on_list(patient, self.plan):
                        continue
                    self.counts.dropped += 1
                    member = str(patient["eligibility"].get("member_id") or "")
                    self._line(ChangeLine(member, "dropped"))
                    yield PlanEntry("patients", patient, put=dropped(patient, self.file_id, tag))
        self.close()

    def close(self) -> None:
        """Hand over the last lines and the counts (a file naming no plan has none)."""
        if self.plan is None or self.sink is None:
            return
        self._flush()
        self.sink.put_summary(self.counts, self.pieces)

    def _line(self, line: ChangeLine) -> None:
        self.lines.append(line)
        if len(self.lines) >= LINES_PER_PIECE:
            self._flush()

    def _flush(self) -> None:
        if self.lines and self.sink is not None:
            self.sink.put_piece(self.pieces, self.lines)
            self.pieces += 1
            self.lines = []
