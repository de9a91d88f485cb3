"""Import-file records: one per imported file, per kind, with dense integer ids.

The item with ``id`` 0 of a kind is its id counter (``last_id``), so a page of the list is a
batch of known ids and ``total_count`` is that counter. A record is written by many stages
at once (apply chunks add to ``rows_processed`` in parallel), so it is changed with update
expressions on the attributes each stage owns, never by a read-modify-write: it carries no
version. ``counters_before`` and ``counted`` are what rollback needs to put the id counters
back and undo the list counts exactly once.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from ecm.models.base import TableMeta, TableModel, register


@register
class ImportFile(TableModel):
    resource = "ImportFilesTable"
    setting = "import_files_table"

    class Meta(TableMeta):
        pass

    kind = UnicodeAttribute(hash_key=True)  # "mif" or "authorization"
    id = NumberAttribute(range_key=True)
    last_id = NumberAttribute(null=True)  # the counter item (id 0) only

    # What was received, and how.
    original_name = UnicodeAttribute(null=True)  # the key's name part (inline: "upload")
    original_filename = UnicodeAttribute(null=True)  # the file's own name, as it came
    source_type = UnicodeAttribute(null=True)
    declared_type = UnicodeAttribute(null=True)
    data_uri_type = UnicodeAttribute(null=True)
    file_type = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    s3_key = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    dry_run = BooleanAttribute(null=True)
    mode = UnicodeAttribute(null=True)
    webhook_url = UnicodeAttribute(null=True)
    plan = UnicodeAttribute(null=True)  # the health plan a MIF came from (ecm.plans)
    expires_at = UnicodeAttribute(null=True)  # an upload URL's deadline
    execution_arn = UnicodeAttribute(null=True)

    # Where the import stands.
    status = UnicodeAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    queue_position = NumberAttribute(null=True)  # while waiting_for_lock: 1 is next
    sheet_name = UnicodeAttribute(null=True)
    header_row = NumberAttribute(null=True)
    header_delimiter = UnicodeAttribute(null=True)
    rows_total = NumberAttribute(null=True)
    rows_processed = NumberAttribute(null=True)
    chunk_count = NumberAttribute(null=True)
    chunk_rows = NumberAttribute(null=True)
    records_per_chunk = ListAttribute(of=NumberAttribute, null=True)

    # What it did.
    records_imported = NumberAttribute(null=True)
    records_updated = NumberAttribute(null=True)
    created_count = NumberAttribute(null=True)
    updated_count = NumberAttribute(null=True)
    records_failed = NumberAttribute(null=True)
    would_create = NumberAttribute(null=True)
    would_update = NumberAttribute(null=True)
    import_errors = UnicodeAttribute(null=True)
    errors = ListAttribute(of=UnicodeAttribute, null=True)
    warnings = ListAttribute(of=UnicodeAttribute, null=True)
    # The columns no field is known by: [{"column", "suggestions": [{"field", "score"}]}].
    unmapped_columns = ListAttribute[Any](null=True)
    # The unknown columns kept with each row (a MIF's plan fields), in the file's order: the
    # validated rows hold their cells aligned with these headers.
    kept_columns = ListAttribute(of=UnicodeAttribute, null=True)
    result_file_key = UnicodeAttribute(null=True)
    errors_file_key = UnicodeAttribute(null=True)
    # What a plan's MIF changed on the plan's list: {"added", "changed", "unchanged",
    # "dropped"}, and the CSV naming each member (ecm.kinds.mif.changes).
    changes = MapAttribute[str, Any](null=True)
    changes_file_key = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)

    # What rollback undoes: each id counter's value before the import and after its last
    # reservation, and which groups of list-count deltas finalize applied ("0", "1", ...).
    counters_before = MapAttribute[str, Any](null=True)
    counters_after = MapAttribute[str, Any](null=True)
    counted = MapAttribute[str, Any](null=True)

    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
