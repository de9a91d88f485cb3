"""Load on the local stack (benchmarks/README.md): imports of both kinds while clients page, search,
read and update patients; then the data is checked.

Run with ``.venv/bin/python benchmarks/load.py`` (20 imports, 20 clients, 120 s) or
``--clients 5 --seconds 30``; ``--faults throttle=0.2,unprocessed=0.3,conflict=0.3,s3=0.1``
(or ECM_AWS_FAULTS) makes the stack's clients meet AWS's failures (ecm.aws_faults), and
the clients send a 503 again after its Retry-After. Loopback only; the stack runs as `make
run` runs it (moto in its own process, data in memory). A caseload of 200 patients is
imported first; then, at once, 10 MIF imports (5 new members each) and 10 authorization imports (3
authorizations of existing members each) run while the clients loop over: a page of the
list, a filtered search, a patient's detail, and a change of acuity or status (PUT). Prints
requests per second, p50 / p99 latency per route and the answers by status, then checks:

- no answer was a 5xx but 503 (409 and 503 are a client's retry signals, counted apart);
- every row of every file imported exactly once (each member id is one patient, each
  authorization one item) and every import completed;
- the list's counters equal a recount of the table;
- no lost update: every patient's status is its last history entry's, every entry is a
  change, and no history id was handed out twice.

Exit code 1 when a check fails or the measurement breaks.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import BENCH_DIR, BUCKET, log
from fixtures_builders import AUTH_HEADERS, sample_auth_row
from generated import ensure_range_file
from openpyxl import Workbook
from stack_fixture import ADMIN_TOKEN, RunningStack, start_stack, stop_stack

ECM = "/v1/admin/clinic/ecm"
CASELOAD = 200
MIF_IMPORTS, MIF_ROWS = 10, 5
AUTH_IMPORTS, AUTH_ROWS = 10, 3
STATUSES = ("new_member", "continuing_member", "pending_member", "inactive_member")
#: Tries of one request the stack answers 503 (busy) before the client gives up.
BUSY_TRIES = 30
ACUITY = ("low", "medium", "high")


class Stack:
    """The local stack as `make run` runs it (moto in the same process, data in memory)."""

    def __init__(self, running: RunningStack) -> None:
        self.running = running
        self.api = running.api
        self.session = requests.Session()
        self.headers = {"X-User-Token": ADMIN_TOKEN, "Content-Type": "application/json"}

    def _aws(self, service: str) -> Any:
        return self.running.client(service)


class Load:
    """The answers the clients got."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.lock = threading.Lock()
        self.sessions = threading.local()  # one keep-alive connection per client thread
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def call(self, route: str, method: str, path: str, body: Any = None) -> Any:
        """One request; a 503 (AWS busy past its retries) is sent again after its
        Retry-After, as a client should, and each answer is counted."""
        session = getattr(self.sessions, "session", None)
        if session is None:
            session = self.sessions.session = requests.Session()
        for _ in range(BUSY_TRIES):
            started = time.perf_counter()
            response = session.request(
                method,
                f"{self.stack.api}{ECM}{path}",
                json=body,
                headers=self.stack.headers,
                timeout=120,
            )
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latency[route].append(elapsed)
                self.statuses[route][response.status_code] += 1
            if response.status_code != 503:
                break
            time.sleep(float(response.headers.get("Retry-After") or 1))
        return response

    def client(self, seed: int, until: float, patient_ids: list[int]) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            action = rng.random()
            if action < 0.3:
                self.call("GET /patients", "GET", f"/patients?page={rng.randint(1, 8)}")
            elif action < 0.5:
                body = {
                    "search": rng.choice(("Smith", "Garcia", "Kim", "Ana", "M0")),
                    "per_page": 25,
                }
                self.call("POST /patients/filter", "POST", "/patients/filter", body)
            elif action < 0.75:
                self.call("GET /patients/{id}", "GET", f"/patients/{rng.choice(patient_ids)}")
            else:
                patient_id = rng.choice(patient_ids[:40])  # a few patients, many writers
                change: dict[str, Any] = {"acuity_level": rng.choice(ACUITY)}
                status = rng.choice(STATUSES) if rng.random() < 0.5 else None
                if status:
                    change["member_record_status"] = status
                self.call(
                    "PUT /patients/{id}",
                    "PUT",
                    f"/patients/{patient_id}",
                    {"patient": {"ecm_eligibility_information": change}},
                )


def import_all(load: Load) -> list[str]:
    """Post the 20 imports at once; the problems found (an import that did not complete)."""
    s3 = load.stack._aws("s3")
    jobs: list[tuple[str, str]] = []
    for n in range(MIF_IMPORTS):
        first = 100_000 + n * MIF_ROWS
        path = ensure_range_file(first, first + MIF_ROWS - 1, "csv")
        key = f"bench/load/{path.name}"
        s3.upload_file(str(path), BUCKET, key)
        jobs.append(("mifs", key))

    for n in range(AUTH_IMPORTS):
        path = BENCH_DIR / f"load-auth-{n}.xlsx"
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Authorizations")
        sheet.append(list(AUTH_HEADERS))
        for i in range(1 + n * AUTH_ROWS, 1 + (n + 1) * AUTH_ROWS):
            row = sample_auth_row(i)
            sheet.append([row[name] for name in AUTH_HEADERS])
        workbook.save(str(path))
        key = f"bench/load/{path.name}"
        s3.upload_file(str(path), BUCKET, key)
        jobs.append(("authorizations", key))

    def run(job: tuple[str, str]) -> str | None:
        kind, key = job
        body_key = "mif" if kind == "mifs" else "authorization"
        response = load.call(f"POST /{kind}", "POST", f"/{kind}", {body_key: {"path": key}})
        if response.status_code not in (201, 202):
            return f"{key}: POST answered {response.status_code}"
        status = wait_for_import(load, kind, response.json()[f"{body_key}_file_id"])
        return None if status == "completed" else f"{key}: {status}"

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [p for p in pool.map(run, jobs) if p]


def wait_for_import(load: Load, kind: str, file_id: int) -> str:
    """``completed``, ``failed (<errors>)`` or ``not done in 10 minutes``, polled every 2 s."""
    body_key = "mif" if kind == "mifs" else "authorization"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        detail = load.call(f"GET /{kind}/{{id}}", "GET", f"/{kind}/{file_id}").json()
        record = detail[f"{body_key}_file"]
        if record["status"] == "completed":
            return "completed"
        if record["status"] == "failed":
            return f"failed ({record.get('import_errors')})"
        time.sleep(2)
    return "not done in 10 minutes"


def check_data(load: Load) -> list[str]:
    ddb = load.stack._aws("dynamodb")

    def scan(table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        return items

    problems = []
    patients = scan("PatientsTable")
    members = Counter(p["eligibility"]["M"]["member_id"]["S"] for p in patients)
    if any(n > 1 for n in members.values()):
        problems.append(f"{sum(n > 1 for n in members.values())} member ids on several patients")
    expected = CASELOAD + MIF_IMPORTS * MIF_ROWS
    if len(patients) != expected:
        problems.append(f"{len(patients)} patients stored, expected {expected}")
    authorizations = scan("AuthorizationsTable")
    if len(authorizations) != AUTH_IMPORTS * AUTH_ROWS:
        problems.append(
            f"{len(authorizations)} authorizations, expected {AUTH_IMPORTS * AUTH_ROWS}"
        )
    listed = load.call("GET /patients", "GET", "/patients?per_page=1").json()
    counted = listed["pagination"]["total_count"]
    if counted != len(patients):
        problems.append(f"the list counts {counted}, the table holds {len(patients)}")
    by_status = Counter(
        p.get("eligibility", {}).get("M", {}).get("member_record_status", {}).get("S")
        for p in patients
    )
    for status, count in by_status.items():
        if status is None:
            continue
        page = load.call("GET /patients", "GET", f"/patients?per_page=1&status={status}").json()
        if page["pagination"]["total_count"] != count:
            problems.append(
                f"status {status}: counted {page['pagination']['total_count']}, holds {count}"
            )
    entry_ids: list[int] = []
    for item in patients:
        patient_id = int(item["id"]["N"])
        history = [h["M"] for h in item.get("ecm_status_history", {}).get("L", [])]
        entry_ids += [int(h["id"]["N"]) for h in history]
        status = item["eligibility"]["M"].get("member_record_status", {}).get("S")
        if history and history[-1]["status"]["S"] != status:
            problems.append(f"patient {patient_id}: its status is not its last history entry's")
        steps = [h["status"]["S"] for h in history]
        if any(a == b for a, b in itertools.pairwise(steps)):
            problems.append(f"patient {patient_id}: a history entry that changed nothing")
    if len(entry_ids) != len(set(entry_ids)):
        problems.append("a status history id was handed out twice")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--faults",
        default=os.environ.get("ECM_AWS_FAULTS", ""),
        help="ECM_AWS_FAULTS for the stack, e.g. throttle=0.2,unprocessed=0.3,conflict=0.3,s3=0.1",
    )
    args = parser.parse_args(argv)
    clients, seconds = max(1, min(args.clients, 50)), max(5.0, min(args.seconds, 600.0))
    BENCH_DIR.mkdir(exist_ok=True)
    folder = BENCH_DIR / "load"
    folder.mkdir(exist_ok=True)
    running = start_stack(folder, {"ECM_SYNC_WAIT_SECONDS": "1", "ECM_AWS_FAULTS": args.faults})
    if args.faults:
        log(f"AWS faults: {args.faults}")
    stack = Stack(running)
    problems: list[str] = []
    try:
        load = Load(stack)
        path = ensure_range_file(1, CASELOAD, "csv")
        stack._aws("s3").upload_file(str(path), BUCKET, "bench/load/caseload.csv")
        seeded = load.call(
            "POST /mifs", "POST", "/mifs", {"mif": {"path": "bench/load/caseload.csv"}}
        )
        if seeded.status_code not in (201, 202):
            raise RuntimeError(f"the caseload import answered {seeded.status_code}")
        if wait_for_import(load, "mifs", seeded.json()["mif_file_id"]) != "completed":
            raise RuntimeError("the caseload import did not complete")
        load = Load(stack)  # the measurement starts now
        ids = sorted(
            p["id"]
            for page in range(1, 9)
            for p in load.call("GET /patients", "GET", f"/patients?page={page}&per_page=25").json()[
                "patients"
            ]
        )
        load = Load(stack)
        log(f"{MIF_IMPORTS + AUTH_IMPORTS} imports and {clients} clients for {seconds:.0f} s")
        started = time.monotonic()
        until = started + seconds
        threads = [
            threading.Thread(target=load.client, args=(n, until, ids)) for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        problems += import_all(load)
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        total = sum(len(v) for v in load.latency.values())
        print()
        print(f"{total:,} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s")
        print(f"{'route':<28} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  answers")
        for route in sorted(load.latency):
            values = sorted(load.latency[route])
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            answers = ", ".join(f"{s}: {n}" for s, n in sorted(load.statuses[route].items()))
            print(
                f"{route:<28} {len(values):>7} {statistics.median(values) * 1000:>8.0f} "
                f"{p99 * 1000:>8.0f}  {answers}"
            )
        errors = sum(
            n for c in load.statuses.values() for s, n in c.items() if s >= 500 and s != 503
        )
        busy = sum(c[503] for c in load.statuses.values())
        conflicts = sum(c[409] for c in load.statuses.values())
        print(
            f"5xx answers but 503: {errors}; 503 (busy, sent again after Retry-After): {busy}; "
            f"409 (changed meanwhile, retry): {conflicts}"
        )
        if errors:
            problems.append(f"{errors} answers were 5xx other than 503")
        problems += check_data(load)
    except Exception as exc:  # a broken measurement
        problems.append(f"measurement broke: {exc!r}")
    finally:
        stop_stack(running)
    print("data checks: " + ("PASS" if not problems else "FAIL"))
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
