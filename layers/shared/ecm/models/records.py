"""Per-patient records in time order: care activities, and the audit trail of every read
and change of a patient (who, what, when)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from ecm.models.base import TableMeta, TableModel, register


class ActivityByType(GlobalSecondaryIndex["Activity"]):
    """Every patient's activities of one type in time order: an outreach tracking file reads
    a month's outreach in one query."""

    class Meta:
        index_name = "type-index"
        projection = AllProjection()

    type = UnicodeAttribute(hash_key=True)
    activity_key = UnicodeAttribute(range_key=True)


@register
class Activity(TableModel):
    """One care activity; ``activity_key`` is ``<occurred_at>#<id>`` (a page is one query)."""

    resource = "ActivitiesTable"
    setting = "activities_table"

    class Meta(TableMeta):
        pass

    patient_id = NumberAttribute(hash_key=True)
    activity_key = UnicodeAttribute(range_key=True)
    id = NumberAttribute()
    type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    method = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    minutes = NumberAttribute(null=True)
    successful = BooleanAttribute(null=True)  # an outreach attempt reached the member
    note = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)

    by_type = ActivityByType()


@register
class AuditEntry(TableModel):
    """``at`` is ``<timestamp>#<random>``: two reads in one millisecond are two entries."""

    resource = "AuditTable"
    setting = "audit_table"

    class Meta(TableMeta):
        pass

    patient_id = NumberAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)
    action = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    user_name = UnicodeAttribute(null=True)
    recorded_at = UnicodeAttribute()
