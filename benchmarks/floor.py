"""The store's own floor for an import's writes, and the import measured against it.

The bound: a 20k-row local import within 2.5x of the time the store (moto, in its
own process, as in the end-to-end part) takes for the same DynamoDB writes sent straight
to it. The writes are the ones the plan stage makes of the file (every row a new patient:
its item, its member key and its name key), sent as the apply stage sends them (prebuilt
BatchWriteItem bodies, through ecm.store), one after another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from common import BENCH_DIR, NOW, Report, log
from e2e import _stop, _wait_http, e2e_import, free_ports, store_command
from generated import ensure_file
from pipeline import MemoryLookup, write_row_chunks

from ecm.imports.stages.work import PLANNED_MODELS
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.plan_entry import PlanEntry
from ecm.models import create_tables
from ecm.models.access import reset_clients
from ecm.patients.providers import ProviderDirectory
from ecm.settings import get_settings
from ecm.store import batch_write_bodies, send_batch_write, to_item

FLOOR_ROWS = 20_000
FLOOR_RATIO = 2.5


def planned_bodies(directory: Path) -> list[bytes]:
    """The BatchWriteItem bodies the plan stage writes for the row chunks in ``directory``."""
    planner = MifPlanner(file_id=1, lookup=MemoryLookup(), providers=ProviderDirectory([]), now=NOW)
    creates: dict[str, list[dict[str, Any]]] = {}
    entries: list[PlanEntry] = []
    for chunk_path in sorted(directory.glob("rows-*.json")):
        chunk = [(int(r), rec) for r, rec in json.loads(chunk_path.read_text())]
        entries.extend(planner.plan_chunk(chunk))
    entries.extend(planner.finish())
    for entry in entries:
        if entry.creates and entry.put is not None:
            creates.setdefault(entry.table, []).append({"PutRequest": {"Item": to_item(entry.put)}})
    return [
        body
        for logical, requests in creates.items()
        for body in batch_write_bodies(str(PLANNED_MODELS[logical].Meta.table_name), requests)
    ]


def store_floor_seconds(bodies: list[bytes]) -> float:
    """Send ``bodies`` to a fresh store process; the seconds it took."""
    (port,) = free_ports(1)
    logs = Path(tempfile.mkdtemp(prefix="floor-", dir=BENCH_DIR))
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")}
    with (logs / "store.log").open("wb") as out:
        store = subprocess.Popen(store_command(port), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_http(requests, f"http://127.0.0.1:{port}/moto-api/", store, logs / "store.log", 60)
        os.environ.update(
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION="us-east-1",
        )
        get_settings.cache_clear()
        reset_clients()
        create_tables()
        started = time.perf_counter()
        for body in bodies:
            send_batch_write(body)
        return time.perf_counter() - started
    finally:
        _stop(store)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        reset_clients()
        shutil.rmtree(logs, ignore_errors=True)


def measure_floor(report: Report) -> None:
    path = ensure_file(FLOOR_ROWS, "csv")
    chunks = Path(tempfile.mkdtemp(prefix="floor-rows-", dir=BENCH_DIR))
    try:
        write_row_chunks(path, "csv", chunks)
        bodies = planned_bodies(chunks)
    finally:
        shutil.rmtree(chunks, ignore_errors=True)
    log(f"store floor: {len(bodies):,} BatchWriteItem bodies of {FLOOR_ROWS:,} rows ...")
    floor = store_floor_seconds(bodies)
    log(f"store floor: {floor:.1f} s; e2e import of {path.name} ...")
    result = e2e_import(path, FLOOR_ROWS)
    report.add("store floor (same writes)", "csv", FLOOR_ROWS, floor, "s")
    report.add("e2e import time", "csv", FLOOR_ROWS, result.seconds, "s")
    report.add("e2e / store floor", "csv", FLOOR_ROWS, result.seconds / floor, "ratio")
