"""The Outreach Tracking File: one row per outreach attempt recorded in the month for a
member of the plan, in the order they happened (one index query over the month's outreach).

An attempt is an activity of type ``outreach``: its day (California's), method (coded),
whether it reached the member (yes/no, blank when not recorded) and minutes spent.
"""

from __future__ import annotations

from collections.abc import Iterator

from ecm.clock import california_date
from ecm.exports.rows import (
    ExportContext,
    ExportRow,
    Item,
    Value,
    batches,
    plan_fields_of,
    read_patients,
)
from ecm.models import Activity
from ecm.models.access import all_items
from ecm.patients.reading import plan_member_ids

OTF_FIELDS = frozenset(
    {
        "mcp_identifier",
        "mcp_name",
        "provider_name",
        "provider_npi",
        "provider_tin",
        "provider_phone",
        "cin",
        "member_id",
        "first_name",
        "last_name",
        "client_name",
        "outreach_date",
        "outreach_method",
        "outreach_successful",
        "outreach_minutes",
        "production_date",
        "reporting_period",
    }
)


def outreach_values(activity: Item, context: ExportContext) -> dict[str, Value]:
    successful = activity.get("successful")
    minutes = activity.get("minutes")
    yes_no = context.layout.codes["yes_no"]
    return {
        "outreach_date": context.layout.format_date(california_date(activity["occurred_at"])),
        "outreach_method": context.code(
            "outreach_method", activity.get("method"), "outreach method"
        ),
        "outreach_successful": "" if successful is None else yes_no["yes" if successful else "no"],
        "outreach_minutes": "" if minutes is None else str(int(minutes)),
    }


def otf_rows(context: ExportContext) -> Iterator[ExportRow]:
    members = set(plan_member_ids(context.plan))
    shared = context.shared_values()
    month = Activity.activity_key.between(context.period.start_key(), context.period.end_key())
    attempts = (
        a
        for a in all_items(Activity.by_type.query("outreach", month))
        if int(a["patient_id"]) in members
    )
    for chunk in batches(attempts):
        patients = read_patients(sorted({int(a["patient_id"]) for a in chunk}))
        for activity in chunk:
            patient_id = int(activity["patient_id"])
            patient = patients.get(patient_id)
            if patient is None:
                continue
            values = {
                **shared,
                **context.member_values(patient),
                **outreach_values(activity, context),
            }
            ref = {"patient_id": patient_id, "activity_id": int(activity["id"])}
            yield ExportRow(ref, values, plan_fields_of(patient))
