"""Patients benchmark: DynamoDB items read and latency per list/filter/search request.

Run with ``.venv/bin/python benchmarks/patients.py`` (sizes 10,000 and 100,000) or
``--quick`` (2,000 and 10,000). Loads patients into a local stack (a store process,
``benchmarks/store.py``, plus ``python -m devstack``) through the MIF import, then calls
``ecm.patients.listing.list_patients`` / ``filter_patients`` in this process against the store,
counting the items each request reads from DynamoDB with a botocore ``after-call`` hook.
Prints one table, then each target with PASS or MISS. A MISS never fails the run (exit code
0); a measurement that breaks (an import that fails, a process that does not start) is
printed under ERRORS and makes the exit code 1.

See benchmarks/README.md ("Patients: items read per request").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
import requests
from capacity_rules import item_size
from common import ADMIN_TOKEN, BENCH_DIR, BUCKET, REGION, ROOT, log
from e2e import ImportWatch, _stop, _wait_http, free_ports, import_by_path, store_command
from fixtures_builders import sample_mif_row
from generated import ensure_range_file

from devstack.template import LocalTemplate, load_template
from ecm.clients import client
from ecm.models import Patient
from ecm.models.access import reset_clients
from ecm.models.base import TableMeta
from ecm.patients.listing import PatientFilterRequest, filter_patients, list_patients
from ecm.settings import get_settings

DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 10_000)
#: One import file holds at most this many rows (the stack's ECM_MAX_ROWS default).
MAX_IMPORT_ROWS = 100_000
PROVIDER_ID = 1
PROVIDER_NAME = "Esteem Health PSC"  # every sample_mif_row names this provider
MAX_ITEMS_PER_PAGE = 100  # target: a page of 25 reads <= 100 items
TIMED_RUNS = 5
#: Requests that read a whole partition take seconds through moto at 100k; stop repeating
#: one once its runs add up to this (at least one run).
TIME_BUDGET_S = 20.0
#: Report-only requests that read a whole partition run while the table holds at most this
#: many patients (--full-reads-up-to): moto spends ~4 ms of store CPU per item it returns and
#: sorts the partition on every page, so one such request takes about a minute at 10k
#: patients and would take tens of minutes at 100k, on moto's account, not ours.
FULL_READS_UP_TO = 10_000


# --- the local stack ------------------------------------------------------------------------


class LocalStack:
    """A store process (DynamoDB, S3, SQS) and a devstack process using it."""

    def __init__(self) -> None:
        self.store_port, self.api_port, self.aws_port = free_ports(3)
        self.store_url = f"http://127.0.0.1:{self.store_port}"
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.logs = BENCH_DIR / "logs"
        self.store_log = self.logs / "patients-store.log"
        self.stack_log = self.logs / "patients-devstack.log"
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only, never a proxy
        self.store: subprocess.Popen[bytes] | None = None
        self.stack: subprocess.Popen[bytes] | None = None
        self.headers = {"X-User-Token": ADMIN_TOKEN, "Content-Type": "application/json"}

    def _aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.store_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(proxy, None)
        with self.store_log.open("wb") as out:
            self.store = subprocess.Popen(
                store_command(self.store_port),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_http(self.session, f"{self.store_url}/moto-api/", self.store, self.store_log, 60)
        stack_env = {
            **env,
            "PORT": str(self.api_port),
            "AWS_PORT": str(self.aws_port),
            "ECM_ADMIN_TOKEN": ADMIN_TOKEN,
            "ECM_STORE_ENDPOINT": self.store_url,
            "ECM_SYNC_WAIT_SECONDS": "1",
        }
        with self.stack_log.open("wb") as out:
            self.stack = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=ROOT,
                env=stack_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_http(self.session, f"{self.api}/v1/health", self.stack, self.stack_log, 120)

    def create_provider(self) -> None:
        """Provider 1: every sample row names it, so every patient joins its case load."""
        self._aws("dynamodb").put_item(
            TableName="ProvidersTable",
            Item={
                "id": {"N": str(PROVIDER_ID)},
                "name": {"S": PROVIDER_NAME},
                "npi": {"NULL": True},
            },
        )

    def import_csv(self, path: Path, rows: int) -> float:
        """Upload and import ``path`` through the API; seconds from the POST to completion."""
        assert self.stack is not None
        key = f"bench/{path.name}"
        self._aws("s3").upload_file(str(path), BUCKET, key)
        started = time.perf_counter()
        deadline = started + min(1800.0, max(300.0, rows * 0.018))
        watch = ImportWatch(
            self.session, self.api, self.headers, self.stack, self.stack_log, deadline
        )
        _, record = import_by_path(watch, key, path.name)
        imported = int(record.get("records_imported") or 0)
        if imported != rows:
            raise RuntimeError(
                f"import {record['id']} imported {imported} records, expected {rows}"
            )
        return time.perf_counter() - started

    def stop(self) -> None:
        _stop(self.stack)
        _stop(self.store)
        self.session.close()


def range_file(first: int, last: int) -> Path:
    """A CSV of sample rows ``first``..``last`` (inclusive), cached in .bench/ (shared with
    run.py and uploads.py)."""
    return ensure_range_file(first, last, "csv")


def segments(first: int, last: int) -> list[tuple[int, int]]:
    """Rows first..last in import files of at most MAX_IMPORT_ROWS rows."""
    return [
        (start, min(start + MAX_IMPORT_ROWS - 1, last))
        for start in range(first, last + 1, MAX_IMPORT_ROWS)
    ]


# --- measuring in this process --------------------------------------------------------------


def read_units(size: int, consistent: bool) -> float:
    """Read capacity of one request reading ``size`` bytes (4 KB units, 0.5 if eventual)."""
    units = max(1, -(-size // 4096))
    return units if consistent else units / 2


class ReadCounter:
    """What each DynamoDB request read, counted from its parameters and parsed response.

    ``items``: full patient (or counter) items: ScannedCount of a Query/Scan of a table or
    an ALL-projected index, 1 per GetItem that found one, each item of a BatchGetItem.
    ``entries``: entries of the indexes that project keys only (the sharded lists and the
    search indexes: ``entry_sizes`` names them), the ones a Select=COUNT query counts
    included. ``rcu``: estimated read capacity: 4 KB units of the bytes each request read
    (eventually consistent unless ConsistentRead), index entries sized by ``entry_sizes``
    (mean projected entry, measured by ``calibrate``). moto's own
    ConsumedCapacity is a constant, so it is not used. Thread-safe: a search's queries run
    on a thread pool.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.local = threading.local()
        self.entry_sizes: dict[str, float] = {}
        self.items = 0
        self.entries = 0
        self.calls = 0
        self.rcu = 0.0

    def reset(self) -> None:
        with self.lock:
            self.items = self.entries = self.calls = 0
            self.rcu = 0.0

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self.local.params = params

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        params: dict[str, Any] = getattr(self.local, "params", None) or {}
        name = model.name
        items = entries = 0
        rcu = 0.0
        consistent = bool(params.get("ConsistentRead"))
        if name in ("Query", "Scan"):
            scanned = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
            index = str(params.get("IndexName") or "")
            if index in self.entry_sizes:
                entries = scanned
                size = scanned * self.entry_sizes.get(index, 100.0)
            else:
                items = scanned
                size = sum(item_size(i) for i in parsed.get("Items", []))
            rcu = read_units(int(size), consistent)
        elif name == "GetItem":
            items = 1 if "Item" in parsed else 0
            rcu = read_units(item_size(parsed.get("Item") or {}), consistent)
        elif name == "BatchGetItem":
            found = [i for v in (parsed.get("Responses") or {}).values() for i in v]
            items = len(found)
            # BatchGetItem rounds each item up to 4 KB; consistent as its request says
            asked = (params.get("RequestItems") or {}).values()
            strong = any(bool(spec.get("ConsistentRead")) for spec in asked)
            rcu = sum(read_units(item_size(i), strong) for i in found)
        with self.lock:
            self.calls += 1
            self.items += items
            self.entries += entries
            self.rcu += rcu


def calibrate(counter: ReadCounter, ddb: Any) -> None:
    """Mean entry size (all its projected attributes) of each index of the patients table
    that does not project whole items, from up to 1,000 entries of each, read with a client
    the counter does not count."""
    table = LocalTemplate(load_template(), {}, 4566).table_properties("PatientsTable")
    for spec in table["GlobalSecondaryIndexes"]:
        if spec["Projection"]["ProjectionType"] == "ALL":
            continue
        index = spec["IndexName"]
        found = ddb.scan(TableName=get_settings().patients_table, IndexName=index, Limit=1000)
        sizes = [item_size(i) for i in found["Items"]]
        counter.entry_sizes[index] = sum(sizes) / len(sizes) if sizes else 100.0


def point_at_store(store_url: str) -> None:
    """This process's AWS settings: the store process, the template's table names."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": store_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name.lower().endswith("_proxy"):
            os.environ.pop(name)

    # The store answers one DynamoDB request at a time, and a search sends 64 at once: the
    # last waits for the others, longer than the product's 30 s at 100,000 patients.
    TableMeta.read_timeout_seconds = 600
    get_settings.cache_clear()
    reset_clients()


@dataclass
class Request:
    label: str
    call: Callable[[], dict[str, Any]]
    limit: bool = False  # judged by "page of 25 reads <= 100 full items"
    growth: bool = False  # judged by "full items read do not grow with the table"
    search: bool = False  # a search page: judged by "full items read == patients returned"
    full_read: bool = False  # reads a whole partition (see FULL_READS_UP_TO)


def requests_to_measure(smallest: int) -> list[Request]:
    def listed(query: dict[str, str]) -> Any:
        """GET /patients as its route calls the domain: the query's parameters, or None."""
        page, per_page = query.get("page"), query.get("per_page")
        return list_patients(
            query.get("search"),
            query.get("status"),
            int(query["provider_id"]) if "provider_id" in query else None,
            int(page) if page else None,
            int(per_page) if per_page else None,
        )

    def filtered(body: dict[str, Any]) -> Any:
        """POST /patients/filter as its route calls the domain."""
        return filter_patients(PatientFilterRequest.model_validate(body))

    name_prefix = sample_mif_row(1234)["LAST_NAME"][:-1]
    broad_prefix = sample_mif_row(1234)["LAST_NAME"][:-3]
    one_character = sample_mif_row(1234)["LAST_NAME"][:1]
    # Rows 4320..4329 (10 matches at every size), or 1230..1239 when the smallest size
    # stops short of them (--quick), so the match set is the same at every size.
    member_prefix = sample_mif_row(4321 if smallest >= 4329 else 1234)["MEMBER_ID"][:-1]
    provider = str(PROVIDER_ID)
    return [
        Request("list all, page 1", lambda: listed({}), growth=True),
        Request(
            "status=new_member, page 1",
            lambda: listed({"status": "new_member"}),
            limit=True,
            growth=True,
        ),
        Request(
            f"provider_id={provider}, page 1",
            lambda: listed({"provider_id": provider}),
            limit=True,
            growth=True,
        ),
        Request(  # its matches grow with the table (see README): not judged on growth
            f"search name prefix '{name_prefix}'",
            lambda: listed({"search": name_prefix}),
            limit=True,
            search=True,
        ),
        Request(
            f"search member id prefix '{member_prefix}'",
            lambda: listed({"search": member_prefix}),
            growth=True,
            search=True,
        ),
        Request(
            f"search broad prefix '{broad_prefix}', page 1",
            lambda: listed({"search": broad_prefix}),
            limit=True,
            growth=True,
            search=True,
        ),
        Request(
            f"search broad prefix '{broad_prefix}', page 2",
            lambda: listed({"search": broad_prefix, "page": "2"}),
            growth=True,
            search=True,
        ),
        Request(
            f"search broad prefix '{broad_prefix}', page 5",
            lambda: listed({"search": broad_prefix, "page": "5"}),
            growth=True,
            search=True,
        ),
        Request(
            f"search one character '{one_character}', page 1",
            lambda: listed({"search": one_character}),
            limit=True,
            growth=True,
            search=True,
        ),
        Request(
            f"search '{broad_prefix}' + status (info)",
            lambda: listed({"search": broad_prefix, "status": "new_member"}),
        ),
        Request(
            "status=new_member, page 4",
            lambda: listed({"status": "new_member", "page": "4", "per_page": "25"}),
            growth=True,
        ),
        Request(
            "filter status+acuity=high (info)",
            lambda: filtered({"filters": {"status": "new_member", "acuity_level": "high"}}),
            full_read=True,
        ),
        Request(
            "filter sort_by=date_of_birth (info)",
            lambda: filtered({"sort_by": "date_of_birth"}),
            full_read=True,
        ),
    ]


@dataclass
class Measure:
    label: str
    patients: int
    items: int
    entries: int
    rcu: float
    calls: int
    returned: int
    total: int
    median_ms: float
    cpu_ms: float
    runs: int
    skipped: bool = False


@dataclass
class Report:
    measures: list[Measure] = field(default_factory=list)
    imports: list[tuple[int, int, float]] = field(default_factory=list)  # first, last, s
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def measure(
    requests: list[Request], counter: ReadCounter, patients: int, full_reads_up_to: int
) -> list[Measure]:
    found: list[Measure] = []
    for request in requests:
        if request.full_read and patients > full_reads_up_to:
            found.append(
                Measure(request.label, patients, 0, 0, 0.0, 0, 0, 0, 0.0, 0.0, 0, skipped=True)
            )
            log(f"{patients:,} patients | {request.label}: skipped (--full-reads-up-to)")
            continue
        times: list[float] = []
        cpu: list[float] = []
        reads: set[tuple[int, int, int, float]] = set()
        body: dict[str, Any] = {}
        while len(times) < TIMED_RUNS and (not times or sum(times) < TIME_BUDGET_S):
            counter.reset()
            cpu_started, started = time.process_time(), time.perf_counter()
            body = request.call()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            reads.add((counter.items, counter.entries, counter.calls, round(counter.rcu, 1)))
        if len(reads) != 1:
            raise RuntimeError(f"{request.label}: items read differ between runs: {reads}")
        ((items, entries, calls, rcu),) = reads
        result = Measure(
            label=request.label,
            patients=patients,
            items=items,
            entries=entries,
            rcu=rcu,
            calls=calls,
            returned=len(body["patients"]),
            total=int(body["pagination"]["total_count"]),
            median_ms=statistics.median(times) * 1000,
            cpu_ms=statistics.median(cpu) * 1000,
            runs=len(times),
        )
        log(
            f"{patients:,} patients | {request.label}: {items} items, {entries} index "
            f"entries, ~{rcu:,.1f} RCU in {calls} calls, "
            f"{result.median_ms:,.1f} ms (median of {len(times)})"
        )
        found.append(result)
    return found


# --- report ---------------------------------------------------------------------------------


def print_table(report: Report) -> None:
    header = (
        "request",
        "patients in table",
        "full items",
        "index entries",
        "est. RCU",
        "DDB calls",
        "returned",
        "total_count",
        "median ms",
        "our CPU ms",
        "runs",
    )
    lines = [
        (
            m.label,
            f"{m.patients:,}",
            *(
                ("-", "-", "-", "-", "-", "-", "skipped", "-", "-")
                if m.skipped
                else (
                    f"{m.items:,}",
                    f"{m.entries:,}",
                    f"{m.rcu:,.1f}",
                    f"{m.calls:,}",
                    f"{m.returned:,}",
                    f"{m.total:,}",
                    f"{m.median_ms:,.1f}",
                    f"{m.cpu_ms:,.1f}",
                    str(m.runs),
                )
            ),
        )
        for m in sorted(report.measures, key=_order(report))
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(fmt(header))
    print(fmt(tuple("-" * w for w in widths)))
    for line in lines:
        print(fmt(line))


def _order(report: Report) -> Callable[[Measure], tuple[int, int]]:
    labels: list[str] = []
    for m in report.measures:
        if m.label not in labels:
            labels.append(m.label)
    return lambda m: (labels.index(m.label), m.patients)


def targets(report: Report, requests: list[Request], sizes: list[int]) -> list[tuple[bool, str]]:
    verdicts: list[tuple[bool, str]] = []
    by = {(m.label, m.patients): m for m in report.measures}
    limited = [m for r in requests if r.limit for m in report.measures if m.label == r.label]
    label = f"status / provider / search page of 25 reads <= {MAX_ITEMS_PER_PAGE} full items"
    if limited:
        worst = max(limited, key=lambda m: m.items)
        verdicts.append(
            (
                all(m.items <= MAX_ITEMS_PER_PAGE for m in limited),
                f"{label}: worst {worst.items} ({worst.label}, {worst.patients:,} patients)",
            )
        )
    else:
        verdicts.append((False, f"{label}: not measured"))

    small, large = min(sizes), max(sizes)
    label = f"full items read at {large:,} == at {small:,} (same request)"
    compared: list[str] = []
    grown: list[str] = []
    missing = False
    for request in requests:
        if not request.growth:
            continue
        a, b = by.get((request.label, small)), by.get((request.label, large))
        if a is None or b is None:
            missing = True
            continue
        compared.append(f"{request.label} {a.items}")
        if b.items > a.items:
            grown.append(f"{request.label}: {a.items} -> {b.items}")
    if small == large:
        verdicts.append((False, f"{label}: needs two sizes"))
    elif missing or not compared:
        verdicts.append((False, f"{label}: not measured"))
    else:
        verdicts.append((not grown, f"{label}: {'; '.join(grown or compared)}"))

    # A search page reads the full items of its page only; its index entries (the count
    # reads every match's keys-only entry) grow with the matches: search_entries() lists them.
    searched = [m for r in requests if r.search for m in report.measures if m.label == r.label]
    label = "search pages read only their own full items (full items == patients returned)"
    if searched:
        over = [m for m in searched if m.items != m.returned]
        worst = max(searched, key=lambda m: m.items - m.returned)
        detail = (
            "; ".join(f"{m.label} at {m.patients:,}: {m.items} / {m.returned}" for m in over)
            or f"worst {worst.items} / {worst.returned} ({worst.label}, {worst.patients:,})"
        )
        verdicts.append((not over, f"{label}: {detail}"))
    else:
        verdicts.append((False, f"{label}: not measured"))
    return verdicts


def search_entries(report: Report, requests: list[Request], sizes: list[int]) -> list[str]:
    """Per search request and size: index entries read against the matches (info)."""
    by = {(m.label, m.patients): m for m in report.measures}
    lines = []
    for request in requests:
        if not request.search:
            continue
        found = [m for s in sizes if (m := by.get((request.label, s))) and not m.skipped]
        if found:
            lines.append(
                f"{request.label}: "
                + ", ".join(
                    f"{m.entries:,} entries / {m.total:,} matches / ~{m.rcu:,.1f} RCU "
                    f"at {m.patients:,}"
                    for m in found
                )
            )
    return lines


# --- the run --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="patients in the table at each measurement, comma separated (default %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(str(s) for s in QUICK_SIZES)}: a fast check",
    )
    parser.add_argument(
        "--full-reads-up-to",
        type=int,
        default=FULL_READS_UP_TO,
        metavar="PATIENTS",
        help="run the report-only whole-partition requests only while the table holds at "
        "most this many patients (default %(default)s; each takes ~1 min at 10k through moto)",
    )
    return parser.parse_args(argv)


def run(report: Report, sizes: list[int], full_reads_up_to: int) -> list[Request]:
    stack = LocalStack()
    requests: list[Request] = []
    try:
        # Generate the files first: their cost is not the import's.
        plan: list[tuple[int, list[tuple[int, int]]]] = []
        loaded = 0
        for size in sizes:
            plan.append((size, segments(loaded + 1, size)))
            loaded = size
        files = {seg: range_file(*seg) for _, segs in plan for seg in segs}

        log("starting the store and the local stack ...")
        stack.start()
        stack.create_provider()
        point_at_store(stack.store_url)

        counter = ReadCounter()
        # Queries go through the Patient model's client, batch reads through ecm.store's.
        for ddb in (client("dynamodb"), Patient._get_connection().connection.client):
            ddb.meta.events.register("before-parameter-build.dynamodb", counter.before)
            ddb.meta.events.register("after-call.dynamodb", counter)
        requests = requests_to_measure(sizes[0])

        for size, segs in plan:
            for first, last in segs:
                rows = last - first + 1
                log(f"importing rows {first:,}..{last:,} ({files[first, last].name}) ...")
                seconds = stack.import_csv(files[first, last], rows)
                report.imports.append((first, last, seconds))
                log(f"imported {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")

            total = int(list_patients(None, None, None, 1, 1)["pagination"]["total_count"])
            if total != size:
                report.notes.append(f"patient counter reads {total:,}, expected {size:,}")
            calibrate(counter, stack._aws("dynamodb"))
            measured = measure(requests, counter, size, full_reads_up_to)
            if any(m.skipped for m in measured):
                report.notes.append(
                    f"whole-partition requests skipped at {size:,} patients "
                    f"(--full-reads-up-to {full_reads_up_to}): each would read every "
                    f"patient of its partition ({size:,} here), as it does at smaller sizes"
                )
            report.measures.extend(measured)
    finally:
        stack.stop()
    return requests


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sizes = sorted(
        QUICK_SIZES if args.quick else {int(s) for s in args.sizes.split(",") if s.strip()}
    )
    if not sizes or sizes[0] < 1:
        raise SystemExit(f"bad sizes: {sizes}")
    started = time.perf_counter()
    report = Report()
    requests: list[Request] = []
    try:
        requests = run(report, sizes, args.full_reads_up_to)
    except Exception as exc:
        report.errors.append(f"{type(exc).__name__}: {exc}")
        log(f"ERROR {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)

    print()
    print(
        f"ECM patients benchmark — sizes {', '.join(f'{s:,}' for s in sizes)}; "
        f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f} s"
    )
    for first, last, seconds in report.imports:
        rows = last - first + 1
        print(f"  import rows {first:,}..{last:,}: {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    print()
    if report.measures:
        print_table(report)
    print()
    print("targets")
    for passed, text in targets(report, requests, sizes) if requests else []:
        print(f"  {'PASS' if passed else 'MISS'}  {text}")
    entries = search_entries(report, requests, sizes) if requests else []
    if entries:
        print()
        print("search index entries (the count reads each match's keys-only entry; info)")
        for line in entries:
            print(f"  {line}")
    if report.notes:
        print()
        print("notes")
        for note in report.notes:
            print(f"  - {note}")
    if report.errors:
        print()
        print("ERRORS (measurements that broke; their targets are MISS):")
        for message in report.errors:
            print(f"  - {message}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
