"""The all-or-nothing import protocol, one function per Step Functions state.

validate (no lock: rows only) → lock → plan (matching under the lock, so two imports never
plan against the same state) → apply chunks (Map) → finalize; any failure after validate
→ rollback: restore every touched item to its prior image, delete what was created, put the
id counters back, mark the file failed, release the lock. Every stage is idempotent.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from ecm.clock import iso_timestamp
from ecm.counts import TRANSACTION_LIMIT, add_count_updates, add_deltas
from ecm.errors import (
    BatchIncomplete,
    ConcurrentModification,
    FileFormatError,
    ImportRejected,
    InjectedFault,
    LockHeld,
    StageFailed,
)
from ecm.imports.files import (
    add_rows_processed,
    generated_filename,
    get_import_file,
    get_json,
    get_lines,
    header_fields,
    mark_failed,
    put_json,
    put_lines,
    summarize_errors,
    update_import_file,
    work_prefix,
)
from ecm.imports.kinds import VALID_ROWS, ImportKind, get_kind
from ecm.imports.results import (
    ROW_PREFIX,
    SKIPPED,
    RowOutcomes,
    RowResult,
    group_by_row,
    load_failures,
    load_outcomes,
    outcomes_key,
    save_failures,
    write_result_files,
)
from ecm.log import logger
from ecm.models import Authorization, ImportFile, MetaItem, Patient, PatientKey, TableModel
from ecm.models.access import condition_failed, get, next_ids, transaction
from ecm.readers import HeaderAt, detect_file_type, read_records
from ecm.settings import get_settings
from ecm.store import (
    batch_get,
    batch_write,
    batch_write_bodies,
    client,
    delete_item,
    from_item,
    get_raw,
    put_item,
    send_batch_write,
    to_attr,
    to_item,
)
from ecm.webhooks import publish_import_event

Item = dict[str, Any]
LOCK_KEY = "lock#imports"
LOCK_SECONDS = 900
TYPED_CELL_TYPES = ("xlsx", "xlsm", "xls")
#: The tables a plan writes, by the name plan entries give them (``entry["t"]``).
PLANNED_MODELS: dict[str, type[TableModel]] = {
    "patients": Patient,
    "keys": PatientKey,
    "authorizations": Authorization,
}
TABLE_KEYS = {"patients": "id", "keys": "key", "authorizations": "auth_no"}


def _table(logical: str) -> str:
    return PLANNED_MODELS[logical].Meta.table_name


# Errors whose messages we wrote (no row values): they pass through to Step Functions.
SAFE_ERRORS = (
    BatchIncomplete,
    ConcurrentModification,
    FileFormatError,
    ImportRejected,
    InjectedFault,
    LockHeld,
)


class _StagesRunning:
    """How many stages of this process run with the cyclic collector paused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


_stages_running = _StagesRunning()


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Run a stage without the cyclic garbage collector.

    A stage allocates millions of short-lived, acyclic objects (rows, plan entries, item
    bodies) that reference counting frees. With the collector on, the ones alive at a time
    (a chunk's rows and plan) trigger full collections that walk the whole heap: measured at
    15% of an import's CPU, twice the cost of turning a plan chunk into request bodies. Our
    stages make no reference cycles (``tests/unit/test_cycle_free.py``); what others make
    meanwhile is collected when the last running stage ends.
    """
    with _stages_running.lock:
        _stages_running.count += 1
        gc.disable()
    try:
        yield
    finally:
        with _stages_running.lock:
            _stages_running.count -= 1
            if not _stages_running.count:
                gc.enable()


def phi_safe(stage: Callable[[Item, Any], Item]) -> Callable[[Item, Any], Item]:
    """Wrap a stage handler so an unexpected exception leaves only its type in logs."""

    @functools.wraps(stage)
    def run(event: Item, context: Any) -> Item:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            with cycle_collection_paused():
                return stage(event, context)
        except SAFE_ERRORS:
            raise
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            logger.error("stage failed", extra={"stage": stage.__name__, "error_type": code})
            raise StageFailed(f"{stage.__name__}: AWS error {code}") from None
        except Exception as exc:
            error_type = type(exc).__name__
            logger.error("stage failed", extra={"stage": stage.__name__, "error_type": error_type})
            raise StageFailed(f"{stage.__name__}: {error_type}") from None
        finally:
            # What each stage costs, for sizing memory and timeouts (and the benchmarks).
            logger.info(
                "stage finished",
                extra={
                    "stage": stage.__name__,
                    "seconds": round(time.perf_counter() - started, 4),
                    "cpu_seconds": round(time.thread_time() - cpu_started, 4),
                },
            )

    return run


# --- S3 work area -------------------------------------------------------------------------


def rows_key(kind: str, file_id: int, chunk: int) -> str:
    return f"{work_prefix(kind, file_id)}rows-{chunk:05d}.json"


def plan_key(kind: str, file_id: int, chunk: int) -> str:
    return f"{work_prefix(kind, file_id)}plan-{chunk:05d}.json"


def creates_key(kind: str, file_id: int, chunk: int) -> str:
    """A plan chunk's new items as BatchWriteItem bodies, serialised by the plan stage."""
    return f"{work_prefix(kind, file_id)}creates-{chunk:05d}.ndjson"


def records_key(kind: str, file_id: int, chunk: int) -> str:
    """What the file's detail lists for a plan chunk's rows (``eligibility_snapshot``, ...)."""
    return f"{work_prefix(kind, file_id)}records-{chunk:05d}.json"


def manifest_key(kind: str, file_id: int) -> str:
    return f"{work_prefix(kind, file_id)}plan.json"


def _load_file(kind: str, file_id: int) -> Item:
    record = get_import_file(kind, file_id)
    if record is None:
        raise FileFormatError(f"import file {kind}#{file_id} does not exist")
    return record


# --- validate -----------------------------------------------------------------------------


def _duplicate_errors(
    kind: ImportKind, seen: dict[str, int], row_number: int, record: Item
) -> list[str]:
    value = record.get(kind.unique_field)
    if not value:
        return []
    folded = str(value).upper()
    first = seen.get(folded)
    if first is None:
        seen[folded] = row_number
        return []
    return [f"Row {row_number}: duplicate {kind.unique_label} '{value}' (also on row {first})"]


def validate_stage(kind_name: str, file_id: int) -> Item:
    """Read and validate every row; write normalised rows in chunks. Writes no patient data."""
    kind = get_kind(kind_name)
    settings = get_settings()
    record = _load_file(kind_name, file_id)
    if record["status"] in ("completed", "failed"):
        return {"valid": record["status"] == "completed", "rows": record.get("rows_total") or 0}
    update_import_file(
        kind_name, file_id, status="processing", stage="validating", rows_processed=0
    )
    announce(kind_name, file_id, "import.processing")
    failures: dict[int, list[str]] = {}
    header: list[HeaderAt] = []
    rows_read = False  # every row was read (so a result file can list them)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        client("s3").download_file(settings.files_bucket, record["s3_key"], str(path))
        try:
            file_type = detect_file_type(
                path,
                kind.file_types,
                declared=record.get("declared_type"),
                data_uri_type=record.get("data_uri_type"),
                filename=record.get("original_name"),
            )
            update_import_file(
                kind_name,
                file_id,
                file_type=file_type,
                filename=generated_filename(kind_name, file_type, record["created_at"]),
            )
            outcome = _validate_rows(
                kind, file_id, path, file_type, failures, record.get("mode") == VALID_ROWS, header
            )
            rows_read = True
        except FileFormatError as exc:
            outcome = ImportRejected([str(exc)])
    if isinstance(outcome, ImportRejected):
        if rows_read and failures:  # before the status: "failed" means the files are there
            _write_results(kind, file_id, failures, None, "", NOT_IMPORTED)
        mark_failed(
            kind_name,
            file_id,
            outcome.errors,
            warnings=summarize_errors(outcome.warnings, "warning"),
            stage="validated",
            records_failed=len(failures),
            **header_fields(header),
        )
        announce(kind_name, file_id, "import.failed")
        logger.info(
            "import rejected",
            extra={"kind": kind_name, "file_id": file_id, "error_count": len(outcome.errors)},
        )
        return {"valid": False, "rows": 0}
    rows, chunks, warnings = outcome
    if failures:
        save_failures(kind_name, file_id, "validate", failures)
    update_import_file(
        kind_name,
        file_id,
        **header_fields(header),
        rows_total=rows,
        rows_processed=rows,
        records_failed=len(failures),
        chunk_count=chunks,
        warnings=summarize_errors(warnings, "warning"),
        chunk_rows=settings.chunk_rows,
        stage="validated",
    )
    logger.info("import validated", extra={"kind": kind_name, "file_id": file_id, "rows": rows})
    return {"valid": True, "rows": rows, "chunks": chunks, "dry_run": bool(record.get("dry_run"))}


def validate_file(
    kind: ImportKind,
    path: Path,
    file_type: str,
    on_chunk: Callable[[list[tuple[int, Item]]], None],
    max_rows: int,
    chunk_rows: int,
    header: list[HeaderAt] | None = None,
    failures: dict[int, list[str]] | None = None,
    keep_valid: bool = False,
) -> tuple[int, list[str]] | ImportRejected:
    """Read and validate every row of a local file, handing valid rows over in chunks.

    Returns (rows, warnings), or every error when the import cannot go on: any invalid row
    (all-or-nothing), or no valid row at all (``keep_valid``, the ``valid_rows`` mode). Then
    the rows already handed over must be discarded. ``failures`` collects each invalid
    row's reasons; ``header`` receives where the header row was found (CSV and workbooks).
    The benchmark measures exactly this function.
    """
    stream = read_records(path, file_type, kind.field_map, max_rows)
    if header is not None and stream.header is not None:
        header.append(stream.header)  # where the header row was taken from, failed or not
    if stream.missing_required or stream.header_errors:
        return ImportRejected(
            [f"Missing required column: {name}" for name in stream.missing_required]
            + stream.header_errors,
            stream.warnings,
        )
    typed = file_type in TYPED_CELL_TYPES
    today = date.today()
    errors: list[str] = []
    failed = failures if failures is not None else {}
    seen: dict[str, int] = {}
    buffer: list[tuple[int, Item]] = []
    rows = handed = 0
    validate = kind.validate_row
    for row_number, values in stream.records:
        rows += 1
        normalised, row_errors = validate(row_number, values, typed, today)
        row_errors += _duplicate_errors(kind, seen, row_number, normalised)
        if row_errors:
            errors.extend(row_errors)
            failed[row_number] = [ROW_PREFIX.sub("", e, count=1) for e in row_errors]
            continue
        if errors and not keep_valid:
            continue  # the import fails: stop handing rows over, keep collecting errors
        buffer.append((row_number, normalised))
        if len(buffer) >= chunk_rows:
            on_chunk(buffer)
            handed += len(buffer)
            buffer = []
    if rows == 0:
        errors.append("The file has no data rows")
    if errors and (not keep_valid or handed + len(buffer) == 0):
        return ImportRejected(errors, stream.warnings)
    if buffer:
        on_chunk(buffer)
    return rows, stream.warnings


def _validate_rows(
    kind: ImportKind,
    file_id: int,
    path: Path,
    file_type: str,
    failures: dict[int, list[str]],
    keep_valid: bool,
    header: list[HeaderAt],
) -> tuple[int, int, list[str]] | ImportRejected:
    settings = get_settings()
    written = handed = 0

    def store_chunk(rows: list[tuple[int, Item]]) -> None:
        nonlocal written, handed
        put_json(rows_key(kind.name, file_id, written), rows)
        written += 1
        handed += len(rows)
        update_import_file(kind.name, file_id, rows_processed=handed + len(failures))

    outcome = validate_file(
        kind,
        path,
        file_type,
        store_chunk,
        settings.max_rows,
        settings.chunk_rows,
        header,
        failures,
        keep_valid,
    )
    if isinstance(outcome, ImportRejected):
        return outcome
    rows, warnings = outcome
    return rows, written, warnings


# --- result files and webhooks ------------------------------------------------------------

NOT_IMPORTED = RowResult(
    SKIPPED, None, "not imported: other rows of the file are invalid (all-or-nothing import)"
)
ROLLED_BACK = RowResult(
    SKIPPED, None, "not imported: the import failed and was rolled back; nothing was kept"
)


def _write_results(
    kind: ImportKind,
    file_id: int,
    failures: dict[int, list[str]],
    planned: Callable[[], list[list[Any]]] | None,
    note: str,
    default: RowResult,
) -> None:
    """The result and errors CSVs. A failure here costs the files, never the import.

    ``planned`` loads the plan's outcomes once the original file is open: opening an XLSX
    peaks ~65 MB above what the sheet then keeps, and 100,000 outcomes hold ~23 MB.
    """
    record = _load_file(kind.name, file_id)
    if not record.get("file_type"):
        return
    try:
        write_result_files(
            kind.name,
            kind.result_id_column,
            record,
            lambda: RowOutcomes(failures, planned() if planned else None, note, default),
        )
    except Exception as exc:
        logger.error(
            "result files not written",
            extra={"kind": kind.name, "file_id": file_id, "error_type": type(exc).__name__},
        )


def announce(kind_name: str, file_id: int, event_type: str) -> None:
    """Tell the import's webhook (if any) where the import stands; never fails the import."""
    record = get_import_file(kind_name, file_id)
    if record is not None:
        publish_import_event(kind_name, record, event_type)


def failure_messages(failures: dict[int, list[str]]) -> list[str]:
    return [f"Row {row}: {reason}" for row in sorted(failures) for reason in failures[row]]


# --- lock ---------------------------------------------------------------------------------


def _holder(kind: str, file_id: int) -> str:
    return f"{kind}#{file_id}"


def lock_stage(kind_name: str, file_id: int) -> Item:
    """Take the one import lock (imports of every kind touch patients). Raises LockHeld."""
    holder = _holder(kind_name, file_id)
    now = int(time.time())
    try:
        MetaItem(LOCK_KEY, holder=holder, expires_at=now + LOCK_SECONDS).save(
            condition=MetaItem.pk.does_not_exist()
            | (MetaItem.holder == holder)
            | (MetaItem.expires_at < now)
        )
    except PynamoDBException as exc:
        if condition_failed(exc):
            update_import_file(kind_name, file_id, stage="waiting_for_lock")
            raise LockHeld("another import is running") from exc
        raise
    update_import_file(kind_name, file_id, stage="locked")
    return {"locked": True}


def _refresh_lock(holder: str) -> None:
    try:
        MetaItem(LOCK_KEY).update(
            actions=[MetaItem.expires_at.set(int(time.time()) + LOCK_SECONDS)],
            condition=MetaItem.holder == holder,
        )
    except PynamoDBException as exc:
        if condition_failed(exc):
            raise ConcurrentModification("the import lock was lost") from exc
        raise


def _keep_lock(holder: str) -> None:
    """Rollback refreshes the lock per chunk but never stops for it: every restore is
    conditional on the item still being this import's, so finishing is always right."""
    try:
        _refresh_lock(holder)
    except ConcurrentModification:
        logger.warning("rollback continues without the lock", extra={"holder": holder})


def _release_lock(holder: str) -> None:
    try:
        MetaItem(LOCK_KEY).delete(condition=MetaItem.holder == holder)
    except PynamoDBException as exc:
        if not condition_failed(exc):
            raise


# --- plan ---------------------------------------------------------------------------------


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
        found = batch_get(_table("keys"), ({"key": {"S": k}} for k in keys))
        return {item["key"]["S"]: from_item(item) for item in found}

    def get_patients(self, ids: list[int]) -> dict[int, Item]:
        found = batch_get(_table("patients"), ({"id": {"N": str(i)}} for i in ids))
        return {int(item["id"]["N"]): from_item(item) for item in found}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Item]:
        found = batch_get(_table("authorizations"), ({"auth_no": {"S": a}} for a in auth_nos))
        return {item["auth_no"]["S"]: from_item(item) for item in found}

    def reserve(self, counter: str, count: int) -> int:
        if self.dry_run:
            self.next_fake -= count
            return self.next_fake
        before, _ = next_ids(counter, count)
        if counter not in self.remembered:  # once per invocation; a retry keeps the first
            kept = ImportFile.counters_before[counter]
            ImportFile(self.kind, self.file_id).update(actions=[kept.set(kept | before)])
            self.remembered.add(counter)
        return before + 1


def _row_chunks(kind: str, file_id: int, count: int) -> Iterator[list[tuple[int, Item]]]:
    for chunk in range(count):
        yield [(int(r), rec) for r, rec in get_json(rows_key(kind, file_id, chunk))]


def _row_outcomes(entries: list[Item]) -> list[tuple[int, str, int]]:
    """(row, created | updated, record id) of every row a plan chunk writes."""
    return [
        (int(e["row"]), "created" if e["prior"] is None else "updated", int(e["put"]["id"]))
        for e in entries
        if "snap" in e
    ]


def _count_patients(deltas: Counter[str], entries: list[Item]) -> None:
    for entry in entries:
        if entry["t"] == "patients":
            add_deltas(deltas, entry.get("prior"), entry.get("put"))


def _write_plan_chunk(
    kind_name: str, file_id: int, chunk: int, entries: list[Item], dry_run: bool
) -> None:
    """Store a plan chunk as its readers need it, each reading only its part.

    ``records`` are the detail's rows. Apply sends ``creates`` as they are (built here,
    where the items are still in memory: parsing them back and rebuilding their attribute
    form cost apply ~13 µs a row); the plan entries keep what conditional writes and
    rollback need (the key values of created items), and are written last: rollback reads
    them, and a chunk without them was never applied. A dry run is never applied nor rolled
    back.
    """
    put_json(records_key(kind_name, file_id, chunk), [e["snap"] for e in entries if "snap" in e])
    if dry_run:
        return
    creates: dict[str, list[Item]] = {}
    created_keys: dict[str, list[Any]] = {}
    kept: list[Item] = []
    for entry in entries:
        logical = entry["t"]
        if entry["prior"] is None:
            creates.setdefault(logical, []).append({"PutRequest": {"Item": to_item(entry["put"])}})
            created_keys.setdefault(logical, []).append(entry["put"][TABLE_KEYS[logical]])
        else:
            kept.append({k: v for k, v in entry.items() if k != "snap"})
    # What rollback deletes: the key values of the chunk's new items, one entry per table.
    kept += [{"t": logical, "created": keys} for logical, keys in created_keys.items()]
    bodies = [
        body
        for logical, requests in creates.items()
        for body in batch_write_bodies(_table(logical), requests)
    ]
    put_lines(creates_key(kind_name, file_id, chunk), bodies)
    put_json(plan_key(kind_name, file_id, chunk), kept)


def plan_stage(kind_name: str, file_id: int) -> Item:
    """Match every row against the current tables (under the lock) and write the plan."""
    kind = get_kind(kind_name)
    record = _load_file(kind_name, file_id)
    dry_run = bool(record.get("dry_run"))
    if not dry_run:  # a dry run writes nothing, so it takes no lock
        _refresh_lock(_holder(kind_name, file_id))
    update_import_file(kind_name, file_id, stage="planning")
    lookup = DynamoLookup(kind_name, file_id, dry_run)
    planner = kind.make_planner(file_id, lookup, iso_timestamp())
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
            _refresh_lock(_holder(kind_name, file_id))  # a long plan must not outlive it
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
    piece: list[Item] = []
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


# --- apply --------------------------------------------------------------------------------


def _check_fault(kind: str, file_id: int, chunk: int) -> None:
    """Test-only: fail after writing chunk N when the meta table holds a fault item."""
    if not get_settings().fault_hooks_enabled:
        return
    fault = get(MetaItem, "fault#apply")
    if fault and int(fault.get("after_chunk", -1)) == chunk:
        raise InjectedFault(f"injected fault after chunk {chunk} of {kind}#{file_id}")


def _already_applied(table: str, key: Item, entry: Item, tag: str) -> bool:
    current = get_raw(table, key)
    if entry.get("delete") is not None:
        return current is None
    return (
        current is not None
        and current.get("last_import", {}).get("S") == tag
        and current.get("version") == to_attr(entry["put"].get("version"))
    )


def _conditional_write(entry: Item, tag: str) -> None:
    logical = entry["t"]
    table = _table(logical)
    key_name = TABLE_KEYS[logical]
    prior = entry["prior"]
    condition = {
        "ConditionExpression": "#v = :pv",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":pv": to_attr(prior["version"])},
    }
    key = {key_name: to_attr(prior[key_name])}
    try:
        if entry.get("delete") is not None:
            delete_item({"TableName": table, "Key": key, **condition})
        else:
            put_item({"TableName": table, "Item": to_item(entry["put"]), **condition})
    except ClientError as exc:
        if not condition_failed(exc) or not _already_applied(table, key, entry, tag):
            raise ConcurrentModification(
                f"a {logical} record changed while the import was running"
            ) from exc


def _patients_written(entry: Item) -> int:
    """Patients a plan entry of the patients table writes (created ones come as key lists)."""
    return len(entry["created"]) if "created" in entry else 1


def apply_stage(kind_name: str, file_id: int, chunk: int) -> Item:
    """Write one plan chunk: new items in batches, changed items conditionally on version."""
    holder = _holder(kind_name, file_id)
    _refresh_lock(holder)
    for body in get_lines(creates_key(kind_name, file_id, chunk)):
        send_batch_write(body)
    entries = get_json(plan_key(kind_name, file_id, chunk))
    updates = [entry for entry in entries if "created" not in entry]
    if updates:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda e: _conditional_write(e, holder), updates))
    rows = sum(_patients_written(e) for e in entries if e["t"] == "patients")
    if rows:
        add_rows_processed(kind_name, file_id, rows)
    _check_fault(kind_name, file_id, chunk)
    return {"chunk": chunk, "entries": len(entries)}


# --- finalize and rollback ----------------------------------------------------------------


def _count_groups(manifest: Item) -> list[dict[str, int]]:
    items = sorted((manifest.get("counts") or {}).items())
    size = TRANSACTION_LIMIT - 1  # one slot for the file record's marker
    return [dict(items[i : i + size]) for i in range(0, len(items), size)]


def _apply_counts(kind: str, file_id: int, manifest: Item, undo: bool) -> None:
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
    update_import_file(kind_name, file_id, stage="finalizing")
    manifest = get_json(manifest_key(kind_name, file_id))
    created, updated = int(manifest["created"]), int(manifest["updated"])
    _apply_counts(kind_name, file_id, manifest, undo=False)
    kind = get_kind(kind_name)
    failures = load_failures(kind_name, file_id)
    _write_results(
        kind, file_id, failures, lambda: load_outcomes(kind_name, file_id), "", NOT_IMPORTED
    )
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
    )
    _release_lock(_holder(kind_name, file_id))
    announce(kind_name, file_id, "import.completed")
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
    _write_results(
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


def _restore(entry: Item, tag: str) -> bool:
    """Put one changed item back; False when someone changed it after this import."""
    logical = entry["t"]
    table = _table(logical)
    try:
        if entry.get("delete") is not None:
            put_item(
                {
                    "TableName": table,
                    "Item": to_item(entry["prior"]),
                    "ConditionExpression": "attribute_not_exists(#k)",
                    "ExpressionAttributeNames": {"#k": TABLE_KEYS[logical]},
                }
            )
        else:
            put_item(
                {
                    "TableName": table,
                    "Item": to_item(entry["prior"]),
                    "ConditionExpression": "last_import = :t AND #v = :nv",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {
                        ":t": {"S": tag},
                        ":nv": to_attr(entry["put"]["version"]),
                    },
                }
            )
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def _restore_counters(record: Item) -> None:
    for name, before in (record.get("counters_before") or {}).items():
        counter = MetaItem(f"counter#{name}", value=int(before))
        if int(before) == 0:
            counter.delete()
        else:
            counter.save()


def rollback_stage(kind_name: str, file_id: int, error: Item | None) -> Item:
    """Undo every write of this import and mark it failed. Safe to run more than once."""
    holder = _holder(kind_name, file_id)
    record = _load_file(kind_name, file_id)
    if record["status"] == "failed" and record.get("stage") == "rolled_back":
        return {"status": "failed"}
    if record.get("dry_run"):
        # A dry run wrote nothing (and held no lock): its plan must not be "undone".
        _rollback_results(kind_name, file_id, error)
        mark_failed(kind_name, file_id, _failure_messages(record, error), stage="rolled_back")
        announce(kind_name, file_id, "import.failed")
        return {"status": "failed", "restored": 0, "changed_since": 0}
    update_import_file(kind_name, file_id, stage="rolling_back")
    restored = skipped = 0
    manifest_chunks = _planned_chunks(kind_name, file_id)
    for chunk in range(manifest_chunks):
        try:
            entries = get_json(plan_key(kind_name, file_id, chunk))
        except ClientError:
            continue
        _keep_lock(holder)
        deletes: dict[str, list[Item]] = {}
        changed: list[Item] = []
        for entry in entries:
            if "created" in entry:
                key_name = TABLE_KEYS[entry["t"]]
                deletes.setdefault(entry["t"], []).extend(
                    {"DeleteRequest": {"Key": {key_name: to_attr(value)}}}
                    for value in entry["created"]
                )
            else:
                changed.append(entry)
        # One conditional put per changed item, 8 at a time as apply writes them: a file of
        # 100k updates took 548 s restored one by one (benchmarks/), near Lambda's 900 s.
        with ThreadPoolExecutor(max_workers=8) as pool:
            for done in pool.map(lambda e: _restore(e, holder), changed):
                restored, skipped = restored + done, skipped + (not done)
        for logical, requests in deletes.items():
            batch_write(_table(logical), requests)
    _restore_counters(record)
    try:
        _apply_counts(kind_name, file_id, get_json(manifest_key(kind_name, file_id)), undo=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchKey":
            raise  # no manifest: the plan never finished, no count was touched
    _rollback_results(kind_name, file_id, error)  # before the status, as in validate
    messages = _failure_messages(record, error)
    mark_failed(kind_name, file_id, messages, stage="rolled_back")
    _release_lock(holder)
    announce(kind_name, file_id, "import.failed")
    logger.warning(
        "import rolled back",
        extra={
            "kind": kind_name,
            "file_id": file_id,
            "restored": restored,
            "changed_since": skipped,
            "error_type": (error or {}).get("Error"),
        },
    )
    return {"status": "failed", "restored": restored, "changed_since": skipped}


def _rollback_results(kind_name: str, file_id: int, error: Item | None) -> None:
    """Rows that failed keep their reasons; every other row was not imported, and says why."""
    failures = load_failures(kind_name, file_id)
    rejected = (error or {}).get("Error") == "ImportRejected"
    if failures:
        update_import_file(kind_name, file_id, records_failed=len(failures))
    if failures or not rejected:
        default = NOT_IMPORTED if rejected else ROLLED_BACK
        _write_results(get_kind(kind_name), file_id, failures, None, "", default)


def _planned_chunks(kind: str, file_id: int) -> int:
    """How many plan chunks may exist: the manifest's count, or every one a crashed plan wrote."""
    paginator = client("s3").get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=get_settings().files_bucket, Prefix=f"{work_prefix(kind, file_id)}plan-"
    )
    return sum(int(page.get("KeyCount", 0)) for page in pages)


def _failure_messages(record: Item, error: Item | None) -> list[str]:
    error = error or {}
    error_type = str(error.get("Error") or "ImportFailed")
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except ValueError:
        cause = {}
    if error_type == "ImportRejected" and record.get("errors"):
        return list(record["errors"])
    detail = str(cause.get("errorMessage") or error_type)
    return [f"Import failed and was rolled back ({error_type}): {detail}"]
