"""Finalize: apply the list counts once (transactionally, marked on the file record), write
the result files, mark the file completed, release the lock. A dry run ends here too."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException

from ecm.faults import fault_point
from ecm.imports.changes_file import changes_fields
from ecm.imports.records import summarize_errors, update_import_file
from ecm.imports.results import load_failures, load_outcomes
from ecm.imports.stages.lock import release_lock
from ecm.imports.stages.work import (
    NOT_IMPORTED,
    Item,
    announce,
    failure_messages,
    load_file,
    lock_holder,
    write_results,
)
from ecm.imports.work_area import get_json, manifest_key
from ecm.kinds.registry import get_kind
from ecm.log import count_metric, logger
from ecm.models import ImportFile
from ecm.models.access import condition_failed, transaction
from ecm.patients.counts import TRANSACTION_LIMIT, add_count_updates


def _count_groups(manifest: Item) -> list[dict[str, int]]:
    items = sorted((manifest.get("counts") or {}).items())
    size = TRANSACTION_LIMIT - 1  # one slot for the file record's marker
    return [dict(items[i : i + size]) for i in range(0, len(items), size)]


def apply_counts(kind: str, file_id: int, manifest: Item, undo: bool) -> None:
    """Apply (or undo) the import's count deltas, each group once, transactionally: the
    file record's ``counted`` marker of the group is set (removed) in the same transaction."""
    for number, group in enumerate(_count_groups(manifest)):
        marker = ImportFile.counted[str(number)]
        record = ImportFile(kind, file_id)
        try:
            with transaction() as writes:
                add_count_updates(writes, group, -1 if undo else 1)
                if undo:
                    writes.update(record, actions=[marker.remove()], condition=marker.exists())
                else:
                    writes.update(
                        record, actions=[marker.set(True)], condition=marker.does_not_exist()
                    )
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise  # a marker in place (or gone, for undo): that group is done already


def _row_failure_fields(failures: dict[int, list[str]]) -> Item:
    """The file record's errors when some rows failed and the import still completed."""
    shown = summarize_errors(failure_messages(failures))
    return {
        "records_failed": len(failures),
        "errors": shown,
        "import_errors": "\n".join(shown) if shown else None,
    }


def finalize_stage(kind_name: str, file_id: int) -> Item:
    manifest = get_json(manifest_key(kind_name, file_id))
    created, updated = int(manifest["created"]), int(manifest["updated"])
    if load_file(kind_name, file_id)["status"] == "completed":
        # Retried after its commit point (AWS was busy after "completed" was written): the
        # import stands; what may be left is the lock and the event (same webhook id).
        release_lock(lock_holder(kind_name, file_id))
        announce(kind_name, file_id, "import.completed")
        return {"status": "completed", "created": created, "updated": updated}
    update_import_file(kind_name, file_id, stage="finalizing")
    apply_counts(kind_name, file_id, manifest, undo=False)
    kind = get_kind(kind_name)
    failures = load_failures(kind_name, file_id)
    write_results(
        kind, file_id, failures, lambda: load_outcomes(kind_name, file_id), "", NOT_IMPORTED
    )
    changes = changes_fields(kind_name, file_id)
    fault_point("finalize", "counted")
    # The commit point: once the file says completed, the import stands (rollback_stage).
    update_import_file(
        kind_name,
        file_id,
        status="completed",
        stage="done",
        records_imported=created if kind.imported_counts_created_only else created + updated,
        created_count=created,
        updated_count=updated,
        records_updated=updated,
        **_row_failure_fields(failures),
        **changes,
    )
    release_lock(lock_holder(kind_name, file_id))
    announce(kind_name, file_id, "import.completed")
    count_metric("RowsImported", created + updated, kind=kind_name)
    count_metric("RowsFailed", len(failures), kind=kind_name)
    logger.info(
        "import completed",
        extra={
            "kind": kind_name,
            "file_id": file_id,
            "created_count": created,
            "updated_count": updated,
        },
    )
    return {"status": "completed", "created": created, "updated": updated}


def finish_dry_run_stage(kind_name: str, file_id: int) -> Item:
    """A dry run ends after planning: report what the import would do, write nothing."""
    manifest = get_json(manifest_key(kind_name, file_id))
    created, updated = int(manifest["created"]), int(manifest["updated"])
    kind = get_kind(kind_name)
    failures = load_failures(kind_name, file_id)
    write_results(
        kind,
        file_id,
        failures,
        lambda: load_outcomes(kind_name, file_id),
        "dry run: nothing was written",
        NOT_IMPORTED,
    )
    update_import_file(
        kind_name,
        file_id,
        status="completed",
        stage="done",
        would_create=created,
        would_update=updated,
        **_row_failure_fields(failures),
        **changes_fields(kind_name, file_id),
    )
    announce(kind_name, file_id, "import.completed")
    logger.info(
        "dry run completed",
        extra={
            "kind": kind_name,
            "file_id": file_id,
            "would_create": created,
            "would_update": updated,
        },
    )
    return {"status": "completed", "would_create": created, "would_update": updated}
