"""Imports waiting for the import lock (benchmarks/README.md): N small MIF imports posted at once
against the same N imported one after another, each on a fresh local stack.

Run with ``.venv/bin/python benchmarks/lock_wait.py`` (12 imports, ~2 min) or
``--imports 50`` (the target's figure, ~6 min). Each import is a two-row CSV of distinct
members uploaded to the stack's bucket and imported by ``path``. Prints the total time of
each run, their ratio (target <= 2), the largest gap between two completions of the
concurrent run (how long the lock stood free or a waiter slept), the highest
``queue_position`` a poll saw, and checks the data: every import completed with its two
records, and the patients' list holds 2N patients. Loopback only.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import e2e
from common import BENCH_DIR, BUCKET, log
from generated import ensure_range_file
from patients import LocalStack

ROWS_PER_IMPORT = 2
MAX_RATIO = 2.0
MIF_URL = "/v1/admin/clinic/ecm/mifs"
#: How often each client asks how its import stands. 50 clients asking every 0.25 s made 200
#: requests a second, which cost the local stack more than the imports did.
POLL_SECONDS = 2.0


class Run:
    """One stack's imports: when each finished, and the highest place in line seen."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.finished: list[float] = []
        self.highest_position = 0
        self.lock = threading.Lock()

    def upload(self, index: int) -> str:
        first = index * ROWS_PER_IMPORT + 1
        path = ensure_range_file(first, first + ROWS_PER_IMPORT - 1, "csv")
        key = f"bench/lock-wait/{path.name}"
        self.stack._aws("s3").upload_file(str(path), BUCKET, key)
        return key

    def import_one(self, key: str, deadline: float) -> None:
        session, api = self.stack.session, self.stack.api
        response = session.post(
            f"{api}{MIF_URL}", json={"mif": {"path": key}}, headers=self.stack.headers, timeout=120
        )
        if response.status_code not in (201, 202):
            raise RuntimeError(f"POST answered {response.status_code}: {response.text[:500]}")
        file_id = int(response.json()["mif_file_id"])
        while True:
            record = session.get(
                f"{api}{MIF_URL}/{file_id}", headers=self.stack.headers, timeout=60
            ).json()["mif_file"]
            with self.lock:
                self.highest_position = max(
                    self.highest_position, int(record.get("queue_position") or 0)
                )
            if record["status"] == "completed":
                if int(record["records_imported"]) != ROWS_PER_IMPORT:
                    raise RuntimeError(f"import {file_id} imported {record['records_imported']}")
                # When the import ended by the stack's clock, not when this poll saw it: the
                # polls (every POLL_SECONDS, as a client would) do not blur the figure.
                ended = datetime.fromisoformat(record["updated_at"]).timestamp()
                with self.lock:
                    self.finished.append(ended)
                return
            if record["status"] == "failed":
                raise RuntimeError(f"import {file_id} failed: {record.get('import_errors')}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"import {file_id} not done by its deadline ({record['stage']})")
            time.sleep(POLL_SECONDS)

    def patient_total(self) -> int:
        response = self.stack.session.get(
            f"{self.stack.api}/v1/admin/clinic/ecm/patients?per_page=1",
            headers=self.stack.headers,
            timeout=60,
        )
        return int(response.json()["pagination"]["total_count"])

    def patients_stored(self) -> int:
        """A recount: the patient items in the table, whatever the counters say."""
        pages = self.stack._aws("dynamodb").get_paginator("scan")
        found = 0
        for page in pages.paginate(TableName="PatientsTable", Select="COUNT"):
            found += int(page["Count"])
        return found


def measure(count: int, concurrent: bool) -> tuple[float, list[float], int]:
    """Seconds from the first POST to the last completion, the gaps between completions,
    the highest queue position seen."""
    stack = LocalStack()
    stack.start()
    try:
        run = Run(stack)
        keys = [run.upload(i) for i in range(count)]
        started = time.time()
        deadline = time.perf_counter() + 60 * count
        if concurrent:
            with ThreadPoolExecutor(max_workers=count) as pool:
                for future in [pool.submit(run.import_one, key, deadline) for key in keys]:
                    future.result()
        else:
            for key in keys:
                run.import_one(key, deadline)
        total = max(run.finished) - started
        listed, stored = run.patient_total(), run.patients_stored()
        if (listed, stored) != (count * ROWS_PER_IMPORT,) * 2:
            raise RuntimeError(
                f"the list counts {listed} patients and the table holds {stored}, "
                f"expected {count * ROWS_PER_IMPORT}"
            )
        moments = [started, *sorted(run.finished)]
        gaps = [b - a for a, b in itertools.pairwise(moments)]
        return total, gaps, run.highest_position
    finally:
        stack.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=12, help="how many imports (max 60)")
    parser.add_argument("--store-server", choices=("waitress", "werkzeug"), default="waitress")
    args = parser.parse_args(argv)
    e2e.STORE_SERVER = args.store_server
    count = max(2, min(args.imports, 60))
    BENCH_DIR.mkdir(exist_ok=True)
    log(f"{count} imports of {ROWS_PER_IMPORT} rows, one after another")
    sequential, sequential_gaps, _ = measure(count, concurrent=False)
    log(f"{count} imports of {ROWS_PER_IMPORT} rows, posted at once")
    together, gaps, position = measure(count, concurrent=True)
    ratio = together / sequential
    print()
    print(
        f"imports: {count} x {ROWS_PER_IMPORT} rows (all completed, {2 * count} patients each run)"
    )
    print(f"one after another: {sequential:7.1f} s (largest gap {max(sequential_gaps):.1f} s)")
    print(f"posted at once:    {together:7.1f} s (largest gap {max(gaps):.1f} s)")
    print(f"ratio at once / one after another: {ratio:.2f} (target <= {MAX_RATIO})")
    print(f"highest queue_position seen: {position}")
    print(f"target: {'PASS' if ratio <= MAX_RATIO else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
