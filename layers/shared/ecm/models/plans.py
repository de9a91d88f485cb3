"""Health plans as records: what we know about each plan that sends us MIFs and takes our
return files (ecm.plans)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, MapAttribute, UnicodeAttribute

from ecm.models.base import TableMeta, TableModel, register


@register
class PlanRecord(TableModel):
    """One plan by its code (lower case). ``mif_columns`` maps a header as the plan's files
    spell it to the MIF field it fills; ``rtf`` and ``otf`` are the plan's changes to the
    default return-file layouts (ecm.exports.layouts), stored as the request gave them."""

    resource = "PlansTable"
    setting = "plans_table"

    class Meta(TableMeta):
        pass

    code = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    mif_columns = MapAttribute[str, Any](null=True)
    full_roster = BooleanAttribute(null=True)
    mcp_name = UnicodeAttribute(null=True)
    mcp_identifier = UnicodeAttribute(null=True)
    rtf = MapAttribute[str, Any](null=True)
    otf = MapAttribute[str, Any](null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
