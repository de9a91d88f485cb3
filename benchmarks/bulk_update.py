"""A bulk update of 1,000 patients against API Gateway's 29 s: one POST
/patients/bulk_update enrolling every patient a MIF import brought, timed from the request
to the answer.

Run with ``.venv/bin/python benchmarks/bulk_update.py`` (``--patients N`` for another
size, at most 1,000: the route's own limit). Starts a local stack (a store process,
``benchmarks/store.py``, and ``python -m devstack``), imports N sample members through the
MIF import, then sends one request changing each member's status and enrollment start
date. Prints the seconds, the bound and PASS or MISS (a MISS never fails the run), and
checks what was written: every patient answered and stored with its new status, the
status list's count equal to the members changed. Loopback only.

See benchmarks/README.md ("Bulk update: 1,000 patients in one request").
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, log
from patients import LocalStack, range_file

from ecm.patients.bulk import MAX_PATIENTS

BOUND_SECONDS = 29.0  # API Gateway's integration timeout for a REST API
PATIENTS = "/v1/admin/clinic/ecm/patients"
#: Members the benchmark imports start here (distinct from the other benchmarks' ranges).
FIRST_ROW = 1
ENROLL = {"member_record_status": "continuing_member", "ecm_enrollment_start_date": "2026-11-01"}


def _stored_ids(stack: LocalStack) -> list[int]:
    pages = stack._aws("dynamodb").get_paginator("scan")
    return sorted(
        int(item["id"]["N"])
        for page in pages.paginate(TableName="PatientsTable", ProjectionExpression="id")
        for item in page["Items"]
    )


def _status_total(stack: LocalStack, status: str) -> int:
    response = stack.session.get(
        f"{stack.api}{PATIENTS}?status={status}&per_page=1", headers=stack.headers, timeout=60
    )
    response.raise_for_status()
    return int(response.json()["pagination"]["total_count"])


def _check(stack: LocalStack, ids: list[int], answered: list[dict[str, Any]]) -> None:
    if [p["id"] for p in answered] != ids:
        raise RuntimeError("the answer does not list every patient in the request's order")
    statuses = {p["ecm_eligibility_information"]["member_record_status"] for p in answered}
    if statuses != {"continuing_member"}:
        raise RuntimeError(f"answered statuses {sorted(statuses)}")
    if any(len(p["ecm_status_history"]) != 1 for p in answered):
        raise RuntimeError("a patient was answered without its one status history entry")
    listed = _status_total(stack, "continuing_member")
    if listed != len(ids):
        raise RuntimeError(f"the status list counts {listed}, expected {len(ids)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=MAX_PATIENTS)
    args = parser.parse_args(argv)
    count = max(1, min(args.patients, MAX_PATIENTS))
    BENCH_DIR.mkdir(exist_ok=True)
    load_before = os.getloadavg()[0]
    stack = LocalStack()
    stack.start()
    try:
        stack.create_provider()
        log(f"importing {count} members")
        imported = stack.import_csv(range_file(FIRST_ROW, FIRST_ROW + count - 1), count)
        ids = _stored_ids(stack)
        body = {"patients": [{"id": i, "ecm_eligibility_information": ENROLL} for i in ids]}
        log(f"one bulk update of {len(ids)} patients")
        started = time.perf_counter()
        response = stack.session.post(
            f"{stack.api}{PATIENTS}/bulk_update", json=body, headers=stack.headers, timeout=300
        )
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"answered {response.status_code}: {response.text[:500]}")
        _check(stack, ids, response.json()["patients"])
    finally:
        stack.stop()
    print()
    print(f"cpus {os.cpu_count()}, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"import of {count} members: {imported:.1f} s (setup, not measured against a bound)")
    print(f"bulk update of {len(ids)} patients: {seconds:.2f} s ({len(response.content):,} bytes)")
    print(f"bound: {BOUND_SECONDS:.0f} s (API Gateway's integration timeout)")
    print(f"target: {'PASS' if seconds <= BOUND_SECONDS else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
