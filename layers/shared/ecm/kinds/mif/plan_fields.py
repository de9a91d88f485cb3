"""A member's plan fields: the columns of its plan's MIFs that no field is known by, kept on
its eligibility record as ``plan_fields`` (``{header: text}``) instead of dropped.

Each is the value of the latest MIF that had the column: a non-empty cell replaces it, an
empty cell or a file without the column keeps it. A member whose plan changes starts afresh
(another plan's columns are not this one's). A member keeps ``MAX_FIELDS`` at most, this
file's columns first, so months of renamed headers cannot grow its item without bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecm.files.kept import MAX_COLUMNS, RECORD_KEY

Item = dict[str, Any]
#: What a member keeps at most, whichever files the values came from.
MAX_FIELDS = MAX_COLUMNS


@dataclass(frozen=True, slots=True)
class PlanFieldChange:
    """One plan field that differs between two images of a member (None: absent)."""

    header: str
    old: str | None
    new: str | None


def merge_plan_fields(
    old: Mapping[str, str] | None, headers: Sequence[str], texts: Sequence[str] | None
) -> tuple[dict[str, str], int]:
    """The plan fields after a row (``texts`` aligned with its file's kept ``headers``,
    perhaps shorter) over ``old``; and how many older ones were left out to keep
    ``MAX_FIELDS``."""
    merged = dict(old or {})
    for header, text in zip(headers, texts or (), strict=False):
        if text:
            merged[header] = text
    if len(merged) <= MAX_FIELDS:
        return merged, 0
    ours = set(headers)
    order = [h for h in headers if h in merged] + [h for h in merged if h not in ours]
    return {h: merged[h] for h in order[:MAX_FIELDS]}, len(order) - MAX_FIELDS


def plan_field_changes(
    old: Mapping[str, str] | None, new: Mapping[str, str] | None
) -> list[PlanFieldChange]:
    """What differs between two images' plan fields, by header (old headers first)."""
    before, after = old or {}, new or {}
    return [
        PlanFieldChange(header, before.get(header), after.get(header))
        for header in dict.fromkeys([*before, *after])
        if before.get(header) != after.get(header)
    ]


@dataclass
class PlanFields:
    """The plan fields of one MIF import: its kept headers, and the members that had older
    fields left out (said once, in a warning)."""

    headers: tuple[str, ...] = ()
    trimmed: int = 0

    def apply(self, prior: Item | None, patient: Item, record: Item) -> None:
        """Set ``patient``'s plan fields after its row ``record`` (``prior``: the stored
        member, or None); a member without any holds none."""
        eligibility = patient["eligibility"]
        before = (prior or {}).get("eligibility") or {}
        old = before.get("plan_fields") if before.get("plan") == eligibility.get("plan") else None
        merged, left_out = merge_plan_fields(old, self.headers, record.get(RECORD_KEY))
        self.trimmed += bool(left_out)
        if merged:
            eligibility["plan_fields"] = merged
        else:
            eligibility.pop("plan_fields", None)

    def warnings(self) -> list[str]:
        if not self.trimmed:
            return []
        return [
            f"{self.trimmed} member{'s' if self.trimmed > 1 else ''} would have more than "
            f"{MAX_FIELDS} plan fields: this file's were kept and some from earlier files "
            "left out"
        ]
