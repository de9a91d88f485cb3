"""Plan: match every row against the tables under the lock, with batched reads, and write
per chunk the new items as ready write batches and the changed items with their prior
image (what apply sends and rollback restores)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ecm.clock import iso_timestamp
from ecm.errors import ImportRejected
from ecm.imports.records import summarize_errors, update_import_file
from ecm.imports.results import group_by_row, save_failures
from ecm.imports.stages.lock import refresh_lock
from ecm.imports.stages.work import TABLE_KEYS, Item, load_file, lock_holder, planned_table
from ecm.imports.work_area import (
    creates_key,
    get_json,
    manifest_key,
    outcomes_key,
    plan_key,
    put_json,
    put_lines,
    records_key,
    rows_key,
)
from ecm.kinds.plan_entry import CreatedItems, PlanEntry, Table
from ecm.kinds.registry import VALID_ROWS, get_kind
from ecm.log import logger
from ecm.models import ImportFile
from ecm.models.access import next_ids
from ecm.patients.counts import add_deltas
from ecm.settings import get_settings
from ecm.store import batch_get, batch_write_bodies, from_item, to_item


class DynamoLookup:
    """Batched reads for the planner; remembers each counter's value before this import.

    A dry run reads the same data but reserves no ids: it numbers new records from -1 down,
    so nothing outside its own file record changes.
    """

    def __init__(self, kind: str, file_id: int, dry_run: bool = False) -> None:
        self.kind, self.file_id, self.dry_run = kind, file_id, dry_run
        self.next_fake = 0
        self.remembered: set[str] = set()  # counters whose value before is on the record

    def get_keys(self, keys: list[str]) -> dict[str, Item]:
        found = batch_get(planned_table("keys"), ({"key": {"S": k}} for k in keys))
        return {item["key"]["S"]: from_item(item) for item in found}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        found = batch_get(planned_table("patients"), ({"id": {"N": str(i)}} for i in ids))
        return {int(item["id"]["N"]): from_item(item) for item in found}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]:
        found = batch_get(
            planned_table("authorizations"), ({"auth_no": {"S": a}} for a in auth_nos)
        )
        return {item["auth_no"]["S"]: from_item(item) for item in found}

    def reserve(self, counter: str, count: int) -> int:
        if self.dry_run:
            self.next_fake -= count
            return self.next_fake
        before, after = next_ids(counter, count)
        # The value before the import's first reservation (a retry keeps the first), and
        # after its last: rollback puts a counter back only if nobody took an id since.
        last = ImportFile.counters_after[counter].set(after)
        actions = [last]
        if counter not in self.remembered:
            kept = ImportFile.counters_before[counter]
            actions.append(kept.set(kept | before))
            self.remembered.add(counter)
        ImportFile(self.kind, self.file_id).update(actions=actions)
        return before + 1


def _row_chunks(kind: str, file_id: int, count: int) -> Iterator[list[tuple[int, Item]]]:
    for chunk in range(count):
        yield [(int(r), rec) for r, rec in get_json(rows_key(kind, file_id, chunk))]


def _row_outcomes(entries: list[PlanEntry]) -> list[tuple[int, str, int]]:
    """(row, created | updated, record id) of every row a plan chunk writes."""
    return [
        (int(e.row or 0), "created" if e.creates else "updated", int((e.put or {})["id"]))
        for e in entries
        if e.snapshot is not None
    ]


def _count_patients(deltas: Counter[str], entries: list[PlanEntry]) -> None:
    for entry in entries:
        if entry.table == "patients":
            add_deltas(deltas, entry.prior, entry.put)


def _write_plan_chunk(
    kind_name: str, file_id: int, chunk: int, entries: list[PlanEntry], dry_run: bool
) -> None:
    """Store a plan chunk as its readers need it, each reading only its part.

    ``records`` are the detail's rows. Apply sends ``creates`` as they are (built here,
    where the items are still in memory: parsing them back and rebuilding their attribute
    form cost apply ~13 µs a row); the plan entries keep what conditional writes and
    rollback need (the key values of created items), and are written last: rollback reads
    them, and a chunk without them was never applied. A dry run is never applied nor rolled
    back.
    """
    snapshots = [e.snapshot for e in entries if e.snapshot is not None]
    put_json(records_key(kind_name, file_id, chunk), snapshots)
    if dry_run:
        return
    creates: dict[Table, list[Item]] = {}
    created: dict[Table, CreatedItems] = {}
    kept: list[Item] = []
    for entry in entries:
        if entry.creates and entry.put is not None:
            creates.setdefault(entry.table, []).append({"PutRequest": {"Item": to_item(entry.put)}})
            key = entry.put[TABLE_KEYS[entry.table]]
            created.setdefault(entry.table, CreatedItems(entry.table, [])).keys.append(key)
        else:
            kept.append(entry.stored())
    # What rollback deletes: the key values of the chunk's new items, one entry per table.
    kept += [items.stored() for items in created.values()]
    bodies = [
        body
        for logical, requests in creates.items()
        for body in batch_write_bodies(planned_table(logical), requests)
    ]
    put_lines(creates_key(kind_name, file_id, chunk), bodies)
    put_json(plan_key(kind_name, file_id, chunk), kept)


def plan_stage(kind_name: str, file_id: int) -> Item:
    """Match every row against the current tables (under the lock) and write the plan."""
    kind = get_kind(kind_name)
    record = load_file(kind_name, file_id)
    dry_run = bool(record.get("dry_run"))
    if not dry_run:  # a dry run writes nothing, so it takes no lock
        refresh_lock(lock_holder(kind_name, file_id))
    update_import_file(kind_name, file_id, stage="planning")
    lookup = DynamoLookup(kind_name, file_id, dry_run)
    planner = kind.make_planner(record, lookup, iso_timestamp())
    keep_valid = record.get("mode") == VALID_ROWS
    chunk_rows = get_settings().chunk_rows
    written = 0
    deltas: Counter[str] = Counter()
    outcomes: list[tuple[int, str, int]] = []
    records_per_chunk: list[int] = []
    for number, rows in enumerate(
        _row_chunks(kind_name, file_id, int(record.get("chunk_count") or 0))
    ):
        if number and not dry_run:
            refresh_lock(lock_holder(kind_name, file_id))  # a long plan must not outlive it
        entries = planner.plan_chunk(rows)
        if keep_valid or not planner.errors:
            _count_patients(deltas, entries)
            _write_plan_chunk(kind_name, file_id, written, entries, dry_run)
            written += 1
            rows_planned = _row_outcomes(entries)
            outcomes.extend(rows_planned)
            records_per_chunk.append(len(rows_planned))
    if planner.errors:
        # A row that matches ambiguously fails like an invalid one: its reasons go to the
        # result file; in valid_rows mode the planner left it out and the rest goes on.
        save_failures(kind_name, file_id, "plan", group_by_row(planner.errors))
        if not keep_valid:
            # Rollback reads the errors from the record: a Lambda error carries one message.
            update_import_file(kind_name, file_id, errors=summarize_errors(planner.errors))
            raise ImportRejected(planner.errors)
    put_json(outcomes_key(kind_name, file_id), outcomes)
    piece: list[PlanEntry] = []
    for entry in planner.finish():
        _count_patients(deltas, [entry])
        piece.append(entry)
        if len(piece) >= chunk_rows * 2:
            _write_plan_chunk(kind_name, file_id, written, piece, dry_run)
            written, piece = written + 1, []
    if piece:
        _write_plan_chunk(kind_name, file_id, written, piece, dry_run)
        written += 1
    if planner.warnings:
        warnings = [*(record.get("warnings") or []), *planner.warnings]
        update_import_file(kind_name, file_id, warnings=summarize_errors(warnings, "warning"))
    manifest = {
        "chunks": written,
        "created": planner.created,
        "updated": planner.updated,
        "counts": {key: delta for key, delta in deltas.items() if delta},
    }
    put_json(manifest_key(kind_name, file_id), manifest)
    update_import_file(
        kind_name,
        file_id,
        stage="applying",
        rows_processed=0,
        records_per_chunk=records_per_chunk,
    )
    logger.info(
        "import planned",
        extra={
            "kind": kind_name,
            "file_id": file_id,
            "chunks": written,
            "created_count": planner.created,
            "updated_count": planner.updated,
        },
    )
    return {"chunks": list(range(written)), "created": planner.created, "updated": planner.updated}
