"""Export records: one per return file made (RTF or OTF, for a plan and a month), with
dense integer ids as import files have (``ecm.models.files``): the item with ``id`` 0 is
the counter, so a page of the list is a batch of known ids."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from ecm.models.base import TableMeta, TableModel, register

#: The one partition of the exports table (few items: a plan's files per month).
EXPORTS = "exports"


@register
class ExportRecord(TableModel):
    resource = "ExportsTable"
    setting = "exports_table"

    class Meta(TableMeta):
        pass

    scope = UnicodeAttribute(hash_key=True)  # always EXPORTS
    id = NumberAttribute(range_key=True)
    last_id = NumberAttribute(null=True)  # the counter item (id 0) only

    # What was asked.
    kind = UnicodeAttribute(null=True)  # "rtf" or "otf"
    plan = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)  # YYYY-MM
    format = UnicodeAttribute(null=True)  # "csv" or "xlsx"
    production_date = UnicodeAttribute(null=True)  # YYYY-MM-DD, written in the file
    created_by = UnicodeAttribute(null=True)

    # Where it stands, and what it made.
    status = UnicodeAttribute(null=True)
    rows_processed = NumberAttribute(null=True)
    row_count = NumberAttribute(null=True)
    skipped_count = NumberAttribute(null=True)
    skipped = ListAttribute(of=MapAttribute, null=True)  # the first 100, with why
    skipped_file_key = UnicodeAttribute(null=True)
    file_name = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute(null=True)
    file_bytes = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    warnings = ListAttribute(of=UnicodeAttribute, null=True)
    errors = ListAttribute(of=UnicodeAttribute, null=True)

    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
