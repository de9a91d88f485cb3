"""ECM Imports benchmark: read+validate throughput, peak memory per stage, end-to-end import.

Run with ``make bench`` (``.venv/bin/python benchmarks/run.py``); ``--quick`` for a fast check.
Prints one table measured in this run, then each target with PASS or MISS. A MISS never
fails the run (exit code 0); a measurement that breaks (an import that fails, a process
that does not start) is printed loudly and makes the exit code 1.

See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / ".bench"
for _extra in (ROOT, ROOT / "tests", ROOT / "layers" / "shared"):
    if str(_extra) not in sys.path:
        sys.path.insert(0, str(_extra))

from devstack.environment import use_local_environment  # noqa: E402 - needs the path above

# Domain code runs in this process too (read+validate, plan): with the local stack's names.
use_local_environment()

#: "auth-xlsx" is an authorization workbook (issue #3), read by the same XLSX reader.
FORMATS = ("csv", "xml", "xlsx", "auth-xlsx")
DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 10_000)
MAX_ROWS = 200_000
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
BUCKET = "ecm-local-files-123456789012"
REGION = "us-east-1"
NOW = "2026-01-01T00:00:00.000Z"

# Targets (issue #13's bounds; see README.md). The CPU bound was 300 µs with the hand-written
# DynamoDB client; botocore's per-call cost is the accepted price of the libraries.
CSV_MIN_ROWS_S = 90_000
CSV_MIN_RATIO = 0.10
XML_MIN_ROWS_S = 20_000  # defusedxml
XLSX_MIN_ROWS_S = 40_000
MAX_RSS_MB = 250
RSS_TARGET_ROWS = 100_000
MAX_CPU_US_PER_ROW = 600
E2E_SCALING_SLACK = 1.1  # time(100k)/time(10k) <= 11 = 1.1 x (100k/10k)
PROFILE_DIR: Path | None = None  # --profile-e2e
STORE_SERVER = "waitress"  # --store-server (benchmarks/store.py)
PARTS = ("read", "memory", "e2e", "floor")


# --- generated files ------------------------------------------------------------------------


def bench_file(rows: int, fmt: str) -> Path:
    if fmt == "auth-xlsx":
        return BENCH_DIR / f"auth-{rows}.xlsx"
    return BENCH_DIR / f"mif-{rows}.{fmt}"


def _sample_rows(count: int, first: int = 1) -> Iterator[dict[str, str]]:
    from fixtures_builders import sample_mif_row

    for i in range(first, first + count):
        yield sample_mif_row(i)


def _write_csv(path: Path, count: int, first: int = 1) -> None:
    from fixtures_builders import MIF_HEADERS

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MIF_HEADERS)
        for row in _sample_rows(count, first):
            writer.writerow([row[name] for name in MIF_HEADERS])


def _write_xml(path: Path, count: int, first: int = 1) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<Members>\n')
        for row in _sample_rows(count, first):
            cells = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in row.items())
            handle.write(f"  <Member>{cells}</Member>\n")
        handle.write("</Members>\n")


def _write_xlsx(path: Path, count: int, first: int = 1) -> None:
    from fixtures_builders import MIF_HEADERS
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("MIF")
    sheet.append(list(MIF_HEADERS))
    for row in _sample_rows(count, first):
        sheet.append([row[name] for name in MIF_HEADERS])
    workbook.save(str(path))


def _write_auth_xlsx(path: Path, count: int) -> None:
    from fixtures_builders import AUTH_HEADERS, sample_auth_row
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Authorizations")
    sheet.append(list(AUTH_HEADERS))
    for i in range(1, count + 1):
        row = sample_auth_row(i)
        sheet.append([row[name] for name in AUTH_HEADERS])
    workbook.save(str(path))


WRITERS: dict[str, Callable[[Path, int], None]] = {
    "csv": _write_csv,
    "xml": _write_xml,
    "xlsx": _write_xlsx,
    "auth-xlsx": _write_auth_xlsx,
}
#: MIF writers of rows ``first``..``first + count - 1`` (ensure_range_file).
RANGE_WRITERS: dict[str, Callable[[Path, int, int], None]] = {
    "csv": _write_csv,
    "xml": _write_xml,
    "xlsx": _write_xlsx,
}


def ensure_file(rows: int, fmt: str) -> Path:
    """The benchmark file of this size and format, generated once and cached in .bench/."""
    path = bench_file(rows, fmt)
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    WRITERS[fmt](partial, rows)
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    return path


def ensure_range_file(first: int, last: int, fmt: str) -> Path:
    """A MIF of sample rows ``first``..``last`` (inclusive), cached in .bench/.

    Rows 1..n are ``ensure_file(n, fmt)``'s file; other ranges are ``mif-range-<a>-<b>.<fmt>``.
    """
    if first == 1:
        return ensure_file(last, fmt)
    path = BENCH_DIR / f"mif-range-{first}-{last}.{fmt}"
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    RANGE_WRITERS[fmt](partial, last - first + 1, first)
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    return path


# --- the code paths under test --------------------------------------------------------------


def run_validate(path: Path, fmt: str, on_chunk: Callable[[list[Any]], None]) -> int:
    """``validate_file`` exactly as the import's validate stage calls it; returns the rows."""
    from ecm.errors import ImportRejected
    from ecm.imports.stages.validate import validate_file
    from ecm.kinds.registry import AUTHORIZATION, MIF
    from ecm.settings import DEFAULT_CHUNK_ROWS

    kind, file_type = (AUTHORIZATION, "xlsx") if fmt == "auth-xlsx" else (MIF, fmt)
    outcome = validate_file(kind, path, file_type, on_chunk, MAX_ROWS, DEFAULT_CHUNK_ROWS)
    if isinstance(outcome, ImportRejected):
        raise RuntimeError(f"validate_file rejected {path.name}: {outcome.errors[:5]}")
    rows, _warnings = outcome
    return rows


def validate_throughput(path: Path, fmt: str) -> tuple[int, float]:
    counted = 0

    def count(chunk: list[Any]) -> None:
        nonlocal counted
        counted += len(chunk)

    started = time.perf_counter()
    rows = run_validate(path, fmt, count)
    elapsed = time.perf_counter() - started
    assert counted == rows, (counted, rows)
    return rows, elapsed


def bare_csv_throughput(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = sum(1 for _ in reader)
    return rows, time.perf_counter() - started


def best_of(runs: int, measure: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    """(rows, best seconds) over ``runs`` runs."""
    best = float("inf")
    rows = 0
    for _ in range(runs):
        gc.collect()
        rows, seconds = measure()
        best = min(best, seconds)
    return rows, best


class MemoryLookup:
    """The planner's PatientLookup over empty tables: every row creates a patient."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def get_keys(self, keys: list[str]) -> dict[str, Any]:
        return {}

    def get_patients(self, ids: list[int]) -> dict[int, Any]:
        return {}

    def reserve(self, counter: str, count: int) -> int:
        before = self.counters.get(counter, 0)
        self.counters[counter] = before + count
        return before + 1


def write_row_chunks(path: Path, fmt: str, directory: Path) -> int:
    """Validate the file and keep its row chunks as the validate stage does (JSON per chunk)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0

    def store(chunk: list[Any]) -> None:
        nonlocal written
        (directory / f"rows-{written:05d}.json").write_text(
            json.dumps(chunk, separators=(",", ":"))
        )
        written += 1

    return run_validate(path, fmt, store)


def run_plan(directory: Path) -> tuple[int, float]:
    """The plan stage over stored row chunks, an in-memory lookup in place of DynamoDB.

    Each chunk's plan entries are serialised (as the stage does before writing them to S3)
    and dropped; returns (rows, seconds).
    """
    from ecm.kinds.mif.planner import MifPlanner
    from ecm.patients.providers import ProviderDirectory
    from ecm.settings import DEFAULT_CHUNK_ROWS

    planner = MifPlanner(file_id=1, lookup=MemoryLookup(), providers=ProviderDirectory([]), now=NOW)
    rows = 0
    started = time.perf_counter()
    for chunk_path in sorted(directory.glob("rows-*.json")):
        chunk = [(int(r), rec) for r, rec in json.loads(chunk_path.read_text())]
        rows += len(chunk)
        entries = planner.plan_chunk(chunk)
        json.dumps(entries, separators=(",", ":"))
        del entries, chunk
    tail = planner.finish()
    for start in range(0, len(tail), DEFAULT_CHUNK_ROWS * 2):
        json.dumps(tail[start : start + DEFAULT_CHUNK_ROWS * 2], separators=(",", ":"))
    elapsed = time.perf_counter() - started
    if planner.errors:
        raise RuntimeError(f"planner errors: {planner.errors[:5]}")
    if planner.created != rows:
        raise RuntimeError(f"planner created {planner.created} patients for {rows} rows")
    return rows, elapsed


# --- fresh-process children (peak RSS) ------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS in MB.

    ``VmHWM`` (Linux) is the peak of this process's own address space. ``ru_maxrss`` is the
    fallback only: Linux carries the parent's peak over a vfork+exec (what ``subprocess``
    does), so a child of a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_main(stage: str, target: str, fmt: str) -> int:
    """Run one stage in this fresh process and print its peak RSS as JSON."""
    import ecm.imports.stages.plan
    import ecm.imports.stages.validate
    import ecm.kinds.mif.planner
    import ecm.kinds.registry
    import ecm.patients.providers  # noqa: F401

    result: dict[str, Any] = {"stage": stage, "format": fmt}
    if stage == "validate":
        result["rows"] = run_validate(Path(target), fmt, lambda chunk: None)
    elif stage == "plan":
        result["rows"], result["seconds"] = run_plan(Path(target))
    elif stage != "baseline":
        raise SystemExit(f"unknown stage {stage}")
    result["rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


def run_child(stage: str, target: Path | str, fmt: str) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: PLW1510 - checked below with the child's stderr
        [sys.executable, __file__, "--child", stage, str(target), fmt],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child {stage} {fmt} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# --- end-to-end through the local stack -----------------------------------------------------


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def _rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def _wait_http(
    session: Any, url: str, process: subprocess.Popen[bytes], log_path: Path, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} process exited:\n{log_path.read_text()[-3000:]}")
        try:
            if session.get(url, timeout=2).status_code == 200:
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{url} did not answer within {seconds:.0f} s:\n{log_path.read_text()[-3000:]}"
    )


def _parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


@dataclass
class E2EResult:
    rows: int
    seconds: float
    cpu_seconds: float
    store_cpu_seconds: float
    idle_cpu_per_s: float
    peak_rss_mb: float
    status_code: int
    stages: dict[str, float] = field(default_factory=dict)
    stage_cpu: dict[str, float] = field(default_factory=dict)


STAGE_MESSAGES = {
    "received": "import received",
    "validated": "import validated",
    "planned": "import planned",
    "completed": "import completed",
}


def stage_seconds(log_path: Path) -> dict[str, float]:
    """Seconds per stage from the stack's log lines (best effort: {} when they change)."""
    seen: dict[str, float] = {}
    try:
        for line in log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            for name, message in STAGE_MESSAGES.items():
                if record.get("message") == message and name not in seen:
                    stamp = datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")
                    seen[name] = stamp.timestamp()
    except (OSError, ValueError, KeyError):
        return {}
    if len(seen) != len(STAGE_MESSAGES):
        return {}
    return {
        "validate": seen["validated"] - seen["received"],
        "lock+plan": seen["planned"] - seen["validated"],
        "apply+finalize": seen["completed"] - seen["planned"],
    }


def stage_cpu_seconds(log_path: Path) -> dict[str, float]:
    """CPU seconds per stage handler, summed over invocations, from the "stage finished"
    log lines of ``engine.phi_safe`` (the thread's CPU: excludes the API, the Step Functions
    emulation and the pollers, which the process figure includes)."""
    spent: dict[str, float] = {}
    try:
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"stage finished"' in line:
                record = json.loads(line)
                stage = str(record["stage"])
                spent[stage] = spent.get(stage, 0.0) + float(record["cpu_seconds"])
    except (OSError, ValueError, KeyError):
        return {}
    return spent


def _start_profiler(pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy (from $PYSPY or PATH) sampling the stack process, when --profile-e2e asks."""
    if not PROFILE_DIR:
        return None
    binary = os.environ.get("PYSPY") or shutil.which("py-spy")
    if not binary:
        log("--profile-e2e: py-spy not found (set PYSPY or put it on PATH); not profiling")
        return None
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    out = PROFILE_DIR / f"devstack-{name}.txt"
    log(f"profiling the stack process into {out}")
    command = [binary, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    return subprocess.Popen(
        # --gil: only the thread holding the GIL, i.e. where the stack's CPU goes (threads
        # waiting on a socket or on the GIL would blur the picture).
        [*command, "--gil", "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None or profiler.poll() is not None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(timeout=15)


def import_by_path(
    session: Any,  # a requests.Session
    api: str,
    headers: dict[str, str],
    key: str,
    name: str,
    stack: subprocess.Popen[bytes],
    stack_log: Path,
    deadline: float,
    on_poll: Callable[[], None] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST a path import and poll its record until completed: (POST status, final record)."""
    response = session.post(
        f"{api}/v1/admin/clinic/ecm/mifs", json={"mif": {"path": key}}, headers=headers, timeout=120
    )
    if response.status_code not in (201, 202):
        raise RuntimeError(f"POST answered {response.status_code}: {response.text[:2000]}")
    file_id = int(response.json()["mif_file_id"])
    record = wait_for_import(
        session, api, headers, file_id, name, stack, stack_log, deadline, on_poll
    )
    return response.status_code, record


def wait_for_import(
    session: Any,  # a requests.Session
    api: str,
    headers: dict[str, str],
    file_id: int,
    name: str,
    stack: subprocess.Popen[bytes],
    stack_log: Path,
    deadline: float,
    on_poll: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Poll a MIF file record until it is completed (returned) or failed (raised)."""
    delay = 0.2
    record: dict[str, Any] = {}
    while True:
        if on_poll is not None:
            on_poll()
        if stack.poll() is not None:
            raise RuntimeError(f"devstack exited:\n{stack_log.read_text()[-3000:]}")
        detail = session.get(
            f"{api}/v1/admin/clinic/ecm/mifs/{file_id}", headers=headers, timeout=60
        )
        if detail.status_code == 200:
            record = detail.json()["mif_file"]
            if record["status"] == "completed":
                return record
            if record["status"] == "failed":
                raise RuntimeError(
                    f"import {file_id} of {name} FAILED: {record.get('import_errors')}"
                )
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"import {file_id} of {name} not done by its deadline "
                f"(stage {record.get('stage')}, {record.get('rows_processed')} rows applied)"
            )
        time.sleep(delay)
        delay = min(delay * 1.3, 2.0)


def store_command(port: int) -> list[str]:
    """The store process (DynamoDB, S3, SQS) on ``port``: benchmarks/store.py."""
    return [sys.executable, str(ROOT / "benchmarks" / "store.py"), str(port), STORE_SERVER]


def e2e_import(path: Path, rows: int) -> E2EResult:
    """Import ``path`` through a fresh local stack whose data services live in another process."""
    import boto3
    import requests

    timeout = min(1800.0, max(300.0, rows * 0.018))
    store_port, api_port, aws_port = free_ports(3)
    logs = BENCH_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    store_log = logs / f"store-{path.name}.log"
    stack_log = logs / f"devstack-{path.name}.log"
    session = requests.Session()
    session.trust_env = False  # loopback only, never a proxy
    store: subprocess.Popen[bytes] | None = None
    stack: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    base_env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        base_env.pop(proxy, None)
    try:
        with store_log.open("wb") as out:
            store = subprocess.Popen(
                store_command(store_port),
                cwd=ROOT,
                env=base_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        store_url = f"http://127.0.0.1:{store_port}"
        _wait_http(session, f"{store_url}/moto-api/", store, store_log, 60)
        stack_env = {
            **base_env,
            "PORT": str(api_port),
            "AWS_PORT": str(aws_port),
            "ECM_ADMIN_TOKEN": ADMIN_TOKEN,
            "ECM_STORE_ENDPOINT": store_url,
            "ECM_SYNC_WAIT_SECONDS": "1",
        }
        with stack_log.open("wb") as out:
            stack = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=ROOT,
                env=stack_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        api = f"http://127.0.0.1:{api_port}"
        _wait_http(session, f"{api}/v1/health", stack, stack_log, 120)

        key = f"bench/{path.name}"
        s3 = boto3.client(
            "s3",
            endpoint_url=store_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        s3.upload_file(str(path), BUCKET, key)

        # The stack's CPU while idle (inbox poller, timers), for reading the figure below.
        idle_start = _cpu_seconds(stack.pid)
        time.sleep(3)
        idle_per_s = (_cpu_seconds(stack.pid) - idle_start) / 3

        headers = {"X-User-Token": ADMIN_TOKEN, "Content-Type": "application/json"}
        profiler = _start_profiler(stack.pid, path.name)
        cpu_start, store_start = _cpu_seconds(stack.pid), _cpu_seconds(store.pid)
        wall_start, clock_start = time.time(), time.perf_counter()
        peak = [_rss_mb(stack.pid)]
        status_code, record = import_by_path(
            session,
            api,
            headers,
            key,
            path.name,
            stack,
            stack_log,
            clock_start + timeout,
            on_poll=lambda: peak.append(max(peak[-1], _rss_mb(stack.pid))),
        )
        peak_rss = peak[-1]
        observed = time.perf_counter() - clock_start
        cpu = _cpu_seconds(stack.pid) - cpu_start
        store_cpu = _cpu_seconds(store.pid) - store_start
        _stop_profiler(profiler)
        # The record's last update is the finalize stage: exact, whatever the polling interval.
        finished = _parse_iso(record.get("updated_at"))
        seconds = observed
        if finished is not None and 0 < finished - wall_start <= observed + 1:
            seconds = finished - wall_start
        imported = int(record.get("records_imported") or 0)
        if imported != rows:
            raise RuntimeError(
                f"import {record['id']} imported {imported} records, expected {rows}"
            )
        return E2EResult(
            rows=rows,
            seconds=seconds,
            cpu_seconds=cpu,
            store_cpu_seconds=store_cpu,
            idle_cpu_per_s=idle_per_s,
            peak_rss_mb=peak_rss,
            status_code=status_code,
            stages=stage_seconds(stack_log),
            stage_cpu=stage_cpu_seconds(stack_log),
        )
    finally:
        _stop_profiler(profiler)
        _stop(stack)
        _stop(store)
        session.close()


# --- report ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    fmt: str
    rows: int | None
    value: float
    unit: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, measure: str, fmt: str, rows: int | None, value: float, unit: str) -> None:
        self.rows.append(Row(measure, fmt, rows, value, unit))

    def find(self, measure: str, fmt: str | None = None) -> list[Row]:
        return [r for r in self.rows if r.measure == measure and fmt in (None, r.fmt)]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def attempt(report: Report, what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:
        message = f"{what}: {type(exc).__name__}: {exc}"
        report.errors.append(message)
        log("ERROR " + message)
        traceback.print_exc(file=sys.stderr)


def _format_value(value: float, unit: str) -> str:
    if unit in ("rows/s", "µs/row"):
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "ms/s":
        return f"{value:.1f}"
    return f"{value:,.1f}"


def print_table(report: Report) -> None:
    header = ("measure", "format", "rows", "value", "unit")
    lines = [
        (
            r.measure,
            r.fmt,
            f"{r.rows:,}" if r.rows is not None else "-",
            _format_value(r.value, r.unit),
            r.unit,
        )
        for r in report.rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    right = (False, False, True, True, False)

    def fmt_line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if r else cell.ljust(w)
            for cell, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    print(fmt_line(header))
    print(fmt_line(tuple("-" * w for w in widths)))
    for line in lines:
        print(fmt_line(line))


@dataclass
class Verdict:
    target: str
    passed: bool | None  # None: not measured
    detail: str


def _check_min(report: Report, measure: str, fmt: str, minimum: float, label: str) -> Verdict:
    found = report.find(measure, fmt)
    if not found:
        return Verdict(label, None, "not measured")
    worst = min(found, key=lambda r: r.value)
    unit = found[0].unit
    detail = f"worst {_format_value(worst.value, unit)} {unit} at {worst.rows:,} rows"
    return Verdict(label, worst.value >= minimum, detail)


def evaluate(report: Report, sizes: list[int]) -> list[Verdict]:
    verdicts = [
        _check_min(
            report,
            "read+validate",
            "csv",
            CSV_MIN_ROWS_S,
            f"read+validate CSV >= {CSV_MIN_ROWS_S:,} rows/s",
        ),
        _check_min(
            report,
            "validate / bare csv.reader",
            "csv",
            CSV_MIN_RATIO,
            f"CSV validate / bare csv.reader >= {CSV_MIN_RATIO:.2f}",
        ),
        _check_min(
            report,
            "read+validate",
            "xml",
            XML_MIN_ROWS_S,
            f"read+validate XML >= {XML_MIN_ROWS_S:,} rows/s",
        ),
        _check_min(
            report,
            "read+validate",
            "xlsx",
            XLSX_MIN_ROWS_S,
            f"read+validate XLSX >= {XLSX_MIN_ROWS_S:,} rows/s",
        ),
        _check_min(
            report,
            "read+validate",
            "auth-xlsx",
            XLSX_MIN_ROWS_S,
            f"read+validate authorization XLSX >= {XLSX_MIN_ROWS_S:,} rows/s",
        ),
    ]

    rss_rows = max(sizes) if max(sizes) < RSS_TARGET_ROWS else RSS_TARGET_ROWS
    rss = [
        r
        for r in report.rows
        if r.measure.startswith("peak RSS ") and r.rows is not None and r.rows >= rss_rows
    ]
    label = f"peak RSS <= {MAX_RSS_MB} MB at {rss_rows:,} rows (every format, stage)"
    if rss_rows < RSS_TARGET_ROWS:
        label += " [largest size run]"
    if rss:
        worst = max(rss, key=lambda r: r.value)
        verdicts.append(
            Verdict(
                label,
                worst.value <= MAX_RSS_MB,
                f"worst {worst.value:.1f} MB ({worst.measure}, {worst.fmt}, {worst.rows:,} rows)",
            )
        )
    else:
        verdicts.append(Verdict(label, None, "not measured"))

    cpu = report.find("our CPU per row")
    label = f"our CPU per row <= {MAX_CPU_US_PER_ROW} µs (devstack process, e2e)"
    if cpu:
        worst = max(cpu, key=lambda r: r.value)
        verdicts.append(
            Verdict(
                label,
                worst.value <= MAX_CPU_US_PER_ROW,
                f"worst {worst.value:,.0f} µs/row ({worst.fmt}, {worst.rows:,} rows)",
            )
        )
    else:
        verdicts.append(Verdict(label, None, "not measured"))

    from floor import FLOOR_RATIO, FLOOR_ROWS

    floor = report.find("e2e / store floor", "csv")
    label = f"e2e import of {FLOOR_ROWS:,} rows / the store's floor for its writes <= {FLOOR_RATIO}"
    verdicts.append(
        Verdict(label, floor[0].value <= FLOOR_RATIO, f"{floor[0].value:.2f}")
        if floor
        else Verdict(label, None, "not measured")
    )

    small, large = min(sizes), max(sizes)
    limit = E2E_SCALING_SLACK * large / small
    label = f"e2e time({large:,}) / time({small:,}) <= {limit:g}"
    times = {
        r.rows: r.value for r in report.find("e2e import time", "csv") if r.rows in (small, large)
    }
    if small == large:
        verdicts.append(Verdict(label, None, "needs two sizes"))
    elif small in times and large in times:
        ratio = times[large] / times[small]
        verdicts.append(
            Verdict(
                label,
                ratio <= limit,
                f"{ratio:.2f} ({times[large]:.1f} s / {times[small]:.1f} s, CSV)",
            )
        )
    else:
        verdicts.append(Verdict(label, None, "not measured"))
    return verdicts


def print_targets(verdicts: list[Verdict]) -> None:
    print()
    print("targets")
    width = max(len(v.target) for v in verdicts)
    for verdict in verdicts:
        status = {True: "PASS", False: "MISS", None: "MISS"}[verdict.passed]
        print(f"  {status}  {verdict.target.ljust(width)}  {verdict.detail}")


# --- the run --------------------------------------------------------------------------------


def measure_throughput(report: Report, size: int, fmt: str) -> None:
    path = ensure_file(size, fmt)
    runs = 2 if size >= 100_000 else 3
    rows, seconds = best_of(runs, lambda: validate_throughput(path, fmt))
    if rows != size:
        raise RuntimeError(f"validate_file read {rows} rows of {path.name}, expected {size}")
    report.add("read+validate", fmt, rows, rows / seconds, "rows/s")
    if fmt == "csv":
        bare_rows, bare_seconds = best_of(runs, lambda: bare_csv_throughput(path))
        report.add("bare csv.reader", fmt, bare_rows, bare_rows / bare_seconds, "rows/s")
        report.add(
            "validate / bare csv.reader",
            fmt,
            rows,
            (rows / seconds) / (bare_rows / bare_seconds),
            "ratio",
        )


def measure_memory(report: Report, size: int, fmt: str) -> None:
    path = ensure_file(size, fmt)
    validated = run_child("validate", path, fmt)
    report.add("peak RSS validate", fmt, int(validated["rows"]), float(validated["rss_mb"]), "MB")
    if fmt == "auth-xlsx":
        return  # the plan stage measured here is the MIF planner's
    BENCH_DIR.mkdir(exist_ok=True)
    chunks = Path(tempfile.mkdtemp(prefix=f"rows-{fmt}-{size}-", dir=BENCH_DIR))
    try:
        write_row_chunks(path, fmt, chunks)
        planned = run_child("plan", chunks, fmt)
    finally:
        shutil.rmtree(chunks, ignore_errors=True)
    report.add("peak RSS plan", fmt, int(planned["rows"]), float(planned["rss_mb"]), "MB")
    report.add(
        "plan (in-memory lookup)",
        fmt,
        int(planned["rows"]),
        int(planned["rows"]) / float(planned["seconds"]),
        "rows/s",
    )


def machine_speed() -> float:
    """Bare csv.reader rows/s over the 10k CSV, best of 3: how fast this machine runs now.

    These shared 2-core machines change speed over minutes (the same fixed work has taken
    1.5x as long): this says how fast the machine ran around an e2e import. It is measured
    with the machine otherwise idle, so it does not show the slowdown of running beside the
    store process.
    """
    rows, seconds = best_of(3, lambda: bare_csv_throughput(ensure_file(10_000, "csv")))
    return rows / seconds


def measure_e2e(report: Report, size: int, fmt: str) -> None:
    path = ensure_file(size, fmt)
    speed_before = machine_speed()
    log(f"e2e import of {path.name} ...")
    result = e2e_import(path, size)
    speed = (speed_before + machine_speed()) / 2
    log(
        f"e2e {path.name}: {result.seconds:.1f} s, our CPU {result.cpu_seconds:.1f} s, "
        f"store CPU {result.store_cpu_seconds:.1f} s (POST answered {result.status_code})"
    )
    report.add("e2e import time", fmt, size, result.seconds, "s")
    report.add("e2e throughput", fmt, size, size / result.seconds, "rows/s")
    for stage, seconds in result.stages.items():
        report.add(f"e2e stage {stage} (info)", fmt, size, seconds, "s")
    report.add("our CPU per row", fmt, size, result.cpu_seconds * 1e6 / size, "µs/row")
    report.add("our CPU total", fmt, size, result.cpu_seconds, "s")
    for stage, seconds in result.stage_cpu.items():
        report.add(f"our CPU per row: {stage} (info)", fmt, size, seconds * 1e6 / size, "µs/row")
    report.add("machine speed: bare csv.reader (info)", fmt, size, speed, "rows/s")
    report.add(
        "store CPU per row (info)", fmt, size, result.store_cpu_seconds * 1e6 / size, "µs/row"
    )
    report.add("devstack idle CPU (info)", fmt, size, result.idle_cpu_per_s * 1000, "ms/s")
    report.add("devstack peak RSS (sampled)", fmt, size, result.peak_rss_mb, "MB")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="row counts, comma separated (default %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(str(s) for s in QUICK_SIZES)}: a fast check",
    )
    parser.add_argument(
        "--e2e-formats",
        default="csv",
        help="formats imported end to end (CSV at every size, others at the largest); "
        "'none' skips the end-to-end part (default %(default)s)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="what to measure, comma separated (default %(default)s)",
    )
    parser.add_argument(
        "--profile-e2e",
        metavar="DIR",
        help="sample the stack process with py-spy ($PYSPY or PATH) during each end-to-end "
        "import, raw collapsed stacks into DIR (the CPU figures then include py-spy's cost)",
    )
    parser.add_argument(
        "--store-server",
        choices=("waitress", "werkzeug"),
        default=STORE_SERVER,
        help="HTTP server of the store process (benchmarks/store.py): waitress keeps "
        "connections alive as AWS does; werkzeug (moto.server) closes each (default %(default)s)",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("STAGE", "PATH", "FORMAT"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(*args.child)
    sizes = sorted(
        QUICK_SIZES if args.quick else {int(s) for s in args.sizes.split(",") if s.strip()}
    )
    e2e_formats = [
        f.strip().lower() for f in args.e2e_formats.split(",") if f.strip() and f.strip() != "none"
    ]
    parts = {p.strip().lower() for p in args.parts.split(",") if p.strip()}
    unknown = [f for f in e2e_formats if f not in FORMATS] + sorted(parts - set(PARTS))
    if unknown or not sizes:
        raise SystemExit(f"bad arguments: sizes {sizes}, unknown formats or parts {unknown}")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    global PROFILE_DIR, STORE_SERVER  # noqa: PLW0603 - one run, one setting
    PROFILE_DIR = Path(args.profile_e2e).resolve() if args.profile_e2e else None
    STORE_SERVER = args.store_server
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    report = Report()

    for size in sizes:
        for fmt in FORMATS:
            attempt(report, f"generate {fmt} {size}", lambda s=size, f=fmt: ensure_file(s, f))

    if "read" in parts:
        for size in sizes:
            for fmt in FORMATS:
                log(f"read+validate {fmt} {size:,} rows")
                attempt(
                    report,
                    f"throughput {fmt} {size}",
                    lambda s=size, f=fmt: measure_throughput(report, s, f),
                )
    if "memory" in parts:

        def measure_baseline() -> None:
            baseline = run_child("baseline", "-", "-")
            report.add("peak RSS python+imports (baseline)", "-", None, baseline["rss_mb"], "MB")

        attempt(report, "baseline", measure_baseline)
        for size in sizes:
            for fmt in FORMATS:
                log(f"peak RSS {fmt} {size:,} rows")
                attempt(
                    report,
                    f"memory {fmt} {size}",
                    lambda s=size, f=fmt: measure_memory(report, s, f),
                )
    if "e2e" in parts:
        for size in sizes:
            for fmt in e2e_formats:
                if fmt != "csv" and size != max(sizes):
                    continue
                attempt(
                    report, f"e2e {fmt} {size}", lambda s=size, f=fmt: measure_e2e(report, s, f)
                )

    if "floor" in parts:
        from floor import measure_floor

        attempt(report, "store floor", lambda: measure_floor(report))

    report.rows.sort(
        key=lambda r: (
            _measure_order(r.measure),
            FORMATS.index(r.fmt) if r.fmt in FORMATS else -1,
            r.rows or 0,
        )
    )
    print()
    print(
        f"ECM Imports benchmark — sizes {', '.join(f'{s:,}' for s in sizes)}; "
        f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"store served by {STORE_SERVER}; {time.perf_counter() - started:.0f} s"
    )
    print()
    print_table(report)
    print_targets(evaluate(report, sizes))
    if report.errors:
        print()
        print("ERRORS (measurements that broke; their targets are MISS):")
        for message in report.errors:
            print(f"  - {message}")
        return 1
    return 0


MEASURE_ORDER = (
    "read+validate",
    "bare csv.reader",
    "validate / bare csv.reader",
    "plan (in-memory lookup)",
    "peak RSS python+imports (baseline)",
    "peak RSS validate",
    "peak RSS plan",
    "e2e import time",
    "store floor (same writes)",
    "e2e / store floor",
    "e2e throughput",
    "e2e stage validate (info)",
    "e2e stage lock+plan (info)",
    "e2e stage apply+finalize (info)",
    "our CPU per row",
    "our CPU total",
    "store CPU per row (info)",
    "devstack idle CPU (info)",
    "devstack peak RSS (sampled)",
)


def _measure_order(measure: str) -> int:
    if measure.startswith(("our CPU per row: ", "machine speed")):
        return MEASURE_ORDER.index("our CPU total")
    return MEASURE_ORDER.index(measure) if measure in MEASURE_ORDER else len(MEASURE_ORDER)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
