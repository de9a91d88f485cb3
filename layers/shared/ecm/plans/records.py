"""Plan records in the plans table, as plain dicts (the domain's shape): one read, the list,
one write. Nothing here checks a plan; ``ecm.plans.api`` does before it writes."""

from __future__ import annotations

from typing import Any

from ecm.clock import iso_timestamp
from ecm.models import PlanRecord
from ecm.models.access import all_items, as_model, get

Item = dict[str, Any]


def get_plan(code: str) -> Item | None:
    """The plan's record (consistent read), or None when the plan has none."""
    return get(PlanRecord, code)


def plan_columns(code: str | None) -> dict[str, str]:
    """The headers a plan's files use that we map for it (none without a record)."""
    record = get_plan(code) if code else None
    return dict((record or {}).get("mif_columns") or {})


def full_roster(code: str) -> bool:
    """Whether the plan's MIFs list every member it has (the default, also without a
    record): a member a file leaves out is then no longer on the plan's list."""
    return (get_plan(code) or {}).get("full_roster") is not False


def list_plans() -> list[Item]:
    """Every plan, by code (there are a handful: one per health plan a provider serves)."""
    return sorted(all_items(PlanRecord.scan(consistent_read=True)), key=lambda p: p["code"])


def save_plan(code: str, fields: Item, by: str) -> Item:
    """Store the plan whole (what ``fields`` leaves out is gone), keeping when it was first
    made; the stored record."""
    before = get_plan(code)
    now = iso_timestamp()
    record = {
        **fields,
        "code": code,
        "created_at": (before or {}).get("created_at") or now,
        "updated_at": now,
        "updated_by": by,
    }
    as_model(PlanRecord, record).save()
    return record
