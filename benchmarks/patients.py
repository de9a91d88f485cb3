"""Patients benchmark: DynamoDB items read and latency per list/filter/search request.

Run with ``.venv/bin/python benchmarks/patients.py`` (sizes 10,000 and 100,000) or
``--quick`` (2,000 and 10,000). Loads patients into a local stack (a ``moto.server`` store
process plus ``python -m devstack``) through the MIF import, then calls
``ecm.patients_api.list_patients`` / ``filter_patients`` in this process against the store,
counting the items each request reads from DynamoDB with a botocore ``after-call`` hook.
Prints one table, then each target with PASS or MISS. A MISS never fails the run (exit code
0); a measurement that breaks (an import that fails, a process that does not start) is
printed under ERRORS and makes the exit code 1.

See benchmarks/README.md ("Patients: items read per request").
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # benchmarks/ is on sys.path (just above)
    ADMIN_TOKEN,
    BENCH_DIR,
    BUCKET,
    REGION,
    ROOT,
    _stop,
    _wait_http,
    ensure_file,
    free_ports,
    import_by_path,
    log,
)

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
        import requests

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
        import boto3

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
                [
                    sys.executable,
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(self.store_port),
                ],
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
        _, record = import_by_path(
            self.session,
            self.api,
            self.headers,
            key,
            path.name,
            self.stack,
            self.stack_log,
            started + min(1800.0, max(300.0, rows * 0.018)),
        )
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
    """A CSV of sample rows ``first``..``last`` (inclusive), cached in .bench/."""
    if first == 1:
        return ensure_file(last, "csv")  # shared with run.py
    from fixtures_builders import MIF_HEADERS, sample_mif_row

    path = BENCH_DIR / f"mif-range-{first}-{last}.csv"
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MIF_HEADERS)
        for i in range(first, last + 1):
            row = sample_mif_row(i)
            writer.writerow([row[name] for name in MIF_HEADERS])
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)}")
    return path


def segments(first: int, last: int) -> list[tuple[int, int]]:
    """Rows first..last in import files of at most MAX_IMPORT_ROWS rows."""
    return [
        (start, min(start + MAX_IMPORT_ROWS - 1, last))
        for start in range(first, last + 1, MAX_IMPORT_ROWS)
    ]


# --- measuring in this process --------------------------------------------------------------


class ReadCounter:
    """Items DynamoDB read, and calls made, counted from each parsed response."""

    def __init__(self) -> None:
        self.items = 0
        self.calls = 0

    def reset(self) -> None:
        self.items = self.calls = 0

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls += 1
        name = model.name
        if name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif name == "GetItem":
            self.items += 1 if "Item" in parsed else 0
        elif name == "BatchGetItem":
            self.items += sum(len(v) for v in (parsed.get("Responses") or {}).values())


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
    from ecm.settings import get_settings
    from ecm.store import reset_clients

    get_settings.cache_clear()
    reset_clients()


@dataclass
class Request:
    label: str
    call: Callable[[], dict[str, Any]]
    limit: bool = False  # judged by "page of 25 reads <= 100 items"
    growth: bool = False  # judged by "items read do not grow with the table"
    name_search: bool = False  # the name-prefix search (its matches grow with the data)
    full_read: bool = False  # reads a whole partition (see FULL_READS_UP_TO)


def requests_to_measure(smallest: int) -> list[Request]:
    from fixtures_builders import sample_mif_row

    from ecm.patients_api import filter_patients, list_patients

    name_prefix = sample_mif_row(1234)["LAST_NAME"][:-1]
    broad_prefix = sample_mif_row(1234)["LAST_NAME"][:-3]
    # Rows 4320..4329 (10 matches at every size), or 1230..1239 when the smallest size
    # stops short of them (--quick), so the match set is the same at every size.
    member_prefix = sample_mif_row(4321 if smallest >= 4329 else 1234)["MEMBER_ID"][:-1]
    provider = str(PROVIDER_ID)
    return [
        Request("list all, page 1", lambda: list_patients({}), growth=True),
        Request(
            "status=new_member, page 1",
            lambda: list_patients({"status": "new_member"}),
            limit=True,
            growth=True,
        ),
        Request(
            f"provider_id={provider}, page 1",
            lambda: list_patients({"provider_id": provider}),
            limit=True,
            growth=True,
        ),
        Request(
            f"search name prefix '{name_prefix}'",
            lambda: list_patients({"search": name_prefix}),
            limit=True,
            name_search=True,
        ),
        Request(
            f"search member id prefix '{member_prefix}'",
            lambda: list_patients({"search": member_prefix}),
            growth=True,
        ),
        Request(
            f"search name prefix '{broad_prefix}' (broad, info)",
            lambda: list_patients({"search": broad_prefix}),
        ),
        Request(
            "status=new_member, page 4",
            lambda: list_patients({"status": "new_member", "page": "4", "per_page": "25"}),
            growth=True,
        ),
        Request(
            "filter status+acuity=high (info)",
            lambda: filter_patients({"filters": {"status": "new_member", "acuity_level": "high"}}),
            full_read=True,
        ),
        Request(
            "filter sort_by=date_of_birth (info)",
            lambda: filter_patients({"sort_by": "date_of_birth"}),
            full_read=True,
        ),
    ]


@dataclass
class Measure:
    label: str
    patients: int
    items: int
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
            found.append(Measure(request.label, patients, 0, 0, 0, 0, 0.0, 0.0, 0, skipped=True))
            log(f"{patients:,} patients | {request.label}: skipped (--full-reads-up-to)")
            continue
        times: list[float] = []
        cpu: list[float] = []
        reads: set[tuple[int, int]] = set()
        body: dict[str, Any] = {}
        while len(times) < TIMED_RUNS and (not times or sum(times) < TIME_BUDGET_S):
            counter.reset()
            cpu_started, started = time.process_time(), time.perf_counter()
            body = request.call()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            reads.add((counter.items, counter.calls))
        if len(reads) != 1:
            raise RuntimeError(f"{request.label}: items read differ between runs: {reads}")
        ((items, calls),) = reads
        result = Measure(
            label=request.label,
            patients=patients,
            items=items,
            calls=calls,
            returned=len(body["patients"]),
            total=int(body["pagination"]["total_count"]),
            median_ms=statistics.median(times) * 1000,
            cpu_ms=statistics.median(cpu) * 1000,
            runs=len(times),
        )
        log(
            f"{patients:,} patients | {request.label}: {items} items in {calls} calls, "
            f"{result.median_ms:,.1f} ms (median of {len(times)})"
        )
        found.append(result)
    return found


# --- report ---------------------------------------------------------------------------------


def print_table(report: Report) -> None:
    header = (
        "request",
        "patients in table",
        "items read",
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
                ("-", "-", "-", "-", "skipped", "-", "-")
                if m.skipped
                else (
                    f"{m.items:,}",
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
    label = f"status / provider / name-prefix page of 25 reads <= {MAX_ITEMS_PER_PAGE} items"
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
    label = f"items read at {large:,} == items read at {small:,} (same request)"
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

    # The name-prefix search reads every match; the generated names make its matches grow
    # with the table (Smith1234 at 10k, Smith123xx too at 100k), so it is judged per match.
    for request in requests:
        if not request.name_search:
            continue
        found = [by.get((request.label, s)) for s in sizes]
        label = f"{request.label}: items read == its matches at every size"
        if all(found):
            ok = all(m.items == m.total for m in found if m)
            detail = ", ".join(f"{m.items} read / {m.total} matches" for m in found if m)
            verdicts.append((ok, f"{label} ({detail})"))
        else:
            verdicts.append((False, f"{label}: not measured"))
    return verdicts


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
        from ecm.store import client

        counter = ReadCounter()
        client("dynamodb").meta.events.register("after-call.dynamodb", counter)
        requests = requests_to_measure(sizes[0])

        for size, segs in plan:
            for first, last in segs:
                rows = last - first + 1
                log(f"importing rows {first:,}..{last:,} ({files[first, last].name}) ...")
                seconds = stack.import_csv(files[first, last], rows)
                report.imports.append((first, last, seconds))
                log(f"imported {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
            from ecm.patients_api import list_patients

            total = int(list_patients({})["pagination"]["total_count"])
            if total != size:
                report.notes.append(f"patient counter reads {total:,}, expected {size:,}")
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
