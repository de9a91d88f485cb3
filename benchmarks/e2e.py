"""An import end to end through a local stack started for it, its data services (DynamoDB,
S3, SQS) in a store process of their own; and the helpers other benchmarks start stacks and
stores with.

``STORE_SERVER`` and ``PROFILE_DIR`` are the run's settings: a benchmark's command line sets
them here before it starts a store.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psutil
import requests
from common import ADMIN_TOKEN, BENCH_DIR, BUCKET, REGION, ROOT, log

PROFILE_DIR: Path | None = None  # --profile-e2e
STORE_SERVER = "waitress"  # --store-server (benchmarks/store.py)


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
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


def _start(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``command`` run from the repository's root, both its streams into ``log_path``."""
    with log_path.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


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


@dataclass(frozen=True)
class ImportWatch:
    """What following an import through the API needs: the session, base URL and headers,
    the stack's process and log (a stack that dies is said at once, with its log's end),
    the deadline (``time.perf_counter``) and a hook called at each poll."""

    session: Any  # a requests.Session
    api: str
    headers: dict[str, str]
    stack: subprocess.Popen[bytes]
    stack_log: Path
    deadline: float
    on_poll: Callable[[], None] | None = None


def import_by_path(watch: ImportWatch, key: str, name: str) -> tuple[int, dict[str, Any]]:
    """POST a path import and poll its record until completed: (POST status, final record)."""
    response = watch.session.post(
        f"{watch.api}/v1/admin/clinic/ecm/mifs",
        json={"mif": {"path": key}},
        headers=watch.headers,
        timeout=120,
    )
    if response.status_code not in (201, 202):
        raise RuntimeError(f"POST answered {response.status_code}: {response.text[:2000]}")
    file_id = int(response.json()["mif_file_id"])
    return response.status_code, wait_for_import(watch, file_id, name)


def wait_for_import(watch: ImportWatch, file_id: int, name: str) -> dict[str, Any]:
    """Poll a MIF file record until it is completed (returned) or failed (raised)."""
    delay = 0.2
    record: dict[str, Any] = {}
    while True:
        if watch.on_poll is not None:
            watch.on_poll()
        if watch.stack.poll() is not None:
            raise RuntimeError(f"devstack exited:\n{watch.stack_log.read_text()[-3000:]}")
        try:
            detail = watch.session.get(
                f"{watch.api}/v1/admin/clinic/ecm/mifs/{file_id}", headers=watch.headers, timeout=60
            )
        except requests.Timeout:
            # A stack busy with the import (and a shared machine) may answer a poll late: the
            # import goes on, so ask again; the deadline below still ends a stuck one.
            detail = None
        if detail is not None and detail.status_code == 200:
            record = detail.json()["mif_file"]
            if record["status"] == "completed":
                return record
            if record["status"] == "failed":
                raise RuntimeError(
                    f"import {file_id} of {name} FAILED: {record.get('import_errors')}"
                )
        if time.perf_counter() > watch.deadline:
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
        store = _start(store_command(store_port), base_env, store_log)
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
        stack = _start([sys.executable, "-m", "devstack"], stack_env, stack_log)
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
        watch = ImportWatch(
            session,
            api,
            headers,
            stack,
            stack_log,
            clock_start + timeout,
            on_poll=lambda: peak.append(max(peak[-1], _rss_mb(stack.pid))),
        )
        status_code, record = import_by_path(watch, key, path.name)
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
